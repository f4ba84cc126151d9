/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_PRESENCE_H
#define SHOAL_MEDIATOR_PRESENCE_H

/* presence.c: PEER_UP and PEER_DOWN, and the announcements' rate. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clusterbus.h"
#include "mediator.h"
#include "mstore.h"
#include "tlv.h"

/* A client's announcements: a token bucket (presence.c). */
struct med_announce {
	struct med_announce *next;
	int64_t id;
	double tokens;
	int64_t at;			/* ms: tokens as of then */
};

struct conn;
struct server;

/* IPV4, IPV6 (with their prefix lengths) and MAC of a client. */
void presence_put_addrs(struct shoal_tlv_writer *w,
			const struct mstore_client *cl,
			unsigned int pool_prefix);

struct peerset {
	struct mstore_client *v;
	size_t n;
};

/* The active peers of client id: 0, or -1 (then empty). */
int presence_peerset_get(struct server *srv, int64_t id, struct peerset *ps);
void presence_peerset_free(struct peerset *ps);
/*
 * c came online (or reconnected): c gets PEER_UP for each online peer, and
 * with announce, each online peer gets PEER_UP for c.
 */
void presence_login(struct server *srv, struct conn *c, bool announce);
/*
 * Login completes (a BINDING, or the wait is over): c is announced, to
 * the peers too if it is new to them or what they know of it changed,
 * now or, past its rate, at c->announce_due.
 */
void presence_complete(struct server *srv, struct conn *c);
/* c->announce_due has come: its peers hear of it, if its rate allows. */
void presence_due(struct server *srv, struct conn *c);
void presence_nat(struct server *srv, struct conn *c);
/* Forgets the rates of clients that have not announced for long. */
void presence_tick(struct server *srv, int64_t now_ms);
void presence_free(struct server *srv);
/* Each online peer of c gets PEER_DOWN for c. */
void presence_down(struct server *srv, struct conn *c, uint8_t reason);
/*
 * who's peers went from before to after: PEER_UP for new pairs, to who
 * and (with both) to the other side, where both are present; PEER_DOWN
 * reason 3 for lost ones, to who and (with both) to the other side,
 * wherever that one is present.
 */
void presence_changed(struct server *srv, const struct mstore_client *who,
		      const struct peerset *before,
		      const struct peerset *after, bool both);

/*
 * After a network was left or lost (presence_changed first): the pairs
 * that still share another are told each other again, to refresh.
 */
void presence_regrouped(struct server *srv, int64_t who,
			const struct peerset *before,
			const struct peerset *after, bool both);

/* What PEER_UP says of c (for the cluster's bus too). */
void presence_info_of(const struct conn *c, struct med_peer_info *pi);
/*
 * What PEER_UP says of client id, present here (announced; else logged
 * in is enough) or announced on another instance: true.
 */
bool presence_info_find(struct server *srv, int64_t id, bool announced,
			struct med_peer_info *pi);
/*
 * Another instance's client came online (or what its peers know of it
 * changed), went, or its NAT changed: its peers here hear it.
 */
void presence_remote_up(struct server *srv, const struct med_peer_info *pi);
void presence_remote_down(struct server *srv, const struct mstore_client *who,
			  uint8_t reason);
void presence_remote_nat(struct server *srv, const struct med_peer_info *pi);
/*
 * who's peers changed: added came, lost went.  What presence_changed
 * tells, to the clients on this instance; another instance's change
 * comes here from the bus.
 */
void presence_apply(struct server *srv, int64_t who,
		    const uint8_t who_key[MSTORE_KEY_LEN],
		    const int64_t *added, size_t n_added,
		    const struct med_peer_ref *lost, size_t n_lost, bool both);

#endif
