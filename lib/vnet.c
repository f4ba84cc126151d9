// SPDX-License-Identifier: MIT
/*
 * The TAP device's offloads done in userspace: with IFF_VNET_HDR and
 * TUN_F_TSO4/6 the local stack hands the TAP datapath one TCP train of
 * up to 64 KiB where it would have sent some 45 frames, each of which
 * would have cost a read(2); this file cuts the train as a NIC's TSO
 * would (see lib/vnet.h).  The frames come from the local stack, but are
 * parsed as if from anywhere: every length is checked against the frame.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <netinet/in.h>

#include "be.h"
#include "vnet.h"

#define ETH_HDR		14
#define TCP_FIN		0x01
#define TCP_PSH		0x08
#define TCP_CWR		0x80

uint32_t shoal_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += shoal_get_be16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t shoal_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where a TCP train's headers are. */
struct train {
	size_t l3, l4, hdrlen;
	bool v6;
};

/*
 * The IPv6 extension headers a train may carry before TCP (hop-by-hop
 * and destination options, as sticky options put them); a routing
 * header would move the checksum's destination, and is refused.
 */
static int skip_ipv6_options(const uint8_t *f, size_t len, size_t *off,
			     uint8_t *nh)
{
	int n;

	for (n = 0; n < 4 && (*nh == 0 || *nh == 60); n++) {
		if (len - *off < 8)
			return -EINVAL;
		*nh = f[*off];
		*off += ((size_t)f[*off + 1] + 1) * 8;
		if (*off > len)
			return -EINVAL;
	}
	return *nh == IPPROTO_TCP ? 0 : -EINVAL;
}

static int parse_train(const uint8_t *f, size_t len, bool v6,
		       struct train *t)
{
	size_t l3 = ETH_HDR, ihl, thl;
	uint16_t type;
	uint8_t nh;
	int tags;

	if (len < ETH_HDR)
		return -EINVAL;
	type = shoal_get_be16(f + 12);
	/* Up to two VLAN tags (a VLAN device on top takes TSO too). */
	for (tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8);
	     tags++) {
		if (len < l3 + 4)
			return -EINVAL;
		type = shoal_get_be16(f + l3 + 2);
		l3 += 4;
	}
	if (!v6) {
		if (type != 0x0800 || len - l3 < 20 || f[l3] >> 4 != 4)
			return -EINVAL;
		ihl = (size_t)(f[l3] & 15) * 4;
		/* A train is never a fragment, and carries TCP. */
		if (ihl < 20 || len - l3 < ihl || f[l3 + 9] != IPPROTO_TCP ||
		    (shoal_get_be16(f + l3 + 6) & 0x3fff))
			return -EINVAL;
		t->l4 = l3 + ihl;
	} else {
		if (type != 0x86dd || len - l3 < 40 || f[l3] >> 4 != 6)
			return -EINVAL;
		t->l4 = l3 + 40;
		nh = f[l3 + 6];
		if (skip_ipv6_options(f, len, &t->l4, &nh))
			return -EINVAL;
	}
	t->v6 = v6;
	t->l3 = l3;
	if (len - t->l4 < 20)
		return -EINVAL;
	thl = (size_t)(f[t->l4 + 12] >> 4) * 4;
	if (thl < 20 || len - t->l4 < thl)
		return -EINVAL;
	t->hdrlen = t->l4 + thl;
	return 0;
}

/* The sum of the TCP pseudo-header for tcp_len bytes of TCP. */
static uint32_t pseudo_sum(const uint8_t *f, const struct train *t,
			   size_t tcp_len)
{
	const uint8_t *ip = f + t->l3;
	uint32_t sum;

	if (t->v6)
		sum = shoal_csum_add(0, ip + 8, 32) + (uint32_t)(tcp_len >> 16);
	else
		sum = shoal_csum_add(0, ip + 12, 8);
	return sum + IPPROTO_TCP + (uint32_t)(tcp_len & 0xffff);
}

/* The TCP checksum of a segment whose IP header is final. */
static void tcp_csum(uint8_t *s, const struct train *t, size_t tcp_len)
{
	shoal_put_be16(s + t->l4 + 16, 0);
	shoal_put_be16(s + t->l4 + 16, (uint16_t)~shoal_csum_fold(
		shoal_csum_add(pseudo_sum(s, t, tcp_len), s + t->l4, tcp_len)));
}

/*
 * Makes the IP header of f say that l3len bytes of IP follow from it, and
 * for IPv4 (whose ID the caller has set) its header checksum.
 */
static void ip_set_len(uint8_t *f, const struct train *t, size_t l3len)
{
	uint8_t *ip = f + t->l3;

	if (t->v6) {
		shoal_put_be16(ip + 4, (uint16_t)(l3len - 40));
		return;
	}
	shoal_put_be16(ip + 2, (uint16_t)l3len);
	shoal_put_be16(ip + 10, 0);
	shoal_put_be16(ip + 10, (uint16_t)~shoal_csum_fold(
		shoal_csum_add(0, ip, t->l4 - t->l3)));
}

