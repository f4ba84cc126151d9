/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_H
#define SHOAL_MEDIATOR_H

/*
 * shoal-mediator's pieces: server.c runs the epoll loop and owns the
 * connections, requests.c answers the requests of docs/protocol.md
 * ("Mediator messages"), presence.c sends PEER_UP and PEER_DOWN.  All the
 * mutable state is in one struct server.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "channel.h"
#include "mstore.h"
#include "tlv.h"

/* Message types. */
enum {
	MED_LOGIN = 1,
	MED_LOGOUT = 2,
	MED_NICK = 3,
	MED_CREATE = 4,
	MED_JOIN = 5,
	MED_LEAVE = 6,
	MED_NETWORKS = 7,
	MED_APPROVE = 8,
	MED_KICK = 9,
	MED_BAN = 10,
	MED_SET_PASSWORD = 11,
	MED_DELETE = 12,
	MED_KEEPALIVE = 13,
	MED_PEER_UP = 64,
	MED_PEER_DOWN = 65,
};

/* Attributes. */
enum {
	MED_A_RESULT = 1,
	MED_A_MESSAGE = 2,
	MED_A_NICKNAME = 3,
	MED_A_NETWORK = 4,
	MED_A_PASSWORD = 5,
	MED_A_APPROVAL = 6,
	MED_A_PUBLIC_KEY = 7,
	MED_A_IPV4 = 8,
	MED_A_IPV6 = 9,
	MED_A_MAC = 10,
	MED_A_ONLINE = 11,
	MED_A_STATE = 12,
	MED_A_OWNER = 13,
	MED_A_TUNNEL_PORT = 14,
	MED_A_ENDPOINT = 15,
	MED_A_REASON = 16,
	MED_A_MEMBER = SHOAL_TLV_NESTED | 1,
	MED_A_NETWORK_INFO = SHOAL_TLV_NESTED | 2,
	MED_A_PEER = SHOAL_TLV_NESTED | 3,
};

/* Results of our own, beside enum mstore_result. */
enum {
	MED_E_NOT_LOGGED_IN = -100,
	MED_E_UNKNOWN_REQUEST = -101,
};

/* PEER_DOWN reasons. */
enum {
	MED_DOWN_NONE = 0,		/* close quietly */
	MED_DOWN_LOGOUT = 1,
	MED_DOWN_LOST = 2,
	MED_DOWN_UNSHARED = 3,
};

#define MED_DEFAULT_PORT 51800
#define MED_MAX_CONNS 20000
#define MED_MAX_ENDPOINTS 8
/* Requests are small; a bigger frame is refused from its length alone. */
#define MED_RECV_LIMIT 8192
#define MED_HELLO_TIMEOUT 10	/* handshake and first message, s */
#define MED_IDLE_TIMEOUT 270	/* three missed KEEPALIVEs, s */
#define MED_IPV6_PREFIX 64
#define MED_ONLINE_BUCKETS 4096

/* family 4 or 6, as on the wire (ENDPOINT). */
struct med_endpoint {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

struct conn {
	struct conn *prev, *next;	/* every connection */
	struct conn *hnext;		/* online chain, by client id */
	struct conn *dead_next;
	int fd;
	bool dead, want_out, logged_in, spoke;
	uint8_t down_reason;		/* what to tell peers when reaped */
	int64_t deadline;		/* CLOCK_MONOTONIC seconds */
	struct sockaddr_storage addr;
	struct shoal_channel ch;
	/* Valid while logged_in. */
	struct mstore_client client;
	uint16_t tunnel_port;
	unsigned int n_endpoints;
	struct med_endpoint ep[MED_MAX_ENDPOINTS];
};

struct server {
	int epfd, listen_fd, timer_fd, signal_fd;
	uint8_t priv[32], pub[32];
	struct mstore *store;
	unsigned int pool_prefix;
	struct conn *conns;
	unsigned int n_conns, max_conns;
	struct conn *online[MED_ONLINE_BUCKETS];
	struct conn *dead;		/* closed after the current batch */
	/* Replies and events apart: an event never clobbers a reply. */
	uint8_t reply[SHOAL_TLV_MAX_MSG];
	uint8_t event[SHOAL_TLV_MAX_MSG];
};

/* server.c */
int server_open(struct server *srv, const struct sockaddr *addr,
		socklen_t addr_len);
int server_run(struct server *srv);
void server_close(struct server *srv);
int64_t server_now(void);
/* Queues a message built in buf and writes what the socket takes. */
void conn_send(struct server *srv, struct conn *c, const uint8_t *buf,
	       int len);
/* Closes c after the current batch, telling its peers reason. */
void conn_kill(struct server *srv, struct conn *c, uint8_t reason);
/* The live logged-in connection of a client, or NULL. */
struct conn *online_find(struct server *srv, int64_t id);
void online_add(struct server *srv, struct conn *c);
void online_remove(struct server *srv, struct conn *c);

/* requests.c: one decrypted message from c. */
void request_handle(struct server *srv, struct conn *c, const uint8_t *msg,
		    size_t len);

/* presence.c */
/* IPV4, IPV6 (with their prefix lengths) and MAC of a client. */
void med_put_addrs(struct shoal_tlv_writer *w,
		   const struct mstore_client *cl, unsigned int pool_prefix);

struct peerset {
	struct mstore_client *v;
	size_t n;
};

/* The active peers of client id: 0, or -1 (then empty). */
int peerset_get(struct server *srv, int64_t id, struct peerset *ps);
void peerset_free(struct peerset *ps);
/*
 * c came online (or reconnected): c gets PEER_UP for each online peer, and
 * with announce, each online peer gets PEER_UP for c.
 */
void presence_login(struct server *srv, struct conn *c, bool announce);
/* Each online peer of c gets PEER_DOWN for c. */
void presence_down(struct server *srv, struct conn *c, uint8_t reason);
/*
 * Client id's peers went from before to after: PEER_UP for new pairs and
 * PEER_DOWN reason 3 for lost ones, to id and (with both) to the other
 * side, wherever both are online.
 */
void presence_changed(struct server *srv, int64_t id,
		      const struct peerset *before,
		      const struct peerset *after, bool both);

#endif
