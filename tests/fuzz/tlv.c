// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control channel's TLV codec (lib/tlv.c).
 * Whatever shoal_tlv_parse() accepts must walk cleanly, agree with every
 * getter, and re-encode through the writer to exactly the input: the
 * parser and the writer then describe one format, with one encoding per
 * message.  Any disagreement abort()s, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tlv.h"

static void check_getters(const struct shoal_tlv_attr *a)
{
	static char str[SHOAL_TLV_MAX_MSG + 1];
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	if (shoal_tlv_get_u8(a, &v8))
		check(!a->nested && a->len == 1 && v8 == a->value[0]);
	if (shoal_tlv_get_u16(a, &v16))
		check(!a->nested && a->len == 2 &&
		      v16 == (a->value[0] << 8 | a->value[1]));
	if (shoal_tlv_get_u32(a, &v32))
		check(!a->nested && a->len == 4 &&
		      v32 >> 24 == a->value[0] && (v32 & 0xff) == a->value[3]);
	if (shoal_tlv_get_u64(a, &v64))
		check(!a->nested && a->len == 8 &&
		      v64 >> 56 == a->value[0] && (v64 & 0xff) == a->value[7]);
	if (shoal_tlv_get_str(a, str, sizeof(str)))
		check(!a->nested && a->len && strlen(str) == a->len &&
		      !memcmp(str, a->value, a->len));
	else
		check(str[0] == '\0');
	/* One byte short of room is always refused, and never overrun. */
	if (a->len)
		check(!shoal_tlv_get_str(a, str, a->len));
}

/* Walks [lo, hi) as the iterator yields it and writes the same tree. */
static void copy(struct shoal_tlv_writer *w, struct shoal_tlv_iter *it,
		 const uint8_t *lo, const uint8_t *hi, unsigned int depth)
{
	struct shoal_tlv_attr a, found, first;
	struct shoal_tlv_iter in;
	const uint8_t *next = lo;

	while (shoal_tlv_next(it, &a)) {
		/* Attributes follow each other with no gap and no overlap. */
		check(a.value == next + SHOAL_TLV_ATTR_HDR_LEN &&
		      a.len <= hi - a.value);
		next = a.value + a.len;
		check(a.nested == !!(a.type & SHOAL_TLV_NESTED));
		check_getters(&a);
		if (!a.nested) {
			shoal_tlv_put(w, a.type, a.value, a.len);
			continue;
		}
		check(depth < SHOAL_TLV_MAX_DEPTH);
		/* find_nested() sees the first of each type inside. */
		shoal_tlv_iter_nested(&in, &a);
		if (shoal_tlv_next(&in, &found))
			check(shoal_tlv_find_nested(&a, found.type, &first) &&
			      first.value == found.value);
		shoal_tlv_nest_start(w, a.type);
		shoal_tlv_iter_nested(&in, &a);
		copy(w, &in, a.value, a.value + a.len, depth + 1);
		shoal_tlv_nest_end(w);
	}
	check(next == hi && it->left == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SHOAL_TLV_MAX_MSG];
	struct shoal_tlv_writer w;
	struct shoal_tlv_attr first, a;
	struct shoal_tlv_iter it;
	struct shoal_tlv_msg m;
	int len;

	if (shoal_tlv_parse(&m, data, size)) {
		check(!m.attrs && !m.attrs_len && !m.type);
		return 0;
	}
	check(m.version == SHOAL_TLV_VERSION && m.type &&
	      !(m.flags & ~SHOAL_TLV_F_ALL) &&
	      m.attrs == data + SHOAL_TLV_HDR_LEN &&
	      m.attrs_len == size - SHOAL_TLV_HDR_LEN);

	shoal_tlv_iter_msg(&it, &m);
	if (shoal_tlv_next(&it, &a))
		check(shoal_tlv_find(&m, a.type, &first) &&
		      first.value == a.value);

	shoal_tlv_writer_init(&w, out, sizeof(out), m.type, m.flags,
			      m.request_id);
	shoal_tlv_iter_msg(&it, &m);
	copy(&w, &it, m.attrs, m.attrs + m.attrs_len, 0);
	len = shoal_tlv_finish(&w);
	check(len >= 0 && (size_t)len == size && !memcmp(out, data, size));
	return 0;
}
