// SPDX-License-Identifier: MIT
/*
 * NAT discovery (docs/protocol.md, "NAT discovery and relaying"): UDP on
 * the listen address at port P, at P + 1 (the alternate port) and on the
 * probe address.  Each answers a BINDING with what it saw, from itself or,
 * when asked, from the other port or the other address.  A BINDING to P
 * that carries a logged-in connection's UDP_TOKEN also tells us that
 * client's public tunnel endpoint, and completes its login.
 *
 * Everything else is dropped without an answer: these ports are open to
 * the whole internet, and an answer is never bigger than its request, so
 * they amplify nothing.
 *
 * Answers leave from the address the request reached (IP_PKTINFO,
 * IPV6_PKTINFO): a socket bound to [::] on a host with several addresses
 * would otherwise answer from whichever the routing table prefers, and a
 * NAT that filters by address would drop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <sodium.h>

#include "ctlmsg.h"
#include "sources.h"
#include "udp.h"
#include "server.h"

/* Datagrams per readiness event: one busy socket cannot starve the rest. */
#define READS_PER_EVENT 64
#define MARKER_LEN 4

static size_t token_bucket(const struct server *srv, const uint8_t *token)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	/*
	 * Keyed (SipHash): whoever sends BINDINGs learns nothing about
	 * which buckets hold tokens from how long an answer takes.
	 */
	crypto_shorthash(h, token, MED_TOKEN_LEN, srv->token_key);
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)(v % MED_TOKEN_BUCKETS);
}

void udp_token_assign(struct server *srv, struct conn *c)
{
	size_t b;

	if (c->has_token)
		return;
	/* All zero means anonymous on the wire: never hand that out. */
	do
		randombytes_buf(c->token, sizeof(c->token));
	while (sodium_is_zero(c->token, sizeof(c->token)));
	/*
	 * Its BINDINGs carry a MAC under a key from the client's static
	 * key and ours: the token alone, which crosses the network in the
	 * clear, proves nothing.  (A key that fails could not have made a
	 * Noise handshake either; it just gets no token.)
	 */
	if (shoal_ctl_token_key(c->token_key, srv->priv, c->client.pubkey,
				c->token) < 0) {
		sodium_memzero(c->token, sizeof(c->token));
		return;
	}
	c->token_counter = 0;
	b = token_bucket(srv, c->token);
	c->tnext = srv->tokens[b];
	srv->tokens[b] = c;
	c->has_token = true;
}

void udp_token_remove(struct server *srv, struct conn *c)
{
	struct conn **pp;

	if (!c->has_token)
		return;
	for (pp = &srv->tokens[token_bucket(srv, c->token)]; *pp;
	     pp = &(*pp)->tnext) {
		if (*pp == c) {
			*pp = c->tnext;
			break;
		}
	}
	c->tnext = NULL;
	c->has_token = false;
	sodium_memzero(c->token, sizeof(c->token));
	sodium_memzero(c->token_key, sizeof(c->token_key));
}

/* The logged-in connection a token belongs to, or NULL. */
static struct conn *token_find(struct server *srv, const uint8_t *token)
{
	struct conn *c;

	if (sodium_is_zero(token, MED_TOKEN_LEN))
		return NULL;
	for (c = srv->tokens[token_bucket(srv, token)]; c; c = c->tnext)
		if (!sodium_memcmp(c->token, token, MED_TOKEN_LEN))
			return c->logged_in && !c->dead ? c : NULL;
	return NULL;
}

/*
 * The socket an answer should come from: the other port (0x01) or the
 * other address (0x02, which wins when both are set) than the request
 * reached.  P and P + 1 are each other's other port; the probe address
 * and the listen address (port P) are each other's other address.  NULL
 * when there is no such socket.
 */
