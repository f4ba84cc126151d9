// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: demultiplex what arrives on the device's socket (RFC 3948):
 * control packets behind the non-ESP marker go to userspace as events,
 * 0xFF keepalives are counted, the rest is ESP: looked up by SPI,
 * replay-checked, authenticated and decrypted, and the inner frame
 * delivered on the shoal device.
 */

#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/ptr_ring.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/inet_ecn.h>
#include <net/ipv6.h>
#include <net/xfrm.h>

#include "compat.h"
#include "esp.h"
#include "fdb.h"
#include "netlink.h"
#include "peer.h"
#include "queue.h"
#include "receive.h"

/*
 * Where the packet came from, and the unicast address it was sent to,
 * from its outer headers (still in the headroom after opening); iif is
 * the interface it came in on, for a link-local source's scope.
 */
static void source_endpoint(struct sk_buff *skb, int iif,
			    union shoal_endpoint *ep,
			    union shoal_local_addr *local)
{
	memset(ep, 0, sizeof(*ep));
	memset(local, 0, sizeof(*local));
	if (ip_hdr(skb)->version == 4) {
		ep->addr4.sin_family = AF_INET;
		ep->addr4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		ep->addr4.sin_port = udp_hdr(skb)->source;
		/* A directed broadcast fails the route lookup, and is
		 * forgotten then.
		 */
		if (!ipv4_is_multicast(ip_hdr(skb)->daddr) &&
		    !ipv4_is_lbcast(ip_hdr(skb)->daddr))
			local->ip4 = ip_hdr(skb)->daddr;
	} else {
		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_addr = ipv6_hdr(skb)->saddr;
		ep->addr6.sin6_port = udp_hdr(skb)->source;
		if (ipv6_addr_type(&ep->addr6.sin6_addr) &
		    IPV6_ADDR_LINKLOCAL)
			ep->addr6.sin6_scope_id = iif;
		if (!ipv6_addr_is_multicast(&ipv6_hdr(skb)->daddr))
			local->ip6 = ipv6_hdr(skb)->daddr;
	}
}

static void receive_control(struct shoal_device *sd, struct sk_buff *skb,
			    const union shoal_endpoint *src,
			    const union shoal_local_addr *local)
{
	shoal_dstat_inc(sd, SHOAL_DSTAT_CONTROL_RX);
	if (skb->len - 4 > SHOAL_MAX_CONTROL || skb_linearize(skb) ||
	    shoal_genl_event_control(sd, src, local, skb->data + 4,
				     skb->len - 4) < 0)
		shoal_dstat_inc(sd, SHOAL_DSTAT_CONTROL_DROPS);
	consume_skb(skb);
}

/* Accounts the packet to its SA; tells userspace at the soft limit. */
static bool sa_use(struct shoal_sa *sa)
{
	bool soft;
	u64 n = shoal_sa_use(sa, &soft);

	if (soft)
		shoal_genl_event_soft_expire(sa->peer, sa->spi, false);
	return n;
}

/*
 * RFC 6040 at decapsulation, once the frame's network header is set: an
 * outer CE goes to the inner packet, and so does an outer ECT(1) over an
 * inner ECT(0) (L4S senders rely on it). False when the inner packet
 * cannot carry a CE (not ECN-capable): it is dropped then, as congestion
 * would have dropped it. A VLAN-tagged frame's network header is its tag,
 * not an IP header, so it is left as it came.
 */
static bool ecn_decapsulate(struct sk_buff *skb, u8 outer_ecn)
{
	int inner;

	if (outer_ecn != INET_ECN_CE && outer_ecn != INET_ECN_ECT_1)
		return true;
	if (skb->protocol != htons(ETH_P_IP) &&
	    skb->protocol != htons(ETH_P_IPV6))
		return true;
	/* Too short for its IP header: no ECN field, the stack drops it. */
	inner = skb_get_dsfield(skb);
	if (inner < 0)
		return true;
	return INET_ECN_decapsulate(skb, outer_ecn, inner) != 2;
}

