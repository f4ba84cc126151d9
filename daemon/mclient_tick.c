// SPDX-License-Identifier: MIT
/*
 * The loop's tick: keep-alives, reconnecting, stale peers after a new
 * login, punching and relays falling back and forth, the BINDING refresh
 * and the timeouts of requests and netcheck.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "mclient_int.h"
#include "medmsg.h"
#include "tlv.h"

/* A mediator that misses this many KEEPALIVE answers is gone. */
#define SILENCE_LIMIT (MED_KEEPALIVE_INTERVAL + 45.0)
#define BINDING_RETRY 1.0
#define STALE_AFTER 15.0
#define STALE_ONLINE_AFTER (RECONNECT_MAX * 1.5 + 15.0)
#define RELAY_AFTER 5.0
#define PUNCH_INTERVAL 0.5
#define RELAY_RETRY 30.0
#define DIRECT_RETRY 60.0
#define RELAY_RECHECK 5.0

/*
 * A peer the mediator did not announce again after our login is gone:
 * an offline one after STALE_AFTER; one whose tunnel still works (on a
 * shoal-relay, or direct) only once the peer itself had time to come
 * back to a restarted mediator (its reconnect backoff), so that a
 * mediator's restart tears no live tunnel down.
 */
static void sweep_stale(struct mclient *m, double now)
{
	struct shoald *d = m->d;
	bool left = false;
	size_t i = 0;

	while (i < d->n_peers) {
		struct shoald_peer *p = &d->peers[i];

		if (p->from_mediator && p->stale &&
		    (!p->online || now - m->login_time > STALE_ONLINE_AFTER)) {
			mc_forget_peer(m, p);
			continue;
		}
		left |= p->from_mediator && p->stale;
		i++;
	}
	m->swept = !left;
}

static void send_keepalive(struct mclient *m, double now)
{
	struct shoal_tlv_writer w;
	uint8_t buf[32];

	m->next_keepalive = now + MED_KEEPALIVE_INTERVAL;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_KEEPALIVE, 0,
			      ++m->next_id);
	mc_send_msg(m, &w);
}

/* No RELAY_BOUND for a check, or for two refreshes: the relay is gone. */
static bool relay_dead(struct shoald_peer *p, double now)
{
	if (p->relay_check && now > p->relay_check) {
		p->relay_check = 0;
		if (p->relay_last_bound < now - 3.0 - RELAY_BIND_RETRY * 3)
			return true;
	}
	return p->relay_bound &&
	       now - p->relay_last_bound > 2 * RELAY_BIND_REFRESH + 5.0;
}

static void drop_relay(struct mclient *m, struct shoald_peer *p, double now)
{
	bool on_it = shoal_endpoint_equal(&p->endpoint, &p->relay);

	if (m->d->verbose)
		fprintf(stderr, "shoald: the relay for %s is gone\n",
			p->nickname);
	p->has_relay = p->relay_bound = false;
	sodium_memzero(p->relay_key, sizeof(p->relay_key));
	/* Ask for another one at once. */
	p->relay_asked = 0;
	p->up_since = now - RELAY_AFTER - 1.0;
	/* A session that ran over it is dead too: let liveness say so now. */
	if (on_it)
		p->last_alive = 0;
}

