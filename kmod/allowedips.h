/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_ALLOWEDIPS_H
#define _SHOAL_ALLOWEDIPS_H

#include <linux/in6.h>
#include <linux/netlink.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>

struct shoal_prefix {
	union {
		__be32 ip4;
		struct in6_addr ip6;
	} addr;				/* host bits clear */
	u8 family;			/* AF_INET or AF_INET6 */
	u8 len;
};

/*
 * The source addresses a peer may claim in the frames it sends.  Never
 * changed once published: a new set replaces it whole under the RTNL,
 * and receive reads it under RCU.
 */
struct shoal_allowed_ips {
	struct rcu_head rcu;
	unsigned int count;
	struct shoal_prefix prefix[] __counted_by(count);
};

/*
 * A SHOAL_A_PEER_ALLOWED_IPS nest: the new set, NULL when the nest is
 * empty (no restriction), or an ERR_PTR with extack set.
 */
struct shoal_allowed_ips *shoal_allowed_ips_parse(const struct nlattr *nest,
						  struct netlink_ext_ack *extack);
int shoal_allowed_ips_put(struct sk_buff *skb, int type,
			  const struct shoal_allowed_ips *a);
/*
 * Whether the Ethernet frame at skb->data claims only addresses inside a
 * (see uapi/linux/shoal.h).  May pull headers into the linear part.
 */
bool shoal_allowed_ips_frame(const struct shoal_allowed_ips *a,
			     struct sk_buff *skb);

#endif /* _SHOAL_ALLOWEDIPS_H */
