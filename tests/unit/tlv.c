// SPDX-License-Identifier: MIT
/* The control channel's TLV codec: wire format, limits, hostile input. */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "tlv.h"

enum {
	T_RAW = 1,
	T_EMPTY,
	T_U8,
	T_U16,
	T_U32,
	T_U64,
	T_STR,
	T_NEST = SHOAL_TLV_NESTED | 8,
};

/* A heap copy of exactly len bytes: ASan then sees any overread. */
static uint8_t *dup_exact(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, buf, len);
	return p;
}

/* Parses such a copy; m points into it, and it lives until the next call. */
static int parse_exact(struct shoal_tlv_msg *m, const uint8_t *buf,
		       size_t len)
{
	static uint8_t *held;

	free(held);
	held = dup_exact(buf, len);
	if (!held)
		abort();
	return shoal_tlv_parse(m, held, len);
}

/* Every getter on a; what succeeds must agree with the raw bytes. */
static bool getters_agree(const struct shoal_tlv_attr *a)
{
	static char str[SHOAL_TLV_MAX_MSG + 1];
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	bool ok = true;

	if (shoal_tlv_get_u8(a, &v8))
		ok &= a->len == 1 && !a->nested && v8 == a->value[0];
	if (shoal_tlv_get_u16(a, &v16))
		ok &= a->len == 2 && !a->nested &&
		      v16 == (a->value[0] << 8 | a->value[1]);
	if (shoal_tlv_get_u32(a, &v32))
		ok &= a->len == 4 && !a->nested &&
		      (v32 >> 24) == a->value[0] && (v32 & 0xff) == a->value[3];
	if (shoal_tlv_get_u64(a, &v64))
		ok &= a->len == 8 && !a->nested &&
		      (v64 >> 56) == a->value[0] && (v64 & 0xff) == a->value[7];
	if (shoal_tlv_get_str(a, str, sizeof(str)))
		ok &= !a->nested && a->len && strlen(str) == a->len &&
		      !memcmp(str, a->value, a->len);
	return ok;
}

/*
 * Walks what it yields, checks every value lies within [lo, hi) and the
 * depth limit holds, and writes the same tree into w.
 */
static bool copy_tree(struct shoal_tlv_writer *w, struct shoal_tlv_iter *it,
		      const uint8_t *lo, const uint8_t *hi,
		      unsigned int depth)
{
	struct shoal_tlv_attr a;

	while (shoal_tlv_next(it, &a)) {
		if (a.value < lo || a.len > hi - a.value ||
		    a.nested != !!(a.type & SHOAL_TLV_NESTED) ||
		    !getters_agree(&a))
			return false;
		if (a.nested) {
			struct shoal_tlv_iter in;

			if (depth >= SHOAL_TLV_MAX_DEPTH)
				return false;
			shoal_tlv_nest_start(w, a.type);
			shoal_tlv_iter_nested(&in, &a);
			if (!copy_tree(w, &in, a.value, a.value + a.len,
				       depth + 1))
				return false;
			shoal_tlv_nest_end(w);
		} else {
			shoal_tlv_put(w, a.type, a.value, a.len);
		}
	}
	return true;
}

/* A parsed message walks cleanly and re-encodes to the same bytes. */
static bool round_trips(const struct shoal_tlv_msg *m, const uint8_t *buf,
			size_t len)
{
	static uint8_t out[SHOAL_TLV_MAX_MSG];
	struct shoal_tlv_writer w;
	struct shoal_tlv_iter it;

	shoal_tlv_writer_init(&w, out, sizeof(out), m->type, m->flags,
			      m->request_id);
	shoal_tlv_iter_msg(&it, m);
	if (!copy_tree(&w, &it, m->attrs, m->attrs + m->attrs_len, 0))
		return false;
	return shoal_tlv_finish(&w) == (int)len && !memcmp(out, buf, len);
}

static size_t top_level_count(const struct shoal_tlv_msg *m)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	size_t n = 0;

	shoal_tlv_iter_msg(&it, m);
	while (shoal_tlv_next(&it, &a))
		n++;
	return n;
}

