// SPDX-License-Identifier: MIT
/*
 * The relay (docs/protocol.md, "Presence, punching and relaying" and
 * "NAT discovery and relaying"): a pair of peers that cannot reach each
 * other directly gets one UDP port from --relay-ports.  Each side proves
 * with a RELAY_BIND, MACed by the key only it was given over its control
 * connection, where it is; from then on a datagram from one side's bound
 * endpoint goes, unchanged, to the other side's.  Nothing else passes:
 * the relay is no open proxy, and a RELAY_BIND seen on the wire and
 * replayed from elsewhere moves nothing (its counter is not new).
 *
 * The relay never reads what it forwards: the peers' ESP and handshakes
 * are end to end.
 *
 * An allocation lives while both sides are online, share a network and
 * forward something at least every MED_RELAY_IDLE_MS.  Freeing one
 * during an epoll batch only marks it (a later event of the batch may
 * still name it); relay_reap() closes and frees it after the batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <sodium.h>

#include "ctlmsg.h"
#include "mediator.h"

#define READS_PER_EVENT 64
#define MARKER_LEN 4

static size_t n_slots(const struct server *srv)
{
	return (size_t)(srv->relay_hi - srv->relay_lo) + 1;
}

int relay_open(struct server *srv, uint16_t lo, uint16_t hi)
{
	if (!lo || lo > hi)
		return -EINVAL;
	srv->relay_lo = lo;
	srv->relay_hi = hi;
	srv->relays = calloc(n_slots(srv), sizeof(*srv->relays));
	return srv->relays ? 0 : -ENOMEM;
}

static void relay_free(struct server *srv, struct relay *r)
{
	if (r->dead)
		return;
	r->dead = true;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, r->fd, NULL);
	/* The keys are worthless now; wipe them before anything else. */
	sodium_memzero(r->side, sizeof(r->side));
	srv->relays[r->port - srv->relay_lo] = NULL;
	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		srv->relay_live = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	r->dead_next = srv->dead_relays;
	srv->dead_relays = r;
}

void relay_reap(struct server *srv)
{
	struct relay *r;

	while ((r = srv->dead_relays)) {
		srv->dead_relays = r->dead_next;
		close(r->fd);
		sodium_memzero(r, sizeof(*r));
		free(r);
	}
}

void relay_close(struct server *srv)
{
	while (srv->relay_live)
		relay_free(srv, srv->relay_live);
	relay_reap(srv);
	free(srv->relays);
	srv->relays = NULL;
}

static bool has(const struct relay *r, int64_t id)
{
	return r->side[0].client == id || r->side[1].client == id;
}

void relay_free_client(struct server *srv, int64_t id)
{
	struct relay *r, *next;

	for (r = srv->relay_live; r; r = next) {
		next = r->lnext;
		if (has(r, id))
			relay_free(srv, r);
	}
}

bool relay_of_client(struct server *srv, int64_t id)
{
	struct relay *r;

	for (r = srv->relay_live; r; r = r->lnext)
		if (has(r, id))
			return true;
	return false;
}

static struct relay *pair_find(struct server *srv, int64_t a, int64_t b)
{
	struct relay *r;

	for (r = srv->relay_live; r; r = r->lnext)
		if (has(r, a) && has(r, b))
			return r;
	return NULL;
}

void relay_free_pair(struct server *srv, int64_t a, int64_t b)
{
	struct relay *r = pair_find(srv, a, b);

	if (r)
		relay_free(srv, r);
}

void relay_tick(struct server *srv, int64_t now_ms)
{
	struct relay *r, *next;

	for (r = srv->relay_live; r; r = next) {
		next = r->lnext;
		if (now_ms - r->last_active >= MED_RELAY_IDLE_MS)
			relay_free(srv, r);
	}
}

