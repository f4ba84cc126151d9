// SPDX-License-Identifier: MIT
/*
 * Presence: PEER_UP and PEER_DOWN (docs/protocol.md, "Events").  Two
 * clients are peers while both are active members of some network;
 * mstore_peers_of() is the one definition.  Events go only to present
 * clients (logged in and announced).  PEER_UP and the PEER_DOWNs of
 * logging out or losing the connection are about present clients too:
 * an offline client has nobody to tell, and its peers were told when it
 * went offline.  The PEER_DOWN of a pair that shares no network any more
 * (reason 3) is the exception: it is an eviction, and reaches every
 * present side whether or not the other is online.
 *
 * A login is announced once the client's BINDING has told us its public
 * tunnel endpoint (udp.c), or MED_ANNOUNCE_WAIT_MS after LOGIN without
 * one: the first candidate its peers get is then the one most likely to
 * work, and the PEER_UPs of a pair, the start signal for punching, reach
 * both sides at once.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "endpoint.h"
#include "presence.h"
#include "server.h"

int presence_peerset_get(struct server *srv, int64_t id, struct peerset *ps)
{
	ps->v = NULL;
	ps->n = 0;
	if (mstore_peers_of(srv->store, id, &ps->v, &ps->n) < 0) {
		ps->v = NULL;
		ps->n = 0;
		return -1;
	}
	return 0;
}

void presence_peerset_free(struct peerset *ps)
{
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

static bool peerset_has(const struct peerset *ps, int64_t id)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->v[i].id == id)
			return true;
	return false;
}

void presence_put_addrs(struct shoal_tlv_writer *w,
			const struct mstore_client *cl,
			unsigned int pool_prefix)
{
	uint8_t v4[5], v6[17];

	memcpy(v4, &cl->ipv4, 4);
	v4[4] = (uint8_t)pool_prefix;
	memcpy(v6, &cl->ipv6, 16);
	v6[16] = MED_IPV6_PREFIX;
	shoal_tlv_put(w, MED_A_IPV4, v4, sizeof(v4));
	shoal_tlv_put(w, MED_A_IPV6, v6, sizeof(v6));
	shoal_tlv_put(w, MED_A_MAC, cl->mac, MSTORE_MAC_LEN);
}

static bool same_ep(const struct med_endpoint *a,
		    const struct med_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16);
}

void presence_info_of(const struct conn *c, struct med_peer_info *pi)
{
	struct med_source_key k;

	memset(pi, 0, sizeof(*pi));
	pi->client = c->client;
	if (c->has_public) {
		pi->has_first = true;
		pi->first = c->public_ep;
	} else if (c->has_tcp_ep) {
		pi->has_first = true;
		pi->first = c->tcp_ep;
	}
	pi->n_endpoints = c->n_endpoints;
	memcpy(pi->ep, c->ep, c->n_endpoints * sizeof(c->ep[0]));
	pi->nat = c->nat;
	if (!sources_key_of(&k, (const struct sockaddr *)&c->addr) &&
	    k.family == 4) {
		pi->has_lan = true;
		memcpy(pi->lan, k.addr, 4);
	}
}

/*
 * Whether a and b are behind one IPv4 address, the same NAT: the one
 * sign of a shared LAN the server has, and what an IPv4 link-local
 * candidate needs to be of any use.
 */
static bool same_lan(const struct med_peer_info *a,
		     const struct med_peer_info *b)
{
	return a->has_lan && b->has_lan && !memcmp(a->lan, b->lan, 4);
}

/*
 * PEER_UP telling whoever receives it about pi.  The first ENDPOINT is
 * its public tunnel endpoint (its BINDING's source), else its TCP source
 * with its tunnel port; the LAN candidates it named follow, the
 * link-local ones only with link_local (for a peer on its LAN).
 */
static int build_peer_up(struct server *srv, const struct med_peer_info *pi,
			 bool link_local)
{
	const struct med_endpoint *first = pi->has_first ? &pi->first : NULL;
	struct shoal_tlv_writer w;
	uint8_t ep[MED_ENDPOINT_MAX];
	unsigned int i;

	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_PEER_UP, 0, 0);
	shoal_tlv_nest_start(&w, MED_A_PEER);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, pi->client.pubkey,
		      MSTORE_KEY_LEN);
	shoal_tlv_put_str(&w, MED_A_NICKNAME, pi->client.nickname);
	presence_put_addrs(&w, &pi->client, srv->pool_prefix);
	if (first)
		shoal_tlv_put(&w, MED_A_ENDPOINT, ep,
			      udp_endpoint_put(ep, first));
	for (i = 0; i < pi->n_endpoints; i++) {
		if ((first && same_ep(first, &pi->ep[i])) ||
		    (!link_local && shoal_addr_kind(pi->ep[i].family,
						    pi->ep[i].addr) ==
				    SHOAL_ADDR_LINK_LOCAL))
			continue;
		shoal_tlv_put(&w, MED_A_ENDPOINT, ep,
			      udp_endpoint_put(ep, &pi->ep[i]));
	}
	if (pi->nat.known) {
		uint8_t nat[MED_NAT_LEN];

		shoal_med_nat_put(nat, &pi->nat);
		shoal_tlv_put(&w, MED_A_NAT, nat, sizeof(nat));
	}
	shoal_tlv_nest_end(&w);
	return shoal_tlv_finish(&w);
}

