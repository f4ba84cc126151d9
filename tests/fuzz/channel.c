// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the mediator channel (lib/channel.c): a genuine
 * client and server in memory, the fuzzer standing on the TCP stream
 * between them.  The input is a script: either side sends messages, the
 * bytes it queued are delivered in pieces of any size (through
 * shoal_channel_input() or read_buf()/read_done()), and on the way they
 * can be flipped, dropped, duplicated, or have bytes of the fuzzer's own
 * inserted: every step of both handshake messages and of the transport,
 * on both sides.
 *
 * What must hold whatever the script (check() aborts otherwise):
 *   - every message a side takes out is the next one its peer sent,
 *     byte for byte: nothing forged, reordered, replayed or cut, whatever
 *     happened to the stream;
 *   - a stream nobody touched never fails with a protocol error;
 *     undelivered messages all arrive once it is flushed;
 *   - a closed channel refuses everything (EPIPE) and offers nothing;
 *   - the buffers stay within SHOAL_CHANNEL_BUF_MAX, and within
 *     SHOAL_CHANNEL_BUF_MIN before the handshake ends;
 *   - the server learns the client's key, and counts it confirmed only
 *     once a transport message from it decrypted.
 *
 * Randomness (the Noise ephemeral keys) comes from a generator reset for
 * every input, so a crash input replays exactly.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"
#include "fuzz.h"
#include "rng.h"

static const uint8_t client_priv[32] = "fuzz: the client's static key..";
static const uint8_t server_priv[32] = "fuzz: the server's static key..";
static uint8_t client_pub[32], server_pub[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_rng_install() != 0 || sodium_init() < 0)
		abort();
	crypto_scalarmult_curve25519_base(client_pub, client_priv);
	crypto_scalarmult_curve25519_base(server_pub, server_priv);
	return 0;
}

/* ---- the two ends ---- */

#define MAX_MSGS 4096

struct end {
	struct shoal_channel ch;
	const char *name;
	/* Lengths of the messages this end sent; how many it received. */
	size_t sent_len[MAX_MSGS];
	unsigned int n_sent, n_received;
	/* Someone touched the stream towards this end. */
	bool tainted;
	/* This end refuses messages larger than limit, if has_limit. */
	bool has_limit;
	size_t limit;
	/* A message over the limit went towards it. */
	bool over_limit_sent;
	uint8_t dir;
};

static struct end client, server;

static struct end *peer_of(const struct end *e)
{
	return e == &client ? &server : &client;
}

/* Byte j of message i from the end whose dir is d. */
static uint8_t msg_byte(uint8_t d, unsigned int i, size_t j)
{
	return (uint8_t)(d * 131 + i * 31 + j * 7 + (j >> 8));
}

static bool closed(const struct end *e)
{
	return shoal_channel_closed(&e->ch);
}

static void check_bounds(const struct end *e)
{
	check(e->ch.in_cap <= SHOAL_CHANNEL_BUF_MAX &&
	      e->ch.out_cap <= SHOAL_CHANNEL_BUF_MAX);
	/*
	 * An unauthenticated peer costs at most the struct and 4 KiB.  (A
	 * closed channel keeps the buffers it had, handshake over or not.)
	 */
	if (!shoal_channel_established(&e->ch) && !closed(e))
		check(e->ch.in_cap <= SHOAL_CHANNEL_BUF_MIN);
}

/* A closed channel refuses every call and offers nothing. */
static void check_closed(struct end *e)
{
	const uint8_t *msg;
	uint8_t *buf;
	size_t len;

	if (!closed(e))
		return;
	check(!shoal_channel_established(&e->ch) &&
	      !shoal_channel_peer_confirmed(&e->ch));
	check(shoal_channel_pending(&e->ch, &msg) == 0 && !msg);
	errno = 0;
	check(shoal_channel_next(&e->ch, &msg, &len) < 0 && errno == EPIPE);
	errno = 0;
	check(shoal_channel_input(&e->ch, (const uint8_t *)"x", 1) < 0 &&
	      errno == EPIPE);
	errno = 0;
	check(shoal_channel_send(&e->ch, (const uint8_t *)"x", 1) < 0 &&
	      errno == EPIPE);
	errno = 0;
	check(shoal_channel_read_buf(&e->ch, &buf, &len) < 0 &&
	      errno == EPIPE && !buf && !len);
	check(shoal_channel_eof(&e->ch) < 0);
}

/* Takes every complete message out of e and compares it with the sent. */
static void drain(struct end *e)
{
	const struct end *from = peer_of(e);
	const uint8_t *msg;
	size_t len, j;
	int ret;

	if (closed(e))
		return;
	while ((ret = shoal_channel_next(&e->ch, &msg, &len)) == 1) {
		check(e->n_received < from->n_sent);
		check(len == from->sent_len[e->n_received]);
		for (j = 0; j < len; j++)
			check(msg[j] == msg_byte(from->dir, e->n_received, j));
		if (e->has_limit)
			check(len <= e->limit);
		e->n_received++;
	}
	check(ret == 0);
	/* The server knows who the client is once a message decrypted. */
	if (e == &server && e->n_received)
		check(shoal_channel_peer_confirmed(&e->ch));
}

