// SPDX-License-Identifier: MIT
/*
 * The kernel datapath: shoal.ko driven over generic netlink.  Two sockets,
 * because replies and multicast events on one socket would interleave:
 * req for commands, ev (nonblocking) for the events group.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <sodium.h>

#include "datapath.h"
#include "genl.h"
#include "link.h"
#include "util.h"

/*
 * The local address (as the kernel reports it) a peer's packets arrive
 * at, so that what shoald sends there leaves from it: on a multihomed
 * host behind a NAT, packets from another address would miss the
 * mapping the peer's packets made.  An answer to a packet leaves from
 * the address that packet came to (ev_path, while its event is
 * handled).  Later packets to that endpoint leave from the address of
 * its last fresh, authenticated message (path_proven), kept here:
 * anything an outsider can spoof or replay must not move it.
 * Direct-mapped by a keyed hash: a collision costs only the route's
 * choice of source.
 */
#define REPLY_FROM_SLOTS 256

struct reply_from {
	struct shoal_endpoint to;
	uint8_t local[16];
	uint8_t local_len;	/* 4 or 16; 0: slot unused */
};

struct dp_kernel {
	struct shoal_dp dp;
	struct shoal_genl req, ev;
	struct reply_from reply_from[REPLY_FROM_SLOTS];
	uint8_t hash_key[SHOAL_HASH_KEY_LEN];
	/* The event being handled: its source, and the address it came to. */
	struct reply_from ev_path;
};

static struct dp_kernel *to_kernel(struct shoal_dp *dp)
{
	return (struct dp_kernel *)dp;
}

static struct nlmsghdr *device_request(struct dp_kernel *k, char *buf,
				       uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = shoal_genl_request(&k->req, buf, cmd, flags);

	mnl_attr_put_u32(nlh, SHOAL_A_DEVICE_IFINDEX, k->dp.ifindex);
	return nlh;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct shoal_device_list *l = data;

	return shoal_device_list_add(l, nlh, NULL) < 0 ? MNL_CB_ERROR
						       : MNL_CB_OK;
}

