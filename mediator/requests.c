// SPDX-License-Identifier: MIT
/*
 * The requests of docs/protocol.md ("Mediator messages"): each is checked,
 * handed to mstore, answered with RESULT (and MESSAGE on failure), and
 * followed by whatever presence events the change implies.  The reply
 * goes out before the events, so a client sees its JOIN succeed before it
 * hears about the peers it brought.
 *
 * A LOGIN does not announce the client at once: see presence.c.
 *
 * A request that needs Argon2id (JOIN with a password, CREATE or
 * SET_PASSWORD with one) is checked as far as it can be without it, then
 * goes to the worker (pwhash.c); requests_done checks again, makes
 * the change and answers, just as the request would have been answered
 * at once.  The connection's later requests wait meanwhile (server.c), so
 * a client's requests still take effect, and are answered, in order.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "endpoint.h"
#include "medmetrics.h"
#include "requests.h"
#include "server.h"

/*
 * Strings are copied with room to spare so that mstore, not the codec,
 * says a name is too long (-5, -7 rather than "malformed").
 */
#define STR_MAX 256

struct request {
	struct shoal_tlv_msg m;
	struct shoal_tlv_writer w;
};

static const char *result_text(int rc)
{
	switch (rc) {
	case MED_E_NOT_LOGGED_IN:
		return "not logged in";
	case MED_E_UNKNOWN_REQUEST:
		return "unknown request type";
	case MED_E_RELAY_FULL:
		return "no relay port free";
	case MED_E_NOT_PEER:
		return "that peer is not online in a network you share";
	case MED_E_PASSWORD_LIMIT:
		return "too many password attempts, try again later";
	case MED_E_NOT_RELAY:
		return "not a relay, or not its allocation";
	case MED_E_RELAY_QUOTA:
		return "you hold as many relays as a client may";
	case MED_E_NEW_CLIENTS:
		return "too many new clients from your address, try again "
		       "later";
	case MED_E_DATABASE:
		return mstore_strerror(MSTORE_E_UNAVAILABLE);
	case MED_E_REDIRECT:
		return "log in at the less loaded instance of the cluster "
		       "named in this reply";
	case MSTORE_E_INVALID:
		return "malformed request";
	default:
		return mstore_strerror(rc);
	}
}

static void reply_header(struct server *srv, struct request *r, int rc)
{
	/* mstore's results are the wire's, but for this one. */
	if (rc == MSTORE_E_UNAVAILABLE)
		rc = MED_E_DATABASE;
	shoal_tlv_writer_init(&r->w, srv->reply, sizeof(srv->reply),
			      r->m.type, SHOAL_TLV_F_REPLY, r->m.request_id);
	shoal_tlv_put_u32(&r->w, MED_A_RESULT, (uint32_t)(int32_t)rc);
	if (rc < 0)
		shoal_tlv_put_str(&r->w, MED_A_MESSAGE, result_text(rc));
}

/* Every reply starts here: a LOGIN's result is counted (--metrics). */
static void reply_start(struct server *srv, struct request *r, int rc)
{
	if (r->m.type == MED_LOGIN)
		medmetrics_login(srv, rc);
	reply_header(srv, r, rc);
}

static void reply_send(struct server *srv, struct conn *c, struct request *r)
{
	int len = shoal_tlv_finish(&r->w);

	/* Only NETWORKS can outgrow a message; say so rather than vanish. */
	if (len < 0) {
		reply_header(srv, r, MSTORE_E_NOMEM);
		shoal_tlv_put_str(&r->w, MED_A_MESSAGE, "reply too large");
		len = shoal_tlv_finish(&r->w);
	}
	server_conn_send(srv, c, srv->reply, len);
}

static void reply(struct server *srv, struct conn *c, struct request *r,
		  int rc)
{
	reply_start(srv, r, rc);
	reply_send(srv, c, r);
}

/* -1 if absent, 0 if present and a valid string, -2 if invalid. */
static int get_str(const struct request *r, uint16_t type, char *buf)
{
	struct shoal_tlv_attr a;

	if (!shoal_tlv_find(&r->m, type, &a))
		return -1;
	return shoal_tlv_get_str(&a, buf, STR_MAX) ? 0 : -2;
}

/*
 * PASSWORD is any bytes, but mstore takes a C string, so a NUL cannot be
 * told apart from the end.  *pw NULL if absent.
 */
static int get_password(const struct request *r, char *buf, size_t size,
			const char **pw)
{
	struct shoal_tlv_attr a;

	*pw = NULL;
	if (!shoal_tlv_find(&r->m, MED_A_PASSWORD, &a))
		return 0;
	if (a.nested || a.len == 0 || a.len > MSTORE_PASSWORD_MAX ||
	    a.len >= size || memchr(a.value, 0, a.len))
		return MSTORE_E_BAD_PASSWORD;
	memcpy(buf, a.value, a.len);
	buf[a.len] = '\0';
	*pw = buf;
	return 0;
}

/*
 * Argon2id no longer runs in the event loop, but each run still costs
 * the worker tens of milliseconds and 64 MiB, and a loop of wrong
 * passwords is a guessing attack.  Each run counts against its client,
 * its source address, the network it is about and the whole server, in
 * sliding windows; over any, the request is refused before any hashing.
 * A client that makes new keys to get new windows still meets its
 * source's and the network's: sybils spend their own share, not
 * everyone's.
 */
