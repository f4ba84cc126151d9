// SPDX-License-Identifier: MIT
/*
 * The mediator control channel's transport: the handshake, framing over a
 * real stream (in large chunks and byte by byte), limits, backpressure and
 * hostile input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "channel.h"
#include "key.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define LB SHOAL_CHANNEL_LEN_BYTES
/* size_t, so the harness compares them with sizes without a warning. */
#define FRAME(len) ((size_t)(LB + (len) + SHOAL_NOISE_TAGLEN))
#define HS1 ((size_t)(LB + SHOAL_CHANNEL_MSG1_LEN))
#define HS2 ((size_t)(LB + SHOAL_CHANNEL_MSG2_LEN))

struct keys {
	uint8_t cpriv[32], cpub[32], spriv[32], spub[32];
};

static void make_keys(struct keys *k)
{
	shoal_key_generate(k->cpriv);
	shoal_key_public(k->cpub, k->cpriv);
	shoal_key_generate(k->spriv);
	shoal_key_public(k->spub, k->spriv);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Message idx of direction dir (0: client to server) is reproducible from
 * those two numbers, so the receiver checks it without a copy.  The first
 * two are the extremes: empty and as large as allowed.
 */
static size_t msg_len(int dir, unsigned int idx, size_t max)
{
	if (idx == 0)
		return 0;
	if (idx == 1)
		return SHOAL_CHANNEL_MAX_MSG;
	return splitmix((uint64_t)dir << 32 | idx) % (max + 1);
}

static uint8_t msg_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + i * 131 + (i >> 8));
}

static uint8_t msg_seed(int dir, unsigned int idx)
{
	return (uint8_t)splitmix(~((uint64_t)dir << 32 | idx));
}

static void msg_fill(uint8_t *p, size_t len, int dir, unsigned int idx)
{
	uint8_t seed = msg_seed(dir, idx);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = msg_byte(seed, i);
}

static bool msg_ok(const uint8_t *p, size_t len, int dir, unsigned int idx,
		   size_t max)
{
	uint8_t seed = msg_seed(dir, idx);
	size_t i;

	if (len != msg_len(dir, idx, max))
		return false;
	for (i = 0; i < len; i++)
		if (p[i] != msg_byte(seed, i))
			return false;
	return true;
}

/*
 * Moves from's pending output into to's input, step bytes per call (0:
 * all of it at once).  Returns what input() returned.
 */
static int pump(struct shoal_channel *from, struct shoal_channel *to,
		size_t step)
{
	const uint8_t *p;
	size_t n;
	int ret;

	while ((n = shoal_channel_pending(from, &p))) {
		if (step && n > step)
			n = step;
		ret = shoal_channel_input(to, p, n);
		shoal_channel_consumed(from, n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Copies out what from would write, without consuming it. */
static size_t peek(const struct shoal_channel *from, uint8_t *buf,
		   size_t size)
{
	const uint8_t *p;
	size_t n = shoal_channel_pending(from, &p);

	if (n > size)
		abort();
	memcpy(buf, p, n);
	return n;
}

static uint8_t big[SHOAL_CHANNEL_MAX_MSG + 1];

FIXTURE(pair) {
	struct keys k;
	struct shoal_channel c, s;
};

FIXTURE_SETUP(pair)
{
	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&self->k);
	ASSERT_EQ(0, shoal_channel_client(&self->c, self->k.cpriv,
					  self->k.spub));
	ASSERT_EQ(0, shoal_channel_server(&self->s, self->k.spriv));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(0, pump(&self->s, &self->c, 0));
	ASSERT_TRUE(shoal_channel_established(&self->c));
	ASSERT_TRUE(shoal_channel_established(&self->s));
}

FIXTURE_TEARDOWN(pair)
{
	shoal_channel_wipe(&self->c);
	shoal_channel_wipe(&self->s);
}

TEST(handshake_step_by_step)
{
	struct shoal_channel c, s;
	struct keys k;
	const uint8_t *p, *m;
	uint8_t key[32];
	size_t len;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(0u, shoal_channel_pending(&s, &p));
	EXPECT_EQ(-1, shoal_channel_remote_key(&s, key));
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));

	/* Message 1: framed, exactly as docs/protocol.md sizes it. */
	ASSERT_EQ(HS1, shoal_channel_pending(&c, &p));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(SHOAL_CHANNEL_MSG1_LEN, p[1]);
	EXPECT_FALSE(shoal_channel_established(&c));
	EXPECT_EQ(0, shoal_channel_next(&c, &m, &len));

	ASSERT_EQ(0, pump(&c, &s, 0));
	EXPECT_TRUE(shoal_channel_established(&s));
	EXPECT_FALSE(shoal_channel_peer_confirmed(&s));
	ASSERT_EQ(0, shoal_channel_remote_key(&s, key));
	EXPECT_EQ(0, memcmp(key, k.cpub, 32));
	ASSERT_EQ(HS2, shoal_channel_pending(&s, &p));
	EXPECT_EQ(SHOAL_CHANNEL_MSG2_LEN, p[1]);

	/* The server may speak first; it rides behind message 2. */
	ASSERT_EQ(0, shoal_channel_send(&s, (const uint8_t *)"hi", 2));
	ASSERT_EQ(HS2 + FRAME(2), shoal_channel_pending(&s, &p));
	ASSERT_EQ(0, pump(&s, &c, 0));
	EXPECT_TRUE(shoal_channel_established(&c));
	EXPECT_TRUE(shoal_channel_peer_confirmed(&c));
	ASSERT_EQ(0, shoal_channel_remote_key(&c, key));
	EXPECT_EQ(0, memcmp(key, k.spub, 32));
	ASSERT_EQ(1, shoal_channel_next(&c, &m, &len));
	ASSERT_EQ(2u, len);
	EXPECT_EQ(0, memcmp(m, "hi", 2));
	EXPECT_EQ(0, shoal_channel_next(&c, &m, &len));

	/* Only a transport message proves the client is live, not replayed. */
	ASSERT_EQ(0, shoal_channel_send(&c, (const uint8_t *)"hello", 5));
	ASSERT_EQ(FRAME(5), shoal_channel_pending(&c, &p));
	ASSERT_EQ(0, pump(&c, &s, 0));
	EXPECT_TRUE(shoal_channel_peer_confirmed(&s));
	ASSERT_EQ(1, shoal_channel_next(&s, &m, &len));
	ASSERT_EQ(5u, len);
	EXPECT_EQ(0, memcmp(m, "hello", 5));
	EXPECT_EQ(0, shoal_channel_eof(&s));

	/* Drained channels hold no buffers. */
	EXPECT_EQ(0, shoal_channel_next(&s, &m, &len));
	EXPECT_EQ(NULL, s.in);
	EXPECT_EQ(NULL, s.out);
	EXPECT_EQ(NULL, c.in);
	EXPECT_EQ(NULL, c.out);
	TH_LOG("sizeof(struct shoal_channel) = %zu", sizeof(c));
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);
}

