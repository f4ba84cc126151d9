/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_VNET_H
#define SHOAL_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

/* Called with each plain frame; valid only during the call. */
typedef void (*shoal_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

/*
 * What a NIC does with a frame the local stack handed a TAP device that
 * took offloads (IFF_VNET_HDR with TUN_F_CSUM and TUN_F_TSO4/6): fn is
 * called with each plain frame the frame of len bytes (from its
 * destination MAC on) and its header h stand for.  A TCP train
 * (VIRTIO_NET_HDR_GSO_TCPV4/6) becomes segments of h->gso_size payload
 * bytes, each with its own IPv4 or IPv6 and TCP header (lengths, IPv4
 * identification and checksum, sequence number, FIN and PSH on the last
 * only, CWR on the first only) and TCP checksum; a frame with
 * VIRTIO_NET_HDR_F_NEEDS_CSUM gets its checksum filled in (frame is
 * written to); any other frame is passed on as it is.  A segment is
 * built in scratch, which must hold h->gso_size plus the headers.
 * Returns the number of frames passed on, or -EINVAL (nothing passed
 * on) for a header the frame does not bear out: a train that is not
 * Ethernet (up to two VLAN tags), then IPv4 (not a fragment) or IPv6
 * (hop-by-hop and destination options only), then TCP; segments larger
 * than scratch or than an IP length can say; a checksum outside the
 * frame.
 */
int shoal_vnet_frames(const struct virtio_net_hdr *h, uint8_t *frame,
		      size_t len, uint8_t *scratch, size_t scratch_size,
		      shoal_frame_fn fn, void *ctx);

/*
 * Receive coalescing for a TAP device (GRO in userspace): the TCP segments
 * of one flow, in sequence, are merged into one frame that fn writes with
 * a header saying VIRTIO_NET_HDR_GSO_TCPV4/6 and a partial checksum, so
 * that the kernel takes them as one (as GRO would have made them) for
 * one write(2) and one pass up the stack.  A segment merges if it is
 * ACK (and PSH at most) with data, untagged, its IP and TCP checksums
 * right, and continues the held frame: the same headers but for lengths,
 * IPv4 id and checksums, the next sequence number, no more payload than
 * the first segment's (which has 64 bytes at least), IPv4 IDs counting
 * up unless DF is set, and the held frame not ended by a shorter one or
 * PSH.  Every other frame is written as it is (with a header asking
 * nothing), after the held one: frames leave in the order they came.
 * The caller calls shoal_gro_flush() at the end of each batch.
 */
#define SHOAL_GRO_MAX	(14 + 0xffff)

struct shoal_gro {
	size_t len;			/* held bytes; 0: nothing held */
	size_t l3, l4, hdrlen, mss;
	unsigned int segs;
	uint32_t next_seq;
	uint16_t id;			/* the first segment's IPv4 ID */
	bool v6, closed;
	uint8_t frame[SHOAL_GRO_MAX];
};

/* Writes one frame, with the header for a TAP device with IFF_VNET_HDR. */
typedef void (*shoal_vnet_write_fn)(void *ctx, const struct virtio_net_hdr *h,
				    const uint8_t *frame, size_t len);

void shoal_gro_add(struct shoal_gro *g, const uint8_t *frame, size_t len,
		   shoal_vnet_write_fn fn, void *ctx);
void shoal_gro_flush(struct shoal_gro *g, shoal_vnet_write_fn fn, void *ctx);

/* The Internet checksum of len bytes (RFC 1071), folded, not inverted. */
uint16_t shoal_csum_fold(uint32_t sum);
uint32_t shoal_csum_add(uint32_t sum, const uint8_t *p, size_t len);

#endif
