// SPDX-License-Identifier: MIT
/*
 * The TAP datapath's peers and SAs (kmod/peer.c): the tables by key,
 * MAC and SPI, endpoints as the kernel takes them, and set_peer and
 * remove_peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <sodium.h>

#include "datapath.h"
#include "dp_tap_int.h"
#include "esp.h"
#include "mac.h"
#include "util.h"

/* As the kernel module: see kmod/netlink.c and kmod/device.c. */

static size_t bucket(const struct tap_dp *t, const void *data, size_t len,
		     size_t n)
{
	return shoal_keyed_index(t->hash_key, data, len, n);
}

static size_t key_bucket(const struct tap_dp *t, const uint8_t *key)
{
	return bucket(t, key, SHOAL_KEY_LEN, TAP_KEY_BUCKETS);
}

static size_t mac_bucket(const struct tap_dp *t, const uint8_t *mac)
{
	return bucket(t, mac, ETH_ALEN, TAP_MAC_BUCKETS);
}

static size_t spi_bucket(const struct tap_dp *t, uint32_t spi)
{
	return bucket(t, &spi, sizeof(spi), TAP_SPI_BUCKETS);
}

static struct tap_peer *peer_by_key(const struct tap_dp *t,
				    const uint8_t *key)
{
	struct tap_peer *peer;

	for (peer = t->by_key[key_bucket(t, key)]; peer; peer = peer->key_next)
		if (!memcmp(peer->public_key, key, SHOAL_KEY_LEN))
			return peer;
	return NULL;
}

struct tap_peer *tap_peer_by_mac(const struct tap_dp *t,
				 const uint8_t *mac)
{
	struct tap_peer *peer;

	for (peer = t->by_mac[mac_bucket(t, mac)]; peer; peer = peer->mac_next)
		if (peer->has_mac && !memcmp(peer->mac, mac, ETH_ALEN))
			return peer;
	return NULL;
}

struct tap_sa *tap_sa_by_spi(const struct tap_dp *t, uint32_t spi)
{
	struct tap_sa *sa;

	for (sa = t->by_spi[spi_bucket(t, spi)]; sa; sa = sa->spi_next)
		if (sa->esp.spi == spi)
			return sa;
	return NULL;
}

static void spi_link(struct tap_dp *t, struct tap_sa *sa)
{
	size_t b = spi_bucket(t, sa->esp.spi);

	sa->spi_next = t->by_spi[b];
	t->by_spi[b] = sa;
}

static void spi_unlink(struct tap_dp *t, struct tap_sa *sa)
{
	struct tap_sa **pp;

	for (pp = &t->by_spi[spi_bucket(t, sa->esp.spi)]; *pp;
	     pp = &(*pp)->spi_next) {
		if (*pp == sa) {
			*pp = sa->spi_next;
			return;
		}
	}
}

static void mac_unlink(struct tap_dp *t, struct tap_peer *peer)
{
	struct tap_peer **pp;

	for (pp = &t->by_mac[mac_bucket(t, peer->mac)]; *pp;
	     pp = &(*pp)->mac_next) {
		if (*pp == peer) {
			*pp = peer->mac_next;
			return;
		}
	}
}

static void key_unlink(struct tap_dp *t, struct tap_peer *peer)
{
	struct tap_peer **pp;

	for (pp = &t->by_key[key_bucket(t, peer->public_key)]; *pp;
	     pp = &(*pp)->key_next) {
		if (*pp == peer) {
			*pp = peer->key_next;
			return;
		}
	}
}

static void sa_free(struct tap_sa *sa)
{
	if (!sa)
		return;
	shoal_esp_sa_wipe(&sa->esp);
	free(sa);
}

static struct tap_sa *sa_new(const struct shoal_dp_sa *s, time_t now)
{
	struct tap_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	if (shoal_esp_sa_init(&sa->esp, s->spi, s->key, s->soft_packets,
			      s->hard_packets, s->soft_seconds,
			      s->hard_seconds, now)) {
		sa_free(sa);
		return NULL;
	}
	return sa;
}

/* The same SPI and key: the kernel keeps such an SA, counters and all. */
static bool sa_same(const struct tap_sa *old, const struct shoal_dp_sa *s)
{
	return old && old->esp.spi == s->spi &&
	       !sodium_memcmp(old->esp.key, s->key, SHOAL_SA_KEY_LEN);
}

static int sa_check(const struct shoal_dp_sa *s)
{
	if (s->keep)
		return 0;
	if (s->spi < SHOAL_SPI_MIN || s->soft_seconds > SHOAL_SA_MAX_SECONDS ||
	    s->hard_seconds > SHOAL_SA_MAX_SECONDS)
		return -EINVAL;
	return 0;
}

