// SPDX-License-Identifier: MIT
/*
 * The TCP fallback, client side (docs/architecture.md, "UDP over TCP"):
 * when UDP does not get out (no BINDING answered since the login), a
 * relayed peer's relay is reached over a TCP stream to the bridge beside
 * it (lib/tcpframe.h, mediator/tcpbridge.c) instead.  The datapath does
 * not change and does not know: the peer's relay endpoint becomes a UDP
 * socket of ours on 127.0.0.1, and what the datapath sends there (ESP,
 * RELAY_BINDs, handshakes) goes down the stream, framed; what the stream
 * brings is sent from that socket to the tunnel port, where it comes
 * from the relay endpoint the session code expects.
 *
 * A link lives while its peer's relay is it; a lost stream is opened
 * again with backoff, on the same loopback socket, and a RELAY_BIND
 * follows at once to bind the relay to the bridge's new socket.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "mclient_int.h"
#include "tcpframe.h"

/* No BINDING answered this long after the login: UDP is blocked. */
#define UDP_BLOCKED_AFTER 2.0
#define TCP_RETRY_MIN 0.5
#define TCP_RETRY_MAX 30.0
#define TCP_TX_CAP (256 * 1024)
#define TCP_READS 16

struct mc_tcp {
	struct mc_tcp *next;
	uint8_t peer_key[32];
	struct shoal_endpoint relay;	/* the relay itself */
	struct shoal_endpoint loop;	/* the datapath's view of it */
	int udp, tcp;
	bool connecting;
	uint32_t tcp_events, udp_events;
	unsigned int failures;
	double next_connect;
	struct shoal_tcpframe_rx rx;
	struct shoal_tcpframe_tx tx;
};

static uint8_t dgram[SHOAL_TCPFRAME_MAX + 1];

bool mc_udp_blocked(const struct mclient *m, double now)
{
	if (!m->logged_in || m->udp_ok)
		return false;
	/* This login's netcheck may say so before the 2 s are up. */
	return (m->nat.known && m->nat.udp_blocked) ||
	       (m->has_token && now - m->login_time >= UDP_BLOCKED_AFTER);
}

static struct mc_tcp *link_of(struct mclient *m, const uint8_t key[32])
{
	struct mc_tcp *t;

	for (t = m->tcp; t; t = t->next)
		if (!memcmp(t->peer_key, key, 32))
			return t;
	return NULL;
}

static void watch(struct mclient *m, int fd, uint32_t *have, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.fd = fd };

	if (fd < 0 || *have == want)
		return;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		*have = want;
}

static void arm(struct mclient *m, struct mc_tcp *t)
{
	const uint8_t *p;

	watch(m, t->tcp, &t->tcp_events,
	      EPOLLIN | (t->connecting || shoal_tcpframe_tx_pending(&t->tx, &p) ?
			 EPOLLOUT : 0));
	/* Backpressure: the datapath's datagrams wait in the socket. */
	watch(m, t->udp, &t->udp_events,
	      shoal_tcpframe_tx_room(&t->tx, SHOAL_TCPFRAME_MAX) ? EPOLLIN : 0);
}

static void tcp_lost(struct mclient *m, struct mc_tcp *t, const char *why)
{
	double wait = TCP_RETRY_MIN;
	unsigned int i;

	if (t->tcp >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, t->tcp, NULL);
		close(t->tcp);
		t->tcp = -1;
	}
	for (i = 0; i < t->failures && wait < TCP_RETRY_MAX; i++)
		wait *= 2;
	if (wait > TCP_RETRY_MAX)
		wait = TCP_RETRY_MAX;
	t->failures++;
	t->next_connect = shoald_now() + wait;
	if (why && m->d->verbose)
		fprintf(stderr, "shoald: relay over TCP: %s; again in %.1f s\n",
			why, wait);
}

/*
 * The stream to the bridge: where the control connection goes, the
 * mediator's TCP address (mc_tcp_relay took only a relay on its host).
 */
