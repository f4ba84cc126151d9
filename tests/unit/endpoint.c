// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <string.h>

#include "kselftest_harness.h"

#include "endpoint.h"

static const char *roundtrip(const char *text)
{
	static char out[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_endpoint ep;

	if (shoal_endpoint_parse(&ep, text) < 0)
		return "(parse failed)";
	if (shoal_endpoint_format(out, sizeof(out), &ep) < 0)
		return "(format failed)";
	return out;
}

TEST(ipv4)
{
	struct shoal_endpoint ep;

	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "192.0.2.1:51820"));
	EXPECT_EQ(AF_INET, ep.sa.sa_family);
	EXPECT_EQ(sizeof(struct sockaddr_in), ep.len);
	EXPECT_EQ(htonl(0xc0000201), ep.in.sin_addr.s_addr);
	EXPECT_EQ(htons(51820), ep.in.sin_port);
	EXPECT_STREQ("192.0.2.1:51820", roundtrip("192.0.2.1:51820"));
	EXPECT_STREQ("0.0.0.0:1", roundtrip("0.0.0.0:1"));
	EXPECT_STREQ("255.255.255.255:65535", roundtrip("255.255.255.255:65535"));
}

TEST(ipv6)
{
	struct shoal_endpoint ep;

	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "[2001:db8::1]:5"));
	EXPECT_EQ(AF_INET6, ep.sa.sa_family);
	EXPECT_EQ(sizeof(struct sockaddr_in6), ep.len);
	EXPECT_EQ(htons(5), ep.in6.sin6_port);
	EXPECT_EQ(0x20, ep.in6.sin6_addr.s6_addr[0]);
	EXPECT_EQ(1, ep.in6.sin6_addr.s6_addr[15]);
	EXPECT_EQ(0u, ep.in6.sin6_scope_id);
	EXPECT_STREQ("[2001:db8::1]:5", roundtrip("[2001:DB8:0::1]:5"));
	EXPECT_STREQ("[::1]:65535", roundtrip("[::1]:65535"));
	EXPECT_STREQ("[::ffff:192.0.2.1]:7", roundtrip("[::ffff:192.0.2.1]:7"));
}

TEST(ipv6_scope)
{
	struct shoal_endpoint ep;

	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "[fe80::1%7]:5"));
	EXPECT_EQ(7u, ep.in6.sin6_scope_id);
	EXPECT_STREQ("[fe80::1%7]:5", roundtrip("[fe80::1%7]:5"));
	/* An interface name: lo exists in every network namespace. */
	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "[fe80::1%lo]:5"));
	EXPECT_NE(0u, ep.in6.sin6_scope_id);
	EXPECT_EQ(-1, shoal_endpoint_parse(&ep, "[fe80::1%]:5"));
	EXPECT_EQ(-1, shoal_endpoint_parse(&ep, "[fe80::1%0]:5"));
	EXPECT_EQ(-1, shoal_endpoint_parse(&ep, "[fe80::1%4294967296]:5"));
	EXPECT_EQ(-1, shoal_endpoint_parse(&ep, "[fe80::1%no-such-if0]:5"));
}

TEST(rejects_malformed)
{
	static const char *const bad[] = {
		"", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:99999999", "1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4: 1",
		"1.2.3.4:1 ", " 1.2.3.4:1", "1.2.3:4", "1.2.3.256:1",
		"01.2.3.4:1", "1.2.3.4.5:1", "localhost:1", "example.com:53",
		"::1:5", "[::1]", "[::1]:", "[::1]:0", "[::1]5", "[::1]:5x",
		"[1.2.3.4]:5", "[::1:5", "::1]:5", "[]:5", "[[::1]]:5",
		"[::1]:5:6", "1.2.3.4:5:6", "[::g]:5", "1.2.3.4:0x10",
		"[aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa]:1",
	};
	struct shoal_endpoint ep;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, shoal_endpoint_parse(&ep, bad[i]))
			TH_LOG("accepted '%s'", bad[i]);
		EXPECT_EQ(0u, ep.len);
	}
}

