// SPDX-License-Identifier: MIT
/*
 * The TAP datapath's receive path (kmod/receive.c): datagrams from the
 * socket demultiplexed as RFC 3948 says, ESP opened in batches, checked
 * against the peer's allowed IPs and written to the TAP.
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sodium.h>

#include "crypt_pool.h"
#include "datapath.h"
#include "dp_tap_int.h"
#include "esp.h"
#include "srcguard.h"
#include "vnet.h"

/* As the kernel module: see kmod/netlink.c and kmod/device.c. */
#define TAP_CONTROL_PER_SEC	20000
#define TAP_UNKNOWN_SPI_PER_SEC	100

/* The source of a datagram as the kernel reports it: IPv4 as sockaddr_in. */
static bool source_endpoint(struct shoal_endpoint *ep,
			    const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET6 && len >= sizeof(*in6)) {
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			ep->in.sin_family = AF_INET;
			ep->in.sin_port = in6->sin6_port;
			memcpy(&ep->in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
			ep->len = sizeof(ep->in);
		} else {
			ep->in6.sin6_family = AF_INET6;
			ep->in6.sin6_port = in6->sin6_port;
			ep->in6.sin6_addr = in6->sin6_addr;
			/* Set by the kernel for link-local sources only. */
			ep->in6.sin6_scope_id = in6->sin6_scope_id;
			ep->len = sizeof(ep->in6);
		}
		return true;
	}
	if (ss->ss_family == AF_INET && len >= sizeof(*in)) {
		ep->in.sin_family = AF_INET;
		ep->in.sin_port = in->sin_port;
		ep->in.sin_addr = in->sin_addr;
		ep->len = sizeof(ep->in);
		return true;
	}
	return false;
}

/* A TAP that is down refuses frames: dropped, as on a down device. */
static void tap_write(void *ctx, const struct virtio_net_hdr *h,
		      const uint8_t *frame, size_t len)
{
	struct tap_dp *t = ctx;
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = sizeof(*h) },
		{ .iov_base = (void *)frame, .iov_len = len },
	};
	ssize_t n;

	do
		n = writev(t->tap_fd, iov, 2);
	while (n < 0 && errno == EINTR);
}

static void deliver(struct tap_dp *t, struct tap_peer *peer, uint8_t *frame,
		    size_t len, uint8_t next_header, time_t wall)
{
	/* What the peer sent, as its tx_bytes counted it. */
	size_t inner_len = len;
	uint16_t proto;

	switch (next_header) {
	case SHOAL_NEXTHDR_ETHERNET:
		if (len < ETH_HLEN)
			goto malformed;
		/* A peer may only speak for its own MAC (no bridge peers here). */
		if (!peer->has_mac ||
		    memcmp(frame + ETH_ALEN, peer->mac, ETH_ALEN)) {
			t->stats[SHOAL_A_DSTAT_SPOOFED_SRC]++;
			return;
		}
		break;
	case SHOAL_NEXTHDR_IPV4:
	case SHOAL_NEXTHDR_IPV6:
		/* A layer-3 peer (Linux xfrm): the frame the stack expects. */
		proto = htons(next_header == SHOAL_NEXTHDR_IPV4 ? ETH_P_IP :
			      ETH_P_IPV6);
		frame -= ETH_HLEN;
		memcpy(frame, t->dp.mac, ETH_ALEN);
		memcpy(frame + ETH_ALEN, peer->mac, ETH_ALEN);
		memcpy(frame + 2 * ETH_ALEN, &proto, sizeof(proto));
		len += ETH_HLEN;
		break;
	default:
		goto malformed;
	}
	if (peer->n_allowed_ips &&
	    !shoal_frame_sources_allowed(frame, len, peer->allowed_ips,
					 peer->n_allowed_ips)) {
		t->stats[SHOAL_A_DSTAT_SPOOFED_SRC]++;
		return;
	}

	peer->rx_bytes += inner_len;
	peer->rx_packets++;
	peer->last_rx = (uint64_t)(wall > 0 ? wall : 0);
	/*
	 * A frame that is not merged is written with no offload asked for:
	 * the stack checks its checksums.  Merged ones were checked here.
	 */
	shoal_gro_add(&t->gro, frame, len, tap_write, t);
	return;

malformed:
	t->stats[SHOAL_A_DSTAT_MALFORMED]++;
}

static bool queued(const struct tap_dp *t, const struct tap_sa *sa,
		   uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < t->rxp.n; i++)
		if (t->rxp.sa[i] == sa && t->rxp.seq[i] == seq)
			return true;
	return false;
}

