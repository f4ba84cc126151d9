/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_PORTMAP_H
#define SHOALD_PORTMAP_H

/*
 * Port mapping of the tunnel port (docs/architecture.md, "Port
 * mapping"): once logged in to a mediator, shoald asks the gateway for a
 * mapping by UPnP IGD, NAT-PMP and PCP at the same time, each in a
 * thread of its own (libminiupnpc's discovery and libnatpmp's retries
 * block), and the first that succeeds wins.  Its external endpoint is
 * announced to peers as a candidate (d->own_candidates), it is renewed
 * at half its lifetime, and deleted at a clean exit or a logout.  When
 * nothing answers, that is logged once with -v and tried again later.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"

/*
 * Sets up port mapping for d (PortMapping = yes): its results come back
 * on a pipe the loop's epfd gets.  0, or -errno.
 */
int portmap_open(struct shoald *d, int epfd);
/* Waits for what runs, deletes the mapping (a clean exit). */
void portmap_close(struct shoald *d);
/* True if fd is port mapping's; it then takes the results. */
bool portmap_handle(struct shoald *d, int fd);
/* Starts, renews, retries and, after a logout, deletes. */
void portmap_tick(struct shoald *d, double now);

#endif
