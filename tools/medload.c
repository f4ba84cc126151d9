// SPDX-License-Identifier: MIT
/*
 * medload: a load generator for shoal-mediator (scripts/bench mediator).
 *
 * One process, one epoll loop, many non-blocking TCP connections, each a
 * simulated client with a static key of its own, speaking the mediator's
 * Noise IK channel (lib/channel.c) and TLV messages (lib/tlv.c) as shoald
 * would: connect, handshake, LOGIN with a nickname and a tunnel port, then
 * a BINDING carrying the login's UDP_TOKEN, which completes the login (all
 * clients share one UDP socket as their "tunnel port").
 *
 * For each client count in --clients (cumulative: the clients of one
 * phase stay online through the next), it
 *
 *  1. logs the new clients in, --window at a time in flight, and reports
 *     logins per second (from the first connect to the last LOGIN reply:
 *     TCP, the handshake, the LOGIN and its SQLite writes);
 *  2. in the first phase only: the first client creates the network
 *     "bench" (with --password, Argon2id-hashed) and the next --members - 1
 *     clients JOIN it, a few at a time; the joins are timed on their own,
 *     since each one is an Argon2id verification that the mediator rate
 *     limits (50 a second server-wide) and that takes tens of ms;
 *  3. measures presence fan-out --rounds times: one member sends LOGOUT,
 *     and once every other member has its PEER_DOWN, LOGIN again on the
 *     same connection (then its BINDING, on the reply); each other online
 *     member's latency is from the LOGIN being sent to that member reading
 *     the PEER_UP.  Reported: p50 and p99 over every member of every round,
 *     and the median and worst of each round's last arrival;
 *  4. reads the mediator's VmRSS and VmHWM from /proc/PID/status, and
 *     the same summed over its child processes (its Argon2id worker).
 *
 * At the end, --relogin clients (default 1000, not members) hang up and
 * log in again with their keys: logins per second of returning clients,
 * whom the mediator already knows, with all the others online.
 *
 * Output, one line per phase and one for the joins, key=value:
 *	phase clients=N new=N seconds=S logins_per_s=R failed=F
 *	      fanout_p50_ms=A fanout_p99_ms=B round_p50_ms=C round_max_ms=D
 *	      fanout_samples=K rss_kb=X hwm_kb=Y children_rss_kb=X
 *	      children_hwm_kb=Y medload_rss_kb=Z
 *	joins members=M seconds=S joins_per_s=R password=yes|no retries=N
 *	relogin clients=N online=N seconds=S logins_per_s=R failed=F
 *
 * A cluster (scripts/bench mediator --cluster N): --port P1,P2,... and
 * --pid PID1,PID2,... name the instances; client i logs in at instance
 * i mod N (so the network's members, clients 0..--members-1, are spread
 * over all of them and fan-out crosses instances), and after each phase
 * one line per instance (the phase line's RSS figures are their sums):
 *	inst phase=N port=P rss_kb=X hwm_kb=Y children_rss_kb=X
 *	     children_hwm_kb=Y
 * --size-cmd CMD (run by sh after each phase) prints the database's size
 * in bytes; it goes into the phase line as db_bytes=B (-1 without it).
 *
 * --procs S: S processes share the clients (RLIMIT_NOFILE may not be
 * raised far enough for one): this one keeps the members and every S-th
 * of the others, S - 1 forked helpers the rest; they log in their shares
 * of each phase at the same time, told and answering over pipes, and hold
 * their connections (KEEPALIVEs) until this one ends.  A phase's
 * seconds run until the last process is done.
 *
 * Each client's TCP connection comes from a source address of its own in
 * 127.1.0.1 up (loopback answers for all of 127/8 on Linux): from one
 * address to one port, the ephemeral ports would run out near 28,000
 * (net.ipv4.ip_local_port_range).  The BINDINGs all go out of one UDP
 * socket, each from its client's address (IP_PKTINFO): the mediator takes
 * a BINDING only from the address of the login's connection.  Its
 * answers, to addresses the socket is not bound to, are not read.
 *
 * Latencies include medload's own queueing: the load generator shares the
 * machine's CPUs with the mediator.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "channel.h"
#include "ctlmsg.h"
#include "key.h"
#include "medmsg.h"
#include "tlv.h"

#define MAX_PHASES 8
#define MAX_INSTANCES 16
#define MAX_EVENTS 512
#define KEEPALIVE_EVERY_NS (60LL * 1000000000LL)
#define NETWORK_NAME "bench"
/* docs/protocol.md: -104, too many password attempts (the rate limit). */
#define PASSWORD_LIMIT (-104)

enum cstate {
	C_IDLE,
	C_CONNECTING,
	C_HANDSHAKE,
	C_LOGIN,		/* LOGIN sent, no reply yet */
	C_ONLINE,
	C_DEAD,
};

