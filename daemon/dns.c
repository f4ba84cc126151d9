// SPDX-License-Identifier: MIT
/*
 * shoald's name server (dns.h).  The answers are lib/dnsmsg.c's; this
 * file moves datagrams and TCP messages (RFC 7766: a two-byte length,
 * one query a connection) and keeps the table.
 *
 * Who is answered: this host only.  A query must come from one of the
 * device's own overlay addresses -- what the kernel picks as the source
 * of a local query to them.  A member elsewhere cannot send one: its
 * frames may carry only its own addresses (AllowedIPs), and the kernel
 * drops packets from other interfaces that claim a local source.  The
 * table holds the members of every network we are in, and a member of
 * one of them has no business learning who is in the others.
 *
 * Each source has its token bucket (DNS_RATE a second), the server
 * never recurses, and a query it cannot parse gets FORMERR or nothing.
 *
 * systemd-resolved, when it runs in our network namespace, is told by
 * resolvectl(1) (a child process, never waited for in the loop) that the
 * device's DNS server is ours and that it routes "~shoal" and the
 * reverse zones; `resolvectl revert` undoes it at logout and exit.
 * resolvectl, not sd-bus: no new library for three calls per login, and
 * the child keeps a slow D-Bus out of the event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns.h"
#include "json.h"
#include "ratelimit.h"
#include "session.h"

#define DNS_PORT 53
#define DNS_RATE 200.0			/* queries a second, per source */
#define DNS_SOURCES 8
#define DNS_BIND_RETRY 5.0
#define DNS_RESOLVED_RETRY 30.0
#define DNS_BATCH 32			/* datagrams read per wakeup */
#define DNS_CONNS 16			/* TCP connections at once */
#define DNS_TCP_TIMEOUT 5.0		/* to send the query */
#define DNS_TCP_QUERY_MAX 512
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

enum resolved_state {
	RS_OFF,			/* nothing to register (logged out) */
	RS_ABSENT,		/* no resolved in our network namespace */
	RS_PENDING,		/* resolvectl is running */
	RS_REGISTERED,
	RS_ERROR,
};

struct dns_source {
	bool used;
	uint8_t addr[16];
	struct shoald_bucket bucket;
};

/* A TCP client (RFC 7766): one query, its answer, closed. */
struct dns_conn {
	int fd;				/* -1: free */
	double deadline;
	uint8_t src[16];
	size_t len;
	uint8_t buf[2 + DNS_TCP_QUERY_MAX];
};

struct shoald_dns {
	struct shoald *d;
	int epfd;
	bool enabled;
	char nick[SHOAL_DNS_LABEL_MAX + 1];
	bool has_v4, has_v6;
	uint8_t v4[4], v6[16];
	unsigned int v4_len, v6_len;
	/* names[0] is ours (no network) while logged in; members follow. */
	struct shoal_dns_name *names;
	size_t n_names, n_members;
	int fd4, fd6;			/* UDP */
	int tcp4, tcp6;			/* listening */
	struct dns_conn conns[DNS_CONNS];
	double next_bind;
	char bind_error[160];
	struct dns_source sources[DNS_SOURCES];
	uint64_t queries, answered, refused, limited, ignored;
	enum resolved_state rs;
	pid_t rs_pid;
	bool rs_revert;			/* rs_pid undoes, not registers */
	bool rs_dirty;			/* the addresses changed since */
	double rs_next;
	char rs_error[160];
};

static struct shoald_dns *dns_of(struct shoald *d)
{
	return d->dns;
}

int shoald_dns_open(struct shoald *d, int epfd, bool enabled)
{
	struct shoald_dns *s = calloc(1, sizeof(*s));
	unsigned int i;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->epfd = epfd;
	s->enabled = enabled;
	s->fd4 = s->fd6 = s->tcp4 = s->tcp6 = -1;
	for (i = 0; i < DNS_CONNS; i++)
		s->conns[i].fd = -1;
	s->rs = RS_OFF;
	s->rs_pid = -1;
	d->dns = s;
	return 0;
}

