// SPDX-License-Identifier: MIT
/*
 * shoald as shoal-mediator's client.  One TCP connection (lib/channel.c)
 * carries requests, replies and events (docs/protocol.md, "Mediator
 * messages"); the tunnel port carries BINDINGs and RELAY_BINDs through the
 * datapath, so that what the mediator sees is the mapping peers will use.
 *
 * The mediator going away changes nothing on the tunnels: peers stay,
 * sessions rekey and liveness is checked peer to peer.  The client
 * reconnects with backoff and jitter, logs in again and takes the
 * mediator's PEER_UPs as the truth: peers it no longer announces are
 * dropped STALE_AFTER seconds after the new login.
 *
 * This file holds the connection (connecting, reading, writing, losing
 * it) and the client's set-up; the rest is in one file a job, sharing
 * struct mclient through mclient_int.h: mclient_msg.c (what the mediator
 * says), mclient_udp.c (the tunnel port), mclient_netcheck.c,
 * mclient_tick.c (the loop's timer), mclient_request.c (the control
 * socket's requests) and mclient_state.c (the saved login).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "channel.h"
#include "json.h"
#include "mclient_int.h"
#include "medmsg.h"
#include "ratelimit.h"
#include "tlv.h"

/* The control client's answer: the first line, then any body. */
void mc_answer(int fd, int code, const char *message, const char *body)
{
	char line[320];
	size_t len, off;
	ssize_t n;

	if (fd < 0)
		return;
	if (code == 0)
		snprintf(line, sizeof(line), "ok\n");
	else if (code == 1)
		snprintf(line, sizeof(line), "ok pending\n");
	else
		snprintf(line, sizeof(line), "error %d %s\n", code,
			 message && *message ? message : "failed");
	for (int part = 0; part < 2; part++) {
		const char *s = part ? body : line;

		if (!s)
			continue;
		len = strlen(s);
		for (off = 0; off < len; off += (size_t)n) {
			n = write(fd, s + off, len - off);
			if (n <= 0)
				break;
		}
	}
	close(fd);
}

void mc_ep_json(FILE *f, const struct shoal_endpoint *ep)
{
	char text[SHOAL_ENDPOINT_STRLEN + 1];

	if (ep->len && shoal_endpoint_format(text, sizeof(text), ep) > 0)
		shoal_json_string(f, text);
	else
		fputs("null", f);
}

/* ENDPOINT attribute: family, address, port. */
/* ENDPOINT attributes, to and from the datapath's form. */
int mc_ep_from_attr(struct shoal_endpoint *ep, const uint8_t *v,
		    size_t len)
{
	uint8_t family, addr[16];
	uint16_t port;

	memset(ep, 0, sizeof(*ep));
	if (shoal_med_endpoint_get(v, len, &family, addr, &port) < 0)
		return -1;
	if (family == 4) {
		ep->in.sin_family = AF_INET;
		memcpy(&ep->in.sin_addr, addr, 4);
		ep->in.sin_port = htons(port);
		ep->len = sizeof(ep->in);
	} else {
		ep->in6.sin6_family = AF_INET6;
		memcpy(&ep->in6.sin6_addr, addr, 16);
		ep->in6.sin6_port = htons(port);
		ep->len = sizeof(ep->in6);
	}
	return 0;
}

size_t mc_ep_to_attr(uint8_t *v, const struct shoal_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return shoal_med_endpoint_put(v, 4,
					      (const uint8_t *)&ep->in.sin_addr,
					      ntohs(ep->in.sin_port));
	return shoal_med_endpoint_put(v, 6, ep->in6.sin6_addr.s6_addr,
				      ntohs(ep->in6.sin6_port));
}

void mc_with_port(struct shoal_endpoint *ep, uint16_t port)
{
	if (ep->sa.sa_family == AF_INET)
		ep->in.sin_port = htons(port);
	else
		ep->in6.sin6_port = htons(port);
}

uint16_t mc_port_of(const struct shoal_endpoint *ep)
{
	return ntohs(ep->sa.sa_family == AF_INET ? ep->in.sin_port :
			ep->in6.sin6_port);
}

/* ---- the connection ---- */

static void set_events(struct mclient *m)
{
	const uint8_t *data;
	uint32_t want = EPOLLIN;
	struct epoll_event ev;

	if (m->connecting || shoal_channel_pending(&m->ch, &data))
		want |= EPOLLOUT;
	if (want == m->events)
		return;
	ev.events = want;
	ev.data.fd = m->fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->fd, &ev) == 0)
		m->events = want;
}

static void fail_pending(struct mclient *m, int code, const char *why)
{
	unsigned int i;

	for (i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &m->pending[i];

		if (!p->used)
			continue;
		mc_answer(p->fd, code, why, NULL);
		p->used = false;
	}
}

void mc_close(struct mclient *m, const char *why)
{
	if (m->fd < 0)
		return;
	if (why)
		fprintf(stderr, "shoald: mediator %s: %s\n", m->address, why);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->fd, NULL);
	close(m->fd);
	m->fd = -1;
	shoal_channel_wipe(&m->ch);
	m->connecting = m->login_sent = m->logged_in = false;
	m->has_token = false;
	m->udp_ok = false;
	m->instance[0] = '\0';
	fail_pending(m, E_UNREACHABLE,
		     "lost the connection to the mediator");
}