static int kernel_get(struct shoal_dp *dp, struct shoal_device_info *info)
{
	struct dp_kernel *k = to_kernel(dp);
	struct shoal_device_list l;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret, tries = 0;

	do {
		memset(&l, 0, sizeof(l));
		nlh = device_request(k, buf, SHOAL_CMD_GET_DEVICE,
				     NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
		ret = shoal_genl_talk(&k->req, nlh, get_cb, &l);
		if (ret == 0 && k->req.dump_intr)
			shoal_device_list_free(&l);
	} while (ret == 0 && k->req.dump_intr && ++tries < 10);
	if (ret == 0 && l.n != 1)
		ret = -ENODEV;
	if (ret < 0) {
		shoal_device_list_free(&l);
		return ret;
	}
	*info = l.devs[0];
	free(l.devs);
	return 0;
}

static void sa_attrs(struct shoal_sa_attrs *a, const struct shoal_dp_sa *sa)
{
	*a = (struct shoal_sa_attrs){
		.spi = sa->spi,
		.key = sa->keep ? NULL : sa->key,
		.soft_packets = sa->soft_packets,
		.hard_packets = sa->hard_packets,
		.soft_seconds = sa->soft_seconds,
		.hard_seconds = sa->hard_seconds,
	};
}

static int kernel_set_peer(struct shoal_dp *dp, const struct shoal_dp_peer *p)
{
	struct dp_kernel *k = to_kernel(dp);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *peers, *peer, *list;
	struct shoal_sa_attrs a;
	struct nlmsghdr *nlh;
	unsigned int i;
	int ret;

	nlh = device_request(k, buf, SHOAL_CMD_SET_DEVICE,
			     NLM_F_REQUEST | NLM_F_ACK);
	peers = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_PEERS);
	peer = mnl_attr_nest_start(nlh, SHOAL_A_PEER);
	mnl_attr_put(nlh, SHOAL_A_PEER_PUBLIC_KEY, SHOAL_KEY_LEN,
		     p->public_key);
	if (p->has_mac)
		mnl_attr_put(nlh, SHOAL_A_PEER_MAC, sizeof(p->mac), p->mac);
	if (p->endpoint.len)
		mnl_attr_put(nlh, SHOAL_A_PEER_ENDPOINT, p->endpoint.len,
			     &p->endpoint.sa);
	if (p->set_sa_out) {
		sa_attrs(&a, &p->sa_out);
		shoal_device_put_sa(nlh, MNL_SOCKET_BUFFER_SIZE,
				    SHOAL_A_PEER_SA_OUT, &a);
	}
	if (p->set_sa_in) {
		list = mnl_attr_nest_start(nlh, SHOAL_A_PEER_SA_IN);
		for (i = 0; i < p->n_sa_in && i < SHOAL_MAX_SA_IN; i++) {
			sa_attrs(&a, &p->sa_in[i]);
			shoal_device_put_sa(nlh, MNL_SOCKET_BUFFER_SIZE,
					    SHOAL_A_SA, &a);
		}
		mnl_attr_nest_end(nlh, list);
	}
	if (p->set_allowed_ips &&
	    !shoal_device_put_allowed_ips(nlh, sizeof(buf), p->allowed_ips,
					  p->n_allowed_ips))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	ret = shoal_genl_talk(&k->req, nlh, NULL, NULL);
	/* The request held keys. */
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int kernel_remove_peer(struct shoal_dp *dp,
			      const uint8_t public_key[SHOAL_KEY_LEN])
{
	struct dp_kernel *k = to_kernel(dp);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *peers, *peer;
	struct nlmsghdr *nlh;

	nlh = device_request(k, buf, SHOAL_CMD_SET_DEVICE,
			     NLM_F_REQUEST | NLM_F_ACK);
	peers = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_PEERS);
	peer = mnl_attr_nest_start(nlh, SHOAL_A_PEER);
	mnl_attr_put(nlh, SHOAL_A_PEER_PUBLIC_KEY, SHOAL_KEY_LEN, public_key);
	mnl_attr_put_u32(nlh, SHOAL_A_PEER_FLAGS, SHOAL_PEER_F_REMOVE);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return shoal_genl_talk(&k->req, nlh, NULL, NULL);
}

static struct reply_from *reply_from_slot(struct dp_kernel *k,
					  const struct shoal_endpoint *ep)
{
	uint8_t key[2 + 2 + 16] = { 0 };

	if (ep->sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 2, &ep->in.sin_port, 2);
		memcpy(key + 4, &ep->in.sin_addr, 4);
	} else {
		key[0] = 6;
		memcpy(key + 2, &ep->in6.sin6_port, 2);
		memcpy(key + 4, &ep->in6.sin6_addr, 16);
	}
	return &k->reply_from[shoal_keyed_index(k->hash_key, key, sizeof(key),
						REPLY_FROM_SLOTS)];
}

/* The event's local address, if it has one of its source's family. */
static void ev_path_set(struct dp_kernel *k, const struct shoal_endpoint *from,
			const struct nlattr *local)
{
	size_t len = local ? mnl_attr_get_payload_len(local) : 0;

	k->ev_path.local_len = 0;
	if (!local || !from->len ||
	    len != (from->sa.sa_family == AF_INET ? 4u : 16u))
		return;
	k->ev_path.to = *from;
	memcpy(k->ev_path.local, mnl_attr_get_payload(local), len);
	k->ev_path.local_len = (uint8_t)len;
}

static void kernel_path_proven(struct shoal_dp *dp,
			       const struct shoal_endpoint *from)
{
	struct dp_kernel *k = to_kernel(dp);

	if (k->ev_path.local_len && shoal_endpoint_equal(&k->ev_path.to, from))
		*reply_from_slot(k, from) = k->ev_path;
}

