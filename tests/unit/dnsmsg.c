// SPDX-License-Identifier: MIT
/*
 * shoald's DNS codec (lib/dnsmsg.c): the answers for members' names and
 * addresses, and every refusal -- what is dropped, FORMERR, NOTIMP,
 * BADVERS, REFUSED, NXDOMAIN -- with the bytes a resolver would send.
 */
#include <string.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

#include "dnsmsg.h"

static const struct shoal_dns_name names[] = {
	{ .nick = "alice", .network = "lanparty", .has_v4 = true,
	  .v4 = { 10, 77, 0, 2 }, .has_v6 = true,
	  .v6 = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0, 0, 0, 0, 0, 0,
		  0, 2 } },
	{ .nick = "bob", .network = "lanparty", .has_v4 = true,
	  .v4 = { 10, 77, 0, 3 } },
	/* bob is in a second network too: one address, once. */
	{ .nick = "bob", .network = "work", .has_v4 = true,
	  .v4 = { 10, 77, 0, 3 } },
	{ .nick = "me", .network = "", .has_v4 = true, .v4 = { 10, 77, 0, 9 } },
};

static const struct shoal_dns_zone zone = {
	.names = names, .n_names = 4,
	.v4 = { 10, 77, 0, 0 }, .v4_len = 16,
	.v6 = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0 }, .v6_len = 64,
};

/* A query for name (dotted text) of type, with an OPT record if edns. */
static size_t query(uint8_t *buf, const char *name, uint16_t type, bool edns)
{
	size_t len = 12, n;
	const char *dot;

	memset(buf, 0, 12);
	buf[0] = 0x12;
	buf[1] = 0x34;
	buf[2] = 0x01;		/* RD */
	buf[5] = 1;
	while (*name) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		buf[len++] = (uint8_t)n;
		memcpy(buf + len, name, n);
		len += n;
		name += n + (dot ? 1 : 0);
	}
	buf[len++] = 0;
	buf[len++] = (uint8_t)(type >> 8);
	buf[len++] = (uint8_t)type;
	buf[len++] = 0;
	buf[len++] = 1;
	if (edns) {
		static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0,
					       0, 0 };

		buf[11] = 1;
		memcpy(buf + len, opt, sizeof(opt));
		len += sizeof(opt);
	}
	return len;
}

static int respond(const uint8_t *q, size_t len, uint8_t *out, size_t *out_len)
{
	int rcode;

	*out_len = shoal_dns_respond(&zone, q, len, out, 1500, false, &rcode);
	return rcode;
}

static unsigned int count(const uint8_t *r, int i)
{
	return (unsigned int)(r[4 + 2 * i] << 8 | r[5 + 2 * i]);
}

TEST(a_of_member)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql = query(q, "BoB.shoal", SHOAL_DNS_T_A, false), rl;

	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	ASSERT_EQ(ql + 16, rl);
	EXPECT_EQ(0x12, r[0]);
	EXPECT_EQ(0x85, r[2]);	/* QR, AA, RD */
	EXPECT_EQ(0x00, r[3]);	/* no RA: no recursion */
	EXPECT_EQ(1u, count(r, 0));
	EXPECT_EQ(1u, count(r, 1));
	EXPECT_EQ(0u, count(r, 3));
	EXPECT_EQ(0, memcmp(r + rl - 4, "\x0a\x4d\x00\x03", 4));
}