static void tcp_connect(struct mclient *m, struct mc_tcp *t)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	uint8_t header[SHOAL_TCPFRAME_HEADER_LEN];
	struct shoal_endpoint to = m->server;
	int fd, one = 1;

	t->next_connect = shoald_now() + TCP_RETRY_MAX;
	fd = socket(to.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		tcp_lost(m, t, strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.fd = fd;
	if ((connect(fd, &to.sa, to.len) < 0 && errno != EINPROGRESS) ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		tcp_lost(m, t, strerror(errno));
		return;
	}
	t->tcp = fd;
	t->tcp_events = ev.events;
	t->connecting = true;
	/* A new stream: nothing half-sent or half-read of the old one. */
	t->tx.off = t->tx.len = 0;
	shoal_tcpframe_rx_init(&t->rx, false, 0);
	shoal_tcpframe_put_header(header, mc_port_of(&t->relay));
	shoal_tcpframe_tx_raw(&t->tx, header, sizeof(header));
}

static void link_free(struct mclient *m, struct mc_tcp *t)
{
	struct mc_tcp **pp;

	for (pp = &m->tcp; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	if (t->tcp >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, t->tcp, NULL);
		close(t->tcp);
	}
	if (t->udp >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, t->udp, NULL);
		close(t->udp);
	}
	shoal_tcpframe_tx_free(&t->tx);
	free(t);
}

/*
 * The loopback socket, on 127.0.0.1.  Not connected: the datapath may
 * send to it from another of this host's addresses (shoal.ko keeps the
 * source it last used for the peer); only this host can send to
 * 127.0.0.1, and only the datapath from the tunnel port (udp_readable).
 */
static int open_loop(struct mclient *m, struct mc_tcp *t)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&t->loop.in, &len) < 0)
		goto fail;
	t->loop.len = sizeof(t->loop.in);
	ev.data.fd = fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	t->udp = fd;
	t->udp_events = ev.events;
	return 0;
fail:
	close(fd);
	return -1;
}

bool mc_tcp_relay(struct mclient *m, struct shoald_peer *p,
		  const struct shoal_endpoint *relay)
{
	struct mc_tcp *t = link_of(m, p->public_key);

	/*
	 * Only the mediator's own relay: its bridge is on the TCP port we
	 * reach already, and a mediator cannot send our streams elsewhere.
	 */
	if (!m->server.len || !mc_at_server(m, relay))
		return false;
	if (t && shoal_endpoint_equal(&t->relay, relay)) {
		p->relay = t->loop;
		return true;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return false;
		t->tcp = t->udp = -1;
		memcpy(t->peer_key, p->public_key, 32);
		if (shoal_tcpframe_tx_init(&t->tx, TCP_TX_CAP) < 0 ||
		    open_loop(m, t) < 0) {
			shoal_tcpframe_tx_free(&t->tx);
			free(t);
			return false;
		}
		t->next = m->tcp;
		m->tcp = t;
	} else if (t->tcp >= 0) {
		/* Another relay port: a stream of its own. */
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, t->tcp, NULL);
		close(t->tcp);
		t->tcp = -1;
	}
	t->relay = *relay;
	t->failures = 0;
	tcp_connect(m, t);
	p->relay = t->loop;
	if (m->d->verbose)
		fprintf(stderr, "shoald: UDP is blocked: the relay for %s over "
			"TCP\n", p->nickname);
	return true;
}

bool mc_tcp_is(const struct mclient *m, const struct shoald_peer *p)
{
	const struct mc_tcp *t;

	for (t = m->tcp; t; t = t->next)
		if (!memcmp(t->peer_key, p->public_key, 32))
			return p->has_relay &&
			       shoal_endpoint_equal(&p->relay, &t->loop);
	return false;
}

static void flush(struct mclient *m, struct mc_tcp *t)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	while (t->tcp >= 0 && !t->connecting &&
	       (n = shoal_tcpframe_tx_pending(&t->tx, &p))) {
		w = send(t->tcp, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			tcp_lost(m, t, strerror(errno));
			break;
		}
		shoal_tcpframe_tx_consumed(&t->tx, (size_t)w);
	}
	arm(m, t);
}

/* A new stream: the relay must hear at once where we are bound now. */
static void rebind(struct mclient *m, struct mc_tcp *t)
{
	struct shoald_peer *p = shoald_peer_find(m->d, t->peer_key);

	if (p && p->has_relay)
		p->next_relay_bind = 0;
}

