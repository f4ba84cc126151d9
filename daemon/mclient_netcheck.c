// SPDX-License-Identifier: MIT
/*
 * netcheck: the NAT tests of `shoal netcheck` (RFC 5780), BINDINGs
 * from the tunnel port asking for answers from elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mclient_int.h"

#define NETCHECK_FILTER_TIME 1.2
#define NETCHECK_TIME 2.5
#define NETCHECK_KEEP 150.0

/*
 * Filtering first: a reply from an address or port we have sent to gets
 * through any NAT, so those tests must come before the mapping tests
 * contact the alternate port and the probe address.  The holes that
 * opens live for minutes, so a result is kept NETCHECK_KEEP seconds
 * rather than measured again through them.
 */
void mc_nc_send(struct mclient *m, double now)
{
	struct shoal_endpoint alt = m->server;

	if (now < m->nc_mapping_from) {
		if (!m->nc_got[NC_FILTER_BASE])
			mc_send_binding(m, &m->server, 0,
					m->nc_txid[NC_FILTER_BASE], false);
		if (!m->nc_got[NC_FILTER_ADDR] && m->probe.len)
			mc_send_binding(m, &m->server,
					SHOAL_CTL_BIND_OTHER_ADDR,
					m->nc_txid[NC_FILTER_ADDR], false);
		if (!m->nc_got[NC_FILTER_PORT])
			mc_send_binding(m, &m->server,
					SHOAL_CTL_BIND_OTHER_PORT,
					m->nc_txid[NC_FILTER_PORT], false);
		return;
	}
	mc_with_port(&alt, (uint16_t)(mc_port_of(&alt) + 1));
	if (!m->nc_got[NC_MAP_ALT])
		mc_send_binding(m, &alt, 0, m->nc_txid[NC_MAP_ALT], false);
	if (!m->nc_got[NC_MAP_PROBE] && m->probe.len)
		mc_send_binding(m, &m->probe, 0, m->nc_txid[NC_MAP_PROBE],
				false);
}

void mc_nc_start(struct mclient *m, int client_fd)
{
	double now = shoald_now();
	int i;

	if (m->nc_running) {
		mc_answer(client_fd, E_BAD_REQUEST, "a netcheck is running",
			  NULL);
		return;
	}
	if (m->nc_result && now - m->nc_done < NETCHECK_KEEP) {
		mc_answer(client_fd, 0, NULL, m->nc_result);
		return;
	}
	memset(m->nc_got, 0, sizeof(m->nc_got));
	for (i = 0; i < NC_COUNT; i++)
		randombytes_buf(m->nc_txid[i], SHOAL_CTL_TXID_LEN);
	m->nc_running = true;
	m->nc_client = client_fd;
	m->nc_mapping_from = now + NETCHECK_FILTER_TIME;
	m->nc_end = now + NETCHECK_TIME;
	m->nc_next_send = now + NETCHECK_RESEND;
	mc_nc_send(m, now);
}

/* Answered from where it was asked to answer from. */
static bool nc_moved(const struct mclient *m, enum nc_test t)
{
	return m->nc_got[t] && !(m->nc_flags[t] & SHOAL_CTL_BIND_UNCHANGED);
}

void mc_nc_finish(struct mclient *m)
{
	const char *mapping = "unknown", *filtering = "unknown";
	char *body = NULL;
	size_t body_len = 0;
	FILE *f;

	if (m->nc_got[NC_FILTER_BASE]) {
		const struct shoal_endpoint *p = &m->nc_mapped[NC_FILTER_BASE];

		if (m->nc_got[NC_MAP_PROBE] &&
		    shoal_endpoint_equal(p, &m->nc_mapped[NC_MAP_PROBE]))
			mapping = "endpoint-independent";
		else if (m->nc_got[NC_MAP_ALT] &&
			 !shoal_endpoint_equal(p, &m->nc_mapped[NC_MAP_ALT]))
			mapping = "address-and-port-dependent";
		else if (m->nc_got[NC_MAP_PROBE] && m->nc_got[NC_MAP_ALT])
			mapping = "address-dependent";
	}
	if (m->nc_got[NC_FILTER_BASE]) {
		if (nc_moved(m, NC_FILTER_ADDR))
			filtering = "endpoint-independent";
		else if (!m->probe.len)
			filtering = nc_moved(m, NC_FILTER_PORT) ?
				    "unknown" : "address-and-port-dependent";
		else if (nc_moved(m, NC_FILTER_PORT))
			filtering = "address-dependent";
		else
			filtering = "address-and-port-dependent";
	}
	f = open_memstream(&body, &body_len);
	if (f) {
		fprintf(f, "{\"public_endpoint\": ");
		mc_ep_json(f, m->nc_got[NC_FILTER_BASE] ?
			   &m->nc_mapped[NC_FILTER_BASE] : &m->public_ep);
		fprintf(f, ", \"mapping\": \"%s\", \"filtering\": \"%s\", "
			"\"udp\": %s, \"probe\": ", mapping, filtering,
			m->nc_got[NC_FILTER_BASE] ? "true" : "false");
		mc_ep_json(f, &m->probe);
		fprintf(f, ", \"port_mapping\": ");
		shoald_port_mapping_json(m->d, f);
		fprintf(f, "}\n");
		fclose(f);
	}
	mc_answer(m->nc_client, 0, NULL, body);
	free(m->nc_result);
	m->nc_result = body;
	m->nc_done = shoald_now();
	m->nc_client = -1;
	m->nc_running = false;
}