struct cl {
	int fd;
	uint32_t idx;
	uint8_t state;
	uint8_t inst;		/* which instance it logs in at */
	bool want_out, member, counted, seen_up, seen_down;
	/* The one request we wait for (KEEPALIVE replies are not awaited). */
	uint32_t next_id, wait_id;
	bool replied;
	int32_t result;
	uint8_t priv[32];
	struct shoal_channel ch;
};

static struct {
	const char *host;
	int ports[MAX_INSTANCES];
	long pids[MAX_INSTANCES];
	unsigned int n_ports, n_pids;
	const char *key_file;
	const char *size_cmd;
	unsigned int procs;
	unsigned int phases[MAX_PHASES], n_phases;
	unsigned int members, rounds, window, relogin;
	const char *password;
	bool verbose;
} opt = {
	.host = "127.0.0.1",
	.members = 256,
	.rounds = 20,
	.window = 256,
	.relogin = 1000,
	.procs = 1,
};

/* --procs: which share this process is, and the helpers' pipes. */
static unsigned int shard;
static int ctl_in = -1, ctl_out = -1;		/* in a helper */
static int helper_cmd[64], helper_res[64];	/* in the first process */
static char ctl_marker;			/* epoll data of ctl_in */

/* Whose client i is: members are the first process's. */
static bool mine(unsigned int i)
{
	if (opt.procs == 1)
		return true;
	if (i < opt.members)
		return shard == 0;
	return i % opt.procs == shard;
}

/* What a helper answers for a phase. */
struct phase_result {
	unsigned int started, failed, online;
};

static int epfd, udpfd;
static uint16_t udp_port;
static struct sockaddr_in srv_addrs[MAX_INSTANCES];
static uint8_t server_pub[32];
static struct cl *cls;
static unsigned int n_cls;		/* started so far */
static unsigned int inflight, failed, logged_in;
static int64_t last_keepalive;

/* Fan-out: the subject's key, when its LOGIN went out, what came back. */
static struct {
	bool active;
	uint8_t key[32];
	int64_t t0;
	unsigned int got_up, got_down;
	double *samples;
	size_t n, cap;
} fan;
static uint8_t (*member_pub)[32];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "medload: %s\n", what);
	exit(1);
}

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	fputs("medload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ----- connections ----- */

static void cl_fail(struct cl *c, const char *why)
{
	if (c->state == C_DEAD)
		return;
	vlog("client %u: %s (%s)", c->idx, why, strerror(errno));
	if (c->counted) {
		c->counted = false;
		inflight--;
	}
	if (c->state == C_ONLINE)
		logged_in--;
	c->state = C_DEAD;
	failed++;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	shoal_channel_wipe(&c->ch);
}

static void cl_events(struct cl *c, bool out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (out ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->want_out == out)
		return;
	c->want_out = out;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		cl_fail(c, "epoll_ctl");
}

static void cl_flush(struct cl *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	if (c->state == C_DEAD || c->state == C_CONNECTING)
		return;
	while ((n = shoal_channel_pending(&c->ch, &p))) {
		w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			cl_events(c, true);
			return;
		}
		if (w <= 0) {
			cl_fail(c, "send");
			return;
		}
		shoal_channel_consumed(&c->ch, (size_t)w);
	}
	cl_events(c, false);
}

static void cl_send(struct cl *c, const uint8_t *buf, int len)
{
	if (len < 0 || shoal_channel_send(&c->ch, buf, (size_t)len) < 0) {
		cl_fail(c, "channel send");
		return;
	}
	cl_flush(c);
}

/*
 * A source address of the client's own, 127.1.0.1 up, skipping last
 * octets 0 and 255; the port is chosen at connect()
 * (IP_BIND_ADDRESS_NO_PORT), per destination, so that bind() does not
 * hold an ephemeral port for all destinations.
 */
static bool spread_sources;

static uint32_t source_of(const struct cl *c)
{
	uint32_t k = c->idx / 254;

	return htonl(0x7f010000u + (k << 8) + c->idx % 254 + 1);
}

static void bind_source(struct cl *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1;

	if (!spread_sources)
		return;
	a.sin_addr.s_addr = source_of(c);
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		   sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind to a 127/8 source address");
}

static void cl_start(struct cl *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: out of descriptors? (RLIMIT_NOFILE)");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bind_source(c);
	c->counted = true;
	inflight++;
	c->state = C_CONNECTING;
	c->want_out = true;
	if (shoal_channel_client(&c->ch, c->priv, server_pub) < 0)
		die("shoal_channel_client");
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl add");
	if (connect(c->fd, (struct sockaddr *)&srv_addrs[c->inst],
		    sizeof(srv_addrs[c->inst])) < 0 &&
	    errno != EINPROGRESS)
		cl_fail(c, "connect");
}

