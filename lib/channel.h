/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CHANNEL_H
#define SHOAL_CHANNEL_H

/*
 * The mediator control channel's transport (docs/protocol.md, section
 * "Mediator control channel: transport"): Noise_IK_25519_ChaChaPoly_BLAKE2b
 * over a TCP stream, every message framed by a 2-byte big-endian length.
 * The client is the initiator and pins the server's static key; the server
 * learns the client's key from message 1.
 *
 * Nothing here touches a socket except the *_blocking helpers: the channel
 * is a state machine over byte buffers, so one epoll loop can drive
 * thousands of them.  Bytes read from the socket go in through
 * shoal_channel_input() (or, without a copy, shoal_channel_read_buf() and
 * shoal_channel_read_done()); decrypted messages come out of
 * shoal_channel_next(); shoal_channel_send() queues encrypted frames that
 * shoal_channel_pending() and shoal_channel_consumed() hand to write().
 *
 * Memory: sizeof(struct shoal_channel) (568 bytes on x86-64) always, plus
 * two heap buffers that exist only while they hold bytes.  Each starts at
 * SHOAL_CHANNEL_BUF_MIN (4 KiB) and grows to hold one whole frame (at most
 * 64 KiB + 2; on the receive side at most the receive limit, see
 * shoal_channel_set_recv_limit()), further only while messages wait
 * (queued output, or input() fed more before next() drained it), never
 * past SHOAL_CHANNEL_BUF_MAX (128 KiB + 4); drained, it is freed.  An
 * idle channel is just the struct.  Before the handshake ends the receive
 * buffer never grows: handshake frames have fixed sizes, so an
 * unauthenticated peer costs at most the struct + 4 KiB.
 *
 * Every function that fails sets errno: EPROTO (the peer broke the
 * protocol: bad frame, failed decryption, wrong version; close the
 * connection), EMSGSIZE (message too large), ENOTCONN (not established),
 * ENOBUFS (buffer full: backpressure), ENOMEM, EPIPE (the channel is
 * closed), EOVERFLOW (nonce exhausted; closes the channel), ETIMEDOUT and
 * ECONNRESET (the blocking helpers).  A protocol error or an exhausted
 * nonce closes the channel for good: every later call fails with EPIPE
 * and shoal_channel_pending() offers nothing more.
 *
 * Every channel that shoal_channel_client() or shoal_channel_server() set
 * up, successfully or not, must be released with shoal_channel_wipe().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define SHOAL_CHANNEL_VERSION 1
#define SHOAL_CHANNEL_PROLOGUE "shoal mediator v1"
/* A frame's length field and the longest frame body (a Noise message). */
#define SHOAL_CHANNEL_LEN_BYTES 2
#define SHOAL_CHANNEL_MAX_FRAME SHOAL_NOISE_MAX_MSG
/* The largest application message: one Noise message less its tag. */
#define SHOAL_CHANNEL_MAX_MSG (SHOAL_CHANNEL_MAX_FRAME - SHOAL_NOISE_TAGLEN)
/* IK message 1: e, s and tag, version byte and tag.  Message 2: e, version. */
#define SHOAL_CHANNEL_MSG1_LEN (32 + 32 + 16 + 1 + 16)
#define SHOAL_CHANNEL_MSG2_LEN (32 + 1 + 16)
#define SHOAL_CHANNEL_BUF_MIN 4096
#define SHOAL_CHANNEL_BUF_MAX \
	(2 * (SHOAL_CHANNEL_LEN_BYTES + SHOAL_CHANNEL_MAX_FRAME))

/* Visible so callers can embed it; every field is private. */
struct shoal_channel {
	uint8_t state;
	bool initiator;
	bool has_remote;
	bool confirmed;
	uint32_t recv_max_frame;	/* largest frame body accepted */
	struct shoal_noise_handshake hs;	/* only until Split() */
	struct shoal_noise_cipher tx, rx;
	uint8_t remote[SHOAL_NOISE_DHLEN];
	/*
	 * Receive buffer: [in_off, in_parsed) holds decrypted messages not
	 * yet taken by shoal_channel_next(), [in_parsed, in_len) the start
	 * of a frame still arriving.
	 */
	uint8_t *in;
	uint32_t in_cap, in_off, in_parsed, in_len;
	/* Send buffer: [out_off, out_len) waits for the socket. */
	uint8_t *out;
	uint32_t out_cap, out_off, out_len;
};

/*
 * Client: starts the handshake; message 1 is queued for sending at once.
 * 0, or -1 (the channel is then closed, e.g. server_pub is a low-order
 * point).  c need not be initialized.
 */
int shoal_channel_client(struct shoal_channel *c,
			 const uint8_t client_priv[SHOAL_NOISE_DHLEN],
			 const uint8_t server_pub[SHOAL_NOISE_DHLEN]);
