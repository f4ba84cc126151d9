/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_RATELIMIT_H
#define SHOALD_RATELIMIT_H

/*
 * Token buckets per source address (the port is ignored: it is free to
 * choose; an IPv6 /64 counts as one address), so that one source cannot
 * make shoald do Diffie-Hellman more than rate times a second, and one
 * bucket for all sources, so that many cannot make it do so more than
 * global_rate times.  A fixed table: a flood from many addresses evicts
 * older buckets but never grows memory.
 */

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"

#define SHOALD_RATELIMIT_SLOTS 1024

struct shoald_ratelimit_slot {
	uint8_t addr[16];
	double tokens, last;
	bool used;
};

struct shoald_ratelimit {
	double rate, burst;
	double global_rate, global_tokens, global_last;
	uint8_t hash_key[16];
	struct shoald_ratelimit_slot slots[SHOALD_RATELIMIT_SLOTS];
};

void shoald_ratelimit_init(struct shoald_ratelimit *rl, double rate,
			   double burst, double global_rate);
/* True when a packet from ep may be handled now (takes a token). */
bool shoald_ratelimit_allow(struct shoald_ratelimit *rl,
			    const struct shoal_endpoint *ep, double now);

#endif