TEST(network_name_is_exact)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;

	ql = query(q, "bob.work.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(1u, count(r, 1));
	ql = query(q, "alice.work.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, respond(q, ql, r, &rl));
	/* The SOA for the negative cache, owner shoal. */
	EXPECT_EQ(0u, count(r, 1));
	EXPECT_EQ(1u, count(r, 2));
	/* Our own name has no network. */
	ql = query(q, "me.lanparty.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, respond(q, ql, r, &rl));
	ql = query(q, "me.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	ql = query(q, "x.bob.work.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, respond(q, ql, r, &rl));
}

TEST(aaaa_and_nodata)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;

	ql = query(q, "alice.shoal", SHOAL_DNS_T_AAAA, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	ASSERT_EQ(1u, count(r, 1));
	EXPECT_EQ(0, memcmp(r + rl - 16, names[0].v6, 16));
	/* bob has no IPv6: the name is there, the type not. */
	ql = query(q, "bob.shoal", SHOAL_DNS_T_AAAA, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(0u, count(r, 1));
	EXPECT_EQ(1u, count(r, 2));
	ql = query(q, "alice.shoal", SHOAL_DNS_T_ANY, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(2u, count(r, 1));
	ql = query(q, "shoal", SHOAL_DNS_T_SOA, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(1u, count(r, 1));
}

TEST(ptr)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;

	ql = query(q, "3.0.77.10.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	ASSERT_EQ(1u, count(r, 1));
	EXPECT_EQ(0, memcmp(r + rl - 11, "\3bob\5shoal\0", 11));
	ql = query(q, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa",
		   SHOAL_DNS_T_PTR, false);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	ASSERT_EQ(1u, count(r, 1));
	EXPECT_EQ(0, memcmp(r + rl - 13, "\5alice\5shoal\0", 13));
	/* In the zone, nobody's. */
	ql = query(q, "99.0.77.10.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, respond(q, ql, r, &rl));
	EXPECT_EQ(1u, count(r, 2));
	ql = query(q, "x.0.77.10.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, respond(q, ql, r, &rl));
	ql = query(q, "77.10.in-addr.arpa", SHOAL_DNS_T_SOA, false);
	EXPECT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(1u, count(r, 1));
}

TEST(refused_outside)
{
	static const char *const outside[] = {
		"example.com", "com", "shoal.example", "in-addr.arpa",
		"10.in-addr.arpa", "3.0.78.10.in-addr.arpa",
		"1.1.168.192.in-addr.arpa", "010.in-addr.arpa",
		"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.a.9.8.7.6.5.4.3.2.1.d.e.ip6.arpa",
		"arpa", "",
	};
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl, i;

	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		ql = query(q, outside[i], SHOAL_DNS_T_A, false);
		EXPECT_EQ(SHOAL_DNS_REFUSED, respond(q, ql, r, &rl));
		/* The question only, no AA, no records. */
		EXPECT_EQ(ql, rl);
		EXPECT_EQ(0x81, r[2]);
		EXPECT_EQ(0x05, r[3]);
	}
	/* Class CH (version.bind and the like): not ours. */
	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, false);
	q[ql - 1] = 3;
	EXPECT_EQ(SHOAL_DNS_REFUSED, respond(q, ql, r, &rl));
}

/*
 * A prefix that ends inside a label (the mediator's 100.64.0.0/10): the
 * zone is 100.in-addr.arpa, but of it only 100.64/10 is the overlay's;
 * the rest is public space shoald must not claim (NXDOMAIN would be a
 * lie, and resolved sends it the whole zone).
 */
TEST(reverse_prefix_inside_a_label)
{
	static const struct shoal_dns_name n10[] = {
		{ .nick = "bob", .network = "lanparty", .has_v4 = true,
		  .v4 = { 100, 64, 0, 3 } },
	};
	static const struct shoal_dns_zone z10 = {
		.names = n10, .n_names = 1,
		.v4 = { 100, 64, 0, 0 }, .v4_len = 10,
		.v6 = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0 }, .v6_len = 62,
	};
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;
	int rcode;

	ql = query(q, "3.0.64.100.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	rl = shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_NOERROR, rcode);
	EXPECT_EQ(0, memcmp(r + rl - 11, "\3bob\5shoal\0", 11));
	ql = query(q, "9.0.127.100.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, rcode);
	/* 100.1.1.1 and 100.128.0.1: public, not ours. */
	ql = query(q, "1.1.1.100.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_REFUSED, rcode);
	ql = query(q, "1.0.128.100.in-addr.arpa", SHOAL_DNS_T_PTR, false);
	shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_REFUSED, rcode);
	/* The same for a nibble: /62 ends inside the 16th nibble. */
	ql = query(q, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.0.0.0.a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa",
		   SHOAL_DNS_T_PTR, false);
	shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_REFUSED, rcode);
	ql = query(q, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa",
		   SHOAL_DNS_T_PTR, false);
	shoal_dns_respond(&z10, q, ql, r, 1500, false, &rcode);
	EXPECT_EQ(SHOAL_DNS_NXDOMAIN, rcode);
}

TEST(dropped)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;

	EXPECT_EQ(-1, respond(q, 0, r, &rl));
	EXPECT_EQ(0u, rl);
	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, false);
	EXPECT_EQ(-1, respond(q, 11, r, &rl));
	/* A response: never answered (no loops between servers). */
	q[2] |= 0x80;
	EXPECT_EQ(-1, respond(q, ql, r, &rl));
	EXPECT_EQ(0u, rl);
	/* No room for a reply. */
	q[2] &= 0x7f;
	EXPECT_EQ(0u, shoal_dns_respond(&zone, q, ql, r, 100, false, NULL));
}

TEST(formerr)
{
	uint8_t q[600] = { 0 }, r[1500];
	size_t ql, rl, i;

	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, false);
	/* Cut anywhere in the question. */
	for (i = 12; i < ql; i++) {
		EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, i, r, &rl));
		EXPECT_EQ(12u, rl);
		EXPECT_EQ(0u, count(r, 0));
	}
	/* Two questions, none, an answer record, an authority record. */
	q[5] = 2;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[5] = 0;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[5] = 1;
	q[7] = 1;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[7] = 0;
	q[9] = 1;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[9] = 0;
	q[11] = 2;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[11] = 0;
	/* Something after the question. */
	q[ql] = 0;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql + 1, r, &rl));
	/* A compression pointer in the question (a loop to itself). */
	q[12] = 0xc0;
	q[13] = 12;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[12] = 0x40;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	/* A label running past the end. */
	q[12] = 60;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	/* A name longer than 255. */
	memset(q + 12, 0, sizeof(q) - 12);
	for (i = 0; i < 5; i++) {
		q[12 + i * 64] = 63;
		memset(q + 13 + i * 64, 'a', 63);
	}
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, 12 + 5 * 64 + 5, r, &rl));
	/* An additional record that is no OPT, an OPT cut short. */
	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, true);
	q[ql - 9] = 1;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
	q[ql - 9] = 41;
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql - 1, r, &rl));
	q[ql - 1] = 4;		/* RDLENGTH past the end */
	EXPECT_EQ(SHOAL_DNS_FORMERR, respond(q, ql, r, &rl));
}

