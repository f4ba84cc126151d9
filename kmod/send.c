// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: a frame on the shoal device goes to the peer owning its
 * destination MAC, or to every peer with an outbound SA if it is broadcast
 * or multicast; each copy is sealed as ESP and sent from the device's
 * socket.  Unknown unicast is dropped and counted.
 *
 * A broadcast costs one seal per peer, up to 65,536 of them: too much for
 * ndo_start_xmit, where BH is off.  Broadcast frames are queued instead
 * (a bounded queue: a storm is dropped and counted, not buffered) and fanned
 * out by a work item in process context, a chunk of peers at a time with
 * a chance to reschedule between chunks.
 */

#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/inet_ecn.h>

#include "compat.h"
#include "esp.h"
#include "fdb.h"
#include "netlink.h"
#include "peer.h"
#include "send.h"
#include "socket.h"

#define SHOAL_TX_HEADROOM (SHOAL_SEND_HEADROOM + SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN)
#define SHOAL_TX_TAILROOM (3 + 2 + SHOAL_ESP_ICVLEN)
/* Broadcast frames waiting for the fan-out, and the peers sealed for in
 * one stretch with BH off.
 */
#define SHOAL_BCAST_QUEUE	256
#define SHOAL_BCAST_CHUNK	256

/*
 * The ECN field of the IP packet in the Ethernet frame at skb->data, for
 * the outer header (RFC 6040): congestion marked on the underlay then
 * reaches the flow inside.
 */
static u8 frame_ecn(struct sk_buff *skb)
{
	__be16 proto = ((struct ethhdr *)skb->data)->h_proto;
	u8 b[2];

	if (skb_copy_bits(skb, ETH_HLEN, b, sizeof(b)))
		return INET_ECN_NOT_ECT;
	if (proto == htons(ETH_P_IP))
		return b[1] & INET_ECN_MASK;
	if (proto == htons(ETH_P_IPV6))
		return (b[1] >> 4) & INET_ECN_MASK;
	return INET_ECN_NOT_ECT;
}

/* Seals and sends one frame to one peer; consumes skb. */
static void xmit_one(struct shoal_device *sd, struct shoal_peer *peer,
		     struct sk_buff *skb)
{
	u8 tos = INET_ECN_encapsulate(0, frame_ecn(skb));
	union shoal_local_addr local, from;
	struct shoal_peer_pcpu *pcpu;
	union shoal_endpoint ep;
	unsigned int len;
	struct shoal_sa *sa;
	u8 nexthdr = SHOAL_NEXTHDR_ETHERNET;
	int head, tail, ret;
	u64 seq, gen;
	bool soft;

	sa = rcu_dereference_bh(peer->sa_out);
	shoal_peer_get_path(peer, &ep, &local, &gen);
	if (!sa || !ep.addr.sa_family)
		goto drop;

	if (READ_ONCE(peer->layer3)) {
		/* Linux xfrm in tunnel mode carries IP only. */
		__be16 proto = eth_hdr(skb)->h_proto;

		if (proto == htons(ETH_P_IP))
			nexthdr = SHOAL_NEXTHDR_IPV4;
		else if (proto == htons(ETH_P_IPV6))
			nexthdr = SHOAL_NEXTHDR_IPV6;
		else
			goto drop;
		skb_pull(skb, ETH_HLEN);
	}
	len = skb->len;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		goto drop;
	if (skb_linearize(skb))
		goto drop;
	head = skb_headroom(skb) < SHOAL_TX_HEADROOM ?
	       SHOAL_TX_HEADROOM - skb_headroom(skb) : 0;
	tail = skb_tailroom(skb) < SHOAL_TX_TAILROOM ?
	       SHOAL_TX_TAILROOM - skb_tailroom(skb) : 0;
	if ((head || tail || skb_cloned(skb)) &&
	    pskb_expand_head(skb, ALIGN(head, NET_SKB_PAD), tail, GFP_ATOMIC))
		goto drop;

	seq = shoal_sa_use(sa, &soft);
	if (soft)
		shoal_genl_event_soft_expire(peer, sa->spi, true);
	if (!seq)
		goto drop;

	if (shoal_esp_seal(sa, skb, seq, nexthdr))
		goto drop;
	from = local;
	/*
	 * This CPU's cached route is the path's if it was cached for the
	 * path read now: any change since made a new path_gen.  No reset of
	 * the cache to race with, and nothing shared written per packet.
	 */
	pcpu = this_cpu_ptr(peer->pcpu);
	ret = shoal_socket_send(sd, skb, &ep, &from, tos, &peer->dst_cache,
				pcpu->route_gen == gen);
	if (ret == SHOAL_SEND_ROUTE_CACHED)
		pcpu->route_gen = gen;
	if (ret >= 0) {
		shoal_pstat_add(peer, SHOAL_PSTAT_TX_BYTES, len);
		shoal_pstat_add(peer, SHOAL_PSTAT_TX_PACKETS, 1);
	}
	if (memcmp(&from, &local, sizeof(local)))
		shoal_peer_forget_local(peer, &local);
	return;

drop:
	dev_core_stats_tx_dropped_inc(sd->dev);
	kfree_skb(skb);
}

