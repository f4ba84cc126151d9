// SPDX-License-Identifier: MIT
/*
 * mediator/relay_core.c: the RELAY_SIDE nest (docs/protocol.md, "Relay
 * servers") that the mediator sends a shoal-relay (RELAY_ALLOCATE) and
 * reads back from one (RELAY_HOLDS): what it takes, and every way it
 * refuses a side (a missing attribute, a wrong length).
 */
#include <string.h>

#include "kselftest_harness.h"

#include "medmsg.h"
#include "tlv.h"
#include "mediator/relay_core.h"

static uint8_t buf[1024];

/* A message of one RELAY_SIDE: key_len, id_len, rkey_len (0: absent). */
static int side_msg(struct shoal_tlv_msg *m, size_t key_len, size_t id_len,
		    size_t rkey_len)
{
	uint8_t v[40];
	struct shoal_tlv_writer w;
	int n;

	memset(v, 0x5a, sizeof(v));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_RELAY_ALLOCATE, 0, 0);
	shoal_tlv_nest_start(&w, MED_A_RELAY_SIDE);
	if (key_len)
		shoal_tlv_put(&w, MED_A_PUBLIC_KEY, v, key_len);
	if (id_len)
		shoal_tlv_put(&w, MED_A_RELAY_ID, v, id_len);
	if (rkey_len)
		shoal_tlv_put(&w, MED_A_RELAY_KEY, v, rkey_len);
	shoal_tlv_nest_end(&w);
	n = shoal_tlv_finish(&w);
	return n < 0 ? -1 : shoal_tlv_parse(m, buf, (size_t)n);
}

static int get(size_t key_len, size_t id_len, size_t rkey_len,
	       struct relay_side *s)
{
	struct shoal_tlv_msg m;
	struct shoal_tlv_attr a;

	if (side_msg(&m, key_len, id_len, rkey_len) < 0 ||
	    !shoal_tlv_find(&m, MED_A_RELAY_SIDE, &a))
		return -2;
	return relay_side_get(&a, s);
}

TEST(takes_a_whole_side)
{
	struct relay_side s = { 0 };

	ASSERT_EQ(0, get(32, 4, 32, &s));
	EXPECT_EQ(0x5a5a5a5au, s.id);
	EXPECT_EQ(0x5a, s.pubkey[31]);
	EXPECT_EQ(0x5a, s.key[31]);
}

TEST(refuses_what_is_missing)
{
	struct relay_side s;

	EXPECT_EQ(-1, get(0, 4, 32, &s));
	EXPECT_EQ(-1, get(32, 0, 32, &s));
	EXPECT_EQ(-1, get(32, 4, 0, &s));
}

TEST(refuses_wrong_lengths)
{
	struct relay_side s;

	EXPECT_EQ(-1, get(31, 4, 32, &s));
	EXPECT_EQ(-1, get(33, 4, 32, &s));
	EXPECT_EQ(-1, get(32, 3, 32, &s));
	EXPECT_EQ(-1, get(32, 8, 32, &s));
	EXPECT_EQ(-1, get(32, 4, 31, &s));
	EXPECT_EQ(-1, get(32, 4, 40, &s));
}

TEST(put_reads_back)
{
	struct relay_side s = { .id = 77 }, t = { 0 };
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	struct shoal_tlv_attr a;
	int n;

	memset(s.pubkey, 1, sizeof(s.pubkey));
	memset(s.key, 2, sizeof(s.key));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_RELAY_HOLDS, 0, 3);
	relay_side_put(&w, &s);
	n = shoal_tlv_finish(&w);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, shoal_tlv_parse(&m, buf, (size_t)n));
	ASSERT_TRUE(shoal_tlv_find(&m, MED_A_RELAY_SIDE, &a));
	ASSERT_EQ(0, relay_side_get(&a, &t));
	EXPECT_EQ(77u, t.id);
	EXPECT_EQ(0, memcmp(s.pubkey, t.pubkey, 32));
	EXPECT_EQ(0, memcmp(s.key, t.key, 32));
}

TEST_HARNESS_MAIN
