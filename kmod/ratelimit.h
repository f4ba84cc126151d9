/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_RATELIMIT_H
#define _SHOAL_RATELIMIT_H

#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/types.h>

union shoal_endpoint;

/*
 * A token bucket counted in nanoseconds of budget.  Unlike ___ratelimit(),
 * which gives up when its trylock fails, two CPUs taking from one bucket
 * at once both get their answer.
 */
struct shoal_bucket {
	spinlock_t lock;	/* the fields below */
	u64 last;	/* ktime_get_ns() of the last refill */
	u64 tokens;
	u64 cost;	/* one event's share, NSEC_PER_SEC / rate */
	u64 depth;	/* cost * burst */
};

void shoal_bucket_init(struct shoal_bucket *b, unsigned int rate,
		       unsigned int burst);
bool shoal_bucket_take(struct shoal_bucket *b);

/*
 * One bucket per source address (the /32, or the /64 of IPv6), in a
 * fixed table indexed by a hash with a random key, so that a flood from
 * one address spends its own budget, not everyone's.  A slot holds the
 * last source that hashed to it: an outsider cannot aim at a victim's
 * slot without the key, and a flood of spoofed sources only refills the
 * slots it evicts, leaving the budgets behind this one to bound it.
 */
struct shoal_src_slot {
	spinlock_t lock;	/* the fields below */
	u32 tag;
	u64 last;
	u64 tokens;
};

struct shoal_src_limit {
	siphash_key_t key;
	struct shoal_src_slot *slots;
	u64 cost;	/* one event's share of a source's bucket */
	u64 depth;
};

int shoal_src_limit_init(struct shoal_src_limit *l, unsigned int rate,
			 unsigned int burst);
void shoal_src_limit_free(struct shoal_src_limit *l);
bool shoal_src_limit_take(struct shoal_src_limit *l,
			  const union shoal_endpoint *src);

#endif /* _SHOAL_RATELIMIT_H */