TEST(from_blob)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(9) };
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(8) };
	char text[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_endpoint ep;

	in.sin_addr.s_addr = htonl(0x7f000001);
	ASSERT_EQ(0, shoal_endpoint_from_blob(&ep, &in, sizeof(in)));
	ASSERT_LT(0, shoal_endpoint_format(text, sizeof(text), &ep));
	EXPECT_STREQ("127.0.0.1:8", text);
	ASSERT_EQ(0, shoal_endpoint_from_blob(&ep, &in6, sizeof(in6)));
	ASSERT_LT(0, shoal_endpoint_format(text, sizeof(text), &ep));
	EXPECT_STREQ("[::]:9", text);

	/* Wrong sizes for the family, other families, too short. */
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in, sizeof(in) - 1));
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in6, sizeof(in)));
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in, 1));
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in, 0));
	in.sin_family = AF_INET6;
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in, sizeof(in)));
	in.sin_family = AF_UNIX;
	EXPECT_EQ(-1, shoal_endpoint_from_blob(&ep, &in, sizeof(in)));
	EXPECT_EQ(0u, ep.len);
}

TEST(format_checks_room_and_family)
{
	char text[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_endpoint ep;

	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "192.0.2.1:51820"));
	EXPECT_EQ(15, shoal_endpoint_format(text, 16, &ep));
	EXPECT_EQ(-1, shoal_endpoint_format(text, 15, &ep));
	memset(&ep, 0, sizeof(ep));
	EXPECT_EQ(-1, shoal_endpoint_format(text, sizeof(text), &ep));
}

TEST(longest_fits)
{
	const char *longest =
		"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535";
	char text[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_endpoint ep;

	ASSERT_EQ(0, shoal_endpoint_parse(&ep, longest));
	ASSERT_LT(0, shoal_endpoint_format(text, sizeof(text), &ep));
}

static enum shoal_addr_kind kind_of(const char *text)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, text, a) == 1)
		return shoal_addr_kind(4, a);
	if (inet_pton(AF_INET6, text, a) == 1)
		return shoal_addr_kind(6, a);
	return (enum shoal_addr_kind)-1;
}