bool requests_rate_allows(const struct med_rate *rt, unsigned int cap,
			  int64_t window, int64_t now)
{
	/* Full ring: t[next] is the oldest of the last cap. */
	return rt->n < cap || now - rt->t[rt->next] >= window;
}

void requests_rate_add(struct med_rate *rt, unsigned int cap, int64_t now)
{
	rt->t[rt->next] = now;
	rt->next = (rt->next + 1) % cap;
	if (rt->n < cap)
		rt->n++;
}

bool requests_rate_busy(const struct med_rate *rt, unsigned int cap,
			int64_t window, int64_t now)
{
	unsigned int last = (rt->next + cap - 1) % cap;

	return rt->n && now - rt->t[last] < window;
}

static size_t pw_bucket(int64_t id)
{
	return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 56) %
	       MED_PW_BUCKETS;
}

/* Network names are unique ignoring case: lower case is the key. */
static void lower_name(char out[MSTORE_NAME_MAX + 1], const char *name)
{
	size_t i;

	for (i = 0; i < MSTORE_NAME_MAX && name[i]; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
				name[i] - 'A' + 'a' : name[i]);
	out[i] = '\0';
}

static size_t name_bucket(const char *lower)
{
	uint64_t h = 1469598103934665603ULL;

	/* FNV-1a: names are checked input, the chains short. */
	for (; *lower; lower++)
		h = (h ^ (uint8_t)*lower) * 1099511628211ULL;
	return (size_t)(h % MED_PW_BUCKETS);
}

/* Events in the window, and in flight: whether one more fits under cap. */
static bool share_allows(const struct med_rate *rt, unsigned int inflight,
			 unsigned int cap, int64_t window, int64_t now)
{
	unsigned int i, n = inflight;

	for (i = 0; i < rt->n; i++)
		n += now - rt->t[i] < window;
	return n < cap;
}

/*
 * Whether c may have Argon2id run for network now; if so it is counted
 * against c and the server, and *net is the network's entry (its share
 * and c's source's are counted when the job is handed over: pw_submit).
 */
static bool pw_allow(struct server *srv, struct conn *c, const char *network,
		     struct pw_network **net)
{
	int64_t now = server_now_ms(), id = c->client.id;
	char lower[MSTORE_NAME_MAX + 1];
	struct pw_network *pn;
	struct pw_client *pc;
	size_t b = pw_bucket(id), nb;

	lower_name(lower, network);
	nb = name_bucket(lower);
	for (pc = srv->pw_clients[b]; pc && pc->id != id; pc = pc->next)
		;
	for (pn = srv->pw_networks[nb]; pn && strcmp(pn->name, lower);
	     pn = pn->next)
		;
	if (pc && !requests_rate_allows(&pc->rate, MED_PW_CLIENT_MAX,
					MED_PW_CLIENT_WINDOW_MS, now))
		return false;
	if (pn && !share_allows(&pn->rate, pn->inflight, MED_PW_NETWORK_MAX,
				MED_PW_NETWORK_WINDOW_MS, now))
		return false;
	if (c->source && !share_allows(&c->source->pw, c->source->pw_inflight,
				       MED_PW_SOURCE_MAX,
				       MED_PW_SOURCE_WINDOW_MS, now))
		return false;
	if (!requests_rate_allows(&srv->pw_server, MED_PW_SERVER_MAX,
				  MED_PW_SERVER_WINDOW_MS, now))
		return false;
	/*
	 * At most MED_PW_SERVER_MAX new entries a second, each gone its
	 * window after its last use (requests_pw_tick): bounded.
	 */
	if (!pc) {
		pc = calloc(1, sizeof(*pc));
		if (!pc)
			return false;
		pc->id = id;
		pc->next = srv->pw_clients[b];
		srv->pw_clients[b] = pc;
	}
	if (!pn) {
		pn = calloc(1, sizeof(*pn));
		if (!pn)
			return false;
		memcpy(pn->name, lower, sizeof(lower));
		pn->next = srv->pw_networks[nb];
		srv->pw_networks[nb] = pn;
	}
	requests_rate_add(&pc->rate, MED_PW_CLIENT_MAX, now);
	requests_rate_add(&srv->pw_server, MED_PW_SERVER_MAX, now);
	*net = pn;
	return true;
}

/*
 * A job for c's password request about network, counted; or NULL
 * (refused, -104) when a budget is spent or the worker's queue is full,
 * and then nothing counts.
 */
static struct pw_job *pw_take(struct server *srv, struct conn *c,
			      const char *network)
{
	struct pw_job *j = pwhash_job(srv);
	struct pw_network *net;

	if (!j || !pw_allow(srv, c, network, &net))
		return NULL;
	j->net = net;
	j->source = c->source;
	j->counted = false;
	return j;
}

void requests_settle(struct server *srv, struct pw_job *j,
		     const struct pw_work *w)
{
	int64_t now = server_now_ms();
	/* A hash made counts; a check only when it failed. */
	bool spent = !w->verify || w->result != MSTORE_OK;

	(void)srv;
	if (!j->counted)
		return;
	j->counted = false;
	if (j->net) {
		j->net->inflight--;
		if (spent)
			requests_rate_add(&j->net->rate, MED_PW_NETWORK_MAX,
					  now);
	}
	if (j->source) {
		j->source->pw_inflight--;
		if (spent)
			requests_rate_add(&j->source->pw, MED_PW_SOURCE_MAX,
					  now);
	}
}

