/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDMSG_H
#define SHOAL_MEDMSG_H

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
	/* shoal-relay's, to the mediator (docs/protocol.md, "Relay servers"). */
	MED_RELAY_REGISTER = 20,
	MED_RELAY_LOAD = 21,
	MED_RELAY_ALLOCATED = 22,
	MED_RELAY_HOLDS = 23,
	MED_RELAY_GONE = 24,
	MED_PEER_UP = 64,
	MED_PEER_DOWN = 65,
	MED_RELAY_EVENT = 66,
	/* The mediator's, to a shoal-relay. */
	MED_RELAY_ALLOCATE = 70,
	MED_RELAY_FREE = 71,
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
	MED_A_RELAY_PORT = 24,
	MED_A_RELAY_LOAD = 25,		/* allocations be32, bytes be64 */
	MED_A_MEMBER = SHOAL_TLV_NESTED | 1,
	MED_A_NETWORK_INFO = SHOAL_TLV_NESTED | 2,
	MED_A_PEER = SHOAL_TLV_NESTED | 3,
	MED_A_RELAY_SIDE = SHOAL_TLV_NESTED | 26,
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
 * In a NETWORKS reply: the member of network called nick (both compared
 * ignoring case, as the mediator does).  Returns how many members have
 * that nickname (0, 1, or more: the mediator makes them unique, so more
 * is its fault) and copies the first one's PUBLIC_KEY to key.
 */
unsigned int shoal_med_member_key(const struct shoal_tlv_msg *msg,
				  const char *network, const char *nick,
				  uint8_t key[32]);

#define MED_RELAY_LOAD_LEN 12
#define MED_DEFAULT_PORT 51800
#define MED_KEEPALIVE_INTERVAL 90	/* s */

#endif
