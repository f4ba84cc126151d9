/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_PEER_H
#define _SHOAL_PEER_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/skbuff.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <net/dst_cache.h>
#include <uapi/linux/shoal.h>

#include "allowedips.h"
#include "device.h"
#include "sa.h"

union shoal_endpoint {
	struct sockaddr addr;
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

/*
 * The local address a peer's packets arrived at, of the endpoint's
 * family; all zero: none known (the route picks one).  Replies leave from
 * it: on a multihomed host another source would miss the peer's NAT
 * mapping, which is for the address the peer sent to.
 */
union shoal_local_addr {
	__be32 ip4;
	struct in6_addr ip6;
};

enum shoal_pstat {
	SHOAL_PSTAT_RX_BYTES,
	SHOAL_PSTAT_TX_BYTES,
	SHOAL_PSTAT_RX_PACKETS,
	SHOAL_PSTAT_TX_PACKETS,
	SHOAL_PSTAT_AUTH_FAILURES,
	SHOAL_PSTAT_REPLAYS,
	SHOAL_PSTAT_COUNT
};

/* What each CPU keeps of a peer: the datapath writes only its own, BH off. */
struct shoal_peer_pcpu {
	u64_stats_t count[SHOAL_PSTAT_COUNT];	/* this CPU's share */
	struct u64_stats_sync syncp;
	/* path_gen of the path this CPU's route in dst_cache is for */
	u64 route_gen;
};

/*
 * A peer: its identity (an opaque public key), the MAC it owns, where to
 * send and its SAs.  Writers hold the RTNL; the datapath reads under RCU.
 * The endpoint also changes from the datapath (roaming) under its lock.
 * Frames queued for it (send.c) and packets from it (receive.c) hold
 * references, so a removed peer lives on until they are gone; the device
 * outlives them all (its ndo_uninit drains the crypto workqueue).
 */
struct shoal_peer {
	struct shoal_device *sd;
	/* The tables' (dropped a grace period after removal), one per job
	 * on tx_queue or rx_queue, one for tx_work and one for rx_work while
	 * each is queued.
	 */
	refcount_t ref;
	/* Jobs (frames to seal) in the order their sequence numbers were
	 * taken, sealed or not yet: tx_work sends them in that order as they
	 * come done, whichever CPU sealed them.
	 */
	struct sk_buff_head tx_queue;
	unsigned int tx_frames;		/* in tx_queue's jobs; its lock */
	struct work_struct tx_work;
	/* Received jobs (ESP packets to open) in the order they came,
	 * opened or not yet: rx_work delivers them in that order.
	 */
	struct sk_buff_head rx_queue;
	struct work_struct rx_work;
	/* Where tx_work and rx_work run (shoal_peer_cpu); racy, a hint. */
	int work_cpu;
	struct list_head list;		/* sd->peer_list */
	u32 index;			/* in sd->peer_index */
	struct hlist_node key_node;	/* sd->peer_table */
	struct hlist_node mac_node;	/* sd->mac_table, once a MAC is set */
	struct hlist_node endpoint_node; /* sd->endpoint_table, with one */
	u8 public_key[SHOAL_KEY_LEN];
	u8 mac[ETH_ALEN];
	bool has_mac;
	bool layer3;
	bool bridge;
	bool dead;			/* removed: learn nothing more (fdb_lock) */
	unsigned int fdb_entries;	/* sd->fdb_table entries to it (fdb_lock) */

	/* Guards endpoint, local and unlisted: roaming vs. config vs. an
	 * address gone vs. removal.  The datapath reads endpoint and local
	 * under endpoint_seq instead, taking no lock per packet.
	 */
	spinlock_t endpoint_lock;
	seqcount_spinlock_t endpoint_seq;
	/* One more in every write section: never repeats, unlike the count. */
	u64 path_gen;
	union shoal_endpoint endpoint;	/* sa_family 0 = none */
	union shoal_local_addr local;
	bool unlisted;			/* removed: out of endpoint_table */
	/* A route to the path per CPU, good while its route_gen is current. */
	struct dst_cache dst_cache;
	/* Userspace's socket to send from (peersock.c); NULL: the device's. */
	struct shoal_peersock __rcu *peersock;

	struct shoal_sa __rcu *sa_out;
	struct shoal_sa __rcu *sa_in[SHOAL_MAX_SA_IN];
	struct shoal_allowed_ips __rcu *allowed_ips;	/* NULL: any source */