TEST(notimp_and_badvers)
{
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl;

	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, false);
	q[2] |= 5 << 3;		/* UPDATE */
	EXPECT_EQ(SHOAL_DNS_NOTIMP, respond(q, ql, r, &rl));
	EXPECT_EQ(12u, rl);
	EXPECT_EQ(0x04, r[3]);
	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, true);
	q[ql - 5] = 1;		/* EDNS version 1 */
	EXPECT_EQ(SHOAL_DNS_BADVERS, respond(q, ql, r, &rl));
	ASSERT_EQ(23u, rl);
	EXPECT_EQ(1u, count(r, 3));
	EXPECT_EQ(1, r[12 + 5]);	/* extended RCODE 16 >> 4 */
}

TEST(edns_reply_and_truncation)
{
	struct shoal_dns_name many[40];
	struct shoal_dns_zone z = zone;
	uint8_t q[300] = { 0 }, r[1500];
	size_t ql, rl, i;
	int rcode;

	ql = query(q, "bob.shoal", SHOAL_DNS_T_A, true);
	ASSERT_EQ(SHOAL_DNS_NOERROR, respond(q, ql, r, &rl));
	EXPECT_EQ(1u, count(r, 3));
	/* 40 members by one nickname: 32 addresses at most. */
	for (i = 0; i < 40; i++) {
		many[i] = names[0];
		snprintf(many[i].network, sizeof(many[i].network), "n%zu", i);
		many[i].v6[15] = (uint8_t)i;
	}
	z.names = many;
	z.n_names = 40;
	ql = query(q, "alice.shoal", SHOAL_DNS_T_AAAA, false);
	rl = shoal_dns_respond(&z, q, ql, r, sizeof(r), false, &rcode);
	EXPECT_EQ(SHOAL_DNS_NOERROR, rcode);
	/* 512 bytes: as many as fit, TC set. */
	EXPECT_LE(rl, 512u);
	EXPECT_EQ(0x02, r[2] & 0x02);
	EXPECT_LT(count(r, 1), 32u);
	rl = shoal_dns_respond(&z, q, ql, r, sizeof(r), true, &rcode);
	EXPECT_EQ(32u, count(r, 1));
	EXPECT_EQ(0, r[2] & 0x02);
}

TEST(reverse_zone_names)
{
	static const uint8_t v4[4] = { 10, 77, 0, 0 };
	static const uint8_t v6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a };
	char out[128];

	ASSERT_EQ(0, shoal_dns_reverse_zone(AF_INET, v4, 16, out, sizeof(out)));
	EXPECT_STREQ("77.10.in-addr.arpa", out);
	ASSERT_EQ(0, shoal_dns_reverse_zone(AF_INET, v4, 20, out, sizeof(out)));
	EXPECT_STREQ("77.10.in-addr.arpa", out);
	ASSERT_EQ(0, shoal_dns_reverse_zone(AF_INET6, v6, 48, out, sizeof(out)));
	EXPECT_STREQ("a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa", out);
	EXPECT_EQ(-1, shoal_dns_reverse_zone(AF_INET, v4, 33, out, sizeof(out)));
	EXPECT_EQ(-1, shoal_dns_reverse_zone(AF_INET, v4, 16, out, 10));
}

TEST_HARNESS_MAIN
