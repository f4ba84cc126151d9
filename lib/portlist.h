/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_PORTLIST_H
#define SHOAL_PORTLIST_H

/*
 * A list of UDP ports and ranges, as LanBroadcastPorts and `shoal
 * lan-broadcast --ports` write it: "27015,7777-7779".  Entries are
 * decimal ports 1..65535 (no sign, no leading zeros) or LOW-HIGH with
 * LOW < HIGH, separated by commas with optional blanks around them; no
 * entry may overlap another (nftables refuses overlapping intervals in
 * a set, and a port listed twice is a typing error).  "all" alone is the
 * empty list: every port.  The parsed list is sorted.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_PORTLIST_MAX 32
/* "65535-65535," a range at its longest, times the most there are. */
#define SHOAL_PORTLIST_STRLEN (SHOAL_PORTLIST_MAX * 12)

struct shoal_port_range {
	uint16_t low, high;	/* low == high: one port */
};

struct shoal_portlist {
	unsigned int n;		/* 0: every port */
	struct shoal_port_range r[SHOAL_PORTLIST_MAX];
};

/*
 * Parses text (NUL-terminated).  0 with *l filled in, or -1 with *l
 * empty and, if err_size > 0, the reason in err (the offending entry
 * quoted with unprintable bytes escaped).
 */
int shoal_portlist_parse(struct shoal_portlist *l, const char *text,
			 char *err, size_t err_size);

/*
 * "27015,7777-7779" (sorted, no blanks), or "all" for the empty list.
 * Returns the length, or -1 if buf is too small.
 */
int shoal_portlist_format(char *buf, size_t size,
			  const struct shoal_portlist *l);

bool shoal_portlist_equal(const struct shoal_portlist *a,
			  const struct shoal_portlist *b);

#endif
