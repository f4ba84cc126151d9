// SPDX-License-Identifier: MIT
/*
 * The TAP datapath's transmit path (kmod/send.c): frames read from the
 * TAP, sealed as ESP in batches and sent with one sendmmsg, and control
 * packets from the tunnel port.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sodium.h>

#include "crypt_pool.h"
#include "datapath.h"
#include "dp_tap_int.h"
#include "esp.h"
#include "vnet.h"

/*
 * Where to send to ep from a socket of family: IPv4 as v4-mapped from
 * IPv6.
 */
static int endpoint_to_sockaddr(int family, const struct shoal_endpoint *ep,
				struct sockaddr_in6 *buf, socklen_t *len)
{
	memset(buf, 0, sizeof(*buf));
	if (ep->sa.sa_family == AF_INET && family == AF_INET) {
		memcpy(buf, &ep->in, sizeof(ep->in));
		*len = sizeof(ep->in);
	} else if (ep->sa.sa_family == AF_INET) {
		buf->sin6_family = AF_INET6;
		buf->sin6_port = ep->in.sin_port;
		buf->sin6_addr.s6_addr[10] = 0xff;
		buf->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&buf->sin6_addr.s6_addr[12], &ep->in.sin_addr, 4);
		*len = sizeof(*buf);
	} else if (ep->sa.sa_family == AF_INET6 && family == AF_INET6) {
		*buf = ep->in6;
		*len = sizeof(*buf);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/*
 * Seals the datagrams waiting in t->tx and sends them, in their order:
 * one sendmmsg for each run of them that leaves from one socket (a peer
 * of its own, docs/architecture.md, has one).
 */
void tap_tx_flush(struct tap_dp *t)
{
	unsigned int off = 0, i, run;
	int n;

	shoald_crypt_pool_run(tap_crypt_pool(t), t->tx.job, t->tx.result, t->tx.n);
	while (off < t->tx.n) {
		for (run = 1; off + run < t->tx.n &&
		     t->tx.fd[off + run] == t->tx.fd[off]; run++)
			;
		n = sendmmsg(t->tx.fd[off], t->tx.msg + off, run, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A full socket buffer or an unreachable peer
			 * loses the datagram sendmmsg stopped at.
			 */
			off++;
			continue;
		}
		for (i = off; i < off + (unsigned int)n; i++) {
			if (t->tx.msg[i].msg_len != t->tx.iov[i].iov_len)
				continue;
			t->tx.peer[i]->tx_bytes += t->tx.inner_len[i];
			t->tx.peer[i]->tx_packets++;
		}
		off += (unsigned int)n;
	}
	/* The jobs hold each SA's salt. */
	sodium_memzero(t->tx.job, t->tx.n * sizeof(t->tx.job[0]));
	t->tx.n = 0;
}

static void xmit_one(struct tap_dp *t, struct tap_peer *peer,
		     const uint8_t *frame, size_t len, time_t now)
{
	struct tap_sa *sa = peer->sa_out;
	unsigned int i = t->tx.n;
	socklen_t to_len;
	size_t pkt_len;
	int ret;

	if (!sa || !peer->endpoint.len ||
	    endpoint_to_sockaddr(peer->has_sock ? peer->sock_family :
				 t->family, &peer->endpoint, &t->tx.to[i],
				 &to_len))
		return;
	ret = shoal_esp_seal_prepare(&sa->esp, now, SHOAL_NEXTHDR_ETHERNET,
				     frame, len, t->pkt[i], sizeof(t->pkt[i]),
				     &pkt_len, &t->tx.job[i]);
	/* Asked on every use, as the kernel does, hard limit or not. */
	if (shoal_esp_sa_soft_due(&sa->esp, now))
		tap_queue_peer_event(t, SHOAL_DP_EV_SOFT_EXPIRE, peer,
				     sa->esp.spi, true);
	if (ret)
		return;
	t->tx.iov[i].iov_base = t->pkt[i];
	t->tx.iov[i].iov_len = pkt_len;
	memset(&t->tx.msg[i], 0, sizeof(t->tx.msg[i]));
	t->tx.msg[i].msg_hdr.msg_name = &t->tx.to[i];
	t->tx.msg[i].msg_hdr.msg_namelen = to_len;
	t->tx.msg[i].msg_hdr.msg_iov = &t->tx.iov[i];
	t->tx.msg[i].msg_hdr.msg_iovlen = 1;
	t->tx.peer[i] = peer;
	t->tx.fd[i] = peer->has_sock ? peer->sock_fd : t->udp_fd;
	t->tx.inner_len[i] = len;
	if (++t->tx.n == TAP_MMSG)
		tap_tx_flush(t);
}

static void xmit(struct tap_dp *t, const uint8_t *frame, size_t len,
		 time_t now)
{
	struct tap_peer *peer;
	size_t i;

	if (len < ETH_HLEN)
		return;
	if (frame[0] & 1) {
		/* Broadcast and multicast: a copy for every peer. */
		for (i = 0; i < t->n_peers; i++)
			if (t->peers[i]->sa_out)
				xmit_one(t, t->peers[i], frame, len, now);
		return;
	}
	peer = tap_peer_by_mac(t, frame);
	if (!peer) {
		t->stats[SHOAL_A_DSTAT_UNKNOWN_DEST]++;
		return;
	}
	xmit_one(t, peer, frame, len, now);
}

struct xmit_ctx {
	struct tap_dp *t;
	time_t now;
	unsigned int frames;
};

static void xmit_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct xmit_ctx *x = ctx;

	xmit(x->t, frame, len, x->now);
	x->frames++;
}

