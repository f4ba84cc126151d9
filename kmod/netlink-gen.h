/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	docs/netlink/specs/shoal.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_SHOAL_GEN_H
#define _LINUX_SHOAL_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/shoal.h>

/* Common nested types */
extern const struct nla_policy shoal_allowed_ip_nl_policy[SHOAL_A_ALLOWED_IP_PREFIX_LEN + 1];
extern const struct nla_policy shoal_allowed_ips_nl_policy[SHOAL_A_ALLOWED_IP + 1];
extern const struct nla_policy shoal_peer_nl_policy[SHOAL_A_PEER_LOCAL_PORT + 1];
extern const struct nla_policy shoal_peers_nl_policy[SHOAL_A_PEER + 1];
extern const struct nla_policy shoal_sa_nl_policy[SHOAL_A_SA_HARD_SECONDS + 1];
extern const struct nla_policy shoal_sa_list_nl_policy[SHOAL_A_SA + 1];

extern const struct nla_policy shoal_get_device_nl_policy[SHOAL_A_DEVICE_IFNAME + 1];

extern const struct nla_policy shoal_set_device_nl_policy[SHOAL_A_DEVICE_COOKIE_KEY + 1];

extern const struct nla_policy shoal_send_control_nl_policy[SHOAL_A_CONTROL_LOCAL + 1];

/* Ops table for shoal */
extern const struct genl_ops shoal_nl_ops[3];

int shoal_nl_pre_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		      struct genl_info *info);
void
shoal_nl_post_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		   struct genl_info *info);

int shoal_nl_get_device_doit(struct sk_buff *skb, struct genl_info *info);
int shoal_nl_get_device_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int shoal_nl_set_device_doit(struct sk_buff *skb, struct genl_info *info);
int shoal_nl_send_control_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	SHOAL_NLGRP_EVENTS,
};

#endif /* _LINUX_SHOAL_GEN_H */
