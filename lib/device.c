// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>

#include "device.h"

/* Grows *array (of *cap elements of size) to hold n + 1; -ENOMEM. */
static int reserve(void **array, size_t *cap, size_t n, size_t size)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 4;
	if (new_cap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*array, new_cap * size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * size, 0, (new_cap - *cap) * size);
	*array = p;
	*cap = new_cap;
	return 0;
}

static bool get_u64(const struct nlattr *attr, uint64_t *v)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return false;
	*v = mnl_attr_get_u64(attr);
	return true;
}

static bool get_u8_bool(const struct nlattr *attr, bool *v)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return false;
	*v = mnl_attr_get_u8(attr) != 0;
	return true;
}

/* The SHOAL_A_SA_SPI of one SA nest: 0 if absent or malformed. */
static uint32_t sa_spi(const struct nlattr *sa)
{
	struct nlattr *attr;
	uint32_t spi = 0;

	if (mnl_attr_validate(sa, MNL_TYPE_NESTED) < 0)
		return 0;
	mnl_attr_for_each_nested(attr, sa) {
		if (mnl_attr_get_type(attr) == SHOAL_A_SA_SPI &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			spi = mnl_attr_get_u32(attr);
	}
	return spi;
}

static void peer_sa_in(struct shoal_peer_info *p, const struct nlattr *list)
{
	struct nlattr *sa;
	uint32_t spi;

	if (mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return;
	p->n_sa_in = 0;
	mnl_attr_for_each_nested(sa, list) {
		if (mnl_attr_get_type(sa) != SHOAL_A_SA)
			continue;
		spi = sa_spi(sa);
		if (spi && p->n_sa_in < SHOAL_MAX_SA_IN)
			p->sa_in_spis[p->n_sa_in++] = spi;
	}
}

/* One SHOAL_A_ALLOWED_IP nest; false if malformed. */
static bool allowed_ip(struct shoal_prefix *p, const struct nlattr *nest)
{
	const struct nlattr *attr;
	bool has_len = false;
	uint16_t len = 0;

	memset(p, 0, sizeof(*p));
	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return false;
	mnl_attr_for_each_nested(attr, nest) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_ALLOWED_IP_ADDR:
			len = mnl_attr_get_payload_len(attr);
			if (len == 4) {
				p->family = AF_INET;
				memcpy(&p->addr.v4, mnl_attr_get_payload(attr), 4);
			} else if (len == 16) {
				p->family = AF_INET6;
				memcpy(&p->addr.v6, mnl_attr_get_payload(attr), 16);
			}
			break;
		case SHOAL_A_ALLOWED_IP_PREFIX_LEN:
			if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
				return false;
			p->len = mnl_attr_get_u8(attr);
			has_len = true;
			break;
		}
	}
	return p->family && has_len &&
	       p->len <= (p->family == AF_INET ? 32 : 128);
}