static int build_peer_down(struct server *srv, const uint8_t *key,
			   uint8_t reason)
{
	struct shoal_tlv_writer w;

	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_PEER_DOWN, 0, 0);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, key, MSTORE_KEY_LEN);
	shoal_tlv_put_u8(&w, MED_A_REASON, reason);
	return shoal_tlv_finish(&w);
}

/* Tells to about peer, online here or on another instance. */
static void send_up_info(struct server *srv, struct conn *to,
			 const struct med_peer_info *peer)
{
	struct med_peer_info me;

	presence_info_of(to, &me);
	server_conn_send(srv, to, srv->event,
			 build_peer_up(srv, peer, same_lan(&me, peer)));
}

static void send_up(struct server *srv, struct conn *to,
		    const struct conn *peer)
{
	struct med_peer_info pi;

	presence_info_of(peer, &pi);
	send_up_info(srv, to, &pi);
}

static void send_down(struct server *srv, struct conn *to,
		      const uint8_t *key, uint8_t reason)
{
	server_conn_send(srv, to, srv->event,
			 build_peer_down(srv, key, reason));
}

/* ---- how often a client's peers hear of it ---- */

static size_t announce_bucket(int64_t id)
{
	return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 54) %
	       MED_ANNOUNCE_BUCKETS;
}

static void announce_refill(struct med_announce *a, int64_t now)
{
	if (now > a->at)
		a->tokens += (double)(now - a->at) / MED_ANNOUNCE_EVERY_MS;
	if (a->tokens > MED_ANNOUNCE_BURST)
		a->tokens = MED_ANNOUNCE_BURST;
	a->at = now;
}

/*
 * One announcement of client id, if its bucket has one: true.  Else
 * false, and *due is when it will.  Kept per client, not per
 * connection: a new connection is no new allowance.
 */
static bool announce_take(struct server *srv, int64_t id, int64_t *due)
{
	size_t b = announce_bucket(id);
	int64_t now = server_now_ms();
	struct med_announce *a;

	for (a = srv->announce[b]; a && a->id != id; a = a->next)
		;
	if (!a) {
		a = calloc(1, sizeof(*a));
		/* Out of memory: the limit cannot be kept, the peers told. */
		if (!a)
			return true;
		a->id = id;
		a->tokens = MED_ANNOUNCE_BURST;
		a->at = now;
		a->next = srv->announce[b];
		srv->announce[b] = a;
	}
	announce_refill(a, now);
	if (a->tokens >= 1.0) {
		a->tokens -= 1.0;
		return true;
	}
	*due = now + (int64_t)((1.0 - a->tokens) * MED_ANNOUNCE_EVERY_MS) +
	       1;
	return false;
}

void presence_tick(struct server *srv, int64_t now_ms)
{
	struct med_announce **pp, *a;
	size_t b;

	for (b = 0; b < MED_ANNOUNCE_BUCKETS; b++) {
		for (pp = &srv->announce[b]; (a = *pp);) {
			announce_refill(a, now_ms);
			if (a->tokens >= MED_ANNOUNCE_BURST) {
				*pp = a->next;
				free(a);
			} else {
				pp = &a->next;
			}
		}
	}
}

void presence_free(struct server *srv)
{
	presence_tick(srv, INT64_MAX / 2);
}

/* Each present peer of c gets PEER_UP for c (and c none). */
static void announce_to_peers(struct server *srv, struct conn *c)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (presence_peerset_get(srv, c->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n && !c->dead; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p)
			send_up(srv, p, c);
	}
	presence_peerset_free(&ps);
}

void presence_login(struct server *srv, struct conn *c, bool announce)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (presence_peerset_get(srv, c->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n && !c->dead; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (!p) {
			/* Online on another instance: it hears from ours. */
			const struct med_peer_info *r =
				cluster_remote_find(srv, ps.v[i].id);

			if (r)
				send_up_info(srv, c, r);
			continue;
		}
		send_up(srv, c, p);
		if (announce)
			send_up(srv, p, c);
	}
	presence_peerset_free(&ps);
}

