// SPDX-License-Identifier: MIT
/*
 * The relayed pairs (docs/protocol.md, "Presence, punching and relaying",
 * "NAT discovery and relaying" and "Relay servers"): a pair of peers that
 * cannot reach each other directly gets one allocation, a UDP port with a
 * RELAY_ID and RELAY_KEY for each side.  Where: on the least loaded
 * registered shoal-relay (relay_remote.c), or, with none registered, on
 * the mediator's own ports from --relay-ports (relay_core.c does the
 * forwarding, the same code as shoal-relay's).  A client holds at most
 * --relays-per-client allocations it asked for.
 *
 * An allocation lives while both sides are online and share a network;
 * on the built-in ports also while it forwards something at least every
 * MED_RELAY_IDLE_MS (a shoal-relay times its own out and says RELAY_GONE).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay.h"
#include "relay_remote.h"
#include "server.h"

int relay_open(struct server *srv, uint16_t lo, uint16_t hi)
{
	int ret = relay_ports_open(&srv->rp, srv->epfd, &srv->listen_addr,
				   srv->listen_len, lo, hi);

	srv->rp.rate = srv->lim.relay_rate;
	return ret;
}

void relay_close(struct server *srv)
{
	relay_remote_close(srv);
	relay_ports_close(&srv->rp);
}

void relay_readable(struct server *srv, struct relay *r)
{
	relay_ports_readable(&srv->rp, r);
}

void relay_reap(struct server *srv)
{
	relay_ports_reap(&srv->rp);
}

void relay_tick(struct server *srv, int64_t now_ms)
{
	relay_ports_tick(&srv->rp, now_ms, NULL, NULL);
	relay_remote_tick(srv, now_ms);
}

/* Every allocation: the built-in ports' first, then the relays'. */
static struct relay *first(struct server *srv)
{
	return srv->rp.live ? srv->rp.live : srv->remote_live;
}

static struct relay *next_of(struct server *srv, struct relay *r)
{
	if (r->lnext || r->remote)
		return r->lnext;
	return srv->remote_live;
}

void relay_free(struct server *srv, struct relay *r)
{
	if (r->remote)
		relay_remote_drop(srv, r, true);
	else
		relay_ports_free(&srv->rp, r);
}

static bool has(const struct relay *r, int64_t id)
{
	return r->side[0].client == id || r->side[1].client == id;
}

void relay_free_client(struct server *srv, int64_t id)
{
	struct relay *r, *next;

	for (r = first(srv); r; r = next) {
		next = next_of(srv, r);
		if (has(r, id))
			relay_free(srv, r);
	}
}

bool relay_of_client(struct server *srv, int64_t id)
{
	struct relay *r;

	for (r = first(srv); r; r = next_of(srv, r))
		if (has(r, id))
			return true;
	return false;
}

struct relay *relay_pair_find(struct server *srv, int64_t a, int64_t b)
{
	struct relay *r;

	for (r = first(srv); r; r = next_of(srv, r))
		if (has(r, a) && has(r, b))
			return r;
	return NULL;
}

/*
 * Both sides of a pair on two instances may ask for a relay at once: each
 * instance allocates one and tells the far side of its own through the
 * bus, and the sides would end on different relays, each bound where the
 * other is not.  One allocation must win on both instances without a
 * round trip: the instance whose name sorts first keeps its own, drops
 * the other's RELAY and tells both sides of its own again (the other may
 * have allocated after its first telling, for a side asking anew); the
 * other frees its own and passes the winner's on.
 */
bool relay_delivered_loses(struct server *srv, int64_t id,
			   const uint8_t *event, size_t len, bool ours_wins)
{
	struct shoal_tlv_attr key;
	struct shoal_tlv_msg m;
	struct relay *r;
	int s;

	if (shoal_tlv_parse(&m, event, len) < 0 || m.type != MED_RELAY_EVENT ||
	    !shoal_tlv_find(&m, MED_A_PUBLIC_KEY, &key) || key.len != 32)
		return false;
	for (r = first(srv); r; r = next_of(srv, r)) {
		if (!has(r, id))
			continue;
		s = r->side[0].client == id;
		if (sodium_memcmp(r->side[s].pubkey, key.value, 32))
			continue;
		if (ours_wins) {
			relay_tell(srv, r);
			return true;
		}
		relay_free(srv, r);
		return false;
	}
	return false;
}

void relay_free_pair(struct server *srv, int64_t a, int64_t b)
{
	struct relay *r = relay_pair_find(srv, a, b);

	if (r)
		relay_free(srv, r);
}

/*
 * The allocations client id asked for: they count against it alone, so
 * that nobody fills another's quota by asking for relays to it.
 */
static unsigned int relays_requested(struct server *srv, int64_t id)
{
	unsigned int n = 0;
	struct relay *r;

	for (r = first(srv); r; r = next_of(srv, r))
		n += r->requested_by == id;
	return n;
}

static bool udp_blocked(const struct med_peer_info *c)
{
	return c->nat.known && c->nat.udp_blocked;
}

