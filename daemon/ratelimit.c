// SPDX-License-Identifier: MIT
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

void shoald_bucket_init(struct shoald_bucket *b, double rate)
{
	b->rate = rate;
	b->tokens = rate;
	b->last = 0;
}

bool shoald_bucket_take(struct shoald_bucket *b, double now)
{
	b->tokens += (now - b->last) * b->rate;
	if (b->tokens > b->rate)
		b->tokens = b->rate;
	b->last = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

void shoald_ratelimit_init(struct shoald_ratelimit *rl, double rate,
			   double burst, double global_rate, double load_rate,
			   double cookie_rate)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	shoald_bucket_init(&rl->known, global_rate / 2);
	shoald_bucket_init(&rl->other, global_rate / 2);
	shoald_bucket_init(&rl->arrivals, load_rate);
	shoald_bucket_init(&rl->cookies_known, cookie_rate / 2);
	shoald_bucket_init(&rl->cookies_other, cookie_rate / 2);
	/* A secret hash key, so that nobody can aim at one slot. */
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
}

bool shoald_ratelimit_under_load(struct shoald_ratelimit *rl, double now)
{
	if (!shoald_bucket_take(&rl->arrivals, now))
		rl->under_load_until = now + 1.0;
	return now < rl->under_load_until;
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

/* The bucket of ep's address, refilled up to now. */
static struct shoald_ratelimit_slot *
source_bucket(struct shoald_ratelimit *rl, const struct shoal_endpoint *ep,
	      double now)
{
	struct shoald_ratelimit_slot *s;
	uint8_t addr[16];

	address_of(addr, ep);
	s = &rl->slots[shoal_keyed_index(rl->hash_key, addr, sizeof(addr),
					 SHOALD_RATELIMIT_SLOTS)];
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
	return s;
}

bool shoald_ratelimit_allow(struct shoald_ratelimit *rl,
			    const struct shoal_endpoint *ep, bool proven,
			    bool known, double now)
{
	struct shoald_ratelimit_slot *s = NULL;

	if (proven) {
		s = source_bucket(rl, ep, now);
		if (s->tokens < 1)
			return false;
	}
	if (!(known && shoald_bucket_take(&rl->known, now)) &&
	    !shoald_bucket_take(&rl->other, now))
		return false;
	if (s)
		s->tokens -= 1;
	return true;
}

bool shoald_ratelimit_cookie_allow(struct shoald_ratelimit *rl, bool known,
				   double now)
{
	return (known && shoald_bucket_take(&rl->cookies_known, now)) ||
	       shoald_bucket_take(&rl->cookies_other, now);
}
