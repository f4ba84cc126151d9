// SPDX-License-Identifier: MIT
/*
 * What one source address may cost the server, and the operator's deny
 * list.  A source is an IPv4 address or an IPv6 /64 (one customer's
 * allocation: the addresses inside it are free for the taking), IPv4
 * arriving v4-mapped on a dual-stack socket counted as IPv4.
 *
 * Per source: connections at once (--source-conns), new clients made
 * (--source-new-clients an hour, a token bucket), and password work (a
 * sliding window, see requests.c).  The entries live in a hash table
 * under a secret key, so that nobody can aim many sources at one chain;
 * one exists while the source has a connection or has used any budget
 * whose window is still open, and a slow sweep frees the rest.
 *
 * The deny list (--deny FILE) holds address prefixes, one a line.  It is
 * read at start and again on SIGHUP; a connection or a NAT discovery
 * request from inside it is dropped before anything else is done for it.
 * It is kept as sorted, merged ranges: a lookup is a binary search.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "sources.h"
#include "server.h"

/* Buckets looked at per tick by the sweep: all of them in a minute. */
#define SWEEP_PER_TICK (MED_SOURCE_BUCKETS / 64)
#define HOUR_MS (3600 * 1000)
/* Lines of a deny list: a file bigger than that is a mistake. */
#define DENY_MAX 1000000