static void peer_allowed_ips(struct shoal_peer_info *p,
			     const struct nlattr *list)
{
	const struct nlattr *nest;

	if (mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return;
	p->n_allowed_ips = 0;
	mnl_attr_for_each_nested(nest, list) {
		if (mnl_attr_get_type(nest) != SHOAL_A_ALLOWED_IP ||
		    p->n_allowed_ips >= SHOAL_MAX_ALLOWED_IPS)
			continue;
		if (allowed_ip(&p->allowed_ips[p->n_allowed_ips], nest))
			p->n_allowed_ips++;
	}
}

static void peer_attr(struct shoal_peer_info *p, const struct nlattr *attr)
{
	switch (mnl_attr_get_type(attr)) {
	case SHOAL_A_PEER_MAC:
		if (mnl_attr_get_payload_len(attr) == sizeof(p->mac)) {
			memcpy(p->mac, mnl_attr_get_payload(attr), sizeof(p->mac));
			p->has_mac = true;
		}
		break;
	case SHOAL_A_PEER_ENDPOINT:
		shoal_endpoint_from_blob(&p->endpoint,
					 mnl_attr_get_payload(attr),
					 mnl_attr_get_payload_len(attr));
		break;
	case SHOAL_A_PEER_LAYER3:
		get_u8_bool(attr, &p->layer3);
		break;
	case SHOAL_A_PEER_BRIDGE:
		get_u8_bool(attr, &p->bridge);
		break;
	case SHOAL_A_PEER_SA_OUT:
		p->sa_out_spi = sa_spi(attr);
		p->has_sa_out = p->sa_out_spi != 0;
		break;
	case SHOAL_A_PEER_SA_IN:
		peer_sa_in(p, attr);
		break;
	case SHOAL_A_PEER_ALLOWED_IPS:
		peer_allowed_ips(p, attr);
		break;
	case SHOAL_A_PEER_RX_BYTES:
		get_u64(attr, &p->rx_bytes);
		break;
	case SHOAL_A_PEER_TX_BYTES:
		get_u64(attr, &p->tx_bytes);
		break;
	case SHOAL_A_PEER_RX_PACKETS:
		get_u64(attr, &p->rx_packets);
		break;
	case SHOAL_A_PEER_TX_PACKETS:
		get_u64(attr, &p->tx_packets);
		break;
	case SHOAL_A_PEER_AUTH_FAILURES:
		get_u64(attr, &p->auth_failures);
		break;
	case SHOAL_A_PEER_REPLAYS:
		get_u64(attr, &p->replays);
		break;
	case SHOAL_A_PEER_LAST_RX:
		get_u64(attr, &p->last_rx);
		break;
	case SHOAL_A_PEER_LOCAL_PORT:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
			p->local_port = mnl_attr_get_u16(attr);
		break;
	}
}

/* The peer of that key, appended if the device has none yet; or NULL. */
static struct shoal_peer_info *find_peer(struct shoal_device_info *d,
					 const uint8_t *key)
{
	size_t i;

	for (i = 0; i < d->n_peers; i++)
		if (!memcmp(d->peers[i].public_key, key, SHOAL_KEY_LEN))
			return &d->peers[i];
	if (reserve((void **)&d->peers, &d->peers_cap, d->n_peers,
		    sizeof(*d->peers)) < 0)
		return NULL;
	memcpy(d->peers[d->n_peers].public_key, key, SHOAL_KEY_LEN);
	return &d->peers[d->n_peers++];
}

static int device_peer(struct shoal_device_info *d, const struct nlattr *nest)
{
	const struct nlattr *key = NULL;
	struct shoal_peer_info *p;
	struct nlattr *attr;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return 0;
	mnl_attr_for_each_nested(attr, nest) {
		if (mnl_attr_get_type(attr) == SHOAL_A_PEER_PUBLIC_KEY &&
		    mnl_attr_get_payload_len(attr) == SHOAL_KEY_LEN)
			key = attr;
	}
	if (!key)
		return 0;
	p = find_peer(d, mnl_attr_get_payload(key));
	if (!p)
		return -ENOMEM;
	mnl_attr_for_each_nested(attr, nest)
		peer_attr(p, attr);
	return 0;
}

static int device_peers(struct shoal_device_info *d, const struct nlattr *list)
{
	struct nlattr *peer;
	int ret;

	if (mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return 0;
	mnl_attr_for_each_nested(peer, list) {
		if (mnl_attr_get_type(peer) != SHOAL_A_PEER)
			continue;
		ret = device_peer(d, peer);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void device_stats(struct shoal_device_info *d, const struct nlattr *nest)
{
	struct nlattr *attr;
	uint16_t type;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(attr, nest) {
		type = mnl_attr_get_type(attr);
		if (type > SHOAL_A_DSTAT_UNSPEC && type != SHOAL_A_DSTAT_PAD &&
		    type <= SHOAL_A_DSTAT_MAX)
			get_u64(attr, &d->stats[type]);
	}
}

/* The message's ifindex and ifname (either may be missing). */
static void message_ids(const struct nlmsghdr *nlh, uint32_t *ifindex,
			const char **ifname)
{
	struct nlattr *attr;

	*ifindex = 0;
	*ifname = NULL;
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) == SHOAL_A_DEVICE_IFINDEX &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			*ifindex = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == SHOAL_A_DEVICE_IFNAME &&
			 mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0 &&
			 mnl_attr_get_payload_len(attr) <= IF_NAMESIZE)
			*ifname = mnl_attr_get_str(attr);
	}
}

/* The device this message is about, appended if new; or NULL. */
static struct shoal_device_info *find_device(struct shoal_device_list *l,
					     uint32_t ifindex,
					     const char *ifname)
{
	struct shoal_device_info *d;
	size_t i;

	for (i = 0; i < l->n; i++) {
		d = &l->devs[i];
		if (ifindex ? d->ifindex == ifindex :
		    !d->ifindex && !strcmp(d->ifname, ifname))
			return d;
	}
	if (reserve((void **)&l->devs, &l->cap, l->n, sizeof(*l->devs)) < 0)
		return NULL;
	d = &l->devs[l->n++];
	d->ifindex = ifindex;
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	return d;
}

int shoal_device_list_add(struct shoal_device_list *l,
			  const struct nlmsghdr *nlh, const char *only_ifname)
{
	struct shoal_device_info *d;
	const char *ifname;
	struct nlattr *attr;
	uint32_t ifindex;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return 0;
	message_ids(nlh, &ifindex, &ifname);
	if (!ifname || (only_ifname && strcmp(ifname, only_ifname)))
		return 0;
	d = find_device(l, ifindex, ifname);
	if (!d)
		return -ENOMEM;
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_DEVICE_LISTEN_PORT:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				d->listen_port = mnl_attr_get_u16(attr);
			break;
		case SHOAL_A_DEVICE_MAC:
			if (mnl_attr_get_payload_len(attr) == sizeof(d->mac)) {
				memcpy(d->mac, mnl_attr_get_payload(attr),
				       sizeof(d->mac));
				d->has_mac = true;
			}
			break;
		case SHOAL_A_DEVICE_STATS:
			device_stats(d, attr);
			break;
		case SHOAL_A_DEVICE_PEERS:
			if (device_peers(d, attr) < 0)
				return -ENOMEM;
			break;
		}
	}
	return 0;
}