/* ---- a real stream: both directions, every size, nonblocking ---- */

struct end {
	struct shoal_channel ch;
	int fd;
	int dir;		/* the direction this end sends */
	unsigned int sent, got;
	size_t read_step;	/* bytes per recv(); 0: as many as fit */
	bool zero_copy;		/* read_buf()/read_done(), not input() */
	bool byte_input;	/* input() one byte at a time */
	size_t max_in_cap, max_pending;
	unsigned int full;	/* times send() pushed back */
};

struct run {
	unsigned int n;		/* messages each way */
	size_t max;		/* largest random size */
};

static uint8_t msgbuf[SHOAL_CHANNEL_MAX_MSG];
static uint8_t chunk[65536];

static int end_queue(struct __test_metadata *_metadata, struct end *e,
		     const struct run *r)
{
	const uint8_t *p;
	int progress = 0;
	size_t len;

	if (!shoal_channel_established(&e->ch))
		return 0;
	while (e->sent < r->n) {
		len = msg_len(e->dir, e->sent, r->max);
		msg_fill(msgbuf, len, e->dir, e->sent);
		if (shoal_channel_send(&e->ch, msgbuf, len)) {
			/* Backpressure only: the channel is still fine. */
			EXPECT_EQ(ENOBUFS, errno);
			EXPECT_TRUE(shoal_channel_established(&e->ch));
			e->full++;
			break;
		}
		e->sent++;
		progress = 1;
	}
	len = shoal_channel_pending(&e->ch, &p);
	if (len > e->max_pending)
		e->max_pending = len;
	return progress;
}

static int end_write(struct __test_metadata *_metadata, struct end *e)
{
	const uint8_t *p;
	int progress = 0;
	size_t n;
	ssize_t w;

	while ((n = shoal_channel_pending(&e->ch, &p))) {
		w = send(e->fd, p, n, MSG_DONTWAIT);
		if (w < 0) {
			EXPECT_EQ(EAGAIN, errno);
			break;
		}
		shoal_channel_consumed(&e->ch, (size_t)w);
		progress = 1;
	}
	return progress;
}

static int end_read(struct __test_metadata *_metadata, struct end *e,
		    const struct run *r)
{
	const uint8_t *m;
	int progress = 0, ret;
	uint8_t *buf;
	size_t room, len, i;
	ssize_t got;

	for (;;) {
		if (e->zero_copy) {
			ASSERT_EQ(0, shoal_channel_read_buf(&e->ch, &buf,
							    &room));
			ASSERT_LT(0u, room);
			if (e->read_step && room > e->read_step)
				room = e->read_step;
			got = recv(e->fd, buf, room, MSG_DONTWAIT);
			/* Also after EAGAIN: an empty buffer is let go. */
			room = got > 0 ? (size_t)got : 0;
			ASSERT_EQ(0, shoal_channel_read_done(&e->ch, room));
		} else {
			room = e->read_step ? e->read_step : sizeof(chunk);
			got = recv(e->fd, chunk, room, MSG_DONTWAIT);
			for (i = 0; e->byte_input && got > 0 &&
				    i < (size_t)got; i++)
				ASSERT_EQ(0, shoal_channel_input(&e->ch,
								 chunk + i, 1));
			if (!e->byte_input && got > 0)
				ASSERT_EQ(0, shoal_channel_input(&e->ch, chunk,
								 (size_t)got));
		}
		if (got < 0) {
			ASSERT_EQ(EAGAIN, errno);
			return progress;
		}
		ASSERT_LT(0, got);
		progress = 1;
		if (e->ch.in_cap > e->max_in_cap)
			e->max_in_cap = e->ch.in_cap;
		while ((ret = shoal_channel_next(&e->ch, &m, &len)) == 1) {
			ASSERT_LT(e->got, r->n);
			ASSERT_TRUE(msg_ok(m, len, !e->dir, e->got, r->max))
				TH_LOG("message %u of direction %d", e->got,
				       !e->dir);
			e->got++;
		}
		ASSERT_EQ(0, ret);
	}
}

/*
 * Only for TEST_F_TIMEOUT: these may run past the default 30 s on a slow
 * machine under ASan.
 */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* One thread drives both ends, as one epoll loop would drive many. */
static void exchange(struct __test_metadata *_metadata, struct end *c,
		     struct end *s, const struct run *r)
{
	struct keys k;
	uint8_t key[32];
	int sv[2], idle = 0, progress;