/*
 * Hands r's password to the worker: to check against hash, or (hash
 * NULL) to hash.  The caller has set the job's fields of its request.
 */
static void pw_submit(struct server *srv, struct conn *c,
		      const struct request *r, struct pw_job *j,
		      const char *name, const char *pw, const char *hash)
{
	struct pw_work *w = pwhash_work(srv, j);

	j->client = c->client.id;
	j->type = r->m.type;
	j->request_id = r->m.request_id;
	/* mstore's *_check accepted it: a name, at most MSTORE_NAME_MAX. */
	snprintf(j->name, sizeof(j->name), "%s", name);
	w->verify = hash != NULL;
	if (hash)
		memcpy(w->hash, hash, sizeof(w->hash));
	else
		mstore_hash_cost(srv->store, &w->cost);
	/* get_password: at most MSTORE_PASSWORD_MAX bytes and the NUL. */
	memcpy(w->password, pw, strlen(pw) + 1);
	/* In flight for the network's and the source's shares. */
	j->counted = true;
	if (j->net)
		j->net->inflight++;
	if (j->source)
		j->source->pw_inflight++;
	pwhash_submit(srv, c, j);
}

void requests_pw_tick(struct server *srv, int64_t now_ms)
{
	struct pw_network **pnp, *pn;
	struct pw_client **pp, *pc;
	size_t b;

	for (b = 0; b < MED_PW_BUCKETS; b++) {
		for (pp = &srv->pw_clients[b]; (pc = *pp);) {
			if (!requests_rate_busy(&pc->rate, MED_PW_CLIENT_MAX,
						MED_PW_CLIENT_WINDOW_MS,
						now_ms)) {
				*pp = pc->next;
				free(pc);
			} else {
				pp = &pc->next;
			}
		}
		for (pnp = &srv->pw_networks[b]; (pn = *pnp);) {
			if (!pn->inflight &&
			    !requests_rate_busy(&pn->rate, MED_PW_NETWORK_MAX,
						MED_PW_NETWORK_WINDOW_MS,
						now_ms)) {
				*pnp = pn->next;
				free(pn);
			} else {
				pnp = &pn->next;
			}
		}
	}
}

/* After pwhash_close: no job is in flight any more, whatever it says. */
void requests_pw_free(struct server *srv)
{
	struct pw_network *pn;
	size_t b;

	for (b = 0; b < MED_PW_BUCKETS; b++)
		for (pn = srv->pw_networks[b]; pn; pn = pn->next)
			pn->inflight = 0;
	requests_pw_tick(srv, INT64_MAX);
}

static int get_network(const struct request *r, char *name)
{
	int ret = get_str(r, MED_A_NETWORK, name);

	if (ret == -1)
		return MSTORE_E_INVALID;
	return ret ? MSTORE_E_BAD_NAME : 0;
}

static int get_nick(const struct request *r, char *nick)
{
	int ret = get_str(r, MED_A_NICKNAME, nick);

	if (ret == -1)
		return MSTORE_E_INVALID;
	return ret ? MSTORE_E_BAD_NICK : 0;
}

/*
 * Whether a LAN candidate is one peers may be sent to: every peer sends
 * handshakes to each, again and again while punching, so a member must
 * not be able to aim them at loopback, multicast, broadcast, nowhere, a
 * link-local address it cannot be reached on (IPv6: no scope; IPv4:
 * only peers behind the same address get it, presence.c), or into the
 * overlay network this server hands out.
 */
static bool candidate_ok(struct server *srv, const struct med_endpoint *e)
{
	enum shoal_addr_kind kind = shoal_addr_kind(e->family, e->addr);
	struct in6_addr ula;

	if (kind == SHOAL_ADDR_UNUSABLE ||
	    (kind == SHOAL_ADDR_LINK_LOCAL && e->family == 6))
		return false;
	if (e->family == 4)
		return !shoal_addr_in(4, e->addr,
				      (const uint8_t *)&srv->pool_base,
				      srv->pool_prefix);
	mstore_ula_prefix(srv->store, &ula);
	return !shoal_addr_in(6, e->addr, ula.s6_addr, 48);
}

/*
 * The candidates peers get: the client's public tunnel endpoint once a
 * BINDING told us (udp.c), else the address this connection comes from
 * with the client's tunnel port (right behind a port-preserving NAT);
 * then the LAN candidates the client named that candidate_ok takes, the
 * first MED_MAX_ENDPOINTS of them.  Everything is read before anything
 * changes, so a malformed LOGIN leaves the connection as it was.
 */
static int read_endpoints(struct server *srv, const struct request *r,
			  struct conn *c)
{
	struct med_endpoint lan[MED_MAX_ENDPOINTS], e;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	unsigned int n = 0, i;
	uint16_t port = 0;

