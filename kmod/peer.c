// SPDX-License-Identifier: GPL-2.0
/*
 * Peers and the device's lookup tables: by public key (configuration),
 * by MAC (transmit), by endpoint (a peer's control packets or a
 * stranger's) and inbound SAs by SPI (receive).
 */

#include <crypto/algapi.h>
#include <linux/etherdevice.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "fdb.h"
#include "peer.h"
#include "peersock.h"
#include "receive.h"
#include "send.h"

/* Keyed with the device's random hash key: keys and MACs come from
 * outside, and must not be able to pile up in one bucket.
 */
static u32 key_hash(struct shoal_device *sd, const u8 key[SHOAL_KEY_LEN])
{
	return hsiphash(key, SHOAL_KEY_LEN, &sd->hash_key);
}

static u32 mac_hash(struct shoal_device *sd, const u8 *mac)
{
	return hsiphash(mac, ETH_ALEN, &sd->hash_key);
}

static u32 endpoint_hash(struct shoal_device *sd,
			 const union shoal_endpoint *ep)
{
	struct {
		struct in6_addr addr;
		__be16 port;
		u16 family;
	} k = { .family = ep->addr.sa_family };

	if (ep->addr.sa_family == AF_INET) {
		k.addr.s6_addr32[0] = ep->addr4.sin_addr.s_addr;
		k.port = ep->addr4.sin_port;
	} else {
		k.addr = ep->addr6.sin6_addr;
		k.port = ep->addr6.sin6_port;
	}
	return hsiphash(&k, sizeof(k), &sd->hash_key);
}

/*
 * The peer's endpoint changed, endpoint_lock held: it moves to its new
 * bucket.  A reader on the node as it moves may follow it into the new
 * chain and miss a peer in the old one: that packet is then treated as a
 * stranger's, nothing worse.  A removed peer is never put back.
 */
static void endpoint_rehash(struct shoal_peer *peer)
{
	struct shoal_device *sd = peer->sd;

	if (peer->unlisted)
		return;
	spin_lock(&sd->endpoint_table_lock);
	if (!hlist_unhashed(&peer->endpoint_node))
		hlist_del_init_rcu(&peer->endpoint_node);
	if (peer->endpoint.addr.sa_family)
		hash_add_rcu(sd->endpoint_table, &peer->endpoint_node,
			     endpoint_hash(sd, &peer->endpoint));
	spin_unlock(&sd->endpoint_table_lock);
}

static void endpoint_unlist(struct shoal_peer *peer)
{
	struct shoal_device *sd = peer->sd;

	spin_lock_bh(&peer->endpoint_lock);
	spin_lock(&sd->endpoint_table_lock);
	if (!hlist_unhashed(&peer->endpoint_node))
		hlist_del_init_rcu(&peer->endpoint_node);
	peer->unlisted = true;
	spin_unlock(&sd->endpoint_table_lock);
	spin_unlock_bh(&peer->endpoint_lock);
}

struct shoal_peer *shoal_peer_create(struct shoal_device *sd,
				     const u8 key[SHOAL_KEY_LEN])
{
	struct shoal_peer *peer;
	int cpu;

	ASSERT_RTNL();
	peer = kzalloc(sizeof(*peer), GFP_KERNEL_ACCOUNT);
	if (!peer)
		return NULL;
	peer->pcpu = alloc_percpu_gfp(struct shoal_peer_pcpu,
				      GFP_KERNEL_ACCOUNT);
	if (!peer->pcpu)
		goto free_peer;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(peer->pcpu, cpu)->syncp);
	if (dst_cache_init(&peer->dst_cache, GFP_KERNEL_ACCOUNT))
		goto free_pcpu;
	peer->sd = sd;
	refcount_set(&peer->ref, 1);
	skb_queue_head_init(&peer->tx_queue);
	INIT_WORK(&peer->tx_work, shoal_tx_work);
	skb_queue_head_init(&peer->rx_queue);
	INIT_WORK(&peer->rx_work, shoal_rx_work);
	peer->work_cpu = nr_cpu_ids;
	memcpy(peer->public_key, key, SHOAL_KEY_LEN);
	spin_lock_init(&peer->endpoint_lock);
	seqcount_spinlock_init(&peer->endpoint_seq, &peer->endpoint_lock);
	/* No CPU's route_gen (0) matches before it cached a route. */
	peer->path_gen = 1;
	INIT_HLIST_NODE(&peer->mac_node);
	INIT_HLIST_NODE(&peer->endpoint_node);
	/* Published to the broadcast worker only once set up. */
	if (xa_alloc(&sd->peer_index, &peer->index, peer, xa_limit_32b,
		     GFP_KERNEL_ACCOUNT))
		goto destroy_dst_cache;
	hash_add_rcu(sd->peer_table, &peer->key_node, key_hash(sd, key));
	list_add_tail_rcu(&peer->list, &sd->peer_list);
	sd->peer_count++;
	return peer;

