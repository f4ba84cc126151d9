// SPDX-License-Identifier: MIT
/*
 * The registered relays (docs/protocol.md, "Relay servers"): a
 * shoal-relay connects over the same Noise channel as clients and says
 * RELAY_REGISTER; only one whose static key was given with --relay-key
 * is taken.  Its ports are at the address its connection comes from.
 * The mediator keeps a record of each allocation it put there (struct
 * relay with fd -1): the pair, the sides' ids and keys, and the port the
 * relay gave.  A relay that goes (its connection) has its pairs moved to
 * another relay or the built-in ports.  On re-registering, a relay
 * reports what it still holds (RELAY_HOLDS) and the mediator adopts it,
 * so that a restarted mediator hands out the same allocation.
 *
 * A relay is trusted to forward its pairs' traffic, nothing more: what it
 * says is bounded (MED_RELAY_MAX_ALLOCS, MED_RELAY_MSGS_PER_S, exact
 * lengths, a port for a pending allocation of its own only), and an
 * allocation it reports is adopted only for two clients that are peers
 * and have none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "be.h"
#include "key.h"
#include "relay.h"
#include "relay_remote.h"
#include "server.h"

static void say(const struct med_relay *m, const char *what)
{
	char b64[SHOAL_KEY_B64_LEN + 1];

	shoal_key_to_base64(b64, m->key);
	fprintf(stderr, "shoal-mediator: relay %s: %s\n", b64, what);
}

static struct relay *record_find(struct server *srv,
				 const struct med_relay *m, uint32_t id0)
{
	struct relay *r;

	for (r = srv->remote_live; r; r = r->lnext)
		if (r->remote == m && r->side[0].id == id0)
			return r;
	return NULL;
}

static struct relay *record_new(struct server *srv, struct med_relay *m)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->h.kind = MED_K_RELAY;
	r->fd = -1;
	r->remote = m;
	r->lnext = srv->remote_live;
	if (r->lnext)
		r->lnext->lprev = r;
	srv->remote_live = r;
	m->n_allocs++;
	return r;
}

void relay_remote_drop(struct server *srv, struct relay *r, bool tell)
{
	struct med_relay *m = r->remote;
	struct shoal_tlv_writer w;

	if (tell && m->c && r->port) {
		shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
				      MED_RELAY_FREE, 0, 0);
		shoal_tlv_put_u32(&w, MED_A_RELAY_ID, r->side[0].id);
		server_conn_send(srv, m->c, srv->event, shoal_tlv_finish(&w));
	}
	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		srv->remote_live = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	m->n_allocs--;
	sodium_memzero(r, sizeof(*r));
	free(r);
}

/*
 * The tag on an allocation: keyed BLAKE2b-128 under a key only this
 * mediator's private key gives (it survives a restart, as adoption
 * needs), over the relay's key and both sides' keys, ids and relay keys.
 * A relay cannot make one for a pair it was not given.
 */
static void hold_tag(const struct server *srv, const struct med_relay *m,
		     const struct relay_side *s, uint8_t *tag)
{
	crypto_generichash_state st;
	uint8_t key[32];
	unsigned int i;

	crypto_generichash(key, sizeof(key), (const uint8_t *)"shoal relay hold",
			   16, srv->priv, sizeof(srv->priv));
	crypto_generichash_init(&st, key, sizeof(key), 16);
	crypto_generichash_update(&st, m->key, 32);
	for (i = 0; i < 2; i++) {
		uint8_t id[4];

		shoal_put_be32(id, s[i].id);
		crypto_generichash_update(&st, s[i].pubkey, 32);
		crypto_generichash_update(&st, id, sizeof(id));
		crypto_generichash_update(&st, s[i].key, sizeof(s[i].key));
	}
	crypto_generichash_final(&st, tag, 16);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
}

/* The least loaded relay (our records, then its bytes) but avoid. */
static struct med_relay *pick(struct server *srv,
			      const struct med_relay *avoid)
{
	struct med_relay *m, *best = NULL;

	for (m = srv->relay_servers; m; m = m->next) {
		if (m == avoid || !m->c || m->c->dead ||
		    m->n_allocs >= MED_RELAY_MAX_ALLOCS)
			continue;
		if (!best || m->n_allocs < best->n_allocs ||
		    (m->n_allocs == best->n_allocs &&
		     m->load_bytes < best->load_bytes))
			best = m;
	}
	return best;
}