/* A socket on the listen address at port; -1 if the port is taken. */
static int bind_port(struct server *srv, uint16_t port)
{
	struct sockaddr_storage ss = srv->listen_addr;
	bool dual = false;
	int fd;

	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_port = htons(port);
		dual = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	/* No SO_REUSEADDR: a port someone else holds must fail here. */
	if (udp_prepare(fd, ss.ss_family, dual) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, srv->listen_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct relay *relay_alloc(struct server *srv, const struct conn *a,
				 const struct conn *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	size_t n = n_slots(srv), start, i, k;
	struct relay *r;
	int fd = -1;

	/* From a random place: which port a pair gets says nothing. */
	start = randombytes_uniform((uint32_t)n);
	for (k = 0; k < n && fd < 0; k++) {
		i = (start + k) % n;
		if (!srv->relays[i])
			fd = bind_port(srv, (uint16_t)(srv->relay_lo + i));
	}
	if (fd < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return NULL;
	}
	r->h.kind = MED_K_RELAY;
	r->fd = fd;
	r->port = (uint16_t)(srv->relay_lo + i);
	r->last_active = server_now_ms();
	r->side[0].client = a->client.id;
	memcpy(r->side[0].pubkey, a->client.pubkey, 32);
	r->side[1].client = b->client.id;
	memcpy(r->side[1].pubkey, b->client.pubkey, 32);
	r->side[0].id = randombytes_random();
	do
		r->side[1].id = randombytes_random();
	while (r->side[1].id == r->side[0].id);
	randombytes_buf(r->side[0].key, MED_RELAY_KEY_LEN);
	randombytes_buf(r->side[1].key, MED_RELAY_KEY_LEN);
	ev.data.ptr = r;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		sodium_memzero(r, sizeof(*r));
		free(r);
		return NULL;
	}
	srv->relays[i] = r;
	r->lnext = srv->relay_live;
	if (r->lnext)
		r->lnext->lprev = r;
	srv->relay_live = r;
	return r;
}

int relay_request(struct server *srv, struct conn *c,
		  const uint8_t peer_key[32], struct relay **out)
{
	struct mstore_client cl;
	struct conn *p;
	bool peer = false;

	*out = NULL;
	if (!memcmp(peer_key, c->client.pubkey, 32) ||
	    mstore_client_by_key(srv->store, peer_key, &cl) != MSTORE_OK)
		return MED_E_NOT_PEER;
	p = present_find(srv, cl.id);
	if (!p || mstore_is_peer(srv->store, c->client.pubkey, peer_key,
				 &peer) != MSTORE_OK || !peer)
		return MED_E_NOT_PEER;
	*out = pair_find(srv, c->client.id, p->client.id);
	if (!*out)
		*out = relay_alloc(srv, c, p);
	return *out ? 0 : MED_E_RELAY_FULL;
}

/* RELAY for one side: the other's key, where to bind, its id and key. */
static void tell_side(struct server *srv, struct relay *r, int s)
{
	const struct relay_side *me = &r->side[s], *other = &r->side[!s];
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct shoal_tlv_writer w;
	struct med_endpoint e;
	uint8_t ep[MED_ENDPOINT_MAX];
	struct conn *c;
	int n;

	c = online_find(srv, me->client);
	/*
	 * The relay address is the one this client's TCP connection
	 * reached: it can reach it, and the relay socket serves it.
	 */
	if (!c || getsockname(c->fd, (struct sockaddr *)&local, &len) < 0 ||
	    med_endpoint_from(&e, (const struct sockaddr *)&local) < 0)
		return;
	e.port = r->port;
	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_RELAY_EVENT, 0, 0);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, other->pubkey, 32);
	shoal_tlv_put(&w, MED_A_ENDPOINT, ep, med_endpoint_put(ep, &e));
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, me->id);
	shoal_tlv_put(&w, MED_A_RELAY_KEY, me->key, MED_RELAY_KEY_LEN);
	n = shoal_tlv_finish(&w);
	conn_send(srv, c, srv->event, n);
	/* Sent means encrypted into the channel: the clear copy goes. */
	if (n > 0)
		sodium_memzero(srv->event, (size_t)n);
}

