// SPDX-License-Identifier: MIT
/*
 * daemon/ratelimit.c: what INITs and cookie replies a flood can buy, and
 * the share the peers' known endpoints keep of each.
 */
#include <string.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "../../daemon/ratelimit.h"

static struct shoal_endpoint v4(uint32_t addr, uint16_t port)
{
	struct shoal_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in.sin_family = AF_INET;
	ep.in.sin_addr.s_addr = htonl(addr);
	ep.in.sin_port = htons(port);
	ep.len = sizeof(ep.in);
	return ep;
}

static struct shoald_ratelimit *limiter(void)
{
	static struct shoald_ratelimit rl;

	if (sodium_init() < 0)
		abort();
	/* 20/s bursts of 40 a source, 200/s in all, load past 100/s, 2000 cookies/s. */
	shoald_ratelimit_init(&rl, 20, 40, 200, 100, 2000);
	return &rl;
}

TEST(under_load_past_the_arrival_rate)
{
	struct shoald_ratelimit *rl = limiter();
	int i, loaded = 0;

	for (i = 0; i < 100; i++)
		loaded += shoald_ratelimit_under_load(rl, 10.0);
	EXPECT_EQ(0, loaded);
	EXPECT_TRUE(shoald_ratelimit_under_load(rl, 10.0));
	/* For a second after the last excess, then not. */
	EXPECT_TRUE(shoald_ratelimit_under_load(rl, 10.9));
	EXPECT_FALSE(shoald_ratelimit_under_load(rl, 12.0));
}

TEST(cookie_replies_are_bounded_and_the_peers_keep_half)
{
	struct shoald_ratelimit *rl = limiter();
	int i, other = 0, known = 0;

	/* A flood from unknown sources gets 1000 in a second, then none. */
	for (i = 0; i < 5000; i++)
		other += shoald_ratelimit_cookie_allow(rl, false, 1.0);
	EXPECT_EQ(1000, other);
	/* A known endpoint still gets its own half... */
	for (i = 0; i < 2000; i++)
		known += shoald_ratelimit_cookie_allow(rl, true, 1.0);
	EXPECT_EQ(1000, known);
	EXPECT_FALSE(shoald_ratelimit_cookie_allow(rl, true, 1.0));
	/* ... and both refill with time. */
	EXPECT_TRUE(shoald_ratelimit_cookie_allow(rl, false, 1.01));
	EXPECT_TRUE(shoald_ratelimit_cookie_allow(rl, true, 1.01));
}

TEST(per_source_bucket_ignores_the_port)
{
	struct shoald_ratelimit *rl = limiter();
	struct shoal_endpoint ep;
	int i, got = 0;

	/* A new source starts with one token, then earns 20 a second. */
	for (i = 0; i < 50; i++) {
		ep = v4(0xc0000201, (uint16_t)(1000 + i));
		got += shoald_ratelimit_allow(rl, &ep, true, false, 1.0);
	}
	EXPECT_EQ(1, got);
	ep = v4(0xc0000201, 7);
	EXPECT_TRUE(shoald_ratelimit_allow(rl, &ep, true, false, 1.05));
	EXPECT_FALSE(shoald_ratelimit_allow(rl, &ep, true, false, 1.05));
}

TEST(spoofed_inits_do_not_drain_a_peers_bucket)
{
	struct shoald_ratelimit *rl = limiter();
	struct shoal_endpoint peer = v4(0xc0000202, 51820);
	struct shoal_endpoint spoof = v4(0xc0000202, 4000);
	int i, refused = 0;

	/*
	 * 90 a second with the peer's address, below the load threshold:
	 * unproven, they cost the global budget only...
	 */
	for (i = 0; i < 90; i++)
		refused += !shoald_ratelimit_allow(rl, &spoof, false, true,
						   1.0 + i / 100.0);
	EXPECT_EQ(0, refused);
	/* ... and the peer's own bucket is untouched when it proves itself. */
	EXPECT_TRUE(shoald_ratelimit_allow(rl, &peer, true, true, 1.895));
}

TEST(known_endpoints_keep_half_the_global_budget)
{
	struct shoald_ratelimit *rl = limiter();
	struct shoal_endpoint ep;
	int i, other = 0, known = 0;

	/* 500 sources at one INIT each: only the other half is spent. */
	for (i = 0; i < 500; i++) {
		ep = v4(0x0a630000 + (uint32_t)i, 1);
		other += shoald_ratelimit_allow(rl, &ep, true, false, 1.0);
	}
	EXPECT_EQ(100, other);
	for (i = 0; i < 500; i++) {
		ep = v4(0xc6336400 + (uint32_t)i, 1);
		known += shoald_ratelimit_allow(rl, &ep, true, true, 1.0);
	}
	EXPECT_EQ(100, known);
}

TEST_HARNESS_MAIN