/* The bytes docs/protocol.md shows, so the layout is pinned. */
TEST(wire_format)
{
	static const uint8_t want[] = {
		0x01, 0x07, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,
		0x00, 0x04, 0x00, 0x02, 0x12, 0x34,
		0x80, 0x08, 0x00, 0x09,
		0x00, 0x07, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o',
		0x00, 0x02, 0x00, 0x00,
	};
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	uint8_t buf[64];

	shoal_tlv_writer_init(&w, buf, sizeof(buf), 7, SHOAL_TLV_F_REPLY,
			      0xdeadbeef);
	shoal_tlv_put_u16(&w, T_U16, 0x1234);
	shoal_tlv_nest_start(&w, T_NEST);
	shoal_tlv_put_str(&w, T_STR, "hello");
	shoal_tlv_nest_end(&w);
	shoal_tlv_put(&w, T_EMPTY, NULL, 0);
	ASSERT_EQ((int)sizeof(want), shoal_tlv_finish(&w));
	EXPECT_EQ(0, memcmp(want, buf, sizeof(want)));

	ASSERT_EQ(0, parse_exact(&m, want, sizeof(want)));
	EXPECT_EQ(SHOAL_TLV_VERSION, m.version);
	EXPECT_EQ(7, m.type);
	EXPECT_EQ(SHOAL_TLV_F_REPLY, m.flags);
	EXPECT_EQ(0xdeadbeefu, m.request_id);
	EXPECT_EQ(sizeof(want) - SHOAL_TLV_HDR_LEN, m.attrs_len);
}

TEST(every_put_type_round_trips)
{
	static const uint8_t raw[] = { 0x00, 0xff, 0x80, 0x7f, 0x01 };
	static const uint64_t u64s[] = { 0, 1, 0x0123456789abcdefull,
					 UINT64_MAX };
	uint8_t buf[256], v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	char str[64];
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	size_t i;
	int len;

	for (i = 0; i < ARRAY_SIZE(u64s); i++) {
		shoal_tlv_writer_init(&w, buf, sizeof(buf), 255, 0,
				      (uint32_t)i);
		shoal_tlv_put(&w, T_RAW, raw, sizeof(raw));
		shoal_tlv_put(&w, T_EMPTY, NULL, 0);
		shoal_tlv_put_u8(&w, T_U8, (uint8_t)u64s[i]);
		shoal_tlv_put_u16(&w, T_U16, (uint16_t)u64s[i]);
		shoal_tlv_put_u32(&w, T_U32, (uint32_t)u64s[i]);
		shoal_tlv_put_u64(&w, T_U64, u64s[i]);
		shoal_tlv_put_str(&w, T_STR, "grüße, 世界 😀");
		len = shoal_tlv_finish(&w);
		ASSERT_LT(0, len);

		ASSERT_EQ(0, parse_exact(&m, buf, (size_t)len));
		EXPECT_EQ(255, m.type);
		EXPECT_EQ(0, m.flags);
		EXPECT_EQ((uint32_t)i, m.request_id);
		shoal_tlv_iter_msg(&it, &m);

		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		EXPECT_EQ(T_RAW, a.type);
		EXPECT_FALSE(a.nested);
		ASSERT_EQ(sizeof(raw), a.len);
		EXPECT_EQ(0, memcmp(raw, a.value, sizeof(raw)));

		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		EXPECT_EQ(T_EMPTY, a.type);
		EXPECT_EQ(0, a.len);
		EXPECT_FALSE(shoal_tlv_get_str(&a, str, sizeof(str)));

		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		ASSERT_TRUE(shoal_tlv_get_u8(&a, &v8));
		EXPECT_EQ((uint8_t)u64s[i], v8);
		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		ASSERT_TRUE(shoal_tlv_get_u16(&a, &v16));
		EXPECT_EQ((uint16_t)u64s[i], v16);
		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		ASSERT_TRUE(shoal_tlv_get_u32(&a, &v32));
		EXPECT_EQ((uint32_t)u64s[i], v32);
		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		ASSERT_TRUE(shoal_tlv_get_u64(&a, &v64));
		EXPECT_EQ(u64s[i], v64);

		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		EXPECT_EQ(T_STR, a.type);
		EXPECT_EQ(strlen("grüße, 世界 😀"), a.len);
		ASSERT_TRUE(shoal_tlv_get_str(&a, str, sizeof(str)));
		EXPECT_STREQ("grüße, 世界 😀", str);

		EXPECT_FALSE(shoal_tlv_next(&it, &a));
		EXPECT_FALSE(shoal_tlv_next(&it, &a));
		EXPECT_TRUE(round_trips(&m, buf, (size_t)len));
	}
}

