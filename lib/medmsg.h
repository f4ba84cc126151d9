/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDMSG_H
#define SHOAL_MEDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlv.h"

/*
 * The mediator's message types, attributes and result codes
 * (docs/protocol.md, "Mediator messages"), for both of its ends.
 */

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
	MED_RELAY = 14,
	MED_NAT = 15,
	/* shoal-relay's, to the mediator (docs/protocol.md, "Relay servers"). */
	MED_RELAY_REGISTER = 20,
	MED_RELAY_LOAD = 21,
	MED_RELAY_ALLOCATED = 22,
	MED_RELAY_HOLDS = 23,
	MED_RELAY_GONE = 24,
	MED_PEER_UP = 64,
	MED_PEER_DOWN = 65,
	MED_RELAY_EVENT = 66,
	MED_PEER_NAT = 67,
	/* The mediator's, to a shoal-relay. */
	MED_RELAY_ALLOCATE = 70,
	MED_RELAY_FREE = 71,
	/* A cluster's instances changed (docs/cluster.md): INSTANCE each. */
	MED_INSTANCES = 72,
};

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
	MED_A_UDP_TOKEN = 17,
	MED_A_PROBE = 18,
	MED_A_RELAY_ID = 19,
	MED_A_RELAY_KEY = 20,
	MED_A_TRUNCATED = 21,
	MED_A_NAT = 22,
	MED_A_RELAY_PORT = 24,
	MED_A_RELAY_LOAD = 25,		/* allocations be32, bytes be64 */
	/* 16 bytes: the mediator's seal on an allocation it made (RELAY_ALLOCATE, RELAY_HOLDS). */
	MED_A_RELAY_TAG = 27,
	/*
	 * A cluster of mediators (docs/cluster.md).  INSTANCE_NAME: 1 to
	 * MED_INSTANCE_NAME_MAX of [A-Za-z0-9._-]; ADVERTISE: "HOST:PORT"
	 * text, at most MED_ADVERTISE_MAX bytes; INSTANCE_LOAD: clients
	 * online, be32; NO_REDIRECT: empty, in a LOGIN that was redirected
	 * or failed over already.
	 */
	MED_A_INSTANCE_NAME = 32,
	MED_A_ADVERTISE = 34,
	MED_A_INSTANCE_LOAD = 35,
	MED_A_NO_REDIRECT = 36,
	/*
	 * LOGIN: the NICKNAME is a default (the host name), not the user's
	 * word: a known client keeps its own, a new one gets it made unique
	 * (NAME-2, NAME-3 ...).  The reply's NICKNAME says which.
	 */
	MED_A_NICK_DEFAULT = 40,
	MED_A_MEMBER = SHOAL_TLV_NESTED | 1,
	MED_A_NETWORK_INFO = SHOAL_TLV_NESTED | 2,
	MED_A_PEER = SHOAL_TLV_NESTED | 3,
	MED_A_RELAY_SIDE = SHOAL_TLV_NESTED | 26,
	/* INSTANCE_NAME, ADVERTISE, INSTANCE_LOAD: one instance. */
	MED_A_INSTANCE = SHOAL_TLV_NESTED | 33,
};

/* Results of the mediator's own, beside enum mstore_result. */
enum {
	MED_E_NOT_LOGGED_IN = -100,
	MED_E_UNKNOWN_REQUEST = -101,
	MED_E_RELAY_FULL = -102,	/* no relay port free */
	MED_E_NOT_PEER = -103,		/* offline, or not a peer */
	MED_E_PASSWORD_LIMIT = -104,	/* too many password attempts */
	MED_E_RELAY_QUOTA = -105,	/* the client holds its relays */
	MED_E_NEW_CLIENTS = -106,	/* its address made too many */
	MED_E_NOT_RELAY = -107,		/* no such relay key, allocation */
	/* LOGIN: log in at the INSTANCE in this reply instead. */
	MED_E_REDIRECT = -108,
	/* The database cannot be reached: try again later. */
	MED_E_DATABASE = -109,
};

/* PEER_DOWN reasons. */
enum {
	MED_DOWN_NONE = 0,		/* close quietly */
	MED_DOWN_LOGOUT = 1,
	MED_DOWN_LOST = 2,
	MED_DOWN_UNSHARED = 3,
};

/*
 * The ENDPOINT attribute: family (4 or 6), the address (4 or 16 bytes),
 * the port, big-endian.  put() writes 7 or 19 bytes and returns how many;
 * get() takes exactly those, port 0 refused, the address zero-padded to
 * 16 bytes: 0, or -1.
 */
#define MED_ENDPOINT_MAX 19
size_t shoal_med_endpoint_put(uint8_t out[MED_ENDPOINT_MAX], uint8_t family,
			      const uint8_t *addr, uint16_t port);
int shoal_med_endpoint_get(const uint8_t *v, size_t len, uint8_t *family,
			   uint8_t addr[16], uint16_t *port);