	make_keys(&k);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	c->fd = sv[0];
	s->fd = sv[1];
	c->dir = 0;
	s->dir = 1;
	ASSERT_EQ(0, shoal_channel_client(&c->ch, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_server(&s->ch, k.spriv));
	while (c->got < r->n || s->got < r->n) {
		progress = end_queue(_metadata, c, r);
		progress |= end_queue(_metadata, s, r);
		progress |= end_write(_metadata, c);
		progress |= end_write(_metadata, s);
		progress |= end_read(_metadata, c, r);
		progress |= end_read(_metadata, s, r);
		idle = progress ? 0 : idle + 1;
		ASSERT_LT(idle, 1000);
	}
	ASSERT_EQ(0, shoal_channel_remote_key(&s->ch, key));
	EXPECT_EQ(0, memcmp(key, k.cpub, 32));
	EXPECT_EQ(0, shoal_channel_eof(&c->ch));
	EXPECT_EQ(0, shoal_channel_eof(&s->ch));
	/* All drained: nothing is held between messages. */
	EXPECT_EQ(NULL, c->ch.in);
	EXPECT_EQ(NULL, s->ch.in);
	EXPECT_EQ(NULL, c->ch.out);
	EXPECT_EQ(NULL, s->ch.out);
	EXPECT_GE((size_t)SHOAL_CHANNEL_BUF_MAX, c->max_pending);
	EXPECT_GE((size_t)SHOAL_CHANNEL_BUF_MAX, s->max_pending);
	TH_LOG("%u messages each way; send() pushed back %u and %u times; "
	       "largest receive buffers %zu and %zu", r->n, c->full, s->full,
	       c->max_in_cap, s->max_in_cap);
	shoal_channel_wipe(&c->ch);
	shoal_channel_wipe(&s->ch);
	close(sv[0]);
	close(sv[1]);
}

TEST_F_TIMEOUT(slow, many_messages_both_ways, 120)
{
	struct end c = { .zero_copy = true }, s = { 0 };
	const struct run r = { .n = 10000, .max = SHOAL_CHANNEL_MAX_MSG };

	ASSERT_EQ(0, sodium_init() < 0);
	exchange(_metadata, &c, &s, &r);
	/* Reading only the room offered never grows past one frame. */
	EXPECT_GE((size_t)(LB + SHOAL_CHANNEL_MAX_FRAME), c.max_in_cap);
	EXPECT_GE((size_t)SHOAL_CHANNEL_BUF_MAX, s.max_in_cap);
	/* Nobody read for a while: the queue filled and pushed back. */
	EXPECT_LT(0u, c.full + s.full);
}

TEST_F_TIMEOUT(slow, byte_at_a_time, 120)
{
	/*
	 * One end reads the socket a byte per recv(), the other feeds
	 * input() a byte per call.
	 */
	struct end c = { .zero_copy = true, .read_step = 1 };
	struct end s = { .byte_input = true };
	const struct run r = { .n = 300, .max = 2000 };

	ASSERT_EQ(0, sodium_init() < 0);
	exchange(_metadata, &c, &s, &r);
}

TEST(input_chunks_of_every_size)
{
	struct shoal_channel c, s;
	const uint8_t *m;
	unsigned int i, got = 0;
	size_t step, len;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	for (step = 1; step <= 130; step++) {
		ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
		ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
		ASSERT_EQ(0, pump(&c, &s, step));
		ASSERT_EQ(0, pump(&s, &c, step));
		for (i = 0; i < 20; i++) {
			len = msg_len(0, i, 200);
			msg_fill(msgbuf, len, 0, i);
			ASSERT_EQ(0, shoal_channel_send(&c, msgbuf, len));
		}
		ASSERT_EQ(0, pump(&c, &s, step));
		for (got = 0; shoal_channel_next(&s, &m, &len) == 1; got++)
			ASSERT_TRUE(msg_ok(m, len, 0, got, 200));
		EXPECT_EQ(20u, got);
		shoal_channel_wipe(&c);
		shoal_channel_wipe(&s);
	}
}

/* ---- the handshake refuses ---- */

TEST(wrong_server_key_pinned)
{
	struct shoal_channel c, s;
	uint8_t other[32], other_pub[32], key[32];
	const uint8_t *m;
	size_t len;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	shoal_key_generate(other);
	shoal_key_public(other_pub, other);
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, other_pub));
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, pump(&c, &s, 0));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_TRUE(shoal_channel_closed(&s));
	EXPECT_FALSE(shoal_channel_established(&s));
	/* Nothing authenticated the key, so none is reported. */
	EXPECT_EQ(-1, shoal_channel_remote_key(&s, key));
	EXPECT_EQ(0u, shoal_channel_pending(&s, &m));
	EXPECT_EQ(-1, shoal_channel_next(&s, &m, &len));
	EXPECT_EQ(-1, shoal_channel_input(&s, (const uint8_t *)"x", 1));
	EXPECT_EQ(EPIPE, errno);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);
}

TEST(low_order_server_key)
{
	static const uint8_t zero[32];
	struct shoal_channel c;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	EXPECT_EQ(-1, shoal_channel_client(&c, k.cpriv, zero));
	EXPECT_TRUE(shoal_channel_closed(&c));
	shoal_channel_wipe(&c);
}

/* Message 1 written by hand with the Noise API: any payload, prologue. */
static size_t craft_msg1(uint8_t *out, size_t size, const struct keys *k,
			 const char *prologue, const uint8_t *payload,
			 size_t payload_len)
{
	struct shoal_noise_handshake hs;
	size_t n;

	if (shoal_noise_handshake_init(&hs, SHOAL_NOISE_IK, true,
				       (const uint8_t *)prologue,
				       strlen(prologue), k->cpriv, NULL,
				       k->spub, NULL) ||
	    shoal_noise_write_message(&hs, payload, payload_len, out + LB,
				      size - LB, &n))
		abort();
	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	shoal_noise_handshake_wipe(&hs);
	return LB + n;
}

