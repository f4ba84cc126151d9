/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_TCPBRIDGE_H
#define SHOAL_MEDIATOR_TCPBRIDGE_H

/*
 * tcpbridge.c: the TCP fallback's relay side (docs/protocol.md, "UDP over
 * TCP").  A client whose network blocks UDP opens a TCP stream (lib/
 * tcpframe.h), names a relay port in its header, then sends framed
 * datagrams; the bridge sends each from a UDP socket of its own to that
 * port on the address the stream reached (only a port of the relay
 * range, only this host: never an open proxy), and frames what comes
 * back.  The relay takes the bridge's socket for the client's endpoint.
 *
 * Loop-agnostic: the bridge keeps its sockets in an epoll set of its own,
 * whose descriptor (tcpbridge_fd) the host's loop watches for reading
 * and then calls tcpbridge_run; tcpbridge_tick about once a second.
 * Streams come in through tcpbridge_adopt: the host accepts them (the
 * mediator on its own TCP port, telling them from control connections by
 * their first byte).
 */

#include <stdint.h>
#include <sys/socket.h>

struct tcpbridge_limits {
	unsigned int streams;		/* at once, in all */
	unsigned int per_source;	/* at once from one address */
};

struct tcpbridge_stats {
	uint64_t streams, refused, frames_in, frames_out, dropped;
};

struct tcpbridge;

/* NULL on failure (errno). */
struct tcpbridge *tcpbridge_new(uint16_t relay_lo, uint16_t relay_hi,
				const struct tcpbridge_limits *lim);
void tcpbridge_free(struct tcpbridge *b);
int tcpbridge_fd(const struct tcpbridge *b);
/*
 * Takes over fd, a connected TCP stream from peer: the bridge closes it
 * when done, or at once when over its limits.
 */
void tcpbridge_adopt(struct tcpbridge *b, int fd, const struct sockaddr *peer,
		     socklen_t peer_len);
void tcpbridge_run(struct tcpbridge *b);
/* Closes the streams past their deadlines; now_ms CLOCK_MONOTONIC. */
void tcpbridge_tick(struct tcpbridge *b, int64_t now_ms);
const struct tcpbridge_stats *tcpbridge_stats(const struct tcpbridge *b);
/* The streams open now. */
unsigned int tcpbridge_open_streams(const struct tcpbridge *b);

#endif