void presence_down(struct server *srv, struct conn *c, uint8_t reason)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	/* Nobody heard it come: nobody needs to hear it go. */
	c->announced = false;
	if (!c->told)
		return;
	c->told = false;
	cluster_offline(srv, c, reason);
	if (presence_peerset_get(srv, c->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p && p != c)
			send_down(srv, p, c->client.pubkey, reason);
	}
	presence_peerset_free(&ps);
}

/* The hash of the PEER_UP about c: what its peers know of it. */
static int peer_view(struct server *srv, const struct conn *c,
		     uint8_t view[16])
{
	struct med_peer_info pi;
	int len;

	presence_info_of(c, &pi);
	len = build_peer_up(srv, &pi, true);
	if (len < 0)
		return -1;
	crypto_generichash(view, 16, srv->event, (size_t)len, NULL, 0);
	return 0;
}

/*
 * c's NAT changed (its netcheck finished after it was announced): its
 * present peers hear it in PEER_NAT, and the view is what they know now,
 * so a reconnect saying the same announces nothing new.
 */
/* PEER_NAT about the client with key. */
static int build_peer_nat(struct server *srv, const uint8_t *key,
			  const struct shoal_nat *n)
{
	uint8_t nat[MED_NAT_LEN];
	struct shoal_tlv_writer w;

	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_PEER_NAT, 0, 0);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, key, MSTORE_KEY_LEN);
	shoal_med_nat_put(nat, n);
	shoal_tlv_put(&w, MED_A_NAT, nat, sizeof(nat));
	return shoal_tlv_finish(&w);
}

void presence_nat(struct server *srv, struct conn *c)
{
	struct peerset ps;
	struct conn *p;
	size_t i;
	int len;

	if (!c->told || peer_view(srv, c, c->view) < 0)
		return;
	cluster_nat(srv, c);
	if (presence_peerset_get(srv, c->client.id, &ps) < 0)
		return;
	len = build_peer_nat(srv, c->client.pubkey, &c->nat);
	for (i = 0; i < ps.n && !c->dead && len > 0; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p && p != c)
			server_conn_send(srv, p, srv->event, len);
	}
	presence_peerset_free(&ps);
}

void presence_complete(struct server *srv, struct conn *c)
{
	uint8_t view[sizeof(c->view)];
	bool announce;

	/*
	 * Peers that know c (from the connection this one replaced, or an
	 * earlier LOGIN on it) hear again only if what they would be told
	 * changed: the PEER_UP itself is the view, hashed.
	 */
	if (peer_view(srv, c, view) < 0)
		return;
	announce = !c->announced || sodium_memcmp(view, c->view,
						  sizeof(view));
	c->announced = true;
	c->announce_due = 0;
	/*
	 * Past its rate, c hears of its peers now and they of it later
	 * (presence_due): the view stays what they were last told.
	 */
	if (announce && !announce_take(srv, c->client.id, &c->announce_due)) {
		presence_login(srv, c, false);
		return;
	}
	if (announce) {
		memcpy(c->view, view, sizeof(view));
		c->told = true;
		cluster_online(srv, c);
	}
	presence_login(srv, c, announce);
}

void presence_due(struct server *srv, struct conn *c)
{
	uint8_t view[sizeof(c->view)];

	c->announce_due = 0;
	if (!c->announced || peer_view(srv, c, view) < 0)
		return;
	if (!announce_take(srv, c->client.id, &c->announce_due))
		return;
	memcpy(c->view, view, sizeof(view));
	c->told = true;
	cluster_online(srv, c);
	announce_to_peers(srv, c);
}

bool presence_info_find(struct server *srv, int64_t id, bool announced,
			struct med_peer_info *pi)
{
	const struct med_peer_info *r;
	struct conn *c = announced ? server_present_find(srv, id) :
			 server_online_find(srv, id);

	if (c) {
		presence_info_of(c, pi);
		return true;
	}
	r = cluster_remote_find(srv, id);
	if (r)
		*pi = *r;
	return r != NULL;
}

