/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_PCP_H
#define SHOAL_PCP_H

/*
 * The Port Control Protocol's MAP opcode (RFC 6887), as much as shoald's
 * port mapping needs: a MAP request to encode, and a MAP response to
 * check field by field.  A response comes from whatever answers on the
 * LAN, so everything in it is checked against the request it claims to
 * answer (docs/security.md, "Port mapping").
 */

#include <stddef.h>
#include <stdint.h>

#define PCP_SERVER_PORT 5351
#define PCP_VERSION 2
#define PCP_OP_MAP 1
#define PCP_RESPONSE_BIT 0x80
#define PCP_HDR_LEN 24
#define PCP_MAP_LEN 36
#define PCP_MAP_MSG_LEN (PCP_HDR_LEN + PCP_MAP_LEN)
#define PCP_MAX_MSG 1100	/* RFC 6887 section 7 */
#define PCP_NONCE_LEN 12
#define PCP_PROTO_UDP 17

/* RFC 6887 section 7.4's result codes (what a server may refuse with). */
enum {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* Why a datagram is not a response to our request. */
enum {
	PCP_E_LENGTH = -1,	/* too short, too long, or not 4-aligned */
	PCP_E_VERSION = -2,	/* not PCP version 2 (a NAT-PMP server) */
	PCP_E_NOT_RESPONSE = -3,
	PCP_E_OPCODE = -4,	/* not MAP */
	PCP_E_NONCE = -5,	/* not our request's */
	PCP_E_PROTOCOL = -6,
	PCP_E_PORT = -7,	/* another internal port, or external 0 */
	PCP_E_ADDRESS = -8,	/* not the family we asked for */
	PCP_E_LIFETIME = -9,	/* 0 for a mapping we asked to keep */
	PCP_E_OPTION = -10,	/* an option that runs past the end */
};

/*
 * A MAP: in a request, lifetime, external_port and external_addr are
 * what we suggest (lifetime 0: delete it); in a response, what the
 * server assigned.  Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d.
 */
struct pcp_map {
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;
	uint8_t external_addr[16];
	uint32_t lifetime;
};

/* An IPv4 address as PCP carries it, and back (0, or -1: not IPv4). */
void pcp_addr_from_v4(uint8_t out[16], const uint8_t v4[4]);
int pcp_addr_to_v4(uint8_t v4[4], const uint8_t in[16]);

/* Writes the MAP request from client_addr (ours, 16 bytes); its length. */
size_t pcp_map_request(uint8_t out[PCP_MAP_MSG_LEN],
		       const uint8_t client_addr[16],
		       const struct pcp_map *req);

/*
 * Checks buf as the response to req and fills *resp.  0: a mapping (or
 * its deletion, for a request of lifetime 0); > 0: the server's result
 * code (a refusal, RFC 6887 7.4), *resp then holds its lifetime, how
 * long the refusal stands; < 0: PCP_E_*, not a response to req at all.
 * Options after the MAP are walked, each within the datagram, and
 * skipped.
 */
int pcp_map_response(const uint8_t *buf, size_t len,
		     const struct pcp_map *req, struct pcp_map *resp);

/* A result code's name ("NO_RESOURCES"), or NULL for one RFC 6887 lacks. */
const char *pcp_result_name(int result);

#endif
