// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for cluster_bus_decode() (mediator/clusterbus.c): a
 * NOTIFY payload of the cluster's bus, which one mediator reads from the
 * database (docs/cluster.md, "The bus").  Input: the payload's text.
 * What is taken must encode again and decode to the same message.
 */
#include <string.h>

#include "fuzz.h"
#include "mediator/clusterbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[CLUSTER_BUS_MAX + 2], again[CLUSTER_BUS_MAX + 1];
	static struct cluster_msg m, m2;

	if (size > CLUSTER_BUS_MAX + 1)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cluster_bus_decode(text, NULL, &m) < 0)
		return 0;
	check(cluster_name_ok(m.instance));
	check(m.info.n_endpoints <= MED_MAX_ENDPOINTS);
	check(m.n_added <= CLUSTER_CHANGE_MAX && m.n_lost <= CLUSTER_CHANGE_MAX);
	check(cluster_bus_encode(&m, NULL, again, sizeof(again)) == 0);
	check(cluster_bus_decode(again, NULL, &m2) == 0);
	check(m2.type == m.type && !strcmp(m2.instance, m.instance) &&
	      m2.client == m.client && m2.n_added == m.n_added &&
	      m2.n_lost == m.n_lost && m2.started == m.started &&
	      m2.load == m.load && !strcmp(m2.advertise, m.advertise));
	check(!memcmp(m2.added, m.added, m.n_added * sizeof(m.added[0])));
	check(!memcmp(m2.lost, m.lost, m.n_lost * sizeof(m.lost[0])));
	check(!memcmp(&m2.info.client, &m.info.client,
		      sizeof(m.info.client)));
	check(m2.msg_len == m.msg_len && !memcmp(m2.msg, m.msg, m.msg_len));
	return 0;
}