TEST(getters_want_exact_length)
{
	static const uint8_t v[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct shoal_tlv_attr a = { .type = T_RAW, .value = v };
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	uint16_t len;

	for (len = 0; len <= sizeof(v); len++) {
		a.len = len;
		EXPECT_EQ(len == 1, shoal_tlv_get_u8(&a, &v8));
		EXPECT_EQ(len == 2, shoal_tlv_get_u16(&a, &v16));
		EXPECT_EQ(len == 4, shoal_tlv_get_u32(&a, &v32));
		EXPECT_EQ(len == 8, shoal_tlv_get_u64(&a, &v64));
	}
	/* A nest is never an integer, whatever its length. */
	a.type = T_NEST;
	a.nested = true;
	a.len = 4;
	EXPECT_FALSE(shoal_tlv_get_u32(&a, &v32));
}

/* A chain of n nests, each holding its depth as a u32 and the next nest. */
static int write_chain(uint8_t *buf, size_t size, unsigned int n)
{
	struct shoal_tlv_writer w;
	unsigned int i;

	shoal_tlv_writer_init(&w, buf, size, 1, 0, 0);
	for (i = 1; i <= n; i++) {
		shoal_tlv_nest_start(&w, T_NEST);
		shoal_tlv_put_u32(&w, T_U32, i);
	}
	for (i = 0; i < n; i++)
		shoal_tlv_nest_end(&w);
	return shoal_tlv_finish(&w);
}

TEST(nests_to_max_depth)
{
	uint8_t buf[256];
	struct shoal_tlv_msg m;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a, nest;
	unsigned int depth = 0;
	uint32_t v;
	int len;

	len = write_chain(buf, sizeof(buf), SHOAL_TLV_MAX_DEPTH);
	ASSERT_EQ(SHOAL_TLV_HDR_LEN + SHOAL_TLV_MAX_DEPTH * 12, len);
	ASSERT_EQ(0, parse_exact(&m, buf, (size_t)len));
	shoal_tlv_iter_msg(&it, &m);
	while (shoal_tlv_next(&it, &nest)) {
		ASSERT_TRUE(nest.nested);
		depth++;
		shoal_tlv_iter_nested(&it, &nest);
		ASSERT_TRUE(shoal_tlv_next(&it, &a));
		ASSERT_TRUE(shoal_tlv_get_u32(&a, &v));
		EXPECT_EQ(depth, v);
	}
	EXPECT_EQ(SHOAL_TLV_MAX_DEPTH, (int)depth);
	EXPECT_TRUE(round_trips(&m, buf, (size_t)len));

	/* The writer refuses to open a ninth nest. */
	EXPECT_EQ(-1, write_chain(buf, sizeof(buf), SHOAL_TLV_MAX_DEPTH + 1));
}

/* Depth counts the enclosing nests, not all the nests of a message. */
TEST(depth_is_per_branch)
{
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	uint8_t buf[512];
	int i, branch, len;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	for (branch = 0; branch < 3; branch++) {
		for (i = 0; i < SHOAL_TLV_MAX_DEPTH; i++)
			shoal_tlv_nest_start(&w, T_NEST);
		for (i = 0; i < SHOAL_TLV_MAX_DEPTH; i++)
			shoal_tlv_nest_end(&w);
	}
	len = shoal_tlv_finish(&w);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, parse_exact(&m, buf, (size_t)len));
	EXPECT_TRUE(round_trips(&m, buf, (size_t)len));
}

/* n empty-ended nests by hand, each exactly as long as what it holds. */
static size_t hand_chain(uint8_t *buf, unsigned int n)
{
	unsigned int i;
	size_t len = SHOAL_TLV_HDR_LEN;

	memcpy(buf, "\x01\x01\x00\x00\x00\x00\x00\x00", SHOAL_TLV_HDR_LEN);
	for (i = 0; i < n; i++) {
		uint16_t inner = (uint16_t)(4 * (n - 1 - i));

		buf[len++] = T_NEST >> 8;
		buf[len++] = T_NEST & 0xff;
		buf[len++] = (uint8_t)(inner >> 8);
		buf[len++] = (uint8_t)inner;
	}
	return len;
}

