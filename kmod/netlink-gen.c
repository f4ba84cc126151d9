// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	docs/netlink/specs/shoal.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/shoal.h>

/* Integer value ranges */
static const struct netlink_range_validation shoal_a_sa_soft_seconds_range = {
	.min	= 1ULL,
	.max	= 31536000ULL,
};

static const struct netlink_range_validation shoal_a_sa_hard_seconds_range = {
	.min	= 1ULL,
	.max	= 31536000ULL,
};

/* Common nested types */
const struct nla_policy shoal_allowed_ip_nl_policy[SHOAL_A_ALLOWED_IP_PREFIX_LEN + 1] = {
	[SHOAL_A_ALLOWED_IP_ADDR] = { .type = NLA_BINARY, },
	[SHOAL_A_ALLOWED_IP_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

const struct nla_policy shoal_allowed_ips_nl_policy[SHOAL_A_ALLOWED_IP + 1] = {
	[SHOAL_A_ALLOWED_IP] = NLA_POLICY_NESTED(shoal_allowed_ip_nl_policy),
};

const struct nla_policy shoal_peer_nl_policy[SHOAL_A_PEER_LOCAL_PORT + 1] = {
	[SHOAL_A_PEER_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(SHOAL_KEY_LEN),
	[SHOAL_A_PEER_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x1),
	[SHOAL_A_PEER_MAC] = NLA_POLICY_EXACT_LEN(6),
	[SHOAL_A_PEER_ENDPOINT] = { .type = NLA_BINARY, },
	[SHOAL_A_PEER_LAYER3] = NLA_POLICY_MAX(NLA_U8, 1),
	[SHOAL_A_PEER_BRIDGE] = NLA_POLICY_MAX(NLA_U8, 1),
	[SHOAL_A_PEER_SA_OUT] = NLA_POLICY_NESTED(shoal_sa_nl_policy),
	[SHOAL_A_PEER_SA_IN] = NLA_POLICY_NESTED(shoal_sa_list_nl_policy),
	[SHOAL_A_PEER_RX_BYTES] = { .type = NLA_U64, },
	[SHOAL_A_PEER_TX_BYTES] = { .type = NLA_U64, },
	[SHOAL_A_PEER_RX_PACKETS] = { .type = NLA_U64, },
	[SHOAL_A_PEER_TX_PACKETS] = { .type = NLA_U64, },
	[SHOAL_A_PEER_AUTH_FAILURES] = { .type = NLA_U64, },
	[SHOAL_A_PEER_REPLAYS] = { .type = NLA_U64, },
	[SHOAL_A_PEER_LAST_RX] = { .type = NLA_U64, },
	[SHOAL_A_PEER_ALLOWED_IPS] = NLA_POLICY_NESTED(shoal_allowed_ips_nl_policy),
	[SHOAL_A_PEER_SOCKET_FD] = { .type = NLA_U32, },
	[SHOAL_A_PEER_LOCAL_PORT] = { .type = NLA_U16, },
};

const struct nla_policy shoal_peers_nl_policy[SHOAL_A_PEER + 1] = {
	[SHOAL_A_PEER] = NLA_POLICY_NESTED(shoal_peer_nl_policy),
};

const struct nla_policy shoal_sa_nl_policy[SHOAL_A_SA_HARD_SECONDS + 1] = {
	[SHOAL_A_SA_SPI] = NLA_POLICY_MIN(NLA_U32, 256),
	[SHOAL_A_SA_KEY] = NLA_POLICY_EXACT_LEN(SHOAL_SA_KEY_LEN),
	[SHOAL_A_SA_SOFT_PACKETS] = { .type = NLA_U64, },
	[SHOAL_A_SA_HARD_PACKETS] = { .type = NLA_U64, },
	[SHOAL_A_SA_PACKETS] = { .type = NLA_U64, },
	[SHOAL_A_SA_SOFT_SECONDS] = NLA_POLICY_FULL_RANGE(NLA_U32, &shoal_a_sa_soft_seconds_range),
	[SHOAL_A_SA_HARD_SECONDS] = NLA_POLICY_FULL_RANGE(NLA_U32, &shoal_a_sa_hard_seconds_range),
};

const struct nla_policy shoal_sa_list_nl_policy[SHOAL_A_SA + 1] = {
	[SHOAL_A_SA] = NLA_POLICY_NESTED(shoal_sa_nl_policy),
};

/* SHOAL_CMD_GET_DEVICE - do */
const struct nla_policy shoal_get_device_nl_policy[SHOAL_A_DEVICE_IFNAME + 1] = {
	[SHOAL_A_DEVICE_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SHOAL_A_DEVICE_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* SHOAL_CMD_SET_DEVICE - do */
const struct nla_policy shoal_set_device_nl_policy[SHOAL_A_DEVICE_COOKIE_KEY + 1] = {
	[SHOAL_A_DEVICE_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SHOAL_A_DEVICE_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[SHOAL_A_DEVICE_LISTEN_PORT] = { .type = NLA_U16, },
	[SHOAL_A_DEVICE_PEERS] = NLA_POLICY_NESTED(shoal_peers_nl_policy),
	[SHOAL_A_DEVICE_COOKIE_SECRET] = NLA_POLICY_EXACT_LEN(SHOAL_KEY_LEN),
	[SHOAL_A_DEVICE_MAC1_KEY] = NLA_POLICY_EXACT_LEN(SHOAL_KEY_LEN),
	[SHOAL_A_DEVICE_COOKIE_KEY] = NLA_POLICY_EXACT_LEN(SHOAL_KEY_LEN),
};

/* SHOAL_CMD_SEND_CONTROL - do */
const struct nla_policy shoal_send_control_nl_policy[SHOAL_A_CONTROL_LOCAL + 1] = {
	[SHOAL_A_DEVICE_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SHOAL_A_DEVICE_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[SHOAL_A_CONTROL_ENDPOINT] = { .type = NLA_BINARY, },
	[SHOAL_A_CONTROL_PAYLOAD] = { .type = NLA_BINARY, },
	[SHOAL_A_CONTROL_LOCAL] = { .type = NLA_BINARY, },
};

/* Ops table for shoal */
const struct genl_ops shoal_nl_ops[3] = {
	{
		.cmd		= SHOAL_CMD_GET_DEVICE,
		.doit		= shoal_nl_get_device_doit,
		.dumpit		= shoal_nl_get_device_dumpit,
		.policy		= shoal_get_device_nl_policy,
		.maxattr	= SHOAL_A_DEVICE_IFNAME,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= SHOAL_CMD_SET_DEVICE,
		.doit		= shoal_nl_set_device_doit,
		.policy		= shoal_set_device_nl_policy,
		.maxattr	= SHOAL_A_DEVICE_COOKIE_KEY,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= SHOAL_CMD_SEND_CONTROL,
		.doit		= shoal_nl_send_control_doit,
		.policy		= shoal_send_control_nl_policy,
		.maxattr	= SHOAL_A_CONTROL_LOCAL,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group shoal_nl_mcgrps[] = {
	[SHOAL_NLGRP_EVENTS] = { "events", },
};