void presence_apply(struct server *srv, int64_t who,
		    const uint8_t who_key[MSTORE_KEY_LEN],
		    const int64_t *added, size_t n_added,
		    const struct med_peer_ref *lost, size_t n_lost, bool both)
{
	struct med_peer_info wi, pi;
	struct conn *c, *p;
	size_t i;

	/* A pair that shares no network any more loses its relay. */
	if (relay_of_client(srv, who))
		for (i = 0; i < n_lost; i++)
			relay_free_pair(srv, who, lost[i].id);
	/*
	 * A new pair is news only where both sides are present (here or on
	 * another instance); this instance tells the sides that are here.
	 */
	for (i = 0; i < n_added; i++) {
		if (!presence_info_find(srv, who, true, &wi) ||
		    !presence_info_find(srv, added[i], true, &pi))
			continue;
		c = server_present_find(srv, who);
		if (c)
			send_up_info(srv, c, &pi);
		p = both ? server_present_find(srv, added[i]) : NULL;
		if (p)
			send_up_info(srv, p, &wi);
	}
	/*
	 * A lost pair is told to each side that is present, whether or not
	 * the other is: a member who closed its connection on purpose still
	 * has its tunnels, told to check liveness (PEER_DOWN reason 2), and
	 * this is what takes them down.
	 */
	for (i = 0; i < n_lost; i++) {
		c = server_present_find(srv, who);
		if (c)
			send_down(srv, c, lost[i].key, MED_DOWN_UNSHARED);
		p = both ? server_present_find(srv, lost[i].id) : NULL;
		if (p)
			send_down(srv, p, who_key, MED_DOWN_UNSHARED);
	}
}

void presence_changed(struct server *srv, const struct mstore_client *who,
		      const struct peerset *before,
		      const struct peerset *after, bool both)
{
	struct med_peer_ref *lost;
	int64_t *added;
	size_t i, n_added = 0, n_lost = 0;

	added = calloc(after->n + 1, sizeof(*added));
	lost = calloc(before->n + 1, sizeof(*lost));
	if (!added || !lost)
		goto out;
	for (i = 0; i < after->n; i++)
		if (!peerset_has(before, after->v[i].id))
			added[n_added++] = after->v[i].id;
	for (i = 0; i < before->n; i++) {
		if (peerset_has(after, before->v[i].id))
			continue;
		lost[n_lost].id = before->v[i].id;
		memcpy(lost[n_lost].key, before->v[i].pubkey, MSTORE_KEY_LEN);
		n_lost++;
	}
	presence_apply(srv, who->id, who->pubkey, added, n_added, lost, n_lost,
		       both);
	/* The other instances tell their own clients. */
	cluster_changed(srv, who, added, n_added, lost, n_lost, both);
out:
	free(added);
	free(lost);
}

/*
 * Pairs that still share a network but lost one (a leave, kick, ban or
 * delete): each side present here is told the other again, a PEER_UP of
 * a peer it has, so that what it keeps per network (chat's scope, the
 * names) is fetched anew at once, not at its next refresh: a member
 * kicked from one of two shared networks must not chat in it meanwhile.
 * Sides on another instance learn it at their refresh (30 s).
 */
void presence_regrouped(struct server *srv, int64_t who,
			const struct peerset *before,
			const struct peerset *after, bool both)
{
	struct conn *c = server_present_find(srv, who), *p;
	struct med_peer_info wi, pi;
	bool have_wi = presence_info_find(srv, who, true, &wi);
	size_t i;

	for (i = 0; i < after->n; i++) {
		if (!peerset_has(before, after->v[i].id))
			continue;
		if (c && presence_info_find(srv, after->v[i].id, true, &pi))
			send_up_info(srv, c, &pi);
		p = both ? server_present_find(srv, after->v[i].id) : NULL;
		if (p && have_wi)
			send_up_info(srv, p, &wi);
	}
}

/* ---- what other instances of the cluster say (cluster.c) ---- */

void presence_remote_up(struct server *srv, const struct med_peer_info *pi)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (presence_peerset_get(srv, pi->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p)
			send_up_info(srv, p, pi);
	}
	presence_peerset_free(&ps);
}

void presence_remote_down(struct server *srv, const struct mstore_client *who,
			  uint8_t reason)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (presence_peerset_get(srv, who->id, &ps) < 0)
		return;
	for (i = 0; i < ps.n; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p)
			send_down(srv, p, who->pubkey, reason);
	}
	presence_peerset_free(&ps);
}

void presence_remote_nat(struct server *srv, const struct med_peer_info *pi)
{
	struct peerset ps;
	struct conn *p;
	size_t i;
	int len;

	if (presence_peerset_get(srv, pi->client.id, &ps) < 0)
		return;
	len = build_peer_nat(srv, pi->client.pubkey, &pi->nat);
	for (i = 0; i < ps.n && len > 0; i++) {
		p = server_present_find(srv, ps.v[i].id);
		if (p)
			server_conn_send(srv, p, srv->event, len);
	}
	presence_peerset_free(&ps);
}
