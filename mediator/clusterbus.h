/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_CLUSTERBUS_H
#define SHOAL_MEDIATOR_CLUSTERBUS_H

/*
 * clusterbus.c: the messages instances of a cluster send each other over
 * PostgreSQL's NOTIFY (docs/cluster.md, "The bus"): a TLV message of
 * lib/tlv.h with the attributes below, in base64, so that it is text,
 * and at most CLUSTER_BUS_MAX characters (NOTIFY takes less than 8000).
 * Nothing here touches the network or the database: encode and decode.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgram.h"
#include "mediator.h"
#include "medmsg.h"
#include "mstore.h"

#define CLUSTER_BUS_MAX 7900

enum cluster_bus_type {
	CB_ONLINE = 1,		/* a client is announced on INSTANCE */
	CB_OFFLINE = 2,		/* it went: PEER_DOWN REASON */
	CB_NAT = 3,		/* its NAT changed: PEER_NAT */
	CB_BEAT = 4,		/* INSTANCE lives: ADVERTISE, LOAD, STARTED */
	CB_GONE = 5,		/* INSTANCE stopped: settle its clients */
	CB_CHANGED = 6,		/* CLIENT's peers changed: ADDED, LOST */
	CB_DELIVER = 7,		/* MESSAGE, to CLIENT where it is online */
};

enum cluster_bus_attr {
	CB_A_INSTANCE = 1,	/* text: the sender */
	CB_A_CLIENT = 2,	/* be64 id */
	CB_A_KEY = 3,		/* 32 bytes */
	CB_A_NICK = 4,		/* text */
	CB_A_IPV4 = 5,		/* 4 bytes */
	CB_A_IPV6 = 6,		/* 16 bytes */
	CB_A_MAC = 7,		/* 6 bytes */
	CB_A_FIRST = 8,		/* ENDPOINT: public, or TCP source + port */
	CB_A_ENDPOINT = 9,	/* ENDPOINT: a LAN candidate, repeated */
	CB_A_NAT = 10,		/* 3 bytes, as MED_A_NAT */
	CB_A_LAN = 11,		/* 4 bytes: its IPv4 source address */
	CB_A_REASON = 12,	/* u8 PEER_DOWN reason */
	CB_A_ADVERTISE = 13,	/* text HOST:PORT */
	CB_A_LOAD = 14,		/* be32 clients online */
	CB_A_STARTED = 15,	/* be64 unix ms */
	CB_A_BOTH = 16,		/* empty: the other sides hear it too */
	CB_A_ADDED = 17,	/* be64 id of a new peer, repeated */
	CB_A_LOST = 18,		/* be64 id and 32-byte key, repeated */
	CB_A_MESSAGE = 19,	/* a mediator event (RELAY only, today) */
	CB_A_RUN = 20,		/* be64: the sender's start, unix ms */
	CB_A_SEQ = 21,		/* be64: its messages' count in this run */
};

/*
 * A cluster's messages are sealed (XSalsa20-Poly1305, crypto_secretbox)
 * with a key only the instances have, derived from the server's private
 * key they share (cluster_bus_key): anyone who can connect to the
 * database can LISTEN and NOTIFY, and must neither read nor forge them.
 * RUN and SEQ, inside the seal, let a receiver refuse a replay.
 */
#define CLUSTER_BUS_KEY_LEN 32

/* Pairs in one CB_CHANGED; more go in several. */
#define CLUSTER_CHANGE_MAX 64

/* A pair that shares no network any more: the other side. */
struct med_peer_ref {
	int64_t id;
	uint8_t key[MSTORE_KEY_LEN];
};

/* What PEER_UP says of a client, wherever it is online. */
struct med_peer_info {
	struct mstore_client client;
	bool has_first;
	struct med_endpoint first;
	unsigned int n_endpoints;
	struct med_endpoint ep[MED_MAX_ENDPOINTS];
	struct shoal_nat nat;
	/* Its source's IPv4 address: peers behind it get link-local ones. */
	bool has_lan;
	uint8_t lan[4];
};

struct cluster_msg {
	uint8_t type;			/* enum cluster_bus_type */
	char instance[MED_INSTANCE_NAME_MAX + 1];
	int64_t client;
	struct med_peer_info info;	/* CB_ONLINE */
	uint8_t key[MSTORE_KEY_LEN];	/* CB_ONLINE, CB_OFFLINE */
	uint8_t reason;			/* CB_OFFLINE */
	struct shoal_nat nat;		/* CB_NAT */
	char advertise[MED_ADVERTISE_MAX + 1];	/* CB_BEAT */
	uint32_t load;			/* CB_BEAT */
	int64_t started;		/* CB_BEAT, CB_GONE */
	bool both;			/* CB_CHANGED (CLIENT, KEY too) */
	size_t n_added, n_lost;
	int64_t added[CLUSTER_CHANGE_MAX];
	struct med_peer_ref lost[CLUSTER_CHANGE_MAX];
	/* CB_DELIVER: a whole mediator message, checked to be an event. */
	uint16_t msg_len;
	uint8_t msg[512];
	int64_t run;			/* CB_A_RUN, 0: none */
	uint64_t seq;			/* CB_A_SEQ */
};

/* 1..MED_INSTANCE_NAME_MAX of [A-Za-z0-9._-]. */
bool cluster_name_ok(const char *name);
/* The bus key of the server with private key priv. */
void cluster_bus_key(uint8_t key[CLUSTER_BUS_KEY_LEN], const uint8_t priv[32]);
/*
 * The text of m into out (size >= CLUSTER_BUS_MAX + 1), sealed with key
 * (NULL: not sealed, for the tests of the format): 0, or -1.
 */
int cluster_bus_encode(const struct cluster_msg *m, const uint8_t *key,
		       char *out, size_t size);
/*
 * Text from the bus into *m, opened with key (NULL: not sealed): 0, or
 * -1 (not base64, not sealed with key, not a message, a required
 * attribute missing or malformed).  Whatever it says is checked as
 * strictly as a client's request: a database is no trusted party.
 */
int cluster_bus_decode(const char *text, const uint8_t *key,
		       struct cluster_msg *m);

#endif
