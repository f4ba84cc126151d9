/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_DEVICE_H
#define _SHOAL_DEVICE_H

#include <linux/hashtable.h>
#include <linux/netdevice.h>
#include <linux/ptr_ring.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/gro_cells.h>
#include <net/rtnetlink.h>
#include <uapi/linux/shoal.h>

#include "cookie.h"
#include "queue.h"
#include "ratelimit.h"

/*
 * Room the encapsulation takes inside the underlay MTU, worst case:
 * IPv6 (40) + UDP (8) + ESP header (8) + IV (8) + padding (3) + pad length
 * and next header (2) + ICV (16) + the inner Ethernet header (14).
 */
#define SHOAL_OVERHEAD		(40 + 8 + 8 + 8 + 3 + 2 + 16 + ETH_HLEN)
#define SHOAL_DEFAULT_MTU	1400

enum shoal_dstat {
	SHOAL_DSTAT_CONTROL_RX,
	SHOAL_DSTAT_KEEPALIVES_RX,
	SHOAL_DSTAT_UNKNOWN_SPI,
	SHOAL_DSTAT_MALFORMED,
	SHOAL_DSTAT_UNKNOWN_DEST,
	SHOAL_DSTAT_SPOOFED_SRC,
	SHOAL_DSTAT_CONTROL_DROPS,
	SHOAL_DSTAT_COOKIE_REPLIES,
	SHOAL_DSTAT_ECN_DROPS,
	SHOAL_DSTAT_COUNT
};

/*
 * Locking: configuration (peers, SAs, sockets, tables) changes only under
 * the RTNL; the datapath reads it under RCU (BH).  The device's counters
 * are atomic, a peer's per CPU.
 */
struct shoal_device {
	struct net_device *dev;
	struct list_head device_node;	/* shoal_devices; RTNL */
	/* Namespace the device, and so its sockets, were created in. */
	struct net *creating_net;
	struct socket __rcu *sock4;
	struct socket __rcu *sock6;
	u16 listen_port;		/* as configured; the bound one once up */

	struct list_head peer_list;	/* RCU list of shoal_peer.list */
	/* The same peers by a stable index: the broadcast fan-out resumes
	 * from where its last RCU section stopped, without a re-walk.
	 */
	struct xarray peer_index;
	unsigned int peer_count;
	/* SAs a netlink command replaced, put once it drops the RTNL. */
	struct list_head retire;
	DECLARE_HASHTABLE(peer_table, 8);	/* by public key */
	DECLARE_HASHTABLE(mac_table, 8);	/* by peer MAC */
	DECLARE_HASHTABLE(spi_table, 10);	/* inbound SAs by SPI */
	DECLARE_HASHTABLE(sa_out_keys, 10);	/* outbound SAs by key; RTNL */
	DECLARE_HASHTABLE(fdb_table, 8);	/* MACs behind bridge peers */
	/*
	 * Peers by endpoint, for telling a peer's control packets from a
	 * stranger's in O(1) under a flood.  Writers hold the peer's
	 * endpoint_lock and then endpoint_table_lock; readers use RCU and
	 * read each candidate's endpoint under its endpoint_seq.
	 */
	DECLARE_HASHTABLE(endpoint_table, 10);
	spinlock_t endpoint_table_lock;	/* endpoint_table writers */
	spinlock_t fdb_lock;		/* fdb_table writers, fdb_count */
	unsigned int fdb_count;
	struct delayed_work fdb_gc;	/* ages entries out, off the packet path */
	u32 generation;			/* bumped on every change; dumps */
	hsiphash_key_t hash_key;	/* peer, MAC, FDB and key tables */

	struct gro_cells gro_cells;	/* receive goes through GRO */
	/*
	 * Sealing, spread over the CPUs (send.c): jobs wait on seal_ring
	 * for any CPU's seal worker; each peer's tx_work then sends its
	 * jobs in order.  Both kinds of work run on crypt_wq, drained when
	 * the device stops and destroyed with it.
	 */
	struct workqueue_struct *crypt_wq;
	struct ptr_ring seal_ring;
	struct shoal_crypt_worker __percpu *seal_workers;
	/* Opening, the same way (receive.c), with each peer's rx_work. */
	struct ptr_ring open_ring;
	struct shoal_crypt_worker __percpu *open_workers;
	int open_cpu;			/* shoal_crypt_kick's hints */
	int seal_cpu;
	/* Broadcast frames for the fan-out worker (send.c). */
	struct sk_buff_head bcast_queue;
	struct work_struct bcast_work;
	bool bcast_stopping;		/* set by ndo_stop, cleared by ndo_open */
	atomic64_t dstats[SHOAL_DSTAT_COUNT];
	/* Events to userspace: each source's share first, then the budgets
	 * all sources share.
	 */
	struct shoal_src_limit src_limit;
	struct shoal_bucket control_budget;	/* control events */
	struct shoal_bucket stranger_budget;	/* ... from where no peer is */
	struct shoal_bucket spi_budget;		/* unknown SPI events */
	/* Past the strangers' budget: INITs checked for MAC2, the rest
	 * answered with cookies.
	 */
	struct shoal_cookie_checker cookie;
	/* INITs with MAC2, from there: each source's share, then a budget
	 * all share, so that one host cannot spend it alone.
	 */
	struct shoal_src_limit proven_limit;
	struct shoal_bucket proven_budget;
};

static inline void shoal_dstat_inc(struct shoal_device *sd, enum shoal_dstat s)
{
	atomic64_inc(&sd->dstats[s]);
}

extern struct rtnl_link_ops shoal_link_ops;

static inline bool shoal_is_device(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &shoal_link_ops;
}

int shoal_device_init(void);
void shoal_device_uninit(void);

#endif /* _SHOAL_DEVICE_H */