TEST(server_refuses_other_versions)
{
	static const uint8_t v2[] = { 2 }, v0[] = { 0 }, v1_more[] = { 1, 0 };
	uint8_t buf[256], key[32];
	struct shoal_channel s;
	struct keys k;
	size_t n;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);

	/* The control: the hand-made message 1 is right. */
	n = craft_msg1(buf, sizeof(buf), &k, SHOAL_CHANNEL_PROLOGUE,
		       (const uint8_t *)"\x01", 1);
	ASSERT_EQ(HS1, n);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(0, shoal_channel_input(&s, buf, n));
	EXPECT_TRUE(shoal_channel_established(&s));
	shoal_channel_wipe(&s);

	n = craft_msg1(buf, sizeof(buf), &k, SHOAL_CHANNEL_PROLOGUE, v2, 1);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, buf, n));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_TRUE(shoal_channel_closed(&s));
	/* Authentic, just refused: the key is there to log. */
	EXPECT_EQ(0, shoal_channel_remote_key(&s, key));
	EXPECT_EQ(0, memcmp(key, k.cpub, 32));
	shoal_channel_wipe(&s);

	n = craft_msg1(buf, sizeof(buf), &k, SHOAL_CHANNEL_PROLOGUE, v0, 1);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, buf, n));
	shoal_channel_wipe(&s);

	/* A longer or empty payload is refused by the length alone. */
	n = craft_msg1(buf, sizeof(buf), &k, SHOAL_CHANNEL_PROLOGUE, v1_more,
		       2);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, buf, LB));
	EXPECT_EQ(EPROTO, errno);
	shoal_channel_wipe(&s);
	n = craft_msg1(buf, sizeof(buf), &k, SHOAL_CHANNEL_PROLOGUE, NULL, 0);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, buf, n));
	shoal_channel_wipe(&s);

	/* Another prologue is another protocol. */
	n = craft_msg1(buf, sizeof(buf), &k, "shoal mediator v2",
		       (const uint8_t *)"\x01", 1);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, buf, n));
	EXPECT_EQ(-1, shoal_channel_remote_key(&s, key));
	shoal_channel_wipe(&s);
}

TEST(client_refuses_other_versions)
{
	static const uint8_t versions[] = { 1, 2, 0, 255 };
	struct shoal_noise_handshake hs;
	struct shoal_channel c;
	uint8_t m1[HS1], m2[HS2], payload[8];
	size_t n, i;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	for (i = 0; i < sizeof(versions); i++) {
		ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
		ASSERT_EQ(HS1, peek(&c, m1, sizeof(m1)));
		ASSERT_EQ(0, shoal_noise_handshake_init(
				     &hs, SHOAL_NOISE_IK, false,
				     (const uint8_t *)SHOAL_CHANNEL_PROLOGUE,
				     strlen(SHOAL_CHANNEL_PROLOGUE), k.spriv,
				     NULL, NULL, NULL));
		ASSERT_EQ(0, shoal_noise_read_message(&hs, m1 + LB,
						      SHOAL_CHANNEL_MSG1_LEN,
						      payload, sizeof(payload),
						      &n));
		ASSERT_EQ(1u, n);
		EXPECT_EQ(SHOAL_CHANNEL_VERSION, payload[0]);
		ASSERT_EQ(0, shoal_noise_write_message(&hs, &versions[i], 1,
						       m2 + LB,
						       sizeof(m2) - LB, &n));
		ASSERT_EQ((size_t)SHOAL_CHANNEL_MSG2_LEN, n);
		m2[0] = 0;
		m2[1] = (uint8_t)n;
		if (versions[i] == SHOAL_CHANNEL_VERSION) {
			EXPECT_EQ(0, shoal_channel_input(&c, m2, sizeof(m2)));
			EXPECT_TRUE(shoal_channel_established(&c));
		} else {
			EXPECT_EQ(-1, shoal_channel_input(&c, m2, sizeof(m2)));
			EXPECT_EQ(EPROTO, errno);
			EXPECT_TRUE(shoal_channel_closed(&c));
		}
		shoal_noise_handshake_wipe(&hs);
		shoal_channel_wipe(&c);
	}
}

TEST(nothing_before_the_handshake_ends)
{
	struct shoal_channel c, s;
	struct keys k;
	uint8_t frame[FRAME(4)] = { 0, 20 };

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_send(&c, (const uint8_t *)"ab", 2));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shoal_channel_send(&s, (const uint8_t *)"ab", 2));
	EXPECT_EQ(ENOTCONN, errno);
	/* Refused, and neither channel broke for it. */
	EXPECT_FALSE(shoal_channel_closed(&c));
	EXPECT_FALSE(shoal_channel_closed(&s));
	EXPECT_EQ(-1, shoal_channel_eof(&s));
	EXPECT_EQ(ECONNRESET, errno);

	/* A transport-sized frame where message 1 belongs. */
	EXPECT_EQ(-1, shoal_channel_input(&s, frame, sizeof(frame)));
	EXPECT_EQ(EPROTO, errno);
	/* And where message 2 belongs. */
	EXPECT_EQ(-1, shoal_channel_input(&c, frame, sizeof(frame)));
	EXPECT_EQ(EPROTO, errno);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);
}

