// SPDX-License-Identifier: GPL-2.0
/*
 * The shoal net_device: an Ethernet device whose frames travel to peers as
 * ESP-in-UDP.  Its UDP sockets exist while it is up.
 */

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <net/net_namespace.h>
#include <net/rtnetlink.h>
#include <uapi/linux/shoal.h>

#include "device.h"
#include "fdb.h"
#include "peer.h"
#include "receive.h"
#include "send.h"
#include "socket.h"

/* Every shoal device, for the namespace exit handler; RTNL. */
static LIST_HEAD(shoal_devices);

static int shoal_ndo_init(struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);
	int ret;

#ifndef SHOAL_CORE_TSTATS
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
#endif
	ret = gro_cells_init(&sd->gro_cells, dev);
	if (ret)
		goto free_tstats;
	ret = shoal_send_init(sd);
	if (ret)
		goto destroy_gro_cells;
	ret = shoal_receive_init(sd);
	if (ret)
		goto uninit_send;
	/* Per source: enough for a relay carrying a hundred peers'
	 * handshakes and keepalives, well under the strangers' budget so
	 * that one flooding address leaves most of that to others.
	 */
	ret = shoal_src_limit_init(&sd->src_limit, 400, 400);
	if (ret)
		goto uninit_receive;
	/* Proven INITs past that: a host's retries, not a share of the
	 * budget that one host could take whole (WireGuard allows 20).
	 */
	ret = shoal_src_limit_init(&sd->proven_limit, 20, 20);
	if (ret)
		goto free_src_limit;
	return 0;

free_src_limit:
	shoal_src_limit_free(&sd->src_limit);
uninit_receive:
	shoal_receive_uninit(sd);
uninit_send:
	shoal_send_uninit(sd);
destroy_gro_cells:
	gro_cells_destroy(&sd->gro_cells);
free_tstats:
#ifndef SHOAL_CORE_TSTATS
	free_percpu(dev->tstats);
	dev->tstats = NULL;
#endif
	return ret;
}

static void shoal_ndo_uninit(struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);
	struct shoal_peer *peer, *tmp;
	LIST_HEAD(retire);

	ASSERT_RTNL();
	shoal_bcast_stop(sd);
	shoal_socket_close(sd);
	list_for_each_entry_safe(peer, tmp, &sd->peer_list, list)
		shoal_peer_remove(peer, &retire);
	xa_destroy(&sd->peer_index);
	/* Sends what the removed peers' jobs hold to nowhere: after this,
	 * nothing refers to the device.
	 */
	shoal_send_uninit(sd);
	shoal_receive_uninit(sd);
	/* Nothing learns any more, and the table is empty: no requeue. */
	shoal_fdb_stop(sd);
	shoal_sa_retire_all(&retire);
	/* The sockets are closed and their readers gone (synchronize_net). */
	shoal_src_limit_free(&sd->proven_limit);
	shoal_src_limit_free(&sd->src_limit);
	shoal_cookie_clear(&sd->cookie);
	gro_cells_destroy(&sd->gro_cells);
	list_del(&sd->device_node);
#ifndef SHOAL_CORE_TSTATS
	free_percpu(dev->tstats);
	dev->tstats = NULL;
#endif
}

static int shoal_ndo_open(struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);

	WRITE_ONCE(sd->bcast_stopping, false);
	return shoal_socket_open(sd, sd->listen_port);
}

static int shoal_ndo_stop(struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);

	/* No more transmits come once the device is down. */
	shoal_bcast_stop(sd);
	shoal_socket_close(sd);
	/* Nothing stays queued for a device that is down.  No transmit
	 * may queue more while it drains: the last are waited for.
	 */
	synchronize_net();
	drain_workqueue(sd->crypt_wq);
	return 0;
}

static const struct net_device_ops shoal_netdev_ops = {
	.ndo_init		= shoal_ndo_init,
	.ndo_uninit		= shoal_ndo_uninit,
	.ndo_open		= shoal_ndo_open,
	.ndo_stop		= shoal_ndo_stop,
	.ndo_start_xmit		= shoal_xmit,
	.ndo_get_stats64	= dev_get_tstats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

#define SHOAL_FEATURES (NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_GSO | \
			NETIF_F_GSO_SOFTWARE | NETIF_F_HIGHDMA)

static void shoal_setup(struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);

	ether_setup(dev);
	dev->netdev_ops = &shoal_netdev_ops;
	dev->needs_free_netdev = true;
#ifdef SHOAL_CORE_TSTATS
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
#endif
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	/*
	 * shoal_xmit() seals and sends at once, and keeps no state a second
	 * CPU could race on but under its own locks and RCU: a queue or the
	 * TX lock would only make every sending CPU wait for one.
	 */
	dev->priv_flags |= IFF_NO_QUEUE;
	/* netpoll sends with IRQs off and, with no TX lock to stop it,
	 * could re-enter a shoal_xmit() it interrupted on the same CPU.
	 */
	dev->priv_flags |= IFF_DISABLE_NETPOLL;
