// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: a frame on the shoal device goes to the peer owning its
 * destination MAC, or to every peer with an outbound SA if it is broadcast
 * or multicast; each copy is sealed as ESP and sent from the device's
 * socket.  Unknown unicast is dropped and counted.
 *
 * A unicast frame is a job for the crypto workers: ndo_start_xmit takes
 * its sequence numbers and queues it twice, on its peer's tx_queue (in
 * order) and on the device's seal_ring, from which whichever CPU's seal
 * worker is free seals it.  The peer's tx_work then sends the jobs at the
 * head of its queue that are sealed, so a peer's packets leave in the
 * order of their numbers although many CPUs seal them (as WireGuard
 * does).  The sending CPU only queues, and one flow's sealing is spread
 * over all of them.
 *
 * A broadcast costs one seal per peer, up to 65,536 of them: too much for
 * ndo_start_xmit, where BH is off, and too many jobs for the ring.
 * Broadcast frames are queued instead (a bounded queue: a storm is dropped
 * and counted, not buffered) and fanned out by a work item in process
 * context that seals them itself, a chunk of peers at a time with a chance
 * to reschedule between chunks, and queues each copy in its peer's order.
 */

#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ptr_ring.h>
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
#include "peersock.h"
#include "queue.h"
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
 * Frames in flight per peer, and jobs (a frame, or one GSO frame's
 * segments) per device waiting for a seal worker.  Past them frames are
 * dropped and counted, as a full queue would drop them: the sender is not
 * slowed by sealing any more, so something must bound it.
 */
#define SHOAL_TX_QUEUE		1024
#define SHOAL_SEAL_RING		1024
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
 * What a frame to seal carries in its cb, from ndo_start_xmit to its send:
 * its ESP parameters, and on a job's first frame the job's.
 */
struct shoal_tx_cb {
	struct shoal_job job;
	unsigned int len;	/* payload, for the statistics */
	u8 tos;			/* of the outer header */
	u8 nexthdr;
	struct sk_buff *rest;	/* the job's other frames, on ->next */
};

#define TX_CB(skb) ((struct shoal_tx_cb *)(skb)->cb)

/*
 * Readies one frame for sealing, in place; false if it cannot be (the
 * frame is then the caller's to drop).
 */
static bool prep_frame(struct shoal_peer *peer, struct sk_buff *skb)
{
	struct shoal_tx_cb *cb = TX_CB(skb);
	int head, tail;

	BUILD_BUG_ON(sizeof(struct shoal_tx_cb) > sizeof(skb->cb));
	cb->nexthdr = SHOAL_NEXTHDR_ETHERNET;
	cb->tos = INET_ECN_encapsulate(0, frame_ecn(skb));
	if (READ_ONCE(peer->layer3)) {
		/* Linux xfrm in tunnel mode carries IP only. */
		__be16 proto = eth_hdr(skb)->h_proto;

		if (proto == htons(ETH_P_IP))
			cb->nexthdr = SHOAL_NEXTHDR_IPV4;
		else if (proto == htons(ETH_P_IPV6))
			cb->nexthdr = SHOAL_NEXTHDR_IPV6;
		else
			return false;
		skb_pull(skb, ETH_HLEN);
	}
	cb->len = skb->len;
	/* The route to the peer is the device socket's; the inner one may
	 * be a reference that ends with this RCU section, before the seal.
	 */
	skb_dst_drop(skb);

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
	return true;
}