static struct med_udp *answer_from(struct server *srv,
				   const struct med_udp *u, uint8_t flags)
{
	struct med_udp *t = NULL;

	if (flags & SHOAL_CTL_BIND_OTHER_ADDR)
		t = u->role == MED_UDP_PROBE ? &srv->udp[MED_UDP_MAIN] :
		    &srv->udp[MED_UDP_PROBE];
	else if (flags & SHOAL_CTL_BIND_OTHER_PORT)
		t = u->role == MED_UDP_MAIN ? &srv->udp[MED_UDP_ALT] :
		    u->role == MED_UDP_ALT ? &srv->udp[MED_UDP_MAIN] : NULL;
	return t && t->fd >= 0 ? t : NULL;
}

/* A token's BINDING to port P: the client's public tunnel endpoint. */
static void binding_known(struct server *srv, struct conn *c,
			  const struct sockaddr_storage *from)
{
	struct med_endpoint e;

	if (udp_endpoint_from(&e, (const struct sockaddr *)from) < 0 ||
	    !e.port)
		return;
	/*
	 * The newest wins: a client sends another when its mapping may
	 * have changed.  Peers that were told already are not told again;
	 * later PEER_UPs carry the new one.
	 */
	c->public_ep = e;
	c->has_public = true;
	if (c->pending) {
		server_pending_remove(srv, c);
		presence_complete(srv, c);
	}
}

static void binding(struct server *srv, struct med_udp *u, const uint8_t *buf,
		    size_t len, const struct sockaddr_storage *from,
		    socklen_t from_len, const struct med_local *local)
{
	struct shoal_ctl_binding_reply r;
	struct shoal_ctl_binding b;
	struct sockaddr_storage to;
	uint8_t out[MARKER_LEN + SHOAL_CTL_BINDING_REPLY_LEN];
	struct med_udp *t;
	struct conn *c = NULL;
	socklen_t to_len = 0;
	int n;

	if (sources_deny_has(&srv->deny, (const struct sockaddr *)from)) {
		srv->stats.denied++;
		return;
	}
	if (len < MARKER_LEN || buf[0] || buf[1] || buf[2] || buf[3] ||
	    shoal_ctl_parse_binding(&b, buf + MARKER_LEN, len - MARKER_LEN)) {
		srv->stats.udp_dropped++;
		return;
	}
	memset(&r, 0, sizeof(r));
	if (from_len > sizeof(r.mapped.in6) ||
	    (from->ss_family != AF_INET && from->ss_family != AF_INET6)) {
		srv->stats.udp_dropped++;
		return;
	}
	memcpy(&r.mapped.in6, from, from_len);
	r.mapped.len = from_len;
	memcpy(r.txid, b.txid, sizeof(r.txid));
	r.flags = b.flags;
	/*
	 * Only port P learns a client's public endpoint: the alternate port
	 * and the probe address may see other mappings (that is what they
	 * are for), so a token sent there is not looked at.
	 */
	if (u->role == MED_UDP_MAIN)
		c = token_find(srv, b.token);
	/*
	 * The login's only if its MAC is right and its counter new: one
	 * seen on the wire and sent again, from anywhere, is anonymous.
	 */
	if (c && (!shoal_ctl_binding_verify(buf + MARKER_LEN,
					    len - MARKER_LEN, c->token_key) ||
		  b.counter <= c->token_counter))
		c = NULL;
	/*
	 * Nor from another source than its connection: a client could
	 * name any address as its public endpoint with a forged source,
	 * and its peers would punch and birthday-probe there.
	 */
	if (c && !sources_same((const struct sockaddr *)from,
			       (const struct sockaddr *)&c->addr))
		c = NULL;
	if (c) {
		c->token_counter = b.counter;
		r.flags |= SHOAL_CTL_BIND_KNOWN;
	}

	t = b.flags ? answer_from(srv, u, b.flags) : u;
	if (t && t != u &&
	    udp_dest_for(t->family, t->dual, from, from_len, &to, &to_len) < 0)
		t = NULL;
	if (!t) {
		t = u;
		r.flags |= SHOAL_CTL_BIND_UNCHANGED;
	}
	memset(out, 0, MARKER_LEN);
	n = shoal_ctl_write_binding_reply(out + MARKER_LEN,
					  sizeof(out) - MARKER_LEN, &r);
	if (n < 0) {
		srv->stats.udp_dropped++;
		return;
	}
	n += MARKER_LEN;
	srv->stats.bindings++;
	if (c)
		srv->stats.bindings_known++;
	/*
	 * P and P + 1 share their address, so the other port answers from
	 * the address the request reached; an other address from its own.
	 */
	if (t != u && udp_send(t->fd, t->family, out, (size_t)n, &to, to_len,
			       t->role != MED_UDP_PROBE &&
			       u->role != MED_UDP_PROBE ? local : NULL) < 0) {
		/* It could not after all: answer from here, and say so. */
		out[MARKER_LEN + 5] |= SHOAL_CTL_BIND_UNCHANGED;
		t = u;
	}
	if (t == u)
		udp_send(u->fd, u->family, out, (size_t)n, from, from_len,
			 local);
	if (c)
		binding_known(srv, c, from);
}

