// SPDX-License-Identifier: GPL-2.0
/*
 * Allowed source addresses: which IPv4 and IPv6 addresses a peer's frames
 * may claim, so that one member cannot send as another or answer ARP and
 * neighbour discovery for it.
 */

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <net/netlink.h>
#include <uapi/linux/shoal.h>

#include "allowedips.h"

static const struct nla_policy shoal_allowed_ip_policy[SHOAL_A_ALLOWED_IP_MAX + 1] = {
	[SHOAL_A_ALLOWED_IP_ADDR]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[SHOAL_A_ALLOWED_IP_PREFIX_LEN]	= NLA_POLICY_MAX(NLA_U8, 128),
};

static __be32 mask4(u8 len)
{
	return len ? htonl(~0U << (32 - len)) : 0;
}

static int parse_prefix(const struct nlattr *attr, struct shoal_prefix *p,
			struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SHOAL_A_ALLOWED_IP_MAX + 1];
	struct in6_addr masked;
	int ret;

	if (nla_type(attr) != SHOAL_A_ALLOWED_IP) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "allowed IPs are SHOAL_A_ALLOWED_IP nests");
		return -EINVAL;
	}
	ret = nla_parse_nested(tb, SHOAL_A_ALLOWED_IP_MAX, attr,
			       shoal_allowed_ip_policy, extack);
	if (ret)
		return ret;
	if (!tb[SHOAL_A_ALLOWED_IP_ADDR] || !tb[SHOAL_A_ALLOWED_IP_PREFIX_LEN]) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "an allowed IP needs an address and a prefix length");
		return -EINVAL;
	}
	p->len = nla_get_u8(tb[SHOAL_A_ALLOWED_IP_PREFIX_LEN]);
	switch (nla_len(tb[SHOAL_A_ALLOWED_IP_ADDR])) {
	case 4:
		p->family = AF_INET;
		p->addr.ip4 = nla_get_in_addr(tb[SHOAL_A_ALLOWED_IP_ADDR]);
		if (p->len > 32)
			goto bad_len;
		if (p->addr.ip4 & ~mask4(p->len))
			goto host_bits;
		return 0;
	case 16:
		p->family = AF_INET6;
		p->addr.ip6 = nla_get_in6_addr(tb[SHOAL_A_ALLOWED_IP_ADDR]);
		ipv6_addr_prefix(&masked, &p->addr.ip6, p->len);
		if (!ipv6_addr_equal(&masked, &p->addr.ip6))
			goto host_bits;
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, tb[SHOAL_A_ALLOWED_IP_ADDR],
			    "an allowed IP's address is 4 or 16 bytes");
	return -EINVAL;

bad_len:
	NL_SET_ERR_MSG_ATTR(extack, tb[SHOAL_A_ALLOWED_IP_PREFIX_LEN],
			    "an IPv4 prefix is at most 32 bits long");
	return -EINVAL;
host_bits:
	/* Refused, not masked: the sender meant some other prefix. */
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "an allowed IP has host bits set");
	return -EINVAL;
}

struct shoal_allowed_ips *shoal_allowed_ips_parse(const struct nlattr *nest,
						  struct netlink_ext_ack *extack)
{
	struct shoal_allowed_ips *a;
	const struct nlattr *attr;
	int n = 0, rem, ret;

	nla_for_each_nested(attr, nest, rem)
		n++;
	if (!n)
		return NULL;
	if (n > SHOAL_MAX_ALLOWED_IPS) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "too many allowed IPs");
		return ERR_PTR(-E2BIG);
	}
	a = kzalloc(struct_size(a, prefix, n), GFP_KERNEL_ACCOUNT);
	if (!a)
		return ERR_PTR(-ENOMEM);
	a->count = n;
	n = 0;
	nla_for_each_nested(attr, nest, rem) {
		ret = parse_prefix(attr, &a->prefix[n++], extack);
		if (ret) {
			kfree(a);
			return ERR_PTR(ret);
		}
	}
	return a;
}

