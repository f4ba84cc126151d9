// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for relay_side_get() (mediator/relay_core.c): the
 * RELAY_SIDE nest of RELAY_ALLOCATE (which shoal-relay reads from the
 * mediator) and RELAY_HOLDS (which the mediator reads from a relay),
 * docs/protocol.md "Relay servers".  Input: a whole mediator message;
 * every RELAY_SIDE in it is read.  What is taken must have the exact
 * lengths, and must come back the same through relay_side_put() and
 * relay_side_get() again.
 */
#include <string.h>

#include "fuzz.h"
#include "medmsg.h"
#include "tlv.h"
#include "mediator/relay_core.h"

static void check_side(const struct shoal_tlv_attr *nest)
{
	struct relay_side s, again;
	struct shoal_tlv_attr a, b;
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	uint8_t buf[256];
	int n;

	memset(&s, 0xee, sizeof(s));
	if (relay_side_get(nest, &s) < 0)
		return;
	check(shoal_tlv_find_nested(nest, MED_A_PUBLIC_KEY, &a) &&
	      a.len == 32 && !memcmp(a.value, s.pubkey, 32));
	check(shoal_tlv_find_nested(nest, MED_A_RELAY_KEY, &a) &&
	      a.len == MED_RELAY_KEY_LEN &&
	      !memcmp(a.value, s.key, MED_RELAY_KEY_LEN));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_RELAY_ALLOCATE, 0, 0);
	relay_side_put(&w, &s);
	n = shoal_tlv_finish(&w);
	check(n > 0 && shoal_tlv_parse(&m, buf, (size_t)n) == 0);
	check(shoal_tlv_find(&m, MED_A_RELAY_SIDE, &b));
	memset(&again, 0x11, sizeof(again));
	check(relay_side_get(&b, &again) == 0);
	check(!memcmp(again.pubkey, s.pubkey, 32) && again.id == s.id &&
	      !memcmp(again.key, s.key, MED_RELAY_KEY_LEN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_tlv_msg m;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;

	if (shoal_tlv_parse(&m, data, size) < 0)
		return 0;
	shoal_tlv_iter_msg(&it, &m);
	while (shoal_tlv_next(&it, &a))
		if (a.type == MED_A_RELAY_SIDE)
			check_side(&a);
	return 0;
}
