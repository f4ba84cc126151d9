// SPDX-License-Identifier: MIT
#include <string.h>

#include <arpa/inet.h>

#include "srcguard.h"

#define ETH_HDR 14
#define IP4_HDR 20
#define IP6_HDR 40
#define ARP_HDR 8

/* IPv6 next headers that are extension headers (RFC 8200), and ND. */
enum {
	NH_HOP = 0, NH_ROUTING = 43, NH_FRAGMENT = 44, NH_AUTH = 51,
	NH_NONE = 59, NH_DEST = 60, NH_ICMPV6 = 58,
};

#define ND_ROUTER_SOLICITATION 133
#define ND_ROUTER_ADVERTISEMENT 134
#define ND_NEIGHBOUR_SOLICITATION 135
#define ND_NEIGHBOUR_ADVERTISEMENT 136
#define ND_REDIRECT 137
/* Neighbour discovery options that name a link-layer address. */
#define ND_OPT_SOURCE_LL 1
#define ND_OPT_TARGET_LL 2

static bool link_local(const uint8_t *addr)
{
	return addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;
}

/*
 * A link-local address is inside only a prefix inside fe80::/10: ::/0 or
 * 8000::/1 allow a peer every routable address, not every other peer's
 * link-local one.
 */
static bool inside(const struct shoal_prefix *allowed, size_t n, int family,
		   const uint8_t *addr)
{
	struct shoal_prefix p = { .family = family };
	size_t i;

	if (family == AF_INET) {
		memcpy(&p.addr.v4, addr, 4);
		p.len = 32;
		return shoal_prefix_within(allowed, n, &p);
	}
	memcpy(&p.addr.v6, addr, 16);
	p.len = 128;
	if (!link_local(addr))
		return shoal_prefix_within(allowed, n, &p);
	for (i = 0; i < n; i++)
		if (allowed[i].family == AF_INET6 && allowed[i].len >= 10 &&
		    link_local(allowed[i].addr.v6.s6_addr) &&
		    shoal_prefix_within(&allowed[i], 1, &p))
			return true;
	return false;
}

static bool unspecified(const uint8_t *addr, size_t len)
{
	while (len--)
		if (addr[len])
			return false;
	return true;
}

static bool ipv4(const uint8_t *ip, size_t len,
		 const struct shoal_prefix *allowed, size_t n)
{
	if (len < IP4_HDR)
		return false;
	return unspecified(ip + 12, 4) || inside(allowed, n, AF_INET, ip + 12);
}

/*
 * An ARP packet's sender MAC is where the hosts that read it send to its
 * sender address: it must be the frame's own source, or a peer could
 * steer traffic for its own address to another peer.
 */
static bool arp(const uint8_t *a, size_t len, const uint8_t *mac,
		const struct shoal_prefix *allowed, size_t n)
{
	const uint8_t *sender;

	if (len < ARP_HDR)
		return false;
	if (a[2] != 0x08 || a[3] != 0x00)	/* not about IPv4 */
		return true;
	if (a[4] != 6 || a[5] != 4 || len < ARP_HDR + 6 + 4)
		return false;
	if (memcmp(a + ARP_HDR, mac, 6))
		return false;
	sender = a + ARP_HDR + 6;
	return unspecified(sender, 4) || inside(allowed, n, AF_INET, sender);
}

/*
 * The link-layer address options of a neighbour solicitation or
 * advertisement (opt, len bytes) name the frame's own source MAC, as
 * the ARP sender must; a malformed list, which the stack drops, fails.
 */
static bool nd_options(const uint8_t *opt, size_t len, const uint8_t *mac)
{
	size_t olen;

	while (len) {
		if (len < 2 || !opt[1] || (size_t)opt[1] * 8 > len)
			return false;
		olen = (size_t)opt[1] * 8;
		if ((opt[0] == ND_OPT_SOURCE_LL || opt[0] == ND_OPT_TARGET_LL) &&
		    (olen != 8 || memcmp(opt + 2, mac, 6)))
			return false;
		opt += olen;
		len -= olen;
	}
	return true;
}

/*
 * The offset of the first header after the extension headers, with its
 * type in *next; -1 for a header cut short or "no next header".  A later
 * fragment stops the walk where its fragment header is; *more_fragments
 * says whether a first fragment has others after it.
 */