struct relay *relay_remote_alloc(struct server *srv,
				 const struct med_peer_info *a,
				 const struct med_peer_info *b,
				 int64_t requested_by,
				 const struct med_relay *avoid)
{
	struct med_relay *m = pick(srv, avoid);
	struct shoal_tlv_writer w;
	struct relay *r;
	int n;

	if (!m || !(r = record_new(srv, m)))
		return NULL;
	r->requested_by = requested_by;
	r->asked_at = server_now_ms();
	r->side[0].client = a->client.id;
	memcpy(r->side[0].pubkey, a->client.pubkey, 32);
	r->side[1].client = b->client.id;
	memcpy(r->side[1].pubkey, b->client.pubkey, 32);
	/* Side 0's id names the allocation between us and the relay. */
	do
		relay_sides_random(r);
	while (record_find(srv, m, r->side[0].id) != r);
	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_RELAY_ALLOCATE, 0, 0);
	relay_side_put(&w, &r->side[0]);
	relay_side_put(&w, &r->side[1]);
	hold_tag(srv, m, r->side, r->hold_tag);
	shoal_tlv_put(&w, MED_A_RELAY_TAG, r->hold_tag, sizeof(r->hold_tag));
	n = shoal_tlv_finish(&w);
	server_conn_send(srv, m->c, srv->event, n);
	if (n > 0)
		sodium_memzero(srv->event, (size_t)n);
	return r;
}

/*
 * RELAY_HOLDS: an allocation the relay still has, as the mediator (this
 * one or one before it) made it.  Adopted if the two clients exist, are
 * peers and have no other allocation; else refused, and the relay frees
 * it.
 */
static int holds(struct server *srv, struct med_relay *m,
		 const struct shoal_tlv_msg *msg)
{
	struct relay_side s[2] = { 0 };
	struct mstore_client cl[2];
	struct shoal_tlv_attr a;
	struct shoal_tlv_iter it;
	struct relay *r;
	uint8_t tag[16], want[16];
	bool has_tag = false;
	uint16_t port = 0;
	bool peer = false;
	int n = 0, i;

	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type == MED_A_RELAY_PORT && !shoal_tlv_get_u16(&a, &port))
			return MSTORE_E_INVALID;
		if (a.type == MED_A_RELAY_SIDE &&
		    (n == 2 || relay_side_get(&a, &s[n++]) < 0))
			return MSTORE_E_INVALID;
		if (a.type == MED_A_RELAY_TAG) {
			if (a.len != sizeof(tag))
				return MSTORE_E_INVALID;
			memcpy(tag, a.value, sizeof(tag));
			has_tag = true;
		}
	}
	if (n != 2 || !port || s[0].id == s[1].id || !has_tag)
		return MSTORE_E_INVALID;
	/* Only what we (this key) allocated to this relay. */
	hold_tag(srv, m, s, want);
	if (sodium_memcmp(tag, want, sizeof(tag)))
		return MED_E_NOT_RELAY;
	r = record_find(srv, m, s[0].id);
	if (r)
		return r->port == port && r->side[1].id == s[1].id ?
		       MSTORE_OK : MED_E_NOT_RELAY;
	if (m->n_allocs >= MED_RELAY_MAX_ALLOCS)
		return MED_E_RELAY_FULL;
	for (i = 0; i < 2; i++)
		if (mstore_client_by_key(srv->store, s[i].pubkey, &cl[i]) !=
		    MSTORE_OK)
			return MED_E_NOT_PEER;
	if (cl[0].id == cl[1].id ||
	    mstore_is_peer(srv->store, s[0].pubkey, s[1].pubkey, &peer) !=
	    MSTORE_OK || !peer || relay_pair_find(srv, cl[0].id, cl[1].id))
		return MED_E_NOT_PEER;
	r = record_new(srv, m);
	if (!r)
		return MSTORE_E_NOMEM;
	memcpy(r->side, s, sizeof(s));
	r->side[0].client = cl[0].id;
	r->side[1].client = cl[1].id;
	/* Adopted: no client asked for it, nor counts it against a quota. */
	r->requested_by = 0;
	memcpy(r->hold_tag, tag, sizeof(tag));
	r->port = port;
	sodium_memzero(s, sizeof(s));
	return MSTORE_OK;
}

/* RELAY_ALLOCATED: the port of an allocation we asked for, or a no. */
static int allocated(struct server *srv, struct med_relay *m,
		     const struct shoal_tlv_msg *msg)
{
	struct shoal_tlv_attr a;
	struct relay *r;
	uint32_t id;
	uint16_t port = 0;

	if (!shoal_tlv_find(msg, MED_A_RELAY_ID, &a) ||
	    !shoal_tlv_get_u32(&a, &id))
		return MSTORE_E_INVALID;
	r = record_find(srv, m, id);
	if (!r || r->port)
		return MED_E_NOT_RELAY;
	if (!shoal_tlv_find(msg, MED_A_RELAY_PORT, &a) ||
	    !shoal_tlv_get_u16(&a, &port) || !port) {
		relay_move(srv, r);
		return MSTORE_OK;
	}
	r->port = port;
	relay_tell(srv, r);
	return MSTORE_OK;
}

