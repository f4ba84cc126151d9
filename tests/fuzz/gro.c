// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the TAP datapath's receive coalescing (lib/vnet.c,
 * shoal_gro_*), which reads the headers of frames peers sent.  The input
 * is frames, each behind a 2-byte big-endian length.  Besides ASan and
 * UBSan's checks: every frame is written exactly once and in order; a
 * frame written alone is the input's (cut to its IP length at most); a
 * merged one stays within 64 KiB of IP and, cut again as the kernel
 * would cut it (shoal_vnet_frames), gives back the frames merged into
 * it: as many, as long, with their sequence numbers and payload.
 */
#include <string.h>

#include "fuzz.h"
#include "be.h"
#include "vnet.h"

#define MAX_FRAMES	128

struct run {
	const uint8_t *frame[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	size_t n, next;		/* frames given, and the next to be written */
	size_t recut;		/* of a merged write: segments checked */
	const struct virtio_net_hdr *h;
};

static struct shoal_gro gro;

static void recut_fn(void *ctx, const uint8_t *f, size_t len)
{
	struct run *r = ctx;
	const uint8_t *in;
	size_t hdr = r->h->hdr_len;

	check(r->next + r->recut < r->n);
	in = r->frame[r->next + r->recut];
	check(len <= r->len[r->next + r->recut] && len >= hdr);
	/* Its payload and sequence number: the TCP header is at hdr's end. */
	check(!memcmp(f + hdr, in + hdr, len - hdr));
	check(shoal_get_be32(f + r->h->csum_start + 4) ==
	      shoal_get_be32(in + r->h->csum_start + 4));
	r->recut++;
}

static void write_fn(void *ctx, const struct virtio_net_hdr *h,
		     const uint8_t *f, size_t len)
{
	static uint8_t copy[SHOAL_GRO_MAX], scratch[SHOAL_GRO_MAX];
	struct virtio_net_hdr hc = *h;
	struct run *r = ctx;
	int n;

	check(r->next < r->n);
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		check(h->flags == 0);
		check(len <= r->len[r->next]);
		check(!memcmp(f, r->frame[r->next], len));
		r->next++;
		return;
	}
	check(len <= SHOAL_GRO_MAX && len - 14 <= 0xffff);
	check(h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && h->gso_size &&
	      h->hdr_len < len && len - h->hdr_len > h->gso_size);
	memcpy(copy, f, len);
	r->h = &hc;
	r->recut = 0;
	n = shoal_vnet_frames(&hc, copy, len, scratch, sizeof(scratch),
			      recut_fn, r);
	check(n >= 2 && (size_t)n == r->recut);
	r->next += r->recut;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { 0 };
	size_t off = 0, len;

	memset(&gro, 0, sizeof(gro));
	while (r.n < MAX_FRAMES && size - off >= 2) {
		len = shoal_get_be16(data + off);
		off += 2;
		if (len > size - off)
			break;
		r.frame[r.n] = data + off;
		r.len[r.n] = len;
		r.n++;
		off += len;
	}
	for (size_t i = 0; i < r.n; i++)
		shoal_gro_add(&gro, r.frame[i], r.len[i], write_fn, &r);
	shoal_gro_flush(&gro, write_fn, &r);
	check(r.next == r.n);
	return 0;
}
