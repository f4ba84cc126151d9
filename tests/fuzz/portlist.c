// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the port lists of LanBroadcastPorts and shoald's
 * lan-broadcast request (lib/portlist.c).  A list that parses is sorted,
 * without overlaps, each range low <= high within 1..65535; its format
 * parses back to the same list; a refusal leaves the list empty with a
 * message.
 */
#include <string.h>

#include "fuzz.h"
#include "portlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1024], err[160], again[SHOAL_PORTLIST_STRLEN + 1];
	struct shoal_portlist l, m;
	unsigned int i;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (shoal_portlist_parse(&l, text, err, sizeof(err)) < 0) {
		check(l.n == 0 && err[0]);
		return 0;
	}
	check(l.n <= SHOAL_PORTLIST_MAX);
	for (i = 0; i < l.n; i++) {
		check(l.r[i].low >= 1 && l.r[i].low <= l.r[i].high);
		check(i == 0 || l.r[i].low > l.r[i - 1].high);
	}
	check(shoal_portlist_format(again, sizeof(again), &l) > 0);
	check(shoal_portlist_parse(&m, again, NULL, 0) == 0);
	check(shoal_portlist_equal(&l, &m));
	return 0;
}
