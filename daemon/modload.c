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
 * Runs modprobe shoal, or with dry_run only looks the module up; its
 * stderr into out.  Exit status, or -1.
 */
static int run_modprobe(bool dry_run, char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	const char *path = NULL;
	char *argv[] = { "modprobe", "shoal", NULL, NULL };
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
	ret = run_modprobe(!privileged, said, sizeof(said));
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