destroy_dst_cache:
	dst_cache_destroy(&peer->dst_cache);
free_pcpu:
	free_percpu(peer->pcpu);
free_peer:
	kfree(peer);
	return NULL;
}

int shoal_peer_cpu(struct shoal_peer *peer)
{
	int cpu = READ_ONCE(peer->work_cpu);
	unsigned int n;

	if (likely(cpu < nr_cpu_ids && cpu_online(cpu)))
		return cpu;
	n = peer->index % num_online_cpus();
	for_each_online_cpu(cpu)
		if (!n--)
			break;
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(peer->work_cpu, cpu);
	return cpu;
}

void shoal_peer_put(struct shoal_peer *peer)
{
	if (!refcount_dec_and_test(&peer->ref))
		return;
	/* Each job held a reference: none is left to send or deliver. */
	WARN_ON_ONCE(!skb_queue_empty_lockless(&peer->tx_queue));
	WARN_ON_ONCE(!skb_queue_empty_lockless(&peer->rx_queue));
	dst_cache_destroy(&peer->dst_cache);
	free_percpu(peer->pcpu);
	kfree(peer);
}

/* After the grace period: no reader can find the peer any more. */
static void peer_put_rcu(struct rcu_head *rcu)
{
	shoal_peer_put(container_of(rcu, struct shoal_peer, rcu));
}

void shoal_pstats_read(struct shoal_peer *peer, u64 sum[SHOAL_PSTAT_COUNT])
{
	const struct shoal_peer_pcpu *st;
	u64 v[SHOAL_PSTAT_COUNT];
	unsigned int start;
	int cpu, i;

	memset(sum, 0, SHOAL_PSTAT_COUNT * sizeof(*sum));
	for_each_possible_cpu(cpu) {
		st = per_cpu_ptr(peer->pcpu, cpu);
		do {
			start = u64_stats_fetch_begin(&st->syncp);
			for (i = 0; i < SHOAL_PSTAT_COUNT; i++)
				v[i] = u64_stats_read(&st->count[i]);
		} while (u64_stats_fetch_retry(&st->syncp, start));
		for (i = 0; i < SHOAL_PSTAT_COUNT; i++)
			sum[i] += v[i];
	}
}

static u32 sa_key_hash(struct shoal_device *sd, const u8 *key)
{
	return hsiphash(key, SHOAL_SA_KEY_LEN, &sd->hash_key);
}

/*
 * A new SA starts its sequence numbers, and so its nonces, at 1 again:
 * with a key in use, each nonce would be used twice.  By a keyed hash, so
 * that a device of many peers does not hold the RTNL for a walk over them
 * per key set.
 */
bool shoal_sa_out_key_used(struct shoal_device *sd, const u8 *key)
{
	struct shoal_sa *sa;

	ASSERT_RTNL();
	hash_for_each_possible(sd->sa_out_keys, sa, key_node,
			       sa_key_hash(sd, key))
		if (!crypto_memneq(sa->key, key, SHOAL_SA_KEY_LEN))
			return true;
	return false;
}

