// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for lib/medmsg.c, the mediator messages' codecs beside
 * the TLV layer: today the ENDPOINT attribute (docs/protocol.md,
 * "Mediator messages": family 4 or 6, the address, a u16 port), which
 * LOGIN, PEER, RELAY and PROBE carry.  shoal_med_endpoint_get() is held
 * to a model of that format written here, and what it accepts must come
 * back byte for byte from shoal_med_endpoint_put(); put() of anything
 * must be read back by get() as it was.
 *
 * Input: a selector byte, then
 *   0: an attribute's value, given to get() as is;
 *   1: family, 16 address bytes and a port, given to put();
 *   2: a whole mediator message (TLV), every ENDPOINT and PROBE in it,
 *      nests included, read as in 0 (as mclient.c and the mediator do),
 *      and every NAT (3 bytes, docs/protocol.md) read and written back.
 */
#include <string.h>

#include "fuzz.h"
#include "medmsg.h"

enum { OP_GET, OP_PUT, OP_MESSAGE, OP_COUNT };

static void check_get(const uint8_t *v, size_t len)
{
	uint8_t family = 0xee, addr[16], out[MED_ENDPOINT_MAX];
	static const uint8_t zero[12];
	uint16_t port = 0xeeee;
	size_t alen = len == 7 ? 4 : 16;
	bool model;
	int ret;

	memset(addr, 0xee, sizeof(addr));
	model = ((len == 7 && v[0] == 4) || (len == 19 && v[0] == 6)) &&
		(v[len - 2] || v[len - 1]);
	ret = shoal_med_endpoint_get(v, len, &family, addr, &port);
	check((ret == 0) == model);
	if (!model)
		return;
	check(family == v[0] && port == (v[len - 2] << 8 | v[len - 1]) &&
	      !memcmp(addr, v + 1, alen));
	/* An IPv4 address is zero-padded to 16 bytes. */
	if (alen == 4)
		check(!memcmp(addr + 4, zero, 12));
	check(shoal_med_endpoint_put(out, family, addr, port) == len &&
	      !memcmp(out, v, len));
}

static void check_put(const uint8_t *in, size_t len)
{
	uint8_t out[MED_ENDPOINT_MAX + 1], family, addr[16];
	uint16_t port;
	size_t n;

	if (len < 19)
		return;
	/* A canary after the longest encoding: put() writes no further. */
	out[MED_ENDPOINT_MAX] = 0x5a;
	n = shoal_med_endpoint_put(out, in[0], in + 1,
				   (uint16_t)(in[17] << 8 | in[18]));
	check(out[MED_ENDPOINT_MAX] == 0x5a);
	/* Family 4 is IPv4; anything else is written as IPv6. */
	check(n == (in[0] == 4 ? 7u : 19u) && out[0] == (in[0] == 4 ? 4 : 6));
	if (!in[17] && !in[18]) {
		check(shoal_med_endpoint_get(out, n, &family, addr, &port) < 0);
		return;
	}
	check(shoal_med_endpoint_get(out, n, &family, addr, &port) == 0 &&
	      family == out[0] && port == (in[17] << 8 | in[18]) &&
	      !memcmp(addr, in + 1, n - 3));
}

/* NAT: 3 bytes or refused; what it reads is written back as read. */
static void check_nat(const uint8_t *v, size_t len)
{
	struct shoal_nat n, m;
	uint8_t out[MED_NAT_LEN];

	if (shoal_med_nat_get(v, len, &n) < 0) {
		check(len != MED_NAT_LEN && !n.known);
		return;
	}
	check(len == MED_NAT_LEN && n.known &&
	      n.mapping <= SHOAL_NAT_ADDRESS_PORT &&
	      n.filtering <= SHOAL_NAT_ADDRESS_PORT);
	shoal_med_nat_put(out, &n);
	check(shoal_med_nat_get(out, sizeof(out), &m) == 0 &&
	      !memcmp(&m, &n, sizeof(m)));
	shoal_nat_plan(&n, &m, v[0] & 1);
}

static void walk(struct shoal_tlv_iter *it, unsigned int depth)
{
	struct shoal_tlv_attr a;
	struct shoal_tlv_iter in;

	while (shoal_tlv_next(it, &a)) {
		if (a.nested) {
			check(depth < SHOAL_TLV_MAX_DEPTH);
			shoal_tlv_iter_nested(&in, &a);
			walk(&in, depth + 1);
		} else if (a.type == MED_A_ENDPOINT || a.type == MED_A_PROBE) {
			check_get(a.value, a.len);
		} else if (a.type == MED_A_NAT) {
			check_nat(a.value, a.len);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_msg m;

	if (size < 1)
		return 0;
	switch (data[0] % OP_COUNT) {
	case OP_GET:
		if (size > 1)
			check_get(data + 1, size - 1);
		break;
	case OP_PUT:
		check_put(data + 1, size - 1);
		break;
	case OP_MESSAGE:
		if (shoal_tlv_parse(&m, data + 1, size - 1) < 0)
			break;
		shoal_tlv_iter_msg(&it, &m);
		walk(&it, 0);
		break;
	}
	return 0;
}
