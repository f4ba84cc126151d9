// SPDX-License-Identifier: MIT
/*
 * lib/pcp.c: the MAP request's bytes, and every way a datagram from the
 * LAN fails to be the answer to it.
 */
#include <string.h>

#include "kselftest_harness.h"

#include "be.h"
#include "pcp.h"

static const uint8_t client_v4[4] = { 192, 168, 1, 10 };
static const uint8_t public_v4[4] = { 198, 51, 100, 7 };

static void request(struct pcp_map *req, uint32_t lifetime)
{
	static const uint8_t any_v4[4];

	memset(req, 0, sizeof(*req));
	memset(req->nonce, 0xa5, sizeof(req->nonce));
	req->protocol = PCP_PROTO_UDP;
	req->internal_port = 51820;
	req->lifetime = lifetime;
	pcp_addr_from_v4(req->external_addr, any_v4);
}

/* The server's answer to req: success, 7200 s, 198.51.100.7:40000. */
static size_t answer(uint8_t *buf, const struct pcp_map *req)
{
	uint8_t client[16];

	pcp_addr_from_v4(client, client_v4);
	pcp_map_request(buf, client, req);
	buf[1] |= PCP_RESPONSE_BIT;
	shoal_put_be32(buf + 4, 7200);
	shoal_put_be32(buf + 8, 1234);		/* epoch */
	memset(buf + 12, 0, 12);
	shoal_put_be16(buf + PCP_HDR_LEN + 18, 40000);
	pcp_addr_from_v4(buf + PCP_HDR_LEN + 20, public_v4);
	return PCP_MAP_MSG_LEN;
}

TEST(request_layout)
{
	uint8_t buf[PCP_MAP_MSG_LEN], client[16], v4[4];
	struct pcp_map req;

	request(&req, 3600);
	req.external_port = 51820;
	pcp_addr_from_v4(client, client_v4);
	ASSERT_EQ((size_t)PCP_MAP_MSG_LEN, pcp_map_request(buf, client, &req));
	EXPECT_EQ(2, buf[0]);
	EXPECT_EQ(1, buf[1]);
	EXPECT_EQ(0, buf[2] | buf[3]);
	EXPECT_EQ(3600u, shoal_get_be32(buf + 4));
	EXPECT_EQ(0, memcmp(buf + 8, client, 16));
	EXPECT_EQ(0, memcmp(buf + 24, req.nonce, 12));
	EXPECT_EQ(17, buf[36]);
	EXPECT_EQ(0, buf[37] | buf[38] | buf[39]);
	EXPECT_EQ(51820, shoal_get_be16(buf + 40));
	EXPECT_EQ(51820, shoal_get_be16(buf + 42));
	EXPECT_EQ(0, pcp_addr_to_v4(v4, buf + 44));
	EXPECT_EQ(0, memcmp(v4, "\0\0\0\0", 4));
}

TEST(success)
{
	uint8_t buf[PCP_MAX_MSG], v4[4];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	ASSERT_EQ(0, pcp_map_response(buf, len, &req, &resp));
	EXPECT_EQ(7200u, resp.lifetime);
	EXPECT_EQ(40000, resp.external_port);
	EXPECT_EQ(51820, resp.internal_port);
	ASSERT_EQ(0, pcp_addr_to_v4(v4, resp.external_addr));
	EXPECT_EQ(0, memcmp(v4, public_v4, 4));
}

TEST(options_skipped)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	/* THIRD_PARTY-like option of 16 bytes, then one of 1 padded to 4. */
	memset(buf + len, 0, 28);
	buf[len] = 1;
	shoal_put_be16(buf + len + 2, 16);
	buf[len + 20] = 0x80;
	shoal_put_be16(buf + len + 22, 1);
	EXPECT_EQ(0, pcp_map_response(buf, len + 28, &req, &resp));
	EXPECT_EQ(40000, resp.external_port);
}

TEST(option_past_the_end)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	memset(buf + len, 0, 8);
	shoal_put_be16(buf + len + 2, 5);	/* padded to 8: 4 too many */
	EXPECT_EQ(PCP_E_OPTION, pcp_map_response(buf, len + 8, &req, &resp));
	/* A length that would wrap a size_t subtraction. */
	shoal_put_be16(buf + len + 2, 0xffff);
	EXPECT_EQ(PCP_E_OPTION, pcp_map_response(buf, len + 8, &req, &resp));
}