static int do_register(struct server *srv, struct conn *c)
{
	struct med_relay *m;
	uint8_t key[32];
	unsigned int i;

	if (c->logged_in || shoal_channel_remote_key(&c->ch, key) < 0)
		return MED_E_NOT_RELAY;
	for (i = 0; i < srv->n_relay_keys; i++)
		if (!sodium_memcmp(srv->relay_keys[i], key, 32))
			break;
	if (i == srv->n_relay_keys) {
		struct med_relay who = { 0 };

		memcpy(who.key, key, 32);
		say(&who, "refused: not a --relay-key");
		return MED_E_NOT_RELAY;
	}
	for (m = srv->relay_servers; m; m = m->next)
		if (!memcmp(m->key, key, 32))
			break;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return MSTORE_E_NOMEM;
		memcpy(m->key, key, 32);
		m->next = srv->relay_servers;
		srv->relay_servers = m;
	} else if (m->c && m->c != c) {
		/* Back before we saw it go: the new connection is it. */
		m->c->relay = NULL;
		server_conn_kill(srv, m->c, MED_DOWN_NONE);
	}
	m->c = c;
	m->n_holds = 0;
	c->relay = m;
	if (udp_endpoint_from(&m->ep, (const struct sockaddr *)&c->addr) < 0)
		return MSTORE_E_INVALID;
	m->ep.port = 0;
	say(m, "registered");
	return MSTORE_OK;
}

int relay_remote_request(struct server *srv, struct conn *c,
			 const struct shoal_tlv_msg *msg)
{
	struct med_relay *m = c->relay;
	int64_t now = server_now_ms();
	struct shoal_tlv_attr a;
	struct relay *r;
	uint32_t id;

	if (msg->type == MED_RELAY_REGISTER)
		return m ? MSTORE_OK : do_register(srv, c);
	if (!m)
		return MED_E_NOT_RELAY;
	if (now - m->window_at >= 1000) {
		m->window_at = now;
		m->window_msgs = 0;
	}
	/*
	 * Its report after registering may be a burst: as many as it may
	 * hold, once a registration; everything else at most so many a
	 * second.
	 */
	if (msg->type == MED_RELAY_HOLDS ? ++m->n_holds > MED_RELAY_MAX_ALLOCS :
	    ++m->window_msgs > MED_RELAY_MSGS_PER_S) {
		say(m, "too many messages; dropped");
		server_conn_kill(srv, c, MED_DOWN_LOST);
		return MED_E_NOT_RELAY;
	}
	switch (msg->type) {
	case MED_RELAY_LOAD:
		if (!shoal_tlv_find(msg, MED_A_RELAY_LOAD, &a) || a.nested ||
		    a.len != MED_RELAY_LOAD_LEN)
			return MSTORE_E_INVALID;
		m->load_allocs = shoal_get_be32(a.value);
		m->load_bytes = shoal_get_be64(a.value + 4);
		return MSTORE_OK;
	case MED_RELAY_ALLOCATED:
		return allocated(srv, m, msg);
	case MED_RELAY_HOLDS:
		return holds(srv, m, msg);
	case MED_RELAY_GONE:
		if (!shoal_tlv_find(msg, MED_A_RELAY_ID, &a) ||
		    !shoal_tlv_get_u32(&a, &id))
			return MSTORE_E_INVALID;
		r = record_find(srv, m, id);
		if (!r)
			return MED_E_NOT_RELAY;
		relay_remote_drop(srv, r, false);
		return MSTORE_OK;
	}
	return MED_E_UNKNOWN_REQUEST;
}

void relay_remote_lost(struct server *srv, struct conn *c)
{
	struct med_relay *m = c->relay, **pp;
	struct relay *r, *next;

	if (!m)
		return;
	c->relay = NULL;
	m->c = NULL;
	say(m, m->n_allocs ? "gone; its pairs move" : "gone");
	for (pp = &srv->relay_servers; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	for (r = srv->remote_live; r; r = next) {
		next = r->lnext;
		if (r->remote == m)
			relay_move(srv, r);
	}
	free(m);
}

void relay_remote_tick(struct server *srv, int64_t now_ms)
{
	struct relay *r, *next;

	for (r = srv->remote_live; r; r = next) {
		next = r->lnext;
		if (!r->port && now_ms - r->asked_at >= MED_RELAY_ALLOC_WAIT_MS)
			relay_move(srv, r);
	}
}

void relay_remote_close(struct server *srv)
{
	struct med_relay *m;

	while (srv->remote_live)
		relay_remote_drop(srv, srv->remote_live, false);
	while ((m = srv->relay_servers)) {
		srv->relay_servers = m->next;
		if (m->c)
			m->c->relay = NULL;
		free(m);
	}
}