static void close_sock(struct shoald_dns *s, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* ---- resolved ---- */

/*
 * resolved runs, and in our network namespace (the lab's members and a
 * container have their own: the host's resolved knows nothing of their
 * devices, and may have one of the same name).
 */
static bool resolved_here(void)
{
	struct stat self, init;

	if (access("/run/systemd/resolve/io.systemd.Resolve", F_OK) < 0)
		return false;
	if (stat("/proc/self/ns/net", &self) < 0 ||
	    stat("/proc/1/ns/net", &init) < 0)
		return false;
	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

/*
 * Runs the commands in a shell with the values as its arguments ("$1"
 * the device, and so on: nothing is parsed out of them), not waiting.
 */
static pid_t spawn_sh(const char *script, char *const args[])
{
	char *argv[12] = { "sh", "-c", (char *)script, "shoald-dns" };
	unsigned int i;
	pid_t pid;

	for (i = 0; args[i] && i < 7; i++)
		argv[4 + i] = args[i];
	argv[4 + i] = NULL;
	pid = fork();
	if (pid == 0) {
		execv("/bin/sh", argv);
		_exit(127);
	}
	return pid;
}

static void resolved_register(struct shoald_dns *s, double now)
{
	static const char script[] =
		"resolvectl dns \"$1\" $2 $3 && "
		"resolvectl domain \"$1\" '~shoal' $4 $5 && "
		"resolvectl default-route \"$1\" false";
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	char z4[80] = "", z6[100] = "";
	char *args[6];

	if (s->has_v4) {
		inet_ntop(AF_INET, s->v4, a4, sizeof(a4));
		z4[0] = '~';
		if (shoal_dns_reverse_zone(AF_INET, s->v4, s->v4_len, z4 + 1,
					   sizeof(z4) - 1) < 0)
			z4[0] = '\0';
	}
	if (s->has_v6 && s->fd6 >= 0) {
		inet_ntop(AF_INET6, s->v6, a6, sizeof(a6));
		z6[0] = '~';
		if (shoal_dns_reverse_zone(AF_INET6, s->v6, s->v6_len, z6 + 1,
					   sizeof(z6) - 1) < 0)
			z6[0] = '\0';
	}
	args[0] = s->d->dp->ifname;
	args[1] = a4;
	args[2] = a6;
	args[3] = z4;
	args[4] = z6;
	args[5] = NULL;
	s->rs_dirty = false;
	s->rs_revert = false;
	s->rs_pid = spawn_sh(script, args);
	if (s->rs_pid < 0) {
		s->rs = RS_ERROR;
		snprintf(s->rs_error, sizeof(s->rs_error), "error: fork: %s",
			 strerror(errno));
		s->rs_next = now + DNS_RESOLVED_RETRY;
		return;
	}
	s->rs = RS_PENDING;
}

static void resolved_revert(struct shoald_dns *s)
{
	char *args[2] = { s->d->dp->ifname, NULL };

	s->rs_revert = true;
	s->rs_pid = spawn_sh("resolvectl revert \"$1\"", args);
}

static void resolved_tick(struct shoald_dns *s, double now)
{
	bool want = s->enabled && (s->fd4 >= 0 || s->fd6 >= 0);
	int status;

	if (s->rs_pid > 0) {
		if (waitpid(s->rs_pid, &status, WNOHANG) != s->rs_pid)
			return;
		s->rs_pid = -1;
		if (s->rs_revert) {
			s->rs = RS_OFF;
		} else if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			s->rs = RS_REGISTERED;
			fprintf(stderr, "shoald: names: registered with "
				"systemd-resolved for %s\n",
				s->d->dp->ifname);
		} else {
			s->rs = RS_ERROR;
			snprintf(s->rs_error, sizeof(s->rs_error),
				 "error: resolvectl failed (status %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			s->rs_next = now + DNS_RESOLVED_RETRY;
		}
	}
	if (!want) {
		if (s->rs == RS_REGISTERED || s->rs == RS_ERROR)
			resolved_revert(s);
		else if (s->rs == RS_ABSENT)
			s->rs = RS_OFF;
		return;
	}
	if (s->rs == RS_ERROR && now < s->rs_next)
		return;
	if (s->rs == RS_REGISTERED && !s->rs_dirty)
		return;
	if (s->rs == RS_ABSENT && now < s->rs_next)
		return;
	if (!resolved_here()) {
		s->rs = RS_ABSENT;
		s->rs_next = now + DNS_RESOLVED_RETRY;
		return;
	}
	resolved_register(s, now);
}

/* ---- the sockets ---- */

static int open_sock(struct shoald_dns *s, int family, const uint8_t *addr,
		     int type)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, one = 1;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(DNS_PORT);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
		/* The address is there; no harm if it is not yet. */
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(DNS_PORT);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
		/* Duplicate address detection may not be done yet. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	ev.data.fd = fd;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, DNS_CONNS) < 0) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* *fd bound to addr's port 53 (type: UDP or TCP), or said why not. */
static void bind_one(struct shoald_dns *s, int family, const uint8_t *addr,
		     int type, int *fd, double now)
{
	char a[INET6_ADDRSTRLEN];
	int ret;

	if (*fd >= 0)
		return;
	ret = open_sock(s, family, addr, type);
	if (ret >= 0) {
		*fd = ret;
		s->rs_dirty = true;
		return;
	}
	inet_ntop(family, addr, a, sizeof(a));
	snprintf(s->bind_error, sizeof(s->bind_error), "%s%s%s %s port %d: %s",
		 family == AF_INET6 ? "[" : "", a,
		 family == AF_INET6 ? "]" : "",
		 type == SOCK_STREAM ? "TCP" : "UDP", DNS_PORT,
		 strerror(-ret));
	s->next_bind = now + DNS_BIND_RETRY;
}

static void bind_tick(struct shoald_dns *s, double now)
{
	if (!s->enabled || now < s->next_bind)
		return;
	if (s->has_v4) {
		bind_one(s, AF_INET, s->v4, SOCK_DGRAM, &s->fd4, now);
		bind_one(s, AF_INET, s->v4, SOCK_STREAM, &s->tcp4, now);
	}
	if (s->has_v6) {
		bind_one(s, AF_INET6, s->v6, SOCK_DGRAM, &s->fd6, now);
		bind_one(s, AF_INET6, s->v6, SOCK_STREAM, &s->tcp6, now);
	}
	if ((!s->has_v4 || (s->fd4 >= 0 && s->tcp4 >= 0)) &&
	    (!s->has_v6 || (s->fd6 >= 0 && s->tcp6 >= 0)))
		s->bind_error[0] = '\0';
}

static void conn_close(struct shoald_dns *s, struct dns_conn *c)
{
	close_sock(s, &c->fd);
	c->len = 0;
}

static void conns_tick(struct shoald_dns *s, double now)
{
	unsigned int i;

	for (i = 0; i < DNS_CONNS; i++)
		if (s->conns[i].fd >= 0 && now >= s->conns[i].deadline)
			conn_close(s, &s->conns[i]);
}

void shoald_dns_tick(struct shoald *d, double now)
{
	struct shoald_dns *s = dns_of(d);

	if (!s)
		return;
	bind_tick(s, now);
	conns_tick(s, now);
	resolved_tick(s, now);
}

/* ---- queries ---- */

/* The source's bucket: its own, or the least recently used one. */
static bool source_allow(struct shoald_dns *s, const uint8_t *addr,
			 double now)
{
	struct dns_source *src, *oldest = &s->sources[0];
	unsigned int i;

	for (i = 0; i < DNS_SOURCES; i++) {
		src = &s->sources[i];
		if (src->used && !memcmp(src->addr, addr, 16))
			return shoald_bucket_take(&src->bucket, now);
		if (!src->used || src->bucket.last < oldest->bucket.last)
			oldest = src;
	}
	oldest->used = true;
	memcpy(oldest->addr, addr, 16);
	shoald_bucket_init(&oldest->bucket, DNS_RATE);
	return shoald_bucket_take(&oldest->bucket, now);
}

/* from is this host (one of our overlay addresses): its address in src. */
static bool own_source(const struct shoald_dns *s,
		       const struct sockaddr_storage *from, uint8_t src[16])
{
	memset(src, 0, 16);
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)from;

		memcpy(src, &sin->sin_addr, 4);
		return s->has_v4 && !memcmp(src, s->v4, 4);
	}
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)from;

		memcpy(src, &sin6->sin6_addr, 16);
		return s->has_v6 && !memcmp(src, s->v6, 16);
	}
	return false;
}