/*
 * What a failed input() or read_done() may mean: on a stream nobody
 * touched, only backpressure (messages not taken out) or a message over
 * the receiver's limit, never a protocol error.
 */
static void input_failed(struct end *e, int err)
{
	check(closed(e));
	if (!e->tainted && !e->over_limit_sent)
		check(err == ENOBUFS);
}

/*
 * Gives e the bytes, by input() or by read_buf() and read_done(), and
 * returns how many it took: read_buf() may have no room left for the
 * rest (backpressure), which then stay on the wire.
 */
static size_t feed(struct end *e, const uint8_t *p, size_t n, bool zero_copy)
{
	size_t room, k, took = 0;
	uint8_t *buf;

	if (closed(e))
		return n;
	if (!zero_copy) {
		if (shoal_channel_input(&e->ch, p, n) < 0)
			input_failed(e, errno);
		return n;
	}
	while (took < n) {
		if (shoal_channel_read_buf(&e->ch, &buf, &room) < 0) {
			/* Before any byte is read: the channel stays usable. */
			check(errno == ENOBUFS && !closed(e));
			return took;
		}
		check(buf && room > 0);
		k = n - took < room ? n - took : room;
		memcpy(buf, p + took, k);
		took += k;
		if (shoal_channel_read_done(&e->ch, k) < 0) {
			input_failed(e, errno);
			return n;
		}
	}
	return took;
}

/* Sends message n_sent of length len from e. */
static void send_msg(struct end *e, size_t len)
{
	static uint8_t msg[SHOAL_CHANNEL_MAX_MSG + 1];
	size_t j;
	int ret;

	if (e->n_sent == MAX_MSGS)
		return;
	for (j = 0; j < len; j++)
		msg[j] = msg_byte(e->dir, e->n_sent, j);
	errno = 0;
	ret = shoal_channel_send(&e->ch, msg, len);
	if (ret < 0) {
		if (closed(e)) {
			check(errno == EPIPE);
			return;
		}
		/* The refusals that leave the channel as it was. */
		check((errno == ENOTCONN && !shoal_channel_established(&e->ch)) ||
		      (errno == EMSGSIZE && len > SHOAL_CHANNEL_MAX_MSG) ||
		      errno == ENOBUFS);
		return;
	}
	check(shoal_channel_established(&e->ch) &&
	      len <= SHOAL_CHANNEL_MAX_MSG);
	if (peer_of(e)->has_limit && len > peer_of(e)->limit)
		peer_of(e)->over_limit_sent = true;
	e->sent_len[e->n_sent++] = len;
}

/* Moves up to n bytes (0: all) of what from queued towards its peer. */
static void deliver(struct end *from, size_t n, bool zero_copy, bool keep)
{
	struct end *to = peer_of(from);
	const uint8_t *p;
	size_t avail = shoal_channel_pending(&from->ch, &p);

	if (!avail)
		return;
	if (!n || n > avail)
		n = avail;
	if (keep)
		to->tainted = true;	/* the same bytes will come again */
	n = feed(to, p, n, zero_copy);
	if (!keep)
		shoal_channel_consumed(&from->ch, n);
}

/* Flips bits of one byte queued in from, as if on the wire. */
static void flip(struct end *from, size_t off, uint8_t bits)
{
	const uint8_t *p;
	size_t avail = shoal_channel_pending(&from->ch, &p);

	if (!avail || !bits)
		return;
	/* The bytes are the channel's: the fuzzer owns the wire, not them. */
	((uint8_t *)p)[off % avail] ^= bits;
	peer_of(from)->tainted = true;
}

static void drop(struct end *from, size_t n)
{
	const uint8_t *p;

	if (shoal_channel_pending(&from->ch, &p) && n) {
		shoal_channel_consumed(&from->ch, n);
		peer_of(from)->tainted = true;
	}
}

/* Every byte both ways until nothing moves, every message taken out. */
static void flush(void)
{
	const uint8_t *p;
	int rounds;

	for (rounds = 0; rounds < 8; rounds++) {
		drain(&client);
		drain(&server);
		if (!shoal_channel_pending(&client.ch, &p) &&
		    !shoal_channel_pending(&server.ch, &p))
			break;
		deliver(&client, 0, false, false);
		drain(&server);
		deliver(&server, 0, false, false);
	}
	drain(&client);
	drain(&server);
}

static size_t msg_len(uint8_t a)
{
	static const size_t big[] = {
		1000, 4096, 20000, SHOAL_CHANNEL_MAX_MSG - 1,
		SHOAL_CHANNEL_MAX_MSG, SHOAL_CHANNEL_MAX_MSG + 1,
	};

	return a < 250 ? a : big[a - 250];
}