void shoal_device_list_free(struct shoal_device_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->devs[i].peers);
	free(l->devs);
	memset(l, 0, sizeof(*l));
}

/* Adds an SA nest of the given type; false (nothing added) if no room. */
static bool put_sa(struct nlmsghdr *nlh, size_t size, uint16_t type,
		   const struct shoal_sa_attrs *sa)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, size, type);

	if (!nest)
		return false;
	if (!mnl_attr_put_u32_check(nlh, size, SHOAL_A_SA_SPI, sa->spi) ||
	    (sa->key &&
	     !mnl_attr_put_check(nlh, size, SHOAL_A_SA_KEY, SHOAL_SA_KEY_LEN,
				 sa->key)) ||
	    (sa->soft_packets &&
	     !mnl_attr_put_u64_check(nlh, size, SHOAL_A_SA_SOFT_PACKETS,
				     sa->soft_packets)) ||
	    (sa->hard_packets &&
	     !mnl_attr_put_u64_check(nlh, size, SHOAL_A_SA_HARD_PACKETS,
				     sa->hard_packets)) ||
	    (sa->soft_seconds &&
	     !mnl_attr_put_u32_check(nlh, size, SHOAL_A_SA_SOFT_SECONDS,
				     sa->soft_seconds)) ||
	    (sa->hard_seconds &&
	     !mnl_attr_put_u32_check(nlh, size, SHOAL_A_SA_HARD_SECONDS,
				     sa->hard_seconds))) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/*
 * Adds SHOAL_A_PEER_ALLOWED_IPS with the n prefixes (none: the empty nest
 * that lifts the restriction); false (nothing added) if no room.
 */
