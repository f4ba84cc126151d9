// SPDX-License-Identifier: MIT
/*
 * The TAP datapath's allowed-IPs check (lib/srcguard.c): the same frames
 * tests/kernel/allowed_ips.sh sends through shoal.ko, and the edges of
 * each header it reads.
 */
#include <string.h>

#include <arpa/inet.h>

#include "kselftest_harness.h"

#include "srcguard.h"

struct frame {
	uint8_t b[128];
	size_t len;
};

static struct shoal_prefix prefix(const char *text)
{
	struct shoal_prefix p;

	if (shoal_prefix_parse(&p, text) < 0)
		memset(&p, 0, sizeof(p));
	return p;
}

/* Allowed: 10.95.0.2/32, fd95::2/128, fe80::/10. */
static bool allowed(const struct frame *f)
{
	const struct shoal_prefix list[] = {
		prefix("10.95.0.2/32"), prefix("fd95::2/128"),
		prefix("fe80::/10"),
	};

	return shoal_frame_sources_allowed(f->b, f->len, list, 3);
}

static struct frame eth(uint16_t type)
{
	struct frame f = { .len = 14 };

	memset(f.b, 0x02, 12);
	f.b[12] = (uint8_t)(type >> 8);
	f.b[13] = (uint8_t)type;
	return f;
}

static void put(struct frame *f, const void *p, size_t n)
{
	if (!n)		/* p may be NULL then, which memcpy may not take */
		return;
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static struct frame ip4(const char *src)
{
	struct frame f = eth(0x0800);
	uint8_t h[20] = { 0x45 };

	inet_pton(AF_INET, src, h + 12);
	put(&f, h, sizeof(h));
	return f;
}

/* The frame's source MAC, eth()'s. */
static const uint8_t own_mac[6] = { 2, 2, 2, 2, 2, 2 };

static struct frame arp(const char *sender, uint8_t hln, uint8_t pln)
{
	struct frame f = eth(0x0806);
	uint8_t h[28] = { 0, 1, 0x08, 0x00, hln, pln, 0, 2 };

	memcpy(h + 8, own_mac, 6);
	inet_pton(AF_INET, sender, h + 14);
	put(&f, h, sizeof(h));
	return f;
}

/* IPv6 from src, with the extension headers ext (len bytes, first type
 * first_nh) and then an ICMPv6 message of type icmp with target.
 */
static struct frame ip6(const char *src, uint8_t first_nh, const uint8_t *ext,
			size_t ext_len, uint8_t icmp, const char *target)
{
	struct frame f = eth(0x86dd);
	uint8_t h[40] = { 0x60 }, m[24] = { icmp };

	h[6] = ext_len ? first_nh : 58;
	inet_pton(AF_INET6, src, h + 8);
	put(&f, h, sizeof(h));
	put(&f, ext, ext_len);
	inet_pton(AF_INET6, target, m + 8);
	put(&f, m, sizeof(m));
	return f;
}

TEST(ipv4_source)
{
	struct frame f = ip4("10.95.0.2");

	EXPECT_TRUE(allowed(&f));
	f = ip4("10.95.0.3");
	EXPECT_FALSE(allowed(&f));
	f = ip4("0.0.0.0");
	EXPECT_TRUE(allowed(&f));
	f = ip4("10.95.0.2");
	f.len--;	/* a header cut short */
	EXPECT_FALSE(allowed(&f));
}

TEST(arp_sender)
{
	struct frame f = arp("10.95.0.2", 6, 4);

	EXPECT_TRUE(allowed(&f));
	f = arp("10.95.0.3", 6, 4);
	EXPECT_FALSE(allowed(&f));
	f = arp("0.0.0.0", 6, 4);
	EXPECT_TRUE(allowed(&f));
	f = arp("10.95.0.2", 8, 4);
	EXPECT_FALSE(allowed(&f));
	f = arp("10.95.0.2", 6, 16);
	EXPECT_FALSE(allowed(&f));
	f = arp("10.95.0.3", 6, 4);
	f.b[16] = 0x86;		/* about another protocol: no IPv4 claim */
	f.b[17] = 0xdd;
	EXPECT_TRUE(allowed(&f));
	f = arp("10.95.0.2", 6, 4);
	f.len = 14 + 8 + 6 + 3;
	EXPECT_FALSE(allowed(&f));
	/* Its own address, but another's MAC: traffic for it goes there. */
	f = arp("10.95.0.2", 6, 4);
	f.b[14 + 8 + 5] = 3;
	EXPECT_FALSE(allowed(&f));
	f = arp("0.0.0.0", 6, 4);
	f.b[14 + 8] = 6;
	EXPECT_FALSE(allowed(&f));
}

/* A neighbour solicitation or advertisement with one option. */
static struct frame nd_with_option(uint8_t icmp, const char *src,
				   const char *target, uint8_t type,
				   uint8_t units, const uint8_t *mac)
{
	struct frame f = ip6(src, 0, NULL, 0, icmp, target);
	uint8_t opt[16] = { type, units };

	memcpy(opt + 2, mac, 6);
	put(&f, opt, (size_t)units * 8);
	f.b[14 + 4] = 0;
	f.b[14 + 5] = (uint8_t)(24 + units * 8);	/* payload length */
	return f;
}

TEST(nd_link_layer_options)
{
	static const uint8_t other[6] = { 2, 2, 2, 2, 2, 3 };
	struct frame f;

	/* A solicitation's source option and an advertisement's target
	 * option: the frame's own MAC passes, another's does not.
	 */
	f = nd_with_option(135, "fd95::2", "fd95::9", 1, 1, own_mac);
	EXPECT_TRUE(allowed(&f));
	f = nd_with_option(135, "fd95::2", "fd95::9", 1, 1, other);
	EXPECT_FALSE(allowed(&f));
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 1, own_mac);
	EXPECT_TRUE(allowed(&f));
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 1, other);
	EXPECT_FALSE(allowed(&f));
	/* Another option kind is not read; a malformed list fails. */
	f = nd_with_option(136, "fd95::2", "fd95::2", 14, 1, other);
	EXPECT_TRUE(allowed(&f));
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 2, own_mac);
	EXPECT_FALSE(allowed(&f));
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 1, own_mac);
	f.b[14 + 40 + 24 + 1] = 0;	/* a zero length */
	EXPECT_FALSE(allowed(&f));
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 1, own_mac);
	f.len -= 1;			/* cut short */
	f.b[14 + 5] -= 1;
	EXPECT_FALSE(allowed(&f));
	/* Bytes after the payload are padding, not options. */
	f = nd_with_option(136, "fd95::2", "fd95::2", 2, 1, other);
	f.b[14 + 5] = 24;
	EXPECT_TRUE(allowed(&f));
}