	if (shoal_tlv_find(&r->m, MED_A_TUNNEL_PORT, &a) &&
	    !shoal_tlv_get_u16(&a, &port))
		return MSTORE_E_INVALID;
	shoal_tlv_iter_msg(&it, &r->m);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type != MED_A_ENDPOINT)
			continue;
		memset(&e, 0, sizeof(e));
		if (shoal_med_endpoint_get(a.value, a.len, &e.family, e.addr,
					   &e.port) < 0)
			return MSTORE_E_INVALID;
		if (!candidate_ok(srv, &e))
			continue;
		for (i = 0; i < n; i++)
			if (!memcmp(&lan[i], &e, sizeof(e)))
				break;
		/* More than we keep: the first ones are the client's best. */
		if (i == n && n < MED_MAX_ENDPOINTS)
			lan[n++] = e;
	}
	c->tunnel_port = port;
	c->has_tcp_ep = port &&
			!udp_endpoint_from(&c->tcp_ep,
					   (const struct sockaddr *)&c->addr);
	if (c->has_tcp_ep)
		c->tcp_ep.port = port;
	c->n_endpoints = n;
	memcpy(c->ep, lan, n * sizeof(lan[0]));
	/* Its netcheck, if it knows it already (a login again); else unknown. */
	if (!shoal_tlv_find(&r->m, MED_A_NAT, &a) ||
	    shoal_med_nat_get(a.value, a.len, &c->nat) < 0)
		memset(&c->nat, 0, sizeof(c->nat));
	return 0;
}

/*
 * A LOGIN whose nickname is a default (MED_A_NICK_DEFAULT: the host
 * name): a known client keeps the nickname it has; a new one gets nick,
 * or nick-2 ... nick-9, nick-NNNNN (shortened to fit) when that is
 * taken.  Only for
 * a default: a nickname the user chose and someone else holds is an
 * error, as ever.
 */
static int login_default_nick(struct server *srv, struct mstore_client *cl,
			      const char *nick, bool is_new)
{
	char tried[MSTORE_NICK_MAX + 1], suffix[16];
	size_t base;
	int rc, i;

	if (!is_new)
		return mstore_login(srv->store, cl->pubkey, NULL, cl);
	rc = mstore_login(srv->store, cl->pubkey, nick, cl);
	/*
	 * -2 ... -9, then a random one: a transaction each, and a name
	 * squatted from -2 to -99 must neither cost a hundred of them per
	 * LOGIN nor keep every later host of that name out.
	 */
	for (i = 2; rc == MSTORE_E_NICK_TAKEN && i < 13; i++) {
		if (i < 10)
			snprintf(suffix, sizeof(suffix), "-%d", i);
		else
			snprintf(suffix, sizeof(suffix), "-%05u",
				 (unsigned int)randombytes_uniform(100000));
		base = strlen(nick);
		if (base > MSTORE_NICK_MAX - strlen(suffix))
			base = MSTORE_NICK_MAX - strlen(suffix);
		snprintf(tried, sizeof(tried), "%.*s%s", (int)base, nick,
			 suffix);
		rc = mstore_login(srv->store, cl->pubkey, tried, cl);
	}
	return rc;
}

static void do_login(struct server *srv, struct conn *c, struct request *r)
{
	struct shoal_tlv_attr a;
	char nick[STR_MAX];
	struct mstore_client cl;
	struct conn *old;
	uint8_t ep[MED_ENDPOINT_MAX];
	bool is_new;
	int rc;

	rc = get_str(r, MED_A_NICKNAME, nick);
	if (rc == -2) {
		reply(srv, c, r, MSTORE_E_BAD_NICK);
		return;
	}
	/*
	 * The default server: a new login (not one redirected or failed
	 * over already) goes to a clearly less loaded instance, before
	 * anything is written for it.
	 */
	if (!c->logged_in && !shoal_tlv_find(&r->m, MED_A_NO_REDIRECT, &a)) {
		/* Counted (--metrics) only if it is one. */
		reply_header(srv, r, MED_E_REDIRECT);
		if (cluster_redirect(srv, &r->w)) {
			medmetrics_login(srv, MED_E_REDIRECT);
			reply_send(srv, c, r);
			return;
		}
	}
	if (shoal_channel_remote_key(&c->ch, cl.pubkey) < 0) {
		server_conn_kill(srv, c, MED_DOWN_LOST);
		return;
	}
	/*
	 * Every new key is a client for good (until it expires), with an
	 * address of its own: each source makes only so many.
	 */
	is_new = mstore_client_by_key(srv->store, cl.pubkey, NULL) ==
		 MSTORE_E_NO_CLIENT;
	if (is_new && !sources_new_client_ok(srv, c)) {
		reply(srv, c, r, MED_E_NEW_CLIENTS);
		return;
	}
	if (!rc && shoal_tlv_find(&r->m, MED_A_NICK_DEFAULT, &a))
		rc = login_default_nick(srv, &cl, nick, is_new);
	else
		rc = mstore_login(srv->store, cl.pubkey, rc ? NULL : nick,
				  &cl);
	/*
	 * A LOGIN again on a connection logged in already (it says what
	 * changed) while the database is down: the client is who it was, and
	 * keeps its connection and presence; only a new nickname must wait.
	 */
	if (rc == MSTORE_E_UNAVAILABLE && c->logged_in &&
	    !memcmp(c->client.pubkey, cl.pubkey, sizeof(cl.pubkey)) &&
	    (get_str(r, MED_A_NICKNAME, nick) != 0 ||
	     !strcmp(nick, c->client.nickname) ||
	     shoal_tlv_find(&r->m, MED_A_NICK_DEFAULT, &a))) {
		cl = c->client;
		rc = MSTORE_OK;
	}
	if (rc < 0) {
		reply(srv, c, r, rc);
		return;
	}
	if (is_new)
		sources_new_client_made(srv, c);
	rc = read_endpoints(srv, r, c);
	if (rc < 0) {
		reply(srv, c, r, rc);
		return;
	}
	/*
	 * A second connection of the same key is the same client come back
	 * (a restart, a new route): it replaces the old one without telling
	 * the peers it left.  They know it, so they hear about what happens
	 * to it from now on; and again once its login completes, but only
	 * if what they know of it changed (presence_complete).
	 */
	old = server_online_find(srv, cl.id);
	if (old && old != c) {
		c->announced = old->announced;
		c->told = old->told;
		memcpy(c->view, old->view, sizeof(c->view));
		server_online_remove(srv, old);
		server_pending_remove(srv, old);
		old->logged_in = false;
		old->announced = old->told = false;
		server_conn_kill(srv, old, MED_DOWN_NONE);
	}
	if (c->logged_in)
		server_online_remove(srv, c);
	c->client = cl;
	c->logged_in = true;
	server_online_add(srv, c);
	udp_token_assign(srv, c);
	/* A BINDING to this LOGIN says where it is now. */
	c->has_public = false;
	server_pending_add(srv, c);

	reply_start(srv, r, MSTORE_OK);
	shoal_tlv_put_str(&r->w, MED_A_NICKNAME, cl.nickname);
	presence_put_addrs(&r->w, &cl, srv->pool_prefix);
	shoal_tlv_put(&r->w, MED_A_UDP_TOKEN, c->token, MED_TOKEN_LEN);
	if (srv->has_probe)
		shoal_tlv_put(&r->w, MED_A_PROBE, ep,
			      udp_endpoint_put(ep, &srv->probe_ep));
	cluster_put_login(srv, &r->w);
	reply_send(srv, c, r);
}

