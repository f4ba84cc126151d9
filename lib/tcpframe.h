/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_TCPFRAME_H
#define SHOAL_TCPFRAME_H

/*
 * The TCP fallback's stream (docs/protocol.md, "UDP over TCP"): a client
 * whose network blocks UDP carries its relayed datagrams (ESP, and the
 * control packets with their 4 zero bytes in front, exactly as on UDP)
 * over one TCP stream to a bridge beside the relay, framed as RFC 8229
 * frames ESP: each datagram behind a 2-byte big-endian length.  The
 * stream opens with a header: SHOAL_TCPFRAME_MAGIC, a version byte and
 * the relay port wanted (2 bytes, big-endian).
 *
 * The magic's first byte is not 0: a mediator control connection opens
 * with the 2-byte length of Noise message 1 (97), whose first byte is,
 * so one TCP port tells the two apart by a stream's first byte.
 *
 * Nothing here touches a socket: the receive side takes whatever chunks
 * recv() gave, however split or coalesced; the send side queues whole
 * frames, within a fixed budget, for send().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_TCPFRAME_MAGIC "SHOALTCP"
#define SHOAL_TCPFRAME_MAGIC_LEN 8
#define SHOAL_TCPFRAME_VERSION 1
#define SHOAL_TCPFRAME_HEADER_LEN (SHOAL_TCPFRAME_MAGIC_LEN + 1 + 2)
#define SHOAL_TCPFRAME_LEN_BYTES 2
/*
 * The largest datagram a frame carries: the largest UDP payload over
 * IPv4, above anything shoal sends (its device's MTU plus ESP).
 */
#define SHOAL_TCPFRAME_MAX 65507

/* Receiving: the header (bridge side), then frames. */
struct shoal_tcpframe_rx {
	uint32_t max;		/* largest frame accepted */
	uint32_t have;		/* bytes of the partial unit in buf */
	bool header_done;
	uint8_t buf[SHOAL_TCPFRAME_LEN_BYTES + SHOAL_TCPFRAME_MAX];
};

/*
 * Starts a stream.  with_header: the stream opens with a header (the
 * bridge's side); max: the largest frame taken (0 or above
 * SHOAL_TCPFRAME_MAX: SHOAL_TCPFRAME_MAX).
 */
void shoal_tcpframe_rx_init(struct shoal_tcpframe_rx *rx, bool with_header,
			    uint32_t max);

/*
 * Takes the header from *data (*len bytes), advancing both past what it
 * consumed.  1: complete, *port set (the rest of *data is frames);
 * 0: more is needed (all of *data was taken); -EPROTO: not this
 * protocol (wrong magic, or a port of 0); -EPROTONOSUPPORT: another
 * version.  Refused means close the stream.
 */
int shoal_tcpframe_header(struct shoal_tcpframe_rx *rx, const uint8_t **data,
			  size_t *len, uint16_t *port);

/*
 * The next datagram from *data (*len bytes), advancing both past what it
 * consumed.  1: *frame, *frame_len hold one (valid until the next call:
 * it may point into *data or into rx); 0: more is needed (all of *data
 * was taken); -EMSGSIZE: a frame longer than the maximum; -EPROTO: an
 * empty frame, or the header not taken yet.  Refused means close.
 */
int shoal_tcpframe_next(struct shoal_tcpframe_rx *rx, const uint8_t **data,
			size_t *len, const uint8_t **frame, size_t *frame_len);

/* The header asking for port into out (SHOAL_TCPFRAME_HEADER_LEN). */
void shoal_tcpframe_put_header(uint8_t *out, uint16_t port);

/*
 * Sending: a queue of framed bytes, at most cap of them.  A frame that
 * does not fit is refused whole (the caller drops it: a datagram may be
 * lost, a stream must not buffer without bound).
 */
struct shoal_tcpframe_tx {
	uint8_t *buf;
	size_t cap, off, len;
};

int shoal_tcpframe_tx_init(struct shoal_tcpframe_tx *tx, size_t cap);
void shoal_tcpframe_tx_free(struct shoal_tcpframe_tx *tx);
/* Raw bytes (the header): 0, or -ENOBUFS. */
int shoal_tcpframe_tx_raw(struct shoal_tcpframe_tx *tx, const uint8_t *p,
			  size_t n);
/* One datagram as a frame: 0, -EMSGSIZE (too long or empty), -ENOBUFS. */
int shoal_tcpframe_tx_put(struct shoal_tcpframe_tx *tx, const uint8_t *dgram,
			  size_t n);
/* Bytes waiting to be sent, and where. */
size_t shoal_tcpframe_tx_pending(const struct shoal_tcpframe_tx *tx,
				 const uint8_t **p);
void shoal_tcpframe_tx_consumed(struct shoal_tcpframe_tx *tx, size_t n);
/* Room for a frame of n bytes now. */
bool shoal_tcpframe_tx_room(const struct shoal_tcpframe_tx *tx, size_t n);

#endif