static void deliver(struct shoal_device *sd, struct shoal_peer *peer,
		    struct sk_buff *skb, int nexthdr, u8 outer_ecn)
{
	struct shoal_allowed_ips *allowed;
	struct net_device *dev = sd->dev;
	/* What the peer sent, as its tx_bytes counted it. */
	unsigned int inner_len = skb->len;
	bool checked_there = true;
	struct ethhdr *eth;
	unsigned int len;
	time64_t now;

	switch (nexthdr) {
	case SHOAL_NEXTHDR_ETHERNET:
		/* The frame may still be in fragments (shoal_esp_open). */
		if (!pskb_may_pull(skb, ETH_HLEN))
			goto malformed;
		eth = (struct ethhdr *)skb->data;
		if (READ_ONCE(peer->has_mac) &&
		    ether_addr_equal(eth->h_source, peer->mac))
			break;
		if (!READ_ONCE(peer->bridge)) {
			shoal_dstat_inc(sd, SHOAL_DSTAT_SPOOFED_SRC);
			goto drop;
		}
		/* A host on the LAN the peer bridges in: remember where. */
		if (!shoal_fdb_learn(sd, peer, eth->h_source)) {
			shoal_dstat_inc(sd, SHOAL_DSTAT_SPOOFED_SRC);
			goto drop;
		}
		checked_there = false;
		break;
	case SHOAL_NEXTHDR_IPV4:
	case SHOAL_NEXTHDR_IPV6:
		/* A layer-3 peer: give the packet the Ethernet header the
		 * stack expects, from the peer's MAC to ours.
		 */
		if (skb_cow_head(skb, ETH_HLEN))
			goto drop;
		eth = skb_push(skb, ETH_HLEN);
		ether_addr_copy(eth->h_dest, dev->dev_addr);
		ether_addr_copy(eth->h_source, peer->mac);
		eth->h_proto = htons(nexthdr == SHOAL_NEXTHDR_IPV4 ?
				     ETH_P_IP : ETH_P_IPV6);
		break;
	default:
		goto malformed;
	}
	allowed = rcu_dereference(peer->allowed_ips);
	if (allowed && !shoal_allowed_ips_frame(allowed, skb)) {
		shoal_dstat_inc(sd, SHOAL_DSTAT_SPOOFED_SRC);
		goto drop;
	}

	len = skb->len;
	skb_scrub_packet(skb, !net_eq(sd->creating_net, dev_net(dev)));
	skb->dev = dev;
	skb->protocol = eth_type_trans(skb, dev);
	/*
	 * Poly1305 vouched for every byte the peer sent, and its own stack
	 * checksummed what it sent (send.c completes partial checksums
	 * before sealing): checking again would only cost a pass over the
	 * data.  What it routes passes as it came, as WireGuard lets it.  A
	 * frame a bridge peer passes on from its LAN nobody checked: the
	 * stack checks it here.
	 */
	if (checked_there) {
		skb->ip_summed = CHECKSUM_UNNECESSARY;
		skb->csum_level = SKB_MAX_CSUM_LEVEL;
	} else {
		skb->ip_summed = CHECKSUM_NONE;
	}
	skb_reset_network_header(skb);
	if (!ecn_decapsulate(skb, outer_ecn)) {
		shoal_dstat_inc(sd, SHOAL_DSTAT_ECN_DROPS);
		goto drop;
	}
	shoal_pstat_add(peer, SHOAL_PSTAT_RX_BYTES, inner_len);
	shoal_pstat_add(peer, SHOAL_PSTAT_RX_PACKETS, 1);
	now = ktime_get_real_seconds();
	/* Written once a second, not dirtied per packet for every CPU. */
	if (atomic64_read(&peer->last_rx) != now)
		atomic64_set(&peer->last_rx, now);
	/* A drop there is counted there. */
	if (gro_cells_receive(&sd->gro_cells, skb) == NET_RX_SUCCESS)
		dev_sw_netstats_rx_add(dev, len);
	return;

malformed:
	shoal_dstat_inc(sd, SHOAL_DSTAT_MALFORMED);
drop:
	dev_core_stats_rx_dropped_inc(dev);
	kfree_skb(skb);
}