/* The answer to a query from src (0: none), counted. */
static size_t respond(struct shoald_dns *s, const uint8_t *src,
		      const uint8_t *in, size_t n, uint8_t *out, size_t cap,
		      bool stream, double now)
{
	struct shoal_dns_zone z = {
		.names = s->names, .n_names = s->n_names,
	};
	size_t len;
	int rcode;

	if (!source_allow(s, src, now)) {
		s->limited++;
		return 0;
	}
	if (s->has_v4) {
		memcpy(z.v4, s->v4, 4);
		z.v4_len = (uint8_t)s->v4_len;
	}
	if (s->has_v6) {
		memcpy(z.v6, s->v6, 16);
		z.v6_len = (uint8_t)s->v6_len;
	}
	len = shoal_dns_respond(&z, in, n, out, cap, stream, &rcode);
	if (!len)
		s->ignored++;
	else if (rcode == SHOAL_DNS_REFUSED || rcode == SHOAL_DNS_FORMERR)
		s->refused++;
	else
		s->answered++;
	return len;
}

static void answer_one(struct shoald_dns *s, int fd, double now)
{
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	uint8_t in[1500], out[SHOAL_DNS_EDNS_SIZE], src[16];
	ssize_t n;
	size_t len;

	n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from,
		     &from_len);
	if (n < 0)
		return;
	s->queries++;
	if (!own_source(s, &from, src)) {
		s->ignored++;
		return;
	}
	len = respond(s, src, in, (size_t)n, out, sizeof(out), false, now);
	/* A full socket buffer drops the answer: the client asks again. */
	if (len)
		sendto(fd, out, len, MSG_DONTWAIT, (struct sockaddr *)&from,
		       from_len);
}