static bool put_allowed_ips(struct nlmsghdr *nlh, size_t size,
			    const struct shoal_prefix *prefixes, size_t n)
{
	struct nlattr *list, *nest;
	size_t i;

	list = mnl_attr_nest_start_check(nlh, size, SHOAL_A_PEER_ALLOWED_IPS);
	if (!list)
		return false;
	for (i = 0; i < n; i++) {
		const struct shoal_prefix *p = &prefixes[i];
		bool v4 = p->family == AF_INET;

		nest = mnl_attr_nest_start_check(nlh, size, SHOAL_A_ALLOWED_IP);
		if (!nest ||
		    !mnl_attr_put_check(nlh, size, SHOAL_A_ALLOWED_IP_ADDR,
					v4 ? 4 : 16,
					v4 ? (const void *)&p->addr.v4 :
					     (const void *)&p->addr.v6) ||
		    !mnl_attr_put_u8_check(nlh, size,
					   SHOAL_A_ALLOWED_IP_PREFIX_LEN,
					   p->len)) {
			mnl_attr_nest_cancel(nlh, list);
			return false;
		}
		mnl_attr_nest_end(nlh, nest);
	}
	mnl_attr_nest_end(nlh, list);
	return true;
}

/* ---- SHOAL_CMD_SET_DEVICE ---- */

/* What the kernel's policy would refuse anyway, said before sending. */
static bool sa_valid(const struct shoal_sa_attrs *sa)
{
	return sa->spi >= SHOAL_SPI_MIN &&
	       sa->soft_seconds <= SHOAL_SA_MAX_SECONDS &&
	       sa->hard_seconds <= SHOAL_SA_MAX_SECONDS;
}

static bool peer_valid(const struct shoal_set_peer *p)
{
	unsigned int i;

	if (!p->public_key || (p->sa_out && !sa_valid(p->sa_out)) ||
	    (p->set_sa_in && (p->n_sa_in > SHOAL_MAX_SA_IN ||
			      (p->n_sa_in && !p->sa_in))) ||
	    (p->set_allowed_ips &&
	     (p->n_allowed_ips > SHOAL_MAX_ALLOWED_IPS ||
	      (p->n_allowed_ips && !p->allowed_ips))))
		return false;
	for (i = 0; p->set_sa_in && i < p->n_sa_in; i++)
		if (!sa_valid(&p->sa_in[i]))
			return false;
	return true;
}

static bool put_sa_in(struct nlmsghdr *nlh, size_t size,
		      const struct shoal_set_peer *p)
{
	struct nlattr *list;
	unsigned int i;

	list = mnl_attr_nest_start_check(nlh, size, SHOAL_A_PEER_SA_IN);
	if (!list)
		return false;
	for (i = 0; i < p->n_sa_in; i++) {
		if (!put_sa(nlh, size, SHOAL_A_SA, &p->sa_in[i])) {
			mnl_attr_nest_cancel(nlh, list);
			return false;
		}
	}
	mnl_attr_nest_end(nlh, list);
	return true;
}

/* One SHOAL_A_PEER nest; false (and nothing added) if it does not fit. */
static bool put_peer(struct nlmsghdr *nlh, size_t size,
		     const struct shoal_set_peer *p)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, size, SHOAL_A_PEER);
	bool ok;

	if (!nest)
		return false;
	ok = mnl_attr_put_check(nlh, size, SHOAL_A_PEER_PUBLIC_KEY,
				SHOAL_KEY_LEN, p->public_key);
	if (ok && p->remove)
		ok = mnl_attr_put_u32_check(nlh, size, SHOAL_A_PEER_FLAGS,
					    SHOAL_PEER_F_REMOVE);
	if (ok && p->mac)
		ok = mnl_attr_put_check(nlh, size, SHOAL_A_PEER_MAC, 6, p->mac);
	if (ok && p->endpoint && p->endpoint->len)
		ok = mnl_attr_put_check(nlh, size, SHOAL_A_PEER_ENDPOINT,
					p->endpoint->len, &p->endpoint->sa);
	if (ok && p->set_layer3)
		ok = mnl_attr_put_u8_check(nlh, size, SHOAL_A_PEER_LAYER3,
					   p->layer3);
	if (ok && p->set_bridge)
		ok = mnl_attr_put_u8_check(nlh, size, SHOAL_A_PEER_BRIDGE,
					   p->bridge);
	if (ok && p->sa_out)
		ok = put_sa(nlh, size, SHOAL_A_PEER_SA_OUT, p->sa_out);
	if (ok && p->set_sa_in)
		ok = put_sa_in(nlh, size, p);
	if (ok && p->set_allowed_ips)
		ok = put_allowed_ips(nlh, size, p->allowed_ips,
				     p->n_allowed_ips);
	/* -1 (any negative fd) as SHOAL_PEER_SOCKET_NONE. */
	if (ok && p->set_socket)
		ok = mnl_attr_put_u32_check(nlh, size, SHOAL_A_PEER_SOCKET_FD,
					    p->socket_fd < 0 ?
					    SHOAL_PEER_SOCKET_NONE :
					    (uint32_t)p->socket_fd);
	if (!ok) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* The selector, and the device's own settings in the first message. */