TEST(truncated_handshake)
{
	struct shoal_channel c, s;
	const uint8_t *p;
	size_t n;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	n = shoal_channel_pending(&c, &p);
	ASSERT_EQ(0, shoal_channel_input(&s, p, n - 1));
	EXPECT_FALSE(shoal_channel_established(&s));
	EXPECT_EQ(-1, shoal_channel_eof(&s));
	EXPECT_EQ(ECONNRESET, errno);
	/* The receive buffer never grew for an unauthenticated peer. */
	EXPECT_GE(SHOAL_CHANNEL_BUF_MIN + 0u, s.in_cap);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);
}

/* ---- framing ---- */

TEST(frame_lengths_refused)
{
	static const uint8_t zero[2] = { 0, 0 }, huge[2] = { 0xff, 0xff };
	struct shoal_channel s;
	struct keys k;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	/* Before the handshake: judged by the two length bytes alone. */
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(-1, shoal_channel_input(&s, zero, 2));
	EXPECT_EQ(EPROTO, errno);
	shoal_channel_wipe(&s);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	EXPECT_EQ(0, shoal_channel_input(&s, huge, 1));
	EXPECT_EQ(-1, shoal_channel_input(&s, huge + 1, 1));
	EXPECT_EQ(EPROTO, errno);
	shoal_channel_wipe(&s);
}

TEST_F(pair, frame_lengths_refused_established)
{
	static const uint8_t zero[2] = { 0, 0 }, short_[2] = { 0, 15 };
	struct shoal_channel *c = &self->c, *s = &self->s;

	EXPECT_EQ(-1, shoal_channel_input(s, zero, 2));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_EQ(-1, shoal_channel_input(c, short_, 2));
	EXPECT_EQ(EPROTO, errno);
}

TEST_F(pair, recv_limit)
{
	uint8_t frame[FRAME(101)];
	const uint8_t *m;
	size_t len;

	EXPECT_EQ(-1, shoal_channel_set_recv_limit(&self->s,
						   SHOAL_CHANNEL_MAX_MSG + 1));
	ASSERT_EQ(0, shoal_channel_set_recv_limit(&self->s, 100));
	/* At the limit: fine. */
	ASSERT_EQ(0, shoal_channel_send(&self->c, big, 100));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(1, shoal_channel_next(&self->s, &m, &len));
	EXPECT_EQ(100u, len);
	/* One byte over: refused on the length, nothing buffered for it. */
	ASSERT_EQ(0, shoal_channel_send(&self->c, big, 101));
	ASSERT_EQ(sizeof(frame), peek(&self->c, frame, sizeof(frame)));
	EXPECT_EQ(-1, shoal_channel_input(&self->s, frame, LB));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_GE(SHOAL_CHANNEL_BUF_MIN + 0u, self->s.in_cap);
}

TEST_F(pair, send_limits)
{
	const uint8_t *p;

	EXPECT_EQ(-1, shoal_channel_send(&self->c, big,
					 SHOAL_CHANNEL_MAX_MSG + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(0u, shoal_channel_pending(&self->c, &p));
	ASSERT_EQ(0, shoal_channel_send(&self->c, big, SHOAL_CHANNEL_MAX_MSG));
	ASSERT_EQ((size_t)(LB + SHOAL_CHANNEL_MAX_FRAME),
		  shoal_channel_pending(&self->c, &p));
	EXPECT_EQ(0xff, p[0]);
	EXPECT_EQ(0xff, p[1]);
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
}

TEST_F(pair, backpressure)
{
	const uint8_t *p;
	unsigned int queued = 0;
	size_t len;

	while (shoal_channel_send(&self->c, big, SHOAL_CHANNEL_MAX_MSG) == 0)
		queued++;
	EXPECT_EQ(ENOBUFS, errno);
	EXPECT_EQ(2u, queued);
	EXPECT_TRUE(shoal_channel_established(&self->c));
	len = shoal_channel_pending(&self->c, &p);
	EXPECT_GE((size_t)SHOAL_CHANNEL_BUF_MAX, len);
	/* A partial write makes room for a small message at once. */
	shoal_channel_consumed(&self->c, 100);
	EXPECT_EQ(0, shoal_channel_send(&self->c, big, 50));
	len = shoal_channel_pending(&self->c, &p);
	EXPECT_EQ(2 * FRAME(SHOAL_CHANNEL_MAX_MSG) + FRAME(50) - 100, len);
	/* Once written, the buffer is gone and sending goes on. */
	shoal_channel_consumed(&self->c, len);
	EXPECT_EQ(NULL, self->c.out);
	EXPECT_EQ(0, shoal_channel_send(&self->c, big, 1));
}

TEST_F(pair, tampered_frames)
{
	uint8_t frame[FRAME(40)], bad[FRAME(40)];
	struct shoal_channel c, s;
	const uint8_t *m;
	size_t i, len;
	int ret, err;

	for (i = 0; i < sizeof(frame); i++) {
		ASSERT_EQ(0, shoal_channel_client(&c, self->k.cpriv,
						  self->k.spub));
		ASSERT_EQ(0, shoal_channel_server(&s, self->k.spriv));
		ASSERT_EQ(0, pump(&c, &s, 0));
		ASSERT_EQ(0, pump(&s, &c, 0));
		ASSERT_EQ(0, shoal_channel_send(&c, big, 40));
		ASSERT_EQ(sizeof(frame), peek(&c, frame, sizeof(frame)));
		memcpy(bad, frame, sizeof(bad));
		bad[i] ^= 0x01;
		ret = shoal_channel_input(&s, bad, sizeof(bad));
		err = errno;
		EXPECT_NE(1, shoal_channel_next(&s, &m, &len))
			TH_LOG("byte %zu", i);
		if (i >= LB) {
			EXPECT_EQ(-1, ret);
			EXPECT_EQ(EPROTO, err);
		} else {
			/* A length off by one: too short, or never ends. */
			EXPECT_TRUE(ret == -1 || shoal_channel_eof(&s) == -1);
		}
		shoal_channel_wipe(&c);
		shoal_channel_wipe(&s);
	}
}

TEST_F(pair, replayed_and_reordered)
{
	uint8_t f1[FRAME(3)], f2[FRAME(3)];
	const uint8_t *m;
	size_t len;

	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"one", 3));
	ASSERT_EQ(sizeof(f1), peek(&self->c, f1, sizeof(f1)));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(1, shoal_channel_next(&self->s, &m, &len));
	/* Replayed: the nonce has moved on. */
	EXPECT_EQ(-1, shoal_channel_input(&self->s, f1, sizeof(f1)));
	EXPECT_EQ(EPROTO, errno);

	shoal_channel_wipe(&self->c);
	shoal_channel_wipe(&self->s);
	ASSERT_EQ(0, shoal_channel_client(&self->c, self->k.cpriv,
					  self->k.spub));
	ASSERT_EQ(0, shoal_channel_server(&self->s, self->k.spriv));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(0, pump(&self->s, &self->c, 0));
	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"one", 3));
	ASSERT_EQ(sizeof(f1), peek(&self->c, f1, sizeof(f1)));
	shoal_channel_consumed(&self->c, sizeof(f1));
	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"two", 3));
	ASSERT_EQ(sizeof(f2), peek(&self->c, f2, sizeof(f2)));
	/* Reordered: likewise. */
	EXPECT_EQ(-1, shoal_channel_input(&self->s, f2, sizeof(f2)));
	EXPECT_EQ(EPROTO, errno);
}

