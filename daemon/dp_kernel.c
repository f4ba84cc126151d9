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

/* One SHOAL_CMD_SET_DEVICE for this device; the request is wiped after. */
static int kernel_set(struct dp_kernel *k, struct shoal_set_device *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	size_t next = 0;
	int ret;

	d->ifindex = k->dp.ifindex;
	nlh = shoal_genl_request(&k->req, buf, SHOAL_CMD_SET_DEVICE, 0);
	ret = shoal_set_encode(nlh, sizeof(buf), d, &next);
	/* One message or none: a peer is far smaller than the buffer. */
	if (ret == 0 && next < d->n_peers)
		ret = -EMSGSIZE;
	if (ret == 0)
		ret = shoal_genl_talk(&k->req, nlh, NULL, NULL);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int kernel_set_peer(struct shoal_dp *dp, const struct shoal_dp_peer *p)
{
	struct shoal_sa_attrs sa_out, sa_in[SHOAL_MAX_SA_IN];
	struct shoal_set_peer peer = {
		.public_key = p->public_key,
		.mac = p->has_mac ? p->mac : NULL,
		.endpoint = &p->endpoint,
		.sa_out = p->set_sa_out ? &sa_out : NULL,
		.set_sa_in = p->set_sa_in,
		.n_sa_in = p->n_sa_in,
		.sa_in = sa_in,
		.set_allowed_ips = p->set_allowed_ips,
		.n_allowed_ips = p->n_allowed_ips,
		.allowed_ips = p->allowed_ips,
		.set_socket = p->set_socket,
		.socket_fd = p->socket_fd,
	};
	struct shoal_set_device d = { .peers = &peer, .n_peers = 1 };
	unsigned int i;

	sa_attrs(&sa_out, &p->sa_out);
	for (i = 0; i < p->n_sa_in && i < SHOAL_MAX_SA_IN; i++)
		sa_attrs(&sa_in[i], &p->sa_in[i]);
	return kernel_set(to_kernel(dp), &d);
}

static int kernel_remove_peer(struct shoal_dp *dp,
			      const uint8_t public_key[SHOAL_KEY_LEN])
{
	struct shoal_set_peer peer = { .public_key = public_key,
				       .remove = true };
	struct shoal_set_device d = { .peers = &peer, .n_peers = 1 };

	return kernel_set(to_kernel(dp), &d);
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

/* The event's source and the local address it came to, if given. */
static void ev_path_set(struct dp_kernel *k, const struct shoal_event *ev)
{
	k->ev_path.local_len = 0;
	if (!ev->local)
		return;
	k->ev_path.to = ev->source;
	memcpy(k->ev_path.local, ev->local, ev->local_len);
	k->ev_path.local_len = (uint8_t)ev->local_len;
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
	struct shoal_set_device d = {
		.cookie_secret = secret,
		.mac1_key = mac1_key,
		.cookie_key = cookie_key,
	};

	return kernel_set(to_kernel(dp), &d);
}

/* What kernel_handle hands to the event callback. */
struct event_ctx {
	struct dp_kernel *k;
	shoal_dp_event_fn fn;
	void *ctx;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct event_ctx *e = data;
	struct shoal_dp_event ev = { 0 };
	struct shoal_event msg;

	/* One the API does not describe fully is no event to act on. */
	if (shoal_event_parse(&msg, nlh) < 0 ||
	    msg.ifindex != e->k->dp.ifindex)
		return MNL_CB_OK;
	switch (msg.cmd) {
	case SHOAL_CMD_EVENT_CONTROL:
		ev.type = SHOAL_DP_EV_CONTROL;
		ev.from = msg.source;
		ev.payload = msg.payload;
		ev.len = msg.payload_len;
		ev_path_set(e->k, &msg);
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
		ev.from = msg.source;
		ev.spi = msg.spi;
		break;
	case SHOAL_CMD_EVENT_ENDPOINT:
		ev.type = SHOAL_DP_EV_ENDPOINT;
		memcpy(ev.public_key, msg.public_key, SHOAL_KEY_LEN);
		ev.from = msg.endpoint;
		break;
	case SHOAL_CMD_EVENT_SOFT_EXPIRE:
		ev.type = SHOAL_DP_EV_SOFT_EXPIRE;
		memcpy(ev.public_key, msg.public_key, SHOAL_KEY_LEN);
		ev.spi = msg.spi;
		ev.outbound = msg.outbound;
		break;
	default:
		return MNL_CB_OK;
	}
	e->fn(e->ctx, &ev);
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
	struct shoal_set_device d = { .set_listen_port = true,
				      .listen_port = port };

	return kernel_set(k, &d);
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
