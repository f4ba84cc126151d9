// SPDX-License-Identifier: MIT
/* The PCP MAP codec (lib/pcp.h, RFC 6887 sections 7 and 11). */
#include <stdbool.h>
#include <string.h>

#include "be.h"
#include "pcp.h"

static const uint8_t v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

void pcp_addr_from_v4(uint8_t out[16], const uint8_t v4[4])
{
	memcpy(out, v4_mapped, sizeof(v4_mapped));
	memcpy(out + 12, v4, 4);
}

int pcp_addr_to_v4(uint8_t v4[4], const uint8_t in[16])
{
	if (memcmp(in, v4_mapped, sizeof(v4_mapped)))
		return -1;
	memcpy(v4, in + 12, 4);
	return 0;
}

/*
 * The MAP body is laid out alike both ways: nonce, protocol, 3 reserved
 * bytes, internal port, external port, external address.
 */
enum {
	MAP_NONCE = 0,
	MAP_PROTOCOL = 12,
	MAP_INTERNAL_PORT = 16,
	MAP_EXTERNAL_PORT = 18,
	MAP_EXTERNAL_ADDR = 20,
};

size_t pcp_map_request(uint8_t out[PCP_MAP_MSG_LEN],
		       const uint8_t client_addr[16],
		       const struct pcp_map *req)
{
	uint8_t *map = out + PCP_HDR_LEN;

	memset(out, 0, PCP_MAP_MSG_LEN);
	out[0] = PCP_VERSION;
	out[1] = PCP_OP_MAP;
	shoal_put_be32(out + 4, req->lifetime);
	memcpy(out + 8, client_addr, 16);
	memcpy(map + MAP_NONCE, req->nonce, PCP_NONCE_LEN);
	map[MAP_PROTOCOL] = req->protocol;
	shoal_put_be16(map + MAP_INTERNAL_PORT, req->internal_port);
	shoal_put_be16(map + MAP_EXTERNAL_PORT, req->external_port);
	memcpy(map + MAP_EXTERNAL_ADDR, req->external_addr, 16);
	return PCP_MAP_MSG_LEN;
}

/* Each option: code, reserved, length, data padded to 4 bytes. */
static int skip_options(const uint8_t *p, size_t left)
{
	size_t len;

	while (left) {
		if (left < 4)
			return PCP_E_OPTION;
		len = shoal_get_be16(p + 2);
		len = (len + 3) & ~(size_t)3;
		if (len > left - 4)
			return PCP_E_OPTION;
		p += 4 + len;
		left -= 4 + len;
	}
	return 0;
}

int pcp_map_response(const uint8_t *buf, size_t len,
		     const struct pcp_map *req, struct pcp_map *resp)
{
	const uint8_t *map = buf + PCP_HDR_LEN;
	uint8_t v4[4];
	bool want_v4;
	int result, rc;

	memset(resp, 0, sizeof(*resp));
	/* A NAT-PMP server answers a PCP request in its own, shorter form. */
	if (len >= 1 && buf[0] != PCP_VERSION)
		return PCP_E_VERSION;
	if (len < PCP_MAP_MSG_LEN || len > PCP_MAX_MSG || len % 4)
		return PCP_E_LENGTH;
	if (!(buf[1] & PCP_RESPONSE_BIT))
		return PCP_E_NOT_RESPONSE;
	if ((buf[1] & ~PCP_RESPONSE_BIT) != PCP_OP_MAP)
		return PCP_E_OPCODE;
	if (memcmp(map + MAP_NONCE, req->nonce, PCP_NONCE_LEN))
		return PCP_E_NONCE;
	rc = skip_options(buf + PCP_MAP_MSG_LEN, len - PCP_MAP_MSG_LEN);
	if (rc < 0)
		return rc;
	result = buf[3];
	resp->lifetime = shoal_get_be32(buf + 4);
	memcpy(resp->nonce, req->nonce, PCP_NONCE_LEN);
	/* A refusal says how long it stands; the rest of it means nothing. */
	if (result != PCP_SUCCESS)
		return result;
	resp->protocol = map[MAP_PROTOCOL];
	resp->internal_port = shoal_get_be16(map + MAP_INTERNAL_PORT);
	resp->external_port = shoal_get_be16(map + MAP_EXTERNAL_PORT);
	memcpy(resp->external_addr, map + MAP_EXTERNAL_ADDR, 16);
	if (resp->protocol != req->protocol)
		return PCP_E_PROTOCOL;
	if (resp->internal_port != req->internal_port)
		return PCP_E_PORT;
	/* A deletion's answer may or may not name what was deleted. */
	if (!req->lifetime)
		return resp->lifetime ? PCP_E_LIFETIME : 0;
	if (!resp->lifetime)
		return PCP_E_LIFETIME;
	if (!resp->external_port)
		return PCP_E_PORT;
	want_v4 = !pcp_addr_to_v4(v4, req->external_addr);
	if (want_v4 != !pcp_addr_to_v4(v4, resp->external_addr))
		return PCP_E_ADDRESS;
	return 0;
}

const char *pcp_result_name(int result)
{
	static const char *const names[] = {
		"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED",
		"MALFORMED_REQUEST", "UNSUPP_OPCODE", "UNSUPP_OPTION",
		"MALFORMED_OPTION", "NETWORK_FAILURE", "NO_RESOURCES",
		"UNSUPP_PROTOCOL", "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL",
		"ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
	};

	if (result < 0 || result >= (int)(sizeof(names) / sizeof(names[0])))
		return NULL;
	return names[result];
}
