// SPDX-License-Identifier: MIT
/*
 * The relay (docs/protocol.md, "Presence, punching and relaying" and
 * "NAT discovery and relaying"): a pair of peers that cannot reach each
 * other directly gets one UDP port from --relay-ports.  Each side proves
 * with a RELAY_BIND, MACed by the key only it was given over its control
 * connection, that it is the side; and, by echoing the cookie of the
 * RELAY_CHALLENGE the relay sends back to where the RELAY_BIND came from,
 * that it receives there: a RELAY_BIND with a forged source address binds
 * nothing, so the relay cannot be pointed at a third party.  From then on
 * a datagram from one side's bound endpoint goes, unchanged, to the other
 * side's, within the pair's byte budget (--relay-rate).  Nothing else
 * passes: the relay is no open proxy, and a RELAY_BIND seen on the wire
 * and replayed from elsewhere moves nothing (its counter is not new).
 * A client holds at most --relays-per-client allocations it asked for.
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

#include "be.h"
#include "ctlmsg.h"
#include "relay.h"
#include "server.h"

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
	r->requested_by = a->client.id;
	r->tokens = 2.0 * (double)srv->lim.relay_rate;
	r->tokens_at = r->last_active;
	randombytes_buf(r->cookie_key, sizeof(r->cookie_key));
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

/*
 * The allocations client id asked for: they count against it alone, so
 * that nobody fills another's quota by asking for relays to it.
 */
static unsigned int relays_requested(struct server *srv, int64_t id)
{
	unsigned int n = 0;
	struct relay *r;

	for (r = srv->relay_live; r; r = r->lnext)
		n += r->requested_by == id;
	return n;
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
	p = server_present_find(srv, cl.id);
	if (!p || mstore_is_peer(srv->store, c->client.pubkey, peer_key,
				 &peer) != MSTORE_OK || !peer)
		return MED_E_NOT_PEER;
	*out = pair_find(srv, c->client.id, p->client.id);
	if (*out)
		return 0;
	if (srv->lim.relays_per_client &&
	    relays_requested(srv, c->client.id) >= srv->lim.relays_per_client)
		return MED_E_RELAY_QUOTA;
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

	c = server_online_find(srv, me->client);
	/*
	 * The relay address is the one this client's TCP connection
	 * reached: it can reach it, and the relay socket serves it.
	 */
	if (!c || getsockname(c->fd, (struct sockaddr *)&local, &len) < 0 ||
	    udp_endpoint_from(&e, (const struct sockaddr *)&local) < 0)
		return;
	e.port = r->port;
	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_RELAY_EVENT, 0, 0);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, other->pubkey, 32);
	shoal_tlv_put(&w, MED_A_ENDPOINT, ep, udp_endpoint_put(ep, &e));
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, me->id);
	shoal_tlv_put(&w, MED_A_RELAY_KEY, me->key, MED_RELAY_KEY_LEN);
	n = shoal_tlv_finish(&w);
	server_conn_send(srv, c, srv->event, n);
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

/*
 * The cookie of a RELAY_CHALLENGE to side id at from, in epoch: keyed by
 * the allocation's own secret, over the side and the whole endpoint.
 * Only who receives at from learns it.
 */
static int cookie_of(const struct relay *r, uint32_t id, int64_t epoch,
		     const struct sockaddr_storage *from,
		     uint8_t cookie[SHOAL_CTL_RELAY_COOKIE_LEN])
{
	struct med_endpoint e;
	uint8_t msg[8 + 4 + 1 + 16 + 2];

	if (udp_endpoint_from(&e, (const struct sockaddr *)from) < 0)
		return -1;
	memset(msg, 0, sizeof(msg));
	shoal_put_be64(msg, (uint64_t)epoch);
	shoal_put_be32(msg + 8, id);
	msg[12] = e.family;
	memcpy(msg + 13, e.addr, 16);
	shoal_put_be16(msg + 29, e.port);
	crypto_generichash(cookie, SHOAL_CTL_RELAY_COOKIE_LEN, msg,
			   sizeof(msg), r->cookie_key, sizeof(r->cookie_key));
	return 0;
}

/* The cookie is from this epoch or the one before, for from. */
static bool cookie_ok(const struct relay *r, uint32_t id, int64_t now,
		      const struct sockaddr_storage *from,
		      const uint8_t *cookie)
{
	uint8_t want[SHOAL_CTL_RELAY_COOKIE_LEN];
	int64_t epoch = now / MED_RELAY_COOKIE_EPOCH_MS, e;

	for (e = epoch; e >= epoch - 1; e--)
		if (!cookie_of(r, id, e, from, want) &&
		    !sodium_memcmp(want, cookie, sizeof(want)))
			return true;
	return false;
}

