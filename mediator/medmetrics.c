// SPDX-License-Identifier: MIT
/*
 * shoal-mediator's metrics (--metrics): see medmetrics.h.  Nothing here
 * is counted for the metrics alone but the LOGIN results; the rest is
 * read from what the server keeps anyway, when a scrape asks (walking
 * the connections and the relays: a few milliseconds at the most,
 * every few seconds).  Every family is written even when it is zero, so
 * that rate() has a start.
 */
#include <string.h>

#include "medmetrics.h"
#include "server.h"

#define P "shoal_mediator_"
/* How long the database's counts are shown before counting again. */
#define MEDMETRICS_COUNTS_MS 2000

static const char *const reason_names[MED_LR_COUNT] = {
	[MED_LR_BAD_NICK] = "bad_nick",
	[MED_LR_NICK_TAKEN] = "nick_taken",
	[MED_LR_NEW_CLIENTS] = "new_clients",
	[MED_LR_POOL_FULL] = "pool_full",
	[MED_LR_MALFORMED] = "malformed",
	[MED_LR_DATABASE] = "database",
	[MED_LR_REDIRECT] = "redirect",
	[MED_LR_BANNED] = "banned",
	[MED_LR_PASSWORD] = "password",
	[MED_LR_OTHER] = "other",
};

static enum med_login_reason reason_of(int rc)
{
	switch (rc) {
	case MSTORE_E_BAD_NICK:
		return MED_LR_BAD_NICK;
	case MSTORE_E_NICK_TAKEN:
		return MED_LR_NICK_TAKEN;
	case MED_E_NEW_CLIENTS:
		return MED_LR_NEW_CLIENTS;
	case MSTORE_E_POOL_FULL:
		return MED_LR_POOL_FULL;
	case MSTORE_E_INVALID:
		return MED_LR_MALFORMED;
	/* The database failed, or cannot be reached (a cluster's). */
	case MSTORE_E_IO:
	case MED_E_DATABASE:
		return MED_LR_DATABASE;
	case MED_E_REDIRECT:
		return MED_LR_REDIRECT;
	case MSTORE_E_BANNED:
		return MED_LR_BANNED;
	case MSTORE_E_PASSWORD:
	case MED_E_PASSWORD_LIMIT:
		return MED_LR_PASSWORD;
	default:
		return MED_LR_OTHER;
	}
}

const char *medmetrics_login_reason(int rc)
{
	return reason_names[reason_of(rc)];
}

void medmetrics_login(struct server *srv, int rc)
{
	if (rc >= 0)
		srv->logins.ok++;
	else
		srv->logins.refused[reason_of(rc)]++;
}

static void clients(struct server *srv, struct metrics_text *t)
{
	unsigned int online = 0, i;
	int64_t known = 0, networks = 0;
	struct conn *c;

	for (c = srv->conns; c; c = c->next)
		if (c->logged_in && !c->dead)
			online++;
	metrics_one(t, P "clients_online", METRICS_GAUGE,
		    "Clients logged in on this instance.", online);
	metrics_one(t, P "connections", METRICS_GAUGE,
		    "TCP connections open (clients, relays, handshakes).",
		    srv->n_conns);
	metrics_one(t, P "logins_total", METRICS_COUNTER,
		    "LOGIN requests that succeeded.", srv->logins.ok);
	metrics_family(t, P "login_refusals_total", METRICS_COUNTER,
		       "LOGIN requests refused, by the result's short name.");
	for (i = 0; i < MED_LR_COUNT; i++)
		metrics_u64(t, P "login_refusals_total", "reason",
			    reason_names[i], srv->logins.refused[i]);
	if (!srv->counts_at ||
	    server_now_ms() - srv->counts_at >= MEDMETRICS_COUNTS_MS) {
		/* An error leaves them 0: the database's own metric says it. */
		known = networks = 0;
		mstore_counts(srv->store, &known, &networks);
		srv->counts_known = known;
		srv->counts_networks = networks;
		srv->counts_at = server_now_ms();
	}
	known = srv->counts_known;
	networks = srv->counts_networks;
	metrics_one(t, P "clients_known", METRICS_GAUGE,
		    "Clients in the database (every key that ever logged "
		    "in and has not expired).", (uint64_t)known);
	metrics_one(t, P "networks", METRICS_GAUGE,
		    "Networks in the database.", (uint64_t)networks);
	metrics_one(t, P "connections_denied_total", METRICS_COUNTER,
		    "Connections and NAT discovery requests refused by "
		    "--deny.", srv->stats.denied);
	metrics_one(t, P "source_full_total", METRICS_COUNTER,
		    "Connections refused at --source-conns.",
		    srv->stats.source_full);
	metrics_one(t, P "clients_expired_total", METRICS_COUNTER,
		    "Clients forgotten after --expire-after.",
		    srv->stats.expired);
	metrics_one(t, P "bindings_total", METRICS_COUNTER,
		    "NAT discovery requests (BINDING) answered.",
		    srv->stats.bindings);
}

