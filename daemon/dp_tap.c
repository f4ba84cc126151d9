// SPDX-License-Identifier: MIT
/*
 * The "tap" datapath: shoal.ko's job done in userspace, for hosts that
 * cannot load the module.  Frames the stack sends on a TAP device are
 * sealed as ESP (lib/esp.c) and sent from one UDP socket; what arrives on
 * the socket is demultiplexed as RFC 3948 says and ESP frames are written
 * back to the TAP.  The behaviour follows kmod/ (send.c, receive.c,
 * peer.c, netlink.c) so that TAP and kernel peers are alike on the wire
 * and to shoald.  Driven by shoald's epoll loop, on its thread; only the
 * cryptography of a batch of datagrams is shared out with helper threads
 * (crypt_pool.c), and the batch waits for it, so the tables are never
 * shared and each peer's packets keep their order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sodium.h>

#include "crypt_pool.h"
#include "datapath.h"
#include "dp_tap_int.h"
#include "esp.h"
#include "mac.h"
#include "srcguard.h"
#include "vnet.h"

/* What the stack may ask of the TAP: checksums, TCP segmentation. */
#define TAP_OFFLOADS		(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | \
				 TUN_F_TSO_ECN)
#define TAP_CONTROL_PER_SEC	20000
#define TAP_UNKNOWN_SPI_PER_SEC	100

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/* SA ages and rate limits: a clock that wall-clock changes do not move. */
time_t tap_mono_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return ts.tv_sec;
}

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

/* ----- events ----- */

void tap_queue_event(struct tap_dp *t, const struct shoal_dp_event *ev)
{
	struct shoal_dp_event *p;
	size_t cap;

	if (t->n_pending == t->pending_cap) {
		cap = t->pending_cap ? 2 * t->pending_cap : 8;
		p = reallocarray(t->pending, cap, sizeof(*p));
		if (!p) {
			t->lost = true;
			return;
		}
		t->pending = p;
		t->pending_cap = cap;
	}
	t->pending[t->n_pending++] = *ev;
}

void tap_queue_peer_event(struct tap_dp *t, enum shoal_dp_event_type type,
			  const struct tap_peer *peer, uint32_t spi,
			  bool outbound)
{
	struct shoal_dp_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	memcpy(ev.public_key, peer->public_key, SHOAL_KEY_LEN);
	ev.spi = spi;
	ev.outbound = outbound;
	if (type == SHOAL_DP_EV_ENDPOINT)
		ev.from = peer->endpoint;
	tap_queue_event(t, &ev);
}

void tap_flush_events(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx)
{
	struct shoal_dp_event ev;
	size_t i;

	for (i = 0; i < t->n_pending; i++) {
		ev = t->pending[i];
		fn(ctx, &ev);
	}
	t->n_pending = 0;
	if (t->lost) {
		t->lost = false;
		memset(&ev, 0, sizeof(ev));
		ev.type = SHOAL_DP_EV_LOST;
		fn(ctx, &ev);
	}
}

bool tap_rate_ok(struct tap_rate *r, time_t now, unsigned int per_second)
{
	if (r->second != now) {
		r->second = now;
		r->n = 0;
	}
	if (r->n >= per_second)
		return false;
	r->n++;
	return true;
}

/*
 * The helper threads, started at the first use: shoald has detached by
 * then (threads do not survive its fork).  Without them (one CPU, or
 * they could not be made) the batches are done on this thread.
 */
struct shoald_crypt_pool *tap_crypt_pool(struct tap_dp *t)
{
	unsigned int threads;

	if (!t->pool_tried) {
		t->pool_tried = true;
		threads = shoald_crypt_pool_default_threads();
		if (threads && shoald_crypt_pool_start(&t->pool, threads) < 0)
			t->pool = NULL;
	}
	return t->pool;
}