static void do_logout(struct server *srv, struct conn *c, struct request *r)
{
	/* As before its LOGIN: it logs in again soon, or goes. */
	c->deadline = server_now() + MED_HELLO_TIMEOUT;
	reply(srv, c, r, MSTORE_OK);
	server_online_remove(srv, c);
	server_pending_remove(srv, c);
	c->logged_in = false;
	presence_down(srv, c, MED_DOWN_LOGOUT);
	relay_free_client(srv, c->client.id);
}

static void do_nick(struct server *srv, struct conn *c, struct request *r)
{
	char nick[STR_MAX];
	int rc = get_nick(r, nick);

	if (!rc)
		rc = mstore_set_nick(srv->store, c->client.id, nick);
	if (!rc)
		mstore_client_by_key(srv->store, c->client.pubkey, &c->client);
	reply(srv, c, r, rc);
	/*
	 * Its peers know it by nickname (their names for it, NICK.shoal):
	 * they hear the new one now, at the announcement rate.
	 */
	if (!rc && c->announced && !c->dead)
		presence_due(srv, c);
}

static void do_create(struct server *srv, struct conn *c, struct request *r)
{
	char name[STR_MAX], pwbuf[MSTORE_PASSWORD_MAX + 1];
	struct mstore_network info;
	struct shoal_tlv_attr a;
	struct pw_job *j = NULL;
	bool approval = shoal_tlv_find(&r->m, MED_A_APPROVAL, &a);
	const char *pw;
	int rc = get_network(r, name);

	if (!rc)
		rc = get_password(r, pwbuf, sizeof(pwbuf), &pw);
	/* It hashes only for a name that is free. */
	if (!rc && pw &&
	    mstore_network_info(srv->store, 0, name, &info) ==
	    MSTORE_E_NO_NETWORK && !(j = pw_take(srv, c, name)))
		rc = MED_E_PASSWORD_LIMIT;
	if (!rc && pw) {
		rc = mstore_create_check(srv->store, c->client.id, name, pw,
					 0);
		/* Not counted yet only if the database changed under us. */
		if (!rc && !j && !(j = pw_take(srv, c, name)))
			rc = MED_E_PASSWORD_LIMIT;
		if (!rc) {
			j->approval = approval;
			pw_submit(srv, c, r, j, name, pw, NULL);
			sodium_memzero(pwbuf, sizeof(pwbuf));
			return;
		}
	} else if (!rc) {
		rc = mstore_create(srv->store, c->client.id, name, NULL,
				   approval, 0);
	}
	sodium_memzero(pwbuf, sizeof(pwbuf));
	reply(srv, c, r, rc);
}

/* After the checks (and the password's, if it has one): joins. */
static void join_commit(struct server *srv, struct conn *c, struct request *r,
			const char *name, const struct mstore_join_ticket *t)
{
	struct peerset before, after;
	int rc;

	presence_peerset_get(srv, c->client.id, &before);
	rc = mstore_join_commit(srv->store, c->client.id, name, t);
	reply(srv, c, r, rc);
	if (rc == MSTORE_OK &&
	    !presence_peerset_get(srv, c->client.id, &after)) {
		presence_changed(srv, &c->client, &before, &after, true);
		presence_peerset_free(&after);
	}
	presence_peerset_free(&before);
}

