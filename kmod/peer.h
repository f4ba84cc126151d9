/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_PEER_H
#define _SHOAL_PEER_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/spinlock.h>
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

/*
 * A peer: its identity (an opaque public key), the MAC it owns, where to
 * send and its SAs.  Writers hold the RTNL; the datapath reads under RCU.
 * The endpoint also changes from the datapath (roaming) under its lock.
 */
struct shoal_peer {
	struct shoal_device *sd;
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
	 * address gone vs. removal.
	 */
	spinlock_t endpoint_lock;
	union shoal_endpoint endpoint;	/* sa_family 0 = none */
	union shoal_local_addr local;
	bool unlisted;			/* removed: out of endpoint_table */

	struct shoal_sa __rcu *sa_out;
	struct shoal_sa __rcu *sa_in[SHOAL_MAX_SA_IN];
	struct shoal_allowed_ips __rcu *allowed_ips;	/* NULL: any source */

	atomic64_t pstats[SHOAL_PSTAT_COUNT];
	atomic64_t last_rx;		/* seconds since the epoch */
	struct rcu_head rcu;
};

static inline void shoal_pstat_add(struct shoal_peer *p, enum shoal_pstat s,
				   u64 n)
{
	atomic64_add(n, &p->pstats[s]);
}

struct shoal_peer *shoal_peer_create(struct shoal_device *sd,
				     const u8 key[SHOAL_KEY_LEN]);
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
/* The endpoint and the local address to send to it from. */
void shoal_peer_get_path(struct shoal_peer *peer, union shoal_endpoint *ep,
			 union shoal_local_addr *local);
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
