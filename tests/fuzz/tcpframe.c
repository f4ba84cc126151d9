// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the TCP fallback's stream codec (lib/tcpframe.c).
 * Byte 0 picks how the rest is cut into chunks (its value seeds the
 * sizes) and whether a header comes first (its low bit).  However the
 * stream is cut, the same frames must come out, with the same verdict,
 * as when it is fed whole; and every frame must re-encode to the bytes
 * it came from.
 */
#include <string.h>

#include "be.h"
#include "fuzz.h"
#include "tcpframe.h"

struct result {
	int verdict;
	uint16_t port;
	unsigned int n;
	uint64_t hash;		/* of every frame's length and bytes */
};

static struct shoal_tcpframe_rx rx;
static struct shoal_tcpframe_tx tx;

static uint64_t mix(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	h = (h ^ n) * 0x100000001b3ULL;
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void run(const uint8_t *data, size_t size, bool header,
		unsigned int seed, struct result *r)
{
	const uint8_t *frame, *q;
	size_t off = 0, flen;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	shoal_tcpframe_rx_init(&rx, header, 0);
	while (off < size && ret >= 0) {
		size_t chunk = seed ? 1 + (seed * (off + 13)) % 97 : size;
		const uint8_t *p = data + off;
		size_t len = size - off < chunk ? size - off : chunk;

		off += len;
		if (!rx.header_done) {
			ret = shoal_tcpframe_header(&rx, &p, &len, &r->port);
			if (ret <= 0)
				continue;
		}
		while ((ret = shoal_tcpframe_next(&rx, &p, &len, &frame,
						  &flen)) == 1) {
			check(flen && flen <= SHOAL_TCPFRAME_MAX);
			r->n++;
			r->hash = mix(r->hash, frame, flen);
			/* The encoder writes back what was read. */
			tx.off = tx.len = 0;
			check(shoal_tcpframe_tx_put(&tx, frame, flen) == 0);
			check(shoal_tcpframe_tx_pending(&tx, &q) == flen + 2);
			check(shoal_get_be16(q) == flen &&
			      !memcmp(q + 2, frame, flen));
		}
		check(ret < 0 || len == 0);
	}
	r->verdict = ret < 0 ? ret : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, cut;

	if (!size)
		return 0;
	if (!tx.buf && shoal_tcpframe_tx_init(&tx, 2 + SHOAL_TCPFRAME_MAX))
		abort();
	run(data + 1, size - 1, data[0] & 1, 0, &whole);
	run(data + 1, size - 1, data[0] & 1, data[0] | 1u, &cut);
	check(whole.verdict == cut.verdict && whole.n == cut.n &&
	      whole.hash == cut.hash && whole.port == cut.port);
	return 0;
}