static void do_join(struct server *srv, struct conn *c, struct request *r)
{
	char name[STR_MAX], pwbuf[MSTORE_PASSWORD_MAX + 1];
	struct mstore_join_ticket t;
	struct mstore_network info;
	struct pw_job *j = NULL;
	const char *pw;
	int rc = get_network(r, name);

	if (!rc)
		rc = get_password(r, pwbuf, sizeof(pwbuf), &pw);
	if (rc) {
		reply(srv, c, r, rc);
		return;
	}
	/*
	 * The password is checked only for a network that has one and a
	 * client that is neither in it nor waiting (or banned, which we
	 * cannot see here: counting that too is harmless).
	 */
	if (pw && mstore_network_info(srv->store, c->client.id, name,
				      &info) == MSTORE_OK &&
	    info.has_password && info.state == MSTORE_STATE_NONE &&
	    !(j = pw_take(srv, c, name))) {
		sodium_memzero(pwbuf, sizeof(pwbuf));
		reply(srv, c, r, MED_E_PASSWORD_LIMIT);
		return;
	}
	rc = mstore_join_check(srv->store, c->client.id, name, pw != NULL, &t);
	/* Not counted yet only if the database changed under us. */
	if (!rc && t.has_hash && !j && !(j = pw_take(srv, c, name)))
		rc = MED_E_PASSWORD_LIMIT;
	if (!rc && t.has_hash) {
		j->ticket = t;
		pw_submit(srv, c, r, j, name, pw, t.hash);
	} else if (!rc) {
		join_commit(srv, c, r, name, &t);
	} else {
		reply(srv, c, r, rc);
	}
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(pwbuf, sizeof(pwbuf));
}

static void do_leave(struct server *srv, struct conn *c, struct request *r)
{
	struct peerset before, after;
	char name[STR_MAX];
	int rc = get_network(r, name);

	if (rc) {
		reply(srv, c, r, rc);
		return;
	}
	presence_peerset_get(srv, c->client.id, &before);
	rc = mstore_leave(srv->store, c->client.id, name, NULL);
	/* MSTORE_DELETED is a success the client need not hear about. */
	reply(srv, c, r, rc > 0 ? MSTORE_OK : rc);
	if (rc >= 0 &&
	    !presence_peerset_get(srv, c->client.id, &after)) {
		presence_changed(srv, &c->client, &before, &after, true);
		presence_regrouped(srv, c->client.id, &before, &after, true);
		presence_peerset_free(&after);
	}
	presence_peerset_free(&before);
}

typedef int (*owner_op)(struct mstore *s, int64_t owner, const char *name,
			const uint8_t member[MSTORE_KEY_LEN]);

/*
 * APPROVE, KICK, BAN: one member's peers change.  The member is named by
 * its PUBLIC_KEY: a nickname can change between the owner's look at the
 * members and the command, and someone else can take the old one.
 */
static void do_member_op(struct server *srv, struct conn *c,
			 struct request *r, owner_op op)
{
	struct peerset before = { 0 }, after;
	struct mstore_client target;
	struct shoal_tlv_attr a;
	char name[STR_MAX];
	bool known;
	int rc = get_network(r, name);

	if (!rc && (!shoal_tlv_find(&r->m, MED_A_PUBLIC_KEY, &a) ||
		    a.nested || a.len != MSTORE_KEY_LEN))
		rc = MSTORE_E_INVALID;
	if (rc) {
		reply(srv, c, r, rc);
		return;
	}
	known = mstore_client_by_key(srv->store, a.value, &target) ==
		MSTORE_OK;
	if (known)
		presence_peerset_get(srv, target.id, &before);
	rc = op(srv->store, c->client.id, name, a.value);
	reply(srv, c, r, rc);
	if (rc >= 0 && known && !presence_peerset_get(srv, target.id, &after)) {
		presence_changed(srv, &target, &before, &after, true);
		presence_regrouped(srv, target.id, &before, &after, true);
		presence_peerset_free(&after);
	}
	presence_peerset_free(&before);
}

static void do_set_password(struct server *srv, struct conn *c,
			    struct request *r)
{
	char name[STR_MAX], pwbuf[MSTORE_PASSWORD_MAX + 1];
	struct mstore_network info;
	struct pw_job *j = NULL;
	const char *pw;
	int rc = get_network(r, name);

	if (!rc)
		rc = get_password(r, pwbuf, sizeof(pwbuf), &pw);
	/* Only the owner makes it hash. */
	if (!rc && pw &&
	    mstore_network_info(srv->store, c->client.id, name, &info) ==
	    MSTORE_OK && info.owner == c->client.id &&
	    !(j = pw_take(srv, c, name)))
		rc = MED_E_PASSWORD_LIMIT;
	if (!rc && pw) {
		rc = mstore_set_password_check(srv->store, c->client.id, name,
					       pw);
		/* Not counted yet only if the database changed under us. */
		if (!rc && !j && !(j = pw_take(srv, c, name)))
			rc = MED_E_PASSWORD_LIMIT;
		if (!rc) {
			pw_submit(srv, c, r, j, name, pw, NULL);
			sodium_memzero(pwbuf, sizeof(pwbuf));
			return;
		}
	} else if (!rc) {
		rc = mstore_set_password(srv->store, c->client.id, name, NULL);
	}
	sodium_memzero(pwbuf, sizeof(pwbuf));
	reply(srv, c, r, rc);
}