/* Sends type (BOUND or CHALLENGE) for side s to from. */
static void relay_answer(struct server *srv, struct relay *r,
			 const struct relay_side *s, enum shoal_ctl_type type,
			 uint64_t counter, const uint8_t *cookie,
			 const struct sockaddr_storage *from,
			 socklen_t from_len, const struct med_local *local)
{
	uint8_t out[MARKER_LEN + SHOAL_CTL_RELAY_CHALLENGE_LEN];
	int n;

	memset(out, 0, MARKER_LEN);
	n = shoal_ctl_write_relay(out + MARKER_LEN, sizeof(out) - MARKER_LEN,
				  type, s->id, counter, cookie, s->key);
	if (n > 0)
		udp_send(r->fd, srv->listen_addr.ss_family, out,
			 MARKER_LEN + (size_t)n, from, from_len, local);
}

/*
 * RELAY_BIND: 0 if it was one (taken or refused), -1 if not one at all.
 * Its MAC says it is the side's; then it binds the side to its source
 * if that is where the side is bound already, or if it echoes the cookie
 * of a RELAY_CHALLENGE sent there.  Otherwise it gets a RELAY_CHALLENGE,
 * no bigger than itself (this port amplifies nothing), once per counter
 * and at most every MED_RELAY_CHALLENGE_MS: a RELAY_BIND sent with
 * someone else's address binds nothing, and its challenge goes there
 * and is lost.
 */
static int relay_bind(struct server *srv, struct relay *r, const uint8_t *buf,
		      size_t len, const struct sockaddr_storage *from,
		      socklen_t from_len, const struct med_local *local)
{
	uint8_t cookie[SHOAL_CTL_RELAY_COOKIE_LEN];
	int64_t now = server_now_ms();
	struct relay_side *s;
	uint64_t counter;
	uint32_t id;

	if (len != MARKER_LEN + SHOAL_CTL_RELAY_BIND_LEN || buf[0] || buf[1] ||
	    buf[2] || buf[3] || buf[MARKER_LEN] != SHOAL_CTL_RELAY_BIND)
		return -1;
	if (shoal_ctl_parse_relay(buf + MARKER_LEN, len - MARKER_LEN,
				  SHOAL_CTL_RELAY_BIND, &id, &counter,
				  cookie) < 0)
		goto drop;
	s = id == r->side[0].id ? &r->side[0] :
	    id == r->side[1].id ? &r->side[1] : NULL;
	/*
	 * MAC first, then the counter: a replay (same counter, any source)
	 * and a forgery both end here without an answer.
	 */
	if (!s || !shoal_ctl_relay_verify(buf + MARKER_LEN,
					  len - MARKER_LEN, s->key) ||
	    from_len > sizeof(s->ep))
		goto drop;
	if ((s->bound && same_addr(&s->ep, s->ep_len, from, from_len)) ||
	    cookie_ok(r, id, now, from, cookie)) {
		if (counter <= s->counter)
			goto drop;
		s->counter = counter;
		memcpy(&s->ep, from, from_len);
		s->ep_len = from_len;
		s->local = *local;
		s->bound = true;
		srv->stats.relay_binds++;
		relay_answer(srv, r, s, SHOAL_CTL_RELAY_BOUND, counter, NULL,
			     from, from_len, local);
		return 0;
	}
	if (counter <= s->counter || counter <= s->challenged ||
	    (s->challenged_at &&
	     now - s->challenged_at < MED_RELAY_CHALLENGE_MS) ||
	    cookie_of(r, id, now / MED_RELAY_COOKIE_EPOCH_MS, from,
		      cookie) < 0)
		goto drop;
	s->challenged = counter;
	s->challenged_at = now;
	srv->stats.relay_challenges++;
	relay_answer(srv, r, s, SHOAL_CTL_RELAY_CHALLENGE, counter, cookie,
		     from, from_len, local);
	return 0;
drop:
	srv->stats.relay_dropped++;
	return 0;
}

/*
 * The pair's byte budget: --relay-rate bytes a second, up to two
 * seconds' worth saved.  True if len more may pass now.
 */
static bool budget_take(struct server *srv, struct relay *r, size_t len)
{
	double rate = (double)srv->lim.relay_rate;
	int64_t now;

	if (!srv->lim.relay_rate)
		return true;
	now = server_now_ms();
	if (now > r->tokens_at)
		r->tokens += rate * (double)(now - r->tokens_at) / 1000.0;
	if (r->tokens > 2.0 * rate)
		r->tokens = 2.0 * rate;
	r->tokens_at = now;
	if (r->tokens < (double)len)
		return false;
	r->tokens -= (double)len;
	return true;
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
	if (!budget_take(srv, r, len)) {
		srv->stats.relay_over_budget++;
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
