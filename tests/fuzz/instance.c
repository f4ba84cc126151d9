// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the INSTANCE nest of lib/medmsg.c (a cluster's
 * instance: name, advertised HOST:PORT, load), which shoald reads from
 * LOGIN replies, REDIRECTs and INSTANCES events of a mediator it does not
 * trust with more than where to connect.  The input is a whole mediator
 * message (TLV); every nest in it, at any depth, is given to
 * shoal_med_instance_get().  What it accepts must hold a valid name and a
 * non-empty address of text within the bounds, and must come back the
 * same through shoal_med_instance_put() and get() again; what it refuses
 * leaves the instance zeroed.
 */
#include <string.h>

#include "fuzz.h"
#include "medmsg.h"

static void check_instance(const struct shoal_tlv_attr *a)
{
	static const struct shoal_med_instance zero;
	struct shoal_med_instance in, again;
	struct shoal_tlv_writer w;
	struct shoal_tlv_msg m;
	struct shoal_tlv_attr b;
	struct shoal_tlv_iter it;
	uint8_t buf[1024];
	size_t n;
	int len;

	if (shoal_med_instance_get(a, &in) < 0) {
		check(!memcmp(&in, &zero, sizeof(in)));
		return;
	}
	check(a->type == MED_A_INSTANCE);
	check(shoal_med_instance_name_ok(in.name));
	n = strnlen(in.advertise, sizeof(in.advertise));
	check(n >= 1 && n <= MED_ADVERTISE_MAX);
	for (size_t i = 0; i < n; i++)
		check((unsigned char)in.advertise[i] >= 0x20 &&
		      in.advertise[i] != 0x7f);
	check(in.has_load || in.load == 0);
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_INSTANCES, 0, 1);
	check(shoal_med_instance_put(&w, &in) == 0);
	len = shoal_tlv_finish(&w);
	check(len > 0 && shoal_tlv_parse(&m, buf, (size_t)len) == 0);
	shoal_tlv_iter_msg(&it, &m);
	check(shoal_tlv_next(&it, &b));
	check(shoal_med_instance_get(&b, &again) == 0 &&
	      !memcmp(&again, &in, sizeof(in)));
}

static void walk(struct shoal_tlv_iter *it, unsigned int depth)
{
	struct shoal_tlv_attr a;
	struct shoal_tlv_iter in;

	while (shoal_tlv_next(it, &a)) {
		check_instance(&a);
		if (a.nested) {
			check(depth < SHOAL_TLV_MAX_DEPTH);
			shoal_tlv_iter_nested(&in, &a);
			walk(&in, depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_msg m;

	if (shoal_tlv_parse(&m, data, size) < 0)
		return 0;
	shoal_tlv_iter_msg(&it, &m);
	walk(&it, 0);
	return 0;
}