/* A connection to a TCP port: taken if from this host and a slot is free. */
static void accept_one(struct shoald_dns *s, int lfd, double now)
{
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	struct epoll_event ev = { .events = EPOLLIN };
	struct dns_conn *c = NULL;
	uint8_t src[16];
	unsigned int i;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&from, &from_len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < DNS_CONNS && !c; i++)
		if (s->conns[i].fd < 0)
			c = &s->conns[i];
	ev.data.fd = fd;
	if (!own_source(s, &from, src) || !c ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		s->ignored++;
		close(fd);
		return;
	}
	c->fd = fd;
	c->len = 0;
	c->deadline = now + DNS_TCP_TIMEOUT;
	memcpy(c->src, src, 16);
}

/*
 * Reads c's query (two bytes of length, then the message); once whole,
 * the answer goes out the same way and the connection is closed.  An
 * answer the socket buffer cannot take at once (it is small) is dropped.
 */
static void conn_read(struct shoald_dns *s, struct dns_conn *c, double now)
{
	uint8_t out[2 + 2048];
	size_t want, len;
	ssize_t n;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(s, c);
		return;
	}
	c->len += (size_t)n;
	if (c->len < 2)
		return;
	want = (size_t)c->buf[0] << 8 | c->buf[1];
	if (want > DNS_TCP_QUERY_MAX) {
		s->ignored++;
		conn_close(s, c);
		return;
	}
	if (c->len < 2 + want)
		return;
	s->queries++;
	len = respond(s, c->src, c->buf + 2, want, out + 2, sizeof(out) - 2,
		      true, now);
	if (len) {
		out[0] = (uint8_t)(len >> 8);
		out[1] = (uint8_t)len;
		send(c->fd, out, len + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	conn_close(s, c);
}

bool shoald_dns_handle(struct shoald *d, int fd)
{
	struct shoald_dns *s = dns_of(d);
	double now;
	unsigned int i;

	if (!s || fd < 0)
		return false;
	now = shoald_now();
	if (fd == s->fd4 || fd == s->fd6) {
		for (i = 0; i < DNS_BATCH; i++) {
			uint64_t before = s->queries;

			answer_one(s, fd, now);
			if (s->queries == before)
				break;
		}
		return true;
	}
	if (fd == s->tcp4 || fd == s->tcp6) {
		accept_one(s, fd, now);
		return true;
	}
	for (i = 0; i < DNS_CONNS; i++) {
		if (s->conns[i].fd == fd) {
			conn_read(s, &s->conns[i], now);
			return true;
		}
	}
	return false;
}

/* ---- the table ---- */

void shoald_dns_set_self(struct shoald *d, const char *nick,
			 const uint8_t *v4, unsigned int v4_len,
			 const uint8_t *v6, unsigned int v6_len)
{
	struct shoald_dns *s = dns_of(d);
	bool in = nick && *nick;

	if (!s)
		return;
	if (!in || !v4_len || !s->has_v4 || s->v4_len != v4_len ||
	    memcmp(s->v4, v4, 4)) {
		close_sock(s, &s->fd4);
		close_sock(s, &s->tcp4);
	}
	if (!in || !v6_len || !s->has_v6 || s->v6_len != v6_len ||
	    memcmp(s->v6, v6, 16)) {
		close_sock(s, &s->fd6);
		close_sock(s, &s->tcp6);
	}
	snprintf(s->nick, sizeof(s->nick), "%s", in ? nick : "");
	s->has_v4 = in && v4_len;
	s->has_v6 = in && v6_len;
	memset(s->v4, 0, sizeof(s->v4));
	memset(s->v6, 0, sizeof(s->v6));
	if (s->has_v4)
		memcpy(s->v4, v4, 4);
	if (s->has_v6)
		memcpy(s->v6, v6, 16);
	s->v4_len = s->has_v4 ? v4_len : 0;
	s->v6_len = s->has_v6 ? v6_len : 0;
	s->next_bind = 0;
	s->rs_dirty = true;
	if (!in)
		shoald_dns_set_names(d, NULL, 0);
	else if (s->names) {
		/* Our own entry, in place. */
		memset(&s->names[0], 0, sizeof(s->names[0]));
		snprintf(s->names[0].nick, sizeof(s->names[0].nick), "%s",
			 s->nick);
		s->names[0].has_v4 = s->has_v4;
		s->names[0].has_v6 = s->has_v6;
		memcpy(s->names[0].v4, s->v4, 4);
		memcpy(s->names[0].v6, s->v6, 16);
	} else {
		shoald_dns_set_names(d, NULL, 0);
	}
}

void shoald_dns_set_names(struct shoald *d,
			  const struct shoal_dns_name *names, size_t n)
{
	struct shoald_dns *s = dns_of(d);
	struct shoal_dns_name *v;

	if (!s)
		return;
	if (!*s->nick) {
		free(s->names);
		s->names = NULL;
		s->n_names = s->n_members = 0;
		return;
	}
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return;		/* the old table stays */
	snprintf(v[0].nick, sizeof(v[0].nick), "%s", s->nick);
	v[0].has_v4 = s->has_v4;
	v[0].has_v6 = s->has_v6;
	memcpy(v[0].v4, s->v4, 4);
	memcpy(v[0].v6, s->v6, 16);
	if (n)
		memcpy(v + 1, names, n * sizeof(*v));
	free(s->names);
	s->names = v;
	s->n_names = n + 1;
	s->n_members = n;
}

void shoald_dns_close(struct shoald *d)
{
	struct shoald_dns *s = dns_of(d);
	unsigned int i;
	int status;

	if (!s)
		return;
	close_sock(s, &s->fd4);
	close_sock(s, &s->fd6);
	close_sock(s, &s->tcp4);
	close_sock(s, &s->tcp6);
	for (i = 0; i < DNS_CONNS; i++)
		conn_close(s, &s->conns[i]);
	if (s->rs_pid > 0)
		waitpid(s->rs_pid, &status, 0);
	s->rs_pid = -1;
	if (s->rs == RS_REGISTERED || s->rs == RS_PENDING ||
	    s->rs == RS_ERROR) {
		resolved_revert(s);
		if (s->rs_pid > 0)
			waitpid(s->rs_pid, &status, 0);
	}
	free(s->names);
	free(s);
	d->dns = NULL;
}

bool shoald_dns_wanted(struct shoald *d)
{
	struct shoald_dns *s = dns_of(d);

	return s && s->enabled;
}

void shoald_dns_status_json(struct shoald *d, FILE *f)
{
	struct shoald_dns *s = dns_of(d);
	char a[INET6_ADDRSTRLEN + 8];
	bool first = true;

	if (!s) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"enabled\": %s, \"listening\": [",
		s->enabled ? "true" : "false");
	if (s->fd4 >= 0) {
		inet_ntop(AF_INET, s->v4, a, sizeof(a));
		shoal_json_string(f, a);
		first = false;
	}
	if (s->fd6 >= 0) {
		inet_ntop(AF_INET6, s->v6, a, sizeof(a));
		fputs(first ? "" : ", ", f);
		shoal_json_string(f, a);
	}
	fprintf(f, "], \"port\": %d, \"error\": ", DNS_PORT);
	if (*s->bind_error)
		shoal_json_string(f, s->bind_error);
	else
		fputs("null", f);
	fprintf(f, ", \"resolved\": ");
	switch (s->rs) {
	case RS_OFF:
		fputs("null", f);
		break;
	case RS_ABSENT:
		fputs("\"absent\"", f);
		break;
	case RS_PENDING:
		fputs("\"pending\"", f);
		break;
	case RS_REGISTERED:
		fputs("\"registered\"", f);
		break;
	case RS_ERROR:
		shoal_json_string(f, s->rs_error);
		break;
	}
	fprintf(f, ", \"names\": %zu, \"queries\": %llu, \"answered\": %llu, "
		"\"refused\": %llu, \"limited\": %llu, \"ignored\": %llu}",
		s->n_names, (unsigned long long)s->queries,
		(unsigned long long)s->answered,
		(unsigned long long)s->refused,
		(unsigned long long)s->limited,
		(unsigned long long)s->ignored);
}