/* A router solicitation: its source option comes after 8 bytes. */
TEST(rs_link_layer_option)
{
	static const uint8_t other[6] = { 2, 2, 2, 2, 2, 3 };
	struct frame f = eth(0x86dd);
	uint8_t h[40] = { 0x60, 0, 0, 0, 0, 16, 58, 255 };
	uint8_t rs[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1 };

	inet_pton(AF_INET6, "fd95::2", h + 8);
	inet_pton(AF_INET6, "ff02::2", h + 24);
	put(&f, h, sizeof(h));
	memcpy(rs + 10, own_mac, 6);
	put(&f, rs, sizeof(rs));
	EXPECT_TRUE(allowed(&f));
	memcpy(f.b + 14 + 40 + 10, other, 6);
	EXPECT_FALSE(allowed(&f));
	f.len -= 8;		/* no option: nothing to check */
	f.b[14 + 5] = 8;
	EXPECT_TRUE(allowed(&f));
}

TEST(ipv6_source_and_na_target)
{
	struct frame f = ip6("fd95::2", 0, NULL, 0, 128, "::");

	EXPECT_TRUE(allowed(&f));
	f = ip6("fd95::3", 0, NULL, 0, 128, "::");
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 0, NULL, 0, 136, "fd95::2");
	EXPECT_TRUE(allowed(&f));
	f = ip6("fe80::1", 0, NULL, 0, 136, "fd95::3");
	EXPECT_FALSE(allowed(&f));
	f = ip6("::", 0, NULL, 0, 135, "fd95::3");	/* DAD: a claim */
	EXPECT_FALSE(allowed(&f));
	f = ip6("::", 0, NULL, 0, 135, "fd95::2");
	EXPECT_TRUE(allowed(&f));
	f = ip6("fd95::2", 0, NULL, 0, 135, "fd95::3");	/* resolution */
	EXPECT_TRUE(allowed(&f));
	f = ip6("fe80::1", 0, NULL, 0, 134, "::");	/* a router's */
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 0, NULL, 0, 137, "fd95::2");	/* a redirect */
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 0, NULL, 0, 136, "fd95::2");
	f.len -= 1;		/* the target cut short */
	EXPECT_FALSE(allowed(&f));
}

