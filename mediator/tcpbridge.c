// SPDX-License-Identifier: MIT
/*
 * The TCP fallback's bridge: see tcpbridge.h.  Every stream is bounded:
 * a header within TCPB_HEADER_MS, a relay port of the range on this
 * host, frames no longer than SHOAL_TCPFRAME_MAX (a longer one closes
 * the stream), TCPB_IDLE_MS without a frame either way closes it, and at
 * most TCPB_TX_CAP bytes wait to go down the stream: while less than a
 * largest frame's room is left, the UDP socket is not read (its own
 * buffer fills, and the kernel drops what comes then), so a client that
 * does not read costs a bounded buffer, never more.  Towards the relay
 * nothing is buffered: a datagram the socket does not take is dropped,
 * as UDP would.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "sources.h"
#include "tcpbridge.h"
#include "tcpframe.h"

#define TCPB_HEADER_MS 5000
#define TCPB_IDLE_MS 90000
#define TCPB_TX_CAP (256 * 1024)
#define TCPB_EVENTS 64
/* Work per readiness: one busy stream does not starve the others. */
#define TCPB_READS 16

struct stream;

struct sfd {
	struct stream *s;
	bool udp;
};

struct stream {
	struct stream *next;
	int tcp, udp;
	struct sfd th, uh;
	uint32_t tcp_events, udp_events;
	bool dead;
	struct sockaddr_storage src;
	struct sockaddr_storage local;	/* where the stream arrived */
	socklen_t local_len;
	int64_t last_active, header_deadline;	/* ms */
	struct shoal_tcpframe_rx rx;
	struct shoal_tcpframe_tx tx;
};

struct tcpbridge {
	int epfd;
	uint16_t lo, hi;
	struct tcpbridge_limits lim;
	struct tcpbridge_stats stats;
	struct stream *streams;
	unsigned int n;
	uint8_t buf[SHOAL_TCPFRAME_MAX + 1];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tcpbridge *tcpbridge_new(uint16_t relay_lo, uint16_t relay_hi,
				const struct tcpbridge_limits *lim)
{
	struct tcpbridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		free(b);
		return NULL;
	}
	b->lo = relay_lo;
	b->hi = relay_hi;
	b->lim = *lim;
	return b;
}

int tcpbridge_fd(const struct tcpbridge *b)
{
	return b->epfd;
}

const struct tcpbridge_stats *tcpbridge_stats(const struct tcpbridge *b)
{
	return &b->stats;
}

unsigned int tcpbridge_open_streams(const struct tcpbridge *b)
{
	return b->n;
}

static void stream_close(struct tcpbridge *b, struct stream *s)
{
	if (s->dead)
		return;
	s->dead = true;
	epoll_ctl(b->epfd, EPOLL_CTL_DEL, s->tcp, NULL);
	close(s->tcp);
	if (s->udp >= 0) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, s->udp, NULL);
		close(s->udp);
	}
	shoal_tcpframe_tx_free(&s->tx);
	b->n--;
}

/* Frees the closed ones: only between batches, which may still name them. */
static void reap(struct tcpbridge *b)
{
	struct stream **pp = &b->streams, *s;

	while ((s = *pp)) {
		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

void tcpbridge_free(struct tcpbridge *b)
{
	struct stream *s;

	if (!b)
		return;
	for (s = b->streams; s; s = s->next)
		stream_close(b, s);
	reap(b);
	close(b->epfd);
	free(b);
}

/* An IPv4-mapped IPv6 address as the IPv4 one it is. */
static void unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 s6 = *(struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = s6.sin6_port;
	memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
	*len = sizeof(*s4);
}

static void arm(struct tcpbridge *b, struct stream *s)
{
	const uint8_t *p;
	struct epoll_event ev = { .data.ptr = &s->th };
	uint32_t want;

	if (s->dead)
		return;
	want = EPOLLIN | (shoal_tcpframe_tx_pending(&s->tx, &p) ? EPOLLOUT : 0);
	if (want != s->tcp_events) {
		ev.events = want;
		if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, s->tcp, &ev) < 0) {
			stream_close(b, s);
			return;
		}
		s->tcp_events = want;
	}
	if (s->udp < 0)
		return;
	/* Backpressure: the UDP socket waits while the stream is full. */
	want = shoal_tcpframe_tx_room(&s->tx, SHOAL_TCPFRAME_MAX) ? EPOLLIN : 0;
	if (want != s->udp_events) {
		ev.events = want;
		ev.data.ptr = &s->uh;
		if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, s->udp, &ev) < 0) {
			stream_close(b, s);
			return;
		}
		s->udp_events = want;
	}
}

void tcpbridge_adopt(struct tcpbridge *b, int fd, const struct sockaddr *peer,
		     socklen_t peer_len)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int from_source = 0;
	struct stream *s;
	int one = 1;

	if (peer_len > sizeof(s->src) || b->n >= b->lim.streams)
		goto refuse;
	for (s = b->streams; s; s = s->next)
		from_source += !s->dead &&
			       sources_same((const struct sockaddr *)&s->src,
					    peer);
	if (b->lim.per_source && from_source >= b->lim.per_source)
		goto refuse;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto refuse;
	memcpy(&s->src, peer, peer_len);
	s->local_len = sizeof(s->local);
	if (getsockname(fd, (struct sockaddr *)&s->local, &s->local_len) < 0 ||
	    shoal_tcpframe_tx_init(&s->tx, TCPB_TX_CAP) < 0) {
		free(s);
		goto refuse;
	}
	unmap(&s->local, &s->local_len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->tcp = fd;
	s->udp = -1;
	s->th.s = s->uh.s = s;
	s->uh.udp = true;
	s->tcp_events = EPOLLIN;
	s->last_active = now_ms();
	s->header_deadline = s->last_active + TCPB_HEADER_MS;
	shoal_tcpframe_rx_init(&s->rx, true, 0);
	ev.data.ptr = &s->th;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		shoal_tcpframe_tx_free(&s->tx);
		free(s);
		goto refuse;
	}
	s->next = b->streams;
	b->streams = s;
	b->n++;
	b->stats.streams++;
	return;