void mc_disconnect(struct mclient *m, const char *why)
{
	if (m->fd < 0)
		return;
	mc_close(m, why);
	mc_failover(m);
}

static int split_hostport(const char *text, char *host, size_t host_size,
			  char *port, size_t port_size)
{
	const char *colon;
	size_t n;

	if (*text == '[') {
		colon = strchr(text, ']');
		if (!colon || colon[1] != ':')
			return -1;
		n = (size_t)(colon - text - 1);
		text++;
		colon++;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - text);
	}
	if (n >= host_size || strlen(colon + 1) >= port_size)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/*
 * fd, a stream socket connected or connecting to the mediator at
 * m->server, becomes the connection: the handshake's first message is
 * queued and the loop watches fd.  0, or -errno with fd left to the
 * caller.
 */
static int attach(struct mclient *m, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int ret;

	if (shoal_channel_client(&m->ch, m->d->private_key,
				 m->server_key) < 0) {
		/* Set up, even if it failed: the channel wants its wipe. */
		shoal_channel_wipe(&m->ch);
		return -EINVAL;
	}
	ev.data.fd = fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		shoal_channel_wipe(&m->ch);
		return ret;
	}
	m->fd = fd;
	m->events = ev.events;
	m->connecting = true;
	m->last_rx = shoald_now();
	if (m->d->verbose)
		fprintf(stderr, "shoald: connecting to the mediator %s\n",
			m->address);
	return 0;
}

/*
 * Resolves the address (numeric is instant; a name asks the resolver,
 * which blocks the loop for as long as it takes) and starts connecting.
 */
void mc_start_connect(struct mclient *m)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256], port[8];
	int fd, ret;

	m->next_connect = shoald_now() + RECONNECT_MAX;
	if (split_hostport(m->address, host, sizeof(host), port,
			   sizeof(port)) < 0) {
		fprintf(stderr, "shoald: mediator %s: not HOST:PORT\n",
			m->address);
		if (m->n_inst > 1 || m->redirected)
			mc_failover(m);
		return;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret || !res || res->ai_addrlen > sizeof(struct sockaddr_in6)) {
		fprintf(stderr, "shoald: mediator %s: %s\n", m->address,
			ret ? gai_strerror(ret) : "no address");
		if (res)
			freeaddrinfo(res);
		/* The lookup blocks the loop: not too often while it fails. */
		if (m->n_inst > 1 || m->redirected) {
			mc_failover(m);
			return;
		}
		m->failures++;
		m->next_connect = shoald_now() +
				  (m->failures > 3 ? RECONNECT_MAX : 5.0);
		return;
	}
	memset(&m->server, 0, sizeof(m->server));
	memcpy(&m->server.sa, res->ai_addr, res->ai_addrlen);
	m->server.len = res->ai_addrlen;
	freeaddrinfo(res);

	fd = socket(m->server.sa.sa_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, &m->server.sa, m->server.len) < 0 &&
	    errno != EINPROGRESS) {
		ret = errno;
		close(fd);
		fprintf(stderr, "shoald: mediator %s: %s\n", m->address,
			strerror(ret));
		if (m->n_inst > 1 || m->redirected) {
			mc_failover(m);
			return;
		}
		m->failures++;
		m->next_connect = shoald_now() +
				  (m->failures > 5 ? RECONNECT_MAX / 4 : 2.0);
		return;
	}
	if (attach(m, fd) < 0)
		close(fd);
}

static void flush(struct mclient *m)
{
	const uint8_t *data;
	size_t n;
	ssize_t w;

	while ((n = shoal_channel_pending(&m->ch, &data)) > 0) {
		w = send(m->fd, data, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (w <= 0) {
			mc_disconnect(m, strerror(errno));
			return;
		}
		shoal_channel_consumed(&m->ch, (size_t)w);
	}
	set_events(m);
}

/* Sends a finished TLV message; false if the connection is not there. */
bool mc_send_msg(struct mclient *m, struct shoal_tlv_writer *w)
{
	int len = shoal_tlv_finish(w);

	if (m->fd < 0 || len < 0 ||
	    shoal_channel_send(&m->ch, w->buf, (size_t)len) < 0)
		return false;
	flush(m);
	return m->fd >= 0;
}

static void on_readable(struct mclient *m)
{
	const uint8_t *msg;
	uint8_t *buf;
	size_t room, len;
	ssize_t n;
	int r;

	for (;;) {
		if (shoal_channel_read_buf(&m->ch, &buf, &room) < 0) {
			mc_disconnect(m, "protocol error");
			return;
		}
		n = recv(m->fd, buf, room, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			shoal_channel_read_done(&m->ch, 0);
			break;
		}
		if (n <= 0) {
			shoal_channel_read_done(&m->ch, 0);
			/*
			 * A mediator cannot read a handshake made for
			 * another key: it hangs up.  Said so, since such an
			 * instance is never logged in to and the operator
			 * wants to know why.
			 */
			mc_disconnect(m, n ? strerror(errno) :
				      !shoal_channel_established(&m->ch) ?
				      "the mediator closed the connection "
				      "in the handshake: not the key pinned "
				      "for it, or not a shoal-mediator" :
				      "the mediator closed the connection");
			return;
		}
		if (shoal_channel_read_done(&m->ch, (size_t)n) < 0) {
			mc_disconnect(m, "protocol error");
			return;
		}
		m->last_rx = shoald_now();
		while ((r = shoal_channel_next(&m->ch, &msg, &len)) > 0) {
			mc_on_message(m, msg, len);
			if (m->fd < 0)
				return;
		}
		if (r < 0) {
			mc_disconnect(m, "the channel failed (wrong mediator "
				      "key?)");
			return;
		}
		if (shoal_channel_established(&m->ch) && !m->login_sent) {
			mc_send_login(m);
			if (m->fd < 0)
				return;
		}
	}
	flush(m);
}

static void on_writable(struct mclient *m)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (m->connecting) {
		if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			mc_disconnect(m, strerror(err));
			return;
		}
		m->connecting = false;
	}
	flush(m);
}

