// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the TAP datapath's allowed-IPs check
 * (lib/srcguard.c), which reads headers of frames a peer sent.  The first
 * byte chooses up to three prefixes from the next bytes; the rest is the
 * frame.  Besides ASan and UBSan's checks: a frame that passes with a
 * list also passes with that list and ::/0 and 0.0.0.0/0 added (a wider
 * list never refuses more), and one that passes with no list at all
 * passes with every list.
 */
#include <string.h>

#include "fuzz.h"
#include "srcguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_prefix list[5];
	size_t n, i;
	bool with, none, wide;

	if (size < 1)
		return 0;
	n = data[0] % 4;
	data++;
	size--;
	if (size < n * 18)
		return 0;
	for (i = 0; i < n; i++, data += 18, size -= 18) {
		memset(&list[i], 0, sizeof(list[i]));
		list[i].family = data[0] & 1 ? AF_INET6 : AF_INET;
		list[i].len = data[1] % (list[i].family == AF_INET ? 33 : 129);
		memcpy(&list[i].addr, data + 2, 16);
		shoal_prefix_mask(&list[i]);
	}
	with = shoal_frame_sources_allowed(data, size, list, n);
	none = shoal_frame_sources_allowed(data, size, NULL, 0);
	memset(&list[n], 0, 2 * sizeof(list[0]));
	list[n].family = AF_INET;
	list[n + 1].family = AF_INET6;
	wide = shoal_frame_sources_allowed(data, size, list, n + 2);
	check(!with || wide);
	check(!none || with);
	return 0;
}