int sources_key_of(struct med_source_key *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		k->family = 4;
		memcpy(k->addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			k->family = 4;
			memcpy(k->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			k->family = 6;
			memcpy(k->addr, &s6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

/* The source of an address: an IPv6 one is its /64. */
static void source_of(struct med_source_key *k)
{
	if (k->family == 6)
		memset(k->addr + 8, 0, 8);
}

static size_t bucket(const struct server *srv, const struct med_source_key *k)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	crypto_shorthash(h, (const uint8_t *)k, sizeof(*k),
			 srv->sources.hash_key);
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)(v % MED_SOURCE_BUCKETS);
}

bool sources_same(const struct sockaddr *a, const struct sockaddr *b)
{
	struct med_source_key ka, kb;

	memset(&ka, 0, sizeof(ka));
	memset(&kb, 0, sizeof(kb));
	if (sources_key_of(&ka, a) < 0 || sources_key_of(&kb, b) < 0)
		return false;
	source_of(&ka);
	source_of(&kb);
	return !memcmp(&ka, &kb, sizeof(ka));
}

void sources_init(struct server *srv)
{
	randombytes_buf(srv->sources.hash_key, sizeof(srv->sources.hash_key));
}

static struct med_source *find(struct server *srv,
			       const struct med_source_key *k, bool create)
{
	size_t b = bucket(srv, k);
	struct med_source *s;

	for (s = srv->sources.bucket[b]; s; s = s->next)
		if (!memcmp(&s->key, k, sizeof(*k)))
			return s;
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key = *k;
	s->new_tokens = srv->lim.source_new_clients;
	s->new_at = server_now_ms();
	s->next = srv->sources.bucket[b];
	srv->sources.bucket[b] = s;
	srv->sources.n++;
	return s;
}

/* The new-client bucket, refilled up to its size for the time passed. */
static void refill(struct server *srv, struct med_source *s, int64_t now)
{
	double size = srv->lim.source_new_clients;

	if (now > s->new_at)
		s->new_tokens += (double)(now - s->new_at) * size / HOUR_MS;
	if (s->new_tokens > size)
		s->new_tokens = size;
	s->new_at = now;
}

/* Nothing of it is counted any more: it can go. */
static bool idle(struct server *srv, struct med_source *s, int64_t now)
{
	refill(srv, s, now);
	return !s->conns && !s->pw_inflight &&
	       s->new_tokens >= srv->lim.source_new_clients &&
	       !requests_rate_busy(&s->pw, MED_PW_SOURCE_MAX,
				   MED_PW_SOURCE_WINDOW_MS, now);
}

static void unlink_free(struct server *srv, size_t b, struct med_source *s)
{
	struct med_source **pp;

	for (pp = &srv->sources.bucket[b]; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			free(s);
			srv->sources.n--;
			return;
		}
	}
}

bool sources_conn_open(struct server *srv, struct conn *c)
{
	struct med_source_key k;
	struct med_source *s;

	if (sources_key_of(&k, (const struct sockaddr *)&c->addr) < 0)
		return false;
	source_of(&k);
	s = find(srv, &k, true);
	if (!s || (srv->lim.source_conns && s->conns >= srv->lim.source_conns))
		return false;
	s->conns++;
	c->source = s;
	return true;
}

void sources_conn_close(struct server *srv, struct conn *c)
{
	struct med_source *s = c->source;

	if (!s)
		return;
	c->source = NULL;
	s->conns--;
	if (idle(srv, s, server_now_ms()))
		unlink_free(srv, bucket(srv, &s->key), s);
}

bool sources_new_client_ok(struct server *srv, struct conn *c)
{
	if (!srv->lim.source_new_clients || !c->source)
		return true;
	refill(srv, c->source, server_now_ms());
	return c->source->new_tokens >= 1.0;
}

void sources_new_client_made(struct server *srv, struct conn *c)
{
	if (!srv->lim.source_new_clients || !c->source)
		return;
	refill(srv, c->source, server_now_ms());
	c->source->new_tokens -= 1.0;
}

void sources_tick(struct server *srv, int64_t now_ms)
{
	struct med_source *s, *next;
	unsigned int i;
	size_t b;

	for (i = 0; i < SWEEP_PER_TICK; i++) {
		b = srv->sources.sweep++ % MED_SOURCE_BUCKETS;
		for (s = srv->sources.bucket[b]; s; s = next) {
			next = s->next;
			if (idle(srv, s, now_ms))
				unlink_free(srv, b, s);
		}
	}
}

void sources_free(struct server *srv)
{
	struct med_source *s, *next;
	size_t b;

	for (b = 0; b < MED_SOURCE_BUCKETS; b++) {
		for (s = srv->sources.bucket[b]; s; s = next) {
			next = s->next;
			free(s);
		}
		srv->sources.bucket[b] = NULL;
	}
	srv->sources.n = 0;
}

/* ---- the deny list ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct med_range *x = a, *y = b;
	int c = x->family - y->family;

	return c ? c : memcmp(x->lo, y->lo, 16);
}

/* a + 1 == b, as 128-bit big-endian numbers (IPv4 in the first 4). */
static bool adjacent(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t next[16];
	int i;

	memcpy(next, a, len);
	for (i = (int)len - 1; i >= 0 && ++next[i] == 0; i--)
		;
	return i >= 0 && !memcmp(next, b, len);
}

/* One line's prefix into r: 0, or -1 with why. */
static int parse_prefix(char *text, struct med_range *r, const char **why)
{
	struct shoal_prefix p;
	uint8_t *a;
	size_t alen, bit;

	if (shoal_prefix_parse(&p, text) < 0) {
		*why = "not an address or prefix (ADDRESS or ADDRESS/LENGTH)";
		return -1;
	}
	memset(r, 0, sizeof(*r));
	if (p.family == AF_INET) {
		r->family = 4;
		alen = 4;
		memcpy(r->lo, &p.addr.v4, 4);
	} else {
		if (IN6_IS_ADDR_V4MAPPED(&p.addr.v6)) {
			*why = "an IPv4-mapped IPv6 address: write it as IPv4";
			return -1;
		}
		r->family = 6;
		alen = 16;
		memcpy(r->lo, &p.addr.v6, 16);
	}
	memcpy(r->hi, r->lo, alen);
	a = r->hi;
	for (bit = p.len; bit < alen * 8; bit++) {
		if (r->lo[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "host bits set after the prefix length";
			return -1;
		}
		a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	return 0;
}

int sources_deny_load(const char *path, struct med_denylist *out, char *err,
		      size_t err_size)
{
	struct med_range *r = NULL, *bigger;
	size_t n = 0, cap = 0, len, i, k;
	unsigned int line_no = 0;
	char *line = NULL, *p, *end;
	const char *why = NULL;
	ssize_t got;
	FILE *f;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((got = getline(&line, &len, f)) >= 0) {
		line_no++;
		/* A comment runs from '#' to the end of the line. */
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		end = p + strlen(p);
		while (end > p && strchr(" \t\r\n", end[-1]))
			*--end = '\0';
		if (!*p)
			continue;
		if (n == DENY_MAX) {
			why = "more than a million prefixes";
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			bigger = reallocarray(r, cap, sizeof(*r));
			if (!bigger) {
				why = "out of memory";
				break;
			}
			r = bigger;
		}
		if (parse_prefix(p, &r[n], &why) < 0)
			break;
		n++;
	}
	if (!why && ferror(f))
		why = strerror(errno);
	free(line);
	fclose(f);
	if (why) {
		snprintf(err, err_size, "%s:%u: %s", path, line_no, why);
		free(r);
		return -1;
	}
	/* Sorted and merged: what overlaps or touches is one range. */
	if (n)
		qsort(r, n, sizeof(*r), cmp_range);
	for (i = 0, k = 0; i < n; i++) {
		len = r[i].family == 4 ? 4 : 16;
		if (k && r[k - 1].family == r[i].family &&
		    (memcmp(r[i].lo, r[k - 1].hi, len) <= 0 ||
		     adjacent(r[k - 1].hi, r[i].lo, len))) {
			if (memcmp(r[i].hi, r[k - 1].hi, len) > 0)
				memcpy(r[k - 1].hi, r[i].hi, len);
			continue;
		}
		r[k++] = r[i];
	}
	out->range = r;
	out->n = k;
	return 0;
}

void sources_deny_free(struct med_denylist *d)
{
	free(d->range);
	d->range = NULL;
	d->n = 0;
}

bool sources_deny_has(const struct med_denylist *d, const struct sockaddr *sa)
{
	struct med_source_key k;
	size_t lo = 0, hi = d->n, mid, len;
	const struct med_range *r;
	int c;

	if (!d->n || sources_key_of(&k, sa) < 0)
		return false;
	len = k.family == 4 ? 4 : 16;
	/* The last range starting at or below the address. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = &d->range[mid];
		c = r->family != k.family ? r->family - k.family :
		    memcmp(r->lo, k.addr, len);
		if (c <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	r = &d->range[lo - 1];
	return r->family == k.family && memcmp(k.addr, r->hi, len) <= 0;
}