static long skip_extensions(const uint8_t *ip, size_t len, uint8_t *next,
			    bool *later_fragment, bool *more_fragments)
{
	size_t off = IP6_HDR, hlen;

	*later_fragment = false;
	*more_fragments = false;
	for (;;) {
		switch (*next) {
		case NH_HOP:
		case NH_ROUTING:
		case NH_DEST:
		case NH_AUTH:
		case NH_FRAGMENT:
			break;
		case NH_NONE:
			return -1;
		default:
			return (long)off;
		}
		if (len - off < 2)
			return -1;
		if (*next == NH_FRAGMENT) {
			if (len - off < 8)
				return -1;
			if ((ip[off + 2] << 8 | ip[off + 3]) & ~7) {
				*later_fragment = true;
				return (long)off;
			}
			*more_fragments = ip[off + 3] & 1;
			hlen = 8;
		} else if (*next == NH_AUTH) {
			hlen = ((size_t)ip[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)ip[off + 1] + 1) * 8;
		}
		*next = ip[off];
		if (hlen > len - off)
			return -1;
		off += hlen;
	}
}

static bool ipv6(const uint8_t *ip, size_t len, const uint8_t *mac,
		 const struct shoal_prefix *allowed, size_t n)
{
	bool later_fragment, more_fragments;
	size_t payload;
	uint8_t next;
	long off;

	if (len < IP6_HDR)
		return false;
	/* What follows the payload is not the packet's (padding). */
	payload = (size_t)(ip[4] << 8 | ip[5]);
	if (payload && payload < len - IP6_HDR)
		len = IP6_HDR + payload;
	if (!unspecified(ip + 8, 16) && !inside(allowed, n, AF_INET6, ip + 8))
		return false;
	next = ip[6];
	off = skip_extensions(ip, len, &next, &later_fragment, &more_fragments);
	if (off < 0)
		return false;
	if (next != NH_ICMPV6 || later_fragment || (size_t)off >= len)
		return true;
	/*
	 * Neighbour discovery is never fragmented (RFC 6980): the rest of
	 * it, options included, would pass unread in a later fragment.
	 */
	if (more_fragments && ip[off] >= ND_ROUTER_SOLICITATION &&
	    ip[off] <= ND_REDIRECT)
		return false;
	switch (ip[off]) {
	case ND_ROUTER_ADVERTISEMENT:
	case ND_REDIRECT:
		/* A peer held to its addresses routes for nobody. */
		return false;
	case ND_ROUTER_SOLICITATION:
		/* Its source link-layer option makes a neighbour entry too. */
		if (len - (size_t)off < 8)
			return true;
		return nd_options(ip + off + 8, len - (size_t)off - 8, mac);
	case ND_NEIGHBOUR_SOLICITATION:
	case ND_NEIGHBOUR_ADVERTISEMENT:
		if (len - (size_t)off < 8 + 16)
			return false;
		/*
		 * An advertisement speaks for its target address, and so does
		 * a solicitation from ::, a duplicate address detection probe
		 * (it would make a host holding that address give it up, or,
		 * with accept_dad 2, IPv6 on the device).
		 */
		if ((ip[off] == ND_NEIGHBOUR_ADVERTISEMENT ||
		     unspecified(ip + 8, 16)) &&
		    !inside(allowed, n, AF_INET6, ip + off + 8))
			return false;
		return nd_options(ip + off + 24, len - (size_t)off - 24, mac);
	default:
		return true;
	}
}

bool shoal_frame_sources_allowed(const uint8_t *frame, size_t len,
				 const struct shoal_prefix *allowed, size_t n)
{
	const uint8_t *mac;
	uint16_t type;

	if (len < ETH_HDR)
		return false;
	type = (uint16_t)(frame[12] << 8 | frame[13]);
	mac = frame + 6;
	frame += ETH_HDR;
	len -= ETH_HDR;
	switch (type) {
	case 0x0800:
		return ipv4(frame, len, allowed, n);
	case 0x86dd:
		return ipv6(frame, len, mac, allowed, n);
	case 0x0806:
		return arp(frame, len, mac, allowed, n);
	case 0x8100:	/* 802.1Q and 802.1ad: addresses behind a tag */
	case 0x88a8:
		return false;
	default:
		return true;
	}
}
