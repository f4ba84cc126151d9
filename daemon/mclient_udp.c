// SPDX-License-Identifier: MIT
/*
 * UDP through the tunnel port: BINDINGs to the mediator (the mapping
 * peers will meet), RELAY_BINDs to a relay, and what comes back of both
 * from the datapath (on_mediator_udp).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mclient_int.h"
#include "medmsg.h"
#include "tlv.h"

/* A number that grows from one call to the next: realtime ns. */
static uint64_t next_counter(uint64_t last)
{
	struct timespec ts;
	uint64_t counter;

	clock_gettime(CLOCK_REALTIME, &ts);
	counter = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return counter > last ? counter : last + 1;
}

void mc_send_binding(struct mclient *m, const struct shoal_endpoint *to,
		     uint8_t flags, const uint8_t *txid, bool with_token)
{
	struct shoal_ctl_binding b = { .flags = flags };
	uint8_t msg[SHOAL_CTL_BINDING_LEN];
	bool token = with_token && m->has_token;
	int len;

	memcpy(b.txid, txid, SHOAL_CTL_TXID_LEN);
	if (token) {
		memcpy(b.token, m->token, SHOAL_CTL_TOKEN_LEN);
		b.counter = m->token_counter = next_counter(m->token_counter);
	}
	len = shoal_ctl_write_binding(msg, sizeof(msg), &b,
				      token ? m->token_key : NULL);
	if (len > 0 && to->len)
		m->d->dp->ops->send_control(m->d->dp, to, msg, (size_t)len);
}

/*
 * The relay wants to see that we receive where our RELAY_BIND came from:
 * the same RELAY_BIND again, at once, with its cookie.  Only an answer to
 * the last one we sent, from our relay, under its key, is one.
 */
static int on_relay_challenge(struct mclient *m,
			      const struct shoal_dp_event *ev, uint32_t id,
			      uint64_t counter, const uint8_t *cookie)
{
	struct shoald *d = m->d;
	size_t i;

	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (!p->has_relay || p->relay_id != id ||
		    p->relay_counter != counter ||
		    !shoal_endpoint_equal(&p->relay, &ev->from) ||
		    !shoal_ctl_relay_verify(ev->payload, ev->len,
					    p->relay_key))
			continue;
		mc_send_relay_bind(m, p, shoald_now(), cookie);
		return 0;
	}
	return -1;
}

static void nc_record(struct mclient *m, const struct shoal_ctl_binding_reply *r)
{
	int i;

	for (i = 0; i < NC_COUNT; i++) {
		if (m->nc_got[i] ||
		    sodium_memcmp(r->txid, m->nc_txid[i], SHOAL_CTL_TXID_LEN))
			continue;
		m->nc_got[i] = true;
		m->nc_flags[i] = r->flags;
		m->nc_mapped[i] = r->mapped;
	}
}

/*
 * ForwardedPort is announced at the public address the mediator sees:
 * once that is known, or has moved, the peers hear of it.
 */
static void forwarded_moved(struct mclient *m)
{
	struct shoal_endpoint ep = m->public_ep;

	if (!m->d->forwarded_port || !m->logged_in || !ep.len)
		return;
	mc_with_port(&ep, m->d->forwarded_port);
	if (!shoal_endpoint_equal(&ep, &m->forwarded_ep))
		mc_send_login(m);
}

int mc_on_udp(struct shoald *d, const struct shoal_dp_event *ev)
{
	struct mclient *m = mc(d);
	struct shoal_ctl_binding_reply r;
	uint8_t cookie[SHOAL_CTL_RELAY_COOKIE_LEN];
	uint64_t counter;
	uint32_t id;
	size_t i;

	if (shoal_ctl_parse_binding_reply(&r, ev->payload, ev->len) == 0) {
		/*
		 * Only the mediator answers BINDINGs (P, P + 1, its probe
		 * address): one who saw a transaction id must not set what
		 * we think our public endpoint is.
		 */
		if (!mc_at_server(m, &ev->from) &&
		    !mc_same_host(&m->probe, &ev->from))
			return -1;
		if (m->nc_running)
			nc_record(m, &r);
		if (!sodium_memcmp(r.txid, m->bind_txid, SHOAL_CTL_TXID_LEN)) {
			if ((r.flags & SHOAL_CTL_BIND_KNOWN) && !m->udp_ok) {
				m->udp_ok = true;
				m->next_binding = shoald_now() +
						  BINDING_REFRESH;
			}
			m->public_ep = r.mapped;
			forwarded_moved(m);
		}
		return 0;
	}
	if (shoal_ctl_parse_relay(ev->payload, ev->len,
				  SHOAL_CTL_RELAY_CHALLENGE, &id, &counter,
				  cookie) == 0)
		return on_relay_challenge(m, ev, id, counter, cookie);
	if (shoal_ctl_parse_relay(ev->payload, ev->len, SHOAL_CTL_RELAY_BOUND,
				  &id, &counter, NULL) < 0)
		return -1;
	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (!p->has_relay || p->relay_id != id ||
		    p->relay_counter != counter ||
		    !shoal_endpoint_equal(&p->relay, &ev->from) ||
		    !shoal_ctl_relay_verify(ev->payload, ev->len,
					    p->relay_key))
			continue;
		p->relay_last_bound = shoald_now();
		p->next_relay_bind = p->relay_last_bound + RELAY_BIND_REFRESH;
		if (p->relay_bound)
			return 0;
		p->relay_bound = true;
		if (d->verbose)
			fprintf(stderr, "shoald: relay bound for %s\n",
				p->nickname);
		if (!p->online || p->relay_switch) {
			/* The other side may bind a moment later: knock on. */
			p->endpoint = p->relay;
			p->knock_until = p->relay_last_bound + PUNCH_TIME;
			shoald_initiate(d, p, p->relay_last_bound,
					SHOALD_TO_ALL);
		}
		p->relay_switch = false;
		return 0;
	}
	return -1;
}

/*
 * A RELAY_BIND, with the cookie of the relay's RELAY_CHALLENGE when it
 * answers one (else none: the relay knows where we are bound).
 */
void mc_send_relay_bind(struct mclient *m, struct shoald_peer *p,
			double now, const uint8_t *cookie)
{
	uint8_t msg[SHOAL_CTL_RELAY_BIND_LEN];
	int len;

	p->relay_counter = next_counter(p->relay_counter);
	len = shoal_ctl_write_relay(msg, sizeof(msg), SHOAL_CTL_RELAY_BIND,
				    p->relay_id, p->relay_counter, cookie,
				    p->relay_key);
	if (len > 0)
		m->d->dp->ops->send_control(m->d->dp, &p->relay, msg,
					    (size_t)len);
	p->next_relay_bind = now + (p->relay_bound ? RELAY_BIND_REFRESH :
				    RELAY_BIND_RETRY);
}

void mc_ask_relay(struct mclient *m, struct shoald_peer *p, double now)
{
	struct shoal_tlv_writer w;
	uint8_t buf[128];
	unsigned int i;

	p->relay_asked = now;
	for (i = 0; i < MAX_PENDING && m->pending[i].used; i++)
		;
	if (i == MAX_PENDING)
		return;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_RELAY, 0,
			      ++m->next_id);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, p->public_key, 32);
	if (!mc_send_msg(m, &w))
		return;
	m->pending[i] = (struct pending){
		.used = true, .kind = PK_INTERNAL, .id = m->next_id, .fd = -1,
		.deadline = now + REQUEST_TIMEOUT,
	};
	if (m->d->verbose)
		fprintf(stderr, "shoald: no direct path to %s yet: asking for "
			"a relay\n", p->nickname);
}
