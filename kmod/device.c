// SPDX-License-Identifier: GPL-2.0
/*
 * The shoal net_device: an Ethernet device whose frames will be carried to
 * peers as ESP-in-UDP.  With no peers configured every frame is dropped.
 */

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <net/rtnetlink.h>
#include <uapi/linux/shoal.h>

#include "device.h"

static int shoal_ndo_init(struct net_device *dev)
{
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	return 0;
}

static void shoal_ndo_uninit(struct net_device *dev)
{
	free_percpu(dev->tstats);
	dev->tstats = NULL;
}

static netdev_tx_t shoal_ndo_start_xmit(struct sk_buff *skb,
					struct net_device *dev)
{
	/* No peer owns any destination yet. */
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops shoal_netdev_ops = {
	.ndo_init		= shoal_ndo_init,
	.ndo_uninit		= shoal_ndo_uninit,
	.ndo_start_xmit		= shoal_ndo_start_xmit,
	.ndo_get_stats64	= dev_get_tstats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void shoal_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &shoal_netdev_ops;
	dev->needs_free_netdev = true;
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	dev->mtu = SHOAL_DEFAULT_MTU;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU - SHOAL_OVERHEAD;
	eth_hw_addr_random(dev);
}

static int shoal_newlink(struct net *src_net, struct net_device *dev,
			 struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	struct shoal_device *sd = netdev_priv(dev);
	int ret;

	sd->dev = dev;
	sd->creating_net = src_net;

	ret = register_netdevice(dev);
	if (ret < 0)
		return ret;

	netif_carrier_on(dev);
	return 0;
}

struct rtnl_link_ops shoal_link_ops __read_mostly = {
	.kind		= SHOAL_LINK_KIND,
	.priv_size	= sizeof(struct shoal_device),
	.setup		= shoal_setup,
	.newlink	= shoal_newlink,
};

int __init shoal_device_init(void)
{
	return rtnl_link_register(&shoal_link_ops);
}

void shoal_device_uninit(void)
{
	/* Deletes every shoal device in every namespace. */
	rtnl_link_unregister(&shoal_link_ops);
}
