// SPDX-License-Identifier: MIT
/*
 * The relay ports (docs/protocol.md, "Presence, punching and relaying"
 * and "NAT discovery and relaying"), as shoal-mediator's built-in relay
 * (relay.c) and shoal-relay (relay/main.c) both run them: a pair of peers
 * that cannot reach each other directly gets one UDP port.  Each side
 * proves with a RELAY_BIND, MACed by the key only it was given over its
 * control connection, that it is the side; and, by echoing the cookie of
 * the RELAY_CHALLENGE the relay sends back to where the RELAY_BIND came
 * from, that it receives there: a RELAY_BIND with a forged source address
 * binds nothing, so the relay cannot be pointed at a third party.  From
 * then on a datagram from one side's bound endpoint goes, unchanged, to
 * the other side's, within the pair's byte budget (the rate).  Nothing
 * else passes: the relay is no open proxy, and a RELAY_BIND seen on the
 * wire and replayed from elsewhere moves nothing (its counter is not new).
 *
 * The relay never reads what it forwards: the peers' ESP and handshakes
 * are end to end.
 *
 * An allocation that forwards nothing for MED_RELAY_IDLE_MS is freed.
 * Freeing one during an epoll batch only marks it (a later event of the
 * batch may still name it); relay_ports_reap() closes and frees it after
 * the batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "be.h"
#include "ctlmsg.h"
#include "medmsg.h"
#include "relay_core.h"

#define READS_PER_EVENT 64
#define MARKER_LEN 4

int64_t relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t n_slots(const struct relay_ports *rp)
{
	return (size_t)(rp->hi - rp->lo) + 1;
}

int relay_ports_open(struct relay_ports *rp, int epfd,
		     const struct sockaddr_storage *addr, socklen_t addr_len,
		     uint16_t lo, uint16_t hi)
{
	if (!lo || lo > hi || addr_len > sizeof(rp->addr))
		return -EINVAL;
	rp->epfd = epfd;
	memcpy(&rp->addr, addr, addr_len);
	rp->addr_len = addr_len;
	rp->lo = lo;
	rp->hi = hi;
	rp->slots = calloc(n_slots(rp), sizeof(*rp->slots));
	return rp->slots ? 0 : -ENOMEM;
}

void relay_ports_free(struct relay_ports *rp, struct relay *r)
{
	if (r->dead)
		return;
	r->dead = true;
	epoll_ctl(rp->epfd, EPOLL_CTL_DEL, r->fd, NULL);
	/* The keys are worthless now; wipe them before anything else. */
	sodium_memzero(r->side, sizeof(r->side));
	rp->slots[r->port - rp->lo] = NULL;
	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		rp->live = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	rp->n_live--;
	r->dead_next = rp->dead;
	rp->dead = r;
}

void relay_ports_reap(struct relay_ports *rp)
{
	struct relay *r;

	while ((r = rp->dead)) {
		rp->dead = r->dead_next;
		close(r->fd);
		sodium_memzero(r, sizeof(*r));
		free(r);
	}
}

void relay_ports_close(struct relay_ports *rp)
{
	if (!rp->slots)
		return;
	while (rp->live)
		relay_ports_free(rp, rp->live);
	relay_ports_reap(rp);
	free(rp->slots);
	rp->slots = NULL;
}

void relay_ports_tick(struct relay_ports *rp, int64_t now_ms,
		      void (*gone)(void *arg, struct relay *r), void *arg)
{
	struct relay *r, *next;

	for (r = rp->live; r; r = next) {
		next = r->lnext;
		if (now_ms - r->last_active < MED_RELAY_IDLE_MS)
			continue;
		if (gone)
			gone(arg, r);
		relay_ports_free(rp, r);
	}
}

struct relay *relay_ports_find(struct relay_ports *rp, uint32_t a, uint32_t b)
{
	struct relay *r;

	for (r = rp->live; r; r = r->lnext)
		if ((r->side[0].id == a && r->side[1].id == b) ||
		    (r->side[0].id == b && r->side[1].id == a))
			return r;
	return NULL;
}

