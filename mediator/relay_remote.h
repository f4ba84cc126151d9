/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_RELAY_REMOTE_H
#define SHOAL_MEDIATOR_RELAY_REMOTE_H

/*
 * relay_remote.c: the registered shoal-relays (docs/protocol.md, "Relay
 * servers"), their allocations and what the mediator takes from them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "relay_core.h"
#include "tlv.h"
#include "udp.h"

/* Allocations one relay may hold (and report on re-registering). */
#define MED_RELAY_MAX_ALLOCS 4096
/*
 * Messages a relay may send a second, and RELAY_HOLDS a registration
 * (MED_RELAY_MAX_ALLOCS); more ends its connection.
 */
#define MED_RELAY_MSGS_PER_S 500
/* A relay that did not give an allocation's port in this long: moved. */
#define MED_RELAY_ALLOC_WAIT_MS 3000
/* --relay-key: at most so many. */
#define MED_RELAY_KEYS_MAX 64

struct med_relay {
	struct med_relay *next;
	struct conn *c;
	uint8_t key[32];
	struct med_endpoint ep;		/* its ports' address: port 0 */
	unsigned int n_allocs;		/* records of it here */
	/* What it last reported (LOAD). */
	uint32_t load_allocs;
	uint64_t load_bytes;
	int64_t window_at;		/* ms: this second's messages */
	unsigned int window_msgs;
	unsigned int n_holds;		/* RELAY_HOLDS since it registered */
};

struct conn;
struct server;

/* A request of RELAY_REGISTER..RELAY_GONE from c: its result code. */
int relay_remote_request(struct server *srv, struct conn *c,
			 const struct shoal_tlv_msg *m);
/* c, a relay's connection, is gone: its pairs move. */
void relay_remote_lost(struct server *srv, struct conn *c);
/* An allocation on the least loaded relay but avoid; NULL if none. */
struct med_peer_info;
struct relay *relay_remote_alloc(struct server *srv,
				 const struct med_peer_info *a,
				 const struct med_peer_info *b,
				 int64_t requested_by,
				 const struct med_relay *avoid);
/* Forgets a relay's allocation; tell: and says RELAY_FREE to the relay. */
void relay_remote_drop(struct server *srv, struct relay *r, bool tell);
void relay_remote_tick(struct server *srv, int64_t now_ms);
void relay_remote_close(struct server *srv);

#endif