#ifdef SHOAL_HAVE_LLTX
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
	dev->mtu = SHOAL_DEFAULT_MTU;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU - SHOAL_OVERHEAD;
	dev->needed_headroom = LL_MAX_HEADER + SHOAL_OVERHEAD;
	dev->needed_tailroom = 3 + 2 + 16;
	/*
	 * TCP and UDP hand over whole GSO trains and leave checksums to us:
	 * the stack is crossed once per train instead of once per segment,
	 * and shoal_xmit() segments and checksums just before sealing.
	 */
	dev->features |= SHOAL_FEATURES;
	dev->hw_features |= SHOAL_FEATURES;
	eth_hw_addr_random(dev);

	memset(sd, 0, sizeof(*sd));
	sd->dev = dev;
	INIT_LIST_HEAD(&sd->peer_list);
	INIT_LIST_HEAD(&sd->retire);
	xa_init_flags(&sd->peer_index, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&sd->device_node);
	hash_init(sd->peer_table);
	hash_init(sd->mac_table);
	hash_init(sd->spi_table);
	hash_init(sd->sa_out_keys);
	hash_init(sd->endpoint_table);
	spin_lock_init(&sd->endpoint_table_lock);
	shoal_fdb_init(sd);
	skb_queue_head_init(&sd->bcast_queue);
	INIT_WORK(&sd->bcast_work, shoal_bcast_work);
	get_random_bytes(&sd->hash_key, sizeof(sd->hash_key));
	/* Events for control packets: 20000 a second, so that a flood of
	 * forged handshakes is turned away by shoald's cheap MAC check rather
	 * than crowding genuine ones out here; for unknown SPIs, which anyone
	 * can make up and which need no answer, 100.
	 */
	shoal_bucket_init(&sd->control_budget, 20000, 20000);
	/* Of those, the ones from an address and port no peer is at (first
	 * contacts, the mediator, forgeries from spoofed sources): 1000, so
	 * that however slow shoald is to read them (a small VM), a flood of
	 * them cannot crowd the peers' own handshakes out of its socket.
	 * Past that, INITs that prove their source with MAC2 still pass,
	 * 1000 a second, and the others get their cookies from here, as
	 * WireGuard answers them, without a budget: a budget would let a
	 * spoofed flood take a newcomer's cookie, and each reply costs a
	 * few hashes, a seal and a send (cookie.c), no more than receiving
	 * the larger INIT did.
	 */
	shoal_bucket_init(&sd->stranger_budget, 1000, 1000);
	shoal_bucket_init(&sd->proven_budget, 1000, 1000);
	shoal_bucket_init(&sd->spi_budget, 100, 100);
	shoal_cookie_init(&sd->cookie);
	/* In front of all three, each source address's own share
	 * (ratelimit.c), set up with the device (ndo_init).
	 */
}

static int shoal_newlink(struct net *src_net, struct net_device *dev,
			 struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	struct shoal_device *sd = netdev_priv(dev);
	int ret;

	sd->creating_net = src_net;
	ret = register_netdevice(dev);
	if (ret < 0)
		return ret;
	list_add(&sd->device_node, &shoal_devices);
	netif_carrier_on(dev);
	return 0;
}

struct rtnl_link_ops shoal_link_ops __read_mostly = {
	.kind		= SHOAL_LINK_KIND,
	.priv_size	= sizeof(struct shoal_device),
	.setup		= shoal_setup,
	.newlink	= shoal_newlink,
};

/*
 * A device lives on in another namespace, but its sockets belong to the
 * one it was created in: when that goes away, so does the device.
 */
static void __net_exit shoal_net_pre_exit(struct net *net)
{
	struct shoal_device *sd, *tmp;
	LIST_HEAD(kill);

	rtnl_lock();
	list_for_each_entry_safe(sd, tmp, &shoal_devices, device_node) {
		if (sd->creating_net != net)
			continue;
		/* Going down and away closes its sockets (ndo_stop). */
		unregister_netdevice_queue(sd->dev, &kill);
	}
	unregister_netdevice_many(&kill);
	rtnl_unlock();
}

static struct pernet_operations shoal_net_ops = {
	.pre_exit = shoal_net_pre_exit,
};

int __init shoal_device_init(void)
{
	int ret;

	ret = register_pernet_device(&shoal_net_ops);
	if (ret)
		return ret;
	ret = rtnl_link_register(&shoal_link_ops);
	if (ret)
		goto unregister_pernet;
	return 0;

unregister_pernet:
	unregister_pernet_device(&shoal_net_ops);
	return ret;
}

void shoal_device_uninit(void)
{
	/* Deletes every shoal device in every namespace. */
	rtnl_link_unregister(&shoal_link_ops);
	unregister_pernet_device(&shoal_net_ops);
	/* Peers are freed by RCU callbacks in this module: they run first. */
	rcu_barrier();
}