TEST(parser_refuses_ninth_nest)
{
	struct shoal_tlv_msg m;
	uint8_t buf[64];
	size_t len;

	len = hand_chain(buf, SHOAL_TLV_MAX_DEPTH);
	EXPECT_EQ(0, parse_exact(&m, buf, len));
	len = hand_chain(buf, SHOAL_TLV_MAX_DEPTH + 1);
	EXPECT_EQ(-1, parse_exact(&m, buf, len));
	/* The same bytes as flat attributes are no nests at all. */
	buf[SHOAL_TLV_HDR_LEN + 4 * SHOAL_TLV_MAX_DEPTH] = 0;
	EXPECT_EQ(0, parse_exact(&m, buf, len));
}

static int write_sample(uint8_t *buf, size_t size, size_t *bounds,
			size_t *nbounds)
{
	struct shoal_tlv_writer w;

	*nbounds = 0;
	shoal_tlv_writer_init(&w, buf, size, 3, 0, 42);
	bounds[(*nbounds)++] = w.len;
	shoal_tlv_put_u32(&w, T_U32, 0x01020304);
	bounds[(*nbounds)++] = w.len;
	shoal_tlv_nest_start(&w, T_NEST);
	shoal_tlv_put_str(&w, T_STR, "peer");
	shoal_tlv_nest_start(&w, T_NEST);
	shoal_tlv_put_u64(&w, T_U64, 7);
	shoal_tlv_put(&w, T_EMPTY, NULL, 0);
	shoal_tlv_nest_end(&w);
	shoal_tlv_nest_end(&w);
	bounds[(*nbounds)++] = w.len;
	shoal_tlv_put(&w, T_EMPTY, NULL, 0);
	bounds[(*nbounds)++] = w.len;
	shoal_tlv_put_str(&w, T_STR, "x");
	bounds[(*nbounds)++] = w.len;
	return shoal_tlv_finish(&w);
}

TEST(overflow_never_writes_past_size)
{
	uint8_t want[128], buf[160];
	size_t bounds[8], nbounds, size, i;
	int len;

	len = write_sample(want, sizeof(want), bounds, &nbounds);
	ASSERT_LT(0, len);
	for (size = 0; size <= (size_t)len; size++) {
		memset(buf, 0xa5, sizeof(buf));
		EXPECT_EQ(size == (size_t)len ? len : -1,
			  write_sample(buf, size, bounds, &nbounds))
			TH_LOG("size %zu", size);
		for (i = size; i < sizeof(buf); i++)
			ASSERT_EQ(0xa5, buf[i])
				TH_LOG("size %zu: wrote %zu", size, i);
	}
	EXPECT_EQ(0, memcmp(want, buf, (size_t)len));
}

