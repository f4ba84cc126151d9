// SPDX-License-Identifier: MIT
/*
 * Presence: PEER_UP and PEER_DOWN (docs/protocol.md, "Events").  Two
 * clients are peers while both are active members of some network;
 * mstore_peers_of() is the one definition.  An event goes out only where
 * both sides are online: an offline client has nobody to tell, and its
 * peers were told when it went offline.
 */
#include <stdlib.h>
#include <string.h>

#include "mediator.h"

int peerset_get(struct server *srv, int64_t id, struct peerset *ps)
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

void peerset_free(struct peerset *ps)
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

void med_put_addrs(struct shoal_tlv_writer *w,
		   const struct mstore_client *cl, unsigned int pool_prefix)
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

/* PEER_UP telling whoever receives it about c. */
static int build_peer_up(struct server *srv, const struct conn *c)
{
	struct shoal_tlv_writer w;
	uint8_t ep[19];
	unsigned int i;
	size_t len;

	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_PEER_UP, 0, 0);
	shoal_tlv_nest_start(&w, MED_A_PEER);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, c->client.pubkey, MSTORE_KEY_LEN);
	shoal_tlv_put_str(&w, MED_A_NICKNAME, c->client.nickname);
	med_put_addrs(&w, &c->client, srv->pool_prefix);
	for (i = 0; i < c->n_endpoints; i++) {
		const struct med_endpoint *e = &c->ep[i];
		size_t alen = e->family == 4 ? 4 : 16;

		ep[0] = e->family;
		memcpy(ep + 1, e->addr, alen);
		ep[1 + alen] = (uint8_t)(e->port >> 8);
		ep[2 + alen] = (uint8_t)e->port;
		len = 3 + alen;
		shoal_tlv_put(&w, MED_A_ENDPOINT, ep, len);
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

/* Tells to about peer. */
static void send_up(struct server *srv, struct conn *to,
		    const struct conn *peer)
{
	conn_send(srv, to, srv->event, build_peer_up(srv, peer));
}

static void send_down(struct server *srv, struct conn *to,
		      const uint8_t *key, uint8_t reason)
{
	conn_send(srv, to, srv->event, build_peer_down(srv, key, reason));
}

void presence_login(struct server *srv, struct conn *c, bool announce)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (peerset_get(srv, c->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n && !c->dead; i++) {
		p = online_find(srv, ps.v[i].id);
		if (!p)
			continue;
		send_up(srv, c, p);
		if (announce)
			send_up(srv, p, c);
	}
	peerset_free(&ps);
}

void presence_down(struct server *srv, struct conn *c, uint8_t reason)
{
	struct peerset ps;
	struct conn *p;
	size_t i;

	if (peerset_get(srv, c->client.id, &ps) < 0)
		return;
	for (i = 0; i < ps.n; i++) {
		p = online_find(srv, ps.v[i].id);
		if (p && p != c)
			send_down(srv, p, c->client.pubkey, reason);
	}
	peerset_free(&ps);
}

void presence_changed(struct server *srv, int64_t id,
		      const struct peerset *before,
		      const struct peerset *after, bool both)
{
	struct conn *c = online_find(srv, id), *p;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < after->n; i++) {
		if (peerset_has(before, after->v[i].id))
			continue;
		p = online_find(srv, after->v[i].id);
		if (!p || !online_find(srv, id))
			continue;
		send_up(srv, c, p);
		if (both)
			send_up(srv, p, c);
	}
	for (i = 0; i < before->n; i++) {
		if (peerset_has(after, before->v[i].id))
			continue;
		p = online_find(srv, before->v[i].id);
		if (!p || !online_find(srv, id))
			continue;
		send_down(srv, c, p->client.pubkey, MED_DOWN_UNSHARED);
		if (both)
			send_down(srv, p, c->client.pubkey, MED_DOWN_UNSHARED);
	}
}
