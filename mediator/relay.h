/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_RELAY_H
#define SHOAL_MEDIATOR_RELAY_H

/* relay.c: the relay ports. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mediator.h"
#include "udp.h"

struct relay_side {
	int64_t client;
	uint8_t pubkey[32];
	uint32_t id;
	uint8_t key[MED_RELAY_KEY_LEN];
	uint64_t counter;		/* of the last RELAY_BIND accepted */
	uint64_t challenged;		/* of the last one challenged */
	int64_t challenged_at;		/* ms */
	bool bound;
	struct sockaddr_storage ep;	/* where its RELAY_BIND came from */
	socklen_t ep_len;
	struct med_local local;		/* and the address it reached */
};

/* One relay port, forwarding between the two sides of a pair. */
struct relay {
	struct med_handle h;		/* MED_K_RELAY */
	struct relay *lprev, *lnext;	/* every live one */
	struct relay *dead_next;
	int fd;
	bool dead;
	uint16_t port;
	int64_t last_active;		/* ms: allocation or last forward */
	int64_t requested_by;		/* the client it counts against */
	/* Bytes it may still forward (--relay-rate), as of tokens_at (ms). */
	double tokens;
	int64_t tokens_at;
	/* Keys the cookies of its RELAY_CHALLENGEs: see relay_bind. */
	uint8_t cookie_key[32];
	struct relay_side side[2];
};

struct conn;
struct server;

int relay_open(struct server *srv, uint16_t lo, uint16_t hi);
void relay_close(struct server *srv);
void relay_readable(struct server *srv, struct relay *r);
/*
 * The RELAY request: 0 with the pair's allocation (made now, or the one
 * it has) in *out, or a result code.  relay_tell then sends both sides
 * their RELAY event.
 */
int relay_request(struct server *srv, struct conn *c,
		  const uint8_t peer_key[32], struct relay **out);
void relay_tell(struct server *srv, struct relay *r);
/* Frees the allocations of a client, or of one pair. */
void relay_free_client(struct server *srv, int64_t id);
void relay_free_pair(struct server *srv, int64_t a, int64_t b);
bool relay_of_client(struct server *srv, int64_t id);
/* Frees the idle ones; then the freed ones are closed by relay_reap. */
void relay_tick(struct server *srv, int64_t now_ms);
void relay_reap(struct server *srv);

#endif