TEST(message_size_limit)
{
	static uint8_t buf[SHOAL_TLV_MAX_MSG + 64], fill_bytes[65536];
	size_t fill = SHOAL_TLV_MAX_MSG - SHOAL_TLV_HDR_LEN - 4;
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;

	memset(fill_bytes, 'a', sizeof(fill_bytes));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put(&w, T_RAW, fill_bytes, fill);
	ASSERT_EQ(SHOAL_TLV_MAX_MSG, shoal_tlv_finish(&w));
	EXPECT_EQ(0, parse_exact(&m, buf, SHOAL_TLV_MAX_MSG));

	/* One byte more, even with room in the buffer, is too long to send. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put(&w, T_RAW, fill_bytes, fill + 1);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	buf[SHOAL_TLV_HDR_LEN + 2] = (uint8_t)((fill + 1) >> 8);
	buf[SHOAL_TLV_HDR_LEN + 3] = (uint8_t)(fill + 1);
	EXPECT_EQ(-1, parse_exact(&m, buf, SHOAL_TLV_MAX_MSG + 1));

	/* A value over 65535 bytes has no length field to describe it. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put(&w, T_RAW, fill_bytes, 65536);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
}

TEST(writer_refuses_misuse)
{
	struct shoal_tlv_writer w;
	uint8_t buf[64];

	/* Unbalanced nests, both ways. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_nest_start(&w, T_NEST);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_nest_end(&w);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));

	/* The nest flag belongs to nest_start() and only there. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put_u8(&w, T_NEST, 1);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_nest_start(&w, T_RAW);
	shoal_tlv_nest_end(&w);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));

	/* Headers that parse() would refuse. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 0, 0, 0);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 2, 0);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, NULL, 64, 1, 0, 0);
	shoal_tlv_put_u8(&w, T_U8, 1);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, SHOAL_TLV_HDR_LEN - 1, 1, 0, 0);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, SHOAL_TLV_HDR_LEN, 1, 0, 0);
	EXPECT_EQ(SHOAL_TLV_HDR_LEN, shoal_tlv_finish(&w));

	/* A value pointer is needed for a non-empty value. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put(&w, T_RAW, NULL, 1);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));

	/* The first failure sticks, whatever follows. */
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put_str(&w, T_STR, "bad\n");
	shoal_tlv_put_str(&w, T_STR, "good");
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put_str(&w, T_STR, "");
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put_str(&w, T_STR, NULL);
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
}

/*
 * The header has no length: a message ends where its transport frame
 * ends.  So a cut at a top-level attribute boundary is a shorter valid
 * message (the transport's AEAD is what rules that out), and every other
 * cut must be refused.
 */
TEST(every_truncation)
{
	uint8_t buf[128];
	size_t bounds[8], nbounds, cut, i;
	struct shoal_tlv_msg m;
	int len;

	len = write_sample(buf, sizeof(buf), bounds, &nbounds);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, parse_exact(&m, buf, (size_t)len));
	ASSERT_EQ(nbounds - 1, top_level_count(&m));
	for (cut = 0; cut < (size_t)len; cut++) {
		bool boundary = false;

		for (i = 0; i < nbounds; i++) {
			if (bounds[i] != cut)
				continue;
			boundary = true;
			break;
		}
		if (!boundary) {
			EXPECT_EQ(-1, parse_exact(&m, buf, cut))
				TH_LOG("accepted a cut at %zu", cut);
			continue;
		}
		ASSERT_EQ(0, parse_exact(&m, buf, cut)) TH_LOG("cut %zu", cut);
		EXPECT_EQ(i, top_level_count(&m));
	}
}

TEST(trailing_bytes)
{
	uint8_t buf[140];
	size_t bounds[8], nbounds, extra;
	struct shoal_tlv_msg m;
	int len;

	len = write_sample(buf, 128, bounds, &nbounds);
	ASSERT_LT(0, len);
	/* Less than an attribute header. */
	for (extra = 1; extra < SHOAL_TLV_ATTR_HDR_LEN; extra++) {
		memset(buf + len, 0, extra);
		EXPECT_EQ(-1, parse_exact(&m, buf, (size_t)len + extra));
	}
	/* A header promising more than follows. */
	memcpy(buf + len, "\x00\x01\x00\x05\x61\x62\x63\x64", 8);
	EXPECT_EQ(-1, parse_exact(&m, buf, (size_t)len + 8));
	buf[len + 3] = 4;
	EXPECT_EQ(0, parse_exact(&m, buf, (size_t)len + 8));
}

/* An attribute overrunning its nest is refused even inside the message. */
TEST(nest_contents_must_fit_the_nest)
{
	static const uint8_t ok[] = {
		0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x80, 0x08, 0x00, 0x06,
		0x00, 0x01, 0x00, 0x02, 'a', 'b',
		0x00, 0x01, 0x00, 0x02, 'c', 'd',
	};
	uint8_t buf[sizeof(ok)];
	struct shoal_tlv_msg m;
	uint8_t n;

	EXPECT_EQ(0, parse_exact(&m, ok, sizeof(ok)));
	memcpy(buf, ok, sizeof(ok));
	/*
	 * A nest may end only between whole attributes (0, 6 or 12 bytes);
	 * anywhere else part of an attribute is left outside it.
	 */
	for (n = 0; n < 20; n++) {
		buf[11] = n;
		EXPECT_EQ(n == 0 || n == 6 || n == 12 ? 0 : -1,
			  parse_exact(&m, buf, sizeof(buf)))
			TH_LOG("nest length %u", n);
	}
	/* An inner length reaching past the nest into the next attribute. */
	memcpy(buf, ok, sizeof(ok));
	buf[15] = 8;
	EXPECT_EQ(-1, parse_exact(&m, buf, sizeof(buf)));
}

