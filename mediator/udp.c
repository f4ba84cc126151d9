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

int udp_endpoint_from(struct med_endpoint *e, const struct sockaddr *sa)
{
	memset(e, 0, sizeof(*e));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		e->family = 4;
		memcpy(e->addr, &s4->sin_addr, 4);
		e->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			e->family = 4;
			memcpy(e->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			e->family = 6;
			memcpy(e->addr, &s6->sin6_addr, 16);
		}
		e->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

size_t udp_endpoint_put(uint8_t *out, const struct med_endpoint *e)
{
	return shoal_med_endpoint_put(out, e->family, e->addr, e->port);
}

int udp_prepare(int fd, int family, bool dual)
{
	int one = 1, zero = 0;

	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
				  sizeof(one));
	/* [::] serves IPv4 too, whatever net.ipv6.bindv6only says. */
	if (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			       sizeof(zero)) < 0)
		return -1;
	/* On a dual-stack socket this reports IPv4 too, v4-mapped. */
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			  sizeof(one));
}

ssize_t udp_recv(int fd, uint8_t *buf, size_t size,
		 struct sockaddr_storage *from, socklen_t *from_len,
		 struct med_local *local)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = {
		.msg_name = from,
		.msg_namelen = sizeof(*from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(local, 0, sizeof(*local));
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	*from_len = mh.msg_namelen;
	/* Cut short: bigger than anything we take, so not ours. */
	if (mh.msg_flags & MSG_TRUNC) {
		errno = EMSGSIZE;
		return -2;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->valid = true;
			local->family = AF_INET;
			local->v4 = pi.ipi_spec_dst;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO &&
			   cm->cmsg_len >=
			   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->valid = true;
			local->family = AF_INET6;
			local->v6 = pi.ipi6_addr;
		}
	}
	return n;
}

/*
 * to in the form a socket of family can send to: an AF_INET socket takes
 * IPv4 (and v4-mapped, unmapped); an AF_INET6 one IPv6, and IPv4 mapped
 * if it is dual-stack.  0, or -1 if it cannot reach to at all.
 */
static int dest_for(int family, bool dual,
		    const struct sockaddr_storage *to, socklen_t to_len,
		    struct sockaddr_storage *out, socklen_t *out_len)
{
	const struct sockaddr_in6 *s6 = (const void *)to;
	const struct sockaddr_in *s4 = (const void *)to;

	memset(out, 0, sizeof(*out));
	if (to->ss_family == AF_INET && to_len >= sizeof(*s4)) {
		if (family == AF_INET) {
			memcpy(out, s4, sizeof(*s4));
			*out_len = sizeof(*s4);
			return 0;
		}
		if (dual) {
			struct sockaddr_in6 *o6 = (void *)out;

			o6->sin6_family = AF_INET6;
			o6->sin6_port = s4->sin_port;
			o6->sin6_addr.s6_addr[10] = 0xff;
			o6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(o6->sin6_addr.s6_addr + 12, &s4->sin_addr, 4);
			*out_len = sizeof(*o6);
			return 0;
		}
		return -1;
	}
	if (to->ss_family != AF_INET6 || to_len < sizeof(*s6))
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		if (family == AF_INET) {
			struct sockaddr_in *o4 = (void *)out;

			o4->sin_family = AF_INET;
			o4->sin_port = s6->sin6_port;
			memcpy(&o4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
			*out_len = sizeof(*o4);
			return 0;
		}
		if (!dual)
			return -1;
	} else if (family != AF_INET6) {
		return -1;
	}
	memcpy(out, s6, sizeof(*s6));
	*out_len = sizeof(*s6);
	return 0;
}

int udp_send(int fd, int family, const uint8_t *buf, size_t len,
	     const struct sockaddr_storage *to, socklen_t to_len,
	     const struct med_local *local)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)to,
		.msg_namelen = to_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	/*
	 * The source address only; interface 0 lets the routing table pick
	 * the way out, which need not be the way in.
	 */
	if (local && local->valid && family == AF_INET &&
	    local->family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = local->v4 };

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else if (local && local->valid && family == AF_INET6 &&
		   local->family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = local->v6 };

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	do
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
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
	if (c) {
		c->token_counter = b.counter;
		r.flags |= SHOAL_CTL_BIND_KNOWN;
	}

	t = b.flags ? answer_from(srv, u, b.flags) : u;
	if (t && t != u &&
	    dest_for(t->family, t->dual, from, from_len, &to, &to_len) < 0)
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
