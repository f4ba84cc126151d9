// SPDX-License-Identifier: MIT
/*
 * mediator/clusterbus.c: the messages of the mediators' cluster bus
 * (docs/cluster.md, "The bus"): each type comes back as it was sent, and
 * every way a payload from the database is refused (not base64, a bad
 * instance name, a missing or wrongly sized attribute, too many pairs).
 */
#include <string.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "base64.h"
#include "tlv.h"
#include "mediator/clusterbus.h"

static char text[CLUSTER_BUS_MAX + 1];

/* base64 of a TLV message of type t with the writer's attributes. */
static const char *raw(struct shoal_tlv_writer *w)
{
	int n = shoal_tlv_finish(w);

	if (n < 0 || shoal_base64_encode(text, sizeof(text), w->buf,
					 (size_t)n) < 0)
		return "";
	return text;
}

static uint8_t bin[8192];

static void start(struct shoal_tlv_writer *w, uint8_t type, const char *name)
{
	shoal_tlv_writer_init(w, bin, sizeof(bin), type, 0, 0);
	shoal_tlv_put_str(w, CB_A_INSTANCE, name);
}

TEST(online_round_trip)
{
	struct cluster_msg m = { .type = CB_ONLINE }, back;

	strcpy(m.instance, "m-1.a_b");
	m.info.client.id = 42;
	memset(m.info.client.pubkey, 7, 32);
	strcpy(m.info.client.nickname, "alice");
	m.info.has_first = true;
	m.info.first.family = 4;
	m.info.first.port = 51820;
	m.info.first.addr[0] = 203;
	m.info.n_endpoints = 1;
	m.info.ep[0] = m.info.first;
	m.info.nat.known = true;
	m.info.nat.mapping = 1;
	m.info.has_lan = true;
	m.info.lan[0] = 203;
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	ASSERT_EQ(0, cluster_bus_decode(text, NULL, &back));
	EXPECT_EQ(CB_ONLINE, back.type);
	EXPECT_STREQ("m-1.a_b", back.instance);
	EXPECT_EQ(42, back.info.client.id);
	EXPECT_STREQ("alice", back.info.client.nickname);
	EXPECT_EQ(0, memcmp(back.info.client.pubkey, m.info.client.pubkey, 32));
	EXPECT_TRUE(back.info.has_first);
	EXPECT_EQ(51820, back.info.first.port);
	EXPECT_EQ(1u, back.info.n_endpoints);
	EXPECT_TRUE(back.info.nat.known);
	EXPECT_EQ(1, back.info.nat.mapping);
	EXPECT_TRUE(back.info.has_lan);
}

TEST(changed_round_trip)
{
	struct cluster_msg m = { .type = CB_CHANGED }, back;

	strcpy(m.instance, "m1");
	m.client = 5;
	m.both = true;
	m.n_added = 2;
	m.added[0] = 6;
	m.added[1] = 7;
	m.n_lost = 1;
	m.lost[0].id = 8;
	memset(m.lost[0].key, 9, 32);
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	ASSERT_EQ(0, cluster_bus_decode(text, NULL, &back));
	EXPECT_TRUE(back.both);
	EXPECT_EQ(2u, back.n_added);
	EXPECT_EQ(7, back.added[1]);
	EXPECT_EQ(1u, back.n_lost);
	EXPECT_EQ(8, back.lost[0].id);
	EXPECT_EQ(9, back.lost[0].key[31]);
}

TEST(beat_round_trip)
{
	struct cluster_msg m = { .type = CB_BEAT }, back;

	strcpy(m.instance, "m3");
	strcpy(m.advertise, "[2001:db8::1]:51800");
	m.load = 17;
	m.started = 1700000000000;
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	ASSERT_EQ(0, cluster_bus_decode(text, NULL, &back));
	EXPECT_STREQ("[2001:db8::1]:51800", back.advertise);
	EXPECT_EQ(17u, back.load);
	EXPECT_EQ(1700000000000, back.started);
}

/*
 * What goes on the bus is sealed with the cluster's key: another key, a
 * byte changed, an unsealed message, a sealed one without RUN and SEQ
 * are all refused; RUN and SEQ come through.
 */
TEST(sealed_with_the_cluster_key)
{
	struct cluster_msg m = { .type = CB_GONE }, back;
	uint8_t priv[32], other[32], key[CLUSTER_BUS_KEY_LEN];
	uint8_t wrong[CLUSTER_BUS_KEY_LEN];
	char plain[CLUSTER_BUS_MAX + 1];

	ASSERT_EQ(0, sodium_init() < 0);
	randombytes_buf(priv, sizeof(priv));
	randombytes_buf(other, sizeof(other));
	cluster_bus_key(key, priv);
	cluster_bus_key(wrong, other);
	strcpy(m.instance, "m2");
	m.started = 1700000000000;
	m.run = 1700000000000;
	m.seq = 9;
	ASSERT_EQ(0, cluster_bus_encode(&m, key, text, sizeof(text)));
	ASSERT_EQ(0, cluster_bus_decode(text, key, &back));
	EXPECT_EQ(CB_GONE, back.type);
	EXPECT_EQ(1700000000000, back.run);
	EXPECT_EQ(9u, back.seq);
	EXPECT_EQ(-1, cluster_bus_decode(text, wrong, &back));
	/* The plain TLV is not inside for anyone without the key. */
	EXPECT_EQ(-1, cluster_bus_decode(text, NULL, &back));
	text[10] = text[10] == 'A' ? 'B' : 'A';
	EXPECT_EQ(-1, cluster_bus_decode(text, key, &back));
	/* Unsealed, though well formed: a forgery. */
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, plain, sizeof(plain)));
	EXPECT_EQ(-1, cluster_bus_decode(plain, key, &back));
	/* Sealed, but with nothing to order it by. */
	m.run = 0;
	ASSERT_EQ(0, cluster_bus_encode(&m, key, text, sizeof(text)));
	EXPECT_EQ(-1, cluster_bus_decode(text, key, &back));
}

