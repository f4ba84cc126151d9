// SPDX-License-Identifier: MIT
/*
 * lib/medmsg.c: finding a member's key in a NETWORKS reply, which is how
 * shoald turns the nickname given to `shoal kick` and friends into the
 * key the mediator takes.  The replies are built here by hand.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

#include "medmsg.h"
#include "tlv.h"

static uint8_t buf[4096];

struct member {
	const char *nick;
	uint8_t key_byte;
	size_t key_len;
};

static void put_network(struct shoal_tlv_writer *w, const char *name,
			const struct member *m, size_t n)
{
	uint8_t key[33];
	size_t i;

	shoal_tlv_nest_start(w, MED_A_NETWORK_INFO);
	shoal_tlv_put_str(w, MED_A_NETWORK, name);
	for (i = 0; i < n; i++) {
		memset(key, m[i].key_byte, sizeof(key));
		shoal_tlv_nest_start(w, MED_A_MEMBER);
		shoal_tlv_put_str(w, MED_A_NICKNAME, m[i].nick);
		shoal_tlv_put(w, MED_A_PUBLIC_KEY, key, m[i].key_len);
		shoal_tlv_nest_end(w);
	}
	shoal_tlv_nest_end(w);
}

/* A NETWORKS reply: "lan" with lan[], then "club" with club[]. */
static int reply(struct shoal_tlv_msg *msg, const struct member *lan,
		 size_t n_lan, const struct member *club, size_t n_club)
{
	struct shoal_tlv_writer w;
	int len;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_NETWORKS,
			      SHOAL_TLV_F_REPLY, 7);
	shoal_tlv_put_u32(&w, MED_A_RESULT, 0);
	put_network(&w, "lan", lan, n_lan);
	put_network(&w, "club", club, n_club);
	len = shoal_tlv_finish(&w);
	return len < 0 ? -1 : shoal_tlv_parse(msg, buf, (size_t)len);
}

TEST(member_found_by_nickname)
{
	static const struct member lan[] = {
		{ "alice", 1, 32 }, { "Bob", 2, 32 },
	};
	static const struct member club[] = {
		{ "carol", 3, 32 }, { "bob", 4, 32 },
	};
	struct shoal_tlv_msg msg;
	uint8_t key[32], want[32];

	ASSERT_EQ(0, reply(&msg, lan, 2, club, 2));
	EXPECT_EQ(1u, shoal_med_member_key(&msg, "lan", "bob", key));
	memset(want, 2, sizeof(want));
	EXPECT_EQ(0, memcmp(key, want, 32));
	/* The network decides, and names ignore case as the mediator's do. */
	EXPECT_EQ(1u, shoal_med_member_key(&msg, "CLUB", "BOB", key));
	memset(want, 4, sizeof(want));
	EXPECT_EQ(0, memcmp(key, want, 32));
}

TEST(member_unknown)
{
	static const struct member lan[] = { { "alice", 1, 32 } };
	static const struct member club[] = { { "carol", 3, 32 } };
	struct shoal_tlv_msg msg;
	uint8_t key[32];

	ASSERT_EQ(0, reply(&msg, lan, 1, club, 1));
	EXPECT_EQ(0u, shoal_med_member_key(&msg, "lan", "carol", key));
	EXPECT_EQ(0u, shoal_med_member_key(&msg, "wan", "alice", key));
	EXPECT_EQ(0u, shoal_med_member_key(&msg, "lan", "alic", key));
}

/* Two members by one name: only a broken or hostile mediator sends it. */
TEST(member_ambiguous)
{
	static const struct member lan[] = {
		{ "bob", 1, 32 }, { "BOB", 2, 32 }, { "alice", 3, 32 },
	};
	struct shoal_tlv_msg msg;
	uint8_t key[32];

	ASSERT_EQ(0, reply(&msg, lan, 3, NULL, 0));
	EXPECT_EQ(2u, shoal_med_member_key(&msg, "lan", "bob", key));
}

/* A PUBLIC_KEY that is not 32 bytes names nobody. */
TEST(member_bad_key)
{
	static const struct member lan[] = {
		{ "bob", 1, 31 }, { "carol", 2, 33 },
	};
	struct shoal_tlv_msg msg;
	uint8_t key[32];

	ASSERT_EQ(0, reply(&msg, lan, 2, NULL, 0));
	EXPECT_EQ(0u, shoal_med_member_key(&msg, "lan", "bob", key));
	EXPECT_EQ(0u, shoal_med_member_key(&msg, "lan", "carol", key));
}

