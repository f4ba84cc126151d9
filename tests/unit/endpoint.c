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

TEST_HARNESS_MAIN