static bool put_device(struct nlmsghdr *nlh, size_t size,
		       const struct shoal_set_device *d, bool first)
{
	bool ok;

	if (d->ifindex)
		ok = mnl_attr_put_u32_check(nlh, size, SHOAL_A_DEVICE_IFINDEX,
					    d->ifindex);
	else
		ok = mnl_attr_put_strz_check(nlh, size, SHOAL_A_DEVICE_IFNAME,
					     d->ifname);
	if (!first)
		return ok;
	if (ok && d->set_listen_port)
		ok = mnl_attr_put_u16_check(nlh, size,
					    SHOAL_A_DEVICE_LISTEN_PORT,
					    d->listen_port);
	if (ok && d->cookie_secret)
		ok = mnl_attr_put_check(nlh, size, SHOAL_A_DEVICE_COOKIE_SECRET,
					SHOAL_COOKIE_SECRET_LEN,
					d->cookie_secret) &&
		     mnl_attr_put_check(nlh, size, SHOAL_A_DEVICE_MAC1_KEY,
					SHOAL_COOKIE_SECRET_LEN, d->mac1_key) &&
		     mnl_attr_put_check(nlh, size, SHOAL_A_DEVICE_COOKIE_KEY,
					SHOAL_COOKIE_SECRET_LEN,
					d->cookie_key);
	return ok;
}

int shoal_set_encode(struct nlmsghdr *nlh, size_t size,
		     const struct shoal_set_device *d, size_t *next)
{
	size_t i, first = *next;
	struct nlattr *list;

	if ((!d->ifindex && (!d->ifname || !*d->ifname ||
			     strlen(d->ifname) >= IF_NAMESIZE)) ||
	    (!d->cookie_secret != !d->mac1_key) ||
	    (!d->cookie_secret != !d->cookie_key) ||
	    (d->n_peers && !d->peers))
		return -EINVAL;
	for (i = first; i < d->n_peers; i++)
		if (!peer_valid(&d->peers[i]))
			return -EINVAL;
	if (!put_device(nlh, size, d, first == 0))
		return -EMSGSIZE;
	if (first >= d->n_peers)
		return 0;
	list = mnl_attr_nest_start_check(nlh, size, SHOAL_A_DEVICE_PEERS);
	if (!list)
		return -EMSGSIZE;
	for (i = first; i < d->n_peers; i++)
		if (!put_peer(nlh, size, &d->peers[i]))
			break;
	if (i == first) {
		mnl_attr_nest_cancel(nlh, list);
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, list);
	*next = i;
	return 0;
}

/* ---- events ---- */

/* The SHOAL_A_SA_SPI of one SA nest, if it has a well-formed one. */
static bool event_sa_spi(struct shoal_event *e, const struct nlattr *sa)
{
	const struct nlattr *attr;

	if (mnl_attr_validate(sa, MNL_TYPE_NESTED) < 0)
		return false;
	mnl_attr_for_each_nested(attr, sa) {
		if (mnl_attr_get_type(attr) == SHOAL_A_SA_SPI &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
			e->spi = mnl_attr_get_u32(attr);
			e->has_spi = true;
			return true;
		}
	}
	return false;
}

/* The first SA of a SHOAL_A_PEER_SA_IN list. */
static void event_sa_in(struct shoal_event *e, const struct nlattr *list)
{
	const struct nlattr *sa;

	if (mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(sa, list)
		if (mnl_attr_get_type(sa) == SHOAL_A_SA && event_sa_spi(e, sa))
			return;
}

/* What an event says of a peer counts only with the peer's key. */
static const uint8_t *event_peer_key(const struct nlattr *peer)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, peer)
		if (mnl_attr_get_type(attr) == SHOAL_A_PEER_PUBLIC_KEY &&
		    mnl_attr_get_payload_len(attr) == SHOAL_KEY_LEN)
			return mnl_attr_get_payload(attr);
	return NULL;
}