/* Counts an ESP packet of peer's that opening refused with ret. */
static void count_refused(struct tap_dp *t, struct tap_peer *peer, int ret)
{
	switch (ret) {
	case -EALREADY:
		peer->replays++;
		break;
	case -EBADMSG:
		peer->auth_failures++;
		break;
	case -EKEYEXPIRED:
		break;
	default:
		t->stats[SHOAL_A_DSTAT_MALFORMED]++;
		break;
	}
}

/*
 * Checks the ESP datagram pkt (in t->rx) and makes it a job of the batch,
 * opened in place by tap_rx_flush(); the ESP header and IV in front of its
 * payload leave room for the Ethernet header deliver() may add.
 */
_Static_assert(SHOAL_ESP_PAYLOAD_OFFSET >= ETH_HLEN, "room for a header");

static void receive_esp(struct tap_dp *t, uint8_t *pkt, size_t len,
			const struct shoal_endpoint *from, time_t now)
{
	unsigned int i = t->rxp.n;
	struct shoal_dp_event ev;
	struct tap_sa *sa;
	uint32_t spi;
	int ret;

	if (len < SHOAL_ESP_MIN_LEN || (len - SHOAL_ESP_MIN_LEN) % 4) {
		t->stats[SHOAL_A_DSTAT_MALFORMED]++;
		return;
	}
	spi = shoal_esp_spi(pkt, len);
	sa = tap_sa_by_spi(t, spi);
	if (!sa) {
		t->stats[SHOAL_A_DSTAT_UNKNOWN_SPI]++;
		if (!tap_rate_ok(&t->spi_rate, now, TAP_UNKNOWN_SPI_PER_SEC))
			return;
		memset(&ev, 0, sizeof(ev));
		ev.type = SHOAL_DP_EV_UNKNOWN_SPI;
		ev.spi = spi;
		ev.from = *from;
		tap_queue_event(t, &ev);
		return;
	}

	ret = shoal_esp_open_prepare(&sa->esp, now, pkt, len,
				     pkt + SHOAL_ESP_PAYLOAD_OFFSET,
				     len - SHOAL_ESP_PAYLOAD_OFFSET,
				     &t->rxp.seq[i], &t->rxp.job[i]);
	/* A copy of one queued already costs no cryptography either. */
	if (!ret && queued(t, sa, t->rxp.seq[i]))
		ret = -EALREADY;
	if (ret) {
		count_refused(t, sa->peer, ret);
		return;
	}
	t->rxp.sa[i] = sa;
	t->rxp.from[i] = *from;
	t->rxp.n++;
}

/*
 * Opens the batch's ESP datagrams (on the helpers too), then, in their
 * order: the replay window, roaming and delivery.
 */
void tap_rx_flush(struct tap_dp *t, time_t now, time_t wall)
{
	struct shoal_esp_crypt *job;
	struct tap_peer *peer;
	uint8_t next_header;
	struct tap_sa *sa;
	size_t frame_len;
	unsigned int i;
	int ret;

	shoald_crypt_pool_run(tap_crypt_pool(t), t->rxp.job, t->rxp.result,
			      t->rxp.n);
	for (i = 0; i < t->rxp.n; i++) {
		sa = t->rxp.sa[i];
		peer = sa->peer;
		job = &t->rxp.job[i];
		ret = t->rxp.result[i];
		if (!ret)
			ret = shoal_esp_open_finish(&sa->esp, now,
						    t->rxp.seq[i], job,
						    &frame_len, &next_header);
		if (ret) {
			count_refused(t, peer, ret);
			continue;
		}
		if (shoal_esp_sa_soft_due(&sa->esp, now))
			tap_queue_peer_event(t, SHOAL_DP_EV_SOFT_EXPIRE, peer,
					     sa->esp.spi, false);

		/*
		 * Roaming: an authenticated packet says where the peer is now
		 * (from[i] is set; a peer without an endpoint gets it).
		 */
		if (!shoal_endpoint_equal(&peer->endpoint, &t->rxp.from[i])) {
			peer->endpoint = t->rxp.from[i];
			tap_queue_peer_event(t, SHOAL_DP_EV_ENDPOINT, peer, 0,
					     false);
		}
		deliver(t, peer, job->out, frame_len, next_header, wall);
	}
	/* The jobs hold each SA's salt. */
	sodium_memzero(t->rxp.job, t->rxp.n * sizeof(t->rxp.job[0]));
	t->rxp.n = 0;
}