TEST(header_checks)
{
	uint8_t buf[16] = { 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
			    0x00, 0x01, 0x00, 0x00 };
	struct shoal_tlv_msg m;
	unsigned int bit;

	ASSERT_EQ(0, parse_exact(&m, buf, 12));
	buf[3] = SHOAL_TLV_F_REPLY;
	ASSERT_EQ(0, parse_exact(&m, buf, 12));
	EXPECT_EQ(SHOAL_TLV_F_REPLY, m.flags);
	for (bit = 1; bit < 16; bit++) {
		buf[2] = (uint8_t)((1u << bit) >> 8);
		buf[3] = (uint8_t)(1u << bit);
		EXPECT_EQ(-1, parse_exact(&m, buf, 12))
			TH_LOG("flag bit %u", bit);
	}
	buf[2] = buf[3] = 0;
	buf[0] = 0;
	EXPECT_EQ(-1, parse_exact(&m, buf, 12));
	buf[0] = 2;
	EXPECT_EQ(-1, parse_exact(&m, buf, 12));
	EXPECT_EQ(0, m.version) TH_LOG("a refused message leaves m zeroed");
	buf[0] = 0xff;
	EXPECT_EQ(-1, parse_exact(&m, buf, 12));
	buf[0] = SHOAL_TLV_VERSION;
	buf[1] = 0;
	EXPECT_EQ(-1, parse_exact(&m, buf, 12));
	buf[1] = 0xff;
	EXPECT_EQ(0, parse_exact(&m, buf, 12));
	EXPECT_EQ(-1, shoal_tlv_parse(&m, NULL, 12));
}

TEST(string_validation)
{
	static const struct {
		const char *bytes;
		size_t len;
		bool ok;
	} cases[] = {
#define S(lit, ok) { lit, sizeof(lit) - 1, ok }
		S("a", true),
		S("node-1.example", true),
		S("~ !\"#", true),
		S("\xc3\xa9", true),			/* é */
		S("\xc2\xa0", true),			/* first after C1 */
		S("\xe2\x82\xac", true),		/* € */
		S("\xef\xbf\xbd", true),		/* U+FFFD */
		S("\xf0\x9f\x98\x80", true),		/* 😀 */
		S("\xf4\x8f\xbf\xbf", true),		/* U+10FFFF */
		S("", false),
		S("a\0b", false),
		S("\0", false),
		S("a\n", false),
		S("\t", false),
		S("\x1b[2J", false),
		S("\x7f", false),
		S("\xc2\x80", false),			/* C1 controls */
		S("\xc2\x85", false),
		S("\xc2\x9b", false),
		S("\xc2\x9f", false),
		S("\xc0\xaf", false),			/* overlong '/' */
		S("\xc1\xbf", false),
		S("\xe0\x80\xaf", false),
		S("\xe0\x9f\xbf", false),
		S("\xf0\x80\x80\xaf", false),
		S("\xf0\x8f\xbf\xbf", false),
		S("\xc0\x80", false),			/* overlong NUL */
		S("\xed\xa0\x80", false),		/* surrogates */
		S("\xed\xbf\xbf", false),
		S("\xf4\x90\x80\x80", false),		/* past U+10FFFF */
		S("\xf5\x80\x80\x80", false),
		S("\xf8\x88\x80\x80\x80", false),
		S("\x80", false),			/* lone continuation */
		S("a\xbf", false),
		S("\xc3", false),			/* truncated */
		S("\xe2\x82", false),
		S("\xf0\x9f\x98", false),
		S("\xc3(", false),			/* bad continuation */
		S("\xe2\x28\xa1", false),
		S("\xfe", false),
		S("\xff", false),
#undef S
	};
	struct shoal_tlv_attr a = { .type = T_STR };
	struct shoal_tlv_writer w;
	uint8_t out[64];
	char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t *v = dup_exact((const uint8_t *)cases[i].bytes,
				       cases[i].len);

		a.value = v;
		a.len = (uint16_t)cases[i].len;
		memset(buf, 'z', sizeof(buf));
		EXPECT_EQ(cases[i].ok, shoal_tlv_get_str(&a, buf, sizeof(buf)))
			TH_LOG("case %zu", i);
		if (cases[i].ok) {
			EXPECT_EQ(cases[i].len, strlen(buf));
			EXPECT_EQ(0, memcmp(buf, v, cases[i].len));
		} else {
			EXPECT_STREQ("", buf);
		}
		free(v);

		/* The writer takes exactly what the reader accepts. */
		if (memchr(cases[i].bytes, 0, cases[i].len))
			continue;
		shoal_tlv_writer_init(&w, out, sizeof(out), 1, 0, 0);
		shoal_tlv_put_str(&w, T_STR, cases[i].bytes);
		EXPECT_EQ(cases[i].ok, shoal_tlv_finish(&w) > 0)
			TH_LOG("writer, case %zu", i);
	}
}

