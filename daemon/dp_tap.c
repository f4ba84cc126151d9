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
 *
 * The files follow kmod/'s: dp_tap_peer.c (peers and SAs, as peer.c),
 * dp_tap_send.c (send.c), dp_tap_receive.c (receive.c); this one opens
 * the device and socket, queues events and holds the ops table, and
 * dp_tap_int.h the state they share.
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

#include <sodium.h>

#include "crypt_pool.h"
#include "datapath.h"
#include "dp_tap_int.h"
#include "mac.h"
#include "vnet.h"

/* What the stack may ask of the TAP: checksums, TCP segmentation. */
#define TAP_OFFLOADS		(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | \
				 TUN_F_TSO_ECN)

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
	.receive = tap_receive_esp,
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