static int segment(const struct virtio_net_hdr *h, const uint8_t *f,
		   size_t len, bool v6, uint8_t *scratch, size_t scratch_size,
		   shoal_frame_fn fn, void *ctx)
{
	size_t mss = h->gso_size, payload, off, seg, l3len;
	struct train t;
	uint8_t *ip, flags;
	uint32_t seq;
	uint16_t id;
	int n = 0;

	if (parse_train(f, len, v6, &t) || !mss ||
	    t.hdrlen + mss > scratch_size)
		return -EINVAL;
	/* Each segment's IP length must fit its 16-bit field. */
	l3len = t.hdrlen - t.l3 + mss - (v6 ? 40 : 0);
	if (l3len > 0xffff)
		return -EINVAL;
	ip = scratch + t.l3;
	payload = len - t.hdrlen;
	seq = shoal_get_be32(f + t.l4 + 4);
	id = shoal_get_be16(f + t.l3 + 4);
	off = 0;
	do {
		seg = payload - off < mss ? payload - off : mss;
		memcpy(scratch, f, t.hdrlen);
		memcpy(scratch + t.hdrlen, f + t.hdrlen + off, seg);
		if (!v6)
			shoal_put_be16(ip + 4, (uint16_t)(id + n));
		ip_set_len(scratch, &t, t.hdrlen - t.l3 + seg);
		shoal_put_be32(scratch + t.l4 + 4, seq + (uint32_t)off);
		flags = f[t.l4 + 13];
		if (off + seg < payload)
			flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (off)
			flags &= (uint8_t)~TCP_CWR;
		scratch[t.l4 + 13] = flags;
		tcp_csum(scratch, &t, t.hdrlen - t.l4 + seg);
		fn(ctx, scratch, t.hdrlen + seg);
		n++;
		off += seg;
	} while (off < payload);
	return n;
}

int shoal_vnet_frames(const struct virtio_net_hdr *h, uint8_t *frame,
		      size_t len, uint8_t *scratch, size_t scratch_size,
		      shoal_frame_fn fn, void *ctx)
{
	size_t start = h->csum_start, at;
	uint16_t sum;

	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return segment(h, frame, len, false, scratch, scratch_size,
			       fn, ctx);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return segment(h, frame, len, true, scratch, scratch_size,
			       fn, ctx);
	default:
		/* UFO and USO, which the TAP was never offered. */
		return -EINVAL;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		at = start + h->csum_offset;
		if (start > len || at > len || len - at < 2)
			return -EINVAL;
		/* The field holds the pseudo-header's sum, so it is summed. */
		sum = (uint16_t)~shoal_csum_fold(shoal_csum_add(0, frame + start,
								len - start));
		/* 0 is "no checksum" to UDP; 0xffff is the same to TCP. */
		shoal_put_be16(frame + at, sum ? sum : 0xffff);
	}
	fn(ctx, frame, len);
	return 1;
}

/*
 * Receive coalescing (see lib/vnet.h).  A segment is a candidate if it is
 * a TCP data segment with ACK and at most PSH besides, in a whole IPv4
 * packet or an IPv6 one, whose IP and TCP checksums are right: the merged
 * frame's are computed anew, so a wrong one must not be merged into a
 * right one.
 */
#define TCP_ACK		0x10
/*
 * No smaller first segment starts a merge: the kernel takes a GSO size
 * below 8 as 8 (and would cut the frame otherwise than it came), and so
 * little payload gains nothing.
 */
#define SHOAL_GRO_MIN_MSS	64

/*
 * Whether f is a candidate; if so, *len is cut to its IP packet's end
 * (anything after it, Ethernet padding, goes).
 */
static bool gro_candidate(const uint8_t *f, size_t *len, struct train *t)
{
	size_t iplen, end;
	uint8_t flags;

	if (*len < ETH_HDR + 2 || parse_train(f, *len, f[12] == 0x86, t))
		return false;
	/* Tagged frames go as they are: parse_train found the tags. */
	if (t->l3 != ETH_HDR || f[12] != (t->v6 ? 0x86 : 0x08))
		return false;
	if (t->v6) {
		iplen = 40 + (size_t)shoal_get_be16(f + t->l3 + 4);
	} else {
		iplen = shoal_get_be16(f + t->l3 + 2);
		if (shoal_csum_fold(shoal_csum_add(0, f + t->l3,
						   t->l4 - t->l3)) != 0xffff)
			return false;
	}
	if (iplen > *len - t->l3 || t->l3 + iplen <= t->hdrlen ||
	    t->l3 + iplen > SHOAL_GRO_MAX)
		return false;
	end = t->l3 + iplen;
	flags = f[t->l4 + 13];
	if ((flags & ~TCP_PSH) != TCP_ACK ||
	    shoal_csum_fold(shoal_csum_add(pseudo_sum(f, t, end - t->l4),
					   f + t->l4, end - t->l4)) != 0xffff)
		return false;
	*len = end;
	return true;
}