/*
 * Where a message to `to` leaves from: the event being answered, if it
 * came from there, else what the last authenticated message from there
 * was sent to.  NULL when neither is known: the route picks.
 */
static const struct reply_from *reply_from_find(struct dp_kernel *k,
						const struct shoal_endpoint *to)
{
	const struct reply_from *r = &k->ev_path;

	if (r->local_len && shoal_endpoint_equal(&r->to, to))
		return r;
	r = reply_from_slot(k, to);
	if (r->local_len && shoal_endpoint_equal(&r->to, to))
		return r;
	return NULL;
}

static int kernel_send_control(struct shoal_dp *dp,
			       const struct shoal_endpoint *to,
			       const void *payload, size_t len)
{
	struct dp_kernel *k = to_kernel(dp);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	const struct reply_from *r;
	struct nlmsghdr *nlh;

	if (!len || len > SHOAL_MAX_CONTROL || !to->len)
		return -EINVAL;
	nlh = device_request(k, buf, SHOAL_CMD_SEND_CONTROL,
			     NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_ENDPOINT, to->len, &to->sa);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_PAYLOAD, (uint16_t)len, payload);
	r = reply_from_find(k, to);
	if (r)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_LOCAL, r->local_len, r->local);
	return shoal_genl_talk(&k->req, nlh, NULL, NULL);
}

