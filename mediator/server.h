/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_SERVER_H
#define SHOAL_MEDIATOR_SERVER_H

/* server.c: the epoll loop, the connections and struct server. */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "channel.h"
#include "cluster.h"
#include "mediator.h"
#include "medmetrics.h"
#include "medmsg.h"
#include "mstore.h"
#include "presence.h"
#include "pwhash.h"
#include "relay.h"
#include "relay_remote.h"
#include "requests.h"
#include "sources.h"
#include "tcpbridge.h"
#include "tlv.h"
#include "udp.h"

struct conn {
	struct med_handle h;		/* MED_K_CONN */
	struct conn *prev, *next;	/* every connection */
	struct conn *hnext;		/* online chain, by client id */
	struct conn *dead_next;
	struct conn *tnext;		/* token chain */
	struct conn *pprev, *pnext;	/* waiting to be announced */
	int fd;
	bool dead, want_out, logged_in, spoke;
	bool sniffed;			/* its first byte was looked at */
	struct med_source *source;	/* counted there while it lives */
	uint32_t events;		/* epoll watches for: server_conn_arm */
	/*
	 * The password request with the worker.  Until it is answered
	 * the connection's later requests wait unread (no EPOLLIN), so that
	 * its requests still take effect, and are answered, in order.
	 */
	struct pw_job *pw;
	/* A registered shoal-relay's connection (relay_remote.c). */
	struct med_relay *relay;
	/*
	 * announced: it counts as online (present) for its peers' requests
	 * and events.  told: its peers have been told it is online (by this
	 * connection, or by the one it replaced), so they hear when it goes;
	 * not yet while its announcement waits for its rate (announce_due).
	 * pending: waiting for a BINDING, at most until announce_at.
	 */
	bool announced, told, pending, has_token, has_public;
	uint8_t down_reason;		/* what to tell peers when reaped */
	int64_t deadline;		/* CLOCK_MONOTONIC seconds */
	struct sockaddr_storage addr;
	struct shoal_channel ch;
	int64_t announce_at;		/* ms, while pending */
	uint8_t token[MED_TOKEN_LEN];	/* from the first LOGIN on */
	/* Its BINDINGs' MAC key (shoal_ctl_token_key), and last counter. */
	uint8_t token_key[32];
	uint64_t token_counter;
	/* What the peers were last told about it (PEER_UP, hashed). */
	uint8_t view[16];
	/* Valid while logged_in. */
	struct mstore_client client;
	uint16_t tunnel_port;
	/*
	 * The first candidate: where its BINDING came from (public), else
	 * the TCP source with its tunnel port (tcp_ep, if it gave one).
	 */
	struct med_endpoint public_ep, tcp_ep;
	bool has_tcp_ep;
	unsigned int n_endpoints;	/* LAN candidates */
	/* Its netcheck, as it said (LOGIN, NAT): passed on in PEER. */
	struct shoal_nat nat;
	struct med_endpoint ep[MED_MAX_ENDPOINTS];
	/*
	 * Its peers are to hear of it then (ms; 0: not waiting): a
	 * client's announcements are rate-limited (presence.c).
	 */
	int64_t announce_due;
};

/* The operator's limits (shoal-mediator's options); 0: none. */
struct med_limits {
	unsigned int source_conns;
	unsigned int source_new_clients;	/* an hour */
	int64_t expire_after;		/* s */
	const char *deny_path;		/* NULL: no deny list */
	unsigned int relays_per_client;
	uint64_t relay_rate;		/* bytes a second a pair */
	/* The TCP fallback's bridge (tcpbridge.h); streams 0: none. */
	struct tcpbridge_limits tcp;
};

struct med_stats {
	uint64_t denied, source_full, expired;
	uint64_t bindings, bindings_known, udp_dropped;
};