static void tick_peers(struct mclient *m, double now)
{
	struct shoald *d = m->d;
	size_t i;

	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (!p->from_mediator)
			continue;
		/*
		 * No direct path can work while UDP is blocked here: the
		 * relay (over TCP) at once, not after the punching.
		 */
		if (m->logged_in && !p->online && p->up_since &&
		    (now - p->up_since > RELAY_AFTER ||
		     mc_udp_blocked(m, now)) && !p->has_relay &&
		    (!p->relay_asked || now - p->relay_asked > RELAY_RETRY))
			mc_ask_relay(m, p, now);
		/*
		 * A relay (a shoal-relay's) outlives the mediator: it stays
		 * bound, and carries the tunnel, while the mediator is away.
		 */
		/*
		 * A peer gone silent on a relay that was bound: is the relay
		 * still there (a shoal-relay may die)?  Asked at most every
		 * RELAY_RECHECK s, answered within 3.
		 */
		if (p->has_relay && p->relay_bound && !p->online &&
		    !p->relay_check &&
		    now - p->relay_last_bound > RELAY_RECHECK) {
			p->next_relay_bind = now;
			p->relay_check = now + 3.0;
		}
		/*
		 * A relay offered before we knew UDP is blocked here: over
		 * TCP from now on (its RELAY_BINDs have gone nowhere).
		 */
		if (p->has_relay && !p->relay_bound &&
		    !mclient_peer_tcp(d, p) && mc_udp_blocked(m, now)) {
			struct shoal_endpoint relay = p->relay;

			if (mc_tcp_relay(m, p, &relay))
				p->next_relay_bind = now;
		}
		if (p->has_relay && now >= p->next_relay_bind)
			mc_send_relay_bind(m, p, now, NULL);
		if (p->has_relay && relay_dead(p, now))
			drop_relay(m, p, now);
		if (m->fd < 0)
			continue;
		if (p->up_since && shoald_birthday_queued(d, p))
			mc_nat_plan(m, p, now);
		/*
		 * Punching: the peer's first INITs may beat its PEER_UP to
		 * us and be refused (and a relay drops what comes before the
		 * other side binds), so knock again, quickly, for a while.
		 */
		if (!p->online && now < p->knock_until &&
		    now - p->last_knock >= PUNCH_INTERVAL)
			shoald_knock(d, p, now);
		/* On the relay: once a minute, see if a direct path works. */
		if (p->online && p->relay_bound && p->n_candidates &&
		    !strcmp(shoald_peer_path(p), "relay") &&
		    now >= p->next_direct_try) {
			if (p->next_direct_try) {
				shoald_initiate(d, p, now, SHOALD_TO_DIRECT);
				/* And birthday probing again, where it fits. */
				mc_nat_plan(m, p, now);
			}
			p->next_direct_try = now + DIRECT_RETRY;
		}
	}
}

/*
 * Logged out of a mediator that is away: a shoal-relay outlives it, so
 * the bindings there are refreshed as ever (a relay frees a side that
 * stops, and relay_dead would drop it at the next login).
 */
static void keep_relays(struct mclient *m, double now)
{
	struct shoald *d = m->d;
	size_t i;

	if (!m->configured)
		return;
	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		if (p->from_mediator && p->has_relay && p->relay_bound &&
		    now >= p->next_relay_bind)
			mc_send_relay_bind(m, p, now, NULL);
	}
}

void mclient_tick(struct shoald *d, double now)
{
	struct mclient *m = mc(d);
	unsigned int i;

	if (!m)
		return;
	mc_tcp_tick(m, now);
	if (m->configured && m->fd < 0 && now >= m->next_connect)
		mc_start_connect(m);
	if (m->login_fd >= 0 && m->logged_in &&
	    (m->udp_ok || now >= m->login_deadline))
		mc_answer_login(m);
	if (m->login_fd >= 0 && now >= m->login_deadline) {
		mc_answer(m->login_fd, m->fd < 0 ? E_UNREACHABLE : E_TIMEOUT,
			  m->fd < 0 ? "cannot reach the mediator" :
			  "the mediator did not answer in time", NULL);
		m->login_fd = -1;
	}
	for (i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &m->pending[i];

		if (p->used && now >= p->deadline) {
			mc_answer(p->fd, E_TIMEOUT,
				  "the mediator did not answer in time", NULL);
			p->used = false;
		}
	}
	if (m->nc_running) {
		if (now >= m->nc_end) {
			mc_nc_finish(m);
		} else if (now >= m->nc_next_send) {
			mc_nc_send(m, now);
			m->nc_next_send = now + NETCHECK_RESEND;
		}
	}
	if (m->fd >= 0 && !m->logged_in && now - m->last_rx > REQUEST_TIMEOUT)
		mc_disconnect(m, "no answer to the login");
	if (!m->logged_in) {
		keep_relays(m, now);
		return;
	}
	if (now - m->last_rx > SILENCE_LIMIT) {
		mc_disconnect(m, "silent for too long");
		return;
	}
	if (now >= m->next_keepalive)
		send_keepalive(m, now);
	if (m->has_token && now >= m->next_binding) {
		randombytes_buf(m->bind_txid, sizeof(m->bind_txid));
		mc_send_binding(m, &m->server, 0, m->bind_txid, true);
		m->next_binding = now + (m->udp_ok ? BINDING_REFRESH :
					 BINDING_RETRY);
	}
	if (!m->swept && now - m->login_time > STALE_AFTER)
		sweep_stale(m, now);
	mc_nc_auto(m, now);
	tick_peers(m, now);
	mc_names_tick(m, now);
}