refuse:
	b->stats.refused++;
	close(fd);
}

/*
 * The header named port: a socket of our own towards it, on the address
 * the stream reached, if it is a relay port.  Anything else: refused.
 */
static int open_udp(struct tcpbridge *b, struct stream *s, uint16_t port)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->uh };
	struct sockaddr_storage to = s->local;
	int fd;

	if (port < b->lo || port > b->hi)
		return -1;
	if (to.ss_family == AF_INET) {
		((struct sockaddr_in *)&to)->sin_port = 0;
	} else {
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	}
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&to, s->local_len) < 0)
		goto fail;
	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&to)->sin6_port = htons(port);
	/* Connected: only what the relay port sends comes back. */
	if (connect(fd, (struct sockaddr *)&to, s->local_len) < 0 ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	s->udp = fd;
	s->udp_events = EPOLLIN;
	return 0;
fail:
	close(fd);
	return -1;
}

static void flush(struct tcpbridge *b, struct stream *s)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	while (!s->dead && (n = shoal_tcpframe_tx_pending(&s->tx, &p))) {
		w = send(s->tcp, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			stream_close(b, s);
			return;
		}
		shoal_tcpframe_tx_consumed(&s->tx, (size_t)w);
	}
	arm(b, s);
}

/* What the client sent: the header, then frames for the relay port. */
static void tcp_readable(struct tcpbridge *b, struct stream *s)
{
	const uint8_t *p, *frame;
	size_t len, flen;
	uint16_t port;
	ssize_t n;
	int i, ret;

	for (i = 0; i < TCPB_READS && !s->dead; i++) {
		n = recv(s->tcp, b->buf, sizeof(b->buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		if (n <= 0)
			goto close;
		p = b->buf;
		len = (size_t)n;
		if (s->udp < 0) {
			ret = shoal_tcpframe_header(&s->rx, &p, &len, &port);
			if (ret < 0 || (ret == 1 && open_udp(b, s, port) < 0))
				goto refuse;
			if (ret == 0)
				continue;
		}
		while ((ret = shoal_tcpframe_next(&s->rx, &p, &len, &frame,
						  &flen)) == 1) {
			b->stats.frames_in++;
			s->last_active = now_ms();
			/* Not taken now: dropped, as UDP would. */
			if (send(s->udp, frame, flen, MSG_DONTWAIT) < 0)
				b->stats.dropped++;
		}
		if (ret < 0)
			goto refuse;
	}
	return;
refuse:
	b->stats.refused++;
close:
	stream_close(b, s);
}

/* What the relay port sent back: framed down the stream, while room. */
static void udp_readable(struct tcpbridge *b, struct stream *s)
{
	ssize_t n;
	int i;

	int err;
	socklen_t err_len = sizeof(err);

	/*
	 * Not watched for reading while the stream is full, the socket still
	 * reports an error (an ICMP): take it, or epoll reports it again.
	 */
	if (!shoal_tcpframe_tx_room(&s->tx, SHOAL_TCPFRAME_MAX))
		getsockopt(s->udp, SOL_SOCKET, SO_ERROR, &err, &err_len);
	for (i = 0; i < TCPB_READS && !s->dead; i++) {
		if (!shoal_tcpframe_tx_room(&s->tx, SHOAL_TCPFRAME_MAX))
			break;
		n = recv(s->udp, b->buf, sizeof(b->buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			break;
		/* ICMP errors come back here too: the relay port is gone. */
		if (n < 0 && errno != ECONNREFUSED)
			break;
		if (n <= 0 || n > SHOAL_TCPFRAME_MAX) {
			b->stats.dropped += n > 0;
			continue;
		}
		if (shoal_tcpframe_tx_put(&s->tx, b->buf, (size_t)n) < 0) {
			b->stats.dropped++;
			continue;
		}
		b->stats.frames_out++;
		s->last_active = now_ms();
	}
	flush(b, s);
}

void tcpbridge_run(struct tcpbridge *b)
{
	struct epoll_event evs[TCPB_EVENTS];
	int n, i;

	n = epoll_wait(b->epfd, evs, TCPB_EVENTS, 0);
	for (i = 0; i < n; i++) {
		struct sfd *h = evs[i].data.ptr;
		struct stream *s = h->s;

		if (s->dead)
			continue;
		if (h->udp) {
			udp_readable(b, s);
			continue;
		}
		if (evs[i].events & EPOLLOUT)
			flush(b, s);
		if (!s->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			tcp_readable(b, s);
	}
	reap(b);
}

void tcpbridge_tick(struct tcpbridge *b, int64_t now)
{
	struct stream *s;

	for (s = b->streams; s; s = s->next) {
		if (s->dead)
			continue;
		if (s->udp < 0 && now >= s->header_deadline) {
			b->stats.refused++;
			stream_close(b, s);
		} else if (now - s->last_active >= TCPB_IDLE_MS) {
			stream_close(b, s);
		}
	}
	reap(b);
}
