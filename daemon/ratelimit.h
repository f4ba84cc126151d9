/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_RATELIMIT_H
#define SHOALD_RATELIMIT_H

/*
 * What INITs may cost shoald.  An INIT whose MAC1 is right asks for
 * Diffie-Hellman; three limits stand in front of it:
 *
 * - Load.  Every such INIT counts as an arrival.  Past load_rate a
 *   second shoald is under load (for a second after the last excess) and
 *   answers INITs without the right MAC2 with a cookie instead
 *   (docs/protocol.md, "Cookies"): a sender of spoofed source addresses
 *   never sees its cookie, so its INITs stop here, before the buckets
 *   below, and cannot drain them.
 * - One token bucket per source address (the port is ignored: it is free
 *   to choose; an IPv6 /64 counts as one address): rate a second, bursts
 *   of burst.  A fixed table of slots under a secret hash key: a flood
 *   from many addresses evicts older buckets but never grows memory.
 *   Only for INITs whose MAC2 proved the source (under load): a bucket
 *   anyone could drain by spoofing a peer's address would be a way to
 *   keep that peer out.  Below the load threshold the arrivals bound
 *   what unproven INITs cost.
 * - All sources together: global_rate a second, in two halves, one kept
 *   for INITs from the addresses the peers are known at (endpoints,
 *   candidates), which may also draw on the other half.  Sources that
 *   get cookies (real addresses) cannot spend what the peers need.
 * - Cookie replies: cookie_rate a second, halved the same way.  Each
 *   costs a seal and a send (on the kernel datapath a netlink round
 *   trip), and a flood from spoofed addresses would otherwise buy one
 *   per packet: bounded, the flood costs a MAC check each, and the
 *   peers' endpoints still get theirs.
 */

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "util.h"

#define SHOALD_RATELIMIT_SLOTS 1024

struct shoald_ratelimit_slot {
	uint8_t addr[16];
	double tokens, last;
	bool used;
};

/* A token bucket: rate a second, bursts of one second's worth. */
struct shoald_bucket {
	double rate, tokens, last;
};

void shoald_bucket_init(struct shoald_bucket *b, double rate);
/* Refills b up to now and takes a token if it has one. */
bool shoald_bucket_take(struct shoald_bucket *b, double now);

struct shoald_ratelimit {
	double rate, burst;
	struct shoald_bucket known, other;	/* global_rate / 2 each */
	struct shoald_bucket cookies_known, cookies_other; /* cookie_rate / 2 */
	struct shoald_bucket arrivals;		/* load_rate */
	double under_load_until;
	uint8_t hash_key[SHOAL_HASH_KEY_LEN];
	struct shoald_ratelimit_slot slots[SHOALD_RATELIMIT_SLOTS];
};

void shoald_ratelimit_init(struct shoald_ratelimit *rl, double rate,
			   double burst, double global_rate, double load_rate,
			   double cookie_rate);
/* Counts an INIT's arrival; true while shoald is under load. */
bool shoald_ratelimit_under_load(struct shoald_ratelimit *rl, double now);
/*
 * True when an INIT from ep may be answered now (takes its tokens);
 * known: ep is where a peer is known to be.
 */
bool shoald_ratelimit_allow(struct shoald_ratelimit *rl,
			    const struct shoal_endpoint *ep, bool proven,
			    bool known, double now);
/* True when a cookie reply may go to a source (known: as above). */
bool shoald_ratelimit_cookie_allow(struct shoald_ratelimit *rl, bool known,
				   double now);

#endif
