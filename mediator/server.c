// SPDX-License-Identifier: MIT
/*
 * The mediator's event loop: one epoll set with the listening socket, a
 * 1 s timerfd, a signalfd, every connection, the UDP sockets (udp.c),
 * the relay ports (relay.c) and the password worker's socket
 * (pwhash.c).  Nothing here blocks: a slow or hostile client costs only
 * its own connection.
 *
 * A connection is never freed while an epoll batch may still name it:
 * server_conn_kill() only marks it and queues it, and server_reap() frees the
 * queue after the batch.  Reaping a logged-in connection tells its peers,
 * which may kill more connections (their output is full); the reaper
 * keeps going until the queue is empty.  Relays are freed the same way.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "server.h"
#include "util.h"

#define MAX_EVENTS 256
/* Reads per readiness event: one noisy client cannot starve the rest. */
#define READS_PER_EVENT 8

int64_t server_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int64_t server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t online_bucket(int64_t id)
{
	return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 52) %
	       MED_ONLINE_BUCKETS;
}

struct conn *server_online_find(struct server *srv, int64_t id)
{
	struct conn *c;

	for (c = srv->online[online_bucket(id)]; c; c = c->hnext)
		if (c->client.id == id && c->logged_in && !c->dead)
			return c;
	return NULL;
}

struct conn *server_present_find(struct server *srv, int64_t id)
{
	struct conn *c = server_online_find(srv, id);

	return c && c->announced ? c : NULL;
}

/*
 * Every login waits the same time, so appending keeps the list in
 * deadline order and the tick looks at its head only.
 */
void server_pending_add(struct server *srv, struct conn *c)
{
	server_pending_remove(srv, c);
	c->pending = true;
	c->announce_at = server_now_ms() + MED_ANNOUNCE_WAIT_MS;
	c->pnext = NULL;
	c->pprev = srv->pending_tail;
	if (srv->pending_tail)
		srv->pending_tail->pnext = c;
	else
		srv->pending_head = c;
	srv->pending_tail = c;
}

void server_pending_remove(struct server *srv, struct conn *c)
{
	if (!c->pending)
		return;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		srv->pending_head = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		srv->pending_tail = c->pprev;
	c->pprev = c->pnext = NULL;
	c->pending = false;
}

void server_online_add(struct server *srv, struct conn *c)
{
	size_t b = online_bucket(c->client.id);

	c->hnext = srv->online[b];
	srv->online[b] = c;
}