/* Candidate endpoints a peer may be made to send handshakes to. */
TEST(candidate_kinds)
{
	static const struct {
		const char *addr;
		enum shoal_addr_kind kind;
	} cases[] = {
		{ "0.0.0.0", SHOAL_ADDR_UNUSABLE },
		{ "0.1.2.3", SHOAL_ADDR_UNUSABLE },
		{ "127.0.0.1", SHOAL_ADDR_UNUSABLE },
		{ "127.255.1.2", SHOAL_ADDR_UNUSABLE },
		{ "224.0.0.1", SHOAL_ADDR_UNUSABLE },
		{ "239.255.255.250", SHOAL_ADDR_UNUSABLE },
		{ "240.0.0.1", SHOAL_ADDR_UNUSABLE },
		{ "255.255.255.255", SHOAL_ADDR_UNUSABLE },
		{ "169.254.1.1", SHOAL_ADDR_LINK_LOCAL },
		{ "10.1.2.3", SHOAL_ADDR_PRIVATE },
		{ "172.16.0.1", SHOAL_ADDR_PRIVATE },
		{ "172.31.255.254", SHOAL_ADDR_PRIVATE },
		{ "172.32.0.1", SHOAL_ADDR_GLOBAL },
		{ "192.168.1.10", SHOAL_ADDR_PRIVATE },
		{ "100.64.0.1", SHOAL_ADDR_PRIVATE },
		{ "100.128.0.1", SHOAL_ADDR_GLOBAL },
		{ "8.8.8.8", SHOAL_ADDR_GLOBAL },
		{ "203.0.113.5", SHOAL_ADDR_GLOBAL },
		{ "::", SHOAL_ADDR_UNUSABLE },
		{ "::1", SHOAL_ADDR_UNUSABLE },
		{ "::127.0.0.1", SHOAL_ADDR_UNUSABLE },
		{ "::ffff:192.168.1.1", SHOAL_ADDR_UNUSABLE },
		{ "ff02::1", SHOAL_ADDR_UNUSABLE },
		{ "ff05::2", SHOAL_ADDR_UNUSABLE },
		{ "fe80::1", SHOAL_ADDR_LINK_LOCAL },
		{ "febf::1", SHOAL_ADDR_LINK_LOCAL },
		{ "fec0::1", SHOAL_ADDR_GLOBAL },
		{ "fd12:3456::1", SHOAL_ADDR_PRIVATE },
		{ "fc00::1", SHOAL_ADDR_PRIVATE },
		{ "2001:db8::1", SHOAL_ADDR_GLOBAL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		EXPECT_EQ((int)cases[i].kind, (int)kind_of(cases[i].addr))
			TH_LOG("%s", cases[i].addr);
	EXPECT_EQ((int)SHOAL_ADDR_UNUSABLE,
		  (int)shoal_addr_kind(5, (uint8_t[16]){ 1 }));
}

TEST(addr_in)
{
	uint8_t a[16], p[16];

	inet_pton(AF_INET, "100.64.3.4", a);
	inet_pton(AF_INET, "100.64.0.0", p);
	EXPECT_TRUE(shoal_addr_in(4, a, p, 10));
	EXPECT_TRUE(shoal_addr_in(4, a, p, 16));
	EXPECT_FALSE(shoal_addr_in(4, a, p, 24));
	EXPECT_TRUE(shoal_addr_in(4, a, p, 0));
	EXPECT_FALSE(shoal_addr_in(4, a, p, 33));
	inet_pton(AF_INET6, "fd00:1:2::5", a);
	inet_pton(AF_INET6, "fc00::", p);
	EXPECT_TRUE(shoal_addr_in(6, a, p, 7));
	EXPECT_FALSE(shoal_addr_in(6, a, p, 8));
	EXPECT_FALSE(shoal_addr_in(6, a, p, 129));
}

/* shoald's check of a peer's candidates, a mediator's word or not. */
TEST(candidate_usable)
{
	static const struct {
		const char *text;
		bool usable, on_link_usable;
	} cases[] = {
		{ "192.168.1.10:51820", true, true },
		{ "203.0.113.5:51820", true, true },
		{ "[2001:db8::5]:51820", true, true },
		{ "[fd00::5]:51820", true, true },
		{ "127.0.0.1:51820", false, false },
		{ "0.0.0.0:51820", false, false },
		{ "224.0.0.251:5353", false, false },
		{ "255.255.255.255:51820", false, false },
		{ "[::1]:51820", false, false },
		{ "[::]:51820", false, false },
		{ "[ff02::1]:51820", false, false },
		{ "[::ffff:192.168.1.1]:51820", false, false },
		{ "[fe80::1]:51820", false, false },
		{ "169.254.3.4:51820", false, true },
	};
	struct shoal_endpoint ep;
	uint8_t addr[16];
	int family;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, shoal_endpoint_parse(&ep, cases[i].text));
		EXPECT_EQ(cases[i].usable,
			  shoal_candidate_usable(&ep, false, &family, addr))
			TH_LOG("%s", cases[i].text);
		EXPECT_EQ(cases[i].on_link_usable,
			  shoal_candidate_usable(&ep, true, &family, addr))
			TH_LOG("%s, on the link", cases[i].text);
	}
	ASSERT_EQ(0, shoal_endpoint_parse(&ep, "10.1.2.3:9"));
	ASSERT_TRUE(shoal_candidate_usable(&ep, false, &family, addr));
	EXPECT_EQ(4, family);
	EXPECT_EQ(10, addr[0]);
	EXPECT_EQ(3, addr[3]);
	/* No port, no family: nothing to send to. */
	ep.in.sin_port = 0;
	EXPECT_FALSE(shoal_candidate_usable(&ep, true, &family, addr));
	memset(&ep, 0, sizeof(ep));
	EXPECT_FALSE(shoal_candidate_usable(&ep, true, &family, addr));
}

TEST_HARNESS_MAIN