static bool seal_frame(struct shoal_sa *sa, struct sk_buff *skb)
{
	return !shoal_esp_seal(sa, skb, TX_CB(skb)->job.seq,
			       TX_CB(skb)->nexthdr);
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
				pcpu->route_gen == gen,
				shoal_peersock_sk(peer, ep->addr.sa_family));
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
	const struct sk_buff *job;	/* the head's */
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
 * Adds skb, an ESP packet of job, to the train, sending the train first
 * if skb cannot join it, and after if it must be its last.  A packet of
 * another socket starts a new train: the head's socket is the train's
 * for what looks at it below (fq's pacing, classifiers).
 */
static void train_add(struct shoal_device *sd, struct shoal_peer *peer,
		      struct shoal_train *t, struct sk_buff *skb,
		      const struct sk_buff *job,
		      const union shoal_endpoint *ep,
		      const union shoal_local_addr *local, u64 gen)
{
	struct sk_buff *head = t->head;
	unsigned int len = TX_CB(skb)->len;
	u8 tos = TX_CB(skb)->tos;

	if (head && (skb->len > skb_headlen(head) || tos != t->tos ||
		     skb->sk != head->sk || t->segs == SHOAL_TRAIN_SEGS ||
		     head->len + skb->len > SHOAL_TRAIN_BYTES)) {
		train_send(sd, peer, t, ep, local, gen);
		head = NULL;
	}
	if (!head) {
		t->head = skb;
		t->tail = NULL;
		t->job = job;
		t->segs = 1;
		t->bytes = len;
		t->tos = tos;
		return;
	}
	/* What the frame carried stays with the head, which goes out. */
	skb_scrub_packet(skb, true);
	/*
	 * The train's memory is the head's truesize, as GRO counts it, for
	 * whatever limits it by that (qdiscs, socket queues).  A segment of
	 * the head's own frame (TCP's and UDP's segmentation charge them all
	 * alike, releasing only memory) hands its charge to the head, which
	 * releases the lot when it is freed.  Any other packet is released
	 * now: its destructor may do more than release memory (an AF_PACKET
	 * ring's completion, a socket reference), and must run once per
	 * packet.  It is counted only if the head has no owner, whose
	 * release must match its charge.
	 */
	if (job == t->job && skb->destructor == head->destructor &&
	    skb->destructor != sock_edemux) {
		skb->sk = NULL;
		skb->destructor = NULL;
		head->truesize += skb->truesize;
	} else {
		skb_orphan(skb);
		if (!head->destructor)
			head->truesize += skb->truesize;
	}
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

static void drop_list(struct shoal_device *sd, struct sk_buff *segs)
{
	struct sk_buff *skb, *next;

	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		dev_core_stats_tx_dropped_inc(sd->dev);
		kfree_skb(skb);
	}
}

static void job_done(struct sk_buff *job, enum shoal_job_state state)
{
	shoal_job_done(job, &SHOAL_JOB(job)->peer->tx_work, state);
}

/*
 * Numbers the job's frames and queues it on its peer's tx_queue, in one
 * step under the queue's lock, so that the queue's order is the numbers'
 * (sending CPUs may race: the device has no TX lock).  The job is whole
 * before: tx_work may take it as soon as the lock is released.  False if
 * the queue is full or the SA spent (the job is the caller's to drop).
 */
static bool job_queue(struct sk_buff *job)
{
	struct shoal_peer *peer = SHOAL_JOB(job)->peer;
	unsigned int frames = SHOAL_JOB(job)->frames;
	struct shoal_sa *sa = SHOAL_JOB(job)->sa;
	struct sk_buff *skb;
	bool soft = false, s;

	spin_lock(&peer->tx_queue.lock);
	if (peer->tx_frames + frames > SHOAL_TX_QUEUE) {
		spin_unlock(&peer->tx_queue.lock);
		return false;
	}
	for (skb = job; skb; skb = skb == job ? TX_CB(job)->rest : skb->next) {
		SHOAL_JOB(skb)->seq = shoal_sa_use(sa, &s);
		soft |= s;
		if (!SHOAL_JOB(skb)->seq)
			break;
	}
	if (!skb) {
		shoal_peer_get(peer);
		shoal_sa_get(sa);
		WRITE_ONCE(peer->tx_frames, peer->tx_frames + frames);
		__skb_queue_tail(&peer->tx_queue, job);
	}
	spin_unlock(&peer->tx_queue.lock);
	if (soft)
		shoal_genl_event_soft_expire(peer, sa->spi, true);
	return !skb;
}

static bool seal_job(struct sk_buff *job)
{
	struct shoal_sa *sa = SHOAL_JOB(job)->sa;
	struct sk_buff *skb;

	for (skb = job; skb; skb = skb == job ? TX_CB(job)->rest : skb->next)
		if (!seal_frame(sa, skb))
			return false;
	return true;
}

/*
 * Frames to peer (one, or the segments of one GSO frame) as one job, in
 * the peer's order: sealed by the seal workers, or here if now (the
 * broadcast fan-out, already in process context and spread over the
 * peers; a job per copy would overflow the ring).  Consumes segs, a list
 * ending in NULL.
 */
static void xmit_peer(struct shoal_device *sd, struct shoal_peer *peer,
		      struct sk_buff *segs, bool now)
{
	struct sk_buff *skb, *next, *job = NULL, **tail = NULL;
	unsigned int frames = 0;
	struct shoal_sa *sa;

	sa = rcu_dereference_bh(peer->sa_out);
	if (!sa || READ_ONCE(peer->tx_frames) >= SHOAL_TX_QUEUE) {
		drop_list(sd, segs);
		return;
	}
	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		if (!prep_frame(peer, skb)) {
			dev_core_stats_tx_dropped_inc(sd->dev);
			kfree_skb(skb);
			continue;
		}
		frames++;
		if (!job) {
			job = skb;
			tail = &TX_CB(job)->rest;
		} else {
			*tail = skb;
			tail = &skb->next;
		}
	}
	if (!job)
		return;
	*tail = NULL;
	SHOAL_JOB(job)->frames = frames;
	atomic_set(&SHOAL_JOB(job)->state, SHOAL_JOB_BUSY);
	SHOAL_JOB(job)->peer = peer;
	SHOAL_JOB(job)->sa = sa;
	if (!job_queue(job)) {
		job->next = TX_CB(job)->rest;
		drop_list(sd, job);
		return;
	}
	if (now) {
		job_done(job, seal_job(job) ? SHOAL_JOB_DONE : SHOAL_JOB_DEAD);
		return;
	}
	if (ptr_ring_produce(&sd->seal_ring, job)) {
		job_done(job, SHOAL_JOB_DEAD);
		return;
	}
	shoal_crypt_kick(sd, sd->seal_workers, &sd->seal_cpu);
}