/* ----- receive: socket -> TAP ----- */

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

		/* Roaming: an authenticated packet says where the peer is now. */
		if (!tap_endpoint_equal(&peer->endpoint, &t->rxp.from[i])) {
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
		if (len - sizeof(marker) > TAP_MAX_CONTROL ||
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

/* ----- ops ----- */

static int tap_handle(struct shoal_dp *dp, int fd, shoal_dp_event_fn fn,
		      void *ctx)
{
	struct tap_dp *t = tap_of(dp);

	if (fd == t->tap_fd)
		return tap_handle_tap(t, fn, ctx);
	if (fd == t->udp_fd)
		return tap_handle_udp(t, fn, ctx);
	return -EBADF;
}

/* The TAP's name and MAC, which others may change under us. */
static void refresh_link(struct tap_dp *t)
{
	char name[IF_NAMESIZE];
	struct ifreq ifr;

	if (if_indextoname(t->dp.ifindex, name))
		memcpy(t->dp.ifname, name, sizeof(name));
	memset(&ifr, 0, sizeof(ifr));
	if (!ioctl(t->tap_fd, SIOCGIFHWADDR, &ifr) &&
	    ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER)
		memcpy(t->dp.mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
}

static int tap_get(struct shoal_dp *dp, struct shoal_device_info *info)
{
	struct tap_dp *t = tap_of(dp);
	struct shoal_peer_info *pi;
	const struct tap_peer *peer;
	size_t i;
	unsigned int j;

	memset(info, 0, sizeof(*info));
	refresh_link(t);
	if (t->n_peers) {
		info->peers = calloc(t->n_peers, sizeof(*info->peers));
		if (!info->peers)
			return -ENOMEM;
		info->peers_cap = t->n_peers;
	}
	info->ifindex = dp->ifindex;
	memcpy(info->ifname, dp->ifname, sizeof(info->ifname));
	info->ifname[sizeof(info->ifname) - 1] = '\0';
	info->listen_port = dp->listen_port;
	memcpy(info->mac, dp->mac, sizeof(info->mac));
	info->has_mac = true;
	memcpy(info->stats, t->stats, sizeof(info->stats));

	for (i = 0; i < t->n_peers; i++) {
		peer = t->peers[i];
		pi = &info->peers[i];
		memcpy(pi->public_key, peer->public_key, SHOAL_KEY_LEN);
		pi->has_mac = peer->has_mac;
		memcpy(pi->mac, peer->mac, sizeof(pi->mac));
		pi->endpoint = peer->endpoint;
		pi->has_sa_out = !!peer->sa_out;
		if (peer->sa_out)
			pi->sa_out_spi = peer->sa_out->esp.spi;
		pi->n_sa_in = peer->n_sa_in;
		for (j = 0; j < peer->n_sa_in; j++)
			pi->sa_in_spis[j] = peer->sa_in[j]->esp.spi;
		pi->rx_bytes = peer->rx_bytes;
		pi->tx_bytes = peer->tx_bytes;
		pi->rx_packets = peer->rx_packets;
		pi->tx_packets = peer->tx_packets;
		pi->auth_failures = peer->auth_failures;
		pi->replays = peer->replays;
		pi->last_rx = peer->last_rx;
		pi->n_allowed_ips = peer->n_allowed_ips;
		memcpy(pi->allowed_ips, peer->allowed_ips,
		       peer->n_allowed_ips * sizeof(peer->allowed_ips[0]));
	}
	info->n_peers = t->n_peers;
	return 0;
}

static void tap_destroy(struct shoal_dp *dp)
{
	struct tap_dp *t;
	size_t i;

	if (!dp)
		return;
	t = tap_of(dp);
	shoald_crypt_pool_stop(t->pool);
	/* Closing the last descriptor removes the (non-persistent) TAP. */
	if (t->tap_fd >= 0)
		close(t->tap_fd);
	if (t->udp_fd >= 0)
		close(t->udp_fd);
	for (i = 0; i < t->n_peers; i++)
		tap_peer_free(t, t->peers[i]);
	free(t->peers);
	free(t->pending);
	/* Keys are gone with the SAs; this clears the traffic buffers too. */
	sodium_memzero(t, sizeof(*t));
	free(t);
}

static const struct shoal_dp_ops tap_ops = {
	.name = "tap",
	.destroy = tap_destroy,
	.handle = tap_handle,
	.set_peer = tap_set_peer,
	.remove_peer = tap_remove_peer,
	.send_control = tap_send_control,
	.get = tap_get,
};

static int open_tap(struct tap_dp *t, const struct shoal_dp_config *cfg,
		    char *err, size_t err_size)
{
	int ret, vnet_hdr_size;
	struct ifreq ifr;

	t->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->tap_fd < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot open /dev/net/tun: %s",
			strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* Exclusive: another device of that name is not ours to take. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL | IFF_VNET_HDR;
	if (cfg->ifname)
		memcpy(ifr.ifr_name, cfg->ifname, strlen(cfg->ifname));
	if (ioctl(t->tap_fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot create TAP device %s: %s",
			cfg->ifname && cfg->ifname[0] ? cfg->ifname : "tap%d",
			ret == -EBUSY ? "a device of that name exists" :
			strerror(-ret));
		return ret;
	}
	memcpy(t->dp.ifname, ifr.ifr_name, sizeof(t->dp.ifname));
	t->dp.ifname[sizeof(t->dp.ifname) - 1] = '\0';

	/*
	 * Every frame in both directions carries a virtio_net_hdr, so the
	 * stack can hand over 64 KiB TCP trains and leave checksums to us:
	 * one read(2) where there were some 45 (lib/vnet.c cuts them).  A
	 * kernel that refuses the offloads still sends the header, zeroed.
	 */
	vnet_hdr_size = sizeof(struct virtio_net_hdr);
	if (ioctl(t->tap_fd, TUNSETVNETHDRSZ, &vnet_hdr_size) < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot set the vnet header size of "
			"%s: %s", t->dp.ifname, strerror(-ret));
		return ret;
	}
	if (ioctl(t->tap_fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) < 0)
		(void)ioctl(t->tap_fd, TUNSETOFFLOAD, 0UL);

	if (cfg->has_mac) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, cfg->mac, ETH_ALEN);
		if (ioctl(t->tap_fd, SIOCSIFHWADDR, &ifr) < 0) {
			ret = -errno;
			set_err(err, err_size, "cannot set the MAC of %s: %s",
				t->dp.ifname, strerror(-ret));
			return ret;
		}
	}
	memset(&ifr.ifr_hwaddr, 0, sizeof(ifr.ifr_hwaddr));
	if (ioctl(t->tap_fd, SIOCGIFHWADDR, &ifr) < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot read the MAC of %s: %s",
			t->dp.ifname, strerror(-ret));
		return ret;
	}
	memcpy(t->dp.mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

static int open_udp(struct tap_dp *t, uint16_t port, char *err,
		    size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int off = 0, ret;

	t->family = AF_INET6;
	t->udp_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (t->udp_fd < 0 && errno == EAFNOSUPPORT) {
		/* A kernel without IPv6 still gets IPv4, as with shoal.ko. */
		t->family = AF_INET;
		t->udp_fd = socket(AF_INET,
				   SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (t->udp_fd < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot create a UDP socket: %s",
			strerror(-ret));
		return ret;
	}

	memset(&ss, 0, sizeof(ss));
	if (t->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		if (setsockopt(t->udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
			       sizeof(off)) < 0) {
			ret = -errno;
			set_err(err, err_size,
				"cannot make the UDP socket dual-stack: %s",
				strerror(-ret));
			return ret;
		}
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = htons(port);
		len = sizeof(*in);
	}
	if (bind(t->udp_fd, (struct sockaddr *)&ss, len) < 0) {
		ret = -errno;
		/* Unlike shoal.ko's socket, ours binds with our privileges. */
		set_err(err, err_size, "cannot bind UDP port %u: %s%s", port,
			strerror(-ret), ret == -EACCES ? " (a port below 1024 "
			"needs CAP_NET_BIND_SERVICE)" : "");
		return ret;
	}
	len = sizeof(ss);
	if (getsockname(t->udp_fd, (struct sockaddr *)&ss, &len) < 0) {
		ret = -errno;
		set_err(err, err_size, "cannot read the UDP port: %s",
			strerror(-ret));
		return ret;
	}
	t->dp.listen_port = ntohs(ss.ss_family == AF_INET6 ?
				  ((struct sockaddr_in6 *)&ss)->sin6_port :
				  ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int shoal_dp_tap_open(struct shoal_dp **dp, const struct shoal_dp_config *cfg,
		      char *err, size_t err_size)
{
	struct tap_dp *t;
	struct ifreq ifr;
	int ret;

	*dp = NULL;
	set_err(err, err_size, "%s", "");
	if (!cfg) {
		set_err(err, err_size, "no configuration");
		return -EINVAL;
	}
	if (cfg->ifname && strnlen(cfg->ifname, IF_NAMESIZE) >= IF_NAMESIZE) {
		set_err(err, err_size, "interface name longer than %d bytes",
			IF_NAMESIZE - 1);
		return -EINVAL;
	}
	if (cfg->has_mac && !shoal_mac_is_unicast(cfg->mac)) {
		set_err(err, err_size,
			"the device MAC must be unicast and not all zeros");
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		set_err(err, err_size, "cannot initialise libsodium");
		return -EIO;
	}

	t = calloc(1, sizeof(*t));
	if (!t) {
		set_err(err, err_size, "out of memory");
		return -ENOMEM;
	}
	t->dp.ops = &tap_ops;
	t->tap_fd = -1;
	t->udp_fd = -1;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));

	ret = open_tap(t, cfg, err, err_size);
	if (ret)
		goto destroy;
	ret = open_udp(t, cfg->listen_port, err, err_size);
	if (ret)
		goto destroy;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->dp.ifname, sizeof(ifr.ifr_name));
	ret = ioctl(t->udp_fd, SIOCGIFINDEX, &ifr) < 0 ? -errno : 0;
	if (!ret && ifr.ifr_ifindex <= 0)
		ret = -ENODEV;
	if (ret) {
		set_err(err, err_size, "cannot read the index of %s: %s",
			t->dp.ifname, strerror(-ret));
		goto destroy;
	}
	t->dp.ifindex = (unsigned int)ifr.ifr_ifindex;

	t->dp.fds[0] = t->tap_fd;
	t->dp.fds[1] = t->udp_fd;
	t->dp.n_fds = 2;
	*dp = &t->dp;
	return 0;

destroy:
	tap_destroy(&t->dp);
	return ret;
}
