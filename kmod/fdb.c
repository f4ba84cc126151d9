// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarding table of MACs learned behind bridge peers.  Readers use
 * RCU; learning, moving and flushing entries take sd->fdb_lock, which is
 * also what keeps an entry's peer pointer from going stale: a peer is
 * flushed from the table before it is freed.
 */

#include <linux/etherdevice.h>
#include <linux/siphash.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "device.h"
#include "fdb.h"
#include "peer.h"

struct shoal_fdb_entry {
	struct hlist_node node;
	struct shoal_peer __rcu *peer;
	unsigned long updated;		/* jiffies */
	u8 mac[ETH_ALEN];
	struct rcu_head rcu;
};

/* Keyed: the MACs come from hosts on a bridged LAN, chosen by anyone. */
static u32 fdb_hash(struct shoal_device *sd, const u8 *mac)
{
	return hsiphash(mac, ETH_ALEN, &sd->hash_key);
}

static struct shoal_fdb_entry *fdb_find(struct shoal_device *sd,
					const u8 *mac)
{
	struct shoal_fdb_entry *e;

	hash_for_each_possible_rcu(sd->fdb_table, e, node, fdb_hash(sd, mac),
				   lockdep_is_held(&sd->fdb_lock))
		if (ether_addr_equal(e->mac, mac))
			return e;
	return NULL;
}

/* fdb_lock: e now leads to peer, not to the peer it led to (if any). */
static void fdb_point(struct shoal_device *sd, struct shoal_fdb_entry *e,
		      struct shoal_peer *peer)
{
	struct shoal_peer *old;

	old = rcu_dereference_protected(e->peer, lockdep_is_held(&sd->fdb_lock));
	if (old && !WARN_ON_ONCE(!old->fdb_entries))
		old->fdb_entries--;
	if (peer)
		peer->fdb_entries++;
	rcu_assign_pointer(e->peer, peer);
}

static void fdb_remove(struct shoal_device *sd, struct shoal_fdb_entry *e)
{
	lockdep_assert_held(&sd->fdb_lock);
	fdb_point(sd, e, NULL);
	hash_del_rcu(&e->node);
	sd->fdb_count--;
	kfree_rcu(e, rcu);
}

/*
 * Drops expired entries every SHOAL_FDB_GC while there are any.  Never
 * from the packet path: with the table full, a flood of new source MACs
 * would walk all of it once per frame, with BH off.
 */
static void fdb_gc(struct work_struct *work)
{
	struct shoal_device *sd = container_of(to_delayed_work(work),
					       struct shoal_device, fdb_gc);
	struct shoal_fdb_entry *e;
	struct hlist_node *tmp;
	int bkt;

	spin_lock_bh(&sd->fdb_lock);
	hash_for_each_safe(sd->fdb_table, bkt, tmp, e, node)
		if (time_after(jiffies, READ_ONCE(e->updated) + SHOAL_FDB_AGE))
			fdb_remove(sd, e);
	if (sd->fdb_count)
		queue_delayed_work(system_power_efficient_wq, &sd->fdb_gc,
				   SHOAL_FDB_GC);
	spin_unlock_bh(&sd->fdb_lock);
}

void shoal_fdb_init(struct shoal_device *sd)
{
	hash_init(sd->fdb_table);
	spin_lock_init(&sd->fdb_lock);
	INIT_DELAYED_WORK(&sd->fdb_gc, fdb_gc);
}

void shoal_fdb_stop(struct shoal_device *sd)
{
	cancel_delayed_work_sync(&sd->fdb_gc);
}

bool shoal_fdb_learn(struct shoal_device *sd, struct shoal_peer *peer,
		     const u8 *mac)
{
	struct shoal_fdb_entry *e;

	/*
	 * A host behind a bridge peer may not speak as a group, as this
	 * device, or as another peer: its frames would take their traffic.
	 */
	if (!is_valid_ether_addr(mac) ||
	    ether_addr_equal(mac, sd->dev->dev_addr) ||
	    shoal_peer_by_mac(sd, mac))
		return false;
	e = fdb_find(sd, mac);
	if (e && rcu_access_pointer(e->peer) == peer) {
		WRITE_ONCE(e->updated, jiffies);
		return true;
	}

	spin_lock_bh(&sd->fdb_lock);
	/*
	 * Removed, or no longer a bridge, while this packet was on its way:
	 * its source must not be learned.  Both change before the flush
	 * that takes this lock, so one of the two sees the other.
	 */
	if (peer->dead || !READ_ONCE(peer->bridge))
		goto unlock;
	e = fdb_find(sd, mac);
	if (e) {
		/* The host moved behind another peer. */
		fdb_point(sd, e, peer);
		WRITE_ONCE(e->updated, jiffies);
		goto unlock;
	}
	/* Full: the frame passes, its source is not learned (fdb_gc). */
	if (sd->fdb_count >= SHOAL_FDB_MAX)
		goto unlock;
	e = kzalloc(sizeof(*e), GFP_ATOMIC);
	if (!e)
		goto unlock;
	ether_addr_copy(e->mac, mac);
	fdb_point(sd, e, peer);
	e->updated = jiffies;
	hash_add_rcu(sd->fdb_table, &e->node, fdb_hash(sd, mac));
	if (!sd->fdb_count++)
		queue_delayed_work(system_power_efficient_wq, &sd->fdb_gc,
				   SHOAL_FDB_GC);
unlock:
	spin_unlock_bh(&sd->fdb_lock);
	return true;
}

struct shoal_peer *shoal_fdb_lookup(struct shoal_device *sd, const u8 *mac)
{
	struct shoal_fdb_entry *e = fdb_find(sd, mac);

	if (!e || time_after(jiffies, READ_ONCE(e->updated) + SHOAL_FDB_AGE))
		return NULL;
	return rcu_dereference_bh(e->peer);
}

void shoal_fdb_flush_peer(struct shoal_device *sd, struct shoal_peer *peer,
			  bool dying)
{
	struct shoal_fdb_entry *e;
	struct hlist_node *tmp;
	int bkt;

	spin_lock_bh(&sd->fdb_lock);
	if (dying)
		WRITE_ONCE(peer->dead, true);
	/* Most peers bridge nothing: no walk over the table for them. */
	if (!peer->fdb_entries)
		goto unlock;
	hash_for_each_safe(sd->fdb_table, bkt, tmp, e, node)
		if (rcu_access_pointer(e->peer) == peer)
			fdb_remove(sd, e);
	WARN_ON_ONCE(peer->fdb_entries);
unlock:
	spin_unlock_bh(&sd->fdb_lock);
}
