/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_SOURCES_H
#define SHOAL_MEDIATOR_SOURCES_H

/* sources.c: what each source address may cost, and the deny list. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mediator.h"
#include "requests.h"

/* A source: an IPv4 address, or an IPv6 /64 (the rest zero). */
struct med_source_key {
	uint8_t family;			/* 4 or 6 */
	uint8_t addr[16];
};

struct med_source {
	struct med_source *next;
	struct med_source_key key;
	unsigned int conns;
	double new_tokens;		/* new clients it may still make */
	int64_t new_at;			/* ms: new_tokens as of then */
	struct med_rate pw;		/* password work: see pw_network */
	unsigned int pw_inflight;
};

struct med_sources {
	struct med_source *bucket[MED_SOURCE_BUCKETS];
	uint8_t hash_key[16];
	size_t n;
	unsigned int sweep;
};

/* A deny list range, both ends included (IPv4: the first 4 bytes). */
struct med_range {
	uint8_t family;
	uint8_t lo[16], hi[16];
};

struct med_denylist {
	struct med_range *range;	/* sorted, disjoint */
	size_t n;
};

struct conn;
struct server;

/* One source (the same IPv4 address, or IPv6 /64)? */
bool sources_same(const struct sockaddr *a, const struct sockaddr *b);
void sources_init(struct server *srv);
void sources_free(struct server *srv);
/* A source address as a key (v4-mapped as IPv4): 0, or -1. */
int sources_key_of(struct med_source_key *k, const struct sockaddr *sa);
/* Counts c against its source: false if that is at --source-conns. */
bool sources_conn_open(struct server *srv, struct conn *c);
void sources_conn_close(struct server *srv, struct conn *c);
/* Whether c's source may make a new client now; then count it. */
bool sources_new_client_ok(struct server *srv, struct conn *c);
void sources_new_client_made(struct server *srv, struct conn *c);
/* Frees the entries nothing counts any more, a part each tick. */
void sources_tick(struct server *srv, int64_t now_ms);
/* Reads a deny list: 0, or -1 with err ("FILE:LINE: reason"). */
int sources_deny_load(const char *path, struct med_denylist *out, char *err,
		      size_t err_size);
void sources_deny_free(struct med_denylist *d);
bool sources_deny_has(const struct med_denylist *d, const struct sockaddr *sa);

#endif
