// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "chat.h"
#include "control.h"
#include "dns.h"
#include "json.h"
#include "key.h"
#include "lanbcast.h"
#include "mac.h"
#include "mclient.h"
#include "util.h"

int shoald_control_open(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group *grp;
	struct stat st;
	mode_t old_mask;
	const char *slash;
	int fd, probe, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, err_size, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* The socket's directory, 0755 like /run. */
	slash = strrchr(path, '/');
	ret = slash && slash != path ?
	      shoal_mkdir_p(path, (size_t)(slash - path), 0755) : 0;
	if (ret < 0) {
		snprintf(err, err_size, "cannot create the directory of %s: %s",
			 path, strerror(-ret));
		return ret;
	}
	/* A socket someone answers on belongs to a running daemon. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 &&
	    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		snprintf(err, err_size, "another shoald is serving %s", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	old_mask = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (ret < 0 || listen(fd, 16) < 0 || chmod(path, 0660) < 0)
		goto close_fd;
	/*
	 * The owner stays whoever shoald runs as (root, or the user shoal
	 * under systemd, whose primary group is shoal already: nothing to
	 * do).  Giving the socket to a group needs no privilege if shoald
	 * is in it, and CAP_CHOWN otherwise; failing that, the socket
	 * still serves root and shoald's own user and group.
	 */
	grp = getgrnam("shoal");
	if (grp && stat(path, &st) == 0 && st.st_gid != grp->gr_gid &&
	    chown(path, (uid_t)-1, grp->gr_gid) < 0)
		fprintf(stderr, "shoald: warning: cannot give %s to the group "
			"shoal (%s): its members cannot use it\n", path,
			strerror(errno));
	return fd;

close_fd:
	ret = -errno;
	close(fd);
	snprintf(err, err_size, "cannot listen on %s: %s", path,
		 strerror(-ret));
	return ret;
fail:
	ret = -errno;
	snprintf(err, err_size, "socket: %s", strerror(-ret));
	return ret;
}

static void json_key(FILE *f, const char *name, const uint8_t key[32])
{
	char b64[SHOAL_KEY_B64_LEN + 1];

	shoal_key_to_base64(b64, key);
	fprintf(f, "\"%s\": \"%s\"", name, b64);
}

/*
 * The status as data, one line of JSON (docs/architecture.md): shoal(8)
 * decides how it looks, in text or JSON.
 */
static void status_json(FILE *f, struct shoald *d)
{
	char mac[SHOAL_MAC_STRLEN + 1], ep[SHOAL_ENDPOINT_STRLEN + 1];
	size_t i;

	fprintf(f, "{\"ifname\": ");
	shoal_json_string(f, d->dp->ifname);
	fprintf(f, ", \"datapath\": \"%s\", ", d->dp->ops->name);
	json_key(f, "public_key", d->public_key);
	shoal_mac_format(mac, d->dp->mac);
	fprintf(f, ", \"mac\": \"%s\", \"listen_port\": %u, "
		"\"control_rejected\": %llu, \"handshakes\": %llu, "
		"\"handshakes_initiated\": %llu, "
		"\"handshakes_initiated_ok\": %llu, "
		"\"cookie_replies_sent\": %llu, "
		"\"cookie_replies_taken\": %llu, "
		"\"datapath_control_drops\": %llu, "
		"\"mediator\": ", mac, d->dp->listen_port,
		(unsigned long long)d->ctl_rejected,
		(unsigned long long)d->handshakes_done,
		(unsigned long long)d->initiated,
		(unsigned long long)d->initiated_ok,
		(unsigned long long)d->cookies_sent,
		(unsigned long long)d->cookies_taken,
		(unsigned long long)d->dp_control_drops);
	mclient_status_json(d, f);
	fprintf(f, ", \"port_mapping\": ");
	shoald_port_mapping_json(d, f);
	fprintf(f, ", \"lan_broadcast\": ");
	shoald_lanbcast_json(d, f);
	fprintf(f, ", \"chat\": ");
	shoald_chat_status_json(d, f);
	fprintf(f, ", \"peers\": [");
	for (i = 0; i < d->n_peers; i++) {
		const struct shoald_peer *p = &d->peers[i];

		fprintf(f, "%s{", i ? ", " : "");
		json_key(f, "public_key", p->public_key);
		shoal_mac_format(mac, p->mac);
		fprintf(f, ", \"nickname\": ");
		shoal_json_string(f, p->nickname);
		fprintf(f, ", \"mac\": \"%s\", \"address\": ", mac);
		if (*p->address)
			shoal_json_string(f, p->address);
		else
			fprintf(f, "null");
		fprintf(f, ", \"address6\": ");
		if (*p->address6)
			shoal_json_string(f, p->address6);
		else
			fprintf(f, "null");
		fprintf(f, ", \"online\": %s, \"path\": \"%s\", "
			"\"transport\": \"%s\", \"endpoint\": ",
			p->online ? "true" : "false", shoald_peer_path(p),
			!strcmp(shoald_peer_path(p), "relay") &&
			mclient_peer_tcp(d, p) ? "tcp" : "udp");
		if (shoal_endpoint_format(ep, sizeof(ep), &p->endpoint) > 0)
			shoal_json_string(f, ep);
		else
			fprintf(f, "null");
		fprintf(f, ", \"rtt_ms\": ");
		if (p->rtt_ms >= 0)
			fprintf(f, "%.3f", p->rtt_ms);
		else
			fprintf(f, "null");
		fprintf(f, ", \"last_handshake\": %lld, \"rx_bytes\": %llu, "
			"\"tx_bytes\": %llu}", (long long)p->last_handshake,
			(unsigned long long)p->rx_bytes,
			(unsigned long long)p->tx_bytes);
	}
	fprintf(f, "], \"dns\": ");
	shoald_dns_status_json(d, f);
	fprintf(f, "}\n");
}