TEST(string_max_length)
{
	static const char s[] = "abcd\xe2\x82\xac";
	struct shoal_tlv_attr a = {
		.type = T_STR,
		.value = (const uint8_t *)s,
	};
	char buf[8];

	/* size 5 holds 4 bytes and the NUL. */
	a.len = 4;
	EXPECT_TRUE(shoal_tlv_get_str(&a, buf, 5));
	EXPECT_STREQ("abcd", buf);
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 4));
	EXPECT_STREQ("", buf);
	a.len = 7;
	EXPECT_TRUE(shoal_tlv_get_str(&a, buf, 8));
	EXPECT_STREQ(s, buf);
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 7));
	/* A character is taken whole or not at all. */
	a.len = 5;
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 8));
	a.len = 6;
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 8));
	/* No room for even one byte. */
	a.len = 1;
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 1));
	EXPECT_FALSE(shoal_tlv_get_str(&a, buf, 0));
}

TEST(find)
{
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	struct shoal_tlv_attr a, nest, flat;
	uint8_t buf[128], v;
	int len;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), 1, 0, 0);
	shoal_tlv_put_u8(&w, T_U8, 1);
	shoal_tlv_put_u16(&w, T_U16, 2);
	shoal_tlv_put_u8(&w, T_U8, 3);
	shoal_tlv_nest_start(&w, T_NEST);
	shoal_tlv_put_u32(&w, T_U32, 4);
	shoal_tlv_put_u8(&w, T_U8, 5);
	shoal_tlv_nest_end(&w);
	len = shoal_tlv_finish(&w);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, parse_exact(&m, buf, (size_t)len));

	ASSERT_TRUE(shoal_tlv_find(&m, T_U8, &a));
	ASSERT_TRUE(shoal_tlv_get_u8(&a, &v));
	EXPECT_EQ(1, v) TH_LOG("the first of two");
	/* Only the top level: nothing is found inside a nest. */
	EXPECT_FALSE(shoal_tlv_find(&m, T_U32, &a));
	/* The nest flag is part of the type. */
	EXPECT_FALSE(shoal_tlv_find(&m, T_NEST & ~SHOAL_TLV_NESTED, &a));
	ASSERT_TRUE(shoal_tlv_find(&m, T_NEST, &nest));
	EXPECT_TRUE(nest.nested);
	EXPECT_TRUE(shoal_tlv_find_nested(&nest, T_U32, &a));
	ASSERT_TRUE(shoal_tlv_find_nested(&nest, T_U8, &a));
	ASSERT_TRUE(shoal_tlv_get_u8(&a, &v));
	EXPECT_EQ(5, v);
	EXPECT_FALSE(shoal_tlv_find_nested(&nest, T_U16, &a));
	/* A flat attribute has nothing inside. */
	ASSERT_TRUE(shoal_tlv_find(&m, T_U16, &flat));
	EXPECT_FALSE(shoal_tlv_find_nested(&flat, T_U16, &a));
	EXPECT_FALSE(shoal_tlv_find(&m, 0x7fff, &a));
}