/* ----- requests ----- */

static uint8_t msgbuf[SHOAL_TLV_MAX_MSG];

static void req_init(struct cl *c, struct shoal_tlv_writer *w, uint8_t type,
		     bool awaited)
{
	uint32_t id = ++c->next_id;

	if (awaited) {
		c->wait_id = id;
		c->replied = false;
	}
	shoal_tlv_writer_init(w, msgbuf, sizeof(msgbuf), type, 0, id);
}

static void send_login(struct cl *c)
{
	struct shoal_tlv_writer w;
	char nick[32];

	snprintf(nick, sizeof(nick), "%s%u", c->member ? "m" : "c", c->idx);
	req_init(c, &w, MED_LOGIN, true);
	shoal_tlv_put_str(&w, MED_A_NICKNAME, nick);
	shoal_tlv_put_u16(&w, MED_A_TUNNEL_PORT, udp_port);
	c->state = C_LOGIN;
	cl_send(c, msgbuf, shoal_tlv_finish(&w));
}

static void send_simple(struct cl *c, uint8_t type, bool awaited)
{
	struct shoal_tlv_writer w;

	req_init(c, &w, type, awaited);
	cl_send(c, msgbuf, shoal_tlv_finish(&w));
}

static void send_network(struct cl *c, uint8_t type)
{
	struct shoal_tlv_writer w;

	req_init(c, &w, type, true);
	shoal_tlv_put_str(&w, MED_A_NETWORK, NETWORK_NAME);
	if (opt.password)
		shoal_tlv_put(&w, MED_A_PASSWORD, opt.password,
			      strlen(opt.password));
	cl_send(c, msgbuf, shoal_tlv_finish(&w));
}

/*
 * The BINDING that completes a login: from our shared "tunnel port",
 * under the token's key (from c's key and the server's), with a counter
 * that grows (one for every client: a connection keeps its token over a
 * LOGOUT and LOGIN).
 */
static void send_binding(struct cl *c, const uint8_t token[16])
{
	static uint64_t counter;
	struct shoal_ctl_binding b = { .counter = ++counter };
	uint8_t out[4 + SHOAL_CTL_BINDING_LEN] = { 0 }, key[32];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { 0 };
	struct iovec iov;
	int n;

	randombytes_buf(b.txid, sizeof(b.txid));
	memcpy(b.token, token, sizeof(b.token));
	if (shoal_ctl_token_key(key, c->priv, server_pub, token) < 0)
		die("shoal_ctl_token_key");
	n = shoal_ctl_write_binding(out + 4, sizeof(out) - 4, &b, key);
	sodium_memzero(key, sizeof(key));
	if (n < 0)
		die("shoal_ctl_write_binding");
	iov.iov_base = out;
	iov.iov_len = (size_t)n + 4;
	mh.msg_name = &srv_addrs[c->inst];
	mh.msg_namelen = sizeof(srv_addrs[c->inst]);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (spread_sources) {
		struct cmsghdr *cm;
		struct in_pktinfo pi = { .ipi_spec_dst.s_addr = source_of(c) };

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (sendmsg(udpfd, &mh, 0) < 0)
		perror("medload: sendto BINDING");
}

/* ----- what comes back ----- */

static void on_reply(struct cl *c, const struct shoal_tlv_msg *m)
{
	struct shoal_tlv_attr a;
	uint32_t v;

	if (m->type == MED_KEEPALIVE || m->request_id != c->wait_id)
		return;
	c->replied = true;
	c->result = INT32_MIN;
	if (shoal_tlv_find(m, MED_A_RESULT, &a) && shoal_tlv_get_u32(&a, &v))
		c->result = (int32_t)v;
	if (m->type != MED_LOGIN || c->state != C_LOGIN)
		return;
	if (c->result != 0) {
		errno = EPROTO;
		fprintf(stderr, "medload: client %u: LOGIN result %d\n",
			c->idx, c->result);
		cl_fail(c, "LOGIN refused");
		return;
	}
	c->state = C_ONLINE;
	logged_in++;
	if (c->counted) {
		c->counted = false;
		inflight--;
	}
	if (shoal_tlv_find(m, MED_A_UDP_TOKEN, &a) && a.len == 16)
		send_binding(c, a.value);
}

static void on_event(struct cl *c, const struct shoal_tlv_msg *m)
{
	struct shoal_tlv_attr peer, a;
	int64_t t;

	if (!fan.active || !c->member)
		return;
	if (m->type == MED_PEER_UP) {
		if (!shoal_tlv_find(m, MED_A_PEER, &peer) ||
		    !shoal_tlv_find_nested(&peer, MED_A_PUBLIC_KEY, &a) ||
		    a.len != 32 || memcmp(a.value, fan.key, 32) || c->seen_up)
			return;
		t = now_ns();
		c->seen_up = true;
		fan.got_up++;
		if (fan.n == fan.cap) {
			fan.cap = fan.cap ? 2 * fan.cap : 4096;
			fan.samples = realloc(fan.samples,
					      fan.cap * sizeof(*fan.samples));
			if (!fan.samples)
				die("out of memory");
		}
		fan.samples[fan.n++] = (double)(t - fan.t0) / 1e6;
	} else if (m->type == MED_PEER_DOWN) {
		if (!shoal_tlv_find(m, MED_A_PUBLIC_KEY, &a) || a.len != 32 ||
		    memcmp(a.value, fan.key, 32) || c->seen_down)
			return;
		c->seen_down = true;
		fan.got_down++;
	}
}

static void cl_messages(struct cl *c)
{
	struct shoal_tlv_msg m;
	const uint8_t *msg;
	size_t len;
	int ret;

	if (c->state == C_HANDSHAKE && shoal_channel_established(&c->ch))
		send_login(c);
	while (c->state != C_DEAD &&
	       (ret = shoal_channel_next(&c->ch, &msg, &len)) == 1) {
		if (shoal_tlv_parse(&m, msg, len) < 0) {
			errno = EPROTO;
			cl_fail(c, "bad TLV");
			return;
		}
		if (m.flags & SHOAL_TLV_F_REPLY)
			on_reply(c, &m);
		else
			on_event(c, &m);
	}
	if (c->state != C_DEAD && ret < 0)
		cl_fail(c, "channel");
}

static void cl_read(struct cl *c)
{
	uint8_t *buf;
	size_t room;
	ssize_t n;

	for (;;) {
		if (c->state == C_DEAD)
			return;
		if (shoal_channel_read_buf(&c->ch, &buf, &room) < 0) {
			cl_fail(c, "read_buf");
			return;
		}
		n = recv(c->fd, buf, room, MSG_DONTWAIT);
		if (n <= 0) {
			shoal_channel_read_done(&c->ch, 0);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
				      errno == EINTR))
				break;
			if (n == 0)
				errno = ECONNRESET;
			cl_fail(c, "connection closed by the mediator");
			return;
		}
		if (shoal_channel_read_done(&c->ch, (size_t)n) < 0) {
			cl_fail(c, "read_done");
			return;
		}
		cl_messages(c);
	}
	cl_flush(c);
}