static struct tap_sa *peer_sa_in(const struct tap_peer *peer, uint32_t spi)
{
	unsigned int i;

	if (!peer)
		return NULL;
	for (i = 0; i < peer->n_sa_in; i++)
		if (peer->sa_in[i]->esp.spi == spi)
			return peer->sa_in[i];
	return NULL;
}

/*
 * An endpoint as the kernel takes it (exactly a sockaddr_in or
 * sockaddr_in6, with a unicast address and port), v4-mapped IPv6 made
 * IPv4 so that it compares equal to the source addresses roaming sees.
 */
int tap_endpoint_normalize(struct shoal_endpoint *out,
			   const struct shoal_endpoint *in)
{
	memset(out, 0, sizeof(*out));
	if (in->len == sizeof(struct sockaddr_in) &&
	    in->sa.sa_family == AF_INET) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = in->in.sin_port;
		out->in.sin_addr = in->in.sin_addr;
		out->len = sizeof(out->in);
	} else if (in->len == sizeof(struct sockaddr_in6) &&
		   in->sa.sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&in->in6.sin6_addr)) {
			out->in.sin_family = AF_INET;
			out->in.sin_port = in->in6.sin6_port;
			memcpy(&out->in.sin_addr, &in->in6.sin6_addr.s6_addr[12],
			       4);
			out->len = sizeof(out->in);
		} else {
			out->in6.sin6_family = AF_INET6;
			out->in6.sin6_port = in->in6.sin6_port;
			out->in6.sin6_addr = in->in6.sin6_addr;
			out->in6.sin6_scope_id = in->in6.sin6_scope_id;
			out->len = sizeof(out->in6);
		}
	} else {
		return -EINVAL;
	}
	if (out->sa.sa_family == AF_INET) {
		uint32_t a = ntohl(out->in.sin_addr.s_addr);

		/* A peer is one host: no group or limited broadcast. */
		return out->in.sin_port && a && !IN_MULTICAST(a) &&
		       a != INADDR_BROADCAST ? 0 : -EINVAL;
	}
	return out->in6.sin6_port &&
	       !IN6_IS_ADDR_UNSPECIFIED(&out->in6.sin6_addr) &&
	       !IN6_IS_ADDR_MULTICAST(&out->in6.sin6_addr) ? 0 : -EINVAL;
}

void tap_peer_free(struct tap_dp *t, struct tap_peer *peer)
{
	unsigned int i;

	sa_free(peer->sa_out);
	for (i = 0; i < peer->n_sa_in; i++) {
		spi_unlink(t, peer->sa_in[i]);
		sa_free(peer->sa_in[i]);
	}
	if (peer->has_sock)
		close(peer->sock_fd);
	sodium_memzero(peer, sizeof(*peer));
	free(peer);
}

int tap_remove_peer(struct shoal_dp *dp,
		    const uint8_t public_key[SHOAL_KEY_LEN])
{
	struct tap_dp *t = tap_of(dp);
	struct tap_peer *peer = peer_by_key(t, public_key);
	size_t i;

	/* Removing a peer that is not there succeeds, as in the kernel. */
	if (!peer)
		return 0;
	key_unlink(t, peer);
	if (peer->has_mac)
		mac_unlink(t, peer);
	i = peer->index;
	memmove(&t->peers[i], &t->peers[i + 1],
		(t->n_peers - i - 1) * sizeof(t->peers[0]));
	t->n_peers--;
	for (; i < t->n_peers; i++)
		t->peers[i]->index = i;
	tap_peer_free(t, peer);
	return 0;
}

static struct tap_peer *peer_add(struct tap_dp *t, const uint8_t *key)
{
	struct tap_peer *peer, **p;
	size_t b, cap;

	if (t->n_peers == t->peers_cap) {
		cap = t->peers_cap ? 2 * t->peers_cap : 16;
		p = reallocarray(t->peers, cap, sizeof(*p));
		if (!p)
			return NULL;
		t->peers = p;
		t->peers_cap = cap;
	}
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return NULL;
	memcpy(peer->public_key, key, SHOAL_KEY_LEN);
	b = key_bucket(t, key);
	peer->key_next = t->by_key[b];
	t->by_key[b] = peer;
	peer->index = t->n_peers;
	t->peers[t->n_peers++] = peer;
	return peer;
}