static void do_delete(struct server *srv, struct conn *c, struct request *r)
{
	struct mstore_member *m = NULL;
	struct peerset *before = NULL, after;
	char name[STR_MAX];
	size_t n = 0, i;
	int rc = get_network(r, name);

	if (rc) {
		reply(srv, c, r, rc);
		return;
	}
	if (mstore_members(srv->store, name, &m, &n) == MSTORE_OK && n)
		before = calloc(n, sizeof(*before));
	if (!before)
		n = 0;
	for (i = 0; i < n; i++)
		presence_peerset_get(srv, m[i].client.id, &before[i]);
	rc = mstore_delete(srv->store, c->client.id, name);
	reply(srv, c, r, rc);
	/* Every member is handled, so one direction each covers both. */
	for (i = 0; i < n; i++) {
		if (rc >= 0 &&
		    !presence_peerset_get(srv, m[i].client.id, &after)) {
			presence_changed(srv, &m[i].client, &before[i],
					 &after, false);
			presence_regrouped(srv, m[i].client.id, &before[i],
					   &after, false);
			presence_peerset_free(&after);
		}
		presence_peerset_free(&before[i]);
	}
	free(before);
	free(m);
}

static void do_relay(struct server *srv, struct conn *c, struct request *r)
{
	struct shoal_tlv_attr a;
	struct relay *rl;
	int rc;

	if (!shoal_tlv_find(&r->m, MED_A_PUBLIC_KEY, &a) || a.nested ||
	    a.len != MSTORE_KEY_LEN) {
		reply(srv, c, r, MSTORE_E_INVALID);
		return;
	}
	rc = relay_request(srv, c, a.value, &rl);
	reply(srv, c, r, rc);
	/* The reply first: the events it promises follow it. */
	if (!rc && !c->dead)
		relay_tell(srv, rl);
}

/* NAT: the client's netcheck finished; its peers hear it if it changed. */
static void do_nat(struct server *srv, struct conn *c, struct request *r)
{
	struct shoal_tlv_attr a;
	struct shoal_nat nat;

	if (!shoal_tlv_find(&r->m, MED_A_NAT, &a) || a.nested ||
	    shoal_med_nat_get(a.value, a.len, &nat) < 0) {
		reply(srv, c, r, MSTORE_E_INVALID);
		return;
	}
	reply(srv, c, r, 0);
	if (!memcmp(&nat, &c->nat, sizeof(nat)) || c->dead)
		return;
	c->nat = nat;
	presence_nat(srv, c);
}

static void put_member(struct server *srv, struct shoal_tlv_writer *w,
		       const struct mstore_member *mb)
{
	shoal_tlv_nest_start(w, MED_A_MEMBER);
	shoal_tlv_put_str(w, MED_A_NICKNAME, mb->client.nickname);
	shoal_tlv_put(w, MED_A_PUBLIC_KEY, mb->client.pubkey, MSTORE_KEY_LEN);
	presence_put_addrs(w, &mb->client, srv->pool_prefix);
	shoal_tlv_put_u8(w, MED_A_ONLINE,
			 server_present_find(srv, mb->client.id) ||
			 cluster_remote_find(srv, mb->client.id) ? 1 : 0);
	shoal_tlv_put_u8(w, MED_A_STATE, (uint8_t)mb->state);
	if (mb->is_owner)
		shoal_tlv_put(w, MED_A_OWNER, NULL, 0);
	shoal_tlv_nest_end(w);
}

/*
 * NETWORK_INFO of one network the client is in or waiting for: who is
 * inside is for members; one waiting sees itself.
 */
static void put_network(struct server *srv, struct conn *c,
			struct shoal_tlv_writer *w,
			const struct mstore_network *net)
{
	struct mstore_member *m;
	size_t k, nm;

	shoal_tlv_nest_start(w, MED_A_NETWORK_INFO);
	shoal_tlv_put_str(w, MED_A_NETWORK, net->name);
	if (net->approval)
		shoal_tlv_put(w, MED_A_APPROVAL, NULL, 0);
	if (mstore_members(srv->store, net->name, &m, &nm) < 0) {
		m = NULL;
		nm = 0;
	}
	for (k = 0; k < nm; k++)
		if (net->state == MSTORE_STATE_MEMBER ||
		    m[k].client.id == c->client.id)
			put_member(srv, w, &m[k]);
	free(m);
	shoal_tlv_nest_end(w);
}

/*
 * With NETWORK: that network alone, which always fits (its members and
 * waiting requests are capped).  Without: every network; those that do
 * not fit are left out and the reply says TRUNCATED, so that a client in
 * many big networks still gets an answer and can ask for each.
 */