TEST(refuses_what_is_not_base64_or_tlv)
{
	struct cluster_msg m;

	EXPECT_EQ(-1, cluster_bus_decode("", NULL, &m));
	EXPECT_EQ(-1, cluster_bus_decode("abc", NULL, &m));
	EXPECT_EQ(-1, cluster_bus_decode("a'b;", NULL, &m));
	EXPECT_EQ(-1, cluster_bus_decode("AAAA", NULL, &m));
}

TEST(refuses_bad_instance_names)
{
	struct shoal_tlv_writer w;
	struct cluster_msg m;

	start(&w, CB_GONE, "m 3");
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_GONE, "");
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_GONE, "123456789012345678901234567890123");
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_GONE, "12345678901234567890123456789012");
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(0, cluster_bus_decode(raw(&w), NULL, &m));
}

TEST(refuses_missing_and_misshapen_attributes)
{
	uint8_t key[32] = { 1 };
	struct shoal_tlv_writer w;
	struct cluster_msg m;

	/* OFFLINE without a reason, with reason 0 (quiet), with a short key */
	start(&w, CB_OFFLINE, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 3);
	shoal_tlv_put(&w, CB_A_KEY, key, 32);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_OFFLINE, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 3);
	shoal_tlv_put(&w, CB_A_KEY, key, 32);
	shoal_tlv_put_u8(&w, CB_A_REASON, 0);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_OFFLINE, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 3);
	shoal_tlv_put(&w, CB_A_KEY, key, 31);
	shoal_tlv_put_u8(&w, CB_A_REASON, 2);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	/* client id 0 */
	start(&w, CB_NAT, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 0);
	shoal_tlv_put(&w, CB_A_NAT, key, 3);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	/* a BEAT whose ADVERTISE has no port, or a space */
	start(&w, CB_BEAT, "m1");
	shoal_tlv_put_str(&w, CB_A_ADVERTISE, "host");
	shoal_tlv_put_u32(&w, CB_A_LOAD, 1);
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_BEAT, "m1");
	shoal_tlv_put_str(&w, CB_A_ADVERTISE, "ho st:1");
	shoal_tlv_put_u32(&w, CB_A_LOAD, 1);
	shoal_tlv_put_u64(&w, CB_A_STARTED, 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	/* an unknown type */
	start(&w, 99, "m1");
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
}

TEST(refuses_too_many_pairs_or_endpoints)
{
	uint8_t key[32] = { 1 }, ep[7] = { 4, 1, 2, 3, 4, 0, 9 };
	struct shoal_tlv_writer w;
	struct cluster_msg m;
	int i;

	start(&w, CB_CHANGED, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 3);
	shoal_tlv_put(&w, CB_A_KEY, key, 32);
	for (i = 0; i <= CLUSTER_CHANGE_MAX; i++)
		shoal_tlv_put_u64(&w, CB_A_ADDED, (uint64_t)i + 1);
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
	start(&w, CB_ONLINE, "m1");
	shoal_tlv_put_u64(&w, CB_A_CLIENT, 3);
	shoal_tlv_put(&w, CB_A_KEY, key, 32);
	shoal_tlv_put_str(&w, CB_A_NICK, "a");
	shoal_tlv_put(&w, CB_A_IPV4, key, 4);
	shoal_tlv_put(&w, CB_A_IPV6, key, 16);
	shoal_tlv_put(&w, CB_A_MAC, key, 6);
	for (i = 0; i <= MED_MAX_ENDPOINTS; i++)
		shoal_tlv_put(&w, CB_A_ENDPOINT, ep, sizeof(ep));
	EXPECT_EQ(-1, cluster_bus_decode(raw(&w), NULL, &m));
}

TEST(deliver_takes_a_relay_event_only)
{
	struct cluster_msg m = { .type = CB_DELIVER }, back;
	struct shoal_tlv_writer w;
	int n;

	strcpy(m.instance, "m2");
	m.client = 11;
	shoal_tlv_writer_init(&w, m.msg, sizeof(m.msg), MED_RELAY_EVENT, 0, 0);
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, 5);
	n = shoal_tlv_finish(&w);
	ASSERT_LT(0, n);
	m.msg_len = (uint16_t)n;
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	ASSERT_EQ(0, cluster_bus_decode(text, NULL, &back));
	EXPECT_EQ(11, back.client);
	EXPECT_EQ(m.msg_len, back.msg_len);
	EXPECT_EQ(0, memcmp(m.msg, back.msg, m.msg_len));
	/* a PEER_UP is no message an instance delivers for another */
	shoal_tlv_writer_init(&w, m.msg, sizeof(m.msg), MED_PEER_UP, 0, 0);
	n = shoal_tlv_finish(&w);
	m.msg_len = (uint16_t)n;
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	EXPECT_EQ(-1, cluster_bus_decode(text, NULL, &back));
	/* nor bytes that are no message */
	memset(m.msg, 0xff, 16);
	m.msg_len = 16;
	ASSERT_EQ(0, cluster_bus_encode(&m, NULL, text, sizeof(text)));
	EXPECT_EQ(-1, cluster_bus_decode(text, NULL, &back));
}

TEST_HARNESS_MAIN