/*
 * A set_peer in three steps: everything that can be refused is checked,
 * then everything new allocated, and only then is anything changed, so
 * that a failed call leaves the peer as it was (the kernel may leave part
 * of a change behind; this is stricter).  What the first two find and
 * make, the third puts in place.
 */
struct peer_change {
	struct tap_peer *peer;		/* NULL until allocated: a new one */
	struct shoal_endpoint ep;	/* normalised p->endpoint */
	bool keep_out;			/* p->sa_out is the SA there now */
	struct tap_sa *out;		/* new outbound SA, or NULL */
	struct tap_sa *in[SHOAL_MAX_SA_IN];	/* kept or new */
	bool fresh[SHOAL_MAX_SA_IN];	/* in[i] is new */
	int sock_fd, sock_family;	/* our dup of p->socket_fd; -1 */
};

/* A peer's own socket must be a UDP socket of IPv4 or IPv6. */
static int check_socket(const struct shoal_dp_peer *p, struct peer_change *c)
{
	socklen_t len = sizeof(int);
	int type;

	if (p->socket_fd < 0)
		return 0;
	if (getsockopt(p->socket_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(p->socket_fd, SOL_SOCKET, SO_DOMAIN, &c->sock_family,
		       &len) < 0)
		return -errno;
	return type == SOCK_DGRAM && (c->sock_family == AF_INET ||
				      c->sock_family == AF_INET6) ?
	       0 : -EINVAL;
}

static int check_sa_out(const struct shoal_dp_peer *p,
			struct peer_change *c)
{
	const struct tap_peer *peer = c->peer;
	int ret = sa_check(&p->sa_out);

	if (ret)
		return ret;
	if (p->sa_out.keep) {
		if (!peer || !peer->sa_out ||
		    peer->sa_out->esp.spi != p->sa_out.spi)
			return -ENOENT;
		c->keep_out = true;
	} else {
		c->keep_out = peer && sa_same(peer->sa_out, &p->sa_out);
	}
	return 0;
}

static int check_sa_in(const struct tap_dp *t, const struct shoal_dp_peer *p,
		       struct peer_change *c)
{
	struct tap_sa *other;
	unsigned int i, j;
	int ret;

	if (p->n_sa_in > SHOAL_MAX_SA_IN)
		return -E2BIG;
	for (i = 0; i < p->n_sa_in; i++) {
		const struct shoal_dp_sa *s = &p->sa_in[i];
		struct tap_sa *old = peer_sa_in(c->peer, s->spi);

		ret = sa_check(s);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (p->sa_in[j].spi == s->spi)
				return -EINVAL;
		if (s->keep && !old)
			return -ENOENT;
		/* An unchanged SA keeps its replay window. */
		if (s->keep || sa_same(old, s)) {
			c->in[i] = old;
			continue;
		}
		/* An SPI is the device's: no other peer may hold it. */
		other = tap_sa_by_spi(t, s->spi);
		if (other && other->peer != c->peer)
			return -EEXIST;
	}
	return 0;
}

static int check_allowed_ips(const struct shoal_dp_peer *p)
{
	unsigned int i;

	if (p->n_allowed_ips > SHOAL_MAX_ALLOWED_IPS)
		return -E2BIG;
	for (i = 0; i < p->n_allowed_ips; i++) {
		const struct shoal_prefix *a = &p->allowed_ips[i];

		if (!(a->family == AF_INET && a->len <= 32) &&
		    !(a->family == AF_INET6 && a->len <= 128))
			return -EINVAL;
		if (!shoal_prefix_is_network(a))
			return -EINVAL;
	}
	return 0;
}

/* Step one: 0 if the change can be made, else why not. */
static int set_peer_check(const struct tap_dp *t,
			  const struct shoal_dp_peer *p, struct peer_change *c)
{
	int ret;

	c->peer = peer_by_key(t, p->public_key);
	if (p->has_mac) {
		struct tap_peer *owner = tap_peer_by_mac(t, p->mac);

		if (!shoal_mac_is_unicast(p->mac))
			return -EINVAL;
		if (owner && owner != c->peer)
			return -EEXIST;
	}
	if (p->endpoint.len) {
		ret = tap_endpoint_normalize(&c->ep, &p->endpoint);
		if (ret)
			return ret;
	}
	if (p->set_sa_out) {
		ret = check_sa_out(p, c);
		if (ret)
			return ret;
	}
	if (p->set_sa_in) {
		ret = check_sa_in(t, p, c);
		if (ret)
			return ret;
	}
	if (p->set_allowed_ips) {
		ret = check_allowed_ips(p);
		if (ret)
			return ret;
	}
	if (p->set_socket) {
		ret = check_socket(p, c);
		if (ret)
			return ret;
	}
	if (!c->peer && t->n_peers >= SHOAL_MAX_PEERS)
		return -ENOSPC;
	return 0;
}

/* Step two: the new SAs, and the peer if it is new; -ENOMEM undoes it. */
static int set_peer_allocate(struct tap_dp *t, const struct shoal_dp_peer *p,
			     struct peer_change *c, time_t now)
{
	unsigned int i;

	if (p->set_sa_out && !c->keep_out) {
		c->out = sa_new(&p->sa_out, now);
		if (!c->out)
			goto free_new;
	}
	for (i = 0; p->set_sa_in && i < p->n_sa_in; i++) {
		if (c->in[i])
			continue;
		c->in[i] = sa_new(&p->sa_in[i], now);
		if (!c->in[i])
			goto free_new;
		c->fresh[i] = true;
	}
	/* Our own reference, as shoal.ko takes one: shoald keeps its fd. */
	if (p->set_socket && p->socket_fd >= 0) {
		c->sock_fd = fcntl(p->socket_fd, F_DUPFD_CLOEXEC, 0);
		if (c->sock_fd < 0)
			goto free_new;
	}
	if (!c->peer) {
		c->peer = peer_add(t, p->public_key);
		if (!c->peer)
			goto free_new;
	}
	return 0;

free_new:
	if (c->sock_fd >= 0)
		close(c->sock_fd);
	sa_free(c->out);
	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		if (c->fresh[i])
			sa_free(c->in[i]);
	return -ENOMEM;
}

static void commit_mac(struct tap_dp *t, struct tap_peer *peer,
		       const uint8_t *mac)
{
	size_t b;

	if (peer->has_mac && !memcmp(peer->mac, mac, ETH_ALEN))
		return;
	b = mac_bucket(t, mac);
	if (peer->has_mac)
		mac_unlink(t, peer);
	memcpy(peer->mac, mac, ETH_ALEN);
	peer->has_mac = true;
	peer->mac_next = t->by_mac[b];
	t->by_mac[b] = peer;
}

static void commit_sa_in(struct tap_dp *t, const struct shoal_dp_peer *p,
			 struct peer_change *c)
{
	struct tap_peer *peer = c->peer;
	unsigned int i, j;
	bool found;

	/* Old SAs first: a new one may reuse an old one's SPI. */
	for (j = 0; j < peer->n_sa_in; j++) {
		found = false;
		for (i = 0; i < p->n_sa_in; i++)
			found |= c->in[i] == peer->sa_in[j];
		if (found)
			continue;
		spi_unlink(t, peer->sa_in[j]);
		sa_free(peer->sa_in[j]);
	}
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		peer->sa_in[i] = i < p->n_sa_in ? c->in[i] : NULL;
		if (i < p->n_sa_in && c->fresh[i]) {
			c->in[i]->peer = peer;
			spi_link(t, c->in[i]);
		}
	}
	peer->n_sa_in = p->n_sa_in;
}