/* Whether the candidate f (parsed as t) continues g's flow. */
static bool gro_continues(const struct shoal_gro *g, const uint8_t *f,
			  size_t len, const struct train *t)
{
	const uint8_t *p = g->frame, *ip = f + t->l3, *pip = p + g->l3;
	size_t tcp = t->l4, payload = len - t->hdrlen;

	if (g->closed || t->v6 != g->v6 || t->l4 != g->l4 ||
	    t->hdrlen != g->hdrlen || payload > g->mss ||
	    g->len + payload - g->l3 > 0xffff ||
	    shoal_get_be32(f + tcp + 4) != g->next_seq)
		return false;
	/* Ethernet header; IP header but for length, id and checksum. */
	if (memcmp(f, p, t->l3))
		return false;
	if (t->v6) {
		if (memcmp(ip, pip, 4) || memcmp(ip + 6, pip + 6, t->l4 - t->l3 - 6))
			return false;
	} else if (memcmp(ip, pip, 2) || memcmp(ip + 6, pip + 6, 4) ||
		   memcmp(ip + 12, pip + 12, t->l4 - t->l3 - 12)) {
		return false;
	} else if (!(ip[6] & 0x40) &&
		   shoal_get_be16(ip + 4) != (uint16_t)(g->id + g->segs)) {
		/*
		 * Without DF the IDs must count up, as the kernel numbers
		 * the segments it cuts the frame into again if it forwards
		 * it: other IDs could then meet another packet's.
		 */
		return false;
	}
	/* TCP: ports, ack, offset, window, urgent pointer and options. */
	return !memcmp(f + tcp, p + tcp, 4) &&
	       !memcmp(f + tcp + 8, p + tcp + 8, 5) &&
	       !memcmp(f + tcp + 14, p + tcp + 14, 2) &&
	       !memcmp(f + tcp + 18, p + tcp + 18, t->hdrlen - tcp - 18);
}

void shoal_gro_flush(struct shoal_gro *g, shoal_vnet_write_fn fn, void *ctx)
{
	struct virtio_net_hdr h = { 0 };
	struct train t = { .l3 = g->l3, .l4 = g->l4, .v6 = g->v6 };
	uint8_t *f = g->frame;

	if (!g->len)
		return;
	if (g->segs > 1) {
		ip_set_len(f, &t, g->len - g->l3);
		/* A partial checksum: the field holds the pseudo-header's. */
		shoal_put_be16(f + g->l4 + 16, shoal_csum_fold(
			pseudo_sum(f, &t, g->len - g->l4)));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
				     VIRTIO_NET_HDR_GSO_TCPV4;
		h.hdr_len = (uint16_t)g->hdrlen;
		h.gso_size = (uint16_t)g->mss;
		h.csum_start = (uint16_t)g->l4;
		h.csum_offset = 16;
	}
	fn(ctx, &h, f, g->len);
	g->len = 0;
}

void shoal_gro_add(struct shoal_gro *g, const uint8_t *frame, size_t len,
		   shoal_vnet_write_fn fn, void *ctx)
{
	static const struct virtio_net_hdr none;
	size_t payload;
	struct train t;

	if (!gro_candidate(frame, &len, &t))
		goto alone;
	payload = len - t.hdrlen;
	if (g->len && gro_continues(g, frame, len, &t)) {
		memcpy(g->frame + g->len, frame + t.hdrlen, payload);
		g->len += payload;
		g->segs++;
		g->frame[g->l4 + 13] |= frame[t.l4 + 13];
	} else if (payload < SHOAL_GRO_MIN_MSS) {
		goto alone;
	} else {
		shoal_gro_flush(g, fn, ctx);
		memcpy(g->frame, frame, len);
		g->len = len;
		g->l3 = t.l3;
		g->l4 = t.l4;
		g->hdrlen = t.hdrlen;
		g->v6 = t.v6;
		g->mss = payload;
		g->id = shoal_get_be16(frame + t.l3 + 4);
		g->segs = 1;
		g->closed = false;
	}
	g->next_seq = shoal_get_be32(frame + t.l4 + 4) + (uint32_t)payload;
	/* A shorter segment, or PUSH, ends a burst as it ends GRO's. */
	if (payload < g->mss || (frame[t.l4 + 13] & TCP_PSH))
		g->closed = true;
	return;

alone:
	/* Whatever the flow, what came first goes first. */
	shoal_gro_flush(g, fn, ctx);
	fn(ctx, &none, frame, len);
}
