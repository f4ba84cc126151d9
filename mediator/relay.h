/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_RELAY_H
#define SHOAL_MEDIATOR_RELAY_H

/*
 * relay.c: the relayed pairs and their allocations, on the built-in relay
 * ports (relay_core.c) or on a registered shoal-relay (relay_remote.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mediator.h"
#include "relay_core.h"
#include "udp.h"

struct conn;
struct server;

int relay_open(struct server *srv, uint16_t lo, uint16_t hi);
void relay_close(struct server *srv);
void relay_readable(struct server *srv, struct relay *r);
/*
 * The RELAY request: 0 with the pair's allocation (made now, or the one
 * it has) in *out, or a result code.  relay_tell then sends both sides
 * their RELAY event (a shoal-relay's allocation: once it gave the port).
 */
int relay_request(struct server *srv, struct conn *c,
		  const uint8_t peer_key[32], struct relay **out);
void relay_tell(struct server *srv, struct relay *r);
/*
 * A new allocation for the pair of clients a and b (online here or, in
 * a cluster, one of them on another instance), on the
 * least loaded registered relay but not on avoid, else on the built-in
 * ports; NULL if none is free.
 */
struct med_peer_info;
struct relay *relay_assign(struct server *srv, const struct med_peer_info *a,
			   const struct med_peer_info *b, int64_t requested_by,
			   const struct med_relay *avoid);
/* r (a shoal-relay's) cannot serve: its pair gets another, and is told. */
void relay_move(struct server *srv, struct relay *r);
/* Frees the allocations of a client, or of one pair. */
void relay_free(struct server *srv, struct relay *r);
void relay_free_client(struct server *srv, int64_t id);
void relay_free_pair(struct server *srv, int64_t a, int64_t b);
bool relay_of_client(struct server *srv, int64_t id);
/* The pair's allocation, wherever it is, or NULL. */
struct relay *relay_pair_find(struct server *srv, int64_t a, int64_t b);
/*
 * A RELAY event another instance delivers for local client id: true if
 * it is to be dropped (this instance's allocation for the pair wins).
 */
bool relay_delivered_loses(struct server *srv, int64_t id,
			   const uint8_t *event, size_t len, bool ours_wins);
/* Frees the idle ones; then the freed ones are closed by relay_reap. */
void relay_tick(struct server *srv, int64_t now_ms);
void relay_reap(struct server *srv);

#endif
