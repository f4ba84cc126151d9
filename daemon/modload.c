// SPDX-License-Identifier: MIT
/*
 * Why shoal.ko is not there.  The kernel would autoload it on the first
 * generic netlink lookup; when that fails, modprobe's own words say why
 * (a missing module, a key Secure Boot rejects), and a user needs them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "modload.h"

extern char **environ;

static const char *const modprobe_paths[] = {
	"/usr/sbin/modprobe", "/sbin/modprobe", "/usr/bin/modprobe",
};

/*
 * Runs modprobe MODULE, or with dry_run only looks the module up; its
 * stderr into out.  Exit status, or -1.
 */
static int run_modprobe(const char *module, bool dry_run, char *out,
			size_t size)
{
	posix_spawn_file_actions_t fa;
	const char *path = NULL;
	char *argv[] = { "modprobe", (char *)module, NULL, NULL };
	size_t got = 0, i;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	for (i = 0; i < sizeof(modprobe_paths) / sizeof(*modprobe_paths); i++)
		if (access(modprobe_paths[i], X_OK) == 0) {
			path = modprobe_paths[i];
			break;
		}
	if (!path)
		return -1;
	if (dry_run)
		argv[2] = "--dry-run";
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (got + 1 < size &&
	       (n = read(pipefd[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	/* One line is enough, and it must not carry a newline into ours. */
	out[strcspn(out, "\n")] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int modules_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/modules_disabled", "r");
	int v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

int shoald_load_module(char *reason, size_t size)
{
	struct utsname u;
	char said[256];
	bool privileged;
	int ret;

	if (access("/sys/module/shoal", F_OK) == 0)
		return 0;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	if (modules_disabled()) {
		snprintf(reason, size, "this kernel does not load modules any "
			 "more (kernel.modules_disabled = 1)");
		return -1;
	}
	/*
	 * Without CAP_SYS_MODULE (shoald under systemd: CAP_NET_ADMIN
	 * alone) modprobe could only fail for that lack, which says nothing
	 * about why the kernel's own autoload, which runs with every
	 * privilege, did not load the module.  It can still tell whether
	 * there is a shoal.ko for this kernel.
	 */
	privileged = shoald_has_cap(CAP_SYS_MODULE);
	ret = run_modprobe("shoal", !privileged, said, sizeof(said));
	if (ret == 0 && !privileged) {
		snprintf(reason, size, "shoal.ko is installed for kernel %s, "
			 "but the kernel did not load it (`modprobe shoal` as "
			 "root says why; Secure Boot, say, refuses a module "
			 "not signed with an enrolled key)", u.release);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (ret < 0)
		snprintf(reason, size, "cannot run modprobe to load shoal.ko");
	else if (strstr(said, "not found"))
		snprintf(reason, size, "there is no shoal.ko for kernel %s "
			 "(install it with DKMS: `make install` with this "
			 "kernel's headers)", u.release);
	else if (strstr(said, "Key was rejected") ||
		 strstr(said, "Required key not available"))
		snprintf(reason, size, "Secure Boot refuses shoal.ko, which "
			 "is not signed with an enrolled key (sign it and "
			 "enroll the key with mokutil) [modprobe: %s]", said);
	else if (strstr(said, "Operation not permitted"))
		snprintf(reason, size, "loading shoal.ko is not permitted "
			 "(run shoald as root, or load it first) "
			 "[modprobe: %s]", said);
	else
		snprintf(reason, size, "shoal.ko does not load: %s",
			 *said ? said : "modprobe failed");
	return -1;
}

/*
 * /dev/net/tun is missing where no udev made the node (a minimal system,
 * a container's /dev, the test VM): tun is loaded as the kernel's
 * autoload would have, and the node made if /dev is no devtmpfs that
 * makes it when the module registers.
 */
int shoald_load_tun(char *reason, size_t size)
{
	char said[256];
	int ret;

	if (access("/dev/net/tun", F_OK) == 0)
		return 0;
	/* Built in, or loaded already: the node alone is missing. */
	if (access("/sys/module/tun", F_OK) < 0) {
		if (!shoald_has_cap(CAP_SYS_MODULE)) {
			snprintf(reason, size, "/dev/net/tun is missing and "
				 "shoald may not load tun (no CAP_SYS_MODULE): "
				 "`modprobe tun` as root");
			return -1;
		}
		ret = run_modprobe("tun", false, said, sizeof(said));
		if (ret != 0) {
			snprintf(reason, size, "/dev/net/tun is missing and "
				 "`modprobe tun` failed%s%s",
				 *said ? ": " : "", said);
			return -1;
		}
		if (access("/dev/net/tun", F_OK) == 0)
			return 0;
	}
	/* The modes udev gives them, whatever our umask (0077 as a unit). */
	if ((mkdir("/dev/net", 0755) < 0 && errno != EEXIST) ||
	    chmod("/dev/net", 0755) < 0 ||
	    mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) < 0 ||
	    chmod("/dev/net/tun", 0666) < 0) {
		snprintf(reason, size, "tun is loaded but /dev/net/tun is "
			 "missing, and shoald cannot make it: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}