void relay_tell(struct server *srv, struct relay *r)
{
	tell_side(srv, r, 0);
	if (!r->dead)
		tell_side(srv, r, 1);
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen,
		      const struct sockaddr_storage *b, socklen_t blen)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;

		return alen >= sizeof(*x) && blen >= sizeof(*y) &&
		       x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;

		return alen >= sizeof(*x) && blen >= sizeof(*y) &&
		       x->sin6_port == y->sin6_port &&
		       x->sin6_scope_id == y->sin6_scope_id &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return false;
}

/* RELAY_BIND: 0 if it was one (taken or refused), -1 if not one at all. */
static int relay_bind(struct server *srv, struct relay *r, const uint8_t *buf,
		      size_t len, const struct sockaddr_storage *from,
		      socklen_t from_len, const struct med_local *local)
{
	uint8_t out[MARKER_LEN + SHOAL_CTL_RELAY_BIND_LEN];
	struct relay_side *s;
	uint64_t counter;
	uint32_t id;
	int n;

	if (len != MARKER_LEN + SHOAL_CTL_RELAY_BIND_LEN || buf[0] || buf[1] ||
	    buf[2] || buf[3] || buf[MARKER_LEN] != SHOAL_CTL_RELAY_BIND)
		return -1;
	if (shoal_ctl_parse_relay(buf + MARKER_LEN, len - MARKER_LEN,
				  SHOAL_CTL_RELAY_BIND, &id, &counter) < 0)
		goto drop;
	s = id == r->side[0].id ? &r->side[0] :
	    id == r->side[1].id ? &r->side[1] : NULL;
	/*
	 * MAC first, then the counter: a replay (same counter, any source)
	 * and a forgery both end here without an answer.
	 */
	if (!s || !shoal_ctl_relay_verify(buf + MARKER_LEN,
					  len - MARKER_LEN, s->key) ||
	    counter <= s->counter || from_len > sizeof(s->ep))
		goto drop;
	s->counter = counter;
	memcpy(&s->ep, from, from_len);
	s->ep_len = from_len;
	s->local = *local;
	s->bound = true;
	srv->stats.relay_binds++;
	memset(out, 0, MARKER_LEN);
	n = shoal_ctl_write_relay(out + MARKER_LEN, sizeof(out) - MARKER_LEN,
				  SHOAL_CTL_RELAY_BOUND, id, counter, s->key);
	if (n > 0)
		udp_send(r->fd, srv->listen_addr.ss_family, out,
			 MARKER_LEN + (size_t)n, from, from_len, local);
	return 0;
drop:
	srv->stats.relay_dropped++;
	return 0;
}

static void relay_forward(struct server *srv, struct relay *r,
			  const uint8_t *buf, size_t len,
			  const struct sockaddr_storage *from,
			  socklen_t from_len)
{
	struct relay_side *to = NULL;
	int i;

	for (i = 0; i < 2; i++)
		if (r->side[i].bound &&
		    same_addr(&r->side[i].ep, r->side[i].ep_len, from,
			      from_len))
			to = &r->side[!i];
	/*
	 * Unknown sources go nowhere; so does a side bound to the very
	 * endpoint the datagram came from (it would only bounce back).
	 */
	if (!to || !to->bound ||
	    same_addr(&to->ep, to->ep_len, from, from_len)) {
		srv->stats.relay_dropped++;
		return;
	}
	if (udp_send(r->fd, srv->listen_addr.ss_family, buf, len, &to->ep,
		     to->ep_len, &to->local) < 0) {
		srv->stats.relay_dropped++;
		return;
	}
	srv->stats.relayed++;
	r->last_active = server_now_ms();
}

void relay_readable(struct server *srv, struct relay *r)
{
	struct sockaddr_storage from;
	struct med_local local;
	socklen_t from_len;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT && !r->dead; i++) {
		n = udp_recv(r->fd, srv->dgram, sizeof(srv->dgram), &from,
			     &from_len, &local);
		if (n == -2) {
			srv->stats.relay_dropped++;
			continue;
		}
		if (n < 0)
			return;
		if (relay_bind(srv, r, srv->dgram, (size_t)n, &from, from_len,
			       &local) < 0)
			relay_forward(srv, r, srv->dgram, (size_t)n, &from,
				      from_len);
	}
}
