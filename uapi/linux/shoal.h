/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * shoal: the kernel <-> userspace API of the shoal virtual Ethernet device.
 *
 * Generic netlink family SHOAL_GENL_NAME, version SHOAL_GENL_VERSION.
 * This header is the single source of truth for the API; a change that
 * breaks compatibility bumps SHOAL_GENL_VERSION.
 *
 * SHOAL_CMD_GET_DEVICE
 *   doit: request carries SHOAL_A_DEVICE_IFINDEX or SHOAL_A_DEVICE_IFNAME
 *   (exactly one); the reply describes that device.
 *   dumpit: one message per shoal device in the caller's namespace.
 *   Reply attributes: SHOAL_A_DEVICE_IFINDEX, SHOAL_A_DEVICE_IFNAME,
 *   SHOAL_A_DEVICE_LISTEN_PORT.
 */
#ifndef _UAPI_LINUX_SHOAL_H
#define _UAPI_LINUX_SHOAL_H

#define SHOAL_GENL_NAME		"shoal"
#define SHOAL_GENL_VERSION	1
#define SHOAL_GENL_MCGRP_EVENTS	"events"

/* Link kind for `ip link add NAME type shoal`. */
#define SHOAL_LINK_KIND		"shoal"

enum shoal_cmd {
	SHOAL_CMD_UNSPEC,
	SHOAL_CMD_GET_DEVICE,

	__SHOAL_CMD_MAX
};

#define SHOAL_CMD_MAX (__SHOAL_CMD_MAX - 1)

enum shoal_attr {
	SHOAL_A_UNSPEC,
	SHOAL_A_DEVICE_IFINDEX,		/* u32 */
	SHOAL_A_DEVICE_IFNAME,		/* NUL-terminated string, < IFNAMSIZ */
	SHOAL_A_DEVICE_LISTEN_PORT,	/* u16, host order; 0 = not bound */

	__SHOAL_A_MAX
};

#define SHOAL_A_MAX (__SHOAL_A_MAX - 1)

#endif /* _UAPI_LINUX_SHOAL_H */