TEST_F(pair, truncated_stream)
{
	uint8_t frame[FRAME(10)];
	const uint8_t *m;
	size_t len;

	ASSERT_EQ(0, shoal_channel_send(&self->c, big, 10));
	ASSERT_EQ(sizeof(frame), peek(&self->c, frame, sizeof(frame)));
	EXPECT_EQ(0, shoal_channel_eof(&self->s));
	/* Cut mid-frame, even mid-length. */
	ASSERT_EQ(0, shoal_channel_input(&self->s, frame, 1));
	EXPECT_EQ(-1, shoal_channel_eof(&self->s));
	EXPECT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, shoal_channel_input(&self->s, frame + 1,
					 sizeof(frame) - 2));
	EXPECT_EQ(0, shoal_channel_next(&self->s, &m, &len));
	EXPECT_EQ(-1, shoal_channel_eof(&self->s));
	ASSERT_EQ(0, shoal_channel_input(&self->s, frame + sizeof(frame) - 1,
					 1));
	EXPECT_EQ(0, shoal_channel_eof(&self->s));
	EXPECT_EQ(1, shoal_channel_next(&self->s, &m, &len));
	EXPECT_EQ(10u, len);
}

TEST_F(pair, nonce_exhaustion_sending)
{
	const uint8_t *m;
	size_t len;

	/* Both ends agree on where the counter stands. */
	shoal_noise_cipher_set_nonce(&self->c.tx, UINT64_MAX - 2);
	shoal_noise_cipher_set_nonce(&self->s.rx, UINT64_MAX - 2);
	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"a", 1));
	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"b", 1));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(1, shoal_channel_next(&self->s, &m, &len));
	ASSERT_EQ(1, shoal_channel_next(&self->s, &m, &len));
	EXPECT_EQ('b', m[0]);
	/* 2^64-1 is reserved: the channel closes. */
	EXPECT_EQ(-1, shoal_channel_send(&self->c, (const uint8_t *)"c", 1));
	EXPECT_EQ(EOVERFLOW, errno);
	EXPECT_TRUE(shoal_channel_closed(&self->c));
	EXPECT_FALSE(shoal_channel_established(&self->c));
	EXPECT_EQ(0u, shoal_channel_pending(&self->c, &m));
	EXPECT_EQ(-1, shoal_channel_next(&self->c, &m, &len));
	EXPECT_EQ(-1, shoal_channel_send(&self->c, (const uint8_t *)"c", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_TRUE(sodium_is_zero(self->c.tx.k, sizeof(self->c.tx.k)));
	EXPECT_TRUE(sodium_is_zero(self->c.rx.k, sizeof(self->c.rx.k)));
}

TEST_F(pair, nonce_exhaustion_receiving)
{
	ASSERT_EQ(0, shoal_channel_send(&self->c, (const uint8_t *)"a", 1));
	shoal_noise_cipher_set_nonce(&self->s.rx, UINT64_MAX);
	EXPECT_EQ(-1, pump(&self->c, &self->s, 0));
	EXPECT_EQ(EOVERFLOW, errno);
	EXPECT_TRUE(shoal_channel_closed(&self->s));
}

TEST_F(pair, wipe)
{
	struct shoal_channel *ch[2] = { &self->c, &self->s };
	const uint8_t *p;
	size_t i, j;

	/* Both buffers of both ends hold bytes: keys, plaintext, output. */
	ASSERT_EQ(0, shoal_channel_send(&self->c, big, 1000));
	ASSERT_EQ(0, shoal_channel_send(&self->s, big, 1000));
	ASSERT_EQ(0, pump(&self->c, &self->s, 0));
	ASSERT_EQ(0, pump(&self->s, &self->c, 0));
	ASSERT_EQ(0, shoal_channel_send(&self->c, big, 1000));
	ASSERT_EQ(0, shoal_channel_send(&self->s, big, 1000));
	for (i = 0; i < 2; i++) {
		ASSERT_NE(NULL, ch[i]->in);
		ASSERT_NE(NULL, ch[i]->out);
		shoal_channel_wipe(ch[i]);
		for (j = 0; j < sizeof(*ch[i]); j++)
			ASSERT_EQ(0, ((const uint8_t *)ch[i])[j])
				TH_LOG("channel %zu byte %zu", i, j);
		/* Wiped is as good as never set up, and wipes again. */
		EXPECT_FALSE(shoal_channel_established(ch[i]));
		EXPECT_EQ(-1, shoal_channel_send(ch[i], big, 1));
		EXPECT_EQ(0u, shoal_channel_pending(ch[i], &p));
		shoal_channel_wipe(ch[i]);
	}
#ifdef HAVE_LSAN
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
#endif
}

/* ---- the blocking helpers, over a socketpair with a forked peer ---- */

static int echo_server(int fd, const struct keys *k)
{
	struct shoal_channel s;
	const uint8_t *m;
	uint8_t key[32];
	size_t len;
	int ret;

	if (shoal_channel_server(&s, k->spriv) ||
	    shoal_channel_handshake_blocking(&s, fd, 5000) ||
	    shoal_channel_remote_key(&s, key) || memcmp(key, k->cpub, 32))
		return 1;
	while ((ret = shoal_channel_recv_blocking(&s, fd, &m, &len,
						  5000)) == 1)
		if (shoal_channel_send_blocking(&s, fd, m, len, 5000))
			return 2;
	shoal_channel_wipe(&s);
	return ret == 0 ? 0 : 3;
}

TEST(blocking_helpers)
{
	static const size_t sizes[] = { 0, 1, 100, 5000,
					SHOAL_CHANNEL_MAX_MSG };
	struct shoal_channel c;
	const uint8_t *m;
	int sv[2], status;
	struct keys k;
	size_t i, len;
	pid_t pid;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		_exit(echo_server(sv[1], &k));
	}
	close(sv[1]);
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_handshake_blocking(&c, sv[0], 5000));
	for (i = 0; i < SHOAL_ARRAY_SIZE(sizes); i++) {
		msg_fill(msgbuf, sizes[i], 0, (unsigned int)i);
		ASSERT_EQ(0, shoal_channel_send_blocking(&c, sv[0], msgbuf,
							 sizes[i], 5000));
		ASSERT_EQ(1, shoal_channel_recv_blocking(&c, sv[0], &m, &len,
							 5000));
		ASSERT_EQ(sizes[i], len);
		EXPECT_EQ(0, memcmp(m, msgbuf, len));
	}
	/* A clean close at a frame boundary, both ways. */
	ASSERT_EQ(0, shutdown(sv[0], SHUT_WR));
	EXPECT_EQ(0, shoal_channel_recv_blocking(&c, sv[0], &m, &len, 5000));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	shoal_channel_wipe(&c);
	close(sv[0]);
}

