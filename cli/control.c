// SPDX-License-Identifier: MIT
/* The client side of shoald's control socket; see control.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "link.h"
#include "util.h"

#define SOCKET_DIR SHOAL_RUN_DIR

/* The one NAME.sock under SOCKET_DIR; an exit code. */
static int find_socket(char *path, size_t size, const char *cmd)
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
		return SHOAL_EXIT_OK;
	if (n == 0) {
		fprintf(stderr, "shoal: %s: no shoald is running (nothing in "
			SOCKET_DIR "; --socket PATH or SHOAL_SOCKET name "
			"another place)\n", cmd);
		return SHOAL_EXIT_NO_DAEMON;
	}
	/* Not a failure of shoald's: the command line must say which. */
	fprintf(stderr, "shoal: %s: %u shoald run; name the interface with "
		"-i NAME\n", cmd, n);
	return SHOAL_EXIT_USAGE;
}

int shoal_ctl_path(char path[SHOAL_CTL_PATH_SIZE], const char *socket_opt,
		   const char *ifname, const char *cmd)
{
	const char *env = getenv("SHOAL_SOCKET");

	if (!socket_opt && env && *env)
		socket_opt = env;
	if (socket_opt) {
		if (!*socket_opt ||
		    strlen(socket_opt) >= SHOAL_CTL_PATH_SIZE - 1) {
			fprintf(stderr, "shoal: %s: '%s' cannot be a socket "
				"path (1 to %zu bytes)\n", cmd, socket_opt,
				SHOAL_CTL_PATH_SIZE - 2);
			return SHOAL_EXIT_USAGE;
		}
		memcpy(path, socket_opt, strlen(socket_opt) + 1);
		return SHOAL_EXIT_OK;
	}
	if (ifname) {
		if (!shoal_link_name_valid(ifname)) {
			fprintf(stderr, "shoal: %s: '%s' is not an interface "
				"name\n", cmd, ifname);
			return SHOAL_EXIT_USAGE;
		}
		snprintf(path, SHOAL_CTL_PATH_SIZE, SOCKET_DIR "/%s.sock",
			 ifname);
		return SHOAL_EXIT_OK;
	}
	return find_socket(path, SHOAL_CTL_PATH_SIZE, cmd);
}

long long shoal_ctl_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes: 1, 0, -1. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - shoal_ctl_now_ms();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	ssize_t n;

	while (len) {
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			errno = errno ? errno : ETIMEDOUT;
			return -1;
		}
		/* MSG_NOSIGNAL: a daemon gone away is an error, not SIGPIPE. */
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads to EOF into a growing buffer: 0, -1 with errno (EFBIG: too big). */
static int recv_all(int fd, char **out, size_t *out_len, long long deadline)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	int ready;
	ssize_t n;

	for (;;) {
		if (cap - len < 4096) {
			if (cap >= SHOAL_CTL_MAX_REPLY) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap + 1);
			if (!p)
				goto fail;
			buf = p;
		}
		ready = wait_fd(fd, POLLIN, deadline);
		if (ready <= 0) {
			errno = ready == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/*
		 * shoald closes a client it is too busy to take with the
		 * request unread: the kernel then says ECONNRESET after its
		 * one line (SHOAL_CTL_BUSY_ANSWER), not the end of the stream.
		 */
		if (n < 0 && errno == ECONNRESET && len)
			break;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
fail:
	free(buf);
	return -1;
}

/*
 * connect() on a non-blocking socket: a Unix socket whose backlog is full
 * says EAGAIN at once rather than making us wait, and a busy shoald
 * empties it within its loop, so it is tried again until a few seconds
 * have passed (a shoald that long stuck counts as unreachable).
 */
static int connect_retry(int fd, const struct sockaddr_un *sun,
			 long long deadline)
{
	long long give_up = shoal_ctl_now_ms() + SHOAL_CTL_RETRY_MS;
	const struct timespec pause = {
		.tv_nsec = SHOAL_CTL_RETRY_PAUSE_MS * 1000 * 1000
	};

	if (give_up > deadline)
		give_up = deadline;
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (shoal_ctl_now_ms() >= give_up) {
			errno = EAGAIN;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

/*
 * Asks shoald once; shoal_ctl_ask() asks again while shoald says it is
 * busy, which it says before reading the request, so nothing was done.
 */
static int ask_once(const struct sockaddr_un *sun, const char *path,
		    const char *request, char **reply, size_t *len,
		    long long deadline)
{
	int fd, ret = SHOAL_EXIT_FAILURE;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect_retry(fd, sun, deadline) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fprintf(stderr, "shoal: cannot reach shoald at %s: %s%s\n",
			path, errno == EAGAIN ?
			"it accepts no connections" : strerror(errno),
			errno == EACCES ? " (root and the group shoal may)" :
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is shoald running?)" : "");
		return SHOAL_EXIT_NO_DAEMON;
	}
	errno = 0;
	/* A busy shoald may have answered and closed before we wrote. */
	if (send_all(fd, request, strlen(request), deadline) < 0 &&
	    errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "shoal: writing to shoald at %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (recv_all(fd, reply, len, deadline) < 0) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "shoal: shoald at %s did not answer "
				"within %d s\n", path,
				SHOAL_CTL_TIMEOUT_MS / 1000);
		else if (errno == EFBIG)
			fprintf(stderr, "shoal: shoald at %s answered with "
				"more than %u bytes\n", path,
				SHOAL_CTL_MAX_REPLY);
		else
			fprintf(stderr, "shoal: reading from shoald at %s: "
				"%s\n", path, strerror(errno));
		goto out;
	}
	if (*len == 0) {
		fprintf(stderr, "shoal: no answer from shoald at %s\n", path);
		free(*reply);
		*reply = NULL;
		goto out;
	}
	ret = SHOAL_EXIT_OK;
out:
	close(fd);
	return ret;
}

int shoal_ctl_ask(const char *path, const char *request, char **reply,
		  size_t *len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long long deadline = shoal_ctl_now_ms() + SHOAL_CTL_TIMEOUT_MS;
	long long give_up = shoal_ctl_now_ms() + SHOAL_CTL_RETRY_MS;
	int ret;

	*reply = NULL;
	*len = 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "shoal: socket path too long: %s\n", path);
		return SHOAL_EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (;;) {
		ret = ask_once(&sun, path, request, reply, len, deadline);
		if (ret != SHOAL_EXIT_OK || shoal_ctl_now_ms() >= give_up ||
		    !*len || (*reply)[*len - 1] != '\n' ||
		    !shoal_ctl_busy_pause(*reply, *len - 1))
			return ret;
		free(*reply);
		*reply = NULL;
		*len = 0;
	}
}

bool shoal_ctl_busy_pause(const char *line, size_t len)
{
	const struct timespec pause = {
		.tv_nsec = SHOAL_CTL_RETRY_PAUSE_MS * 1000 * 1000
	};

	if (len + 1 != strlen(SHOAL_CTL_BUSY_ANSWER) ||
	    memcmp(line, SHOAL_CTL_BUSY_ANSWER, len))
		return false;
	nanosleep(&pause, NULL);
	return true;
}