void udp_readable(struct server *srv, struct med_udp *u)
{
	struct sockaddr_storage from;
	struct med_local local;
	socklen_t from_len;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT; i++) {
		n = udp_recv(u->fd, srv->dgram, sizeof(srv->dgram), &from,
			     &from_len, &local);
		if (n == -2) {
			srv->stats.udp_dropped++;
			continue;
		}
		if (n < 0)
			return;
		binding(srv, u, srv->dgram, (size_t)n, &from, from_len,
			&local);
	}
}

static bool is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

static int open_one(struct server *srv, enum med_udp_role role,
		    const struct sockaddr *addr, socklen_t len, uint16_t port)
{
	struct med_udp *u = &srv->udp[role];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = u };
	struct sockaddr_storage ss;

	memcpy(&ss, addr, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	u->h.kind = MED_K_UDP;
	u->role = role;
	u->family = ss.ss_family;
	u->dual = ss.ss_family == AF_INET6 && is_wildcard(addr);
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (u->fd < 0)
		return -errno;
	/*
	 * No SO_REUSEADDR: on UDP it would let a second server share the
	 * port and take half the datagrams; failing to start is better.
	 */
	if (udp_prepare(u->fd, u->family, u->dual) < 0 ||
	    bind(u->fd, (struct sockaddr *)&ss, len) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, u->fd, &ev) < 0) {
		int err = errno;
		char host[INET6_ADDRSTRLEN] = "?";

		/* Which of the three: main() only knows --listen. */
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET,
				  &((struct sockaddr_in *)&ss)->sin_addr,
				  host, sizeof(host));
		else
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr,
				  host, sizeof(host));
		fprintf(stderr, "shoal-mediator: UDP %s%s%s:%u: %s\n",
			u->family == AF_INET6 ? "[" : "", host,
			u->family == AF_INET6 ? "]" : "", port, strerror(err));
		return -err;
	}
	return 0;
}

static uint16_t sa_port(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const void *)sa;
	const struct sockaddr_in *s4 = (const void *)sa;

	return ntohs(sa->sa_family == AF_INET ? s4->sin_port :
		     s6->sin6_port);
}

int udp_open(struct server *srv, const struct sockaddr *probe,
	     socklen_t probe_len)
{
	const struct sockaddr *la = (const struct sockaddr *)&srv->listen_addr;
	uint16_t port = sa_port(la);
	int ret;

	if (port == 0 || port == 65535)
		return -EINVAL;
	ret = open_one(srv, MED_UDP_MAIN, la, srv->listen_len, port);
	if (!ret)
		ret = open_one(srv, MED_UDP_ALT, la, srv->listen_len,
			       (uint16_t)(port + 1));
	if (!ret && probe) {
		ret = open_one(srv, MED_UDP_PROBE, probe, probe_len,
			       sa_port(probe));
		if (!ret && udp_endpoint_from(&srv->probe_ep, probe) < 0)
			ret = -EINVAL;
		srv->has_probe = !ret;
	}
	return ret;
}

void udp_close(struct server *srv)
{
	int i;

	for (i = 0; i < MED_UDP_N; i++) {
		if (srv->udp[i].fd >= 0)
			close(srv->udp[i].fd);
		srv->udp[i].fd = -1;
	}
}