void shoal_sa_out_hash(struct shoal_device *sd, struct shoal_sa *sa)
{
	ASSERT_RTNL();
	hash_add(sd->sa_out_keys, &sa->key_node, sa_key_hash(sd, sa->key));
}

void shoal_sa_out_unhash(struct shoal_sa *sa)
{
	ASSERT_RTNL();
	if (sa)
		hash_del(&sa->key_node);
}

void shoal_sa_retire(struct shoal_sa *sa, struct list_head *retire)
{
	if (!sa)
		return;
	if (!hlist_unhashed(&sa->spi_node))
		hash_del_rcu(&sa->spi_node);
	list_add_tail(&sa->retire_node, retire);
}

void shoal_peer_remove(struct shoal_peer *peer, struct list_head *retire)
{
	struct shoal_device *sd = peer->sd;
	struct shoal_allowed_ips *allowed;
	int i;

	ASSERT_RTNL();
	/* Userspace's socket is plain UDP again before this returns. */
	shoal_peersock_release(peer);
	shoal_sa_out_unhash(rtnl_dereference(peer->sa_out));
	shoal_sa_retire(rtnl_dereference(peer->sa_out), retire);
	RCU_INIT_POINTER(peer->sa_out, NULL);
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		shoal_sa_retire(rtnl_dereference(peer->sa_in[i]), retire);
		RCU_INIT_POINTER(peer->sa_in[i], NULL);
	}
	shoal_fdb_flush_peer(sd, peer, true);
	endpoint_unlist(peer);
	hash_del_rcu(&peer->key_node);
	if (peer->has_mac)
		hash_del_rcu(&peer->mac_node);
	list_del_rcu(&peer->list);
	xa_erase(&sd->peer_index, peer->index);
	sd->peer_count--;
	allowed = rtnl_dereference(peer->allowed_ips);
	if (allowed)
		kfree_rcu(allowed, rcu);
	call_rcu(&peer->rcu, peer_put_rcu);
}

struct shoal_peer *shoal_peer_by_key(struct shoal_device *sd,
				     const u8 key[SHOAL_KEY_LEN])
{
	struct shoal_peer *peer;

	hash_for_each_possible_rcu(sd->peer_table, peer, key_node,
				   key_hash(sd, key), lockdep_rtnl_is_held())
		if (!memcmp(peer->public_key, key, SHOAL_KEY_LEN))
			return peer;
	return NULL;
}

struct shoal_peer *shoal_peer_by_mac(struct shoal_device *sd, const u8 *mac)
{
	struct shoal_peer *peer;

	hash_for_each_possible_rcu(sd->mac_table, peer, mac_node,
				   mac_hash(sd, mac), lockdep_rtnl_is_held())
		if (ether_addr_equal(peer->mac, mac))
			return peer;
	return NULL;
}

int shoal_peer_set_mac(struct shoal_peer *peer, const u8 *mac)
{
	struct shoal_device *sd = peer->sd;
	struct shoal_peer *other;

	ASSERT_RTNL();
	other = shoal_peer_by_mac(sd, mac);
	if (other == peer)
		return 0;
	if (other)
		return -EEXIST;
	if (peer->has_mac) {
		hash_del_rcu(&peer->mac_node);
		/* Readers may still hold the old entry. */
		synchronize_net();
	}
	ether_addr_copy(peer->mac, mac);
	WRITE_ONCE(peer->has_mac, true);
	hash_add_rcu(sd->mac_table, &peer->mac_node, mac_hash(sd, mac));
	return 0;
}

struct shoal_sa *shoal_sa_by_spi(struct shoal_device *sd, u32 spi)
{
	struct shoal_sa *sa;

	hash_for_each_possible_rcu(sd->spi_table, sa, spi_node, spi,
				   lockdep_rtnl_is_held())
		if (sa->spi == spi)
			return sa;
	return NULL;
}

void shoal_sa_retire_all(struct list_head *retire)
{
	struct shoal_sa *sa, *tmp;

	if (list_empty(retire))
		return;
	synchronize_net();
	list_for_each_entry_safe(sa, tmp, retire, retire_node) {
		list_del(&sa->retire_node);
		shoal_sa_put(sa);
	}
}

