// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the TAP datapath's TSO and checksum offload
 * (lib/vnet.c), which reads the headers of frames the local stack hands
 * the TAP device.  The first 10 bytes are the virtio_net_hdr, the rest
 * the frame.  Besides ASan and UBSan's checks: a frame passed on as it
 * is, is the input's (its checksum, if asked for, one a receiver
 * accepts); a train's segments fit scratch, carry the train's payload in
 * order and exactly, with sequence numbers that follow, IP lengths that
 * say what each segment holds, and an IPv4 header checksum and a TCP
 * checksum a receiver accepts.
 */
#include <string.h>

#include <netinet/in.h>

#include "fuzz.h"
#include "be.h"
#include "vnet.h"

#define SCRATCH 65536

struct seen {
	const struct virtio_net_hdr *h;
	const uint8_t *train;		/* a copy of the input frame */
	const uint8_t *frame;
	size_t len, l3, l4, hdrlen, payload;
	bool is_train, v6, located;
};

static bool locate(struct seen *s);

static void segment_fn(struct seen *s, const uint8_t *f, size_t len)
{
	size_t tcp_len, seg;
	uint32_t sum;

	/* lib/vnet.c cuts only a train whose headers are all there. */
	check(s->located);
	check(len <= SCRATCH && len >= s->hdrlen);
	seg = len - s->hdrlen;
	check(memcmp(f + s->hdrlen, s->train + s->hdrlen + s->payload,
		     seg) == 0);
	check(shoal_get_be32(f + s->l4 + 4) ==
	      (uint32_t)(shoal_get_be32(s->train + s->l4 + 4) + s->payload));
	tcp_len = len - s->l4;
	if (s->v6) {
		check(shoal_get_be16(f + s->l3 + 4) == len - s->l3 - 40);
		sum = shoal_csum_add(0, f + s->l3 + 8, 32);
	} else {
		check(shoal_get_be16(f + s->l3 + 2) == len - s->l3);
		check(shoal_csum_fold(shoal_csum_add(0, f + s->l3,
						     s->l4 - s->l3)) == 0xffff);
		sum = shoal_csum_add(0, f + s->l3 + 12, 8);
	}
	sum += IPPROTO_TCP + (uint32_t)tcp_len;
	check(shoal_csum_fold(shoal_csum_add(sum, f + s->l4, tcp_len)) ==
	      0xffff);
	s->payload += seg;
}

static void frame_fn(void *ctx, const uint8_t *f, size_t len)
{
	struct seen *s = ctx;

	if (s->is_train) {
		segment_fn(s, f, len);
		return;
	}
	check(f == s->frame && len == s->len);
	if (s->h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = s->h->csum_start;
		uint16_t pseudo = shoal_get_be16(s->train + start + s->h->csum_offset);

		/* The field held the pseudo-header's sum: with it, a
		 * receiver's sum over the frame from csum_start is 0xffff
		 * (where the field is a word of that sum: every header has
		 * it at an even offset; an odd one gets what the kernel's
		 * skb_checksum_help() would give it).
		 */
		check(shoal_get_be16(f + start + s->h->csum_offset) != 0);
		check(s->h->csum_offset & 1 ||
		      shoal_csum_fold(shoal_csum_add(0, f + start,
						     len - start) + pseudo) ==
		      0xffff);
	}
}

/* Where the train's headers are, as lib/vnet.c must have found them. */
static bool locate(struct seen *s)
{
	const uint8_t *f = s->train;
	size_t l3 = 14;
	uint8_t nh;
	int n;

	if (s->len < 14)
		return false;
	for (n = 0; n < 2 && s->len >= l3 + 4; n++) {
		if (shoal_get_be16(f + l3 - 2) != 0x8100 &&
		    shoal_get_be16(f + l3 - 2) != 0x88a8)
			break;
		l3 += 4;
	}
	s->l3 = l3;
	if (s->len < l3 + 40)
		return false;
	s->l4 = l3 + (s->v6 ? 40 : (size_t)(f[l3] & 15) * 4);
	if (s->v6) {
		nh = f[l3 + 6];
		for (n = 0; n < 4 && (nh == 0 || nh == 60); n++) {
			if (s->len < s->l4 + 8)
				return false;
			nh = f[s->l4];
			s->l4 += ((size_t)f[s->l4 + 1] + 1) * 8;
		}
	}
	if (s->len < s->l4 + 13)
		return false;
	s->hdrlen = s->l4 + (size_t)(f[s->l4 + 12] >> 4) * 4;
	return s->hdrlen <= s->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[65536 + 512], copy[sizeof(frame)];
	static uint8_t scratch[SCRATCH];
	struct virtio_net_hdr h;
	struct seen s = { 0 };
	unsigned int type;
	int n;

	if (size < sizeof(h) || size - sizeof(h) > sizeof(frame))
		return 0;
	memcpy(&h, data, sizeof(h));
	s.h = &h;
	s.len = size - sizeof(h);
	memcpy(frame, data + sizeof(h), s.len);
	memcpy(copy, frame, s.len);
	s.frame = frame;
	s.train = copy;
	type = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	s.is_train = type != VIRTIO_NET_HDR_GSO_NONE;
	s.v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (s.is_train)
		s.located = locate(&s);
	n = shoal_vnet_frames(&h, frame, s.len, scratch, sizeof(scratch),
			      frame_fn, &s);
	if (n > 0 && s.is_train)
		check(s.payload == s.len - s.hdrlen);
	if (n < 0)
		check(memcmp(frame, copy, s.len) == 0);
	return 0;
}