static void cl_writable(struct cl *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->state == C_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err) {
			errno = err ? err : errno;
			cl_fail(c, "connect");
			return;
		}
		c->state = C_HANDSHAKE;
	}
	cl_flush(c);
}

static void drain_udp(void)
{
	uint8_t buf[512];

	while (recv(udpfd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* Every 60 s a KEEPALIVE from each idle online client (the mediator
 * drops a client silent for 270 s). */
static void keepalives(void)
{
	unsigned int i;
	int64_t t = now_ns();

	if (t - last_keepalive < KEEPALIVE_EVERY_NS)
		return;
	last_keepalive = t;
	for (i = 0; i < n_cls; i++)
		if (cls[i].state == C_ONLINE)
			send_simple(&cls[i], MED_KEEPALIVE, false);
}

static void login_range(unsigned int from, unsigned int to, double *seconds,
			unsigned int *started);

/* A helper: the first process asks for a phase [from, to), or is gone. */
static void helper_command(void)
{
	unsigned int range[2], fail0 = failed;
	struct phase_result r = { 0 };
	double secs;
	ssize_t n = read(ctl_in, range, sizeof(range));

	if (n == 0)
		exit(0);
	if (n != sizeof(range))
		return;
	login_range(range[0], range[1], &secs, &r.started);
	r.failed = failed - fail0;
	r.online = logged_in;
	if (write(ctl_out, &r, sizeof(r)) != sizeof(r))
		exit(1);
}

static void loop_once(int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i;

	n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait");
	for (i = 0; i < n; i++) {
		struct cl *c = evs[i].data.ptr;

		if (!c) {
			drain_udp();
			continue;
		}
		if ((void *)c == &ctl_marker) {
			helper_command();
			continue;
		}
		if (c->state == C_DEAD)
			continue;
		if (evs[i].events & EPOLLOUT)
			cl_writable(c);
		if (c->state != C_DEAD &&
		    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			cl_read(c);
	}
	keepalives();
}

/* Runs the loop until done() or timeout_s: true if done. */
static bool run_until(bool (*done)(void *), void *arg, double timeout_s)
{
	int64_t end = now_ns() + (int64_t)(timeout_s * 1e9);

	while (!done(arg)) {
		if (now_ns() > end)
			return false;
		loop_once(10);
	}
	return true;
}

static bool replied(void *arg)
{
	struct cl *c = arg;

	return c->replied || c->state == C_DEAD;
}

/* A request from c and its reply: the RESULT, or INT32_MIN. */
static int32_t request(struct cl *c, void (*send)(struct cl *, uint8_t),
		       uint8_t type)
{
	send(c, type);
	if (!run_until(replied, c, 30) || c->state == C_DEAD)
		return INT32_MIN;
	return c->result;
}

static void send_awaited(struct cl *c, uint8_t type)
{
	send_simple(c, type, true);
}

/* ----- the phases ----- */

static void login_range(unsigned int from, unsigned int to, double *seconds,
			unsigned int *started)
{
	int64_t t0 = now_ns(), deadline = t0 + 600LL * 1000000000LL;
	unsigned int next = from;

	*started = 0;
	while (next < to || inflight > 0) {
		while (inflight < opt.window && next < to) {
			if (mine(next)) {
				cls[next].member = next < opt.members;
				cl_start(&cls[next]);
				(*started)++;
			}
			next++;
			if (next > n_cls)
				n_cls = next;
		}
		loop_once(10);
		if (now_ns() > deadline) {
			fprintf(stderr, "medload: logins still in flight after "
				"600 s\n");
			break;
		}
	}
	*seconds = (double)(now_ns() - t0) / 1e9;
}

/*
 * The owner creates the network, the others join it, four at a time.  A
 * JOIN refused for the server's Argon2id budget (PASSWORD_LIMIT)
 * is sent again 100 ms later, and counts as one of the four meanwhile.
 */
static void build_network(void)
{
	enum { TODO, FLIGHT, RETRY, DONE };
	unsigned int joined = 0, retries = 0, busy, i;
	uint8_t *js = calloc(opt.members, 1);
	int64_t *retry_at = calloc(opt.members, sizeof(int64_t));
	int64_t t0, t;
	double s;
	int32_t rc;

	if (!js || !retry_at)
		die("out of memory");
	rc = request(&cls[0], send_network, MED_CREATE);
	if (rc != 0) {
		fprintf(stderr, "medload: CREATE %s: result %d\n",
			NETWORK_NAME, rc);
		exit(1);
	}
	t0 = now_ns();
	while (joined < opt.members - 1) {
		busy = 0;
		t = now_ns();
		for (i = 1; i < opt.members; i++) {
			struct cl *c = &cls[i];

			if (js[i] == RETRY) {
				busy++;
				if (retry_at[i] <= t) {
					js[i] = FLIGHT;
					send_network(c, MED_JOIN);
				}
				continue;
			}
			if (js[i] != FLIGHT)
				continue;
			busy++;
			if (c->state == C_DEAD)
				die("a member's connection died while joining");
			if (!c->replied)
				continue;
			if (c->result == PASSWORD_LIMIT) {
				retries++;
				js[i] = RETRY;
				retry_at[i] = t + 100000000LL;
			} else if (c->result != 0) {
				fprintf(stderr, "medload: JOIN by client %u: "
					"result %d\n", i, c->result);
				exit(1);
			} else {
				js[i] = DONE;
				joined++;
				busy--;
			}
		}
		/* At most four joins pending, retries included. */
		for (i = 1; i < opt.members && busy < 4; i++) {
			if (js[i] != TODO)
				continue;
			js[i] = FLIGHT;
			send_network(&cls[i], MED_JOIN);
			busy++;
		}
		loop_once(10);
		if (now_ns() - t0 > 600LL * 1000000000LL)
			die("joins did not finish in 600 s");
	}
	s = (double)(now_ns() - t0) / 1e9;
	printf("joins members=%u seconds=%.2f joins_per_s=%.1f password=%s "
	       "retries=%u\n", opt.members - 1, s, (opt.members - 1) / s,
	       opt.password ? "yes" : "no", retries);
	fflush(stdout);
	free(js);
	free(retry_at);
}

static bool all_down(void *arg)
{
	return fan.got_down >= *(unsigned int *)arg;
}

static bool all_up(void *arg)
{
	return fan.got_up >= *(unsigned int *)arg;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)((p * (double)n + 99.0) / 100.0);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static void fanout(double *p50, double *p99, double *round_p50,
		   double *round_max, size_t *samples)
{
	double *rounds = calloc(opt.rounds, sizeof(double));
	unsigned int r, i, others, online;
	struct cl *s;
	size_t first;

	if (!rounds)
		die("out of memory");
	fan.n = 0;
	for (r = 0; r < opt.rounds; r++) {
		s = &cls[r % opt.members];
		if (s->state != C_ONLINE)
			die("the fan-out subject is not online");
		online = 0;
		for (i = 0; i < opt.members; i++)
			online += cls[i].state == C_ONLINE;
		others = online - 1;
		memcpy(fan.key, member_pub[r % opt.members], 32);
		for (i = 0; i < opt.members; i++)
			cls[i].seen_up = cls[i].seen_down = false;
		fan.got_up = fan.got_down = 0;
		fan.active = true;
		if (request(s, send_awaited, MED_LOGOUT) != 0)
			die("LOGOUT failed");
		s->state = C_IDLE;	/* logged out, still connected */
		logged_in--;
		if (!run_until(all_down, &others, 30))
			fprintf(stderr, "medload: round %u: %u of %u "
				"PEER_DOWNs\n", r, fan.got_down, others);
		first = fan.n;
		fan.t0 = now_ns();
		send_login(s);
		if (!run_until(all_up, &others, 30))
			fprintf(stderr, "medload: round %u: %u of %u "
				"PEER_UPs\n", r, fan.got_up, others);
		if (s->state != C_ONLINE)
			die("the subject's LOGIN failed");
		rounds[r] = 0;
		for (; first < fan.n; first++)
			if (fan.samples[first] > rounds[r])
				rounds[r] = fan.samples[first];
		fan.active = false;
	}
	*samples = fan.n;
	*p50 = pct(fan.samples, fan.n, 50);
	*p99 = pct(fan.samples, fan.n, 99);
	*round_max = pct(rounds, opt.rounds, 100);
	*round_p50 = pct(rounds, opt.rounds, 50);
	free(rounds);
}

static void proc_kb(long pid, const char *field, long *kb)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	FILE *f;

	*kb = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':')
			*kb = strtol(line + fl + 1, NULL, 10);
	fclose(f);
}

/*
 * Returning clients: the last n clients hang up and log in again with
 * the same keys, so the mediator knows them (no new row, no address to
 * allocate).  Timed as login_range() times new ones.
 */
static unsigned int helpers_online;

static void relogin(unsigned int n)
{
	unsigned int from = n_cls - n, i, fail0 = failed;
	double secs;

	for (i = from; i < n_cls; i++) {
		struct cl *c = &cls[i];

		if (c->state == C_DEAD || !mine(i))
			continue;
		if (c->state == C_ONLINE)
			logged_in--;
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		shoal_channel_wipe(&c->ch);
		c->state = C_IDLE;
	}
	/* Let the mediator see them go before they come back. */
	{
		int64_t end = now_ns() + 1000000000LL;

		while (now_ns() < end)
			loop_once(10);
	}
	login_range(from, n_cls, &secs, &n);
	printf("relogin clients=%u online=%u seconds=%.2f logins_per_s=%.0f "
	       "failed=%u\n", n, logged_in + helpers_online, secs,
	       (n - (failed - fail0)) / secs, failed - fail0);
	fflush(stdout);
}

/*
 * The sums of field over the mediator's child processes (its Argon2id
 * worker is a process of its own), from /proc/PID/task/PID/children.
 */
static void children_kb(long pid, const char *field, long *kb)
{
	char path[96];
	long child, v;
	FILE *f;

	*kb = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%ld", &child) == 1) {
		proc_kb(child, field, &v);
		if (v > 0)
			*kb += v;
	}
	fclose(f);
}

/* The database's size in bytes from --size-cmd's output, or -1. */
static long long db_bytes(void)
{
	long long v = -1;
	FILE *f;

	if (!opt.size_cmd)
		return -1;
	fflush(stdout);
	f = popen(opt.size_cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	pclose(f);
	return v;
}

/* ----- set-up ----- */

static void usage(void)
{
	fputs("Usage: medload --port PORT[,PORT...] --key-file FILE "
	      "[--host ADDR] [--pid PID[,PID...]]\n"
	      "               [--clients N,N,...] [--members N] [--rounds N] "
	      "[--window N]\n"
	      "               [--password PW] [--relogin N] [--size-cmd CMD] "
	      "[--procs N] [--verbose]\n"
	      "Drives shoal-mediator with many clients; see tools/medload.c.\n",
	      stderr);
	exit(2);
}

static void parse_clients(const char *s)
{
	char *end;
	unsigned long v;

	opt.n_phases = 0;
	while (*s) {
		v = strtoul(s, &end, 10);
		if (end == s || !v || v > 1000000 || opt.n_phases == MAX_PHASES ||
		    (opt.n_phases && v <= opt.phases[opt.n_phases - 1]))
			usage();
		opt.phases[opt.n_phases++] = (unsigned int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			usage();
	}
}

/* "A,B,C": up to MAX_INSTANCES numbers in [1, max]. */
static void parse_list(const char *s, long *v, unsigned int *n, long max)
{
	char *end;

	*n = 0;
	while (*s) {
		if (*n == MAX_INSTANCES)
			usage();
		v[*n] = strtol(s, &end, 10);
		if (end == s || v[*n] <= 0 || v[*n] > max ||
		    (*end && *end != ','))
			usage();
		(*n)++;
		s = *end ? end + 1 : end;
	}
}

static void options(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "pid", required_argument, NULL, 'P' },
		{ "clients", required_argument, NULL, 'c' },
		{ "members", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "password", required_argument, NULL, 'W' },
		{ "relogin", required_argument, NULL, 'R' },
		{ "size-cmd", required_argument, NULL, 'S' },
		{ "procs", required_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 }
	};
	long ports[MAX_INSTANCES];
	unsigned int i;
	int c;

	parse_clients("1000,5000,10000");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'H': opt.host = optarg; break;
		case 'p':
			parse_list(optarg, ports, &opt.n_ports, 65535);
			for (i = 0; i < opt.n_ports; i++)
				opt.ports[i] = (int)ports[i];
			break;
		case 'k': opt.key_file = optarg; break;
		case 'P': parse_list(optarg, opt.pids, &opt.n_pids, 1L << 30); break;
		case 'S': opt.size_cmd = optarg; break;
		case 'N': opt.procs = (unsigned int)atoi(optarg); break;
		case 'c': parse_clients(optarg); break;
		case 'm': opt.members = (unsigned int)atoi(optarg); break;
		case 'r': opt.rounds = (unsigned int)atoi(optarg); break;
		case 'w': opt.window = (unsigned int)atoi(optarg); break;
		case 'W': opt.password = optarg; break;
		case 'R': opt.relogin = (unsigned int)atoi(optarg); break;
		case 'v': opt.verbose = true; break;
		default: usage();
		}
	}
	if (!opt.n_ports || (opt.n_pids && opt.n_pids != opt.n_ports) ||
	    !opt.key_file ||
	    opt.members < 2 || opt.members > opt.phases[0] || !opt.rounds ||
	    !opt.window || !opt.procs || opt.procs > 64 || optind != argc)
		usage();
	/* Only clients outside the network hang up. */
	if (opt.relogin > opt.phases[opt.n_phases - 1] - opt.members)
		opt.relogin = opt.phases[opt.n_phases - 1] - opt.members;
}

