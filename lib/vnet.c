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

/* The TCP checksum of a segment whose IP header is final. */
static void tcp_csum(uint8_t *s, const struct train *t, size_t tcp_len)
{
	const uint8_t *ip = s + t->l3;
	uint32_t sum;

	shoal_put_be16(s + t->l4 + 16, 0);
	if (t->v6)
		sum = shoal_csum_add(0, ip + 8, 32) + (uint32_t)(tcp_len >> 16);
	else
		sum = shoal_csum_add(0, ip + 12, 8);
	sum = shoal_csum_add(sum, s + t->l4, tcp_len);
	sum = shoal_csum_add(sum, (const uint8_t[]){ 0, IPPROTO_TCP }, 2);
	sum += (uint32_t)(tcp_len & 0xffff);
	shoal_put_be16(s + t->l4 + 16, (uint16_t)~shoal_csum_fold(sum));
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
		l3len = t.hdrlen - t.l3 + seg;
		if (v6) {
			shoal_put_be16(ip + 4, (uint16_t)(l3len - 40));
		} else {
			shoal_put_be16(ip + 2, (uint16_t)l3len);
			shoal_put_be16(ip + 4, (uint16_t)(id + n));
			shoal_put_be16(ip + 10, 0);
			shoal_put_be16(ip + 10, (uint16_t)~shoal_csum_fold(
				shoal_csum_add(0, ip, t.l4 - t.l3)));
		}
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