TEST(lengths)
{
	uint8_t buf[PCP_MAX_MSG + 8];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	EXPECT_EQ(PCP_E_LENGTH, pcp_map_response(buf, len - 4, &req, &resp));
	EXPECT_EQ(PCP_E_LENGTH, pcp_map_response(buf, len + 2, &req, &resp));
	EXPECT_EQ(PCP_E_LENGTH, pcp_map_response(buf, 0, &req, &resp));
	memset(buf + len, 0, sizeof(buf) - len);
	EXPECT_EQ(PCP_E_LENGTH,
		  pcp_map_response(buf, PCP_MAX_MSG + 4, &req, &resp));
}

TEST(version)
{
	/* What a NAT-PMP-only server answers: version 0, UNSUPP_VERSION. */
	static const uint8_t natpmp[8] = { 0, 0x80 | 1, 0, 1 };
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	EXPECT_EQ(PCP_E_VERSION,
		  pcp_map_response(natpmp, sizeof(natpmp), &req, &resp));
	len = answer(buf, &req);
	buf[0] = 1;
	EXPECT_EQ(PCP_E_VERSION, pcp_map_response(buf, len, &req, &resp));
}

TEST(not_a_response)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	buf[1] = PCP_OP_MAP;	/* our own request, reflected */
	EXPECT_EQ(PCP_E_NOT_RESPONSE, pcp_map_response(buf, len, &req, &resp));
	buf[1] = PCP_RESPONSE_BIT | 2;	/* PEER */
	EXPECT_EQ(PCP_E_OPCODE, pcp_map_response(buf, len, &req, &resp));
	buf[1] = PCP_RESPONSE_BIT;	/* ANNOUNCE */
	EXPECT_EQ(PCP_E_OPCODE, pcp_map_response(buf, len, &req, &resp));
}

TEST(nonce)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	buf[PCP_HDR_LEN + 11] ^= 1;
	EXPECT_EQ(PCP_E_NONCE, pcp_map_response(buf, len, &req, &resp));
	/* Even a refusal must be ours. */
	buf[3] = PCP_NOT_AUTHORIZED;
	EXPECT_EQ(PCP_E_NONCE, pcp_map_response(buf, len, &req, &resp));
}

TEST(result_codes)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;
	int code;

	request(&req, 3600);
	for (code = 1; code <= 255; code++) {
		len = answer(buf, &req);
		buf[3] = (uint8_t)code;
		shoal_put_be32(buf + 4, 30);
		ASSERT_EQ(code, pcp_map_response(buf, len, &req, &resp));
		EXPECT_EQ(30u, resp.lifetime);
		/* Nothing of a refusal's MAP is taken. */
		EXPECT_EQ(0, resp.external_port);
	}
	EXPECT_STREQ("NO_RESOURCES", pcp_result_name(PCP_NO_RESOURCES));
	EXPECT_STREQ("EXCESSIVE_REMOTE_PEERS", pcp_result_name(13));
	EXPECT_EQ(NULL, pcp_result_name(14));
	EXPECT_EQ(NULL, pcp_result_name(-1));
}

TEST(protocol_and_ports)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	buf[PCP_HDR_LEN + 12] = 6;	/* TCP */
	EXPECT_EQ(PCP_E_PROTOCOL, pcp_map_response(buf, len, &req, &resp));
	len = answer(buf, &req);
	shoal_put_be16(buf + PCP_HDR_LEN + 16, 51821);
	EXPECT_EQ(PCP_E_PORT, pcp_map_response(buf, len, &req, &resp));
	len = answer(buf, &req);
	shoal_put_be16(buf + PCP_HDR_LEN + 18, 0);
	EXPECT_EQ(PCP_E_PORT, pcp_map_response(buf, len, &req, &resp));
}

TEST(address_family)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	request(&req, 3600);
	len = answer(buf, &req);
	memset(buf + PCP_HDR_LEN + 20, 0x20, 16);	/* an IPv6 address */
	EXPECT_EQ(PCP_E_ADDRESS, pcp_map_response(buf, len, &req, &resp));
}

TEST(lifetime)
{
	uint8_t buf[PCP_MAX_MSG];
	struct pcp_map req, resp;
	size_t len;

	/* A mapping granted for no time at all is none. */
	request(&req, 3600);
	len = answer(buf, &req);
	shoal_put_be32(buf + 4, 0);
	EXPECT_EQ(PCP_E_LIFETIME, pcp_map_response(buf, len, &req, &resp));
	/* A deletion: answered with lifetime 0, external port or not. */
	request(&req, 0);
	len = answer(buf, &req);
	shoal_put_be32(buf + 4, 0);
	shoal_put_be16(buf + PCP_HDR_LEN + 18, 0);
	EXPECT_EQ(0, pcp_map_response(buf, len, &req, &resp));
	shoal_put_be32(buf + 4, 60);
	EXPECT_EQ(PCP_E_LIFETIME, pcp_map_response(buf, len, &req, &resp));
}

TEST_HARNESS_MAIN