/*
 * The NAT attribute: what a client's netcheck found (docs/protocol.md,
 * "No waiting for what cannot work"): mapping and filtering (RFC 4787),
 * then flags.  Exactly 3 bytes; a kind past the ones known reads as
 * unknown, flags not known are ignored.
 */
enum shoal_nat_kind {
	SHOAL_NAT_UNKNOWN = 0,
	SHOAL_NAT_INDEPENDENT = 1,	/* endpoint-independent */
	SHOAL_NAT_ADDRESS = 2,		/* address-dependent */
	SHOAL_NAT_ADDRESS_PORT = 3,	/* address-and-port-dependent */
};

#define MED_NAT_LEN 3
#define MED_NAT_UDP_BLOCKED 0x01	/* no BINDING came back */

struct shoal_nat {
	bool known;			/* the client said (else: as today) */
	uint8_t mapping, filtering;	/* enum shoal_nat_kind */
	bool udp_blocked;
};

void shoal_med_nat_put(uint8_t out[MED_NAT_LEN], const struct shoal_nat *n);
/* 0, or -1 (not 3 bytes; n is then unknown). */
int shoal_med_nat_get(const uint8_t *v, size_t len, struct shoal_nat *n);
/* "endpoint-independent" and so on, as netcheck prints them; and back. */
const char *shoal_nat_kind_name(uint8_t kind);
uint8_t shoal_nat_kind_of(const char *name);

/*
 * What to do about a peer, from both sides' NAT (docs/protocol.md):
 * punch as always; ask the relay at once as well (UDP blocked on either
 * side, or both mappings depend on the destination and the peer has no
 * public candidate besides its NAT's own, so no hole can be punched);
 * or birthday probing, as the side with the endpoint-dependent mapping
 * (HARD: many sockets) or the one with an endpoint-independent mapping
 * and address-and-port-dependent filtering (EASY: probes random ports).
 * peer_extra_public: the peer announced a public candidate besides the
 * first (a port mapping or forward).
 */
enum shoal_nat_plan {
	SHOAL_NAT_PUNCH,
	SHOAL_NAT_RELAY_NOW,
	SHOAL_NAT_BIRTHDAY_HARD,
	SHOAL_NAT_BIRTHDAY_EASY,
};

enum shoal_nat_plan shoal_nat_plan(const struct shoal_nat *mine,
				   const struct shoal_nat *peer,
				   bool peer_extra_public);

/*
 * In a NETWORKS reply: the member of network called nick (both compared
 * ignoring case, as the mediator does).  Returns how many members have
 * that nickname (0, 1, or more: the mediator makes them unique, so more
 * is its fault) and copies the first one's PUBLIC_KEY to key.
 */
unsigned int shoal_med_member_key(const struct shoal_tlv_msg *msg,
				  const char *network, const char *nick,
				  uint8_t key[32]);

#define MED_INSTANCE_NAME_MAX 32
#define MED_ADVERTISE_MAX 255

/*
 * One instance of a cluster: the INSTANCE nest (docs/protocol.md,
 * "A cluster of mediators") of a LOGIN reply, a REDIRECT or an
 * INSTANCES event.  The advertised address is text as the operator gave
 * it (--advertise); what it must be to be connected to is the client's
 * business (shoal_config_valid_hostport), not the codec's.
 */
struct shoal_med_instance {
	char name[MED_INSTANCE_NAME_MAX + 1];
	char advertise[MED_ADVERTISE_MAX + 1];
	uint32_t load;			/* clients online */
	bool has_load;
};

/* 1 to MED_INSTANCE_NAME_MAX of A-Z a-z 0-9 . _ - */
bool shoal_med_instance_name_ok(const char *name);
/*
 * Writes in as one INSTANCE nest (INSTANCE_NAME, ADVERTISE and, if
 * has_load, INSTANCE_LOAD).  A name or address get() would refuse fails
 * the writer instead (shoal_tlv_finish() says -1): 0, or -1 then.
 */
int shoal_med_instance_put(struct shoal_tlv_writer *w,
			   const struct shoal_med_instance *in);
/*
 * Reads an INSTANCE nest: 0, or -1 with *in zeroed if a is not that nest,
 * or the name is missing or not a name, ADVERTISE is missing, empty,
 * longer than MED_ADVERTISE_MAX or not text (shoal_tlv_get_str), or
 * INSTANCE_LOAD is there but not 4 bytes.  A missing load reads as
 * unknown (has_load false); the first of a repeated attribute counts.
 */
int shoal_med_instance_get(const struct shoal_tlv_attr *a,
			   struct shoal_med_instance *in);
#define MED_RELAY_LOAD_LEN 12
#define MED_DEFAULT_PORT 51800
#define MED_KEEPALIVE_INTERVAL 90	/* s */

#endif
