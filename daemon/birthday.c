// SPDX-License-Identifier: MIT
/*
 * Per-peer sockets and birthday probing (docs/protocol.md, "Birthday
 * probing"; docs/architecture.md, "Per-peer sockets").
 *
 * A peer behind a NAT whose mapping depends on the destination (the hard
 * side) meets one whose mapping does not but whose filter lets in only
 * what answers an address and port it sent to (the easy side).  No hole
 * the tunnel port punches can work: the hard side's mapping towards the
 * easy side is a port nobody knows.  So the hard side opens
 * BIRTHDAY_SOCKETS sockets and sends from each to the easy side's
 * public endpoint (each opens a mapping that lets the easy side in),
 * while the easy side sends its handshake INIT from the tunnel port to
 * random ports of the hard side's public address.  An INIT that lands
 * on one of the mappings reaches socket k, is answered from it, and
 * that answer gets through the easy side's filter (it sent to that
 * port).  The handshake that completes on socket k makes it the peer's
 * own socket: the datapath sends the peer's ESP from it.
 *
 * Sockets are closed one tick after they leave the epoll set: an fd
 * closed while the loop's batch still names it would reach the
 * datapath's handle() as a stranger.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <sodium.h>

#include "session.h"

/* docs/protocol.md, "Birthday probing": 256 sockets, 200 probes/s, 20 s. */
#define BIRTHDAY_SOCKETS 256
#define BIRTHDAY_RATE 200.0
#define BIRTHDAY_TIME 20.0
/* The hard side's mappings are sent to again this often... */
#define BIRTHDAY_RESEND 2.0
/* ... and kept this much longer than the easy side probes, for answers. */
#define BIRTHDAY_GRACE 2.0
/*
 * A new run for the same peer (with the relayed pair's once-a-minute
 * direct try) only this long after the last began; after the second
 * run in a row that found nothing, twice as long each time, up to 16
 * times.
 */
#define BIRTHDAY_AGAIN 60.0
#define BIRTHDAY_BACKOFF_MAX 5
/* Runs at once: sockets (hard) and probe traffic (easy) stay bounded. */
#define BIRTHDAY_MAX_RUNS 4
/* The ports a probe goes to: what a NAT hands out. */
#define PROBE_PORT_MIN 1024
#define PROBE_PORT_SPAN (65536 - PROBE_PORT_MIN)

struct shoald_birthday {
	bool hard;
	double start, until, next_resend;
	uint64_t probes;		/* easy: sent so far */
	unsigned int n_fds;		/* hard: its sockets */
	int fds[BIRTHDAY_SOCKETS];
};

static void sock_retire(struct shoald *d, int fd, double now)
{
	struct shoald_closing *c;

	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
	c = realloc(d->closing, (d->n_closing + 1) * sizeof(*c));
	if (!c) {
		/* Better a stray event than an fd leaked for good. */
		close(fd);
		return;
	}
	d->closing = c;
	c[d->n_closing].fd = fd;
	c[d->n_closing].at = now;
	d->n_closing++;
}

static void birthday_end(struct shoald *d, struct shoald_peer *p,
			 double now, int keep)
{
	struct shoald_birthday *b = p->bd;
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < b->n_fds; i++)
		if (b->fds[i] != keep)
			sock_retire(d, b->fds[i], now);
	if (d->verbose && b->hard)
		fprintf(stderr, "shoald: birthday probing for %s ends (%s, "
			"%.1f s, %u sockets)\n", p->nickname,
			keep >= 0 ? "found a way" : "stopped", now - b->start,
			b->n_fds);
	else if (d->verbose)
		fprintf(stderr, "shoald: birthday probing for %s ends (%s, "
			"%.1f s, %llu probes)\n", p->nickname,
			keep >= 0 ? "found a way" : "stopped", now - b->start,
			(unsigned long long)b->probes);
	d->bd_running--;
	if (keep >= 0)
		p->bd_fails = 0;
	else if (p->bd_fails < BIRTHDAY_BACKOFF_MAX)
		p->bd_fails++;
	free(b);
	p->bd = NULL;
}

static int hard_socket(struct shoald *d)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Port 0: the kernel picks a random free one. */
	ev.data.fd = fd;
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool shoald_birthday_queued(const struct shoald *d,
			    const struct shoald_peer *p)
{
	return !p->bd && !p->bd_last && !d->no_peer_sockets &&
	       d->bd_running < BIRTHDAY_MAX_RUNS;
}