TEST(blocking_timeout_and_eof)
{
	struct shoal_channel c, s;
	struct timespec a, b;
	const uint8_t *p, *m;
	int sv[2];
	struct keys k;
	size_t n, len;
	long ms;

	ASSERT_EQ(0, sodium_init() < 0);
	make_keys(&k);

	/* A client that never speaks. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(-1, shoal_channel_handshake_blocking(&s, sv[1], 100));
	EXPECT_EQ(ETIMEDOUT, errno);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	EXPECT_LE(90, ms);
	EXPECT_GT(2000, ms);

	/* A server that hangs up mid-handshake. */
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	close(sv[1]);
	EXPECT_EQ(-1, shoal_channel_handshake_blocking(&c, sv[0], 1000));
	EXPECT_TRUE(errno == ECONNRESET || errno == EPIPE);
	close(sv[0]);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);

	/* A peer that hangs up mid-frame. */
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	ASSERT_EQ(0, pump(&c, &s, 0));
	ASSERT_EQ(0, pump(&s, &c, 0));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, shoal_channel_send(&c, big, 300));
	n = shoal_channel_pending(&c, &p);
	ASSERT_EQ((ssize_t)(n - 5), write(sv[0], p, n - 5));
	close(sv[0]);
	EXPECT_EQ(-1, shoal_channel_recv_blocking(&s, sv[1], &m, &len, 1000));
	EXPECT_EQ(ECONNRESET, errno);
	close(sv[1]);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);
}

/* ---- deterministic mutation fuzz of the handshake ---- */

/*
 * randombytes from a counter: every run, and every channel made after
 * det_counter is reset to the same value, has the same ephemeral keys, so
 * a recorded message 2 stays valid for a client made again.
 */
static uint64_t det_counter;

static const char *det_name(void)
{
	return "shoal-test-deterministic";
}

static void det_buf(void *const buf, const size_t size)
{
	uint8_t seed[randombytes_SEEDBYTES] = { 0 };

	memcpy(seed, &det_counter, sizeof(det_counter));
	det_counter++;
	randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t det_random(void)
{
	uint32_t v;

	det_buf(&v, sizeof(v));
	return v;
}

static randombytes_implementation det_impl = {
	.implementation_name = det_name,
	.random = det_random,
	.buf = det_buf,
};

static uint64_t rng_next(uint64_t *st)
{
	*st = splitmix(*st);
	return *st;
}

#define FUZZ_MAX 512

/* One to three edits of buf; returns the new length. */
static size_t mutate(uint8_t *buf, size_t len, uint64_t *st)
{
	unsigned int edits = 1 + rng_next(st) % 3, e;
	size_t pos;

	for (e = 0; e < edits; e++) {
		pos = len ? rng_next(st) % len : 0;
		switch (rng_next(st) % 7) {
		case 0:
			if (len)
				buf[pos] ^= (uint8_t)(1u << rng_next(st) % 8);
			break;
		case 1:
			if (len)
				buf[pos] = (uint8_t)rng_next(st);
			break;
		case 2:
			len = rng_next(st) % (len + 1);
			break;
		case 3:
			if (len < FUZZ_MAX) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)rng_next(st);
				len++;
			}
			break;
		case 4:
			if (len) {
				memmove(buf + pos, buf + pos + 1,
					len - pos - 1);
				len--;
			}
			break;
		case 5:
			/* Length fields live at 0 and after each frame. */
			pos = rng_next(st) % 2 ? 0 : (len > 100 ? 99 : 51);
			if (pos + 2 <= len) {
				buf[pos] = (uint8_t)rng_next(st);
				buf[pos + 1] = (uint8_t)rng_next(st);
			}
			break;
		case 6:
			while (len < FUZZ_MAX && rng_next(st) % 8)
				buf[len++] = (uint8_t)rng_next(st);
			break;
		}
	}
	return len;
}