static void relays(struct server *srv, struct metrics_text *t)
{
	const struct relay_stats *rs = &srv->rp.stats;
	unsigned int servers = 0, remote = 0;
	uint64_t reported = 0;
	struct med_relay *m;
	struct relay *r;

	for (m = srv->relay_servers; m; m = m->next) {
		if (m->c && !m->c->dead) {
			servers++;
			reported += m->load_bytes;
		}
	}
	for (r = srv->remote_live; r; r = r->lnext)
		remote++;
	metrics_one(t, P "relay_servers", METRICS_GAUGE,
		    "shoal-relay servers registered (--relay-key).", servers);
	metrics_family(t, P "relay_allocations", METRICS_GAUGE,
		       "Relayed pairs, on the built-in relay ports or on a "
		       "registered shoal-relay.");
	metrics_u64(t, P "relay_allocations", "relay", "builtin",
		    srv->rp.n_live);
	metrics_u64(t, P "relay_allocations", "relay", "remote", remote);
	metrics_one(t, P "relayed_bytes_total", METRICS_COUNTER,
		    "Bytes the built-in relay forwarded.", rs->relay_bytes);
	metrics_one(t, P "relayed_packets_total", METRICS_COUNTER,
		    "Datagrams the built-in relay forwarded.", rs->relayed);
	metrics_one(t, P "relay_dropped_total", METRICS_COUNTER,
		    "Datagrams the built-in relay dropped (unknown source, "
		    "over the pair's rate, not sent).",
		    rs->relay_dropped + rs->relay_over_budget);
	metrics_one(t, P "relay_servers_reported_bytes", METRICS_GAUGE,
		    "Bytes the registered shoal-relays last said they "
		    "forwarded since they started, together.", reported);
}

static void bridge(struct server *srv, struct metrics_text *t)
{
	const struct tcpbridge_stats *s =
		srv->bridge ? tcpbridge_stats(srv->bridge) : NULL;

	metrics_one(t, P "tcp_streams", METRICS_GAUGE,
		    "TCP fallback streams open.",
		    srv->bridge ? tcpbridge_open_streams(srv->bridge) : 0);
	metrics_one(t, P "tcp_streams_total", METRICS_COUNTER,
		    "TCP fallback streams taken.", s ? s->streams : 0);
	metrics_one(t, P "tcp_streams_refused_total", METRICS_COUNTER,
		    "TCP fallback streams refused (--tcp-streams, a bad "
		    "header).", s ? s->refused : 0);
}

static void work(struct server *srv, struct metrics_text *t)
{
	uint64_t count, total_ns, max_ns;

	metrics_one(t, P "pwhash_jobs_waiting", METRICS_GAUGE,
		    "Argon2id jobs queued for the password worker.",
		    srv->pw.todo_n);
	metrics_one(t, P "pwhash_jobs_running", METRICS_GAUGE,
		    "Argon2id jobs the password worker has (0 or 1).",
		    srv->pw.busy >= 0);
	metrics_one(t, P "pwhash_jobs_done_total", METRICS_COUNTER,
		    "Argon2id jobs answered.", srv->pw.done);
	mstore_db_time(srv->store, &count, &total_ns, &max_ns);
	metrics_family(t, P "db_seconds", METRICS_SUMMARY,
		       "Time spent in the database, per call (a statement, "
		       "a transaction's begin or end).");
	metrics_double(t, P "db_seconds_sum", NULL, NULL,
		       (double)total_ns / 1e9);
	metrics_u64(t, P "db_seconds_count", NULL, NULL, count);
	metrics_family(t, P "db_max_seconds", METRICS_GAUGE,
		       "The longest database call since the start.");
	metrics_double(t, P "db_max_seconds", NULL, NULL,
		       (double)max_ns / 1e9);
}

void medmetrics_render(void *arg, struct metrics_text *t)
{
	struct server *srv = arg;

	clients(srv, t);
	relays(srv, t);
	bridge(srv, t);
	work(srv, t);
	metrics_process(t, "shoal_mediator");
}