int shoal_allowed_ips_put(struct sk_buff *skb, int type,
			  const struct shoal_allowed_ips *a)
{
	struct nlattr *list, *nest;
	unsigned int i;

	list = nla_nest_start(skb, type);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < a->count; i++) {
		const struct shoal_prefix *p = &a->prefix[i];

		nest = nla_nest_start(skb, SHOAL_A_ALLOWED_IP);
		if (!nest ||
		    nla_put(skb, SHOAL_A_ALLOWED_IP_ADDR,
			    p->family == AF_INET ? 4 : 16, &p->addr) ||
		    nla_put_u8(skb, SHOAL_A_ALLOWED_IP_PREFIX_LEN, p->len)) {
			nla_nest_cancel(skb, list);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, nest);
	}
	nla_nest_end(skb, list);
	return 0;
}

static bool allowed4(const struct shoal_allowed_ips *a, __be32 addr)
{
	unsigned int i;

	for (i = 0; i < a->count; i++) {
		const struct shoal_prefix *p = &a->prefix[i];

		if (p->family == AF_INET &&
		    !((addr ^ p->addr.ip4) & mask4(p->len)))
			return true;
	}
	return false;
}

static bool link_local(const struct in6_addr *addr)
{
	return (addr->s6_addr32[0] & htonl(0xffc00000)) == htonl(0xfe800000);
}

/*
 * A link-local address is allowed only by a prefix inside fe80::/10:
 * ::/0 or 8000::/1 allow a peer every routable address, not every other
 * peer's link-local one.
 */
static bool allowed6(const struct shoal_allowed_ips *a,
		     const struct in6_addr *addr)
{
	bool ll = link_local(addr);
	unsigned int i;

	for (i = 0; i < a->count; i++) {
		const struct shoal_prefix *p = &a->prefix[i];

		if (p->family == AF_INET6 &&
		    (!ll || (p->len >= 10 && link_local(&p->addr.ip6))) &&
		    ipv6_prefix_equal(addr, &p->addr.ip6, p->len))
			return true;
	}
	return false;
}

static bool ipv4_frame(const struct shoal_allowed_ips *a, struct sk_buff *skb)
{
	const struct iphdr *iph;

	if (!pskb_may_pull(skb, ETH_HLEN + sizeof(*iph)))
		return false;
	iph = (const struct iphdr *)(skb->data + ETH_HLEN);
	return !iph->saddr || allowed4(a, iph->saddr);
}

/*
 * An ARP sender MAC, like a neighbour discovery link-layer address
 * option, is where the hosts that read it send to the sender's address:
 * it must be the frame's own source, or a peer could steer traffic for
 * its address to another peer.
 */
static bool arp_frame(const struct shoal_allowed_ips *a, struct sk_buff *skb,
		      const u8 *mac)
{
	const struct arphdr *arp;
	__be32 sender;

	if (!pskb_may_pull(skb, ETH_HLEN + sizeof(*arp)))
		return false;
	arp = (const struct arphdr *)(skb->data + ETH_HLEN);
	if (arp->ar_pro != htons(ETH_P_IP))
		return true;
	/* The stack drops other lengths; so may we, without reading on. */
	if (arp->ar_hln != ETH_ALEN || arp->ar_pln != 4)
		return false;
	if (!pskb_may_pull(skb, ETH_HLEN + sizeof(*arp) + ETH_ALEN + 4))
		return false;
	if (!ether_addr_equal(skb->data + ETH_HLEN + sizeof(*arp), mac))
		return false;
	memcpy(&sender, skb->data + ETH_HLEN + sizeof(*arp) + ETH_ALEN, 4);
	/* 0.0.0.0 is an address probe's: it claims nothing. */
	return !sender || allowed4(a, sender);
}

/*
 * The link-layer address options of a neighbour solicitation or
 * advertisement, from off to end, name mac; a malformed list, which the
 * stack drops, fails.
 */
static bool nd_options(struct sk_buff *skb, unsigned int off,
		       unsigned int end, const u8 *mac)
{
	u8 opt[2], lladdr[ETH_ALEN] __aligned(2);

	while (off < end) {
		if (end - off < sizeof(opt) ||
		    skb_copy_bits(skb, off, opt, sizeof(opt)) ||
		    !opt[1] || opt[1] * 8 > end - off)
			return false;
		if (opt[0] == ND_OPT_SOURCE_LL_ADDR ||
		    opt[0] == ND_OPT_TARGET_LL_ADDR) {
			if (opt[1] != 1 ||
			    skb_copy_bits(skb, off + 2, lladdr, ETH_ALEN) ||
			    !ether_addr_equal(lladdr, mac))
				return false;
		}
		off += opt[1] * 8;
	}
	return true;
}