/*
 * What a received ESP packet carries in its cb from the socket's softirq,
 * through the open workers, to its peer's rx_work.
 */
struct shoal_rx_cb {
	struct shoal_job job;
	int nexthdr;			/* shoal_esp_open's */
	int iif;
	u8 outer_ecn;
};

#define RX_CB(skb) ((struct shoal_rx_cb *)(skb)->cb)

/*
 * ESP packets in flight per peer, and per device waiting for an open
 * worker (a peer, or one forging packets for a known SPI, can take only a
 * quarter of those); past them packets are dropped and counted, as a
 * NIC's full ring would drop them.
 */
#define SHOAL_RX_QUEUE		512
#define SHOAL_OPEN_RING		2048
/* Packets delivered per BH-off stretch: GRO merges within one. */
#define SHOAL_RX_BATCH		64
/*
 * ESP packets up to this long are opened in the softirq they came in:
 * that costs less than handing them to another CPU's worker (games' and
 * TCP's acknowledgements are this small).  A forger who knows an SPI
 * could make the softirq open as much as it can send, so one that fails
 * to authenticate there sends its SA's packets to the workers for a
 * while, whose time the scheduler shares out.
 */
#define SHOAL_RX_INLINE_LEN	256
#define SHOAL_RX_INLINE_OFF	HZ

/* After opening: authenticated or not, replayed or not, then delivered. */
static void receive_done(struct shoal_device *sd, struct shoal_peer *peer,
			 struct sk_buff *skb)
{
	struct shoal_rx_cb *cb = RX_CB(skb);
	union shoal_local_addr local;
	struct shoal_sa *sa = cb->job.sa;
	union shoal_endpoint src;
	int nexthdr = cb->nexthdr;
	u8 outer_ecn = cb->outer_ecn;
	u64 seq = cb->job.seq;

	if (nexthdr == -EBADMSG) {
		shoal_pstat_add(peer, SHOAL_PSTAT_AUTH_FAILURES, 1);
		goto drop;
	}
	if (nexthdr == -ENOMEM)
		goto drop;
	if (nexthdr < 0)
		goto malformed;
	if (!shoal_sa_replay_commit(sa, seq)) {
		shoal_pstat_add(peer, SHOAL_PSTAT_REPLAYS, 1);
		goto drop;
	}
	if (!sa_use(sa))
		goto drop;

	/*
	 * Roaming: the newest authenticated packet says where the peer is
	 * now, and which of our addresses its path (and NAT mapping) leads
	 * to.  A late one, overtaken on an older path, moves nothing back.
	 */
	source_endpoint(skb, cb->iif, &src, &local);
	if (seq == READ_ONCE(sa->replay_top) &&
	    shoal_peer_roam(peer, &src, &local))
		shoal_genl_event_endpoint(peer, &src);

	deliver(sd, peer, skb, nexthdr, outer_ecn);
	return;

malformed:
	shoal_dstat_inc(sd, SHOAL_DSTAT_MALFORMED);
drop:
	kfree_skb(skb);
}

static void rx_job_done(struct sk_buff *skb, enum shoal_job_state state)
{
	shoal_job_done(skb, &SHOAL_JOB(skb)->peer->rx_work, state);
}

static void open_packet(struct sk_buff *skb)
{
	RX_CB(skb)->nexthdr = shoal_esp_open(SHOAL_JOB(skb)->sa, skb,
					     SHOAL_JOB(skb)->seq);
}

