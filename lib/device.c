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

bool shoal_device_put_sa(struct nlmsghdr *nlh, size_t size, uint16_t type,
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

bool shoal_device_put_allowed_ips(struct nlmsghdr *nlh, size_t size,
				  const struct shoal_prefix *prefixes,
				  size_t n)
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