/* A socket on the listen address at port; -1 if the port is taken. */
static int bind_port(struct relay_ports *rp, uint16_t port)
{
	struct sockaddr_storage ss = rp->addr;
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
	    bind(fd, (struct sockaddr *)&ss, rp->addr_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct relay *relay_ports_alloc(struct relay_ports *rp)
{
	struct epoll_event ev = { .events = EPOLLIN };
	size_t n = n_slots(rp), start, i, k;
	struct relay *r;
	int fd = -1;

	/* From a random place: which port a pair gets says nothing. */
	start = randombytes_uniform((uint32_t)n);
	for (k = 0; k < n && fd < 0; k++) {
		i = (start + k) % n;
		if (!rp->slots[i])
			fd = bind_port(rp, (uint16_t)(rp->lo + i));
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
	r->port = (uint16_t)(rp->lo + i);
	r->last_active = relay_now_ms();
	r->tokens = 2.0 * (double)rp->rate;
	r->tokens_at = r->last_active;
	randombytes_buf(r->cookie_key, sizeof(r->cookie_key));
	ev.data.ptr = r;
	if (epoll_ctl(rp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		sodium_memzero(r, sizeof(*r));
		free(r);
		return NULL;
	}
	rp->slots[i] = r;
	r->lnext = rp->live;
	if (r->lnext)
		r->lnext->lprev = r;
	rp->live = r;
	rp->n_live++;
	return r;
}

void relay_sides_random(struct relay *r)
{
	r->side[0].id = randombytes_random();
	do
		r->side[1].id = randombytes_random();
	while (r->side[1].id == r->side[0].id);
	randombytes_buf(r->side[0].key, MED_RELAY_KEY_LEN);
	randombytes_buf(r->side[1].key, MED_RELAY_KEY_LEN);
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
static void relay_answer(struct relay_ports *rp, struct relay *r,
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
		udp_send(r->fd, rp->addr.ss_family, out,
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
static int relay_bind(struct relay_ports *rp, struct relay *r, const uint8_t *buf,
		      size_t len, const struct sockaddr_storage *from,
		      socklen_t from_len, const struct med_local *local)
{
	uint8_t cookie[SHOAL_CTL_RELAY_COOKIE_LEN];
	int64_t now = relay_now_ms();
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
		rp->stats.relay_binds++;
		relay_answer(rp, r, s, SHOAL_CTL_RELAY_BOUND, counter, NULL,
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
	rp->stats.relay_challenges++;
	relay_answer(rp, r, s, SHOAL_CTL_RELAY_CHALLENGE, counter, cookie,
		     from, from_len, local);
	return 0;
drop:
	rp->stats.relay_dropped++;
	return 0;
}

/*
 * The pair's byte budget: --relay-rate bytes a second, up to two
 * seconds' worth saved.  True if len more may pass now.
 */
static bool budget_take(struct relay_ports *rp, struct relay *r, size_t len)
{
	double rate = (double)rp->rate;
	int64_t now;

	if (!rp->rate)
		return true;
	now = relay_now_ms();
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

static void relay_forward(struct relay_ports *rp, struct relay *r,
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
		rp->stats.relay_dropped++;
		return;
	}
	if (!budget_take(rp, r, len)) {
		rp->stats.relay_over_budget++;
		return;
	}
	if (udp_send(r->fd, rp->addr.ss_family, buf, len, &to->ep,
		     to->ep_len, &to->local) < 0) {
		rp->stats.relay_dropped++;
		return;
	}
	rp->stats.relayed++;
	rp->stats.relay_bytes += len;
	r->last_active = relay_now_ms();
}

void relay_ports_readable(struct relay_ports *rp, struct relay *r)
{
	struct sockaddr_storage from;
	struct med_local local;
	socklen_t from_len;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT && !r->dead; i++) {
		n = udp_recv(r->fd, rp->dgram, sizeof(rp->dgram), &from,
			     &from_len, &local);
		if (n == -2) {
			rp->stats.relay_dropped++;
			continue;
		}
		if (n < 0)
			return;
		if (relay_bind(rp, r, rp->dgram, (size_t)n, &from, from_len,
			       &local) < 0)
			relay_forward(rp, r, rp->dgram, (size_t)n, &from,
				      from_len);
	}
}

void relay_side_put(struct shoal_tlv_writer *w, const struct relay_side *s)
{
	shoal_tlv_nest_start(w, MED_A_RELAY_SIDE);
	shoal_tlv_put(w, MED_A_PUBLIC_KEY, s->pubkey, 32);
	shoal_tlv_put_u32(w, MED_A_RELAY_ID, s->id);
	shoal_tlv_put(w, MED_A_RELAY_KEY, s->key, MED_RELAY_KEY_LEN);
	shoal_tlv_nest_end(w);
}

int relay_side_get(const struct shoal_tlv_attr *nest, struct relay_side *s)
{
	struct shoal_tlv_attr a;

	if (!shoal_tlv_find_nested(nest, MED_A_PUBLIC_KEY, &a) ||
	    a.nested || a.len != 32)
		return -1;
	memcpy(s->pubkey, a.value, 32);
	if (!shoal_tlv_find_nested(nest, MED_A_RELAY_ID, &a) ||
	    !shoal_tlv_get_u32(&a, &s->id) ||
	    !shoal_tlv_find_nested(nest, MED_A_RELAY_KEY, &a) || a.nested ||
	    a.len != MED_RELAY_KEY_LEN)
		return -1;
	memcpy(s->key, a.value, MED_RELAY_KEY_LEN);
	return 0;
}