/* The SHOAL_A_PEER nest an event is about. */
static void event_peer(struct shoal_event *e, const struct nlattr *peer)
{
	const struct nlattr *attr;

	e->public_key = event_peer_key(peer);
	if (!e->public_key)
		return;
	mnl_attr_for_each_nested(attr, peer) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_PEER_ENDPOINT:
			shoal_endpoint_from_blob(&e->endpoint,
						 mnl_attr_get_payload(attr),
						 mnl_attr_get_payload_len(attr));
			break;
		case SHOAL_A_PEER_SA_OUT:
			if (!e->has_spi)
				e->outbound = event_sa_spi(e, attr);
			break;
		case SHOAL_A_PEER_SA_IN:
			if (!e->has_spi)
				event_sa_in(e, attr);
			break;
		}
	}
}

/*
 * Events say what they say of one peer: the first in the list, and the
 * first list with a keyed peer, however many lists the event has.
 */
static void event_peers(struct shoal_event *e, const struct nlattr *list)
{
	const struct nlattr *peer;

	if (e->public_key || mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(peer, list) {
		if (mnl_attr_get_type(peer) == SHOAL_A_PEER &&
		    mnl_attr_validate(peer, MNL_TYPE_NESTED) == 0) {
			event_peer(e, peer);
			return;
		}
	}
}

static void event_attr(struct shoal_event *e, const struct nlattr *attr)
{
	size_t len = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case SHOAL_A_DEVICE_PEERS:
		event_peers(e, attr);
		break;
	case SHOAL_A_CONTROL_ENDPOINT:
		shoal_endpoint_from_blob(&e->source, mnl_attr_get_payload(attr),
					 len);
		break;
	case SHOAL_A_CONTROL_PAYLOAD:
		e->payload = mnl_attr_get_payload(attr);
		e->payload_len = len;
		break;
	case SHOAL_A_CONTROL_LOCAL:
		if (len == 4 || len == 16) {
			e->local = mnl_attr_get_payload(attr);
			e->local_len = len;
		}
		break;
	case SHOAL_A_UNKNOWN_SPI:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
			e->spi = mnl_attr_get_u32(attr);
			e->has_spi = true;
		}
		break;
	}
}

/* Whether the event has what uapi/linux/shoal.h says it carries. */
static int event_complete(const struct shoal_event *e)
{
	bool ok = e->ifindex && e->ifname;

	switch (e->cmd) {
	case SHOAL_CMD_EVENT_CONTROL:
		ok = ok && e->source.len && e->payload &&
		     e->payload_len >= 1 && e->payload_len <= SHOAL_MAX_CONTROL;
		break;
	case SHOAL_CMD_EVENT_ENDPOINT:
		ok = ok && e->public_key && e->endpoint.len;
		break;
	case SHOAL_CMD_EVENT_UNKNOWN_SPI:
		ok = ok && e->has_spi && e->source.len;
		break;
	case SHOAL_CMD_EVENT_SOFT_EXPIRE:
		ok = ok && e->public_key && e->has_spi;
		break;
	default:
		return -EOPNOTSUPP;
	}
	return ok ? 0 : -EBADMSG;
}

int shoal_event_parse(struct shoal_event *e, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	memset(e, 0, sizeof(*e));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*genl)))
		return -EBADMSG;
	e->cmd = genl->cmd;
	message_ids(nlh, &e->ifindex, &e->ifname);
	mnl_attr_for_each(attr, nlh, sizeof(*genl))
		event_attr(e, attr);
	/* The address it came to is one of the source's family, or none. */
	if (e->local && (!e->source.len ||
			 e->local_len != (e->source.sa.sa_family == AF_INET ?
					  4u : 16u))) {
		e->local = NULL;
		e->local_len = 0;
	}
	return event_complete(e);
}