/* ---- the loop's calls ---- */

bool mclient_handle(struct shoald *d, int fd, uint32_t events)
{
	struct mclient *m = mc(d);

	if (!m)
		return false;
	if (mc_tcp_handle(m, fd, events))
		return true;
	if (m->fd < 0 || fd != m->fd)
		return false;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		on_writable(m);
	if (m->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		on_readable(m);
	return true;
}

int mclient_attach(struct shoald *d, int fd,
		   const struct shoal_endpoint *server)
{
	struct mclient *m = mc(d);

	if (!m || !m->configured || !server->len)
		return -EINVAL;
	if (m->fd >= 0)
		return -EBUSY;
	m->server = *server;
	return attach(m, fd);
}

bool mclient_peer_tcp(struct shoald *d, const struct shoald_peer *p)
{
	return mc(d) && mc_tcp_is(mc(d), p);
}

/* ---- set-up ---- */

/* STATE/NAME.instances, beside STATE/NAME.mediator. */
static void learned_path(struct mclient *m, const char *state_path)
{
	static const char suffix[] = ".mediator";
	size_t n = strlen(state_path), s = sizeof(suffix) - 1;

	if (n > s && !strcmp(state_path + n - s, suffix))
		n -= s;
	snprintf(m->learned_path, sizeof(m->learned_path), "%.*s.instances",
		 (int)n, state_path);
}

int mclient_open(struct shoald *d, int epfd, const char *state_path,
		 const struct shoal_config *c)
{
	struct mclient *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->epfd = epfd;
	shoald_bucket_init(&m->punches, PEERUP_RATE);
	m->fd = -1;
	m->nc_client = -1;
	m->login_fd = -1;
	snprintf(m->state_path, sizeof(m->state_path), "%s", state_path);
	if (c && c->n_mediator_ranges) {
		memcpy(m->ranges, c->mediator_ranges,
		       c->n_mediator_ranges * sizeof(m->ranges[0]));
		m->n_ranges = c->n_mediator_ranges;
	} else {
		shoal_prefix_parse(&m->ranges[0], SHOAL_CONFIG_DEFAULT_RANGE4);
		shoal_prefix_parse(&m->ranges[1], SHOAL_CONFIG_DEFAULT_RANGE6);
		m->n_ranges = 2;
	}
	learned_path(m, state_path);
	if (c && c->has_mediator) {
		const char *addrs[SHOAL_CONFIG_MAX_MEDIATORS];
		unsigned int i;

		m->configured = true;
		memcpy(m->server_key, c->mediator_key, 32);
		snprintf(m->nickname, sizeof(m->nickname), "%s", c->nickname);
		for (i = 0; i < c->n_mediator_addresses; i++)
			addrs[i] = c->mediator_addresses[i];
		mc_set_configured(m, addrs, c->n_mediator_addresses);
		/* Where the cluster said it was, last time: pinned likewise. */
		mc_load_learned(m);
	}
	d->mediator = m;
	d->on_mediator_udp = mc_on_udp;
	return 0;
}

void mclient_close(struct shoald *d)
{
	struct mclient *m = mc(d);

	if (!m)
		return;
	fail_pending(m, E_UNREACHABLE, "shoald is stopping");
	mc_answer(m->login_fd, E_UNREACHABLE, "shoald is stopping", NULL);
	if (m->nc_running)
		mc_answer(m->nc_client, E_UNREACHABLE, "shoald is stopping",
			  NULL);
	free(m->nc_result);
	mc_names_free(m);
	mc_tcp_close_all(m);
	if (m->fd >= 0) {
		close(m->fd);
		shoal_channel_wipe(&m->ch);
	}
	sodium_memzero(m, sizeof(*m));
	free(m);
	d->mediator = NULL;
	d->on_mediator_udp = NULL;
}
