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
#include <linux/ip.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/inet_ecn.h>
#include <net/sock.h>

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
 * A train's packets, and its length as a UDP payload of one IPv4 packet
 * (UDP's segmentation takes no more segments than UDP_MAX_SEGMENTS).
 */
#define SHOAL_TRAIN_SEGS	64
#define SHOAL_TRAIN_BYTES \
	(U16_MAX - sizeof(struct iphdr) - sizeof(struct udphdr))

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

/*
 * Seals one frame for peer with sa, in place; false if it cannot be
 * (the frame is then the caller's to drop).  *len is the frame's length
 * for the statistics, *tos the outer header's TOS.
 */
static bool seal_frame(struct shoal_peer *peer, struct shoal_sa *sa,
		       struct sk_buff *skb, unsigned int *len, u8 *tos)
{
	u8 nexthdr = SHOAL_NEXTHDR_ETHERNET;
	int head, tail;
	u64 seq;
	bool soft;

	*tos = INET_ECN_encapsulate(0, frame_ecn(skb));
	if (READ_ONCE(peer->layer3)) {
		/* Linux xfrm in tunnel mode carries IP only. */
		__be16 proto = eth_hdr(skb)->h_proto;

		if (proto == htons(ETH_P_IP))
			nexthdr = SHOAL_NEXTHDR_IPV4;
		else if (proto == htons(ETH_P_IPV6))
			nexthdr = SHOAL_NEXTHDR_IPV6;
		else
			return false;
		skb_pull(skb, ETH_HLEN);
	}
	*len = skb->len;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return false;
	if (skb_linearize(skb))
		return false;
	head = skb_headroom(skb) < SHOAL_TX_HEADROOM ?
	       SHOAL_TX_HEADROOM - skb_headroom(skb) : 0;
	tail = skb_tailroom(skb) < SHOAL_TX_TAILROOM ?
	       SHOAL_TX_TAILROOM - skb_tailroom(skb) : 0;
	if ((head || tail || skb_cloned(skb)) &&
	    pskb_expand_head(skb, ALIGN(head, NET_SKB_PAD), tail, GFP_ATOMIC))
		return false;

	seq = shoal_sa_use(sa, &soft);
	if (soft)
		shoal_genl_event_soft_expire(peer, sa->spi, true);
	return seq && !shoal_esp_seal(sa, skb, seq, nexthdr);
}

/*
 * Sends skb, sealed for peer (one ESP packet, or a train of them), to the
 * path read as ep, local and gen; consumes skb.  True if it left.
 */
static bool send_sealed(struct shoal_device *sd, struct shoal_peer *peer,
			struct sk_buff *skb, const union shoal_endpoint *ep,
			const union shoal_local_addr *local, u64 gen, u8 tos)
{
	union shoal_local_addr from = *local;
	struct shoal_peer_pcpu *pcpu;
	int ret;

	/*
	 * This CPU's cached route is the path's if it was cached for the
	 * path read now: any change since made a new path_gen.  No reset of
	 * the cache to race with, and nothing shared written per packet.
	 */
	pcpu = this_cpu_ptr(peer->pcpu);
	ret = shoal_socket_send(sd, skb, ep, &from, tos, &peer->dst_cache,
				pcpu->route_gen == gen);
	if (ret == SHOAL_SEND_ROUTE_CACHED)
		pcpu->route_gen = gen;
	if (memcmp(&from, local, sizeof(*local)))
		shoal_peer_forget_local(peer, local);
	return ret >= 0;
}

/*
 * A train: ESP packets of one peer that leave as one UDP GSO packet, the
 * first in the head's linear part and each of the others as an skb on its
 * frag_list (the layout GRO makes, which UDP's segmentation splits
 * without copying).  All but the last are gso_size long.
 */
struct shoal_train {
	struct sk_buff *head, *tail;
	unsigned int segs, bytes;	/* packets, and their payload */
	u8 tos;
};

static void train_send(struct shoal_device *sd, struct shoal_peer *peer,
		       struct shoal_train *t, const union shoal_endpoint *ep,
		       const union shoal_local_addr *local, u64 gen)
{
	struct sk_buff *skb = t->head;

	if (!skb)
		return;
	t->head = NULL;
	if (t->segs > 1) {
		skb_shinfo(skb)->gso_size = skb_headlen(skb);
		skb_shinfo(skb)->gso_type = SKB_GSO_UDP_L4;
		skb_shinfo(skb)->gso_segs = t->segs;
	}
	if (send_sealed(sd, peer, skb, ep, local, gen, t->tos)) {
		shoal_pstat_add(peer, SHOAL_PSTAT_TX_BYTES, t->bytes);
		shoal_pstat_add(peer, SHOAL_PSTAT_TX_PACKETS, t->segs);
	}
}

/*
 * Adds skb, an ESP packet of len payload bytes, to the train, sending the
 * train first if skb cannot join it, and after if it must be its last.
 */
static void train_add(struct shoal_device *sd, struct shoal_peer *peer,
		      struct shoal_train *t, struct sk_buff *skb,
		      unsigned int len, u8 tos,
		      const union shoal_endpoint *ep,
		      const union shoal_local_addr *local, u64 gen)
{
	struct sk_buff *head = t->head;

	if (head && (skb->len > skb_headlen(head) || tos != t->tos ||
		     t->segs == SHOAL_TRAIN_SEGS ||
		     head->len + skb->len > SHOAL_TRAIN_BYTES)) {
		train_send(sd, peer, t, ep, local, gen);
		head = NULL;
	}
	if (!head) {
		t->head = skb;
		t->tail = NULL;
		t->segs = 1;
		t->bytes = len;
		t->tos = tos;
		return;
	}
	/* What the frame carried stays with the head, which goes out. */
	skb_scrub_packet(skb, true);
	/*
	 * The train's memory is the head's truesize, as GRO counts it, for
	 * whatever limits it by that (qdiscs, socket queues).  A packet
	 * charged to the head's owner (TCP's or UDP's segments all are)
	 * hands its charge to the head, which releases the lot when it is
	 * freed; any other is released now.
	 */
	if (skb->sk == head->sk && skb->destructor == head->destructor &&
	    skb->destructor != sock_edemux) {
		skb->sk = NULL;
		skb->destructor = NULL;
	} else {
		skb_orphan(skb);
	}
	head->truesize += skb->truesize;
	if (t->tail)
		t->tail->next = skb;
	else
		skb_shinfo(head)->frag_list = skb;
	t->tail = skb;
	head->len += skb->len;
	head->data_len += skb->len;
	t->segs++;
	t->bytes += len;
	/* A shorter packet can only be a train's last. */
	if (skb->len < skb_headlen(head))
		train_send(sd, peer, t, ep, local, gen);
}

/*
 * Frames to peer (one, or the segments of one GSO frame), sealed and sent
 * in trains: the stack below is crossed once per train, not once per
 * packet, on this host (routing, netfilter, the qdisc) and on the next
 * one that takes the train whole (a veth, loopback, or a NIC segmenting
 * UDP itself).  Consumes segs, a list ending in NULL.
 */
static void xmit_peer(struct shoal_device *sd, struct shoal_peer *peer,
		      struct sk_buff *segs)
{
	struct shoal_train t = {};
	union shoal_local_addr local;
	struct sk_buff *skb, *next;
	union shoal_endpoint ep;
	struct shoal_sa *sa;
	unsigned int len;
	u64 gen;
	u8 tos;

	sa = rcu_dereference_bh(peer->sa_out);
	shoal_peer_get_path(peer, &ep, &local, &gen);
	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		if (!sa || !ep.addr.sa_family ||
		    !seal_frame(peer, sa, skb, &len, &tos)) {
			dev_core_stats_tx_dropped_inc(sd->dev);
			kfree_skb(skb);
			continue;
		}
		train_add(sd, peer, &t, skb, len, tos, &ep, &local, gen);
	}
	train_send(sd, peer, &t, &ep, &local, gen);
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
	xmit_peer(sd, peer, skb);
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
				xmit_peer(sd, peer, copy);
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

/*
 * The segments of one GSO frame, which share its Ethernet header: a
 * unicast one goes to its peer in trains, the rest frame by frame.
 * Consumes segs.
 */
static void xmit_segs(struct net_device *dev, struct sk_buff *segs)
{
	struct shoal_device *sd = netdev_priv(dev);
	struct shoal_peer *peer = NULL;
	struct sk_buff *seg, *next;
	struct ethhdr *eth;

	rcu_read_lock_bh();
	if (skb_headlen(segs) >= ETH_HLEN) {
		eth = (struct ethhdr *)segs->data;
		if (!is_multicast_ether_addr(eth->h_dest))
			peer = shoal_peer_by_mac(sd, eth->h_dest) ?:
			       shoal_fdb_lookup(sd, eth->h_dest);
	}
	if (peer) {
		xmit_peer(sd, peer, segs);
		rcu_read_unlock_bh();
		return;
	}
	rcu_read_unlock_bh();
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		xmit_frame(seg, dev);
	}
}

netdev_tx_t shoal_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct sk_buff *segs;

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
	xmit_segs(dev, segs);
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
