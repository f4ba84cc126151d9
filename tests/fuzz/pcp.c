// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the PCP MAP codec (lib/pcp.c): a datagram from
 * the LAN, checked against a request.  The input's first byte picks the
 * request (keep a mapping, or delete it), the rest is the datagram, with
 * the request's nonce written into it half of the time so that the
 * checks past the nonce are reached.  What is accepted must agree with
 * the bytes and the request; nothing is read past the datagram (ASan).
 */
#include <string.h>

#include "be.h"
#include "fuzz.h"
#include "pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t any_v4[4];
	struct pcp_map req, resp;
	uint8_t *buf, v4[4];
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	memset(req.nonce, 0x5a, sizeof(req.nonce));
	req.protocol = PCP_PROTO_UDP;
	req.internal_port = 51820;
	req.lifetime = data[0] & 1 ? 0 : 7200;
	pcp_addr_from_v4(req.external_addr, any_v4);
	len = size - 1;
	/* Its own copy: ASan then sees a read one byte past the end. */
	buf = malloc(len ? len : 1);
	check(buf);
	memcpy(buf, data + 1, len);
	if (data[0] & 2 && len >= PCP_MAP_MSG_LEN)
		memcpy(buf + PCP_HDR_LEN, req.nonce, PCP_NONCE_LEN);

	rc = pcp_map_response(buf, len, &req, &resp);
	if (rc >= 0) {
		check(len >= PCP_MAP_MSG_LEN && len <= PCP_MAX_MSG &&
		      len % 4 == 0);
		check(buf[0] == PCP_VERSION &&
		      buf[1] == (PCP_RESPONSE_BIT | PCP_OP_MAP));
		check(!memcmp(buf + PCP_HDR_LEN, req.nonce, PCP_NONCE_LEN));
		check(rc == buf[3]);
		check(resp.lifetime == shoal_get_be32(buf + 4));
	}
	if (rc == 0) {
		check(resp.protocol == req.protocol &&
		      resp.internal_port == req.internal_port);
		if (req.lifetime)
			check(resp.lifetime && resp.external_port &&
			      !pcp_addr_to_v4(v4, resp.external_addr));
		else
			check(!resp.lifetime);
	}
	if (rc > 0)
		check(!resp.external_port);
	free(buf);
	return 0;
}