	struct shoal_peer_pcpu __percpu *pcpu;
	atomic64_t last_rx;		/* seconds since the epoch */
	struct rcu_head rcu;
};

/* From the datapath, BH off: counts on this CPU's share. */
static inline void shoal_pstat_add(struct shoal_peer *p, enum shoal_pstat s,
				   u64 n)
{
	struct shoal_peer_pcpu *st = this_cpu_ptr(p->pcpu);

	u64_stats_update_begin(&st->syncp);
	u64_stats_add(&st->count[s], n);
	u64_stats_update_end(&st->syncp);
}

/* Every counter, each the sum of every CPU's share, in one pass. */
void shoal_pstats_read(struct shoal_peer *p, u64 sum[SHOAL_PSTAT_COUNT]);

struct shoal_peer *shoal_peer_create(struct shoal_device *sd,
				     const u8 key[SHOAL_KEY_LEN]);
/* From an RCU reader that found peer, or a holder of a reference. */
static inline void shoal_peer_get(struct shoal_peer *peer)
{
	refcount_inc(&peer->ref);
}

/* The last reference frees the peer. */
void shoal_peer_put(struct shoal_peer *peer);
/*
 * The CPU the peer's tx_work and rx_work run on: always the same one
 * while it is online, the peers spread over the CPUs.  Sent or delivered
 * from CPU to CPU, a peer's packets could be reordered (each CPU has its
 * own backlog on a veth or loopback, its own queue on a multiqueue NIC,
 * its own GRO cell).
 */
int shoal_peer_cpu(struct shoal_peer *peer);
/* Unpublishes the peer and its SAs; SAs go on retire, the peer to RCU. */
void shoal_peer_remove(struct shoal_peer *peer, struct list_head *retire);
struct shoal_peer *shoal_peer_by_key(struct shoal_device *sd,
				     const u8 key[SHOAL_KEY_LEN]);
struct shoal_peer *shoal_peer_by_mac(struct shoal_device *sd, const u8 *mac);
int shoal_peer_set_mac(struct shoal_peer *peer, const u8 *mac);
struct shoal_sa *shoal_sa_by_spi(struct shoal_device *sd, u32 spi);
/* RTNL: whether an outbound SA of sd already seals with key. */
bool shoal_sa_out_key_used(struct shoal_device *sd, const u8 *key);
/* RTNL: an outbound SA joins, or (sa may be NULL) leaves, the key table. */
void shoal_sa_out_hash(struct shoal_device *sd, struct shoal_sa *sa);
void shoal_sa_out_unhash(struct shoal_sa *sa);
/* Unpublishes sa from the SPI table (if there) and puts it on retire. */
void shoal_sa_retire(struct shoal_sa *sa, struct list_head *retire);
/* Frees retired SAs once no reader can see them. */
void shoal_sa_retire_all(struct list_head *retire);

void shoal_peer_get_endpoint(struct shoal_peer *peer,
			     union shoal_endpoint *ep);
/*
 * The endpoint and the local address to send to it from, and in *gen the
 * path_gen they were read at (a route cached for one path is good only
 * for it).
 */
void shoal_peer_get_path(struct shoal_peer *peer, union shoal_endpoint *ep,
			 union shoal_local_addr *local, u64 *gen);
/* The routes cached for the peer are stale (new sockets): a new path_gen. */
void shoal_peer_reroute(struct shoal_peer *peer);
/* Sets the endpoint, forgetting the local address; true if it changed. */
bool shoal_peer_set_endpoint(struct shoal_peer *peer,
			     const union shoal_endpoint *ep);
/*
 * From an authenticated packet: its source is the endpoint, and the
 * address it was sent to the local address.  True if the endpoint changed.
 */
bool shoal_peer_roam(struct shoal_peer *peer, const union shoal_endpoint *ep,
		     const union shoal_local_addr *local);
/* The local address is no longer this host's: forgets it, if still set. */
void shoal_peer_forget_local(struct shoal_peer *peer,
			     const union shoal_local_addr *local);
/* True when some peer of sd is at ep.  Walks every peer: see its caller. */
bool shoal_peer_endpoint_known(struct shoal_device *sd,
			       const union shoal_endpoint *ep);

#endif /* _SHOAL_PEER_H */