/* The NAT attribute: exactly 3 bytes; kinds past the known are unknown. */
TEST(nat_refusals)
{
	static const uint8_t good[] = { 3, 3, 0 }, odd[] = { 9, 2, 0xff };
	struct shoal_nat n;
	uint8_t out[MED_NAT_LEN];

	EXPECT_EQ(-1, shoal_med_nat_get(good, 2, &n));
	EXPECT_FALSE(n.known);
	EXPECT_EQ(-1, shoal_med_nat_get(good, 4, &n));
	EXPECT_EQ(-1, shoal_med_nat_get(NULL, 0, &n));
	ASSERT_EQ(0, shoal_med_nat_get(good, 3, &n));
	EXPECT_TRUE(n.known);
	EXPECT_EQ((int)SHOAL_NAT_ADDRESS_PORT, n.mapping);
	EXPECT_FALSE(n.udp_blocked);
	shoal_med_nat_put(out, &n);
	EXPECT_EQ(0, memcmp(out, good, 3));
	ASSERT_EQ(0, shoal_med_nat_get(odd, 3, &n));
	EXPECT_EQ((int)SHOAL_NAT_UNKNOWN, n.mapping);
	EXPECT_EQ((int)SHOAL_NAT_ADDRESS, n.filtering);
	EXPECT_TRUE(n.udp_blocked);
	EXPECT_STREQ("unknown", shoal_nat_kind_name(9));
	EXPECT_EQ((int)SHOAL_NAT_ADDRESS, shoal_nat_kind_of("address-dependent"));
	EXPECT_EQ((int)SHOAL_NAT_UNKNOWN, shoal_nat_kind_of("cone"));
}

/* The lab's pairs: b cone-filtered, c full cone, d and e symmetric. */
TEST(nat_plan)
{
	const struct shoal_nat none = { 0 };
	const struct shoal_nat b = { true, 1, 3, false };
	const struct shoal_nat c = { true, 1, 1, false };
	const struct shoal_nat d = { true, 3, 3, false };
	const struct shoal_nat ad = { true, 2, 2, false };
	const struct shoal_nat blocked = { true, 0, 0, true };

	EXPECT_EQ((int)SHOAL_NAT_PUNCH, (int)shoal_nat_plan(&none, &d, false));
	EXPECT_EQ((int)SHOAL_NAT_PUNCH, (int)shoal_nat_plan(&d, &none, false));
	EXPECT_EQ((int)SHOAL_NAT_RELAY_NOW, (int)shoal_nat_plan(&d, &d, false));
	EXPECT_EQ((int)SHOAL_NAT_RELAY_NOW, (int)shoal_nat_plan(&ad, &d, false));
	EXPECT_EQ((int)SHOAL_NAT_PUNCH, (int)shoal_nat_plan(&d, &d, true));
	EXPECT_EQ((int)SHOAL_NAT_RELAY_NOW, (int)shoal_nat_plan(&c, &blocked, true));
	EXPECT_EQ((int)SHOAL_NAT_RELAY_NOW, (int)shoal_nat_plan(&blocked, &c, false));
	EXPECT_EQ((int)SHOAL_NAT_BIRTHDAY_HARD, (int)shoal_nat_plan(&d, &b, false));
	EXPECT_EQ((int)SHOAL_NAT_BIRTHDAY_EASY, (int)shoal_nat_plan(&b, &d, false));
	EXPECT_EQ((int)SHOAL_NAT_PUNCH, (int)shoal_nat_plan(&c, &d, false));
	EXPECT_EQ((int)SHOAL_NAT_PUNCH, (int)shoal_nat_plan(&b, &b, false));
}

/*
 * INSTANCE nests as a mediator might send them: name, advertise and load
 * as raw attributes (len_load 0: no load), so that malformed ones can be
 * built past the writer's own checks.
 */
static int instance_msg(struct shoal_tlv_msg *msg, uint16_t type,
			const char *name, size_t name_len, const char *adv,
			size_t adv_len, size_t load_len)
{
	static const uint8_t load[8] = { 0, 0, 1, 2, 3, 4, 5, 6 };
	struct shoal_tlv_writer w;
	int len;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_INSTANCES, 0, 0);
	shoal_tlv_nest_start(&w, type);
	if (name)
		shoal_tlv_put(&w, MED_A_INSTANCE_NAME, name, name_len);
	if (adv)
		shoal_tlv_put(&w, MED_A_ADVERTISE, adv, adv_len);
	if (load_len)
		shoal_tlv_put(&w, MED_A_INSTANCE_LOAD, load, load_len);
	shoal_tlv_nest_end(&w);
	len = shoal_tlv_finish(&w);
	return len < 0 ? -1 : shoal_tlv_parse(msg, buf, (size_t)len);
}