void shoald_birthday_start(struct shoald *d, struct shoald_peer *p,
			   bool hard, double now)
{
	struct shoal_dp_peer probe = { 0 };
	struct shoald_birthday *b;

	if (p->bd || d->no_peer_sockets || d->epfd <= 0 ||
	    p->public_ep.sa.sa_family != AF_INET ||
	    d->bd_running >= BIRTHDAY_MAX_RUNS ||
	    (p->bd_last && now - p->bd_last < BIRTHDAY_AGAIN *
	     (1u << (p->bd_fails ? p->bd_fails - 1 : 0)) - 1.0))
		return;
	/*
	 * The hard side needs a datapath that takes a peer's own socket:
	 * asked with a change that changes nothing (back on the device's
	 * socket, where the peer is).
	 */
	if (hard && !p->has_sock) {
		memcpy(probe.public_key, p->public_key, 32);
		probe.set_socket = true;
		probe.socket_fd = -1;
		if (d->dp->ops->set_peer(d->dp, &probe) == -EOPNOTSUPP) {
			fprintf(stderr, "shoald: the %s datapath takes no "
				"per-peer sockets: no birthday probing\n",
				d->dp->ops->name);
			d->no_peer_sockets = true;
			return;
		}
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->hard = hard;
	b->start = now;
	b->until = now + BIRTHDAY_TIME + (hard ? BIRTHDAY_GRACE : 0);
	while (hard && b->n_fds < BIRTHDAY_SOCKETS) {
		int fd = hard_socket(d);

		if (fd < 0)
			break;
		b->fds[b->n_fds++] = fd;
	}
	p->bd = b;
	p->bd_last = now;
	d->bd_running++;
	d->bd_runs++;
	if (hard && b->n_fds < BIRTHDAY_SOCKETS / 4) {
		birthday_end(d, p, now, -1);
		return;
	}
	if (d->verbose && hard)
		fprintf(stderr, "shoald: birthday probing for %s (hard side, "
			"%u sockets)\n", p->nickname, b->n_fds);
	else if (d->verbose)
		fprintf(stderr, "shoald: birthday probing for %s (easy side, "
			"%.0f probes a second)\n", p->nickname,
			BIRTHDAY_RATE);
}

/* The INIT to probe with: the handshake in progress, or a new one. */
static const uint8_t *probe_init(struct shoald *d, struct shoald_peer *p,
				 double now)
{
	if (!p->hs_active)
		shoald_initiate(d, p, now, p->online ? SHOALD_TO_DIRECT :
				SHOALD_TO_ALL);
	return p->hs_active ? p->init_msg : NULL;
}

static void easy_tick(struct shoald *d, struct shoald_peer *p, double now)
{
	struct shoald_birthday *b = p->bd;
	struct shoal_endpoint to = p->public_ep;
	const uint8_t *init;
	uint64_t due;

	due = (uint64_t)((now - b->start) * BIRTHDAY_RATE) + 1;
	if (due > (uint64_t)(BIRTHDAY_TIME * BIRTHDAY_RATE))
		due = (uint64_t)(BIRTHDAY_TIME * BIRTHDAY_RATE);
	while (b->probes < due) {
		init = probe_init(d, p, now);
		if (!init)
			return;
		to.in.sin_port = htons((uint16_t)(PROBE_PORT_MIN +
				randombytes_uniform(PROBE_PORT_SPAN)));
		d->dp->ops->send_control(d->dp, &to, init, SHOAL_CTL_INIT_LEN);
		b->probes++;
		d->bd_probes++;
	}
}

/*
 * The hard side's mappings: a NAT keepalive (one byte, 0xff, dropped by
 * whoever gets it) from each socket to the easy side's public endpoint.
 * The mappings only need to exist; the handshake comes from the other
 * side's probes.
 */
static void hard_tick(struct shoald_peer *p, double now)
{
	static const uint8_t keepalive = 0xff;
	struct shoald_birthday *b = p->bd;
	unsigned int i;

	if (now < b->next_resend)
		return;
	b->next_resend = now + BIRTHDAY_RESEND;
	for (i = 0; i < b->n_fds; i++)
		sendto(b->fds[i], &keepalive, 1, MSG_DONTWAIT,
		       &p->public_ep.sa, p->public_ep.len);
}

void shoald_birthday_tick(struct shoald *d, double now)
{
	size_t i;

	while (d->n_closing && now - d->closing[0].at >= 0.1) {
		close(d->closing[0].fd);
		memmove(d->closing, d->closing + 1,
			--d->n_closing * sizeof(d->closing[0]));
	}
	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (!p->bd)
			continue;
		/* Found directly some other way, or given up: done. */
		if (now >= p->bd->until || d->no_peer_sockets ||
		    (p->online && !strcmp(shoald_peer_path(p), "direct")))
			birthday_end(d, p, now, -1);
		else if (p->bd->hard)
			hard_tick(p, now);
		else
			easy_tick(d, p, now);
	}
}