/* An iterator pointed at bytes parse() never saw still stays inside them. */
TEST(iterator_on_unparsed_bytes)
{
	static const uint8_t bad[] = { 0x00, 0x01, 0x00, 0x05, 'a',
				       0x00, 0x01, 0x00 };
	struct shoal_tlv_msg m = { .type = 1 };
	struct shoal_tlv_attr a, nest = { .type = T_NEST, .nested = true };
	struct shoal_tlv_iter it;
	uint8_t *p = dup_exact(bad, sizeof(bad));
	size_t len;

	ASSERT_NE(NULL, p);
	for (len = 0; len <= sizeof(bad); len++) {
		m.attrs = p + sizeof(bad) - len;
		m.attrs_len = len;
		shoal_tlv_iter_msg(&it, &m);
		while (shoal_tlv_next(&it, &a))
			ASSERT_LE(a.len, (size_t)(p + sizeof(bad) - a.value));
		EXPECT_EQ(0u, it.left);
		nest.value = m.attrs;
		nest.len = (uint16_t)len;
		shoal_tlv_iter_nested(&it, &nest);
		while (shoal_tlv_next(&it, &a))
			ASSERT_LE(a.len, (size_t)(p + sizeof(bad) - a.value));
	}
	m.attrs = NULL;
	m.attrs_len = 100;
	shoal_tlv_iter_msg(&it, &m);
	EXPECT_FALSE(shoal_tlv_next(&it, &a));
	free(p);
}

static uint64_t rng_state = 0x5eed5eed5eed5eedull;

/* xorshift64: the same sequence on every run, so a failure reproduces. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One random edit: a cut, an appended byte, a new byte or a bit flip. */
static void mutate(uint8_t *buf, size_t size, size_t *n)
{
	uint64_t r = rnd();

	switch (r % 8) {
	case 0:
		*n = (size_t)(r >> 8) % (*n + 1);
		break;
	case 1:
		if (*n < size)
			buf[(*n)++] = (uint8_t)(r >> 8);
		break;
	case 2:
	case 3:
		/* A whole new byte turns a length into any other at once. */
		if (*n)
			buf[(r >> 8) % *n] = (uint8_t)(r >> 32);
		break;
	default:
		if (*n)
			buf[(r >> 8) % *n] ^= (uint8_t)(1u << ((r >> 32) % 8));
		break;
	}
}

TEST(mutations)
{
	uint8_t bases[3][256], buf[300];
	size_t base_len[3], bounds[8], nbounds, iter, parsed = 0;
	struct shoal_tlv_msg m;
	int len, b;

	len = write_sample(bases[0], sizeof(bases[0]), bounds, &nbounds);
	ASSERT_LT(0, len);
	base_len[0] = (size_t)len;
	len = write_chain(bases[1], sizeof(bases[1]), SHOAL_TLV_MAX_DEPTH);
	ASSERT_LT(0, len);
	base_len[1] = (size_t)len;
	base_len[2] = hand_chain(bases[2], SHOAL_TLV_MAX_DEPTH);

	for (iter = 0; iter < 300000; iter++) {
		size_t n = base_len[iter % 3], k, edits = 1 + rnd() % 4;
		uint8_t *p;

		memcpy(buf, bases[iter % 3], n);
		for (k = 0; k < edits; k++)
			mutate(buf, sizeof(buf), &n);
		p = dup_exact(buf, n);
		ASSERT_NE(NULL, p);
		if (shoal_tlv_parse(&m, p, n) == 0) {
			parsed++;
			ASSERT_TRUE(round_trips(&m, p, n))
				TH_LOG("iteration %zu", iter);
		}
		free(p);
	}
	TH_LOG("%zu of %zu mutants parsed and round-tripped", parsed, iter);
	/* Both outcomes must be common, or the loop proves little. */
	EXPECT_LT(30000u, parsed);
	EXPECT_LT(30000u, iter - parsed);
	for (b = 0; b < 3; b++) {
		ASSERT_EQ(0, parse_exact(&m, bases[b], base_len[b]));
		EXPECT_TRUE(round_trips(&m, bases[b], base_len[b]));
	}
}

TEST_HARNESS_MAIN