/*
 * Feeds a mutated stream in random pieces.  Whatever happens, a channel
 * must not establish on a changed handshake message nor deliver anything
 * but the one message that was really sent.
 */
struct fuzz_stats {
	unsigned int refused, established, delivered, waiting, intact;
};

static void feed_mutated(struct __test_metadata *_metadata,
			 struct shoal_channel *ch, const uint8_t *ref,
			 size_t ref_len, size_t hs_len, uint64_t *st,
			 unsigned int iter, struct fuzz_stats *stats)
{
	uint8_t buf[FUZZ_MAX];
	const uint8_t *m;
	size_t len, off = 0, n, mlen;
	int ret = 0;

	memcpy(buf, ref, ref_len);
	len = mutate(buf, ref_len, st);
	while (off < len && ret == 0) {
		n = 1 + rng_next(st) % 64;
		if (n > len - off)
			n = len - off;
		ret = shoal_channel_input(ch, buf + off, n);
		off += n;
	}
	if (ret) {
		EXPECT_TRUE(errno == EPROTO) TH_LOG("iteration %u", iter);
		stats->refused++;
	} else if (shoal_channel_eof(ch)) {
		stats->waiting++;
	} else {
		/*
		 * Unnoticed: only the stream itself, or the stream cut
		 * between frames, which is why a TLV message never spans
		 * two.
		 */
		EXPECT_TRUE((len == ref_len || len == hs_len) &&
			    !memcmp(buf, ref, len))
			TH_LOG("iteration %u", iter);
		stats->intact++;
	}
	if (shoal_channel_established(ch)) {
		EXPECT_TRUE(len >= hs_len && !memcmp(buf, ref, hs_len))
			TH_LOG("iteration %u", iter);
		stats->established++;
	}
	while (shoal_channel_next(ch, &m, &mlen) == 1) {
		EXPECT_TRUE(mlen == 7 && !memcmp(m, "payload", 7))
			TH_LOG("iteration %u", iter);
		stats->delivered++;
	}
}

TEST_F_TIMEOUT(slow, handshake_mutation_fuzz, 120)
{
	uint8_t to_server[FUZZ_MAX], to_client[FUZZ_MAX];
	size_t ts_len, tc_len;
	struct fuzz_stats fs = { 0 }, fc = { 0 };
	struct shoal_channel c, s;
	uint64_t st = 0x5eed;
	unsigned int i;
	struct keys k;

	ASSERT_EQ(0, randombytes_set_implementation(&det_impl));
	ASSERT_EQ(0, sodium_init() < 0);
	det_counter = 0;
	make_keys(&k);

	/*
	 * The reference streams: message 1 then a transport message to the
	 * server, message 2 then a transport message to the client.
	 */
	det_counter = 100;
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ts_len = peek(&c, to_server, sizeof(to_server));
	ASSERT_EQ(HS1, ts_len);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	ASSERT_EQ(0, pump(&c, &s, 0));
	ASSERT_EQ(0, shoal_channel_send(&s, (const uint8_t *)"payload", 7));
	tc_len = peek(&s, to_client, sizeof(to_client));
	ASSERT_EQ(HS2 + FRAME(7), tc_len);
	ASSERT_EQ(0, pump(&s, &c, 0));
	ASSERT_EQ(0, shoal_channel_send(&c, (const uint8_t *)"payload", 7));
	ts_len += peek(&c, to_server + ts_len, sizeof(to_server) - ts_len);
	ASSERT_EQ(HS1 + FRAME(7), ts_len);
	shoal_channel_wipe(&c);
	shoal_channel_wipe(&s);

	/* The reference replays cleanly into fresh, identical channels. */
	det_counter = 100;
	ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
	ASSERT_EQ(0, shoal_channel_input(&c, to_client, tc_len));
	ASSERT_TRUE(shoal_channel_established(&c));
	shoal_channel_wipe(&c);
	ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
	ASSERT_EQ(0, shoal_channel_input(&s, to_server, ts_len));
	ASSERT_TRUE(shoal_channel_peer_confirmed(&s));
	shoal_channel_wipe(&s);

	for (i = 0; i < 4000; i++) {
		ASSERT_EQ(0, shoal_channel_server(&s, k.spriv));
		feed_mutated(_metadata, &s, to_server, ts_len, HS1, &st, i,
			     &fs);
		shoal_channel_wipe(&s);

		det_counter = 100;
		ASSERT_EQ(0, shoal_channel_client(&c, k.cpriv, k.spub));
		feed_mutated(_metadata, &c, to_client, tc_len, HS2, &st, i,
			     &fc);
		shoal_channel_wipe(&c);
	}
	TH_LOG("to the server: %u refused, %u cut mid-frame, %u intact; "
	       "%u established, %u delivered", fs.refused, fs.waiting,
	       fs.intact, fs.established, fs.delivered);
	TH_LOG("to the client: %u refused, %u cut mid-frame, %u intact; "
	       "%u established, %u delivered", fc.refused, fc.waiting,
	       fc.intact, fc.established, fc.delivered);
}

TEST_HARNESS_MAIN