static void read_server_key(void)
{
	uint8_t priv[32];
	FILE *f = fopen(opt.key_file, "r");

	if (!f || shoal_key_read(priv, f) < 0 ||
	    shoal_key_public(server_pub, priv) < 0)
		die("cannot read the mediator's key (--key-file)");
	fclose(f);
	sodium_memzero(priv, sizeof(priv));
}

static void open_sockets(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	unsigned int i;

	for (i = 0; i < opt.n_ports; i++) {
		srv_addrs[i].sin_family = AF_INET;
		srv_addrs[i].sin_port = htons((uint16_t)opt.ports[i]);
		if (inet_pton(AF_INET, opt.host, &srv_addrs[i].sin_addr) != 1)
			die("--host: not an IPv4 address");
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	udpfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	a.sin_addr = srv_addrs[0].sin_addr;
	if (epfd < 0 || udpfd < 0 ||
	    bind(udpfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(udpfd, (struct sockaddr *)&a, &len) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, udpfd, &ev) < 0)
		die("cannot set up the UDP socket or epoll");
	udp_port = ntohs(a.sin_port);
	/* On loopback every client has an address of its own; elsewhere the
	 * addresses would not route. */
	spread_sources = srv_addrs[0].sin_addr.s_addr == htonl(0x7f000001u);
}

static void raise_nofile(unsigned int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	if (rl.rlim_cur < need + 64) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need + 64)
			rl.rlim_cur = rl.rlim_max = need + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			fprintf(stderr, "medload: RLIMIT_NOFILE: need %u "
				"descriptors: %s\n", need + 64,
				strerror(errno));
			exit(1);
		}
	}
}

