// SPDX-License-Identifier: MIT
/* shoal status: asks shoald over its control socket. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "status.h"
#include "util.h"

#define SOCKET_DIR SHOAL_RUN_DIR

/* The one NAME.sock under SOCKET_DIR; -1 with a message otherwise. */
static int find_socket(char *path, size_t size)
{
	struct dirent *e;
	unsigned int n = 0;
	size_t len;
	DIR *dir;

	dir = opendir(SOCKET_DIR);
	if (dir) {
		while ((e = readdir(dir))) {
			len = strlen(e->d_name);
			if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") ||
			    len + sizeof(SOCKET_DIR "/") > size)
				continue;
			if (n++ == 0) {
				memcpy(path, SOCKET_DIR "/",
				       sizeof(SOCKET_DIR "/") - 1);
				memcpy(path + sizeof(SOCKET_DIR "/") - 1,
				       e->d_name, len + 1);
			}
		}
		closedir(dir);
	}
	if (n == 1)
		return 0;
	if (n == 0)
		fprintf(stderr, "shoal: no shoald is running (nothing in "
			SOCKET_DIR "; --socket PATH or SHOAL_SOCKET name "
			"another place)\n");
	else
		fprintf(stderr, "shoal: %u daemons run; name the interface: "
			"shoal status NAME\n", n);
	return -1;
}

static int ask(const char *path, const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	bool first = true;
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "shoal: socket path too long: %s\n", path);
		return SHOAL_EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "shoal: cannot reach shoald at %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return SHOAL_EXIT_FAILURE;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		fprintf(stderr, "shoal: writing to %s: %s\n", path,
			strerror(errno));
		close(fd);
		return SHOAL_EXIT_FAILURE;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 7 && !memcmp(buf, "error: ", 7)) {
			fprintf(stderr, "shoal: shoald says: %.*s", (int)n - 7,
				buf + 7);
			close(fd);
			return SHOAL_EXIT_FAILURE;
		}
		first = false;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	if (n < 0 || first) {
		fprintf(stderr, "shoal: no answer from shoald at %s\n", path);
		return SHOAL_EXIT_FAILURE;
	}
	return fflush(stdout) ? SHOAL_EXIT_FAILURE : SHOAL_EXIT_OK;
}

int shoal_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ 0 }
	};
	const char *socket_path = getenv("SHOAL_SOCKET");
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "js:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		default:
			fprintf(stderr, "Usage: shoal status [NAME] [--json] "
				"[--socket PATH]\n");
			return SHOAL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "shoal: status: unexpected argument '%s'\n",
			argv[optind + 1]);
		return SHOAL_EXIT_USAGE;
	}
	if (socket_path && *socket_path) {
		snprintf(path, sizeof(path), "%s", socket_path);
	} else if (optind < argc) {
		if (!*argv[optind] || strchr(argv[optind], '/') ||
		    strlen(argv[optind]) >= 16) {
			fprintf(stderr, "shoal: status: '%s' is not an "
				"interface name\n", argv[optind]);
			return SHOAL_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), SOCKET_DIR "/%s.sock",
			 argv[optind]);
	} else if (find_socket(path, sizeof(path)) < 0) {
		return SHOAL_EXIT_FAILURE;
	}
	return ask(path, json ? "status json\n" : "status\n");
}