static bool ipv6_frame(const struct shoal_allowed_ips *a, struct sk_buff *skb,
		       const u8 *mac)
{
	const int nd_target = sizeof(struct icmp6hdr);
	struct in6_addr saddr, target;
	const struct ipv6hdr *ip6h;
	unsigned int end;
	__be16 frag_off;
	u8 nexthdr, type;
	int off;

	if (!pskb_may_pull(skb, ETH_HLEN + sizeof(*ip6h)))
		return false;
	ip6h = (const struct ipv6hdr *)(skb->data + ETH_HLEN);
	saddr = ip6h->saddr;
	nexthdr = ip6h->nexthdr;
	/* What follows the payload is not the packet's (padding). */
	end = ETH_HLEN + sizeof(*ip6h) + ntohs(ip6h->payload_len);
	if (!ip6h->payload_len || end > skb->len)
		end = skb->len;
	if (!ipv6_addr_any(&saddr) && !allowed6(a, &saddr))
		return false;

	off = ipv6_skip_exthdr(skb, ETH_HLEN + sizeof(*ip6h), &nexthdr,
			       &frag_off);
	/* The last header's length is not checked there: it is here. */
	if (off < 0 || off > skb->len)
		return false;
	if (nexthdr != IPPROTO_ICMPV6 || (frag_off & htons(IP6_OFFSET)))
		return true;
	if (skb_copy_bits(skb, off, &type, 1))
		return true;
	/*
	 * Neighbour discovery is never fragmented (RFC 6980): the rest of
	 * it, options included, would pass unread in a later fragment.
	 */
	if ((frag_off & htons(IP6_MF)) &&
	    type >= NDISC_ROUTER_SOLICITATION && type <= NDISC_REDIRECT)
		return false;
	switch (type) {
	case NDISC_ROUTER_ADVERTISEMENT:
	case NDISC_REDIRECT:
		/* A peer held to its addresses routes for nobody. */
		return false;
	case NDISC_ROUTER_SOLICITATION:
		/* Its source link-layer option makes a neighbour entry too. */
		return nd_options(skb, off + sizeof(struct rs_msg), end, mac);
	case NDISC_NEIGHBOUR_SOLICITATION:
	case NDISC_NEIGHBOUR_ADVERTISEMENT:
		if (off + nd_target + sizeof(target) > end ||
		    skb_copy_bits(skb, off + nd_target, &target, sizeof(target)))
			return false;
		/*
		 * An advertisement speaks for its target address, and so does
		 * a solicitation from ::, a duplicate address detection probe
		 * (it would make a host holding that address give it up, or,
		 * with accept_dad 2, IPv6 on the device).
		 */
		if ((type == NDISC_NEIGHBOUR_ADVERTISEMENT ||
		     ipv6_addr_any(&saddr)) && !allowed6(a, &target))
			return false;
		return nd_options(skb, off + nd_target + sizeof(target), end,
				  mac);
	default:
		return true;
	}
}

bool shoal_allowed_ips_frame(const struct shoal_allowed_ips *a,
			     struct sk_buff *skb)
{
	const struct ethhdr *eth = (const struct ethhdr *)skb->data;
	/* A copy: pulling the headers below may move skb->data. */
	u8 mac[ETH_ALEN] __aligned(2);

	ether_addr_copy(mac, eth->h_source);
	switch (eth->h_proto) {
	case htons(ETH_P_IP):
		return ipv4_frame(a, skb);
	case htons(ETH_P_IPV6):
		return ipv6_frame(a, skb, mac);
	case htons(ETH_P_ARP):
		return arp_frame(a, skb, mac);
	case htons(ETH_P_8021Q):
	case htons(ETH_P_8021AD):
		return false;
	default:
		return true;
	}
}
