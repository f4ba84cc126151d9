/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_DEVICE_H
#define _SHOAL_DEVICE_H

#include <linux/netdevice.h>
#include <net/rtnetlink.h>

/*
 * Room the encapsulation takes inside the underlay MTU, worst case:
 * IPv6 (40) + UDP (8) + ESP header (8) + IV (8) + padding (3) + pad length
 * and next header (2) + ICV (16) + the inner Ethernet header (14).
 */
#define SHOAL_OVERHEAD		(40 + 8 + 8 + 8 + 3 + 2 + 16 + ETH_HLEN)
#define SHOAL_DEFAULT_MTU	1400

struct shoal_device {
	struct net_device *dev;
	/* Namespace the device (and later its socket) was created in. */
	struct net *creating_net;
	u16 listen_port;
};

extern struct rtnl_link_ops shoal_link_ops;

int shoal_device_init(void);
void shoal_device_uninit(void);

#endif /* _SHOAL_DEVICE_H */