void shoal_peer_get_endpoint(struct shoal_peer *peer,
			     union shoal_endpoint *ep)
{
	union shoal_local_addr local;
	u64 gen;

	shoal_peer_get_path(peer, ep, &local, &gen);
}

static bool endpoint_equal(const union shoal_endpoint *a,
			   const union shoal_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       ipv6_addr_equal(&a->addr6.sin6_addr, &b->addr6.sin6_addr) &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id;
	return true;
}

bool shoal_peer_endpoint_known(struct shoal_device *sd,
			       const union shoal_endpoint *ep)
{
	struct shoal_peer *peer;
	bool known = false;

	rcu_read_lock_bh();
	hash_for_each_possible_rcu(sd->endpoint_table, peer, endpoint_node,
				   endpoint_hash(sd, ep)) {
		union shoal_endpoint at;

		shoal_peer_get_endpoint(peer, &at);
		known = endpoint_equal(&at, ep);
		if (known)
			break;
	}
	rcu_read_unlock_bh();
	return known;
}

/*
 * endpoint_lock held: opens a write section of endpoint and local, which
 * makes a new path_gen, so that no CPU's cached route counts as current.
 */
static void path_write_begin(struct shoal_peer *peer)
{
	write_seqcount_begin(&peer->endpoint_seq);
	peer->path_gen++;
}

bool shoal_peer_set_endpoint(struct shoal_peer *peer,
			     const union shoal_endpoint *ep)
{
	bool changed;

	spin_lock_bh(&peer->endpoint_lock);
	changed = !endpoint_equal(&peer->endpoint, ep);
	if (changed) {
		path_write_begin(peer);
		peer->endpoint = *ep;
		memset(&peer->local, 0, sizeof(peer->local));
		write_seqcount_end(&peer->endpoint_seq);
		endpoint_rehash(peer);
	}
	spin_unlock_bh(&peer->endpoint_lock);
	return changed;
}

void shoal_peer_get_path(struct shoal_peer *peer, union shoal_endpoint *ep,
			 union shoal_local_addr *local, u64 *gen)
{
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&peer->endpoint_seq);
		*ep = peer->endpoint;
		*local = peer->local;
		*gen = peer->path_gen;
	} while (read_seqcount_retry(&peer->endpoint_seq, seq));
}

void shoal_peer_reroute(struct shoal_peer *peer)
{
	spin_lock_bh(&peer->endpoint_lock);
	path_write_begin(peer);
	write_seqcount_end(&peer->endpoint_seq);
	spin_unlock_bh(&peer->endpoint_lock);
}

bool shoal_peer_roam(struct shoal_peer *peer, const union shoal_endpoint *ep,
		     const union shoal_local_addr *local)
{
	union shoal_local_addr was_local;
	union shoal_endpoint was;
	bool changed;
	u64 gen;

	/* Nearly every packet comes by the path already known: no lock. */
	shoal_peer_get_path(peer, &was, &was_local, &gen);
	if (endpoint_equal(&was, ep) &&
	    !memcmp(&was_local, local, sizeof(*local)))
		return false;

	spin_lock_bh(&peer->endpoint_lock);
	changed = !endpoint_equal(&peer->endpoint, ep);
	if (changed || memcmp(&peer->local, local, sizeof(*local))) {
		path_write_begin(peer);
		peer->endpoint = *ep;
		peer->local = *local;
		write_seqcount_end(&peer->endpoint_seq);
		if (changed)
			endpoint_rehash(peer);
	}
	spin_unlock_bh(&peer->endpoint_lock);
	return changed;
}

void shoal_peer_forget_local(struct shoal_peer *peer,
			     const union shoal_local_addr *local)
{
	spin_lock_bh(&peer->endpoint_lock);
	if (!memcmp(&peer->local, local, sizeof(*local))) {
		path_write_begin(peer);
		memset(&peer->local, 0, sizeof(peer->local));
		write_seqcount_end(&peer->endpoint_seq);
	}
	spin_unlock_bh(&peer->endpoint_lock);
}
