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
#include "medmsg.h"
#include "tlv.h"

#define NETCHECK_FILTER_TIME 1.2
#define NETCHECK_TIME 2.5
#define NETCHECK_KEEP 150.0
/* As long as `shoal login` waits for the BINDING. */
#define NETCHECK_AUTO_WAIT 3.0

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

	/* Ours, at login: the asker gets its answer. */
	if (m->nc_running && m->nc_client < 0) {
		m->nc_client = client_fd;
		return;
	}
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

/*
 * Once a login, when its BINDING came back (or could not): our own
 * netcheck, whose result the mediator passes on to our peers.  A result
 * still fresh is told as it is (it went in the LOGIN already).
 */
void mc_nc_auto(struct mclient *m, double now)
{
	if (m->nc_auto || m->nc_running || !m->logged_in ||
	    (!m->udp_ok && now < m->login_time + NETCHECK_AUTO_WAIT))
		return;
	m->nc_auto = true;
	if (m->nc_result && now - m->nc_done < NETCHECK_KEEP)
		return;
	mc_nc_start(m, -1);
}

/* Answered from where it was asked to answer from. */
static bool nc_moved(const struct mclient *m, enum nc_test t)
{
	return m->nc_got[t] && !(m->nc_flags[t] & SHOAL_CTL_BIND_UNCHANGED);
}

/*
 * What a peer's NAT and ours allow (shoal_nat_plan): the relay at once
 * where no hole can be punched, birthday probing where only that can
 * punch one.  For a peer not online, or online through the relay (the
 * once-a-minute direct try); punching goes on as ever.
 */
void mc_nat_plan(struct mclient *m, struct shoald_peer *p, double now)
{
	bool extra = false;
	unsigned int i;

	if (!p->from_mediator || !m->logged_in ||
	    (p->online && strcmp(shoald_peer_path(p), "relay")))
		return;
	/* A public candidate besides its NAT's own: a mapping, a forward. */
	for (i = 0; i < p->n_candidates; i++) {
		struct shoal_endpoint *c = &p->candidates[i];

		if (c->sa.sa_family == AF_INET &&
		    !shoal_endpoint_equal(c, &p->public_ep) &&
		    shoal_addr_kind(4, (const uint8_t *)&c->in.sin_addr) ==
		    SHOAL_ADDR_GLOBAL)
			extra = true;
	}
	/*
	 * Or one of ours: the peer reaches us there whatever our NAT,
	 * so neither side may give up on a direct path.
	 */
	for (i = 0; i < SHOALD_MAX_OWN_CANDIDATES; i++)
		if (m->d->own_candidates[i].len)
			extra = true;
	if (m->d->forwarded_port)
		extra = true;
	switch (shoal_nat_plan(&m->nat, &p->nat, extra)) {
	case SHOAL_NAT_RELAY_NOW:
		if (!p->has_relay && !p->relay_asked) {
			if (m->d->verbose)
				fprintf(stderr, "shoald: no direct path to %s "
					"can work (NAT): the relay at once\n",
					p->nickname);
			mc_ask_relay(m, p, now);
		}
		break;
	case SHOAL_NAT_BIRTHDAY_HARD:
		shoald_birthday_start(m->d, p, true, now);
		break;
	case SHOAL_NAT_BIRTHDAY_EASY:
		shoald_birthday_start(m->d, p, false, now);
		break;
	case SHOAL_NAT_PUNCH:
		break;
	}
}

/* Tells the mediator our NAT (request NAT) when it changed. */
static void nat_tell(struct mclient *m)
{
	struct shoal_tlv_writer w;
	uint8_t buf[64], v[MED_NAT_LEN];
	unsigned int i;

	if (!m->logged_in || !memcmp(&m->nat, &m->nat_told, sizeof(m->nat)))
		return;
	for (i = 0; i < MAX_PENDING && m->pending[i].used; i++)
		;
	if (i == MAX_PENDING)
		return;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_NAT, 0, ++m->next_id);
	shoal_med_nat_put(v, &m->nat);
	shoal_tlv_put(&w, MED_A_NAT, v, sizeof(v));
	if (!mc_send_msg(m, &w))
		return;
	m->pending[i] = (struct pending){
		.used = true, .kind = PK_INTERNAL, .id = m->next_id, .fd = -1,
		.deadline = shoald_now() + REQUEST_TIMEOUT,
	};
	m->nat_told = m->nat;
}

static void nat_found(struct mclient *m, const char *mapping,
		      const char *filtering, bool udp_blocked)
{
	double now = shoald_now();
	size_t i;

	m->nat.known = true;
	m->nat.mapping = shoal_nat_kind_of(mapping);
	m->nat.filtering = shoal_nat_kind_of(filtering);
	m->nat.udp_blocked = udp_blocked;
	nat_tell(m);
	for (i = 0; i < m->d->n_peers; i++)
		mc_nat_plan(m, &m->d->peers[i], now);
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
	nat_found(m, mapping, filtering, !m->nc_got[NC_FILTER_BASE]);
	free(m->nc_result);
	m->nc_result = body;
	m->nc_done = shoald_now();
	m->nc_client = -1;
	m->nc_running = false;
}