TEST(ipv6_extension_headers)
{
	/* Hop-by-hop (8 bytes) then a fragment header, first fragment. */
	const uint8_t hop_frag[] = { 44, 0, 1, 4, 0, 0, 0, 0,
				     58, 0, 0x00, 0x01, 0, 0, 0, 1 };
	/* A later fragment: the NA header is not in it. */
	const uint8_t later[] = { 58, 0, 0x00, 0x09, 0, 0, 0, 1 };
	/* A destination-options header longer than the packet. */
	const uint8_t long_dest[] = { 58, 200, 1, 4, 0, 0, 0, 0 };
	const uint8_t none[] = { 59, 0, 1, 4, 0, 0, 0, 0 };
	/* A first fragment with more to come: its NA header is here. */
	const uint8_t first[] = { 58, 0, 0x00, 0x01, 0, 0, 0, 1 };
	/* A fragment header cut to 6 bytes, then nothing. */
	const uint8_t short_frag[] = { 58, 0, 0x00, 0x01, 0, 0 };
	struct frame f;

	f = ip6("fe80::1", 0, hop_frag, sizeof(hop_frag), 136, "fd95::3");
	EXPECT_FALSE(allowed(&f));
	/* Neighbour discovery is never fragmented (RFC 6980): refused. */
	f = ip6("fe80::1", 0, hop_frag, sizeof(hop_frag), 136, "fd95::2");
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 44, later, sizeof(later), 136, "fd95::3");
	EXPECT_TRUE(allowed(&f));
	f = ip6("fe80::1", 60, long_dest, sizeof(long_dest), 136, "fd95::2");
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 60, none, sizeof(none), 136, "fd95::2");
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 44, first, sizeof(first), 136, "fd95::3");
	EXPECT_FALSE(allowed(&f));
	f = ip6("fe80::1", 44, short_frag, sizeof(short_frag), 136, "fd95::2");
	f.len = 14 + 40 + sizeof(short_frag);
	EXPECT_FALSE(allowed(&f));
}

TEST(ethertypes)
{
	struct frame f = eth(0x8100);

	put(&f, "\x00\x07\x08\x00", 4);
	EXPECT_FALSE(allowed(&f));
	f = eth(0x88a8);
	EXPECT_FALSE(allowed(&f));
	f = eth(0x8137);	/* IPX, as old LAN games speak it */
	EXPECT_TRUE(allowed(&f));
	f = eth(0x0800);	/* no IPv4 header at all */
	EXPECT_FALSE(allowed(&f));
	f.len = 13;
	EXPECT_FALSE(allowed(&f));
}

TEST(wider_prefixes)
{
	const struct shoal_prefix list[] = { prefix("10.95.0.0/30"),
					     prefix("::/0") };
	struct frame f = ip4("10.95.0.3");

	EXPECT_TRUE(shoal_frame_sources_allowed(f.b, f.len, list, 2));
	f = ip4("10.95.0.4");
	EXPECT_FALSE(shoal_frame_sources_allowed(f.b, f.len, list, 2));
	f = ip6("2001:db8::1", 0, NULL, 0, 136, "fd00::9");
	EXPECT_TRUE(shoal_frame_sources_allowed(f.b, f.len, list, 2));
	/* ::/0 is every routable address, not every link-local one. */
	f = ip6("fe80::9", 0, NULL, 0, 128, "::");
	EXPECT_FALSE(shoal_frame_sources_allowed(f.b, f.len, list, 2));
	f = ip6("2001:db8::1", 0, NULL, 0, 136, "fe80::9");
	EXPECT_FALSE(shoal_frame_sources_allowed(f.b, f.len, list, 2));
	/* An empty list allows only what claims nothing. */
	f = ip4("10.95.0.3");
	EXPECT_FALSE(shoal_frame_sources_allowed(f.b, f.len, NULL, 0));
	f = ip4("0.0.0.0");
	EXPECT_TRUE(shoal_frame_sources_allowed(f.b, f.len, NULL, 0));
}

TEST_HARNESS_MAIN