/*
 * --procs: forks the helpers, each with a command pipe (a phase's range)
 * and a result pipe (struct phase_result).  Before open_sockets(): each
 * process has its own epoll and UDP socket.
 */
static void start_helpers(void)
{
	unsigned int k;
	int cmd[2], res[2];
	pid_t pid;

	for (k = 1; k < opt.procs; k++) {
		if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
			die("pipe");
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = &ctl_marker };

			shard = k;
			ctl_in = cmd[0];
			ctl_out = res[1];
			close(cmd[1]);
			close(res[0]);
			open_sockets();
			last_keepalive = now_ns();
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, ctl_in, &ev) < 0)
				die("epoll_ctl ctl");
			for (;;)
				loop_once(1000);
		}
		close(cmd[0]);
		close(res[1]);
		helper_cmd[k] = cmd[1];
		helper_res[k] = res[0];
		fcntl(res[0], F_SETFL, O_NONBLOCK);
	}
}

/* Every process logs in its share of [from, to); *seconds until the last
 * is done, *hfailed the helpers' failures. */
static void phase_logins(unsigned int from, unsigned int to, double *seconds,
			 unsigned int *hfailed)
{
	unsigned int range[2] = { from, to }, k, waiting, started;
	bool done[64] = { false };
	int64_t t0 = now_ns();
	struct phase_result r;

	for (k = 1; k < opt.procs; k++)
		if (write(helper_cmd[k], range, sizeof(range)) != sizeof(range))
			die("a helper is gone");
	login_range(from, to, seconds, &started);
	*hfailed = 0;
	helpers_online = 0;
	waiting = opt.procs - 1;
	while (waiting) {
		for (k = 1; k < opt.procs; k++) {
			if (done[k])
				continue;
			ssize_t n = read(helper_res[k], &r, sizeof(r));

			if (n == sizeof(r)) {
				done[k] = true;
				waiting--;
				*hfailed += r.failed;
				helpers_online += r.online;
			} else if (n >= 0 || errno != EAGAIN) {
				die("a helper is gone");
			}
		}
		if (waiting)
			loop_once(10);
	}
	failed += *hfailed;
	*seconds = (double)(now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	unsigned int p, i, total;
	double secs, p50, p99, rp50, rmax;
	long rss, hwm, self, crss, chwm;
	long long db;
	size_t samples;

	options(argc, argv);
	if (sodium_init() < 0)
		die("libsodium failed");
	signal(SIGPIPE, SIG_IGN);
	total = opt.phases[opt.n_phases - 1];
	raise_nofile(total / opt.procs + opt.members + 64);
	read_server_key();
	cls = calloc(total, sizeof(*cls));
	member_pub = calloc(opt.members, sizeof(*member_pub));
	if (!cls || !member_pub)
		die("out of memory");
	for (i = 0; i < total; i++) {
		cls[i].idx = i;
		cls[i].inst = (uint8_t)(i % opt.n_ports);
		cls[i].fd = -1;
		randombytes_buf(cls[i].priv, sizeof(cls[i].priv));
		if (i < opt.members &&
		    shoal_key_public(member_pub[i], cls[i].priv) < 0)
			die("shoal_key_public");
	}
	start_helpers();
	open_sockets();
	last_keepalive = now_ns();

	for (p = 0; p < opt.n_phases; p++) {
		unsigned int from = p ? opt.phases[p - 1] : 0;
		unsigned int fail0 = failed, hfailed;	/* failed counts both */

		phase_logins(from, opt.phases[p], &secs, &hfailed);
		if (p == 0)
			build_network();
		fanout(&p50, &p99, &rp50, &rmax, &samples);
		rss = hwm = crss = chwm = 0;
		for (i = 0; i < opt.n_pids; i++) {
			long r, h, cr, ch;

			proc_kb(opt.pids[i], "VmRSS", &r);
			proc_kb(opt.pids[i], "VmHWM", &h);
			children_kb(opt.pids[i], "VmRSS", &cr);
			children_kb(opt.pids[i], "VmHWM", &ch);
			if (opt.n_pids > 1)
				printf("inst phase=%u port=%d rss_kb=%ld "
				       "hwm_kb=%ld children_rss_kb=%ld "
				       "children_hwm_kb=%ld\n", opt.phases[p],
				       opt.ports[i], r, h, cr, ch);
			rss += r;
			hwm += h;
			crss += cr;
			chwm += ch;
		}
		if (!opt.n_pids)
			rss = hwm = crss = chwm = -1;
		proc_kb((long)getpid(), "VmRSS", &self);
		db = db_bytes();
		printf("phase clients=%u online=%u new=%u seconds=%.2f "
		       "logins_per_s=%.0f failed=%u fanout_p50_ms=%.2f "
		       "fanout_p99_ms=%.2f round_p50_ms=%.2f "
		       "round_max_ms=%.2f fanout_samples=%zu rss_kb=%ld "
		       "hwm_kb=%ld children_rss_kb=%ld children_hwm_kb=%ld "
		       "medload_rss_kb=%ld db_bytes=%lld\n",
		       opt.phases[p], logged_in + helpers_online,
		       opt.phases[p] - from, secs,
		       (opt.phases[p] - from - (failed - fail0)) / secs,
		       failed - fail0, p50, p99, rp50, rmax, samples, rss,
		       hwm, crss, chwm, self, db);
		fflush(stdout);
	}
	if (opt.relogin)
		relogin(opt.relogin);
	return failed ? 1 : 0;
}