static void do_networks(struct server *srv, struct conn *c, struct request *r)
{
	char name[STR_MAX];
	struct mstore_network *nets = NULL, one;
	struct shoal_tlv_writer saved;
	size_t n = 0, i;
	int rc = get_str(r, MED_A_NETWORK, name);

	if (rc == -2) {
		reply(srv, c, r, MSTORE_E_BAD_NAME);
		return;
	}
	if (rc == 0) {
		rc = mstore_network_info(srv->store, c->client.id, name, &one);
		if (!rc && one.state == MSTORE_STATE_NONE)
			rc = MSTORE_E_NOT_MEMBER;
		if (rc < 0) {
			reply(srv, c, r, rc);
			return;
		}
		reply_start(srv, r, MSTORE_OK);
		put_network(srv, c, &r->w, &one);
		reply_send(srv, c, r);
		return;
	}
	rc = mstore_networks_of(srv->store, c->client.id, &nets, &n);
	if (rc < 0) {
		reply(srv, c, r, rc);
		return;
	}
	reply_start(srv, r, MSTORE_OK);
	for (i = 0; i < n; i++) {
		saved = r->w;
		put_network(srv, c, &r->w, &nets[i]);
		/* One more byte than a flag needs: TRUNCATED must fit. */
		if (r->w.overflow ||
		    r->w.len + SHOAL_TLV_ATTR_HDR_LEN > r->w.size) {
			r->w = saved;
			shoal_tlv_put(&r->w, MED_A_TRUNCATED, NULL, 0);
			break;
		}
	}
	free(nets);
	reply_send(srv, c, r);
}

void requests_handle(struct server *srv, struct conn *c, const uint8_t *msg,
		     size_t len)
{
	struct request r;

	/* Undecodable: the client is broken; nothing it says is trusted. */
	if (shoal_tlv_parse(&r.m, msg, len) < 0 ||
	    (r.m.flags & SHOAL_TLV_F_REPLY)) {
		server_conn_kill(srv, c, MED_DOWN_LOST);
		return;
	}
	if (r.m.type >= MED_RELAY_REGISTER && r.m.type <= MED_RELAY_GONE) {
		int rc = relay_remote_request(srv, c, &r.m);

		reply(srv, c, &r, rc);
		/* Only a --relay-key may talk like a relay. */
		if (rc == MED_E_NOT_RELAY && r.m.type == MED_RELAY_REGISTER)
			server_conn_kill(srv, c, MED_DOWN_LOST);
		return;
	}
	/* A relay is no client: it never logs in, nor asks for a relay. */
	if (c->relay || (r.m.type < MED_LOGIN || r.m.type > MED_NAT)) {
		reply(srv, c, &r, MED_E_UNKNOWN_REQUEST);
		return;
	}
	if (r.m.type != MED_LOGIN && !c->logged_in) {
		reply(srv, c, &r, MED_E_NOT_LOGGED_IN);
		return;
	}
	switch (r.m.type) {
	case MED_LOGIN:
		do_login(srv, c, &r);
		break;
	case MED_LOGOUT:
		do_logout(srv, c, &r);
		break;
	case MED_NICK:
		do_nick(srv, c, &r);
		break;
	case MED_CREATE:
		do_create(srv, c, &r);
		break;
	case MED_JOIN:
		do_join(srv, c, &r);
		break;
	case MED_LEAVE:
		do_leave(srv, c, &r);
		break;
	case MED_NETWORKS:
		do_networks(srv, c, &r);
		break;
	case MED_APPROVE:
		do_member_op(srv, c, &r, mstore_approve);
		break;
	case MED_KICK:
		do_member_op(srv, c, &r, mstore_kick);
		break;
	case MED_BAN:
		do_member_op(srv, c, &r, mstore_ban);
		break;
	case MED_SET_PASSWORD:
		do_set_password(srv, c, &r);
		break;
	case MED_DELETE:
		do_delete(srv, c, &r);
		break;
	case MED_KEEPALIVE:
		reply(srv, c, &r, MSTORE_OK);
		break;
	case MED_RELAY:
		do_relay(srv, c, &r);
		break;
	case MED_NAT:
		do_nat(srv, c, &r);
		break;
	}
}

/*
 * The worker is done with c's job.  Everything the request was checked
 * against may have changed meanwhile (the network deleted or its
 * password changed, the client banned, the name taken): mstore checks it
 * all again in the transaction that makes the change.  The answer and
 * what follows it (JOIN's PEER_UPs, after the reply) are as they would
 * have been at once.  c is live: pwhash.c drops the jobs of connections
 * that are gone or going.
 */
void requests_done(struct server *srv, struct conn *c, struct pw_job *j,
		   const struct pw_work *w)
{
	struct request r = {
		.m = { .type = j->type, .request_id = j->request_id },
	};
	int rc = w->result;

	/* Its requests wait for this one, LOGOUT too: cannot happen. */
	if (!c->logged_in || c->client.id != j->client) {
		reply(srv, c, &r, MED_E_NOT_LOGGED_IN);
		return;
	}
	switch (j->type) {
	case MED_JOIN:
		if (rc)
			break;
		join_commit(srv, c, &r, j->name, &j->ticket);
		return;
	case MED_CREATE:
		if (!rc)
			rc = mstore_create_hashed(srv->store, j->client,
						  j->name, w->hash,
						  j->approval, 0);
		break;
	case MED_SET_PASSWORD:
		if (!rc)
			rc = mstore_set_password_hashed(srv->store, j->client,
							j->name, w->hash);
		break;
	default:
		rc = MSTORE_E_INVALID;
		break;
	}
	reply(srv, c, &r, rc);
}