/*
 * login and logout choose the mediator, and with it who may announce
 * peers, hand out addresses and relay this host's traffic: that is the
 * administrator's choice, not every member of the group shoal's.  Root is
 * the peer's uid 0 (SO_PEERCRED, as the kernel saw it at connect()), not
 * "the uid shoald runs as": under systemd shoald is a user of its own.
 */
static bool root_only(const char *req)
{
	const char *word = req + strspn(req, " ");
	size_t len = strcspn(word, " ");

	/* The words as mclient_request() splits them: runs of spaces. */
	return (len == 5 && !strncmp(word, "login", 5)) ||
	       (len == 6 && !strncmp(word, "logout", 6));
}

/* The answer to them from anyone else (docs/architecture.md). */
#define NOT_ROOT_ANSWER \
	"error -204 only root may log in or out of a mediator\n"

static void write_all(int fd, const char *buf, size_t len)
{
	size_t done;
	ssize_t n;

	for (done = 0; done < len; done += (size_t)n) {
		n = write(fd, buf + done, len - done);
		if (n <= 0)
			break;
	}
}

/* Answers a whole request; the fd is mclient's or closed after. */
static void answer_request(struct shoald *d, int fd, char *req, bool root)
{
	char *reply = NULL;
	size_t reply_len = 0;
	FILE *f;

	req[strcspn(req, "\r\n")] = '\0';
	if (root_only(req) && !root) {
		sodium_memzero(req, strlen(req));
		write_all(fd, NOT_ROOT_ANSWER, strlen(NOT_ROOT_ANSWER));
		goto close_fd;
	}
	/* The mediator's requests are answered when the mediator answers. */
	if (strncmp(req, "status", 6) && mclient_request(d, fd, req)) {
		sodium_memzero(req, strlen(req));
		return;
	}

	f = open_memstream(&reply, &reply_len);
	if (!f)
		goto close_fd;
	/* "status json": the JSON form of old, now the only one. */
	if (!strcmp(req, "status") || !strcmp(req, "status json")) {
		shoald_poll(d);
		status_json(f, d);
	} else if (shoald_lanbcast_request(d, f, req, root)) {
		/* Answered. */
	} else {
		fprintf(f, "error -203 unknown request\n");
	}
	fclose(f);
	write_all(fd, reply, reply_len);
	free(reply);
close_fd:
	close(fd);
}