static void open_work(struct work_struct *work)
{
	struct shoal_crypt_worker *w = container_of(work,
						    struct shoal_crypt_worker,
						    work);
	struct sk_buff *skb;

	while ((skb = ptr_ring_consume(&w->sd->open_ring))) {
		open_packet(skb);
		rx_job_done(skb, SHOAL_JOB_DONE);
		cond_resched();
	}
}

/*
 * Takes the peer's opened packets from the head of its queue, in the
 * order they came, on one CPU: the replay window is committed, the peer
 * roams and the frames reach the stack (through this CPU's GRO cell) as
 * they would from the softirq.  A removed peer's packets are dropped.
 */
void shoal_rx_work(struct work_struct *work)
{
	struct shoal_peer *peer = container_of(work, struct shoal_peer,
					       rx_work);
	struct shoal_device *sd = peer->sd;
	struct shoal_sa *sa;
	struct sk_buff *skb;
	int state, n;

	do {
		/*
		 * A batch per BH-off stretch: the GRO cell's poll runs when
		 * BH is enabled again, and merges what it finds queued.
		 */
		local_bh_disable();
		rcu_read_lock();
		for (n = 0; n < SHOAL_RX_BATCH; n++) {
			skb = shoal_job_dequeue(&peer->rx_queue, &state, NULL);
			if (!skb)
				break;
			sa = SHOAL_JOB(skb)->sa;
			if (state == SHOAL_JOB_DONE && !READ_ONCE(peer->dead)) {
				receive_done(sd, peer, skb);
			} else {
				dev_core_stats_rx_dropped_inc(sd->dev);
				kfree_skb(skb);
			}
			shoal_sa_put(sa);
			/* The packet's: this work holds one of its own. */
			shoal_peer_put(peer);
		}
		rcu_read_unlock();
		local_bh_enable();
		cond_resched();
	} while (n == SHOAL_RX_BATCH);
	shoal_peer_put(peer);
}

static void receive_esp(struct shoal_device *sd, struct sk_buff *skb,
			const union shoal_endpoint *src,
			const union shoal_local_addr *local, int iif,
			u8 outer_ecn)
{
	struct shoal_rx_cb *cb = RX_CB(skb);
	struct shoal_peer *peer;
	struct shoal_sa *sa;
	u32 spi, seq_lo;
	u64 seq;

	/* Only the header and IV need to be linear: the SPI and sequence
	 * number are checked before anything is copied or decrypted.
	 */
	if (skb->len < SHOAL_ESP_MIN_LEN ||
	    (skb->len - SHOAL_ESP_MIN_LEN) % 4 ||
	    !pskb_may_pull(skb, SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN))
		goto malformed;
	spi = get_unaligned_be32(skb->data);
	seq_lo = get_unaligned_be32(skb->data + 4);

	sa = shoal_sa_by_spi(sd, spi);
	if (!sa) {
		shoal_dstat_inc(sd, SHOAL_DSTAT_UNKNOWN_SPI);
		shoal_genl_event_unknown_spi(sd, spi, src, local);
		goto drop;
	}
	peer = sa->peer;
	if (!shoal_sa_seq_infer(sa, seq_lo, &seq) ||
	    !shoal_sa_replay_check(sa, seq)) {
		shoal_pstat_add(peer, SHOAL_PSTAT_REPLAYS, 1);
		goto drop;
	}
	if (skb_queue_len_lockless(&peer->rx_queue) >= SHOAL_RX_QUEUE) {
		dev_core_stats_rx_dropped_inc(sd->dev);
		goto drop;
	}

	/*
	 * Nothing of the underlay goes with it: the input route may be a
	 * reference that ends with this RCU section, and the underlay's
	 * device may go while the packet waits.
	 */
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	secpath_reset(skb);
	skb->dev = sd->dev;
	BUILD_BUG_ON(sizeof(struct shoal_rx_cb) > sizeof(skb->cb));
	cb->job.seq = seq;
	cb->iif = iif;
	cb->outer_ecn = outer_ecn;
	atomic_set(&cb->job.state, SHOAL_JOB_BUSY);
	shoal_sa_get(sa);
	cb->job.sa = sa;
	shoal_peer_get(peer);
	cb->job.peer = peer;
	/*
	 * Delivered in the queue's order whichever way it is opened: a
	 * small packet here, before it joins the queue, the rest by the
	 * workers.
	 */
	if (skb->len <= SHOAL_RX_INLINE_LEN &&
	    !time_before(jiffies, READ_ONCE(sa->inline_off_until))) {
		open_packet(skb);
		if (cb->nexthdr == -EBADMSG)
			WRITE_ONCE(sa->inline_off_until,
				   jiffies + SHOAL_RX_INLINE_OFF);
		skb_queue_tail(&peer->rx_queue, skb);
		rx_job_done(skb, SHOAL_JOB_DONE);
		return;
	}
	skb_queue_tail(&peer->rx_queue, skb);
	if (ptr_ring_produce(&sd->open_ring, skb)) {
		rx_job_done(skb, SHOAL_JOB_DEAD);
		return;
	}
	shoal_crypt_kick(sd, sd->open_workers, &sd->open_cpu);
	return;

malformed:
	shoal_dstat_inc(sd, SHOAL_DSTAT_MALFORMED);
drop:
	kfree_skb(skb);
}