void server_online_remove(struct server *srv, struct conn *c)
{
	struct conn **pp;

	for (pp = &srv->online[online_bucket(c->client.id)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

/*
 * EPOLLOUT while output waits; EPOLLIN unless a password job holds the
 * connection's requests (c->pw): its socket is then left unread, so that
 * the kernel's buffer, not ours, holds what it sends meanwhile.
 */
void server_conn_arm(struct server *srv, struct conn *c)
{
	struct epoll_event ev = {
		.events = (c->pw ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->dead || c->events == ev.events)
		return;
	c->events = ev.events;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		server_conn_kill(srv, c, MED_DOWN_LOST);
}

static void set_events(struct server *srv, struct conn *c, bool out)
{
	c->want_out = out;
	server_conn_arm(srv, c);
}

void server_conn_kill(struct server *srv, struct conn *c, uint8_t reason)
{
	if (c->dead)
		return;
	c->dead = true;
	c->down_reason = reason;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->dead_next = srv->dead;
	srv->dead = c;
}

static void conn_flush(struct server *srv, struct conn *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	if (c->dead)
		return;
	while ((n = shoal_channel_pending(&c->ch, &p))) {
		w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(srv, c, true);
			return;
		}
		if (w <= 0) {
			server_conn_kill(srv, c, MED_DOWN_LOST);
			return;
		}
		shoal_channel_consumed(&c->ch, (size_t)w);
	}
	set_events(srv, c, false);
}

void server_conn_send(struct server *srv, struct conn *c, const uint8_t *buf,
		      int len)
{
	if (c->dead || len < 0)
		return;
	/* ENOBUFS: 128 KiB the client has not read.  It is not listening. */
	if (shoal_channel_send(&c->ch, buf, (size_t)len) < 0) {
		server_conn_kill(srv, c, MED_DOWN_LOST);
		return;
	}
	conn_flush(srv, c);
}

static void conn_free(struct server *srv, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	sources_conn_close(srv, c);
	server_pending_remove(srv, c);
	udp_token_remove(srv, c);
	pwhash_forget(srv, c);
	if (c->fd >= 0)		/* -1: handed to the bridge */
		close(c->fd);
	shoal_channel_wipe(&c->ch);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

static void server_reap(struct server *srv)
{
	struct conn *c;

	while ((c = srv->dead)) {
		srv->dead = c->dead_next;
		if (c->logged_in) {
			server_online_remove(srv, c);
			server_pending_remove(srv, c);
			c->logged_in = false;
			if (c->down_reason != MED_DOWN_NONE) {
				presence_down(srv, c, c->down_reason);
				relay_free_client(srv, c->client.id);
			}
		}
		/* A relay's pairs move; not when we shut down. */
		if (c->relay && c->down_reason != MED_DOWN_NONE)
			relay_remote_lost(srv, c);
		else if (c->relay)
			c->relay->c = NULL;
		conn_free(srv, c);
	}
	relay_reap(srv);
}

static void conn_accept(struct server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage addr;
	socklen_t len;
	struct conn *c;
	int fd, i, one = 1;

	/* Bounded, so a connection flood cannot starve the others. */
	for (i = 0; i < 64; i++) {
		len = sizeof(addr);
		fd = accept4(srv->listen_fd, (struct sockaddr *)&addr, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				fprintf(stderr, "shoal-mediator: accept: "
					"%s\n", strerror(errno));
			return;
		}
		if (srv->n_conns >= srv->max_conns) {
			close(fd);
			continue;
		}
		/* Before anything costs us: no handshake, no memory. */
		if (sources_deny_has(&srv->deny,
				     (const struct sockaddr *)&addr)) {
			srv->stats.denied++;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->addr = addr;
		if (!sources_conn_open(srv, c)) {
			srv->stats.source_full++;
			close(fd);
			free(c);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->h.kind = MED_K_CONN;
		c->fd = fd;
		c->events = ev.events;
		c->deadline = server_now() + MED_HELLO_TIMEOUT;
		ev.data.ptr = c;
		if (shoal_channel_server(&c->ch, srv->priv) < 0 ||
		    shoal_channel_set_recv_limit(&c->ch, MED_RECV_LIMIT) < 0 ||
		    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			shoal_channel_wipe(&c->ch);
			sources_conn_close(srv, c);
			close(fd);
			free(c);
			continue;
		}
		c->next = srv->conns;
		if (c->next)
			c->next->prev = c;
		srv->conns = c;
		srv->n_conns++;
	}
}

/* Until a request goes to the worker: the rest wait for its answer. */
static void conn_messages(struct server *srv, struct conn *c)
{
	const uint8_t *msg;
	size_t len;
	int ret = 0;

	while (!c->dead && !c->pw &&
	       (ret = shoal_channel_next(&c->ch, &msg, &len)) == 1) {
		c->spoke = true;
		requests_handle(srv, c, msg, len);
		/*
		 * Only a logged-in client's messages keep the connection:
		 * before its LOGIN, anything else said is no reason to
		 * hold a connection for minutes.
		 */
		if (c->logged_in || c->relay)
			c->deadline = server_now() + MED_IDLE_TIMEOUT;
	}
	if (!c->dead && ret < 0)
		server_conn_kill(srv, c, MED_DOWN_LOST);
}

void server_conn_resume(struct server *srv, struct conn *c)
{
	conn_messages(srv, c);
	/* Replies went out; EPOLLIN again unless another job holds it. */
	conn_flush(srv, c);
}

/*
 * A stream's first byte: a control connection's is 0 (the length of
 * Noise message 1 is 97), a TCP fallback stream's is not (lib/
 * tcpframe.h): that one goes to the bridge.  0: go on reading it here.
 */
static int conn_sniff(struct server *srv, struct conn *c)
{
	uint8_t first;
	ssize_t n;
	int fd;

	n = recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return -1;
	c->sniffed = true;
	if (n <= 0 || !first || !srv->bridge)
		return 0;
	fd = c->fd;
	server_conn_kill(srv, c, MED_DOWN_NONE);
	c->fd = -1;
	tcpbridge_adopt(srv->bridge, fd, (const struct sockaddr *)&c->addr,
			sizeof(c->addr));
	return -1;
}

static void conn_read(struct server *srv, struct conn *c)
{
	uint8_t *buf;
	size_t room;
	ssize_t n;
	int i;

	if (!c->sniffed && conn_sniff(srv, c) < 0)
		return;

	/*
	 * Not while a password job holds it: the channel is not drained
	 * then, and reading more would only grow its buffer.
	 */
	for (i = 0; i < READS_PER_EVENT && !c->dead && !c->pw; i++) {
		if (shoal_channel_read_buf(&c->ch, &buf, &room) < 0) {
			server_conn_kill(srv, c, MED_DOWN_LOST);
			return;
		}
		n = recv(c->fd, buf, room, MSG_DONTWAIT);
		if (n <= 0) {
			shoal_channel_read_done(&c->ch, 0);
			if (n < 0 && (errno == EAGAIN ||
				      errno == EWOULDBLOCK || errno == EINTR))
				break;
			/* EOF without LOGOUT is a lost connection too. */
			server_conn_kill(srv, c, MED_DOWN_LOST);
			return;
		}
		if (shoal_channel_read_done(&c->ch, (size_t)n) < 0) {
			server_conn_kill(srv, c, MED_DOWN_LOST);
			return;
		}
		conn_messages(srv, c);
	}
	/* Message 2 of the handshake, or replies. */
	conn_flush(srv, c);
}

/*
 * Clients that have not logged in for --expire-after, a batch a tick:
 * one online all along only counts as seen now; the others are
 * forgotten (mstore_expire), and their peers told (PEER_DOWN reason 3,
 * though they cannot be online: a last word to anyone who kept them).
 */
static void expire_tick(struct server *srv)
{
	static const struct peerset none;
	struct mstore_client *gone;
	struct peerset before;
	int64_t cutoff;
	size_t n, i;

	if (!srv->lim.expire_after)
		return;
	cutoff = (int64_t)time(NULL) - srv->lim.expire_after;
	if (mstore_expired(srv->store, cutoff, MED_EXPIRE_BATCH, &gone, &n))
		return;
	for (i = 0; i < n; i++) {
		if (server_online_find(srv, gone[i].id) ||
		    cluster_remote_find(srv, gone[i].id)) {
			mstore_touch(srv->store, gone[i].id);
			continue;
		}
		presence_peerset_get(srv, gone[i].id, &before);
		if (mstore_expire(srv->store, gone[i].id, cutoff) ==
		    MSTORE_OK) {
			srv->stats.expired++;
			presence_changed(srv, &gone[i], &before, &none, true);
		}
		presence_peerset_free(&before);
	}
	free(gone);
}

/*
 * SIGHUP: the deny list again.  A list that does not load leaves the
 * one in force as it is; a new one also ends the connections it denies.
 */
static void server_reload(struct server *srv)
{
	struct med_denylist fresh;
	char err[4200];
	struct conn *c;

	if (!srv->lim.deny_path)
		return;
	if (sources_deny_load(srv->lim.deny_path, &fresh, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "shoal-mediator: %s; the deny list stays as "
			"it was\n", err);
		return;
	}
	sources_deny_free(&srv->deny);
	srv->deny = fresh;
	fprintf(stderr, "shoal-mediator: %s: %zu address ranges denied\n",
		srv->lim.deny_path, srv->deny.n);
	for (c = srv->conns; c; c = c->next) {
		if (!c->dead &&
		    sources_deny_has(&srv->deny,
				     (const struct sockaddr *)&c->addr)) {
			srv->stats.denied++;
			server_conn_kill(srv, c, MED_DOWN_LOST);
		}
	}
}

static void server_tick(struct server *srv)
{
	int64_t now = server_now(), now_ms = server_now_ms();
	struct conn *c;

	for (c = srv->conns; c; c = c->next) {
		if (!c->dead && now >= c->deadline)
			server_conn_kill(srv, c, MED_DOWN_LOST);
		else if (!c->dead && c->logged_in && c->announce_due &&
			 now_ms >= c->announce_due)
			presence_due(srv, c);
	}
	/* No BINDING came (UDP blocked, an old client): announce anyway. */
	while ((c = srv->pending_head) && c->announce_at <= now_ms) {
		server_pending_remove(srv, c);
		if (!c->dead && c->logged_in)
			presence_complete(srv, c);
	}
	relay_tick(srv, now_ms);
	if (srv->bridge)
		tcpbridge_tick(srv->bridge, now_ms);
	requests_pw_tick(srv, now_ms);
	pwhash_tick(srv);
	if (srv->metrics)
		metrics_server_tick(srv->metrics, now_ms);
	sources_tick(srv, now_ms);
	presence_tick(srv, now_ms);
	expire_tick(srv);
	cluster_tick(srv, now_ms);
}

static int add_fd(int epfd, int *fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, *fd, &ev);
}

/*
 * As many descriptors as we may have; the connection cap stays below the
 * limit, so accept() never fails with EMFILE and spins on the listener.
 */
static unsigned int conn_limit(unsigned int others)
{
	struct rlimit rl;
	rlim_t reserve = 64 + (rlim_t)others;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * The database, epoll, the listener and their friends, and every
	 * UDP socket we may open (others).
	 */
	if (rl.rlim_cur < reserve + 64)
		return 64;
	if (rl.rlim_cur - reserve > MED_MAX_CONNS)
		return MED_MAX_CONNS;
	return (unsigned int)(rl.rlim_cur - reserve);
}

int server_open(struct server *srv, const struct sockaddr *addr,
		socklen_t addr_len, const struct sockaddr *probe,
		socklen_t probe_len, uint16_t relay_lo, uint16_t relay_hi)
{
	struct itimerspec tick = {
		.it_interval = { .tv_sec = 1 },
		.it_value = { .tv_sec = 1 },
	};
	int one = 1, zero = 0, i, ret;
	sigset_t mask;

	srv->epfd = -1;
	srv->listen_fd = -1;
	srv->timer_fd = -1;
	srv->signal_fd = -1;
	srv->pw.fd = -1;
	srv->pw.slots_fd = -1;
	srv->pw.exe_fd = -1;
	srv->pw.busy = -1;
	srv->bridge_fd = -1;
	srv->metrics_fd = -1;
	for (i = 0; i < MED_UDP_N; i++)
		srv->udp[i].fd = -1;
	/* A bridged stream holds its TCP socket and a UDP one. */
	srv->max_conns = conn_limit(MED_UDP_N + (unsigned int)relay_hi -
				    relay_lo + 1 + 2 * srv->lim.tcp.streams);
	if (addr_len > sizeof(srv->listen_addr))
		return -EINVAL;
	memcpy(&srv->listen_addr, addr, addr_len);
	srv->listen_len = addr_len;
	randombytes_buf(srv->token_key, sizeof(srv->token_key));
	sources_init(srv);

	srv->listen_fd = socket(addr->sa_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0)
		return -errno;
	setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		   sizeof(one));
	/* [::] serves IPv4 too, whatever net.ipv6.bindv6only says. */
	if (addr->sa_family == AF_INET6)
		setsockopt(srv->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			   sizeof(zero));
	if (bind(srv->listen_fd, addr, addr_len) < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	srv->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_CLOEXEC | TFD_NONBLOCK);
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->signal_fd < 0 || srv->timer_fd < 0 || srv->epfd < 0 ||
	    timerfd_settime(srv->timer_fd, 0, &tick, NULL) < 0 ||
	    add_fd(srv->epfd, &srv->signal_fd) < 0 ||
	    add_fd(srv->epfd, &srv->timer_fd) < 0 ||
	    add_fd(srv->epfd, &srv->listen_fd) < 0)
		return -errno;
	/* Before the UDP and relay sockets: fewer for the worker to close. */
	ret = pwhash_open(srv);
	if (ret < 0)
		return ret;
	ret = udp_open(srv, probe, probe_len);
	if (ret < 0)
		return ret;
	ret = relay_open(srv, relay_lo, relay_hi);
	if (ret < 0)
		return ret;
	if (srv->lim.tcp.streams) {
		srv->bridge = tcpbridge_new(relay_lo, relay_hi, &srv->lim.tcp);
		if (!srv->bridge)
			return -errno;
		srv->bridge_fd = tcpbridge_fd(srv->bridge);
		if (add_fd(srv->epfd, &srv->bridge_fd) < 0)
			return -errno;
	}
	ret = cluster_watch(srv);
	if (ret < 0)
		return ret;
	/*
	 * Last: once a connection is accepted, everything else serves too
	 * (NAT discovery on UDP), which is how a service manager or a test
	 * can tell that the server is up.
	 */
	return listen(srv->listen_fd, 4096) < 0 ? -errno : 0;
}

int server_metrics_open(struct server *srv, const struct sockaddr *addr,
			socklen_t addr_len)
{
	srv->metrics = metrics_server_new(addr, addr_len, medmetrics_render,
					  srv);
	if (!srv->metrics)
		return -errno;
	srv->metrics_fd = metrics_server_fd(srv->metrics);
	return add_fd(srv->epfd, &srv->metrics_fd) < 0 ? -errno : 0;
}

/* Runs until SIGINT or SIGTERM; returns the exit status. */
int server_run(struct server *srv)
{
	struct epoll_event evs[MAX_EVENTS];
	struct signalfd_siginfo si;
	uint64_t ticks;
	struct med_handle *h;
	struct conn *c;
	int n, i;

	for (;;) {
		n = epoll_wait(srv->epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("shoal-mediator: epoll_wait");
			return SHOAL_EXIT_FAILURE;
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &srv->signal_fd) {
				if (read(srv->signal_fd, &si, sizeof(si)) !=
				    sizeof(si))
					continue;
				if (si.ssi_signo != SIGHUP)
					return SHOAL_EXIT_OK;
				server_reload(srv);
				continue;
			}
			if (p == &srv->timer_fd) {
				if (read(srv->timer_fd, &ticks,
					 sizeof(ticks)) > 0)
					server_tick(srv);
				continue;
			}
			if (p == &srv->listen_fd) {
				conn_accept(srv);
				continue;
			}
			if (p == &srv->bridge_fd) {
				tcpbridge_run(srv->bridge);
				continue;
			}
			if (p == &srv->metrics_fd) {
				metrics_server_run(srv->metrics);
				continue;
			}
			if (p == &srv->pw.fd) {
				pwhash_readable(srv);
				continue;
			}
			h = p;
			if (h->kind == MED_K_UDP) {
				udp_readable(srv, p);
				continue;
			}
			if (h->kind == MED_K_RELAY) {
				relay_readable(srv, p);
				continue;
			}
			if (h->kind == MED_K_CLUSTER) {
				cluster_ready(srv, evs[i].events);
				continue;
			}
			c = p;
			if (c->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_flush(srv, c);
			/*
			 * Held by a password job, it is not read; but epoll
			 * reports a hangup or an error whatever it watches,
			 * again and again: the connection is broken anyway.
			 */
			if (c->pw && (evs[i].events & (EPOLLHUP | EPOLLERR)))
				server_conn_kill(srv, c, MED_DOWN_LOST);
			else if (evs[i].events &
				 (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(srv, c);
		}
		server_reap(srv);
	}
}

void server_close(struct server *srv)
{
	struct conn *c;

	/* Shutting down is not a lost connection: no presence now. */
	for (c = srv->conns; c; c = c->next) {
		c->logged_in = false;
		server_conn_kill(srv, c, MED_DOWN_NONE);
	}
	server_reap(srv);
	cluster_close(srv);
	/* Every job's connection is gone now: none is answered. */
	pwhash_close(srv);
	relay_close(srv);
	tcpbridge_free(srv->bridge);
	srv->bridge = NULL;
	metrics_server_free(srv->metrics);
	srv->metrics = NULL;
	udp_close(srv);
	requests_pw_free(srv);
	presence_free(srv);
	sources_free(srv);
	sources_deny_free(&srv->deny);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
	if (srv->signal_fd >= 0)
		close(srv->signal_fd);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
}