/* Step three: nothing fails from here on. */
static void set_peer_commit(struct tap_dp *t, const struct shoal_dp_peer *p,
			    struct peer_change *c)
{
	struct tap_peer *peer = c->peer;

	if (p->has_mac)
		commit_mac(t, peer, p->mac);
	if (p->endpoint.len)
		peer->endpoint = c->ep;
	if (c->out) {
		sa_free(peer->sa_out);
		c->out->peer = peer;
		peer->sa_out = c->out;
	}
	if (p->set_sa_in)
		commit_sa_in(t, p, c);
	if (p->set_allowed_ips) {
		peer->n_allowed_ips = p->n_allowed_ips;
		memcpy(peer->allowed_ips, p->allowed_ips,
		       p->n_allowed_ips * sizeof(p->allowed_ips[0]));
	}
	if (p->set_socket) {
		if (peer->has_sock)
			close(peer->sock_fd);
		peer->has_sock = c->sock_fd >= 0;
		peer->sock_fd = c->sock_fd;
		peer->sock_family = c->sock_family;
	}
}

int tap_set_peer(struct shoal_dp *dp, const struct shoal_dp_peer *p)
{
	struct peer_change c = { .sock_fd = -1 };
	struct tap_dp *t = tap_of(dp);
	int ret;

	if (!p)
		return -EINVAL;
	ret = set_peer_check(t, p, &c);
	if (!ret)
		ret = set_peer_allocate(t, p, &c, tap_mono_now());
	if (!ret)
		set_peer_commit(t, p, &c);
	return ret;
}