/* The first attribute of the message, read as an instance. */
static int instance_of(const struct shoal_tlv_msg *msg,
		       struct shoal_med_instance *in)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;

	shoal_tlv_iter_msg(&it, msg);
	if (!shoal_tlv_next(&it, &a))
		return -2;
	return shoal_med_instance_get(&a, in);
}

#define INSTANCE(name, adv, load_len) \
	instance_msg(&msg, MED_A_INSTANCE, name, sizeof(name) - 1, adv, \
		     sizeof(adv) - 1, load_len)

TEST(instance_round_trip)
{
	struct shoal_med_instance in = {
		.name = "med-b.2_x", .advertise = "[2001:db8::2]:51800",
		.load = 70000, .has_load = true,
	}, out;
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg msg;
	int len;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_INSTANCES, 0, 0);
	ASSERT_EQ(0, shoal_med_instance_put(&w, &in));
	len = shoal_tlv_finish(&w);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, shoal_tlv_parse(&msg, buf, (size_t)len));
	ASSERT_EQ(0, instance_of(&msg, &out));
	EXPECT_STREQ("med-b.2_x", out.name);
	EXPECT_STREQ("[2001:db8::2]:51800", out.advertise);
	EXPECT_EQ(70000u, out.load);
	EXPECT_TRUE(out.has_load);
	/* No load: unknown, still an instance. */
	ASSERT_EQ(0, INSTANCE("a", "a.example:1", 0));
	ASSERT_EQ(0, instance_of(&msg, &out));
	EXPECT_FALSE(out.has_load);
	EXPECT_EQ(0u, out.load);
}

TEST(instance_refused)
{
	char long_name[MED_INSTANCE_NAME_MAX + 2], long_adv[MED_ADVERTISE_MAX + 2];
	struct shoal_med_instance out;
	struct shoal_tlv_msg msg;

	memset(long_name, 'n', sizeof(long_name));
	memset(long_adv, 'a', sizeof(long_adv));
	/* Names: 1 to 32 of A-Z a-z 0-9 . _ -, and there. */
	ASSERT_EQ(0, INSTANCE("a/b", "h:1", 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	EXPECT_STREQ("", out.name);
	ASSERT_EQ(0, INSTANCE("a b", "h:1", 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, INSTANCE("\xc3\xa9t\xc3\xa9", "h:1", 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, "", 0, "h:1", 3, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, long_name,
				  MED_INSTANCE_NAME_MAX, "h:1", 3, 4));
	EXPECT_EQ(0, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, long_name,
				  MED_INSTANCE_NAME_MAX + 1, "h:1", 3, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, NULL, 0, "h:1", 3, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	/* ADVERTISE: there, not empty, at most 255 bytes of text. */
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, "a", 1, NULL, 0, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, "a", 1, "", 0, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, "a", 1, long_adv,
				  MED_ADVERTISE_MAX, 4));
	EXPECT_EQ(0, instance_of(&msg, &out));
	ASSERT_EQ(0, instance_msg(&msg, MED_A_INSTANCE, "a", 1, long_adv,
				  MED_ADVERTISE_MAX + 1, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, INSTANCE("a", "h:1\n", 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	/* LOAD: a be32 when there. */
	ASSERT_EQ(0, INSTANCE("a", "h:1", 3));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	ASSERT_EQ(0, INSTANCE("a", "h:1", 8));
	EXPECT_EQ(-1, instance_of(&msg, &out));
	/* Only the INSTANCE nest: not another nest with the same inside. */
	ASSERT_EQ(0, instance_msg(&msg, MED_A_PEER, "a", 1, "h:1", 3, 4));
	EXPECT_EQ(-1, instance_of(&msg, &out));
}

TEST(instance_put_refuses)
{
	struct shoal_med_instance in = { .name = "ok", .advertise = "h:1" };
	struct shoal_tlv_writer w;

	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_INSTANCES, 0, 0);
	snprintf(in.name, sizeof(in.name), "no/slash");
	EXPECT_EQ(-1, shoal_med_instance_put(&w, &in));
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_INSTANCES, 0, 0);
	snprintf(in.name, sizeof(in.name), "ok");
	in.advertise[0] = '\0';
	EXPECT_EQ(-1, shoal_med_instance_put(&w, &in));
	EXPECT_EQ(-1, shoal_tlv_finish(&w));
	/* A tiny buffer: no room is a failure too. */
	shoal_tlv_writer_init(&w, buf, SHOAL_TLV_HDR_LEN + 6, MED_INSTANCES, 0, 0);
	snprintf(in.advertise, sizeof(in.advertise), "h:1");
	EXPECT_EQ(-1, shoal_med_instance_put(&w, &in));
}

TEST_HARNESS_MAIN