void tap_receive(struct tap_dp *t, uint8_t *buf, size_t len,
		 const struct shoal_endpoint *from, time_t now)
{
	static const uint8_t marker[4];
	struct shoal_dp_event ev;

	if (len == 1 && buf[0] == 0xff) {
		t->stats[SHOAL_A_DSTAT_KEEPALIVES_RX]++;
		return;
	}
	if (len >= sizeof(marker) && !memcmp(buf, marker, sizeof(marker))) {
		if (len == sizeof(marker)) {
			t->stats[SHOAL_A_DSTAT_MALFORMED]++;
			return;
		}
		t->stats[SHOAL_A_DSTAT_CONTROL_RX]++;
		if (len - sizeof(marker) > SHOAL_MAX_CONTROL ||
		    !tap_rate_ok(&t->control_rate, now, TAP_CONTROL_PER_SEC)) {
			t->stats[SHOAL_A_DSTAT_CONTROL_DROPS]++;
			return;
		}
		memset(&ev, 0, sizeof(ev));
		ev.type = SHOAL_DP_EV_CONTROL;
		ev.from = *from;
		/* Valid until the next datagram: events go out before that. */
		ev.payload = buf + sizeof(marker);
		ev.len = len - sizeof(marker);
		tap_queue_event(t, &ev);
		return;
	}
	receive_esp(t, buf, len, from, now);
}

/*
 * ESP that shoald read on a peer's own socket: opened and delivered as
 * if it had come to the tunnel port (roaming included).  Control
 * packets on that socket are shoald's own business.
 */
void tap_receive_esp(struct shoal_dp *dp, uint8_t *buf, size_t len,
		     const struct shoal_endpoint *from, shoal_dp_event_fn fn,
		     void *ctx)
{
	struct tap_dp *t = tap_of(dp);
	time_t now = tap_mono_now(), wall = time(NULL);

	if (len >= 4 && !buf[0] && !buf[1] && !buf[2] && !buf[3])
		return;
	tap_receive(t, buf, len, from, now);
	tap_rx_flush(t, now, wall);
	tap_flush_events(t, fn, ctx);
	shoal_gro_flush(&t->gro, tap_write, t);
}

/* Up to TAP_MMSG datagrams; their count, 0 when none wait, or -errno. */
static int receive_batch(struct tap_dp *t)
{
	unsigned int i;
	int n;

	for (i = 0; i < TAP_MMSG; i++) {
		t->rxq.iov[i].iov_base = t->rx[i];
		t->rxq.iov[i].iov_len = sizeof(t->rx[i]);
		memset(&t->rxq.msg[i], 0, sizeof(t->rxq.msg[i]));
		t->rxq.msg[i].msg_hdr.msg_name = &t->rxq.from[i];
		t->rxq.msg[i].msg_hdr.msg_namelen = sizeof(t->rxq.from[i]);
		t->rxq.msg[i].msg_hdr.msg_iov = &t->rxq.iov[i];
		t->rxq.msg[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		n = recvmmsg(t->udp_fd, t->rxq.msg, TAP_MMSG, MSG_DONTWAIT,
			     NULL);
		if (n >= 0)
			return n;
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case ENOMEM:
		case ENOBUFS:
			return 0;
		case EBADF:
		case EFAULT:
		case EINVAL:
		case ENOTSOCK:
			return -errno;
		default:
			/* EINTR, or an ICMP error reported late. */
			continue;
		}
	}
}

int tap_handle_udp(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx)
{
	time_t now = tap_mono_now(), wall = time(NULL);
	struct shoal_endpoint from;
	struct msghdr *mh;
	int got = 0, n, i;

	while (got < TAP_BATCH) {
		n = receive_batch(t);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			mh = &t->rxq.msg[i].msg_hdr;
			if (mh->msg_flags & MSG_TRUNC) {
				t->stats[SHOAL_A_DSTAT_MALFORMED]++;
				continue;
			}
			if (!source_endpoint(&from, &t->rxq.from[i],
					     mh->msg_namelen))
				continue;
			tap_receive(t, t->rx[i], t->rxq.msg[i].msg_len, &from,
				    now);
			/*
			 * A control packet's event points into t->rx[i]:
			 * out before the next batch, and after the opens
			 * waiting, whose SAs the callback may remove.
			 */
			if (t->n_pending || t->lost) {
				tap_rx_flush(t, now, wall);
				tap_flush_events(t, fn, ctx);
			}
		}
		tap_rx_flush(t, now, wall);
		tap_flush_events(t, fn, ctx);
		got += n;
		if (n < TAP_MMSG)
			break;
	}
	/* The batch is over: what is held goes now, not at the next one. */
	shoal_gro_flush(&t->gro, tap_write, t);
	return n < 0 ? n : 0;
}