/* One Ethernet frame (no GSO) to its peer or peers; consumes skb. */
static void xmit_frame(struct sk_buff *skb, struct net_device *dev)
{
	struct shoal_device *sd = netdev_priv(dev);
	struct shoal_peer *peer;
	struct ethhdr *eth;

	if (!pskb_may_pull(skb, ETH_HLEN))
		goto drop;
	eth = eth_hdr(skb);

	if (is_multicast_ether_addr(eth->h_dest)) {
		if (skb_queue_len_lockless(&sd->bcast_queue) >= SHOAL_BCAST_QUEUE)
			goto drop;
		/* Queued frames must not hold the sender's socket memory: a
		 * storm overflows this queue and is dropped, rather than
		 * blocking its sender for as long as the fan-out takes.
		 */
		skb_orphan(skb);
		skb_queue_tail(&sd->bcast_queue, skb);
		queue_work(system_unbound_wq, &sd->bcast_work);
		return;
	}

	rcu_read_lock_bh();
	peer = shoal_peer_by_mac(sd, eth->h_dest) ?:
	       shoal_fdb_lookup(sd, eth->h_dest);
	if (!peer) {
		rcu_read_unlock_bh();
		shoal_dstat_inc(sd, SHOAL_DSTAT_UNKNOWN_DEST);
		goto drop;
	}
	xmit_one(sd, peer, skb);
	rcu_read_unlock_bh();
	return;

drop:
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb(skb);
}

/*
 * Sends skb to every peer with an outbound SA, SHOAL_BCAST_CHUNK peers per
 * RCU section, in the order of their index.  Between sections the peers
 * may change: the walk goes on from the next index, so a peer added or
 * removed meanwhile may get the frame or not, as a lossy broadcast may,
 * but none gets it twice, and no section walks what the last one did.
 */
static void fan_out(struct shoal_device *sd, struct sk_buff *skb)
{
	unsigned long next = 0, index;
	struct shoal_peer *peer;
	struct sk_buff *copy;
	unsigned int sent;
	bool more;

	do {
		sent = 0;
		more = false;
		rcu_read_lock_bh();
		xa_for_each_start(&sd->peer_index, index, peer, next) {
			if (sent == SHOAL_BCAST_CHUNK) {
				more = true;
				next = index;
				break;
			}
			sent++;
			if (!rcu_access_pointer(peer->sa_out))
				continue;
			/* Sealing works in place: each peer needs its own. */
			copy = skb_copy(skb, GFP_ATOMIC);
			if (copy)
				xmit_one(sd, peer, copy);
		}
		rcu_read_unlock_bh();
		cond_resched();
	} while (more && !READ_ONCE(sd->bcast_stopping));
	consume_skb(skb);
}

void shoal_bcast_work(struct work_struct *work)
{
	struct shoal_device *sd = container_of(work, struct shoal_device,
					       bcast_work);
	struct sk_buff *skb;

	while ((skb = skb_dequeue(&sd->bcast_queue)))
		fan_out(sd, skb);
}

void shoal_bcast_stop(struct shoal_device *sd)
{
	/* Emptied first and told to stop, so that a running fan-out ends
	 * after its chunk: the caller holds the RTNL.
	 */
	WRITE_ONCE(sd->bcast_stopping, true);
	skb_queue_purge(&sd->bcast_queue);
	cancel_work_sync(&sd->bcast_work);
	skb_queue_purge(&sd->bcast_queue);
}

netdev_tx_t shoal_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct sk_buff *segs, *seg, *next;

	if (!skb_is_gso(skb)) {
		xmit_frame(skb, dev);
		return NETDEV_TX_OK;
	}
	/* Without features: plain, linear segments with their checksums. */
	segs = skb_gso_segment(skb, 0);
	if (IS_ERR_OR_NULL(segs)) {
		dev_core_stats_tx_dropped_inc(dev);
		kfree_skb(skb);
		return NETDEV_TX_OK;
	}
	consume_skb(skb);
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		xmit_frame(seg, dev);
	}
	return NETDEV_TX_OK;
}

int shoal_send_control(struct shoal_device *sd,
		       const union shoal_endpoint *ep,
		       const union shoal_local_addr *local, const u8 *payload,
		       size_t len, gfp_t gfp)
{
	union shoal_local_addr from = {};
	struct sk_buff *skb;
	int ret;

	if (local)
		from = *local;
	skb = alloc_skb(SHOAL_SEND_HEADROOM + 4 + len, gfp);
	if (!skb)
		return -ENOMEM;
	skb_reserve(skb, SHOAL_SEND_HEADROOM);
	memset(skb_put(skb, 4), 0, 4);
	skb_put_data(skb, payload, len);

	rcu_read_lock_bh();
	ret = shoal_socket_send(sd, skb, ep, &from, 0, NULL, false);
	rcu_read_unlock_bh();
	return ret;
}