/* How long a client has to send its line. */
#define CONTROL_DEADLINE 1.0

void shoald_control_init(struct shoald_control *c, int listen_fd, int epfd)
{
	unsigned int i;

	c->listen_fd = listen_fd;
	c->epfd = epfd;
	for (i = 0; i < SHOALD_CONTROL_CLIENTS; i++)
		c->clients[i].fd = -1;
}

static void client_drop(struct shoald_control *c,
			struct shoald_control_client *cl, bool close_it)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	if (close_it)
		close(cl->fd);
	sodium_memzero(cl->req, cl->got);
	cl->fd = -1;
	cl->got = 0;
}

static void accept_one(struct shoald_control *c, int fd, double now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct shoald_control_client *free_slot = NULL;
	struct timeval tv = { .tv_sec = 1 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	unsigned int i, same_uid = 0;

	/* Unknown credentials are no one's: no slot, and never root. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred))
		goto refuse;
	for (i = 0; i < SHOALD_CONTROL_CLIENTS; i++) {
		if (c->clients[i].fd < 0)
			free_slot = free_slot ? free_slot : &c->clients[i];
		else if (c->clients[i].uid == cred.uid)
			same_uid++;
	}
	if (!free_slot || same_uid >= SHOALD_CONTROL_PER_UID)
		goto busy;
	/* Answers are written whole; a client that stops reading, 1 s. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto refuse;
	free_slot->fd = fd;
	free_slot->uid = cred.uid;
	free_slot->deadline = now + CONTROL_DEADLINE;
	free_slot->got = 0;
	return;
busy:
	/*
	 * Said before the request is read, so the client knows nothing was
	 * done and may try again (shoal does, for 3 s).  One short line
	 * fits any socket buffer; a client that cannot take it is closed.
	 */
	send(fd, SHOAL_CTL_BUSY_ANSWER, strlen(SHOAL_CTL_BUSY_ANSWER),
	     MSG_DONTWAIT | MSG_NOSIGNAL);
refuse:
	close(fd);
}

void shoald_control_accept(struct shoald_control *c, double now)
{
	int fd, n;

	/* A few a turn: a flood of connections must not hold the loop. */
	for (n = 0; n < SHOALD_CONTROL_CLIENTS; n++) {
		fd = accept4(c->listen_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		accept_one(c, fd, now);
	}
}

bool shoald_control_handle(struct shoald_control *c, struct shoald *d,
			   int fd)
{
	struct shoald_control_client *cl = NULL;
	unsigned int i;
	bool done;
	ssize_t n;
	int flags;

	for (i = 0; i < SHOALD_CONTROL_CLIENTS && !cl; i++)
		if (c->clients[i].fd == fd)
			cl = &c->clients[i];
	if (!cl)
		return false;
	n = read(fd, cl->req + cl->got, sizeof(cl->req) - 1 - cl->got);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n > 0)
		cl->got += (size_t)n;
	cl->req[cl->got] = '\0';
	/* A line, the end of the stream, or all the room there is. */
	done = n <= 0 || memchr(cl->req, '\n', cl->got) ||
	       cl->got == sizeof(cl->req) - 1;
	if (!done)
		return true;
	/* Answered, like before, by blocking writes bounded by SO_SNDTIMEO. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	/* The slot is free before the answer: mclient may keep the fd. */
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
	cl->fd = -1;
	/* chat's requests: chat.c keeps or closes the fd. */
	if (!shoald_chat_request(d, fd, cl->req, cl->uid))
		answer_request(d, fd, cl->req, cl->uid == 0);
	sodium_memzero(cl->req, sizeof(cl->req));
	cl->got = 0;
	return true;
}

void shoald_control_tick(struct shoald_control *c, double now)
{
	unsigned int i;

	for (i = 0; i < SHOALD_CONTROL_CLIENTS; i++)
		if (c->clients[i].fd >= 0 && now >= c->clients[i].deadline)
			client_drop(c, &c->clients[i], true);
}

void shoald_control_close(struct shoald_control *c)
{
	unsigned int i;

	for (i = 0; i < SHOALD_CONTROL_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_drop(c, &c->clients[i], true);
}
