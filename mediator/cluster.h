/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_CLUSTER_H
#define SHOAL_MEDIATOR_CLUSTER_H

/*
 * cluster.c: several shoal-mediator instances on one PostgreSQL
 * (docs/cluster.md).  Each keeps its row in instances fresh (a beat
 * every CLUSTER_BEAT_MS), announces its clients on the bus (LISTEN/
 * NOTIFY, clusterbus.h) and keeps the others' announced clients in a
 * view of its own, so that presence works across instances without a
 * query per event.  One libpq connection, non-blocking, in the epoll set.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clusterbus.h"
#include "tlv.h"

#define CLUSTER_BEAT_MS 5000
/*
 * An instance not heard of for this long is dead.  Its last beat came at
 * most CLUSTER_BEAT_MS before it died and the check runs each second, so
 * the others notice within 15 s of its death.
 */
#define CLUSTER_DEAD_MS 14000
#define CLUSTER_MAX_INSTANCES 64
#define CLUSTER_CHANNEL "shoal_cluster"
#define CLUSTER_REDIRECT_MARGIN 16

struct conn;
struct server;
struct cluster;

struct cluster_config {
	const char *url;		/* postgresql://... */
	const char *name;		/* --instance */
	const char *advertise;		/* --advertise */
	/*
	 * --redirect-margin: a LOGIN is sent to the least loaded live
	 * instance when this one has more than that many clients more, and
	 * more than 10 % more; 0: never.
	 */
	unsigned int redirect_margin;
};

/* Whether --database URL names PostgreSQL: then the instance clusters. */
bool cluster_url_is_postgres(const char *url);
/*
 * Connects (blocking: this is start-up), makes the tables, checks that
 * the database's server_public_key is srv->pub (or records it), starts
 * the beat and loads the view.  0, or -1 after saying why on stderr.
 */
int cluster_open(struct server *srv, const struct cluster_config *cfg);
/* server_open: the connection joins the epoll set. */
int cluster_watch(struct server *srv);
/* Its socket is ready (events: EPOLLIN/EPOLLOUT...). */
void cluster_ready(struct server *srv, uint32_t events);
/* Each second: beats, liveness, reconnecting. */
void cluster_tick(struct server *srv, int64_t now_ms);
/* Shutting down: the others settle this instance's clients now. */
void cluster_close(struct server *srv);

/* c was announced to its peers (presence_complete, presence_due). */
void cluster_online(struct server *srv, const struct conn *c);
/* c, announced, went (reason as in PEER_DOWN). */
void cluster_offline(struct server *srv, const struct conn *c,
		     uint8_t reason);
/* c's NAT changed after it was announced. */
void cluster_nat(struct server *srv, const struct conn *c);
/* who's peers changed here (presence_changed): the others apply it. */
void cluster_changed(struct server *srv, const struct mstore_client *who,
		     const int64_t *added, size_t n_added,
		     const struct med_peer_ref *lost, size_t n_lost, bool both);
/* Client id announced on another live instance: what PEER_UP says. */
const struct med_peer_info *cluster_remote_find(struct server *srv,
						int64_t id);
/*
 * A successful LOGIN's reply: INSTANCE_NAME (this one) and INSTANCE for
 * this and each live instance.  Nothing on a single instance.
 */
void cluster_put_login(struct server *srv, struct shoal_tlv_writer *w);
/*
 * Whether a new LOGIN goes elsewhere (see redirect_margin): then w, a
 * reply with RESULT REDIRECT, gets INSTANCE_NAME and the INSTANCE to log
 * in at.  Never on a single instance, nor to a dead or unknown one.
 */
bool cluster_redirect(struct server *srv, struct shoal_tlv_writer *w);
/* A mediator message to client id, online on another instance. */
void cluster_deliver(struct server *srv, int64_t id, const uint8_t *msg,
		     int len);
/*
 * This instance's --advertise as an endpoint, when its host is an
 * address (not a name): true.
 */
bool cluster_advertised(struct server *srv, struct med_endpoint *e);
/* This instance's name, or NULL when it is no cluster's. */
const char *cluster_name(const struct server *srv);

#endif