struct relay *relay_assign(struct server *srv, const struct med_peer_info *a,
			   const struct med_peer_info *b, int64_t requested_by,
			   const struct med_relay *avoid)
{
	struct relay *r = NULL;

	/*
	 * A side whose UDP is blocked reaches relays only through our TCP
	 * bridge, which forwards to the built-in relay ports alone.
	 */
	if (!(srv->bridge && (udp_blocked(a) || udp_blocked(b))))
		r = relay_remote_alloc(srv, a, b, requested_by, avoid);
	if (r)
		return r;
	r = relay_ports_alloc(&srv->rp);
	if (!r)
		return NULL;
	r->requested_by = requested_by;
	r->side[0].client = a->client.id;
	memcpy(r->side[0].pubkey, a->client.pubkey, 32);
	r->side[1].client = b->client.id;
	memcpy(r->side[1].pubkey, b->client.pubkey, 32);
	relay_sides_random(r);
	return r;
}

void relay_move(struct server *srv, struct relay *r)
{
	const struct med_relay *from = r->remote;
	struct med_peer_info a, b;
	/* Logged in is enough: a side not yet announced hears it too. */
	bool have = presence_info_find(srv, r->side[0].client, false, &a) &&
		    presence_info_find(srv, r->side[1].client, false, &b);
	int64_t by = r->requested_by;
	struct relay *n;

	relay_remote_drop(srv, r, false);
	if (!have)
		return;
	n = relay_assign(srv, &a, &b, by, from);
	if (n)
		relay_tell(srv, n);
}

int relay_request(struct server *srv, struct conn *c,
		  const uint8_t peer_key[32], struct relay **out)
{
	struct med_peer_info me, other;
	const struct med_peer_info *remote;
	struct mstore_client cl;
	struct conn *p;
	bool peer = false;

	*out = NULL;
	if (!memcmp(peer_key, c->client.pubkey, 32) ||
	    mstore_client_by_key(srv->store, peer_key, &cl) != MSTORE_OK)
		return MED_E_NOT_PEER;
	/* Present here, or on another instance of the cluster. */
	p = server_present_find(srv, cl.id);
	remote = p ? NULL : cluster_remote_find(srv, cl.id);
	if ((!p && !remote) ||
	    mstore_is_peer(srv->store, c->client.pubkey, peer_key,
			   &peer) != MSTORE_OK || !peer)
		return MED_E_NOT_PEER;
	*out = relay_pair_find(srv, c->client.id, cl.id);
	if (*out)
		return 0;
	if (srv->lim.relays_per_client &&
	    relays_requested(srv, c->client.id) >= srv->lim.relays_per_client)
		return MED_E_RELAY_QUOTA;
	presence_info_of(c, &me);
	if (p)
		presence_info_of(p, &other);
	else
		other = *remote;
	*out = relay_assign(srv, &me, &other, c->client.id, NULL);
	return *out ? 0 : MED_E_RELAY_FULL;
}

/*
 * Where side s is to reach the built-in relay: the address its TCP
 * connection reached; for a side on another instance, this instance's
 * advertised address if it is one, else the one the other side's
 * connection reached.  0, or -1.
 */
static int builtin_addr(struct server *srv, struct relay *r, int s,
			struct med_endpoint *e)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct conn *c = server_online_find(srv, r->side[s].client);

	if (!c && !cluster_advertised(srv, e))
		return 0;
	if (!c)
		c = server_online_find(srv, r->side[!s].client);
	if (!c || getsockname(c->fd, (struct sockaddr *)&local, &len) < 0 ||
	    udp_endpoint_from(e, (const struct sockaddr *)&local) < 0)
		return -1;
	return 0;
}

/* RELAY for one side: the other's key, where to bind, its id and key. */
static void tell_side(struct server *srv, struct relay *r, int s)
{
	const struct relay_side *me = &r->side[s], *other = &r->side[!s];
	struct shoal_tlv_writer w;
	struct med_endpoint e;
	uint8_t ep[MED_ENDPOINT_MAX];
	struct conn *c;
	int n;

	c = server_online_find(srv, me->client);
	/* On another instance: it tells that side (the bus's DELIVER). */
	if (!c && !cluster_remote_find(srv, me->client))
		return;
	/*
	 * The built-in relay's address is the one this client's TCP
	 * connection reached: it can reach it, and the relay socket
	 * serves it.
	 */
	if (r->remote)
		e = r->remote->ep;
	else if (builtin_addr(srv, r, s, &e) < 0)
		return;
	e.port = r->port;
	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_RELAY_EVENT, 0, 0);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, other->pubkey, 32);
	shoal_tlv_put(&w, MED_A_ENDPOINT, ep, udp_endpoint_put(ep, &e));
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, me->id);
	shoal_tlv_put(&w, MED_A_RELAY_KEY, me->key, MED_RELAY_KEY_LEN);
	n = shoal_tlv_finish(&w);
	if (c)
		server_conn_send(srv, c, srv->event, n);
	else
		cluster_deliver(srv, me->client, srv->event, n);
	/* Sent means encrypted into the channel: the clear copy goes. */
	if (n > 0)
		sodium_memzero(srv->event, (size_t)n);
}

void relay_tell(struct server *srv, struct relay *r)
{
	/* A shoal-relay's before it gave the port: told when it does. */
	if (!r->port)
		return;
	tell_side(srv, r, 0);
	if (!r->dead)
		tell_side(srv, r, 1);
}