static void tcp_readable(struct mclient *m, struct mc_tcp *t)
{
	struct sockaddr_in port = { .sin_family = AF_INET };
	const uint8_t *p, *frame;
	size_t len, flen;
	ssize_t n;
	int i, ret;

	port.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	port.sin_port = htons(m->d->dp->listen_port);
	for (i = 0; i < TCP_READS && t->tcp >= 0; i++) {
		n = recv(t->tcp, dgram, sizeof(dgram), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		if (n <= 0) {
			tcp_lost(m, t, n ? strerror(errno) :
				 "the bridge closed the stream");
			return;
		}
		p = dgram;
		len = (size_t)n;
		while ((ret = shoal_tcpframe_next(&t->rx, &p, &len, &frame,
						  &flen)) == 1) {
			t->failures = 0;
			/* To the tunnel port; not taken now: lost, as UDP. */
			sendto(t->udp, frame, flen, MSG_DONTWAIT,
			       (struct sockaddr *)&port, sizeof(port));
		}
		if (ret < 0) {
			tcp_lost(m, t, "the bridge broke the framing");
			return;
		}
	}
}

static void udp_readable(struct mclient *m, struct mc_tcp *t)
{
	socklen_t err_len = sizeof(int), from_len;
	struct sockaddr_storage from;
	ssize_t n;
	int i, err;

	/*
	 * Not watched for reading while the stream is full, the socket still
	 * reports an error (an ICMP): take it, or epoll reports it again.
	 */
	if (!shoal_tcpframe_tx_room(&t->tx, SHOAL_TCPFRAME_MAX))
		getsockopt(t->udp, SOL_SOCKET, SO_ERROR, &err, &err_len);
	for (i = 0; i < TCP_READS; i++) {
		if (!shoal_tcpframe_tx_room(&t->tx, SHOAL_TCPFRAME_MAX))
			break;
		from_len = sizeof(from);
		n = recvfrom(t->udp, dgram, sizeof(dgram), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			continue;	/* an ICMP error: read on */
		if (n <= 0)
			break;
		/*
		 * Down the stream once it is there; till then it queues.
		 * Only the tunnel port's: no other local program speaks
		 * for us to the relay.
		 */
		if (from.ss_family == AF_INET &&
		    ((struct sockaddr_in *)&from)->sin_port ==
		    htons(m->d->dp->listen_port) && n <= SHOAL_TCPFRAME_MAX)
			shoal_tcpframe_tx_put(&t->tx, dgram, (size_t)n);
	}
	flush(m, t);
}

bool mc_tcp_handle(struct mclient *m, int fd, uint32_t events)
{
	struct mc_tcp *t;
	int err = 0;
	socklen_t len = sizeof(err);

	for (t = m->tcp; t; t = t->next) {
		if (fd == t->udp) {
			udp_readable(m, t);
			return true;
		}
		if (fd != t->tcp)
			continue;
		if (t->connecting && (events & (EPOLLOUT | EPOLLERR |
						EPOLLHUP))) {
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
				       &len) < 0)
				err = errno;
			if (err) {
				tcp_lost(m, t, strerror(err));
				return true;
			}
			t->connecting = false;
			rebind(m, t);
		}
		/* A hangup or an error: recv() says which, and it is lost. */
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			tcp_readable(m, t);
		if (t->tcp >= 0)
			flush(m, t);
		return true;
	}
	return false;
}

void mc_tcp_tick(struct mclient *m, double now)
{
	struct mc_tcp *t, *next;
	struct shoald_peer *p;

	for (t = m->tcp; t; t = next) {
		next = t->next;
		p = shoald_peer_find(m->d, t->peer_key);
		/* Its peer gone, or its relay elsewhere now: not needed. */
		if (!p || !p->has_relay ||
		    !shoal_endpoint_equal(&p->relay, &t->loop)) {
			link_free(m, t);
			continue;
		}
		if (t->tcp < 0 && now >= t->next_connect)
			tcp_connect(m, t);
	}
}

void mc_tcp_close_all(struct mclient *m)
{
	while (m->tcp)
		link_free(m, m->tcp);
}