int shoal_receive_init(struct shoal_device *sd)
{
	struct shoal_crypt_worker *w;
	int cpu, ret;

	sd->open_workers = alloc_percpu(struct shoal_crypt_worker);
	if (!sd->open_workers)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		w = per_cpu_ptr(sd->open_workers, cpu);
		w->sd = sd;
		INIT_WORK(&w->work, open_work);
	}
	ret = ptr_ring_init(&sd->open_ring, SHOAL_OPEN_RING, GFP_KERNEL);
	if (ret)
		free_percpu(sd->open_workers);
	return ret;
}

void shoal_receive_uninit(struct shoal_device *sd)
{
	/* After the crypto workqueue is gone: nothing is queued any more. */
	WARN_ON_ONCE(!__ptr_ring_empty(&sd->open_ring));
	ptr_ring_cleanup(&sd->open_ring, NULL);
	free_percpu(sd->open_workers);
}

void shoal_receive(struct shoal_device *sd, struct sk_buff *skb)
{
	union shoal_local_addr local;
	union shoal_endpoint src;
	u8 marker[4], outer_ecn;
	int iif;

	iif = ip_hdr(skb)->version == 4 ? 0 : inet6_iif(skb);
	source_endpoint(skb, iif, &src, &local);
	outer_ecn = (ip_hdr(skb)->version == 4 ? ip_hdr(skb)->tos :
		     ipv6_get_dsfield(ipv6_hdr(skb))) & INET_ECN_MASK;
	if (!pskb_may_pull(skb, sizeof(struct udphdr)))
		goto malformed;
	__skb_pull(skb, sizeof(struct udphdr));

	if (skb->len == 1 && !skb_copy_bits(skb, 0, marker, 1) &&
	    marker[0] == 0xff) {
		shoal_dstat_inc(sd, SHOAL_DSTAT_KEEPALIVES_RX);
		consume_skb(skb);
		return;
	}
	if (skb->len >= 4 && !skb_copy_bits(skb, 0, marker, 4) &&
	    !marker[0] && !marker[1] && !marker[2] && !marker[3]) {
		if (skb->len == 4)
			goto malformed;
		receive_control(sd, skb, &src, &local);
		return;
	}
	receive_esp(sd, skb, &src, &local, iif, outer_ecn);
	return;

malformed:
	shoal_dstat_inc(sd, SHOAL_DSTAT_MALFORMED);
	kfree_skb(skb);
}
