// SPDX-License-Identifier: GPL-2.0
/*
 * The budgets for what the datapath hands to userspace: control packets
 * and unknown-SPI events.  Every event costs an allocation and a netlink
 * message, so what any one address may spend is bounded first.
 */

#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "compat.h"
#include "peer.h"
#include "ratelimit.h"

#define SHOAL_SRC_SLOTS		1024

void shoal_bucket_init(struct shoal_bucket *b, unsigned int rate,
		       unsigned int burst)
{
	spin_lock_init(&b->lock);
	b->cost = NSEC_PER_SEC / rate;
	b->depth = b->cost * burst;
	b->tokens = b->depth;
	b->last = ktime_get_ns();
}

/* Refills *tokens for the time since *last, up to depth, and takes cost. */
static bool take(u64 *tokens, u64 *last, u64 cost, u64 depth)
{
	u64 now = ktime_get_ns();

	*tokens = min(*tokens + (now - *last), depth);
	*last = now;
	if (*tokens < cost)
		return false;
	*tokens -= cost;
	return true;
}

bool shoal_bucket_take(struct shoal_bucket *b)
{
	bool ok;

	spin_lock_bh(&b->lock);
	ok = take(&b->tokens, &b->last, b->cost, b->depth);
	spin_unlock_bh(&b->lock);
	return ok;
}

int shoal_src_limit_init(struct shoal_src_limit *l, unsigned int rate,
			 unsigned int burst)
{
	unsigned int i;

	BUILD_BUG_ON(!is_power_of_2(SHOAL_SRC_SLOTS));
	l->slots = kvcalloc(SHOAL_SRC_SLOTS, sizeof(*l->slots),
			    GFP_KERNEL_ACCOUNT);
	if (!l->slots)
		return -ENOMEM;
	for (i = 0; i < SHOAL_SRC_SLOTS; i++)
		spin_lock_init(&l->slots[i].lock);
	get_random_bytes(&l->key, sizeof(l->key));
	l->cost = NSEC_PER_SEC / rate;
	l->depth = l->cost * burst;
	return 0;
}

void shoal_src_limit_free(struct shoal_src_limit *l)
{
	kvfree(l->slots);
	l->slots = NULL;
	memzero_explicit(&l->key, sizeof(l->key));
}

bool shoal_src_limit_take(struct shoal_src_limit *l,
			  const union shoal_endpoint *src)
{
	struct shoal_src_slot *slot;
	u64 h;
	u32 tag;
	bool ok;

	if (src->addr.sa_family == AF_INET6)
		h = siphash_2u64(get_unaligned((const u64 *)
					       &src->addr6.sin6_addr),
				 AF_INET6, &l->key);
	else
		h = siphash_2u64((__force u32)src->addr4.sin_addr.s_addr,
				 AF_INET, &l->key);
	slot = &l->slots[h & (SHOAL_SRC_SLOTS - 1)];
	tag = h >> 32;

	spin_lock_bh(&slot->lock);
	if (slot->tag != tag || !slot->last) {
		/* A source new to this slot starts with a full bucket. */
		slot->tag = tag;
		slot->tokens = l->depth;
		slot->last = ktime_get_ns();
	}
	ok = take(&slot->tokens, &slot->last, l->cost, l->depth);
	spin_unlock_bh(&slot->lock);
	return ok;
}
