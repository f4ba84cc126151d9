// SPDX-License-Identifier: MIT
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

void shoald_ratelimit_init(struct shoald_ratelimit *rl, double rate,
			   double burst, double global_rate)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	rl->global_rate = global_rate;
	rl->global_tokens = global_rate;
	/* A secret hash key, so that nobody can aim at one slot. */
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
}

static void address_of(uint8_t addr[16], const struct shoal_endpoint *ep)
{
	memset(addr, 0, 16);
	if (ep->sa.sa_family == AF_INET)
		memcpy(addr, &ep->in.sin_addr, 4);
	else if (ep->sa.sa_family == AF_INET6)
		/* A /64 is one host's to choose from: one bucket. */
		memcpy(addr, &ep->in6.sin6_addr, 8);
}

/* A token from the bucket all sources share; false if there is none. */
static bool global_allow(struct shoald_ratelimit *rl, double now)
{
	rl->global_tokens += (now - rl->global_last) * rl->global_rate;
	if (rl->global_tokens > rl->global_rate)
		rl->global_tokens = rl->global_rate;
	rl->global_last = now;
	if (rl->global_tokens < 1)
		return false;
	rl->global_tokens -= 1;
	return true;
}

bool shoald_ratelimit_allow(struct shoald_ratelimit *rl,
			    const struct shoal_endpoint *ep, double now)
{
	struct shoald_ratelimit_slot *s;
	uint8_t addr[16];
	uint64_t h;

	address_of(addr, ep);
	crypto_shorthash((uint8_t *)&h, addr, sizeof(addr), rl->hash_key);
	s = &rl->slots[h % SHOALD_RATELIMIT_SLOTS];
	if (!s->used || memcmp(s->addr, addr, sizeof(addr))) {
		/*
		 * A source new to its slot starts with one token, not a
		 * burst: cycling through addresses must not refill anything.
		 */
		memcpy(s->addr, addr, sizeof(addr));
		s->used = true;
		s->tokens = 1;
		s->last = now;
	}
	s->tokens += (now - s->last) * rl->rate;
	if (s->tokens > rl->burst)
		s->tokens = rl->burst;
	s->last = now;
	if (s->tokens < 1 || !global_allow(rl, now))
		return false;
	s->tokens -= 1;
	return true;
}