static void seal_work(struct work_struct *work)
{
	struct shoal_crypt_worker *w = container_of(work,
						   struct shoal_crypt_worker,
						   work);
	struct sk_buff *job;

	while ((job = ptr_ring_consume(&w->sd->seal_ring))) {
		job_done(job, seal_job(job) ? SHOAL_JOB_DONE : SHOAL_JOB_DEAD);
		cond_resched();
	}
}

/*
 * Sends the peer's done jobs from the head of its queue, in trains; stops
 * at the first still being sealed, whose seal worker queues this again.
 * A removed peer's jobs are dropped.
 */
void shoal_tx_work(struct work_struct *work)
{
	struct shoal_peer *peer = container_of(work, struct shoal_peer,
					       tx_work);
	struct shoal_device *sd = peer->sd;
	struct sk_buff *job, *skb, *next;
	union shoal_local_addr local, l;
	union shoal_endpoint ep, e;
	struct shoal_train t = {};
	struct shoal_sa *sa;
	u64 gen = 0, g;
	bool send;
	int state;

	while ((job = shoal_job_dequeue(&peer->tx_queue, &state,
					&peer->tx_frames))) {
		sa = SHOAL_JOB(job)->sa;
		job->next = TX_CB(job)->rest;
		send = state == SHOAL_JOB_DONE && !READ_ONCE(peer->dead);
		rcu_read_lock_bh();
		/* The path of each job: the peer may roam meanwhile. */
		shoal_peer_get_path(peer, &e, &l, &g);
		if (g != gen) {
			train_send(sd, peer, &t, &ep, &local, gen);
			ep = e;
			local = l;
			gen = g;
		}
		if (send && ep.addr.sa_family) {
			skb_list_walk_safe(job, skb, next) {
				skb_mark_not_on_list(skb);
				train_add(sd, peer, &t, skb, job, &ep, &local,
					  gen);
			}
		} else {
			drop_list(sd, job);
		}
		rcu_read_unlock_bh();
		shoal_sa_put(sa);
		/* The job's: this work holds one of its own. */
		shoal_peer_put(peer);
		cond_resched();
	}
	rcu_read_lock_bh();
	train_send(sd, peer, &t, &ep, &local, gen);
	rcu_read_unlock_bh();
	shoal_peer_put(peer);
}

int shoal_send_init(struct shoal_device *sd)
{
	struct shoal_crypt_worker *w;
	int cpu, ret = -ENOMEM;

	/* The workers send, which may be what frees memory (as WireGuard's). */
	sd->crypt_wq = alloc_workqueue("shoal-%s",
				       WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM, 0,
				       sd->dev->name);
	if (!sd->crypt_wq)
		return ret;
	sd->seal_workers = alloc_percpu(struct shoal_crypt_worker);
	if (!sd->seal_workers)
		goto destroy_wq;
	for_each_possible_cpu(cpu) {
		w = per_cpu_ptr(sd->seal_workers, cpu);
		w->sd = sd;
		INIT_WORK(&w->work, seal_work);
	}
	ret = ptr_ring_init(&sd->seal_ring, SHOAL_SEAL_RING, GFP_KERNEL);
	if (ret)
		goto free_workers;
	return 0;

free_workers:
	free_percpu(sd->seal_workers);
destroy_wq:
	destroy_workqueue(sd->crypt_wq);
	return ret;
}

void shoal_send_uninit(struct shoal_device *sd)
{
	/*
	 * Nothing queues new jobs (the device is gone or never was): every
	 * job queued is sealed and sent or dropped, every reference it held
	 * dropped, before the workqueue goes.
	 */
	destroy_workqueue(sd->crypt_wq);
	WARN_ON_ONCE(!__ptr_ring_empty(&sd->seal_ring));
	ptr_ring_cleanup(&sd->seal_ring, NULL);
	free_percpu(sd->seal_workers);
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
	xmit_peer(sd, peer, skb, false);
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
				xmit_peer(sd, peer, copy, true);
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
		xmit_peer(sd, peer, segs, false);
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
	ret = shoal_socket_send(sd, skb, ep, &from, 0, NULL, false, NULL);
	rcu_read_unlock_bh();
	return ret;
}