/* The peer whose socket (its own, or one of its birthday's) fd is. */
static struct shoald_peer *sock_peer(struct shoald *d, int fd)
{
	unsigned int j;
	size_t i;

	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (p->has_sock && p->sock_fd == fd)
			return p;
		for (j = 0; p->bd && j < p->bd->n_fds; j++)
			if (p->bd->fds[j] == fd)
				return p;
	}
	return NULL;
}

static bool retired(const struct shoald *d, int fd)
{
	size_t i;

	for (i = 0; i < d->n_closing; i++)
		if (d->closing[i].fd == fd)
			return true;
	return false;
}

int shoald_sock_want(struct shoald *d, const struct shoald_peer *p)
{
	if (!d->rx_sock || !shoal_endpoint_equal(&d->rx_from, &p->endpoint))
		return -1;
	return sock_peer(d, d->rx_fd) == p ? d->rx_fd : -1;
}

void shoald_sock_attached(struct shoald *d, struct shoald_peer *p, int fd,
			  double now)
{
	if (p->has_sock && p->sock_fd != fd)
		sock_retire(d, p->sock_fd, now);
	if (fd >= 0 && p->bd) {
		birthday_end(d, p, now, fd);
		d->bd_wins++;
	}
	p->has_sock = fd >= 0;
	p->sock_fd = fd;
}

void shoald_sock_drop(struct shoald *d, struct shoald_peer *p, double now)
{
	birthday_end(d, p, now, -1);
	if (p->has_sock)
		sock_retire(d, p->sock_fd, now);
	p->has_sock = false;
}

int shoald_sock_for(struct shoald *d, const struct shoal_endpoint *to)
{
	size_t i;

	if (d->rx_sock && shoal_endpoint_equal(&d->rx_from, to))
		return d->rx_fd;
	for (i = 0; i < d->n_peers; i++)
		if (d->peers[i].has_sock &&
		    shoal_endpoint_equal(&d->peers[i].endpoint, to))
			return d->peers[i].sock_fd;
	return -1;
}

int shoald_sock_send(int fd, const struct shoal_endpoint *to,
		     const void *payload, size_t len)
{
	static const uint8_t marker[4];
	struct iovec iov[2] = {
		{ .iov_base = (void *)marker, .iov_len = sizeof(marker) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = {
		.msg_name = (void *)&to->sa, .msg_namelen = to->len,
		.msg_iov = iov, .msg_iovlen = 2,
	};

	if (sendmsg(fd, &msg, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/*
 * A datagram on a peer's socket: control packets to the session code
 * (answers go back out of the same socket), ESP of a peer that owns the
 * socket to the datapath (TAP; shoal.ko keeps ESP to itself).
 */
bool shoald_sock_handle(struct shoald *d, int fd)
{
	static uint8_t buf[65536];
	struct shoal_dp_event ev;
	struct sockaddr_storage ss;
	struct shoald_peer *p;
	socklen_t sl;
	ssize_t n;
	int i;

	p = sock_peer(d, fd);
	if (!p)
		return retired(d, fd);
	for (i = 0; i < 64 && p; i++) {
		sl = sizeof(ss);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			break;
		memset(&ev, 0, sizeof(ev));
		if (ss.ss_family == AF_INET && sl >= sizeof(ev.from.in)) {
			memcpy(&ev.from.in, &ss, sizeof(ev.from.in));
			ev.from.len = sizeof(ev.from.in);
		} else if (ss.ss_family == AF_INET6 &&
			   sl >= sizeof(ev.from.in6)) {
			memcpy(&ev.from.in6, &ss, sizeof(ev.from.in6));
			ev.from.len = sizeof(ev.from.in6);
		} else {
			continue;
		}
		if (n > 4 && !buf[0] && !buf[1] && !buf[2] && !buf[3] &&
		    n - 4 <= SHOAL_MAX_CONTROL) {
			ev.type = SHOAL_DP_EV_CONTROL;
			ev.payload = buf + 4;
			ev.len = (size_t)n - 4;
			d->rx_sock = true;
			d->rx_fd = fd;
			d->rx_from = ev.from;
			shoald_on_event(d, &ev);
			d->rx_sock = false;
		} else if (n > 4 && p->has_sock && p->sock_fd == fd &&
			   d->dp->ops->receive) {
			d->dp->ops->receive(d->dp, buf, (size_t)n, &ev.from,
					    shoald_on_event, d);
		}
		/* What was handled may have retired it. */
		p = sock_peer(d, fd);
	}
	return true;
}

void shoald_socks_close(struct shoald *d)
{
	size_t i;

	for (i = 0; i < d->n_peers; i++)
		shoald_sock_drop(d, &d->peers[i], 0);
	for (i = 0; i < d->n_closing; i++)
		close(d->closing[i].fd);
	free(d->closing);
	d->closing = NULL;
	d->n_closing = 0;
}