struct server {
	int epfd, listen_fd, timer_fd, signal_fd;
	uint8_t priv[32], pub[32];
	struct mstore *store;
	struct cluster *cluster;	/* NULL: a single instance */
	struct in_addr pool_base;	/* the IPv4 pool, for candidates */
	unsigned int pool_prefix;
	struct conn *conns;
	unsigned int n_conns, max_conns;
	struct conn *online[MED_ONLINE_BUCKETS];
	struct conn *dead;		/* closed after the current batch */
	/* Login waiting for a BINDING, oldest (soonest deadline) first. */
	struct conn *pending_head, *pending_tail;
	/* Connections by UDP token; the bucket is a keyed hash of it. */
	struct conn *tokens[MED_TOKEN_BUCKETS];
	uint8_t token_key[16];

	struct sockaddr_storage listen_addr;
	socklen_t listen_len;
	struct med_udp udp[MED_UDP_N];	/* fd -1: absent */
	bool has_probe;
	struct med_endpoint probe_ep;	/* as the LOGIN reply gives it */

	struct relay_ports rp;		/* the built-in relay */
	/* The registered shoal-relays, and the allocations on them. */
	struct med_relay *relay_servers;
	struct relay *remote_live;
	uint8_t (*relay_keys)[32];	/* --relay-key */
	unsigned int n_relay_keys;
	struct tcpbridge *bridge;	/* NULL: no TCP fallback */
	int bridge_fd;

	struct med_rate pw_server;
	struct pw_client *pw_clients[MED_PW_BUCKETS];
	struct pw_network *pw_networks[MED_PW_BUCKETS];
	struct pw_queue pw;

	struct med_announce *announce[MED_ANNOUNCE_BUCKETS];

	struct med_limits lim;
	struct med_sources sources;
	struct med_denylist deny;

	struct med_stats stats;
	struct med_login_stats logins;
	/*
	 * The database's counts for --metrics, at most every
	 * MEDMETRICS_COUNTS_MS: a full count of each table is no cost to
	 * put in the loop at every scrape from whoever reaches the port.
	 */
	int64_t counts_at, counts_known, counts_networks;
	/* --metrics (medmetrics.c); NULL: none. */
	struct metrics_server *metrics;
	int metrics_fd;
	/* One datagram, received or forwarded. */
	uint8_t dgram[65536];
	/* Replies and events apart: an event never clobbers a reply. */
	uint8_t reply[SHOAL_TLV_MAX_MSG];
	uint8_t event[SHOAL_TLV_MAX_MSG];
};

/* probe may be NULL; relay_lo..relay_hi the relay ports. */
int server_open(struct server *srv, const struct sockaddr *addr,
		socklen_t addr_len, const struct sockaddr *probe,
		socklen_t probe_len, uint16_t relay_lo, uint16_t relay_hi);
/* --metrics: serves them on addr, after server_open. */
int server_metrics_open(struct server *srv, const struct sockaddr *addr,
			socklen_t addr_len);
int server_run(struct server *srv);
void server_close(struct server *srv);
int64_t server_now(void);
int64_t server_now_ms(void);
/* Queues a message built in buf and writes what the socket takes. */
void server_conn_send(struct server *srv, struct conn *c, const uint8_t *buf,
		      int len);
/* Closes c after the current batch, telling its peers reason. */
void server_conn_kill(struct server *srv, struct conn *c, uint8_t reason);
/* Tells epoll what c waits for now: see struct conn's pw. */
void server_conn_arm(struct server *srv, struct conn *c);
/* c's password request was answered: its waiting requests are next. */
void server_conn_resume(struct server *srv, struct conn *c);
/* The live logged-in connection of a client, or NULL. */
struct conn *server_online_find(struct server *srv, int64_t id);
void server_online_add(struct server *srv, struct conn *c);
void server_online_remove(struct server *srv, struct conn *c);
/* Logged in and announced: the peers know it, it takes part in presence. */
struct conn *server_present_find(struct server *srv, int64_t id);
/* Waiting to be announced: from LOGIN until a BINDING or announce_at. */
void server_pending_add(struct server *srv, struct conn *c);
void server_pending_remove(struct server *srv, struct conn *c);

#endif