enum op {
	OP_SEND_C, OP_SEND_S, OP_DELIVER_C, OP_DELIVER_S, OP_ZC_C, OP_ZC_S,
	OP_FLIP_C, OP_FLIP_S, OP_INJECT_S, OP_INJECT_C, OP_DROP_C, OP_DROP_S,
	OP_DUP_C, OP_DUP_S, OP_DRAIN, OP_LIMIT_S, OP_EOF, OP_COUNT
};

/* The argument bytes each op takes. */
static const uint8_t op_args[OP_COUNT] = {
	[OP_SEND_C] = 1, [OP_SEND_S] = 1, [OP_DELIVER_C] = 2,
	[OP_DELIVER_S] = 2, [OP_ZC_C] = 2, [OP_ZC_S] = 2, [OP_FLIP_C] = 3,
	[OP_FLIP_S] = 3, [OP_INJECT_S] = 1, [OP_INJECT_C] = 1,
	[OP_DROP_C] = 1, [OP_DROP_S] = 1, [OP_DUP_C] = 1, [OP_DUP_S] = 1,
	[OP_LIMIT_S] = 1,
};

static void check_eof(struct end *e)
{
	if (closed(e))
		return;
	if (shoal_channel_eof(&e->ch) == 0)
		check(shoal_channel_established(&e->ch));
	else
		check(errno == ECONNRESET);
}

static void run(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *arg;
	unsigned int n;
	size_t len;
	uint8_t op;

	while (p < end) {
		op = *p++ % OP_COUNT;
		if ((size_t)(end - p) < op_args[op])
			break;
		/* The first argument: one byte, or two (big-endian). */
		arg = p;
		n = op_args[op] >= 2 ? (unsigned int)(arg[0] << 8 | arg[1]) :
		    op_args[op] ? arg[0] : 0;
		p += op_args[op];
		switch ((enum op)op) {
		case OP_SEND_C:
		case OP_SEND_S:
			send_msg(op == OP_SEND_C ? &client : &server,
				 msg_len((uint8_t)n));
			break;
		case OP_DELIVER_C:
		case OP_DELIVER_S:
			deliver(op == OP_DELIVER_C ? &client : &server, n,
				false, false);
			break;
		case OP_ZC_C:
		case OP_ZC_S:
			deliver(op == OP_ZC_C ? &client : &server, n, true,
				false);
			break;
		case OP_FLIP_C:
		case OP_FLIP_S:
			/* Two bytes of offset, then the bits to flip. */
			flip(op == OP_FLIP_C ? &client : &server, n, arg[2]);
			break;
		case OP_INJECT_S:
		case OP_INJECT_C:
			len = n < (size_t)(end - p) ? n : (size_t)(end - p);
			peer_of(op == OP_INJECT_S ? &client : &server)->tainted =
				true;
			feed(op == OP_INJECT_S ? &server : &client, p, len,
			     false);
			p += len;
			break;
		case OP_DROP_C:
		case OP_DROP_S:
			drop(op == OP_DROP_C ? &client : &server, n);
			break;
		case OP_DUP_C:
		case OP_DUP_S:
			deliver(op == OP_DUP_C ? &client : &server, n, false,
				true);
			break;
		case OP_DRAIN:
			drain(&client);
			drain(&server);
			break;
		case OP_LIMIT_S:
			/* Only before the first message: it is a set-up call. */
			if (!server.n_received && !client.n_sent &&
			    shoal_channel_set_recv_limit(&server.ch,
							 n * 256) == 0) {
				server.has_limit = true;
				server.limit = n * 256;
			}
			break;
		case OP_EOF:
			check_eof(&client);
			check_eof(&server);
			break;
		case OP_COUNT:
			break;
		}
		check_bounds(&client);
		check_bounds(&server);
		check_closed(&client);
		check_closed(&server);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[32];

	fuzz_rng_seed(0x5ea1);
	memset(&client, 0, sizeof(client));
	memset(&server, 0, sizeof(server));
	client.name = "client";
	server.name = "server";
	client.dir = 1;
	server.dir = 2;
	check(shoal_channel_client(&client.ch, client_priv, server_pub) == 0);
	check(shoal_channel_server(&server.ch, server_priv) == 0);

	run(data, data + size);

	/* Whatever is still on its way arrives, unless someone meddled. */
	flush();
	if (!closed(&client) && !closed(&server) && !client.tainted &&
	    !server.tainted) {
		check(client.n_received == server.n_sent &&
		      server.n_received == client.n_sent);
		check(shoal_channel_established(&client.ch) &&
		      shoal_channel_established(&server.ch));
	}
	if (shoal_channel_established(&server.ch)) {
		check(shoal_channel_remote_key(&server.ch, key) == 0 &&
		      !memcmp(key, client_pub, 32));
		check(!shoal_channel_peer_confirmed(&server.ch) ||
		      client.n_sent > 0);
	}
	if (shoal_channel_established(&client.ch))
		check(shoal_channel_peer_confirmed(&client.ch));
	check(shoal_channel_remote_key(&client.ch, key) == 0 &&
	      !memcmp(key, server_pub, 32));
	shoal_channel_wipe(&client.ch);
	shoal_channel_wipe(&server.ch);
	return 0;
}