/* Server: waits for message 1.  c need not be initialized. */
int shoal_channel_server(struct shoal_channel *c,
			 const uint8_t server_priv[SHOAL_NOISE_DHLEN]);

/*
 * The largest message this side accepts, SHOAL_CHANNEL_MAX_MSG by default:
 * a larger frame is refused (EPROTO) from its length field alone, before
 * any of it is buffered.  A server that expects only small requests uses
 * this to bound what each connection can make it allocate.
 */
int shoal_channel_set_recv_limit(struct shoal_channel *c, size_t max_msg);

/*
 * Feeds bytes read from the socket; every complete frame is processed at
 * once (handshake messages answered, transport messages decrypted in
 * place).  0, or -1: the caller closes the connection.  Call
 * shoal_channel_next() until it returns 0 between calls; then any len up
 * to 64 KiB fits (ENOBUFS otherwise).
 */
int shoal_channel_input(struct shoal_channel *c, const uint8_t *data,
			size_t len);
/*
 * The same without the copy: where to recv() into and how much room there
 * is (at least 1 once shoal_channel_next() has returned 0), then how many
 * bytes arrived.  The room is sized for the frame being received, so a
 * caller that reads only this much never holds more than one frame.  Call
 * shoal_channel_read_done() after every recv(), with 0 when it got
 * nothing (EAGAIN, EOF): that releases the buffer if it is still empty.
 */
int shoal_channel_read_buf(struct shoal_channel *c, uint8_t **buf,
			   size_t *room);
int shoal_channel_read_done(struct shoal_channel *c, size_t n);

/*
 * The next decrypted message: 1 with *msg and *len, 0 if none is complete
 * yet, -1 if the channel is closed.  *msg points into the receive buffer
 * and stays valid until c's next input, read_buf, read_done, next or wipe
 * call; sending leaves it alone, so a handler can reply while it parses.
 */
int shoal_channel_next(struct shoal_channel *c, const uint8_t **msg,
		       size_t *len);

/*
 * Queues one message (0 to SHOAL_CHANNEL_MAX_MSG bytes) once established.
 * -1 with ENOTCONN, EMSGSIZE, ENOBUFS (more than SHOAL_CHANNEL_BUF_MAX
 * would be waiting: the peer does not read; the channel stays usable),
 * EOVERFLOW (nonce exhausted: closed) or EPIPE (closed).
 */
int shoal_channel_send(struct shoal_channel *c, const uint8_t *msg,
		       size_t len);

/* Bytes waiting for the socket, and how many a (partial) write took. */
size_t shoal_channel_pending(const struct shoal_channel *c,
			     const uint8_t **data);
void shoal_channel_consumed(struct shoal_channel *c, size_t n);

/* True once both directions have keys (client: message 2 read). */
bool shoal_channel_established(const struct shoal_channel *c);
/*
 * True once the peer has proven it holds its static key in this session.
 * The client knows at message 2.  The server only once a transport
 * message from the client decrypts: message 1 can be replayed by anyone
 * who saw it, so a server must not act on the client's identity (say,
 * mark it online) before then.
 */
bool shoal_channel_peer_confirmed(const struct shoal_channel *c);
/* True after a protocol error, an exhausted nonce or a failed setup. */
bool shoal_channel_closed(const struct shoal_channel *c);

/*
 * The peer's static public key: the server learns it from message 1 (see
 * shoal_channel_peer_confirmed()), the client pinned it.  0, or -1.
 */
int shoal_channel_remote_key(const struct shoal_channel *c,
			     uint8_t key[SHOAL_NOISE_DHLEN]);

/*
 * The peer closed its end.  0 if the stream ended cleanly (established,
 * at a frame boundary), -1 with ECONNRESET if it was cut mid-frame or
 * mid-handshake.  Messages already complete stay readable.
 */
int shoal_channel_eof(const struct shoal_channel *c);

/* Zeroes keys and buffers (sodium_memzero) and frees the buffers. */
void shoal_channel_wipe(struct shoal_channel *c);

/*
 * For tests and the CLI: poll()-driven I/O on fd, blocking or not, each
 * call bounded by timeout_ms (negative: no limit).  0, or -1 with errno.
 */
int shoal_channel_handshake_blocking(struct shoal_channel *c, int fd,
				     int timeout_ms);
int shoal_channel_flush_blocking(struct shoal_channel *c, int fd,
				 int timeout_ms);
/* Queues msg and writes everything pending. */
int shoal_channel_send_blocking(struct shoal_channel *c, int fd,
				const uint8_t *msg, size_t len,
				int timeout_ms);
/* 1 with a message (as shoal_channel_next()), 0 at a clean EOF, or -1. */
int shoal_channel_recv_blocking(struct shoal_channel *c, int fd,
				const uint8_t **msg, size_t *len,
				int timeout_ms);

#endif