int tap_handle_tap(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx)
{
	struct xmit_ctx x = { .t = t, .now = tap_mono_now() };
	struct virtio_net_hdr h;
	int i, ret = 0;
	ssize_t n;

	/* A read may be a 45-frame train: the budget counts frames. */
	for (i = 0; i < TAP_BATCH && x.frames < TAP_BATCH; i++) {
		n = read(t->tap_fd, t->frame, sizeof(t->frame));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == ENOMEM || errno == ENOBUFS ? 0 : -errno;
			/* Otherwise (EBADFD and the like) the device is gone. */
			break;
		}
		if (n == 0)
			break;
		/*
		 * Shorter than its header, or as long as the buffer (tun
		 * cuts what does not fit, and a cut train would be cut into
		 * plausible segments): nothing to send.
		 */
		if ((size_t)n < sizeof(h) || (size_t)n == sizeof(t->frame))
			continue;
		memcpy(&h, t->frame, sizeof(h));
		/* A train the headers do not bear out is dropped, as
		 * skb_gso_segment() would drop it.
		 */
		shoal_vnet_frames(&h, t->frame + sizeof(h), (size_t)n - sizeof(h),
				  t->segment, sizeof(t->segment), xmit_frame, &x);
		if (t->n_pending || t->lost) {
			tap_tx_flush(t);
			tap_flush_events(t, fn, ctx);
		}
	}
	tap_tx_flush(t);
	tap_flush_events(t, fn, ctx);
	return ret;
}

int tap_send_control(struct shoal_dp *dp,
		     const struct shoal_endpoint *to,
		     const void *payload, size_t len)
{
	static const uint8_t marker[4];
	struct tap_dp *t = tap_of(dp);
	struct shoal_endpoint ep;
	struct sockaddr_in6 addr;
	struct iovec iov[2];
	struct msghdr msg;
	ssize_t n;
	int ret;

	if (!to || !payload || len < 1 || len > SHOAL_MAX_CONTROL)
		return -EINVAL;
	ret = tap_endpoint_normalize(&ep, to);
	if (ret)
		return ret;
	memset(&msg, 0, sizeof(msg));
	ret = endpoint_to_sockaddr(t->family, &ep, &addr, &msg.msg_namelen);
	if (ret)
		return ret;
	iov[0].iov_base = (void *)marker;
	iov[0].iov_len = sizeof(marker);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	msg.msg_name = &addr;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	do
		n = sendmsg(t->udp_fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(marker) + len ? 0 : -EMSGSIZE;
}