static int kernel_set_cookie(struct shoal_dp *dp,
			     const uint8_t secret[SHOAL_COOKIE_SECRET_LEN],
			     const uint8_t mac1_key[SHOAL_COOKIE_SECRET_LEN],
			     const uint8_t cookie_key[SHOAL_COOKIE_SECRET_LEN])
{
	struct dp_kernel *k = to_kernel(dp);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = device_request(k, buf, SHOAL_CMD_SET_DEVICE,
			     NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_put(nlh, SHOAL_A_DEVICE_COOKIE_SECRET,
		     SHOAL_COOKIE_SECRET_LEN, secret);
	mnl_attr_put(nlh, SHOAL_A_DEVICE_MAC1_KEY, SHOAL_COOKIE_SECRET_LEN, mac1_key);
	mnl_attr_put(nlh, SHOAL_A_DEVICE_COOKIE_KEY, SHOAL_COOKIE_SECRET_LEN, cookie_key);
	ret = shoal_genl_talk(&k->req, nlh, NULL, NULL);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* What kernel_handle hands to the event callback. */
struct event_ctx {
	struct dp_kernel *k;
	shoal_dp_event_fn fn;
	void *ctx;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct event_ctx *e = data;
	struct shoal_dp_event ev = { 0 };
	struct shoal_device_list l = { 0 };
	const struct shoal_peer_info *p;
	const struct nlattr *local = NULL;
	struct nlattr *attr;
	uint32_t ifindex = 0;

	mnl_attr_for_each(attr, nlh, sizeof(*genl)) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_DEVICE_IFINDEX:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				ifindex = mnl_attr_get_u32(attr);
			break;
		case SHOAL_A_CONTROL_ENDPOINT:
			shoal_endpoint_from_blob(&ev.from,
						 mnl_attr_get_payload(attr),
						 mnl_attr_get_payload_len(attr));
			break;
		case SHOAL_A_CONTROL_PAYLOAD:
			ev.payload = mnl_attr_get_payload(attr);
			ev.len = mnl_attr_get_payload_len(attr);
			break;
		case SHOAL_A_CONTROL_LOCAL:
			local = attr;
			break;
		case SHOAL_A_UNKNOWN_SPI:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				ev.spi = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (ifindex != e->k->dp.ifindex)
		return MNL_CB_OK;

	switch (genl->cmd) {
	case SHOAL_CMD_EVENT_CONTROL:
		if (!ev.from.len || !ev.payload)
			return MNL_CB_OK;
		ev.type = SHOAL_DP_EV_CONTROL;
		ev_path_set(e->k, &ev.from, local);
		e->fn(e->ctx, &ev);
		e->k->ev_path.local_len = 0;
		return MNL_CB_OK;
	case SHOAL_CMD_EVENT_UNKNOWN_SPI:
		/*
		 * Not an answer's path: the handshake this starts is no reply
		 * to it, and an outsider could pick the address it leaves
		 * from by spoofing ESP to another of ours.
		 */
		ev.type = SHOAL_DP_EV_UNKNOWN_SPI;
		e->fn(e->ctx, &ev);
		return MNL_CB_OK;
	case SHOAL_CMD_EVENT_ENDPOINT:
	case SHOAL_CMD_EVENT_SOFT_EXPIRE:
		break;
	default:
		return MNL_CB_OK;
	}

	/* The peer comes as in a get reply; one we cannot read is skipped. */
	if (shoal_device_list_add(&l, nlh, NULL) < 0) {
		shoal_device_list_free(&l);
		return MNL_CB_OK;
	}
	if (l.n == 1 && l.devs[0].n_peers == 1) {
		p = &l.devs[0].peers[0];
		memcpy(ev.public_key, p->public_key, SHOAL_KEY_LEN);
		if (genl->cmd == SHOAL_CMD_EVENT_ENDPOINT) {
			ev.type = SHOAL_DP_EV_ENDPOINT;
			ev.from = p->endpoint;
		} else {
			ev.type = SHOAL_DP_EV_SOFT_EXPIRE;
			ev.outbound = p->has_sa_out;
			ev.spi = p->has_sa_out ? p->sa_out_spi
					       : p->sa_in_spis[0];
		}
		e->fn(e->ctx, &ev);
	}
	shoal_device_list_free(&l);
	return MNL_CB_OK;
}

static int kernel_handle(struct shoal_dp *dp, int fd, shoal_dp_event_fn fn,
			 void *ctx)
{
	struct dp_kernel *k = to_kernel(dp);
	struct event_ctx e = { .k = k, .fn = fn, .ctx = ctx };
	struct shoal_dp_event lost = { .type = SHOAL_DP_EV_LOST };
	int ret, i;

	(void)fd;
	/* Bounded, so that a flood of events cannot starve the loop. */
	for (i = 0; i < 64; i++) {
		ret = shoal_genl_read_events(&k->ev, event_cb, &e);
		if (ret == -EAGAIN || ret == -EWOULDBLOCK)
			return 0;
		if (ret == -ENOBUFS) {
			fn(ctx, &lost);
			continue;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void kernel_destroy(struct shoal_dp *dp)
{
	struct dp_kernel *k = to_kernel(dp);

	/* The device stays: its tunnels outlive the daemon (restart). */
	shoal_genl_close(&k->ev);
	shoal_genl_close(&k->req);
	free(k);
}

static const struct shoal_dp_ops kernel_ops = {
	.name = "kernel",
	.destroy = kernel_destroy,
	.handle = kernel_handle,
	.set_peer = kernel_set_peer,
	.remove_peer = kernel_remove_peer,
	.send_control = kernel_send_control,
	.get = kernel_get,
	.set_cookie = kernel_set_cookie,
	.path_proven = kernel_path_proven,
};

static int set_listen_port(struct dp_kernel *k, uint16_t port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = device_request(k, buf, SHOAL_CMD_SET_DEVICE,
			     NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_put_u16(nlh, SHOAL_A_DEVICE_LISTEN_PORT, port);
	return shoal_genl_talk(&k->req, nlh, NULL, NULL);
}

int shoal_dp_kernel_open(struct shoal_dp **dpp,
			 const struct shoal_dp_config *cfg,
			 char *err, size_t err_size)
{
	struct shoal_device_info info;
	char kind[32], why[256] = "";
	struct dp_kernel *k;
	int ret, flags;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->dp.ops = &kernel_ops;
	randombytes_buf(k->hash_key, sizeof(k->hash_key));
	snprintf(k->dp.ifname, sizeof(k->dp.ifname), "%s", cfg->ifname);

	ret = shoal_genl_open(&k->req);
	if (ret < 0) {
		snprintf(err, err_size, "%s", ret == -ENOENT ?
			 "the shoal kernel module is not available" :
			 "cannot open generic netlink");
		goto free_k;
	}
	ret = shoal_link_kind(cfg->ifname, kind, sizeof(kind));
	if (ret == -ENOENT) {
		ret = shoal_link_create(cfg->ifname, SHOAL_LINK_KIND, why,
					sizeof(why));
		if (ret < 0) {
			snprintf(err, err_size, "cannot create %s: %s%s%s",
				 cfg->ifname, strerror(-ret), *why ? ": " : "",
				 why);
			goto close_req;
		}
	} else if (ret < 0) {
		snprintf(err, err_size, "cannot look up %s: %s", cfg->ifname,
			 strerror(-ret));
		goto close_req;
	} else if (strcmp(kind, SHOAL_LINK_KIND)) {
		snprintf(err, err_size, "%s exists and is not a shoal device "
			 "(kind '%s')", cfg->ifname, kind);
		ret = -EEXIST;
		goto close_req;
	}
	k->dp.ifindex = shoal_link_index(cfg->ifname);
	if (!k->dp.ifindex) {
		snprintf(err, err_size, "%s vanished", cfg->ifname);
		ret = -ENODEV;
		goto close_req;
	}
	if (cfg->has_mac) {
		ret = shoal_link_set_mac(k->dp.ifindex, cfg->mac);
		if (ret < 0) {
			snprintf(err, err_size, "cannot set the MAC of %s: %s",
				 cfg->ifname, strerror(-ret));
			goto close_req;
		}
	}

	ret = kernel_get(&k->dp, &info);
	if (ret < 0) {
		snprintf(err, err_size, "cannot read %s: %s", cfg->ifname,
			 strerror(-ret));
		goto close_req;
	}
	/* A port already bound (a restart) stays, so peers need not roam. */
	if (!info.listen_port || (cfg->listen_port &&
				  cfg->listen_port != info.listen_port)) {
		shoal_dp_info_free(&info);
		ret = set_listen_port(k, cfg->listen_port);
		if (ret == 0)
			ret = kernel_get(&k->dp, &info);
		if (ret < 0) {
			snprintf(err, err_size, "cannot bind port %u: %s%s%s",
				 cfg->listen_port, strerror(-ret),
				 *k->req.ext_msg ? ": " : "", k->req.ext_msg);
			goto close_req;
		}
	}
	k->dp.listen_port = info.listen_port;
	memcpy(k->dp.mac, info.mac, sizeof(k->dp.mac));
	shoal_dp_info_free(&info);

	ret = shoal_genl_open(&k->ev);
	if (ret == 0)
		ret = shoal_genl_subscribe_events(&k->ev);
	if (ret < 0) {
		snprintf(err, err_size, "cannot subscribe to shoal events: %s",
			 strerror(-ret));
		goto close_ev;
	}
	flags = fcntl(mnl_socket_get_fd(k->ev.nl), F_GETFL);
	if (flags < 0 || fcntl(mnl_socket_get_fd(k->ev.nl), F_SETFL,
			       flags | O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(err, err_size, "fcntl: %s", strerror(errno));
		goto close_ev;
	}
	k->dp.fds[0] = mnl_socket_get_fd(k->ev.nl);
	k->dp.n_fds = 1;
	*dpp = &k->dp;
	return 0;

close_ev:
	shoal_genl_close(&k->ev);
close_req:
	shoal_genl_close(&k->req);
free_k:
	free(k);
	return ret;
}
