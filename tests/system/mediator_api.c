// SPDX-License-Identifier: MIT
/*
 * shoal-mediator over its TCP control channel and its UDP ports, as a
 * client sees it: first start, login and stable addresses, the request
 * errors, NETWORKS, presence (PEER_UP, PEER_DOWN with each reason, the
 * wait for a BINDING), NAT discovery (BINDING from each port and the
 * probe address), the relay, password limits, Argon2id kept off the event
 * loop, and hostile connections and datagrams.
 *
 * The UDP messages are built and read here byte by byte from
 * docs/protocol.md, not with lib/ctlmsg.c: a mistake in the codec must
 * not be mirrored by the test.
 *
 * Each test starts build/san/bin/shoal-mediator ($SHOAL_BIN overrides
 * the directory) with a state directory of its own on 127.0.0.1 and a
 * free port, and checks in teardown that it exits 0 on SIGTERM without
 * a sanitizer report.  Run from the repository root.
 *
 * $SHOAL_TEST_DATABASE, if set, is the --database URL every server
 * gets (system/mediator_api_pg.sh: a PostgreSQL), and
 * $SHOAL_TEST_DB_RESET a shell command that empties that database,
 * run before each test's first start.
 * where: host
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "channel.h"
#include "key.h"
#include "tlv.h"

enum {
	T_LOGIN = 1, T_LOGOUT, T_NICK, T_CREATE, T_JOIN, T_LEAVE, T_NETWORKS,
	T_APPROVE, T_KICK, T_BAN, T_SET_PASSWORD, T_DELETE, T_KEEPALIVE,
	T_RELAY, T_NAT, T_PEER_UP = 64, T_PEER_DOWN = 65, T_RELAY_EV = 66,
	T_PEER_NAT = 67, T_INSTANCES = 72,
};

enum {
	A_RESULT = 1, A_MESSAGE, A_NICKNAME, A_NETWORK, A_PASSWORD, A_APPROVAL,
	A_PUBLIC_KEY, A_IPV4, A_IPV6, A_MAC, A_ONLINE, A_STATE, A_OWNER,
	A_TUNNEL_PORT, A_ENDPOINT, A_REASON, A_UDP_TOKEN, A_PROBE, A_RELAY_ID,
	A_RELAY_KEY, A_TRUNCATED, A_NAT,
	A_INSTANCE_NAME = 32, A_ADVERTISE = 34, A_INSTANCE_LOAD = 35,
	A_INSTANCE = 0x8021,
	A_MEMBER = 0x8001, A_NETWORK_INFO = 0x8002, A_PEER = 0x8003,
	A_NICK_DEFAULT = 40,
};

#define TIMEOUT_MS 5000
#define MAX_EVENTS 64

struct event {
	uint8_t type, reason;
	uint8_t key[32];
	char nick[64];
	uint8_t ipv4[5], ipv6[17], mac[6];
	int n_endpoints;
	/* PEER_UP: the first ENDPOINT; RELAY: the relay's. */
	uint8_t ep[19];
	int ep_len;
	/* PEER_UP: every ENDPOINT, the first MAX_EPS of them. */
	uint8_t eps[16][19];
	int eps_len[16];
	/* RELAY */
	uint32_t relay_id;
	uint8_t relay_key[32];
	/* PEER_UP, PEER_NAT: the NAT attribute (length 0: none). */
	uint8_t nat[8];
	int nat_len;
};

/*
 * A login's UDP_TOKEN, its BINDINGs' key (docs/protocol.md: from the
 * client's key and the server's) and the counter of the last one, and
 * that BINDING itself, with its marker.
 */
struct token {
	uint8_t id[16];
	uint8_t key[32];
	uint64_t counter;
	uint8_t last[64];
};

struct client {
	bool udp_on_src;		/* udp bound to src */
	int fd;
	const char *src;		/* its source address, NULL: any */
	struct shoal_channel ch;
	/* Its "tunnel port": where its BINDINGs come from. */
	int udp;
	/* The LAN candidates its LOGIN names (ENDPOINT values); none set: one. */
	const uint8_t (*lan)[19];
	const int *lan_len;
	int n_lan;
	/* Its LOGIN's nickname is a default (A_NICK_DEFAULT). */
	bool nick_default;
	struct token tok;
	bool has_token;
	uint8_t spub[32];		/* the server's, from client_connect */
	uint8_t probe[19];
	int probe_len;
	int port;			/* the mediator's */
	uint8_t priv[32], pub[32];
	uint32_t next_id;
	/* The last reply, copied out of the channel. */
	uint8_t reply[SHOAL_TLV_MAX_MSG];
	size_t reply_len;
	struct shoal_tlv_msg m;
	struct event ev[MAX_EVENTS];
	int n_ev;
};

struct login_info {
	int result;
	char nick[64];
	uint8_t ipv4[5], ipv6[17], mac[6];
};

/* ----- the server ----- */

/* Whether type (SOCK_STREAM, SOCK_DGRAM) can bind addr:port now. */
static bool port_free(int type, const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, type, 0);
	bool ok;

	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &a.sin_addr);
	ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * A port the kernel just gave out on 127.0.0.1, with the one above it
 * free too (TCP and UDP): the mediator takes PORT+1 for UDP.
 */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len;
	int fd, port, i;

	for (i = 0; i < 100; i++) {
		len = sizeof(a);
		a.sin_port = 0;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			return -1;
		port = ntohs(a.sin_port);
		close(fd);
		if (port < 65535 && port_free(SOCK_DGRAM, "127.0.0.1", port) &&
		    port_free(SOCK_DGRAM, "127.0.0.1", port + 1) &&
		    port_free(SOCK_STREAM, "127.0.0.1", port + 1))
			return port;
	}
	return -1;
}

/* A UDP port free on addr. */
static int free_udp_port(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	inet_pton(AF_INET, addr, &a.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * A connection to 127.0.0.1:port from src (another address of 127/8, so
 * that the server sees another source), or from anywhere (src NULL).
 */
static int tcp_connect_from(int port, const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			return -1;
		}
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect(int port)
{
	return tcp_connect_from(port, NULL);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The database the servers use instead of their state directory's. */
static const char *test_database(void)
{
	const char *url = getenv("SHOAL_TEST_DATABASE");

	return url && *url ? url : NULL;
}

/*
 * extra: more options, NULL-terminated, or NULL; uid: the user to run
 * as, or -1 (ours).
 */
static pid_t start_server_as(const char *dir, int port,
			     const char *const *extra, int uid)
{
	const char *bindir = getenv("SHOAL_BIN");
	char bin[4096], sd[4096], listen_on[64], out[4096], err[4096];
	const char *argv[32];
	int i, n = 0, fd;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/shoal-mediator",
		 bindir && *bindir ? bindir : "build/san/bin");
	snprintf(sd, sizeof(sd), "%s/state", dir);
	snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", port);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	pid = fork();
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		if (uid >= 0 && (setgroups(0, NULL) < 0 ||
				 setgid((gid_t)uid) < 0 ||
				 setuid((uid_t)uid) < 0))
			_exit(126);
		argv[n++] = "shoal-mediator";
		argv[n++] = "--state-dir";
		argv[n++] = sd;
		argv[n++] = "--listen";
		argv[n++] = listen_on;
		if (test_database()) {
			argv[n++] = "--database";
			argv[n++] = test_database();
		}
		for (i = 0; extra && extra[i] && n < 31; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		perror(bin);
		_exit(127);
	}
	/* Up once the port accepts. */
	for (i = 0; i < 500; i++) {
		fd = tcp_connect(port);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static pid_t start_server_args(const char *dir, int port,
			       const char *const *extra)
{
	return start_server_as(dir, port, extra, -1);
}

static pid_t start_server(const char *dir, int port)
{
	return start_server_args(dir, port, NULL);
}

static bool file_has(const char *path, const char *needle)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* file_has within ms: the server writes a moment after it accepts. */
static bool file_has_within(const char *path, const char *needle, int ms)
{
	for (; ms > 0 && !file_has(path, needle); ms -= 20)
		sleep_ms(20);
	return file_has(path, needle);
}

/* Its exit status on SIGTERM, or -1 if it died otherwise. */
static int stop_server(pid_t pid)
{
	int status;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ----- a client ----- */

/* A UDP socket on addr (127.0.0.1 if NULL), any port. */
static int udp_socket_on(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (addr)
		inet_pton(AF_INET, addr, &a.sin_addr);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_socket(void)
{
	return udp_socket_on(NULL);
}

static int udp_port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

static struct client *client_new(void)
{
	struct client *c = calloc(1, sizeof(*c));

	c->fd = -1;
	c->udp = udp_socket();
	shoal_key_generate(c->priv);
	shoal_key_public(c->pub, c->priv);
	return c;
}

static int client_connect(struct client *c, int port,
			  const uint8_t server_pub[32])
{
	if (c->fd >= 0) {
		close(c->fd);
		shoal_channel_wipe(&c->ch);
	}
	c->n_ev = 0;
	c->port = port;
	c->has_token = false;
	memcpy(c->spub, server_pub, 32);
	/*
	 * A token's BINDING counts only from the connection's own source
	 * address: a client with a source of its own sends UDP from there.
	 */
	if (c->src && !c->udp_on_src) {
		close(c->udp);
		c->udp = udp_socket_on(c->src);
		c->udp_on_src = true;
	}
	c->fd = tcp_connect_from(port, c->src);
	if (c->fd < 0 || shoal_channel_client(&c->ch, c->priv, server_pub))
		return -1;
	return shoal_channel_handshake_blocking(&c->ch, c->fd, TIMEOUT_MS);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		shoal_channel_wipe(&c->ch);
	}
	c->fd = -1;
}

static void client_free(struct client *c)
{
	client_close(c);
	if (c->udp >= 0)
		close(c->udp);
	free(c);
}

static void parse_event(struct client *c, const struct shoal_tlv_msg *m)
{
	struct shoal_tlv_attr a, peer;
	struct shoal_tlv_iter it;
	struct event *e;

	if (c->n_ev >= MAX_EVENTS)
		return;
	e = &c->ev[c->n_ev++];
	memset(e, 0, sizeof(*e));
	e->type = m->type;
	if (m->type == T_RELAY_EV) {
		if (shoal_tlv_find(m, A_PUBLIC_KEY, &a) && a.len == 32)
			memcpy(e->key, a.value, 32);
		if (shoal_tlv_find(m, A_ENDPOINT, &a) && a.len <= 19) {
			memcpy(e->ep, a.value, a.len);
			e->ep_len = a.len;
		}
		if (shoal_tlv_find(m, A_RELAY_ID, &a))
			shoal_tlv_get_u32(&a, &e->relay_id);
		if (shoal_tlv_find(m, A_RELAY_KEY, &a) && a.len == 32)
			memcpy(e->relay_key, a.value, 32);
		return;
	}
	if (m->type == T_PEER_NAT) {
		if (shoal_tlv_find(m, A_PUBLIC_KEY, &a) && a.len == 32)
			memcpy(e->key, a.value, 32);
		if (shoal_tlv_find(m, A_NAT, &a) && a.len <= 8) {
			memcpy(e->nat, a.value, a.len);
			e->nat_len = a.len;
		}
		return;
	}
	if (m->type == T_PEER_DOWN) {
		if (shoal_tlv_find(m, A_PUBLIC_KEY, &a) && a.len == 32)
			memcpy(e->key, a.value, 32);
		if (shoal_tlv_find(m, A_REASON, &a))
			shoal_tlv_get_u8(&a, &e->reason);
		return;
	}
	if (!shoal_tlv_find(m, A_PEER, &peer))
		return;
	shoal_tlv_iter_nested(&it, &peer);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type == A_PUBLIC_KEY && a.len == 32)
			memcpy(e->key, a.value, 32);
		else if (a.type == A_NICKNAME)
			shoal_tlv_get_str(&a, e->nick, sizeof(e->nick));
		else if (a.type == A_IPV4 && a.len == 5)
			memcpy(e->ipv4, a.value, 5);
		else if (a.type == A_IPV6 && a.len == 17)
			memcpy(e->ipv6, a.value, 17);
		else if (a.type == A_MAC && a.len == 6)
			memcpy(e->mac, a.value, 6);
		else if (a.type == A_NAT && a.len <= 8) {
			memcpy(e->nat, a.value, a.len);
			e->nat_len = a.len;
		} else if (a.type == A_ENDPOINT && a.len <= 19) {
			if (e->n_endpoints < 16) {
				memcpy(e->eps[e->n_endpoints], a.value, a.len);
				e->eps_len[e->n_endpoints] = a.len;
			}
			if (!e->n_endpoints++) {
				memcpy(e->ep, a.value, a.len);
				e->ep_len = a.len;
			}
		}
	}
}

/*
 * Reads one message: a reply is kept in c->reply/c->m, an event is
 * queued.  1: a reply, 2: an event, 0: EOF, -1: error or timeout.
 */
static int client_read(struct client *c, int timeout_ms)
{
	const uint8_t *msg;
	struct shoal_tlv_msg m;
	size_t len;
	int ret;

	ret = shoal_channel_recv_blocking(&c->ch, c->fd, &msg, &len,
					  timeout_ms);
	if (ret <= 0)
		return ret;
	if (shoal_tlv_parse(&m, msg, len) < 0)
		return -1;
	if (!(m.flags & SHOAL_TLV_F_REPLY)) {
		parse_event(c, &m);
		return 2;
	}
	memcpy(c->reply, msg, len);
	c->reply_len = len;
	return shoal_tlv_parse(&c->m, c->reply, len) < 0 ? -1 : 1;
}

static void req_start(struct client *c, struct shoal_tlv_writer *w,
		      uint8_t type)
{
	static uint8_t buf[SHOAL_TLV_MAX_MSG];

	shoal_tlv_writer_init(w, buf, sizeof(buf), type, 0, ++c->next_id);
}

/* Sends and waits for the reply: its RESULT, or INT32_MIN on failure. */
static int32_t req_finish(struct client *c, struct shoal_tlv_writer *w)
{
	struct shoal_tlv_attr a;
	uint32_t id = c->next_id, v;
	int len = shoal_tlv_finish(w), ret;

	if (len < 0 || shoal_channel_send_blocking(&c->ch, c->fd, w->buf,
						    (size_t)len,
						    TIMEOUT_MS) < 0)
		return INT32_MIN;
	for (;;) {
		ret = client_read(c, TIMEOUT_MS);
		if (ret == 2)
			continue;
		if (ret != 1)
			return INT32_MIN;
		if (c->m.request_id != id || c->m.type != w->buf[1])
			return INT32_MIN;
		if (!shoal_tlv_find(&c->m, A_RESULT, &a) ||
		    !shoal_tlv_get_u32(&a, &v))
			return INT32_MIN;
		return (int32_t)v;
	}
}

/* ----- UDP ----- */

static int udp_send_to(int fd, const char *addr, int port, const void *buf,
		       size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &a.sin_addr);
	return sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)) ==
	       (ssize_t)len ? 0 : -1;
}

/* One datagram within timeout_ms: its length and source, or -1. */
static ssize_t udp_wait(int fd, void *buf, size_t size,
			struct sockaddr_in *from, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t len = sizeof(*from);

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)from,
			&len);
}

/* Nothing arrives on fd within ms. */
static bool udp_quiet(int fd, int ms)
{
	struct sockaddr_in from;
	uint8_t buf[2048];

	return udp_wait(fd, buf, sizeof(buf), &from, ms) < 0;
}

/* The control packets' version byte (docs/protocol.md). */
#define CTL_VERSION 2

/*
 * BINDING: marker, type 16, version, flags, txid; with a token its id,
 * the next counter and the MAC of all before it under its key (tok is
 * counted on, and the datagram kept in tok->last); else zeros.  64 bytes.
 */
static void build_binding(uint8_t out[64], uint8_t flags,
			  const uint8_t txid[12], struct token *tok)
{
	int i;

	memset(out, 0, 64);
	out[4] = 16;
	out[5] = CTL_VERSION;
	out[8] = flags;
	memcpy(out + 12, txid, 12);
	if (!tok)
		return;
	memcpy(out + 24, tok->id, 16);
	tok->counter++;
	for (i = 0; i < 8; i++)
		out[40 + i] = (uint8_t)(tok->counter >> (56 - 8 * i));
	crypto_generichash(out + 48, 16, out + 4, 44, tok->key, 32);
	memcpy(tok->last, out, 64);
}

/* The token key: BLAKE2b-256 keyed by X25519(ours, theirs). */
static int token_key(struct token *tok, const uint8_t priv[32],
		     const uint8_t pub[32])
{
	static const char label[] = "shoal udp token";
	crypto_generichash_state st;
	uint8_t dh[32];

	if (crypto_scalarmult(dh, priv, pub) < 0)
		return -1;
	crypto_generichash_init(&st, dh, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_generichash_update(&st, tok->id, 16);
	crypto_generichash_final(&st, tok->key, 32);
	return 0;
}

struct breply {
	uint8_t family, flags;
	uint16_t port;			/* mapped */
	uint8_t addr[16];		/* mapped */
	uint16_t from_port;		/* where the answer came from */
	struct in_addr from_addr;
};

/*
 * Sends a BINDING (with tok's token, or none) to addr:port and waits for
 * its answer: 0 or -1.
 */
static int binding_reply(int fd, const uint8_t txid[12], struct breply *r,
			 double end);

static int binding(int fd, const char *addr, int port, uint8_t flags,
		   struct token *tok, struct breply *r, int timeout_ms)
{
	uint8_t req[64], txid[12];
	double end = now_s() + timeout_ms / 1000.0;

	randombytes_buf(txid, sizeof(txid));
	build_binding(req, flags, txid, tok);
	if (udp_send_to(fd, addr, port, req, sizeof(req)) < 0)
		return -1;
	return binding_reply(fd, txid, r, end);
}

/* The BINDING_REPLY of txid, by end: 0 or -1. */
static int binding_reply(int fd, const uint8_t txid[12], struct breply *r,
			 double end)
{
	struct sockaddr_in from;
	uint8_t buf[2048];
	ssize_t n;

	for (;;) {
		int left = (int)((end - now_s()) * 1000);

		if (left <= 0)
			return -1;
		n = udp_wait(fd, buf, sizeof(buf), &from, left);
		if (n < 0)
			return -1;
		/* BINDING_REPLY: 4 + 36 bytes, type 17, our txid. */
		if (n != 40 || buf[0] || buf[1] || buf[2] || buf[3] ||
		    buf[4] != 17 || buf[5] != CTL_VERSION || buf[6] || buf[7] ||
		    memcmp(buf + 28, txid, 12))
			continue;
		r->family = buf[8];
		r->flags = buf[9];
		r->port = (uint16_t)(buf[10] << 8 | buf[11]);
		memcpy(r->addr, buf + 12, 16);
		r->from_port = ntohs(from.sin_port);
		r->from_addr = from.sin_addr;
		return 0;
	}
}

/*
 * RELAY_BIND (18), RELAY_BOUND (19) or RELAY_CHALLENGE (20) with its
 * marker: id, counter, for BIND and CHALLENGE a cookie (NULL: zero),
 * then the MAC of it all under key.  Its length: 52, or 36 for BOUND.
 */
static int build_relay(uint8_t out[52], uint8_t type, uint32_t id,
		       uint64_t counter, const uint8_t *cookie,
		       const uint8_t key[32])
{
	int i, len = type == 19 ? 36 : 52;

	memset(out, 0, 52);
	out[4] = type;
	out[5] = CTL_VERSION;
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(id >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		out[12 + i] = (uint8_t)(counter >> (56 - 8 * i));
	if (len == 52 && cookie)
		memcpy(out + 20, cookie, 16);
	crypto_generichash(out + len - 16, 16, out + 4, (size_t)len - 20, key,
			   32);
	return len;
}

/*
 * Sends a RELAY_BIND with counter to the relay and binds as a client
 * does: a RELAY_BOUND answers at once where it is bound already; else a
 * RELAY_CHALLENGE comes, whose cookie goes back in a RELAY_BIND with the
 * next counter, which a RELAY_BOUND answers.  0 if each answer was
 * exactly what the relay must send, -1 if one was missing.
 */
static int relay_bind(int fd, int relay_port, uint32_t id, uint64_t counter,
		      const uint8_t key[32], int timeout_ms)
{
	uint8_t req[52], want[52], buf[2048];
	struct sockaddr_in from;
	ssize_t n;
	int len;

	len = build_relay(req, 18, id, counter, NULL, key);
	if (udp_send_to(fd, "127.0.0.1", relay_port, req, (size_t)len) < 0)
		return -1;
	n = udp_wait(fd, buf, sizeof(buf), &from, timeout_ms);
	if (n < 0 || ntohs(from.sin_port) != relay_port)
		return -1;
	len = build_relay(want, 19, id, counter, NULL, key);
	if (n == len && !memcmp(buf, want, (size_t)len))
		return 0;
	/* The challenge: everything but the cookie is what we sent. */
	len = build_relay(want, 20, id, counter, buf + 20, key);
	if (n != len || memcmp(buf, want, (size_t)len))
		return -1;
	len = build_relay(req, 18, id, counter + 1, buf + 20, key);
	if (udp_send_to(fd, "127.0.0.1", relay_port, req, (size_t)len) < 0)
		return -1;
	n = udp_wait(fd, buf, sizeof(buf), &from, timeout_ms);
	len = build_relay(want, 19, id, counter + 1, NULL, key);
	if (n != len || memcmp(buf, want, (size_t)len) ||
	    ntohs(from.sin_port) != relay_port)
		return -1;
	return 0;
}

/*
 * LOGIN; with bind, then a BINDING with the token from the tunnel
 * socket, as shoald does, which must be recognised.
 */
static int32_t login_opt(struct client *c, const char *nick,
			 struct login_info *li, bool bind)
{
	struct shoal_tlv_writer w;
	struct shoal_tlv_attr a;
	struct breply r;
	uint8_t ep[7] = { 4, 192, 168, 1, 10, 0xca, 0x6c };
	int i;

	req_start(c, &w, T_LOGIN);
	if (nick)
		shoal_tlv_put_str(&w, A_NICKNAME, nick);
	if (c->nick_default)
		shoal_tlv_put(&w, A_NICK_DEFAULT, NULL, 0);
	shoal_tlv_put_u16(&w, A_TUNNEL_PORT, 51820);
	if (!c->n_lan)
		shoal_tlv_put(&w, A_ENDPOINT, ep, sizeof(ep));
	for (i = 0; i < c->n_lan; i++)
		shoal_tlv_put(&w, A_ENDPOINT, c->lan[i], (size_t)c->lan_len[i]);
	memset(li, 0, sizeof(*li));
	li->result = req_finish(c, &w);
	if (li->result)
		return li->result;
	if (shoal_tlv_find(&c->m, A_NICKNAME, &a))
		shoal_tlv_get_str(&a, li->nick, sizeof(li->nick));
	if (shoal_tlv_find(&c->m, A_IPV4, &a) && a.len == 5)
		memcpy(li->ipv4, a.value, 5);
	if (shoal_tlv_find(&c->m, A_IPV6, &a) && a.len == 17)
		memcpy(li->ipv6, a.value, 17);
	if (shoal_tlv_find(&c->m, A_MAC, &a) && a.len == 6)
		memcpy(li->mac, a.value, 6);
	c->has_token = shoal_tlv_find(&c->m, A_UDP_TOKEN, &a) && a.len == 16;
	if (c->has_token) {
		/* A later LOGIN on a connection keeps its token, and count. */
		if (memcmp(c->tok.id, a.value, 16))
			c->tok.counter = 0;
		memcpy(c->tok.id, a.value, 16);
		if (token_key(&c->tok, c->priv, c->spub) < 0)
			return INT32_MIN + 2;
	}
	c->probe_len = 0;
	if (shoal_tlv_find(&c->m, A_PROBE, &a) && a.len <= 19) {
		memcpy(c->probe, a.value, a.len);
		c->probe_len = a.len;
	}
	if (!bind)
		return 0;
	if (!c->has_token ||
	    binding(c->udp, "127.0.0.1", c->port, 0, &c->tok, &r,
		    TIMEOUT_MS) < 0 || r.flags != 0x80)
		return INT32_MIN + 1;
	return 0;
}

static int32_t login(struct client *c, const char *nick,
		     struct login_info *li)
{
	return login_opt(c, nick, li, true);
}

/* A request with any of NETWORK, NICKNAME, PASSWORD and APPROVAL. */
static int32_t req(struct client *c, uint8_t type, const char *network,
		   const char *nick, const char *password, bool approval)
{
	struct shoal_tlv_writer w;

	req_start(c, &w, type);
	if (network)
		shoal_tlv_put_str(&w, A_NETWORK, network);
	if (nick)
		shoal_tlv_put_str(&w, A_NICKNAME, nick);
	if (password)
		shoal_tlv_put(&w, A_PASSWORD, password, strlen(password));
	if (approval)
		shoal_tlv_put(&w, A_APPROVAL, NULL, 0);
	return req_finish(c, &w);
}

/* APPROVE, KICK or BAN of the member with key (NULL: none) in network. */
static int32_t req_member(struct client *c, uint8_t type, const char *network,
			  const uint8_t *key)
{
	struct shoal_tlv_writer w;

	req_start(c, &w, type);
	shoal_tlv_put_str(&w, A_NETWORK, network);
	if (key)
		shoal_tlv_put(&w, A_PUBLIC_KEY, key, 32);
	return req_finish(c, &w);
}

/* Takes the first queued or arriving event of type about key: 0 or -1. */
static int wait_event(struct client *c, uint8_t type, const uint8_t key[32],
		      int timeout_ms, struct event *out)
{
	double end = now_s() + timeout_ms / 1000.0;
	int i, left;

	for (;;) {
		for (i = 0; i < c->n_ev; i++) {
			if (c->ev[i].type != type ||
			    memcmp(c->ev[i].key, key, 32))
				continue;
			if (out)
				*out = c->ev[i];
			memmove(&c->ev[i], &c->ev[i + 1],
				(size_t)(c->n_ev - i - 1) * sizeof(c->ev[0]));
			c->n_ev--;
			return 0;
		}
		left = (int)((end - now_s()) * 1000);
		if (left <= 0 || client_read(c, left) <= 0)
			return -1;
	}
}

/* No event at all within ms. */
static bool quiet(struct client *c, int ms)
{
	double end = now_s() + ms / 1000.0;
	int left;

	while (!c->n_ev && (left = (int)((end - now_s()) * 1000)) > 0)
		if (client_read(c, left) <= 0)
			break;
	return c->n_ev == 0;
}

/* ----- the fixture ----- */

FIXTURE(mediator) {
	char dir[256];
	int port;
	pid_t pid;
	uint8_t spub[32];
	struct client *a, *b, *c;
};

static int read_server_key(const char *dir, uint8_t pub[32])
{
	char path[512];
	uint8_t priv[32];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/state/private.key", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ret = shoal_key_read(priv, f);
	fclose(f);
	if (!ret)
		ret = shoal_key_public(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

/* What the server said, for a failure's log. */
static void show_stderr(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/stderr >&2", dir);
	if (system(cmd) < 0)
		perror("system");
}

static void remove_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

/*
 * SHOAL_TEST_ONLY=NAME[,NAME...]: only those tests run, the others are
 * skipped (a shortcut while working on one; this harness has no filter).
 */
static bool test_wanted(const char *name)
{
	const char *only = getenv("SHOAL_TEST_ONLY"), *p;
	size_t n = strlen(name);

	if (!only || !*only)
		return true;
	for (p = only; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

FIXTURE_SETUP(mediator)
{
	struct rlimit rl;

	/* In the test's own process: the harness counts exit 255 a skip. */
	if (!test_wanted(_metadata->name))
		SKIP(_exit(255), "not in SHOAL_TEST_ONLY");

	ASSERT_EQ(0, sodium_init() < 0);
	/* The robustness test holds a thousand connections. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(self->dir, sizeof(self->dir), "/tmp/mediator_api.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->port = free_port();
	ASSERT_LT(0, self->port);
	if (test_database() && getenv("SHOAL_TEST_DB_RESET"))
		ASSERT_EQ(0, system(getenv("SHOAL_TEST_DB_RESET")));
	self->pid = start_server(self->dir, self->port);
	if (self->pid <= 0) {
		/* Teardown does not run after a failed setup. */
		show_stderr(self->dir);
		remove_dir(self->dir);
	}
	ASSERT_LT(0, self->pid);
	ASSERT_EQ(0, read_server_key(self->dir, self->spub));
	self->a = client_new();
	self->b = client_new();
	self->c = client_new();
}

FIXTURE_TEARDOWN(mediator)
{
	char path[512], cmd[600];
	int status;

	client_free(self->a);
	client_free(self->b);
	client_free(self->c);
	status = stop_server(self->pid);
	EXPECT_EQ(0, status);
	snprintf(path, sizeof(path), "%s/stderr", self->dir);
	EXPECT_FALSE(file_has(path, "Sanitizer"));
	EXPECT_FALSE(file_has(path, "runtime error"));
	if (!_metadata->passed) {
		snprintf(cmd, sizeof(cmd), "cat %s >&2", path);
		if (system(cmd) < 0)
			perror("system");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd) < 0)
		perror("system");
}

static void restart_args(struct __test_metadata *_metadata,
			 FIXTURE_DATA(mediator) *self,
			 const char *const *extra)
{
	int tries;

	ASSERT_EQ(0, stop_server(self->pid));
	/*
	 * The old server's side of a connection it closed first can hold
	 * the port for a moment (FIN_WAIT, which SO_REUSEADDR does not
	 * cover): "Address already in use", seen once in a full run.
	 */
	for (tries = 0; tries < 10; tries++) {
		self->pid = start_server_args(self->dir, self->port, extra);
		if (self->pid > 0)
			break;
		usleep(200 * 1000);
	}
	if (self->pid <= 0)
		show_stderr(self->dir);
	ASSERT_LT(0, self->pid);
}

static void restart(struct __test_metadata *_metadata,
		    FIXTURE_DATA(mediator) *self)
{
	restart_args(_metadata, self, NULL);
}

/* ----- tests ----- */

/* alice, bob and carol connected and logged in (l: carol's login). */
static int three_logged_in(FIXTURE_DATA(mediator) *self,
			   struct login_info *l)
{
	if (client_connect(self->a, self->port, self->spub) ||
	    client_connect(self->b, self->port, self->spub) ||
	    client_connect(self->c, self->port, self->spub) ||
	    login(self->a, "alice", l) || login(self->b, "bob", l) ||
	    login(self->c, "carol", l))
		return -1;
	return 0;
}

TEST_F(mediator, first_start)
{
	char path[512], b64[SHOAL_KEY_B64_LEN + 1], line[600];
	uint8_t pub[32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state", self->dir);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0700u, st.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/state/private.key", self->dir);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600u, st.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/state/mediator.db", self->dir);
	if (!test_database()) {
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_LT(0, st.st_size);
	}

	shoal_key_to_base64(b64, self->spub);
	snprintf(line, sizeof(line), "shoal login 127.0.0.1:%d %s\n",
		 self->port, b64);
	snprintf(path, sizeof(path), "%s/stdout", self->dir);
	EXPECT_TRUE(file_has_within(path, line, 2000));

	/* The second start keeps the key. */
	restart(_metadata, self);
	ASSERT_EQ(0, read_server_key(self->dir, pub));
	EXPECT_EQ(0, memcmp(pub, self->spub, 32));
	EXPECT_TRUE(file_has(path, line));
	EXPECT_TRUE(file_has_within(path, "loaded its key", 2000));
}

TEST_F(mediator, login_stable)
{
	struct login_info l1, l2, l3, lb;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	/* The first login needs a nickname. */
	EXPECT_EQ(-5, login(self->a, NULL, &l1));
	EXPECT_EQ(-5, login(self->a, "-bad", &l1));
	ASSERT_EQ(0, login(self->a, "alice", &l1));
	EXPECT_STREQ("alice", l1.nick);
	/* 100.64.0.0/10, the pool's prefix; a ULA /64; a local unicast MAC. */
	EXPECT_EQ(100, l1.ipv4[0]);
	EXPECT_EQ(64, l1.ipv4[1] & 0xc0);
	EXPECT_EQ(10, l1.ipv4[4]);
	EXPECT_EQ(0xfd, l1.ipv6[0]);
	EXPECT_EQ(64, l1.ipv6[16]);
	EXPECT_EQ(2, l1.mac[0] & 3);

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, NULL, &l2));
	EXPECT_EQ(0, memcmp(&l1, &l2, sizeof(l1)));

	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->b, "bob", &lb));
	EXPECT_NE(0, memcmp(l1.ipv4, lb.ipv4, 4));
	EXPECT_NE(0, memcmp(l1.ipv6, lb.ipv6, 16));
	EXPECT_NE(0, memcmp(l1.mac, lb.mac, 6));

	client_close(self->a);
	restart(_metadata, self);
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, NULL, &l3));
	EXPECT_EQ(0, memcmp(&l1, &l3, sizeof(l1)));
}

TEST_F(mediator, nickname_taken)
{
	struct login_info l;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	EXPECT_EQ(-6, login(self->b, "ALICE", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	EXPECT_EQ(-6, req(self->b, T_NICK, NULL, "Alice", NULL, false));
	EXPECT_EQ(0, req(self->b, T_NICK, NULL, "bobby", NULL, false));
}

/*
 * A default nickname (the host name, A_NICK_DEFAULT): made unique for a
 * new client, -2, -3 ..., shortened to fit; a known client keeps its
 * own.  A nickname asked for and taken is still an error.
 */
TEST_F(mediator, default_nickname)
{
	static const char long_nick[] = "abcdefghijklmnopqrstuvwxyz012345";
	struct login_info l;
	struct client *d;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	self->a->nick_default = self->b->nick_default = true;
	ASSERT_EQ(0, login(self->a, "host", &l));
	EXPECT_STREQ("host", l.nick);
	ASSERT_EQ(0, login(self->b, "host", &l));
	EXPECT_STREQ("host-2", l.nick);
	EXPECT_EQ(-6, login(self->c, "host", &l));
	self->c->nick_default = true;
	ASSERT_EQ(0, login(self->c, "host", &l));
	EXPECT_STREQ("host-3", l.nick);
	/* Known: its own stays, whatever the default says now. */
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "other", &l));
	EXPECT_STREQ("host", l.nick);
	/* Still the rules of a nickname; shortened to fit the suffix. */
	d = client_new();
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, client_connect(d, self->port, self->spub));
	d->nick_default = true;
	EXPECT_EQ(-5, login(d, "-bad", &l));
	ASSERT_EQ(0, req(self->a, T_NICK, NULL, long_nick, NULL, false));
	EXPECT_EQ(0, login(d, long_nick, &l));
	EXPECT_STREQ("abcdefghijklmnopqrstuvwxyz0123-2", l.nick);
	client_free(d);
}

/* A NICK reaches the peers at once: a PEER_UP with the new one. */
TEST_F(mediator, nick_announced)
{
	struct login_info l;
	struct event e;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	EXPECT_STREQ("bob", e.nick);
	ASSERT_EQ(0, req(self->b, T_NICK, NULL, "bobby", NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, 1000, &e));
	EXPECT_STREQ("bobby", e.nick);
}

TEST_F(mediator, join_errors)
{
	struct login_info l;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));
	EXPECT_EQ(-8, req(self->b, T_CREATE, "LAN", NULL, NULL, false));
	EXPECT_EQ(-7, req(self->b, T_CREATE, "-x", NULL, NULL, false));
	EXPECT_EQ(-12, req(self->b, T_JOIN, "nowhere", NULL, NULL, false));
	EXPECT_EQ(-13, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	EXPECT_EQ(-14, req(self->b, T_JOIN, "lan", NULL, "wrong", false));
	EXPECT_EQ(-17, req_member(self->b, T_KICK, "lan", self->a->pub));
	EXPECT_EQ(-18, req(self->b, T_LEAVE, "lan", NULL, NULL, false));
	EXPECT_EQ(0, req_member(self->a, T_BAN, "lan", self->b->pub));
	/* Banned is checked before the password: no hash needed. */
	EXPECT_EQ(-16, req(self->b, T_JOIN, "lan", NULL, "wrong", false));
	/* A request without its NETWORK is malformed. */
	EXPECT_EQ(-3, req(self->b, T_JOIN, NULL, NULL, NULL, false));
	/* A password for a network without one: refused, not ignored. */
	ASSERT_EQ(0, req(self->a, T_CREATE, "open", NULL, NULL, false));
	EXPECT_EQ(-25, req(self->b, T_JOIN, "open", NULL, "secret", false));
	EXPECT_EQ(0, req(self->b, T_JOIN, "open", NULL, NULL, false));
}

TEST_F(mediator, network_full)
{
	/*
	 * Version 1 of the protocol has no request that sets a member
	 * limit, and the default (256) is too many clients for this test.
	 */
	SKIP(return, "no way to set a small member limit over the protocol");
}

/* The MEMBER nest of nick in the NETWORKS reply: ONLINE, STATE, OWNER. */
static int member_of(struct client *c, const char *network, const char *nick,
		     uint8_t *online, uint8_t *state, bool *owner)
{
	struct shoal_tlv_attr info, a, mb, x;
	struct shoal_tlv_iter it, it2;
	char buf[80];

	shoal_tlv_iter_msg(&it, &c->m);
	while (shoal_tlv_next(&it, &info)) {
		if (info.type != A_NETWORK_INFO ||
		    !shoal_tlv_find_nested(&info, A_NETWORK, &a) ||
		    !shoal_tlv_get_str(&a, buf, sizeof(buf)) ||
		    strcmp(buf, network))
			continue;
		shoal_tlv_iter_nested(&it2, &info);
		while (shoal_tlv_next(&it2, &mb)) {
			if (mb.type != A_MEMBER ||
			    !shoal_tlv_find_nested(&mb, A_NICKNAME, &x) ||
			    !shoal_tlv_get_str(&x, buf, sizeof(buf)) ||
			    strcmp(buf, nick))
				continue;
			*online = *state = 0xff;
			if (shoal_tlv_find_nested(&mb, A_ONLINE, &x))
				shoal_tlv_get_u8(&x, online);
			if (shoal_tlv_find_nested(&mb, A_STATE, &x))
				shoal_tlv_get_u8(&x, state);
			*owner = shoal_tlv_find_nested(&mb, A_OWNER, &x);
			return 0;
		}
	}
	return -1;
}

TEST_F(mediator, networks)
{
	struct login_info l;
	uint8_t online, state;
	bool owner;

	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->a, T_CREATE, "club", NULL, NULL, true));
	ASSERT_EQ(1, req(self->c, T_JOIN, "club", NULL, NULL, false));

	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	ASSERT_EQ(0, member_of(self->a, "lan", "alice", &online, &state,
			       &owner));
	EXPECT_EQ(1, online);
	EXPECT_EQ(2, state);
	EXPECT_TRUE(owner);
	ASSERT_EQ(0, member_of(self->a, "lan", "bob", &online, &state,
			       &owner));
	EXPECT_EQ(1, online);
	EXPECT_EQ(2, state);
	EXPECT_FALSE(owner);
	ASSERT_EQ(0, member_of(self->a, "club", "carol", &online, &state,
			       &owner));
	EXPECT_EQ(1, state);

	/* bob goes away: alice hears of it, and NETWORKS agrees. */
	client_close(self->b);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	ASSERT_EQ(0, member_of(self->a, "lan", "bob", &online, &state,
			       &owner));
	EXPECT_EQ(0, online);

	/* One waiting for approval sees no one else. */
	ASSERT_EQ(0, req(self->c, T_NETWORKS, NULL, NULL, NULL, false));
	EXPECT_EQ(-1, member_of(self->c, "club", "alice", &online, &state,
				&owner));
	EXPECT_EQ(0, member_of(self->c, "club", "carol", &online, &state,
			       &owner));
}

TEST_F(mediator, presence)
{
	struct login_info la, lb, lc;
	struct event e;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &la));
	ASSERT_EQ(0, login(self->b, "bob", &lb));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));

	/* carol joins: everyone hears about everyone, with addresses. */
	ASSERT_EQ(0, login(self->c, "carol", &lc));
	EXPECT_TRUE(quiet(self->c, 200));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				&e));
	EXPECT_STREQ("carol", e.nick);
	EXPECT_EQ(0, memcmp(e.ipv4, lc.ipv4, 5));
	EXPECT_EQ(0, memcmp(e.ipv6, lc.ipv6, 17));
	EXPECT_EQ(0, memcmp(e.mac, lc.mac, 6));
	/* 127.0.0.1:51820 from the connection, and the LAN candidate. */
	EXPECT_EQ(2, e.n_endpoints);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				&e));
	EXPECT_STREQ("alice", e.nick);
	EXPECT_EQ(0, memcmp(e.ipv4, la.ipv4, 5));
	ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));

	/* LOGOUT: reason 1. */
	ASSERT_EQ(0, req(self->c, T_LOGOUT, NULL, NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(1, e.reason);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(1, e.reason);
	/* Logged out is logged out. */
	EXPECT_EQ(-100, req(self->c, T_KEEPALIVE, NULL, NULL, NULL, false));

	/* Back, then the connection is cut: reason 2. */
	ASSERT_EQ(0, login(self->c, NULL, &lc));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	client_close(self->c);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);

	/* A second connection replaces the first without a PEER_DOWN. */
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->c, NULL, &lc));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	{
		int old_fd = self->c->fd;
		struct shoal_channel old = self->c->ch;

		self->c->fd = -1;
		ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
		ASSERT_EQ(0, login(self->c, NULL, &lc));
		ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->a->pub,
					TIMEOUT_MS, NULL));
		close(old_fd);
		shoal_channel_wipe(&old);
	}
	EXPECT_TRUE(quiet(self->a, 300));

	/* KICK: reason 3 both ways, within 5 s. */
	ASSERT_EQ(0, req_member(self->a, T_KICK, "lan", self->c->pub));
	ASSERT_EQ(0, wait_event(self->c, T_PEER_DOWN, self->a->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, wait_event(self->c, T_PEER_DOWN, self->b->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->c->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
}

TEST_F(mediator, approval)
{
	struct login_info l;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "club", NULL, NULL, true));
	ASSERT_EQ(1, req(self->b, T_JOIN, "club", NULL, NULL, false));
	/* Pending: nothing either way. */
	EXPECT_TRUE(quiet(self->b, 300));
	EXPECT_TRUE(quiet(self->a, 100));
	ASSERT_EQ(0, req_member(self->a, T_APPROVE, "club", self->b->pub));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	/* DELETE: nobody shares anything any more. */
	ASSERT_EQ(0, req(self->a, T_DELETE, "club", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->a->pub,
				TIMEOUT_MS, NULL));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));
}

/*
 * Kick, ban and delete reach the peers of a member who has closed its
 * connection: they were told to check liveness (reason 2), kept their
 * tunnels, and only reason 3 takes those down.
 */
TEST_F(mediator, evict_offline_member)
{
	struct login_info l;
	struct event e;

	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));

	/* KICK: carol has gone; alice and bob hear reason 3 anyway. */
	client_close(self->c);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, req_member(self->a, T_KICK, "lan", self->c->pub));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->c->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);

	/* BAN: the same for bob, gone; carol is back and hears it. */
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->c, NULL, &l));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	client_close(self->b);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, wait_event(self->c, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, req_member(self->a, T_BAN, "lan", self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, wait_event(self->c, T_PEER_DOWN, self->b->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);

	/* DELETE: carol gone too; alice, the owner, hears it. */
	client_close(self->c);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	ASSERT_EQ(0, req(self->a, T_DELETE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->c->pub, 5000,
				&e));
	EXPECT_EQ(3, e.reason);
}

/*
 * APPROVE, KICK and BAN name the member by its key: a nickname can be
 * changed by its holder, and then taken by someone else.
 */
TEST_F(mediator, owner_commands_by_key)
{
	struct shoal_tlv_writer w;
	struct login_info l;
	uint8_t online, state, stranger[32];
	bool owner;

	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, true));
	ASSERT_EQ(1, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(1, req(self->c, T_JOIN, "lan", NULL, NULL, false));

	/* A nickname alone, or a key of the wrong size: malformed. */
	EXPECT_EQ(-3, req(self->a, T_APPROVE, "lan", "bob", NULL, false));
	req_start(self->a, &w, T_KICK);
	shoal_tlv_put_str(&w, A_NETWORK, "lan");
	shoal_tlv_put(&w, A_PUBLIC_KEY, self->b->pub, 31);
	EXPECT_EQ(-3, req_finish(self->a, &w));
	EXPECT_EQ(-3, req_member(self->a, T_BAN, "lan", NULL));
	randombytes_buf(stranger, sizeof(stranger));
	EXPECT_EQ(-19, req_member(self->a, T_APPROVE, "lan", stranger));
	EXPECT_EQ(-19, req_member(self->a, T_KICK, "lan", stranger));
	EXPECT_EQ(-11, req_member(self->a, T_BAN, "lan", stranger));

	/*
	 * bob renames himself and carol takes "bob": approving bob's key
	 * lets bob in, not the one now called bob.
	 */
	ASSERT_EQ(0, req(self->b, T_NICK, NULL, "robert", NULL, false));
	ASSERT_EQ(0, req(self->c, T_NICK, NULL, "bob", NULL, false));
	ASSERT_EQ(0, req_member(self->a, T_APPROVE, "lan", self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	ASSERT_EQ(0, member_of(self->a, "lan", "robert", &online, &state,
			       &owner));
	EXPECT_EQ(2, state);
	ASSERT_EQ(0, member_of(self->a, "lan", "bob", &online, &state,
			       &owner));
	EXPECT_EQ(1, state);
	EXPECT_EQ(-21, req_member(self->a, T_APPROVE, "lan", self->b->pub));

	/* The same for KICK: carol, called bob, stays waiting. */
	ASSERT_EQ(0, req_member(self->a, T_KICK, "lan", self->b->pub));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->a->pub,
				TIMEOUT_MS, NULL));
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	EXPECT_EQ(-1, member_of(self->a, "lan", "robert", &online, &state,
				&owner));
	ASSERT_EQ(0, member_of(self->a, "lan", "bob", &online, &state,
			       &owner));
	EXPECT_EQ(1, state);
	/* BAN takes a client that is not in the network at all. */
	EXPECT_EQ(0, req_member(self->a, T_BAN, "lan", self->b->pub));
	EXPECT_EQ(-16, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	EXPECT_EQ(-23, req_member(self->a, T_KICK, "lan", self->a->pub));
}

/* The NETWORK_INFOs of the last NETWORKS reply, and whether TRUNCATED. */
static int networks_in_reply(struct client *c, bool *truncated)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	int n = 0;

	*truncated = false;
	shoal_tlv_iter_msg(&it, &c->m);
	while (shoal_tlv_next(&it, &a)) {
		n += a.type == A_NETWORK_INFO;
		*truncated |= a.type == A_TRUNCATED;
	}
	return n;
}

#define SYBILS 40

/*
 * Requests waiting for approval are capped (32): a flood of sybil JOINs
 * neither grows the network without bound nor breaks its owner's
 * NETWORKS.  The sybils come from addresses of their own, as they would
 * to get round the limits on new clients per source.
 */
TEST_F_TIMEOUT(mediator, sybil_joins_capped, 60)
{
	static char src[SYBILS][32];
	struct client *sybil[SYBILS];
	struct login_info l;
	uint8_t online, state;
	bool owner, truncated;
	char nick[32];
	int i, waiting = 0, refused = 0;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "club", NULL, NULL, true));
	for (i = 0; i < SYBILS; i++) {
		sybil[i] = client_new();
		snprintf(src[i], sizeof(src[i]), "127.0.%d.%d", 1 + i / 200,
			 1 + i % 200);
		sybil[i]->src = src[i];
		snprintf(nick, sizeof(nick), "sybil%d", i);
		ASSERT_EQ(0, client_connect(sybil[i], self->port, self->spub));
		ASSERT_EQ(0, login_opt(sybil[i], nick, &l, false));
		switch (req(sybil[i], T_JOIN, "club", NULL, NULL, false)) {
		case 1:
			waiting++;
			break;
		case -24:
			refused++;
			break;
		}
	}
	EXPECT_EQ(32, waiting);
	EXPECT_EQ(SYBILS - 32, refused);
	/* The owner still sees them all, in one reply, and can act. */
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	EXPECT_EQ(1, networks_in_reply(self->a, &truncated));
	EXPECT_FALSE(truncated);
	ASSERT_EQ(0, member_of(self->a, "club", "sybil31", &online, &state,
			       &owner));
	EXPECT_EQ(1, state);
	EXPECT_EQ(-1, member_of(self->a, "club", "sybil32", &online, &state,
				&owner));
	EXPECT_EQ(0, req_member(self->a, T_BAN, "club", sybil[0]->pub));
	EXPECT_EQ(1, req(sybil[32], T_JOIN, "club", NULL, NULL, false));
	for (i = 0; i < SYBILS; i++)
		client_free(sybil[i]);
}

/*
 * A client in more networks than one reply holds gets those that fit and
 * TRUNCATED; NETWORK asks for one network, which always fits.
 */
TEST_F_TIMEOUT(mediator, networks_truncated, 60)
{
	struct login_info l;
	uint8_t online, state;
	bool owner, truncated;
	char name[80];
	int i, n;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "%060d-net", i);
		ASSERT_EQ(0, req(self->a, T_CREATE, name, NULL, NULL, false));
	}
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	n = networks_in_reply(self->a, &truncated);
	TH_LOG("%d of 400 networks in one NETWORKS reply", n);
	EXPECT_TRUE(truncated);
	EXPECT_LT(100, n);
	EXPECT_GT(400, n);
	/* The last one, asked for by name. */
	ASSERT_EQ(0, req(self->a, T_NETWORKS, name, NULL, NULL, false));
	EXPECT_EQ(1, networks_in_reply(self->a, &truncated));
	EXPECT_FALSE(truncated);
	EXPECT_EQ(0, member_of(self->a, name, "alice", &online, &state,
			       &owner));
	EXPECT_TRUE(owner);
	/* Not one of ours, or none at all. */
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	EXPECT_EQ(-18, req(self->b, T_NETWORKS, name, NULL, NULL, false));
	EXPECT_EQ(-12, req(self->b, T_NETWORKS, "nowhere", NULL, NULL,
			   false));
}

TEST_F(mediator, before_login_and_unknown)
{
	struct shoal_tlv_writer w;
	struct login_info l;
	uint8_t bad[8] = { 2, T_KEEPALIVE, 0, 0, 0, 0, 0, 1 };
	const uint8_t *msg;
	size_t len;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	EXPECT_EQ(-100, req(self->a, T_KEEPALIVE, NULL, NULL, NULL, false));
	EXPECT_EQ(-100, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	EXPECT_EQ(-100, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	req_start(self->a, &w, 99);
	EXPECT_EQ(-101, req_finish(self->a, &w));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	req_start(self->a, &w, T_PEER_UP);
	EXPECT_EQ(-101, req_finish(self->a, &w));
	EXPECT_EQ(0, req(self->a, T_KEEPALIVE, NULL, NULL, NULL, false));

	/* An undecodable message ends the connection. */
	ASSERT_EQ(0, shoal_channel_send_blocking(&self->a->ch, self->a->fd,
						 bad, sizeof(bad),
						 TIMEOUT_MS));
	EXPECT_GE(0, shoal_channel_recv_blocking(&self->a->ch, self->a->fd,
						 &msg, &len, TIMEOUT_MS));
}

TEST_F_TIMEOUT(mediator, robustness, 50)
{
	enum { IDLE = 1000 };
	static uint8_t junk[65536];
	struct client *probe;
	struct login_info l;
	struct shoal_channel ch;
	const uint8_t *p;
	uint8_t frame[64];
	int *idle, fd, garbage, i, n;
	char src[32];
	size_t pend;
	double t0;

	/*
	 * From 16 addresses, under the 64 each may hold: all of them stay.
	 * The hostile ones below come from another one.
	 */
	idle = calloc(IDLE, sizeof(*idle));
	ASSERT_NE(NULL, idle);
	for (i = 0; i < IDLE; i++) {
		snprintf(src, sizeof(src), "127.0.2.%d", 1 + i % 16);
		idle[i] = tcp_connect_from(self->port, src);
		ASSERT_LE(0, idle[i]);
	}

	/* 64 KiB of random bytes. */
	randombytes_buf(junk, sizeof(junk));
	garbage = tcp_connect_from(self->port, "127.0.0.3");
	ASSERT_LE(0, garbage);
	n = (int)send(garbage, junk, sizeof(junk), MSG_NOSIGNAL);
	(void)n;

	/* Message 1 cut short, then gone. */
	fd = tcp_connect_from(self->port, "127.0.0.3");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, shoal_channel_client(&ch, self->a->priv, self->spub));
	pend = shoal_channel_pending(&ch, &p);
	ASSERT_EQ(pend, (size_t)(2 + SHOAL_CHANNEL_MSG1_LEN));
	ASSERT_EQ(40, send(fd, p, 40, MSG_NOSIGNAL));
	shoal_channel_wipe(&ch);
	close(fd);

	/* A whole message 1, then gone before message 2. */
	fd = tcp_connect_from(self->port, "127.0.0.3");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, shoal_channel_client(&ch, self->a->priv, self->spub));
	pend = shoal_channel_pending(&ch, &p);
	ASSERT_EQ((ssize_t)pend, send(fd, p, pend, MSG_NOSIGNAL));
	shoal_channel_wipe(&ch);
	close(fd);

	/* After the handshake, a transport frame cut short. */
	self->b->src = "127.0.0.3";
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	frame[0] = 0;
	frame[1] = 200;
	memset(frame + 2, 0xaa, 30);
	ASSERT_EQ(32, send(self->b->fd, frame, 32, MSG_NOSIGNAL));
	client_close(self->b);

	/* A frame of the wrong length for the handshake. */
	fd = tcp_connect_from(self->port, "127.0.0.3");
	ASSERT_LE(0, fd);
	frame[0] = 0;
	frame[1] = 50;
	ASSERT_EQ(52, send(fd, frame, 52, MSG_NOSIGNAL));

	/* Meanwhile a genuine client is served at once. */
	probe = client_new();
	probe->src = "127.0.0.2";
	t0 = now_s();
	ASSERT_EQ(0, client_connect(probe, self->port, self->spub));
	ASSERT_EQ(0, login(probe, "probe", &l));
	ASSERT_EQ(0, req(probe, T_NETWORKS, NULL, NULL, NULL, false));
	EXPECT_GT(1.0, now_s() - t0);
	TH_LOG("login and NETWORKS with %d idle connections: %.3f s", IDLE,
	       now_s() - t0);
	client_free(probe);

	close(fd);
	close(garbage);
	for (i = 0; i < IDLE; i++)
		close(idle[i]);
	free(idle);
}

/* 1 if the server closed fd within timeout_ms. */
static int closed_within(int fd, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char buf[256];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n > 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Handshake and first message within 10 s, or the connection goes. */
TEST_F_TIMEOUT(mediator, hello_timeout, 30)
{
	struct login_info l;
	int idle;

	idle = tcp_connect(self->port);
	ASSERT_LE(0, idle);
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	EXPECT_EQ(1, closed_within(idle, 13000));
	EXPECT_EQ(1, closed_within(self->b->fd, 2000));
	/* One that spoke has the idle timeout (270 s) instead. */
	EXPECT_EQ(0, req(self->a, T_KEEPALIVE, NULL, NULL, NULL, false));
	close(idle);
}

/*
 * Until a LOGIN succeeds, nothing said keeps a connection past 10 s from
 * its accept: not requests refused as not logged in, not a refused
 * LOGIN; and after a LOGOUT, 10 s again.
 */
TEST_F_TIMEOUT(mediator, login_deadline, 40)
{
	struct client *cl[3] = { self->a, self->b, self->c };
	double t0, closed[3] = { 0 };
	struct login_info l;
	int i, open_n = 3;

	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->c, "carol", &l));
	t0 = now_s();
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	EXPECT_EQ(-5, login(self->b, "-bad", &l));
	EXPECT_EQ(0, req(self->c, T_LOGOUT, NULL, NULL, NULL, false));
	while (open_n && now_s() - t0 < 20) {
		for (i = 0; i < 3; i++) {
			if (closed[i])
				continue;
			if (req(cl[i], T_KEEPALIVE, NULL, NULL, NULL, false) !=
			    -100) {
				closed[i] = now_s() - t0;
				open_n--;
			}
		}
		sleep_ms(500);
	}
	for (i = 0; i < 3; i++) {
		if (closed[i])
			TH_LOG("connection %d closed %.1f s in", i, closed[i]);
		else
			TH_LOG("connection %d still open after 20 s", i);
		EXPECT_LT(8.5, closed[i]);
		EXPECT_GT(13.5, closed[i]);
	}
}

/*
 * One address holds --source-conns connections at once and makes
 * --source-new-clients new clients an hour; other addresses are not
 * touched by what one does.
 */
TEST_F_TIMEOUT(mediator, source_limits, 30)
{
	const char *args[] = { "--source-conns", "3",
			       "--source-new-clients", "2", NULL };
	struct client *x[4], *y;
	struct login_info l;
	int i;

	restart_args(_metadata, self, args);
	for (i = 0; i < 4; i++) {
		x[i] = client_new();
		x[i]->src = "127.0.0.5";
	}
	y = client_new();
	y->src = "127.0.0.6";
	/* Three connections; the fourth is closed before its handshake. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, client_connect(x[i], self->port, self->spub));
	EXPECT_NE(0, client_connect(x[3], self->port, self->spub));
	ASSERT_EQ(0, client_connect(y, self->port, self->spub));
	/* Two new clients; the third new key waits for the next hour. */
	ASSERT_EQ(0, login(x[0], "x0", &l));
	ASSERT_EQ(0, login(x[1], "x1", &l));
	EXPECT_EQ(-106, login(x[2], "x2", &l));
	/* Another address is another count. */
	ASSERT_EQ(0, login(y, "y", &l));
	/* A connection that goes makes room; a known client may log in. */
	client_close(x[0]);
	for (i = 0; i < 50 && client_connect(x[3], self->port, self->spub);
	     i++)
		sleep_ms(20);
	ASSERT_GT(50, i);
	EXPECT_EQ(-106, login_opt(x[3], "x3", &l, false));
	client_close(x[3]);
	memcpy(x[3]->priv, x[0]->priv, 32);
	memcpy(x[3]->pub, x[0]->pub, 32);
	for (i = 0; i < 50 && client_connect(x[3], self->port, self->spub);
	     i++)
		sleep_ms(20);
	ASSERT_GT(50, i);
	EXPECT_EQ(0, login(x[3], NULL, &l));
	for (i = 0; i < 4; i++)
		client_free(x[i]);
	client_free(y);
}

/* A TCP connection over IPv6 from src to [::1]:port, or -1. */
static int tcp6_connect_from(int port, const char *src)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET6, src, &a.sin6_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	a.sin6_addr = in6addr_loopback;
	a.sin6_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * An IPv6 /64 is one source: what one address of it holds counts for
 * all of it.  In a network namespace of the test's own, with addresses
 * of two /64s on its loopback.
 */
TEST_F_TIMEOUT(mediator, source_ipv6_prefix, 30)
{
	char listen_on[32];
	const char *args[] = { "--listen", listen_on, "--source-conns", "2",
			       NULL };
	struct shoal_channel ch;
	int fd[4], i;

	if (geteuid())
		SKIP(return, "needs root, for a network namespace");
	ASSERT_EQ(0, stop_server(self->pid));
	self->pid = -1;
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, system("ip link set lo up && "
			    "ip -6 addr add 2001:db8:1::1/64 dev lo nodad && "
			    "ip -6 addr add 2001:db8:1::2/64 dev lo nodad && "
			    "ip -6 addr add 2001:db8:1::3/64 dev lo nodad && "
			    "ip -6 addr add 2001:db8:2::1/64 dev lo nodad"));
	snprintf(listen_on, sizeof(listen_on), "[::]:%d", self->port);
	self->pid = start_server_args(self->dir, self->port, args);
	ASSERT_LT(0, self->pid);
	fd[0] = tcp6_connect_from(self->port, "2001:db8:1::1");
	fd[1] = tcp6_connect_from(self->port, "2001:db8:1::2");
	fd[2] = tcp6_connect_from(self->port, "2001:db8:1::3");
	fd[3] = tcp6_connect_from(self->port, "2001:db8:2::1");
	for (i = 0; i < 4; i++)
		ASSERT_LE(0, fd[i]);
	/* The two first hold the /64: the third is closed unheard. */
	EXPECT_EQ(0, closed_within(fd[0], 300));
	EXPECT_EQ(0, closed_within(fd[1], 10));
	EXPECT_EQ(1, closed_within(fd[2], 2000));
	/* The other /64 is served: a whole handshake. */
	ASSERT_EQ(0, shoal_channel_client(&ch, self->a->priv, self->spub));
	EXPECT_EQ(0, shoal_channel_handshake_blocking(&ch, fd[3],
						      TIMEOUT_MS));
	shoal_channel_wipe(&ch);
	for (i = 0; i < 4; i++)
		close(fd[i]);
}

/* Writes text to the file at path: 0, or -1. */
static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

/*
 * --deny: connections and NAT discovery from the listed prefixes are
 * dropped unheard; SIGHUP reads the list again and ends the connections
 * it now denies; a list that does not load keeps the one in force.
 */
TEST_F_TIMEOUT(mediator, deny_list, 30)
{
	char path[300], errpath[300];
	const char *args[] = { "--deny", path, NULL };
	struct client *x = client_new(), *y = client_new(), *z = client_new();
	struct login_info l;
	struct breply r;
	int u5, i;

	snprintf(path, sizeof(path), "%s/deny", self->dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", self->dir);
	ASSERT_EQ(0, write_file(path, "# abuse, 2026-11\n127.0.0.5\n"
				"  10.0.0.0/8   # a whole network\n\n"
				"2001:db8::/32\n"));
	restart_args(_metadata, self, args);
	EXPECT_TRUE(file_has_within(errpath, "3 address ranges denied", 2000));
	x->src = "127.0.0.5";
	y->src = "127.0.0.6";
	z->src = "127.0.0.7";
	EXPECT_NE(0, client_connect(x, self->port, self->spub));
	ASSERT_EQ(0, client_connect(y, self->port, self->spub));
	ASSERT_EQ(0, login(y, "y", &l));
	/* No answer to a BINDING from there either. */
	u5 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in a = { .sin_family = AF_INET };

		inet_pton(AF_INET, "127.0.0.5", &a.sin_addr);
		ASSERT_EQ(0, bind(u5, (struct sockaddr *)&a, sizeof(a)));
	}
	EXPECT_EQ(-1, binding(u5, "127.0.0.1", self->port, 0, NULL, &r, 300));
	EXPECT_EQ(0, binding(self->a->udp, "127.0.0.1", self->port, 0, NULL,
			     &r, TIMEOUT_MS));

	/* .6/31 too now: y's connection ends, z is refused, .8 is not. */
	ASSERT_EQ(0, write_file(path, "127.0.0.5/32\n127.0.0.6/31\n"));
	ASSERT_EQ(0, kill(self->pid, SIGHUP));
	EXPECT_EQ(1, closed_within(y->fd, 3000));
	EXPECT_NE(0, client_connect(z, self->port, self->spub));
	self->a->src = "127.0.0.8";
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));

	/* A list with a mistake: said, and the old one stays. */
	ASSERT_EQ(0, write_file(path, "127.0.0.9/24\n"));
	ASSERT_EQ(0, kill(self->pid, SIGHUP));
	for (i = 0; i < 100 && !file_has(errpath, "host bits"); i++)
		sleep_ms(20);
	EXPECT_TRUE(file_has(errpath, "deny:1: host bits set"));
	EXPECT_NE(0, client_connect(z, self->port, self->spub));
	EXPECT_EQ(0, req(self->a, T_KEEPALIVE, NULL, NULL, NULL, false));
	close(u5);
	client_free(x);
	client_free(y);
	client_free(z);
}

/*
 * --expire-after: a client that has not logged in for that long is
 * forgotten, its network passes on, its peers hear it go, and its
 * address goes to the next new client; one online all along stays.
 */
TEST_F_TIMEOUT(mediator, expiry, 30)
{
	const char *args[] = { "--expire-after", "2s", NULL };
	struct login_info la, lb, lb2, ld;
	uint8_t online, state;
	struct event e;
	bool owner;
	struct client *d = client_new();

	restart_args(_metadata, self, args);
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &la));
	ASSERT_EQ(0, login(self->b, "bob", &lb));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	client_close(self->a);
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->a->pub,
				TIMEOUT_MS, &e));
	EXPECT_EQ(2, e.reason);
	/* Gone for 2 s, at a tick: then bob hears it for good. */
	ASSERT_EQ(0, wait_event(self->b, T_PEER_DOWN, self->a->pub, 6000, &e));
	EXPECT_EQ(3, e.reason);
	ASSERT_EQ(0, req(self->b, T_NETWORKS, NULL, NULL, NULL, false));
	ASSERT_EQ(0, member_of(self->b, "lan", "bob", &online, &state,
			       &owner));
	EXPECT_TRUE(owner);
	EXPECT_EQ(-1, member_of(self->b, "lan", "alice", &online, &state,
				&owner));
	/* Her address is the next new client's. */
	ASSERT_EQ(0, client_connect(d, self->port, self->spub));
	ASSERT_EQ(0, login(d, "dave", &ld));
	EXPECT_EQ(0, memcmp(la.ipv4, ld.ipv4, 5));
	/* She is a stranger now: a first login needs a nickname. */
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	EXPECT_EQ(-5, login(self->a, NULL, &la));
	/* bob, online all along, is who he was. */
	ASSERT_EQ(0, login(self->b, NULL, &lb2));
	EXPECT_EQ(0, memcmp(&lb, &lb2, sizeof(lb)));
	client_free(d);
}

/* An ENDPOINT value from text and port: its length, or 0. */
static int ep_value(uint8_t out[19], const char *addr, int port)
{
	int alen;

	if (inet_pton(AF_INET, addr, out + 1) == 1) {
		out[0] = 4;
		alen = 4;
	} else if (inet_pton(AF_INET6, addr, out + 1) == 1) {
		out[0] = 6;
		alen = 16;
	} else {
		return 0;
	}
	out[1 + alen] = (uint8_t)(port >> 8);
	out[2 + alen] = (uint8_t)port;
	return 3 + alen;
}

/* Whether a PEER_UP carries the ENDPOINT of addr and port. */
static bool carries(const struct event *e, const char *addr, int port)
{
	uint8_t v[19];
	int len = ep_value(v, addr, port), i;

	for (i = 0; i < e->n_endpoints && i < 16; i++)
		if (e->eps_len[i] == len && !memcmp(e->eps[i], v, (size_t)len))
			return true;
	return false;
}

/*
 * LAN candidates that would make every peer send handshakes nowhere
 * useful (loopback, multicast, broadcast, unspecified, IPv6 link-local,
 * the overlay itself) are dropped; IPv4 link-local ones go only to peers
 * behind the same address; at most 8 are kept.
 */
TEST_F(mediator, lan_candidates_checked)
{
	static const char *const given[] = {
		"127.0.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
		"240.1.2.3", "::1", "::", "ff02::1", "fe80::1",
		"::ffff:10.0.0.1", "100.64.0.9", "ULA",
		"169.254.1.1", "192.168.1.10", "2001:db8::5", "198.51.100.9",
		"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
	};
	enum { N = sizeof(given) / sizeof(given[0]), BAD = 12 };
	static uint8_t lan[N][19];
	static int lan_len[N];
	char ula[INET6_ADDRSTRLEN];
	struct login_info la, l;
	struct event e;
	int i;

	self->c->src = "127.0.0.3";
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &la));
	ASSERT_EQ(0, login(self->c, "carol", &l));
	/* An address in the server's own /48 (alice's, another host). */
	la.ipv6[15] ^= 1;
	inet_ntop(AF_INET6, la.ipv6, ula, sizeof(ula));
	for (i = 0; i < N; i++) {
		lan_len[i] = ep_value(lan[i], strcmp(given[i], "ULA") ?
				      given[i] : ula, 5000 + i);
		ASSERT_LT(0, lan_len[i]) TH_LOG("%s", given[i]);
	}
	self->b->lan = lan;
	self->b->lan_len = lan_len;
	self->b->n_lan = N;
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));

	/* alice is behind bob's address: the link-local one too. */
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	for (i = 0; i < BAD; i++)
		EXPECT_FALSE(carries(&e, strcmp(given[i], "ULA") ?
				     given[i] : ula, 5000 + i))
			TH_LOG("%s", given[i]);
	EXPECT_TRUE(carries(&e, "169.254.1.1", 5012));
	EXPECT_TRUE(carries(&e, "192.168.1.10", 5013));
	EXPECT_TRUE(carries(&e, "2001:db8::5", 5014));
	EXPECT_TRUE(carries(&e, "198.51.100.9", 5015));
	EXPECT_TRUE(carries(&e, "10.0.0.4", 5019));
	/* The first is where its BINDING came from; then 8 at most. */
	EXPECT_FALSE(carries(&e, "10.0.0.5", 5020));
	EXPECT_EQ(9, e.n_endpoints);
	/* carol is not. */
	ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	EXPECT_FALSE(carries(&e, "169.254.1.1", 5012));
	EXPECT_TRUE(carries(&e, "192.168.1.10", 5013));
	EXPECT_EQ(8, e.n_endpoints);
}

/* PEER_UPs about b at a: how many arrive within ms (others kept). */
static int count_ups(struct client *a, const uint8_t *key, int ms,
		     struct event *last)
{
	int n = 0;

	while (!wait_event(a, T_PEER_UP, key, ms, last)) {
		n++;
		ms = 50;
	}
	return n;
}

/*
 * A client that logs in again and again with new candidates is not
 * announced again and again: its peers hear of it in a burst of 4, then
 * once every 5 s, the newest of what it said.
 */
/* NAT (request 15): what a client says of its NAT, passed on to peers. */
static int32_t req_nat(struct client *c, const uint8_t *nat, size_t len)
{
	struct shoal_tlv_writer w;

	req_start(c, &w, T_NAT);
	if (nat)
		shoal_tlv_put(&w, A_NAT, nat, len);
	return req_finish(c, &w);
}

TEST_F(mediator, nat_passed_on)
{
	static const uint8_t cone[3] = { 1, 3, 0 }, sym[3] = { 3, 3, 0 };
	struct login_info l;
	struct event e;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	/* Refused: none, or not 3 bytes. */
	EXPECT_EQ(-3, req_nat(self->b, NULL, 0));
	EXPECT_EQ(-3, req_nat(self->b, cone, 2));
	ASSERT_EQ(0, req_nat(self->b, cone, 3));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	/* PEER carries it; alice said none, so hers carries none. */
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(3, e.nat_len);
	EXPECT_EQ(0, memcmp(e.nat, cone, 3));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				&e));
	EXPECT_EQ(0, e.nat_len);
	/* A change goes to the peers as PEER_NAT; the same again does not. */
	ASSERT_EQ(0, req_nat(self->b, sym, 3));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_NAT, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(3, e.nat_len);
	EXPECT_EQ(0, memcmp(e.nat, sym, 3));
	ASSERT_EQ(0, req_nat(self->b, sym, 3));
	EXPECT_TRUE(quiet(self->a, 300));
	EXPECT_TRUE(quiet(self->b, 100));
}

TEST_F_TIMEOUT(mediator, announce_rate_limited, 40)
{
	static uint8_t lan[10][1][19];
	static int lan_len[1];
	struct login_info l;
	struct event e;
	double t0;
	int i, ups = 0, downs = 0;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	/* One announcement, the first of four. */
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));

	t0 = now_s();
	for (i = 0; i < 10; i++) {
		lan_len[0] = ep_value(lan[i][0], "192.168.7.7", 6000 + i);
		self->b->lan = lan[i];
		self->b->lan_len = lan_len;
		self->b->n_lan = 1;
		ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
		ASSERT_EQ(0, login(self->b, NULL, &l));
	}
	/* What alice heard meanwhile, and in the second after. */
	ups = count_ups(self->a, self->b->pub, 1000, &e);
	while (!wait_event(self->a, T_PEER_DOWN, self->b->pub, 10, NULL))
		downs++;
	TH_LOG("10 logins in %.2f s: alice heard %d PEER_UP, %d PEER_DOWN",
	       now_s() - t0, ups, downs);
	EXPECT_GE(3, ups);
	EXPECT_GE(4, downs);
	/* The last word comes at the rate's pace: the newest candidate. */
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, 7000, &e));
	EXPECT_TRUE(carries(&e, "192.168.7.7", 6009));
}

/* ----- NAT discovery ----- */

static int32_t req_relay(struct client *c, const uint8_t *key);
static bool relays(int from, int to, int relay_port, size_t len);

static const uint8_t lo4[4] = { 127, 0, 0, 1 };

/* An ENDPOINT value: 4, 127.0.0.1, port. */
static int ep_loopback(uint8_t ep[7], int port)
{
	ep[0] = 4;
	memcpy(ep + 1, lo4, 4);
	ep[5] = (uint8_t)(port >> 8);
	ep[6] = (uint8_t)port;
	return 7;
}

TEST_F(mediator, binding_ports)
{
	static const uint8_t zero12[12];
	struct login_info l;
	struct breply r;
	int u = udp_socket(), port;

	ASSERT_LE(0, u);
	port = udp_port_of(u);
	/* Anonymous (zero token): what it saw, from where it was sent. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, 0, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(4, r.family);
	EXPECT_EQ(0, r.flags);
	EXPECT_EQ(port, r.port);
	EXPECT_EQ(0, memcmp(r.addr, lo4, 4));
	EXPECT_EQ(0, memcmp(r.addr + 4, zero12, 12));
	EXPECT_EQ(self->port, r.from_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), r.from_addr.s_addr);

	/* The alternate port answers too, from itself. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port + 1, 0, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	EXPECT_EQ(port, r.port);
	EXPECT_EQ(self->port + 1, r.from_port);

	/* 0x01: from the other port. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, 0x01, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x01, r.flags);
	EXPECT_EQ(port, r.port);
	EXPECT_EQ(self->port + 1, r.from_port);
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port + 1, 0x01, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x01, r.flags);
	EXPECT_EQ(self->port, r.from_port);

	/* 0x02 without --probe: from where it came, flagged 0x40. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, 0x02, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x42, r.flags);
	EXPECT_EQ(port, r.port);
	EXPECT_EQ(self->port, r.from_port);

	/* And the LOGIN reply has no PROBE, but a token. */
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login_opt(self->a, "alice", &l, false));
	EXPECT_TRUE(self->a->has_token);
	EXPECT_EQ(0, self->a->probe_len);
	close(u);
}

TEST_F(mediator, binding_probe)
{
	char probe[64];
	const char *args[] = { "--probe", probe, NULL };
	uint8_t want[7];
	struct login_info l;
	struct breply r;
	int u = udp_socket(), qport = free_udp_port("127.0.0.2");

	ASSERT_LE(0, u);
	ASSERT_LT(0, qport);
	snprintf(probe, sizeof(probe), "127.0.0.2:%d", qport);
	restart_args(_metadata, self, args);

	/* 0x02: from the probe address. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, 0x02, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x02, r.flags);
	EXPECT_EQ(udp_port_of(u), r.port);
	EXPECT_EQ(qport, r.from_port);
	EXPECT_EQ(htonl(0x7f000002), r.from_addr.s_addr);
	/* The probe address answers for itself... */
	ASSERT_EQ(0, binding(u, "127.0.0.2", qport, 0, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	EXPECT_EQ(qport, r.from_port);
	EXPECT_EQ(htonl(0x7f000002), r.from_addr.s_addr);
	/* ...has no other port... */
	ASSERT_EQ(0, binding(u, "127.0.0.2", qport, 0x01, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x41, r.flags);
	EXPECT_EQ(qport, r.from_port);
	/* ...and its other address is the listen address, port P. */
	ASSERT_EQ(0, binding(u, "127.0.0.2", qport, 0x02, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0x02, r.flags);
	EXPECT_EQ(self->port, r.from_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), r.from_addr.s_addr);

	/* The LOGIN reply names it. */
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	want[0] = 4;
	want[1] = 127;
	want[2] = 0;
	want[3] = 0;
	want[4] = 2;
	want[5] = (uint8_t)(qport >> 8);
	want[6] = (uint8_t)qport;
	ASSERT_EQ(7, self->a->probe_len);
	EXPECT_EQ(0, memcmp(want, self->a->probe, 7));
	close(u);
}

TEST_F(mediator, binding_token)
{
	struct login_info l;
	struct breply r;
	struct event e;
	struct token bad, stolen;
	uint8_t ep[7];
	int u2 = udp_socket();

	ASSERT_LE(0, u2);
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	/* login() has checked b's BINDING came back with 0x80. */
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	/* The first candidate alice hears of is where that came from. */
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(7, e.ep_len);
	EXPECT_EQ(0, memcmp(e.ep, ep, ep_loopback(ep,
						   udp_port_of(self->b->udp))));
	EXPECT_EQ(2, e.n_endpoints);

	/* A token nobody has is anonymous; so is one at another port. */
	memset(&bad, 0, sizeof(bad));
	randombytes_buf(bad.id, sizeof(bad.id));
	randombytes_buf(bad.key, sizeof(bad.key));
	ASSERT_EQ(0, binding(u2, "127.0.0.1", self->port, 0, &bad, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	/*
	 * bob's token is on the wire in the clear: without his key nobody
	 * makes one of his BINDINGs, nor has one taken twice.  A token under
	 * another key (carol's, with the server's), his own BINDING sent
	 * again from elsewhere, and then from where it came: anonymous.
	 */
	stolen = self->b->tok;
	ASSERT_EQ(0, token_key(&stolen, self->c->priv, self->spub));
	ASSERT_EQ(0, binding(u2, "127.0.0.1", self->port, 0, &stolen, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	ASSERT_EQ(0, udp_send_to(u2, "127.0.0.1", self->port,
				 self->b->tok.last, 64));
	ASSERT_EQ(0, binding_reply(u2, self->b->tok.last + 12, &r,
				   now_s() + TIMEOUT_MS / 1000.0));
	EXPECT_EQ(0, r.flags);
	ASSERT_EQ(0, udp_send_to(self->b->udp, "127.0.0.1", self->port,
				 self->b->tok.last, 64));
	ASSERT_EQ(0, binding_reply(self->b->udp, self->b->tok.last + 12, &r,
				   now_s() + TIMEOUT_MS / 1000.0));
	EXPECT_EQ(0, r.flags);
	EXPECT_TRUE(quiet(self->a, 200));
	ASSERT_EQ(0, binding(u2, "127.0.0.1", self->port + 1, 0,
			     &self->b->tok, &r, TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);

	/* bob's mapping changes: the newest BINDING wins. */
	ASSERT_EQ(0, binding(u2, "127.0.0.1", self->port, 0, &self->b->tok,
			     &r, TIMEOUT_MS));
	EXPECT_EQ(0x80, r.flags);
	ASSERT_EQ(udp_port_of(u2), r.port);
	EXPECT_TRUE(quiet(self->a, 200));
	ASSERT_EQ(0, login(self->c, "carol", &l));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->c, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(7, e.ep_len);
	EXPECT_EQ(0, memcmp(e.ep, ep, ep_loopback(ep, udp_port_of(u2))));

	/* Logged out, the token means nothing. */
	ASSERT_EQ(0, req(self->b, T_LOGOUT, NULL, NULL, NULL, false));
	ASSERT_EQ(0, binding(self->b->udp, "127.0.0.1", self->port, 0,
			     &self->b->tok, &r, TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	close(u2);
}

/* A client is announced at its BINDING, or 3 s after LOGIN without. */
TEST_F_TIMEOUT(mediator, announce_waits_for_binding, 30)
{
	struct login_info l;
	struct breply r;
	struct event e;
	uint8_t ep[7];
	double t0, t;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	client_close(self->b);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));

	/* Logged in without a BINDING: nobody hears yet, either way. */
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login_opt(self->b, NULL, &l, false));
	EXPECT_TRUE(quiet(self->a, 1000));
	EXPECT_TRUE(quiet(self->b, 10));
	/* The BINDING completes it: both hear at once. */
	t0 = now_s();
	ASSERT_EQ(0, binding(self->b->udp, "127.0.0.1", self->port, 0,
			     &self->b->tok, &r, TIMEOUT_MS));
	EXPECT_EQ(0x80, r.flags);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
	EXPECT_GT(0.5, now_s() - t0);
	EXPECT_EQ(0, memcmp(e.ep, ep, ep_loopback(ep,
						   udp_port_of(self->b->udp))));
	client_close(self->b);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));

	/* None comes: 3 s later, with the TCP source and tunnel port. */
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	t0 = now_s();
	ASSERT_EQ(0, login_opt(self->b, NULL, &l, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, 6000, &e));
	t = now_s() - t0;
	TH_LOG("announced %.2f s after LOGIN without a BINDING", t);
	/* 3 s, at the server's next one-second tick: 3 to 4 s. */
	EXPECT_LE(2.9, t);
	EXPECT_GT(5.0, t);
	ASSERT_EQ(7, e.ep_len);
	EXPECT_EQ(0, memcmp(e.ep, ep, ep_loopback(ep, 51820)));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
	/* A BINDING after that moves the endpoint, quietly. */
	ASSERT_EQ(0, binding(self->b->udp, "127.0.0.1", self->port, 0,
			     &self->b->tok, &r, TIMEOUT_MS));
	EXPECT_EQ(0x80, r.flags);
	EXPECT_TRUE(quiet(self->a, 200));
}

/*
 * On [::] everything is dual-stack: IPv4 clients are seen (and relayed
 * to) as IPv4, and an answer from the other port leaves from the address
 * the request reached.
 */
TEST_F(mediator, dual_stack)
{
	char listen_on[32];
	const char *args[] = { "--listen", listen_on, NULL };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 }, from6;
	uint8_t req6[64], buf[64], txid[12];
	struct login_info l;
	struct breply r;
	struct event e, e2;
	socklen_t len = sizeof(a6);
	int u = udp_socket(), u6, i, rp;
	ssize_t n;

	ASSERT_LE(0, u);
	snprintf(listen_on, sizeof(listen_on), "[::]:%d", self->port);
	restart_args(_metadata, self, args);

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, i, NULL, &r,
				     TIMEOUT_MS));
		EXPECT_EQ(4, r.family);
		EXPECT_EQ(i, r.flags);
		EXPECT_EQ(0, memcmp(r.addr, lo4, 4));
		EXPECT_EQ(udp_port_of(u), r.port);
		EXPECT_EQ(self->port + i, r.from_port);
		EXPECT_EQ(htonl(INADDR_LOOPBACK), r.from_addr.s_addr);
	}

	/* IPv6: family 6, the address in full. */
	u6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, u6);
	a6.sin6_addr = in6addr_loopback;
	ASSERT_EQ(0, bind(u6, (struct sockaddr *)&a6, sizeof(a6)));
	ASSERT_EQ(0, getsockname(u6, (struct sockaddr *)&a6, &len));
	randombytes_buf(txid, sizeof(txid));
	build_binding(req6, 0x01, txid, NULL);
	a6.sin6_port = htons((uint16_t)self->port);
	ASSERT_EQ(64, sendto(u6, req6, 64, 0, (struct sockaddr *)&a6,
			     sizeof(a6)));
	{
		struct pollfd pfd = { .fd = u6, .events = POLLIN };

		ASSERT_EQ(1, poll(&pfd, 1, TIMEOUT_MS));
	}
	len = sizeof(from6);
	n = recvfrom(u6, buf, sizeof(buf), 0, (struct sockaddr *)&from6,
		     &len);
	ASSERT_EQ(40, n);
	EXPECT_EQ(17, buf[4]);
	EXPECT_EQ(6, buf[8]);
	EXPECT_EQ(0x01, buf[9]);
	EXPECT_EQ(0, memcmp(buf + 12, &in6addr_loopback, 16));
	EXPECT_EQ(0, memcmp(buf + 28, txid, 12));
	EXPECT_EQ(self->port + 1, ntohs(from6.sin6_port));
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&from6.sin6_addr));
	close(u6);

	/* An IPv4 client's relay is an IPv4 address. */
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				&e));
	/* Its public endpoint too. */
	ASSERT_EQ(7, ep_loopback(buf, udp_port_of(self->b->udp)));
	EXPECT_EQ(0, memcmp(e.ep, buf, 7));
	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->b->pub, TIMEOUT_MS,
				&e));
	ASSERT_EQ(7, e.ep_len);
	EXPECT_EQ(4, e.ep[0]);
	EXPECT_EQ(0, memcmp(e.ep + 1, lo4, 4));
	ASSERT_EQ(0, wait_event(self->b, T_RELAY_EV, self->a->pub, TIMEOUT_MS,
				&e2));
	/* And it relays, from the address it was sent to. */
	rp = e.ep[5] << 8 | e.ep[6];
	ASSERT_EQ(0, relay_bind(self->a->udp, rp, e.relay_id, 1, e.relay_key,
				TIMEOUT_MS));
	ASSERT_EQ(0, relay_bind(self->b->udp, rp, e2.relay_id, 1,
				e2.relay_key, TIMEOUT_MS));
	EXPECT_TRUE(relays(self->a->udp, self->b->udp, rp, 200));
	EXPECT_TRUE(relays(self->b->udp, self->a->udp, rp, 200));
	close(u);
}

/* ----- the relay ----- */

static int32_t req_relay(struct client *c, const uint8_t *key)
{
	struct shoal_tlv_writer w;

	req_start(c, &w, T_RELAY);
	if (key)
		shoal_tlv_put(&w, A_PUBLIC_KEY, key, 32);
	return req_finish(c, &w);
}

static int ep_port(const struct event *e)
{
	return e->ep_len == 7 ? e->ep[5] << 8 | e->ep[6] : -1;
}

/* Sends len random bytes from one socket; true if to got them unchanged. */
static bool relays(int from, int to, int relay_port, size_t len)
{
	uint8_t msg[1400], buf[2048];
	struct sockaddr_in src;
	ssize_t n;

	randombytes_buf(msg, len);
	if (udp_send_to(from, "127.0.0.1", relay_port, msg, len) < 0)
		return false;
	n = udp_wait(to, buf, sizeof(buf), &src, 2000);
	return n == (ssize_t)len && !memcmp(buf, msg, len) &&
	       ntohs(src.sin_port) == relay_port;
}

TEST_F(mediator, relay)
{
	struct event ea, eb, ea2, eb2;
	struct login_info l;
	uint8_t stranger[32], pkt[52], key[32];
	int x = udp_socket(), a2 = udp_socket(), ua, ub, rp;

	ASSERT_LE(0, x);
	ASSERT_LE(0, a2);
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));

	/* Only a peer online in a shared network. */
	randombytes_buf(stranger, sizeof(stranger));
	EXPECT_EQ(-103, req_relay(self->a, self->c->pub));
	EXPECT_EQ(-103, req_relay(self->a, stranger));
	EXPECT_EQ(-103, req_relay(self->a, self->a->pub));
	EXPECT_EQ(-3, req_relay(self->a, NULL));
	EXPECT_EQ(-103, req_relay(self->c, self->a->pub));

	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->b->pub, TIMEOUT_MS,
				&ea));
	ASSERT_EQ(0, wait_event(self->b, T_RELAY_EV, self->a->pub, TIMEOUT_MS,
				&eb));
	rp = ep_port(&ea);
	ASSERT_LT(0, rp);
	/* The relay is where each one's TCP connection went. */
	EXPECT_EQ(0, memcmp(ea.ep, eb.ep, 7));
	EXPECT_EQ(0, memcmp(ea.ep + 1, lo4, 4));
	EXPECT_NE(ea.relay_id, eb.relay_id);
	EXPECT_NE(0, memcmp(ea.relay_key, eb.relay_key, 32));
	/* bob asks too: the same allocation, told again. */
	ASSERT_EQ(0, req_relay(self->b, self->a->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->b->pub, TIMEOUT_MS,
				&ea2));
	ASSERT_EQ(0, wait_event(self->b, T_RELAY_EV, self->a->pub, TIMEOUT_MS,
				&eb2));
	EXPECT_EQ(rp, ep_port(&eb2));
	EXPECT_EQ(ea.relay_id, ea2.relay_id);
	EXPECT_EQ(eb.relay_id, eb2.relay_id);
	EXPECT_EQ(0, memcmp(ea.relay_key, ea2.relay_key, 32));

	ua = self->a->udp;
	ub = self->b->udp;
	/* Before binding, nothing passes. */
	ASSERT_EQ(0, udp_send_to(ua, "127.0.0.1", rp, "x", 1));
	EXPECT_TRUE(udp_quiet(ub, 200));
	/* A wrong side's key, a wrong id: no answer. */
	EXPECT_EQ(-1, relay_bind(ua, rp, ea.relay_id, 10, eb.relay_key, 300));
	EXPECT_EQ(-1, relay_bind(ua, rp, ea.relay_id ^ 1, 10, ea.relay_key,
				 300));
	ASSERT_EQ(0, relay_bind(ua, rp, ea.relay_id, 1000, ea.relay_key,
				TIMEOUT_MS));
	ASSERT_EQ(0, relay_bind(ub, rp, eb.relay_id, 5, eb.relay_key,
				TIMEOUT_MS));
	/* Both ways, unchanged. */
	EXPECT_TRUE(relays(ua, ub, rp, 100));
	EXPECT_TRUE(relays(ub, ua, rp, 1400));
	EXPECT_TRUE(relays(ua, ub, rp, 1));

	/* A third socket cannot inject. */
	ASSERT_EQ(0, udp_send_to(x, "127.0.0.1", rp, "inject", 6));
	EXPECT_TRUE(udp_quiet(ua, 200));
	EXPECT_TRUE(udp_quiet(ub, 10));
	/* Nor take alice's place with her RELAY_BIND replayed... */
	build_relay(pkt, 18, ea.relay_id, 1000, NULL, ea.relay_key);
	ASSERT_EQ(0, udp_send_to(x, "127.0.0.1", rp, pkt, sizeof(pkt)));
	EXPECT_TRUE(udp_quiet(x, 200));
	EXPECT_TRUE(relays(ub, ua, rp, 50));
	/* ...or an older one... */
	EXPECT_EQ(-1, relay_bind(x, rp, ea.relay_id, 999, ea.relay_key, 200));
	/* ...or a new counter under a MAC that is wrong. */
	build_relay(pkt, 18, ea.relay_id, 2000, NULL, ea.relay_key);
	pkt[51] ^= 1;
	ASSERT_EQ(0, udp_send_to(x, "127.0.0.1", rp, pkt, sizeof(pkt)));
	EXPECT_TRUE(udp_quiet(x, 200));
	memcpy(key, ea.relay_key, 32);
	key[0] ^= 1;
	EXPECT_EQ(-1, relay_bind(x, rp, ea.relay_id, 2000, key, 200));
	EXPECT_TRUE(relays(ub, ua, rp, 50));
	EXPECT_TRUE(udp_quiet(x, 10));

	/* alice's mapping moves: a fresh RELAY_BIND moves the relay. */
	ASSERT_EQ(0, relay_bind(a2, rp, ea.relay_id, 3000, ea.relay_key,
				TIMEOUT_MS));
	EXPECT_TRUE(relays(ub, a2, rp, 60));
	EXPECT_TRUE(udp_quiet(ua, 10));
	EXPECT_TRUE(relays(a2, ub, rp, 60));
	/* The old endpoint is nobody now. */
	ASSERT_EQ(0, udp_send_to(ua, "127.0.0.1", rp, "old", 3));
	EXPECT_TRUE(udp_quiet(ub, 200));

	/* Kicked: no shared network, no relay. */
	ASSERT_EQ(0, req_member(self->a, T_KICK, "lan", self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));
	ASSERT_EQ(0, udp_send_to(ub, "127.0.0.1", rp, "after", 5));
	EXPECT_TRUE(udp_quiet(a2, 300));
	EXPECT_EQ(-1, relay_bind(ub, rp, eb.relay_id, 6, eb.relay_key, 200));
	EXPECT_EQ(-103, req_relay(self->a, self->b->pub));
	close(x);
	close(a2);
}

/*
 * A UDP datagram to 127.0.0.1:dport that says it comes from src:sport,
 * through a raw socket: what an attacker with a relay key sends to point
 * the relay at someone else.  0 or -1.
 */
static int udp_spoof(const char *src, int sport, int dport,
		     const uint8_t *payload, size_t len)
{
	uint8_t pkt[20 + 8 + 64];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr s, d;
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	ssize_t n;

	if (fd < 0 || len > 64)
		return -1;
	inet_pton(AF_INET, src, &s);
	d.s_addr = htonl(INADDR_LOOPBACK);
	memset(pkt, 0, sizeof(pkt));
	/* IPv4, no options; the kernel fills in the length and checksum. */
	pkt[0] = 0x45;
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &s, 4);
	memcpy(pkt + 16, &d, 4);
	/* UDP, checksum 0: none, which IPv4 allows. */
	pkt[20] = (uint8_t)(sport >> 8);
	pkt[21] = (uint8_t)sport;
	pkt[22] = (uint8_t)(dport >> 8);
	pkt[23] = (uint8_t)dport;
	pkt[24] = (uint8_t)((8 + len) >> 8);
	pkt[25] = (uint8_t)(8 + len);
	memcpy(pkt + 28, payload, len);
	to.sin_addr = d;
	n = sendto(fd, pkt, 28 + len, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	return n == (ssize_t)(28 + len) ? 0 : -1;
}

/*
 * A RELAY_BIND whose source address is forged binds nothing: the relay
 * answers it with a RELAY_CHALLENGE, which goes to the forged address,
 * and forwards nothing there.  (Before, one such RELAY_BIND pointed the
 * relay, and the peer's traffic, at any host.)
 */
TEST_F(mediator, relay_bind_needs_echo)
{
	struct sockaddr_in va = { .sin_family = AF_INET }, from;
	struct event ea, eb;
	struct login_info l;
	uint8_t pkt[52], buf[2048];
	socklen_t len = sizeof(va);
	int victim, vport, rp;
	ssize_t n;

	if (geteuid())
		SKIP(return, "needs root, for a raw socket");
	victim = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, victim);
	inet_pton(AF_INET, "127.0.0.9", &va.sin_addr);
	ASSERT_EQ(0, bind(victim, (struct sockaddr *)&va, sizeof(va)));
	ASSERT_EQ(0, getsockname(victim, (struct sockaddr *)&va, &len));
	vport = ntohs(va.sin_port);
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->b->pub, TIMEOUT_MS,
				&ea));
	ASSERT_EQ(0, wait_event(self->b, T_RELAY_EV, self->a->pub, TIMEOUT_MS,
				&eb));
	rp = ep_port(&ea);

	/* alice's side, bound to the victim by a forged source. */
	build_relay(pkt, 18, ea.relay_id, 100, NULL, ea.relay_key);
	ASSERT_EQ(0, udp_spoof("127.0.0.9", vport, rp, pkt, sizeof(pkt)));
	/* The victim gets a challenge, no bigger, and never a RELAY_BOUND. */
	n = udp_wait(victim, buf, sizeof(buf), &from, TIMEOUT_MS);
	ASSERT_EQ(52, n);
	EXPECT_EQ(20, buf[4]);
	EXPECT_EQ(rp, ntohs(from.sin_port));
	/* Sent again: nothing (once per counter, and no more often). */
	ASSERT_EQ(0, udp_spoof("127.0.0.9", vport, rp, pkt, sizeof(pkt)));
	EXPECT_TRUE(udp_quiet(victim, 300));

	/* bob binds as a client does; his traffic reaches nobody. */
	ASSERT_EQ(0, relay_bind(self->b->udp, rp, eb.relay_id, 5, eb.relay_key,
				TIMEOUT_MS));
	ASSERT_EQ(0, udp_send_to(self->b->udp, "127.0.0.1", rp, "flood", 5));
	EXPECT_TRUE(udp_quiet(victim, 300));
	EXPECT_TRUE(udp_quiet(self->a->udp, 10));
	/* alice, from where she receives, binds, and the pair works. */
	ASSERT_EQ(0, relay_bind(self->a->udp, rp, ea.relay_id, 200,
				ea.relay_key, TIMEOUT_MS));
	EXPECT_TRUE(relays(self->b->udp, self->a->udp, rp, 100));
	EXPECT_TRUE(relays(self->a->udp, self->b->udp, rp, 100));
	EXPECT_TRUE(udp_quiet(victim, 100));
	close(victim);
}

/* --relays-per-client: the relays a client asked for, and no more. */
TEST_F(mediator, relay_quota)
{
	const char *args[] = { "--relays-per-client", "1", NULL };
	struct login_info l;

	restart_args(_metadata, self, args);
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	EXPECT_EQ(-105, req_relay(self->a, self->c->pub));
	/* The pair's allocation is the pair's: asking again is no more. */
	EXPECT_EQ(0, req_relay(self->a, self->b->pub));
	EXPECT_EQ(0, req_relay(self->b, self->a->pub));
	/* carol's own count, though alice is at hers. */
	EXPECT_EQ(0, req_relay(self->c, self->a->pub));
	EXPECT_EQ(-105, req_relay(self->c, self->b->pub));
}

/*
 * --relay-rate: a pair's bytes, both ways, at most the rate a second
 * with two seconds' worth saved; the rest dropped.
 */
TEST_F_TIMEOUT(mediator, relay_budget, 30)
{
	const char *args[] = { "--relay-rate", "16", NULL };
	struct event ea, eb;
	struct login_info l;
	uint8_t msg[1000], buf[2048];
	struct sockaddr_in from;
	int rp, i, got = 0;
	double t0;

	restart_args(_metadata, self, args);
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->b->pub, TIMEOUT_MS,
				&ea));
	ASSERT_EQ(0, wait_event(self->b, T_RELAY_EV, self->a->pub, TIMEOUT_MS,
				&eb));
	rp = ep_port(&ea);
	ASSERT_EQ(0, relay_bind(self->a->udp, rp, ea.relay_id, 1, ea.relay_key,
				TIMEOUT_MS));
	ASSERT_EQ(0, relay_bind(self->b->udp, rp, eb.relay_id, 1, eb.relay_key,
				TIMEOUT_MS));
	/* 200 KB at once; 32 KiB pass, and the rate's worth meanwhile. */
	randombytes_buf(msg, sizeof(msg));
	t0 = now_s();
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, udp_send_to(self->a->udp, "127.0.0.1", rp, msg,
					 sizeof(msg)));
		usleep(1000);
	}
	while (udp_wait(self->b->udp, buf, sizeof(buf), &from, 300) ==
	       (ssize_t)sizeof(msg))
		got++;
	TH_LOG("%d of 200 datagrams of 1000 bytes passed in %.2f s", got,
	       now_s() - t0);
	EXPECT_LE(25, got);
	EXPECT_GE(32 + (int)((now_s() - t0) * 16.4) + 1, got);
	/* Two seconds later the budget is back. */
	sleep_ms(2000);
	EXPECT_TRUE(relays(self->b->udp, self->a->udp, rp, 1000));
	EXPECT_TRUE(relays(self->a->udp, self->b->udp, rp, 1000));
}

/* One relay port: a second pair waits for the first to go offline. */
TEST_F(mediator, relay_ports_run_out)
{
	char range[32];
	const char *args[] = { "--relay-ports", range, NULL };
	struct login_info l;
	struct event e;
	int rp = free_udp_port("127.0.0.1");

	ASSERT_LT(0, rp);
	snprintf(range, sizeof(range), "%d-%d", rp, rp);
	restart_args(_metadata, self, args);
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req_relay(self->a, self->b->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV,
				self->b->pub, TIMEOUT_MS, &e));
	EXPECT_EQ(rp, ep_port(&e));
	EXPECT_EQ(-102, req_relay(self->a, self->c->pub));
	/* bob goes offline: his allocation goes with him. */
	client_close(self->b);
	ASSERT_EQ(0, wait_event(self->a, T_PEER_DOWN, self->b->pub,
				TIMEOUT_MS, NULL));
	ASSERT_EQ(0, req_relay(self->c, self->a->pub));
	ASSERT_EQ(0, wait_event(self->a, T_RELAY_EV, self->c->pub, TIMEOUT_MS,
				&e));
	EXPECT_EQ(rp, ep_port(&e));
}

/* Garbage on every UDP port is dropped, and the server goes on. */
TEST_F(mediator, udp_garbage)
{
	static uint8_t big[65507];
	uint8_t buf[72], txid[12] = { 1 };
	struct login_info l;
	struct breply r;
	int u = udp_socket(), i, k, port;

	ASSERT_LE(0, u);
	randombytes_buf(big, sizeof(big));
	for (k = 0; k < 2; k++) {
		port = self->port + k;
		for (i = 0; i < 300; i++)
			udp_send_to(u, "127.0.0.1", port, big,
				    1 + randombytes_uniform(100));
		udp_send_to(u, "127.0.0.1", port, big, 0);
		udp_send_to(u, "127.0.0.1", port, big, sizeof(big));
		memset(buf, 0, sizeof(buf));
		udp_send_to(u, "127.0.0.1", port, buf, 4);
		udp_send_to(u, "127.0.0.1", port, buf, 3);
		/* A BINDING one byte long or short. */
		build_binding(buf, 0, txid, NULL);
		udp_send_to(u, "127.0.0.1", port, buf, 65);
		udp_send_to(u, "127.0.0.1", port, buf, 63);
		/* Without its marker. */
		udp_send_to(u, "127.0.0.1", port, buf + 4, 60);
		/* Another version, reserved bits, an unknown flag, type. */
		build_binding(buf, 0, txid, NULL);
		buf[5] = CTL_VERSION + 1;
		udp_send_to(u, "127.0.0.1", port, buf, 64);
		build_binding(buf, 0, txid, NULL);
		buf[7] = 1;
		udp_send_to(u, "127.0.0.1", port, buf, 64);
		build_binding(buf, 0x04, txid, NULL);
		udp_send_to(u, "127.0.0.1", port, buf, 64);
		build_binding(buf, 0, txid, NULL);
		buf[10] = 1;
		udp_send_to(u, "127.0.0.1", port, buf, 64);
		build_binding(buf, 0, txid, NULL);
		buf[4] = 17;
		udp_send_to(u, "127.0.0.1", port, buf, 64);
		build_binding(buf, 0, txid, NULL);
		buf[4] = 18;
		udp_send_to(u, "127.0.0.1", port, buf, 64);
	}
	EXPECT_TRUE(udp_quiet(u, 300));
	/* Still answering, on UDP and TCP. */
	ASSERT_EQ(0, binding(u, "127.0.0.1", self->port, 0, NULL, &r,
			     TIMEOUT_MS));
	EXPECT_EQ(0, r.flags);
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	close(u);
}

/*
 * Five password checks per client per 10 s.  The three come from
 * addresses of their own, and wait out each network's 2 s window, so
 * that the budgets per source and per network stay out of it.
 */
TEST_F(mediator, password_attempts_limited)
{
	struct login_info l;
	double t0;
	int i;

	self->b->src = "127.0.0.2";
	self->c->src = "127.0.0.3";
	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));
	ASSERT_EQ(0, req(self->a, T_CREATE, "own", NULL, "secret", false));
	/* Past the network's own 2 s window (5 in it). */
	usleep(2100000);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(-14, req(self->b, T_JOIN, "lan", NULL, "wrong",
				   false));
	/* Over the limit: refused without hashing, right password or not. */
	t0 = now_s();
	EXPECT_EQ(-104, req(self->b, T_JOIN, "lan", NULL, "wrong", false));
	EXPECT_EQ(-104, req(self->b, T_JOIN, "lan", NULL, "secret", false));
	EXPECT_GT(0.05, now_s() - t0);
	/* Without a password nothing is hashed: the usual answer. */
	EXPECT_EQ(-13, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	/* Someone else still may, once the network's 2 s are over. */
	usleep(2100000);
	EXPECT_EQ(-104, req(self->b, T_JOIN, "lan", NULL, "secret", false));
	EXPECT_EQ(0, req(self->c, T_JOIN, "lan", NULL, "secret", false));
	/*
	 * Hashing a new password counts the same: the two CREATEs were two.
	 * (After a second, so that the server-wide 8 a second do not
	 * interfere.)
	 */
	usleep(1100000);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, req(self->a, T_SET_PASSWORD, "own", NULL, "new",
				 false));
	EXPECT_EQ(-104, req(self->a, T_SET_PASSWORD, "own", NULL, "newer",
			    false));
	EXPECT_EQ(-104, req(self->a, T_CREATE, "lan2", NULL, "pw", false));
	/* Removing one hashes nothing. */
	EXPECT_EQ(0, req(self->a, T_SET_PASSWORD, "own", NULL, NULL, false));
}

/* ----- Argon2id off the event loop ----- */

/* Sends a request without waiting for the reply: its request id, or 0. */
static uint32_t req_send(struct client *c, uint8_t type, const char *network,
			 const char *password)
{
	struct shoal_tlv_writer w;
	int len;

	req_start(c, &w, type);
	if (network)
		shoal_tlv_put_str(&w, A_NETWORK, network);
	if (password)
		shoal_tlv_put(&w, A_PASSWORD, password, strlen(password));
	len = shoal_tlv_finish(&w);
	if (len < 0 || shoal_channel_send_blocking(&c->ch, c->fd, w.buf,
						    (size_t)len,
						    TIMEOUT_MS) < 0)
		return 0;
	return c->next_id;
}

/* The next reply, whatever its id (*id): its RESULT, or INT32_MIN. */
static int32_t reply_next(struct client *c, uint32_t *id)
{
	struct shoal_tlv_attr a;
	uint32_t v;
	int ret;

	*id = 0;
	while ((ret = client_read(c, TIMEOUT_MS)) == 2)
		;
	if (ret != 1 || !shoal_tlv_find(&c->m, A_RESULT, &a) ||
	    !shoal_tlv_get_u32(&a, &v))
		return INT32_MIN;
	*id = c->m.request_id;
	return (int32_t)v;
}

struct flood_count {
	int wrong, limited, other;
};

/* Who floods what, from where: see flood(). */
struct flood_plan {
	const char *nick;
	const char *src;		/* its source address */
	const char *const *networks;	/* JOINed in turn, NULL-terminated */
	double secs;
};

/*
 * A child process: a client of its own that logs in as nick from src,
 * says it is ready on ready_fd, waits for a byte on go_fd, and then
 * sends JOINs to the networks in turn with a wrong password for secs,
 * whatever the answer: a thousand a second, hundreds of times what the
 * limits let through.  (Back to back, three of them would measure how
 * this host shares its CPUs, not the server.)  Writes its flood_count to
 * out_fd (other -1: it never got going).
 */
static void __attribute__((noreturn))
flood(int port, const uint8_t spub[32], const struct flood_plan *plan,
      int ready_fd, int go_fd, int out_fd)
{
	struct flood_count n = { 0 };
	struct login_info l;
	struct client *c = client_new();
	unsigned int k = 0;
	double end;
	int32_t rc;
	char b;

	c->src = plan->src;
	if (client_connect(c, port, spub) || login(c, plan->nick, &l))
		n.other = -1;
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &b, 1) != 1)
		_exit(1);
	/*
	 * On a host so busy that the worker hashes fewer wrong passwords a
	 * second than the limits let through, a flood of plan->secs would
	 * never meet a refusal: it goes on until one comes, 10 s at most.
	 */
	end = now_s() + plan->secs;
	while (n.other >= 0 &&
	       (now_s() < end || (!n.limited && now_s() < end + 10))) {
		if (!plan->networks[k])
			k = 0;
		rc = req(c, T_JOIN, plan->networks[k++], NULL, "wrong", false);
		if (rc == -14)
			n.wrong++;
		else if (rc == -104)
			n.limited++;
		else
			n.other++;
		sleep_ms(1);
	}
	client_free(c);
	_exit(write(out_fd, &n, sizeof(n)) == sizeof(n) ? 0 : 1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * While three clients send wrong passwords as fast as the limits allow
 * and beyond, a fourth one's KEEPALIVE and NETWORKS still come back at
 * once: Argon2id runs in the worker.  In the event loop, the 8 hashes a
 * second the limits let through took about half of each second (63 ms
 * each here), and a request that came meanwhile waited for them.
 *
 * The fourth client means to send every SAMPLE_MS, and each round trip
 * counts from when it meant to: a stall then weighs in the percentile as
 * every request it held back, not as one slow sample.  So the p99 of a
 * 2 s round is under 30 ms unless the loop stood still for 50 ms or so
 * in all.  A host with two CPUs and something else busy on it (a test
 * VM) does that to any process now and then, hashing or not (measured
 * with JOINs that hash nothing); so another round, with three new
 * clients, may make up for one.  Argon2id in the loop failed every
 * round, by far (p99 0.5 to 2 s).
 */
#define FLOOD_CLIENTS 3
#define MEASURE_S 2.0
#define SAMPLE_MS 2
#define MAX_SAMPLES 2000
#define ROUNDS 3

/*
 * One round: FLOOD_CLIENTS new clients flood, the fourth (c) measures.
 * The sorted latencies in rtt, their number, and the floods' counts in n.
 */
static int flood_round(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mediator) *self, int round, double *rtt,
		       struct flood_count *n)
{
	int ready[2], go[2], out[2], i, k = 0, status;
	pid_t pid[FLOOD_CLIENTS];
	struct flood_plan plan;
	struct pollfd pfd;
	double start, due, t;
	char nick[40], src[32], net[16], b;
	const char *nets[2] = { net, NULL };
	int32_t rc;

	/* Nothing hashed in the server's last second. */
	usleep(1100000);
	if (pipe(ready) || pipe(go) || pipe(out))
		return -1;
	/*
	 * Each from an address of its own, at a network of its own: the
	 * limits per source and per network are not what is measured.
	 */
	for (i = 0; i < FLOOD_CLIENTS; i++) {
		snprintf(nick, sizeof(nick), "flood%d-%d", round, i);
		snprintf(src, sizeof(src), "127.0.1.%d",
			 1 + round * FLOOD_CLIENTS + i);
		snprintf(net, sizeof(net), "lan%d",
			 round * FLOOD_CLIENTS + i);
		plan = (struct flood_plan){ nick, src, nets, MEASURE_S + 0.5 };
		pid[i] = fork();
		if (pid[i] < 0)
			return -1;
		if (pid[i] == 0)
			flood(self->port, self->spub, &plan, ready[1], go[0],
			      out[1]);
	}
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	for (i = 0; i < FLOOD_CLIENTS; i++)
		if (poll(&pfd, 1, TIMEOUT_MS) != 1 ||
		    read(ready[0], &b, 1) != 1)
			return -1;
	if (write(go[1], "ggg", FLOOD_CLIENTS) != FLOOD_CLIENTS)
		return -1;

	/* One kind of round trip, then the other. */
	start = now_s();
	for (k = 0; k < MEASURE_S * 1000 / SAMPLE_MS && k < MAX_SAMPLES;
	     k++) {
		due = start + k * SAMPLE_MS / 1000.0;
		t = now_s();
		if (t < due)
			usleep((useconds_t)((due - t) * 1e6));
		rc = req(self->c, k % 2 ? T_NETWORKS : T_KEEPALIVE, NULL,
			 NULL, NULL, false);
		EXPECT_EQ(0, rc);
		rtt[k] = now_s() - due;
	}
	for (i = 0; i < FLOOD_CLIENTS; i++) {
		EXPECT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		EXPECT_EQ((ssize_t)sizeof(n[i]),
			  read(out[0], &n[i], sizeof(n[i])));
	}
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(out[0]);
	close(out[1]);
	qsort(rtt, (size_t)k, sizeof(rtt[0]), cmp_double);
	TH_LOG("round %d, %d round trips: median %.2f ms, p99 %.2f ms, "
	       "max %.2f ms", round, k, rtt[k / 2] * 1e3,
	       rtt[k * 99 / 100] * 1e3, rtt[k - 1] * 1e3);
	for (i = 0; i < FLOOD_CLIENTS; i++)
		TH_LOG("flood%d-%d: %d wrong, %d refused (-104)", round, i,
		       n[i].wrong, n[i].limited);
	return k;
}

TEST_F_TIMEOUT(mediator, password_work_off_loop, 90)
{
	static double rtt[MAX_SAMPLES];
	struct flood_count n[FLOOD_CLIENTS];
	struct login_info l;
	double p99 = 1;
	int i, k, round;
	int32_t rc;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->c, "carol", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));
	/* A network for each flood to aim at; hashed as the limits allow. */
	self->b->src = "127.0.0.2";
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	for (i = 0; i < ROUNDS * FLOOD_CLIENTS; i++) {
		char net[16];

		snprintf(net, sizeof(net), "lan%d", i);
		while ((rc = req(i % 2 ? self->a : self->b, T_CREATE, net, NULL,
				 "secret", false)) == -104)
			usleep(200000);
		ASSERT_EQ(0, rc);
	}

	for (round = 0; round < ROUNDS && p99 >= 0.030; round++) {
		memset(n, 0, sizeof(n));
		k = flood_round(_metadata, self, round, rtt, n);
		ASSERT_LT(0, k);
		p99 = rtt[k * 99 / 100];
		/* The limits held, and the floods did go beyond them. */
		for (i = 0; i < FLOOD_CLIENTS; i++) {
			EXPECT_EQ(0, n[i].other);
			EXPECT_LE(1, n[i].wrong);
			EXPECT_GE(5, n[i].wrong);
			EXPECT_LT(0, n[i].limited);
		}
	}
	EXPECT_GT(0.030, p99);

	/*
	 * The answers are those of old: wrong, then right, and the PEER_UPs
	 * of the JOIN after its reply.
	 */
	usleep(1100000);
	EXPECT_EQ(-14, req(self->c, T_JOIN, "lan", NULL, "wrong", false));
	EXPECT_EQ(-13, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	self->c->n_ev = 0;
	ASSERT_EQ(0, req(self->c, T_JOIN, "lan", NULL, "secret", false));
	EXPECT_EQ(0, self->c->n_ev);
	EXPECT_EQ(0, wait_event(self->c, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
	EXPECT_EQ(0, wait_event(self->a, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	EXPECT_EQ(-20, req(self->c, T_JOIN, "lan", NULL, "secret", false));
}

#define SYBIL_FLOODS 16
#define SYBIL_SECS 3.0

/*
 * SYBIL_FLOODS clients (from net.1, net.2, ... or, with one_address,
 * all from net.1) send wrong passwords to the networks for SYBIL_SECS; three
 * honest clients from 127.0.4.honest..+2 join "other" meanwhile, one a
 * second, each once, with the right password.  Returns how many honest
 * JOINs worked, and in *wrong how many wrong passwords were checked.
 */
static int sybil_round(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mediator) *self, const char *net,
		       bool one_address, int round,
		       const char *const *networks, int honest, int *wrong)
{
	static char src[SYBIL_FLOODS][32], nick[SYBIL_FLOODS][32];
	char hsrc[3][32], hnick[32], go_bytes[SYBIL_FLOODS];
	int ready[2], go[2], out[2], i, ok = 0, status;
	pid_t pid[SYBIL_FLOODS];
	struct flood_count n;
	struct flood_plan plan;
	struct login_info l;
	struct client *h[3];
	struct pollfd pfd;
	char b;

	*wrong = 0;
	/* Every window of the round before is over. */
	usleep(2100000);
	if (pipe(ready) || pipe(go) || pipe(out))
		return -1;
	for (i = 0; i < SYBIL_FLOODS; i++) {
		snprintf(src[i], sizeof(src[i]), "%s.%d", net,
			 one_address ? 1 : i + 1);
		snprintf(nick[i], sizeof(nick[i]), "sybil%d-%d", round, i);
		plan = (struct flood_plan){ nick[i], src[i], networks,
					    SYBIL_SECS };
		pid[i] = fork();
		if (pid[i] < 0)
			return -1;
		if (pid[i] == 0)
			flood(self->port, self->spub, &plan, ready[1], go[0],
			      out[1]);
	}
	for (i = 0; i < 3; i++) {
		h[i] = client_new();
		snprintf(hsrc[i], sizeof(hsrc[i]), "127.0.4.%d", honest + i);
		h[i]->src = hsrc[i];
		snprintf(hnick, sizeof(hnick), "honest%d-%d", round, i);
		EXPECT_EQ(0, client_connect(h[i], self->port, self->spub));
		EXPECT_EQ(0, login(h[i], hnick, &l));
	}
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	for (i = 0; i < SYBIL_FLOODS; i++)
		if (poll(&pfd, 1, TIMEOUT_MS) != 1 ||
		    read(ready[0], &b, 1) != 1)
			return -1;
	memset(go_bytes, 'g', sizeof(go_bytes));
	if (write(go[1], go_bytes, sizeof(go_bytes)) != sizeof(go_bytes))
		return -1;
	for (i = 0; i < 3; i++) {
		sleep_ms(i ? 1000 : 500);
		ok += req(h[i], T_JOIN, "other", NULL, "secret", false) == 0;
	}
	for (i = 0; i < SYBIL_FLOODS; i++) {
		EXPECT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_EQ((ssize_t)sizeof(n), read(out[0], &n, sizeof(n)));
		EXPECT_EQ(0, n.other);
		*wrong += n.wrong;
	}
	for (i = 0; i < 3; i++)
		client_free(h[i]);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(out[0]);
	close(out[1]);
	return ok;
}

/*
 * Sixteen sybils sending wrong passwords spent the server's whole
 * budget (5 per client in 10 s each: 8 a second), and then nobody's
 * password was checked.  Now they spend the budget of the network they
 * aim at (5 failures in 2 s), and from one address, that address's (5
 * in 2 s): others' JOINs still go through.
 */
TEST_F_TIMEOUT(mediator, password_budget_shared, 60)
{
	static const char *const one[] = { "target", NULL };
	static const char *const four[] = { "target", "t1", "t2", "t3",
					    NULL };
	struct client *guest;
	struct login_info l;
	char nick[32];
	int ok, wrong, i;

	self->b->src = "127.0.0.2";
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "target", NULL, "s3cret", false));
	ASSERT_EQ(0, req(self->a, T_CREATE, "other", NULL, "secret", false));
	ASSERT_EQ(0, req(self->b, T_CREATE, "t1", NULL, "s3cret", false));
	ASSERT_EQ(0, req(self->b, T_CREATE, "t2", NULL, "s3cret", false));
	ASSERT_EQ(0, req(self->b, T_CREATE, "t3", NULL, "s3cret", false));

	/*
	 * A LAN party behind one address joins at once: right passwords
	 * spend no network's or address's share, only the server's.
	 */
	ASSERT_EQ(0, req(self->b, T_CREATE, "party", NULL, "secret", false));
	usleep(1100000);
	for (i = 0; i < 7; i++) {
		guest = client_new();
		guest->src = "127.0.6.1";
		snprintf(nick, sizeof(nick), "guest%d", i);
		ASSERT_EQ(0, client_connect(guest, self->port, self->spub));
		ASSERT_EQ(0, login(guest, nick, &l));
		EXPECT_EQ(0, req(guest, T_JOIN, "party", NULL, "secret",
				 false)) TH_LOG("guest %d", i);
		client_free(guest);
	}

	/* Sixteen addresses, one network: that network's budget. */
	ok = sybil_round(_metadata, self, "127.0.3", false, 0, one, 1,
			 &wrong);
	TH_LOG("16 sybils at one network: %d wrong passwords checked, %d of "
	       "3 honest JOINs through", wrong, ok);
	/* 5 in any 2 s of the 3. */
	EXPECT_GE(10, wrong);
	EXPECT_EQ(3, ok);

	/* One address, four networks: that address's budget. */
	ok = sybil_round(_metadata, self, "127.0.5", true, 1, four, 4,
			 &wrong);
	TH_LOG("16 sybils from one address: %d wrong passwords checked, %d "
	       "of 3 honest JOINs through", wrong, ok);
	EXPECT_GE(10, wrong);
	EXPECT_EQ(3, ok);
}

/*
 * A client's requests take effect, and are answered, in the order it
 * sent them, though some wait for the worker and some do not.
 */
TEST_F(mediator, password_requests_in_order)
{
	struct login_info l;
	uint32_t ids[3], id;
	uint8_t online, state;
	bool owner;
	int i;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));

	/* A new password, then none: none stands. */
	ids[0] = req_send(self->a, T_SET_PASSWORD, "lan", "new");
	ids[1] = req_send(self->a, T_SET_PASSWORD, "lan", NULL);
	ids[2] = req_send(self->a, T_KEEPALIVE, NULL, NULL);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, reply_next(self->a, &id));
		EXPECT_EQ(ids[i], id);
	}
	EXPECT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));

	/* A wrong password, the right one, and NETWORKS seeing the JOIN. */
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan2", NULL, "pw2", false));
	ids[0] = req_send(self->b, T_JOIN, "lan2", "wrong");
	ids[1] = req_send(self->b, T_JOIN, "lan2", "pw2");
	ids[2] = req_send(self->b, T_NETWORKS, NULL, NULL);
	EXPECT_EQ(-14, reply_next(self->b, &id));
	EXPECT_EQ(ids[0], id);
	EXPECT_EQ(0, reply_next(self->b, &id));
	EXPECT_EQ(ids[1], id);
	EXPECT_EQ(0, reply_next(self->b, &id));
	EXPECT_EQ(ids[2], id);
	ASSERT_EQ(0, member_of(self->b, "lan2", "bob", &online, &state,
			       &owner));
	EXPECT_EQ(2, state);
}

/*
 * Jobs whose connection goes while the worker has them: cut (RST),
 * replaced by a new login of the same client, and the server stopped.
 * Nothing is answered or changed for them, and nothing is left behind
 * (teardown checks the sanitizers' silence).
 */
TEST_F_TIMEOUT(mediator, password_jobs_outlive_connections, 30)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct login_info l;
	uint8_t online, state;
	bool owner;
	double t0;
	int status;

	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));

	/* bob's connection is cut while its JOIN is checked. */
	ASSERT_NE(0u, req_send(self->b, T_JOIN, "lan", "secret"));
	ASSERT_EQ(0, setsockopt(self->b->fd, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	client_close(self->b);
	/* carol comes back on a new connection while hers is checked. */
	ASSERT_NE(0u, req_send(self->c, T_JOIN, "lan", "secret"));
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	ASSERT_EQ(0, login(self->c, "carol", &l));
	/* Both jobs done, neither answered nor applied. */
	usleep(300000);
	ASSERT_EQ(0, req(self->a, T_NETWORKS, NULL, NULL, NULL, false));
	EXPECT_EQ(-1, member_of(self->a, "lan", "bob", &online, &state,
				&owner));
	EXPECT_EQ(-1, member_of(self->a, "lan", "carol", &online, &state,
				&owner));
	EXPECT_EQ(0, req(self->c, T_KEEPALIVE, NULL, NULL, NULL, false));

	/* SIGTERM with one job running and more queued: a prompt exit 0. */
	usleep(1100000);
	ASSERT_NE(0u, req_send(self->a, T_SET_PASSWORD, "lan", "one"));
	ASSERT_NE(0u, req_send(self->c, T_JOIN, "lan", "two"));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_NE(0u, req_send(self->b, T_JOIN, "lan", "three"));
	sleep_ms(10);
	t0 = now_s();
	status = stop_server(self->pid);
	EXPECT_EQ(0, status);
	EXPECT_GT(1.0, now_s() - t0);
	/* Teardown stops it again. */
	self->pid = start_server(self->dir, self->port);
	ASSERT_LT(0, self->pid);
}

/* The server's password worker: its one child process, or 0. */
static pid_t worker_of(pid_t server)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	DIR *dir = opendir("/proc");
	pid_t found = 0;
	long ppid;
	FILE *f;

	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* pid (comm) state ppid: comm may hold anything but ')'. */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == server)
			found = (pid_t)atoi(d->d_name);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

/*
 * The worker killed (as the OOM killer might): the job it had fails
 * with -2, password requests are refused (-104) until a new worker runs,
 * within a second or two, and then work again.  The rest never stops.
 */
TEST_F_TIMEOUT(mediator, password_worker_restarts, 30)
{
	char path[512];
	struct login_info l;
	pid_t w, w2;
	uint32_t id;
	int32_t rc;
	int i;

	ASSERT_EQ(0, three_logged_in(self, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));
	w = worker_of(self->pid);
	ASSERT_LT(0, w);

	ASSERT_NE(0u, req_send(self->b, T_JOIN, "lan", "secret"));
	ASSERT_EQ(0, kill(w, SIGKILL));
	/*
	 * Killed before or after it was done: both happen.  So does -104
	 * on a loaded machine: the server saw the worker die before it
	 * read the JOIN, and refused it as it refuses the ones below.
	 */
	rc = reply_next(self->b, &id);
	EXPECT_TRUE(rc == -2 || rc == 0 || rc == -104) TH_LOG("JOIN: %d", rc);
	snprintf(path, sizeof(path), "%s/stderr", self->dir);
	for (i = 0; i < 100 && !file_has(path, "password worker died"); i++)
		sleep_ms(20);
	EXPECT_TRUE(file_has(path, "password worker died"));
	EXPECT_EQ(0, req(self->a, T_KEEPALIVE, NULL, NULL, NULL, false));

	/* Refused, not hashed, until the next worker takes over. */
	for (i = 0; i < 30; i++) {
		rc = req(self->c, T_JOIN, "lan", NULL, "secret", false);
		if (rc != -104)
			break;
		sleep_ms(100);
	}
	EXPECT_EQ(0, rc);
	w2 = worker_of(self->pid);
	EXPECT_LT(0, w2);
	EXPECT_NE(w, w2);
}

/* A line of /proc/PID/FILE starting with key, into line: 0 or -1. */
static int proc_line(pid_t pid, const char *file, const char *key,
		     char *line, size_t size)
{
	char path[64];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	while (f && fgets(line, (int)size, f))
		if (!strncmp(line, key, strlen(key))) {
			ret = 0;
			break;
		}
	if (f)
		fclose(f);
	return ret;
}

/*
 * Whether the kernel will dump pid's core or let its own user read its
 * memory: a process that set itself non-dumpable has its /proc files
 * owned by root whatever user it runs as.  (-1: cannot tell.)
 */
static int dumpable(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_uid != 0;
}

/* "Max core file size" of pid is 0, soft and hard. */
static bool no_core(pid_t pid)
{
	char line[256];
	unsigned long soft, hard;

	return !proc_line(pid, "limits", "Max core file size", line,
			  sizeof(line)) &&
	       sscanf(line + strlen("Max core file size"), "%lu %lu", &soft,
		      &hard) == 2 && soft == 0 && hard == 0;
}

/*
 * Neither the server nor its password worker dumps core or lets the
 * service's user read its memory, whatever limit it was started with.
 * Run as nobody: as root, /proc would be root's either way.
 */
/*
 * dir's server key into state directory sd, owned by uid: on PostgreSQL
 * the instances of one database are a cluster, and one with another key
 * is refused.  0, or -1.
 */
static int copy_key(const char *dir, const char *sd, uid_t uid)
{
	char from[600], to[600], text[256] = "";
	FILE *f;
	int ret;

	snprintf(from, sizeof(from), "%s/state/private.key", dir);
	snprintf(to, sizeof(to), "%s/private.key", sd);
	f = fopen(from, "r");
	if (!f)
		return -1;
	ret = fgets(text, sizeof(text), f) ? 0 : -1;
	fclose(f);
	if (!ret)
		ret = write_file(to, text);
	sodium_memzero(text, sizeof(text));
	if (!ret && (chmod(to, 0600) || chown(to, uid, uid)))
		ret = -1;
	return ret;
}

TEST_F_TIMEOUT(mediator, not_dumpable, 30)
{
	char sd[300];
	const char *args[] = { "--state-dir", sd, NULL };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	pid_t w;
	int i;

	if (geteuid())
		SKIP(return, "needs root, to run the server as nobody");
	/* The limit a careless service manager might give. */
	ASSERT_EQ(0, setrlimit(RLIMIT_CORE, &rl));
	ASSERT_EQ(0, stop_server(self->pid));
	snprintf(sd, sizeof(sd), "%s/nobody", self->dir);
	ASSERT_EQ(0, mkdir(sd, 0700));
	ASSERT_EQ(0, chown(sd, 65534, 65534));
	ASSERT_EQ(0, chmod(self->dir, 0711));
	ASSERT_EQ(0, copy_key(self->dir, sd, 65534));
	self->pid = start_server_as(self->dir, self->port, args, 65534);
	ASSERT_LT(0, self->pid);
	for (i = 0; i < 100 && !(w = worker_of(self->pid)); i++)
		sleep_ms(20);
	ASSERT_LT(0, w);
	EXPECT_TRUE(no_core(self->pid));
	EXPECT_EQ(0, dumpable(self->pid));
	/* The worker is a program started afresh: it sets both again. */
	for (i = 0; i < 100 && dumpable(w); i++)
		sleep_ms(20);
	EXPECT_TRUE(no_core(w));
	EXPECT_EQ(0, dumpable(w));
}

/*
 * Whether needle is anywhere in pid's writable memory (its heap, stacks,
 * data and anonymous mappings; not its code or constants), read as root
 * through /proc/PID/mem.  Mappings of 1 GiB or more are skipped: the
 * sanitizers' shadow memory, terabytes of nothing.
 */
static bool memory_has(pid_t pid, const void *needle, size_t len)
{
	static uint8_t buf[1 << 20];
	unsigned long start, end, off;
	char path[64], line[512], perms[8];
	bool found = false;
	ssize_t n;
	FILE *maps;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY);
	while (maps && mem >= 0 && !found && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 ||
		    perms[1] != 'w' || end - start >= (1ul << 30))
			continue;
		/* Chunks overlap by len - 1: a needle across two is seen. */
		for (off = start; off < end && !found;
		     off += sizeof(buf) - (len - 1)) {
			n = pread(mem, buf, sizeof(buf) < end - off ?
				  sizeof(buf) : end - off, (off_t)off);
			if (n <= 0)
				break;
			found = memmem(buf, (size_t)n, needle, len) != NULL;
		}
	}
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
	return found;
}

/*
 * The password worker holds none of the server's secrets: not its
 * private key, not the database (its pages, a client's nickname), even
 * when it is started again after clients logged in.
 */
TEST_F_TIMEOUT(mediator, worker_holds_no_secrets, 60)
{
	static const char nick[] = "zebracorn4242";
	static const char sqlite_header[] = "SQLite format 3";
	char path[512];
	uint8_t priv[32];
	struct login_info l;
	pid_t w, w2;
	FILE *f;
	int i;

	if (geteuid())
		SKIP(return, "needs root, to read another process's memory");
	snprintf(path, sizeof(path), "%s/state/private.key", self->dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, shoal_key_read(priv, f));
	fclose(f);
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, nick, &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, "secret", false));

	/* The check sees them where they are: in the server. */
	EXPECT_TRUE(memory_has(self->pid, priv, sizeof(priv)));
	EXPECT_TRUE(memory_has(self->pid, nick, strlen(nick)));
	/* On PostgreSQL the server holds no SQLite page to look for. */
	if (!test_database())
		EXPECT_TRUE(memory_has(self->pid, sqlite_header,
				       sizeof(sqlite_header)));

	w = worker_of(self->pid);
	ASSERT_LT(0, w);
	EXPECT_FALSE(memory_has(w, priv, sizeof(priv)));
	/* A new worker, started now that the server holds more. */
	ASSERT_EQ(0, kill(w, SIGKILL));
	for (i = 0; i < 150; i++) {
		w2 = worker_of(self->pid);
		if (w2 > 0 && w2 != w)
			break;
		sleep_ms(20);
	}
	ASSERT_LT(0, w2);
	ASSERT_NE(w, w2);
	/* Until it is ready: a password request is hashed. */
	for (i = 0; i < 30; i++) {
		if (req(self->a, T_SET_PASSWORD, "lan", NULL, "other", false) !=
		    -104)
			break;
		sleep_ms(100);
	}
	EXPECT_FALSE(memory_has(w2, priv, sizeof(priv)));
	EXPECT_FALSE(memory_has(w2, nick, strlen(nick)));
	EXPECT_FALSE(memory_has(w2, sqlite_header, sizeof(sqlite_header)));
	sodium_memzero(priv, sizeof(priv));
}

/* Whether m lists an INSTANCE named name (its first one: first). */
static bool lists_instance(const struct shoal_tlv_msg *m, const char *name,
			   bool first)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a, n;
	char got[64];

	shoal_tlv_iter_msg(&it, m);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type != A_INSTANCE)
			continue;
		if (shoal_tlv_find_nested(&a, A_INSTANCE_NAME, &n) &&
		    shoal_tlv_get_str(&n, got, sizeof(got)) &&
		    !strcmp(got, name))
			return true;
		if (first)
			return false;
	}
	return false;
}

/*
 * A cluster's LOGIN reply (docs/cluster.md, "The default server"): this
 * instance's INSTANCE_NAME, then INSTANCE for it and every live one; and
 * INSTANCES when one more starts.  Needs a PostgreSQL: run by
 * tests/system/cluster.sh with SHOAL_TEST_PG_URL and SHOAL_TEST_PG_KEY
 * (the cluster's key file), skipped otherwise.
 */
TEST(cluster_login_reply)
{
	const char *url = getenv("SHOAL_TEST_PG_URL");
	const char *key = getenv("SHOAL_TEST_PG_KEY");
	const char *one[] = { "--database", url, "--instance", "api1",
			      "--key-file", key, "--relay-ports", "53010-53019",
			      NULL };
	const char *two[] = { "--database", url, "--instance", "api2",
			      "--key-file", key, "--relay-ports", "53110-53119",
			      NULL };
	char dir[64] = "/tmp/mediator_api.XXXXXX", got[64];
	uint8_t priv[32], spub[32];
	struct login_info li;
	struct shoal_tlv_attr a;
	struct client *c;
	pid_t p1, p2;
	int port1, port2, i;
	bool told = false;
	FILE *f;

	if (!url || !key || !test_wanted("cluster_login_reply"))
		SKIP(return, "needs SHOAL_TEST_PG_URL and SHOAL_TEST_PG_KEY");
	ASSERT_EQ(0, sodium_init() < 0);
	f = fopen(key, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, shoal_key_read(priv, f));
	fclose(f);
	ASSERT_EQ(0, shoal_key_public(spub, priv));
	sodium_memzero(priv, sizeof(priv));
	ASSERT_NE(NULL, mkdtemp(dir));
	port1 = free_port();
	p1 = start_server_args(dir, port1, one);
	ASSERT_LT(0, p1);
	c = client_new();
	ASSERT_EQ(0, client_connect(c, port1, spub));
	ASSERT_EQ(0, login(c, "apione", &li));
	ASSERT_TRUE(shoal_tlv_find(&c->m, A_INSTANCE_NAME, &a));
	ASSERT_TRUE(shoal_tlv_get_str(&a, got, sizeof(got)));
	EXPECT_STREQ("api1", got);
	EXPECT_TRUE(lists_instance(&c->m, "api1", true));
	/* One more instance: the client here hears the new list. */
	do
		port2 = free_port();
	while (port2 == port1 || port2 == port1 + 1 || port2 + 1 == port1);
	p2 = start_server_args(dir, port2, two);
	ASSERT_LT(0, p2);
	for (i = 0; i < 50 && !told; i++) {
		if (client_read(c, 200) == 2 &&
		    c->ev[c->n_ev - 1].type == T_INSTANCES)
			told = true;
	}
	EXPECT_TRUE(told);
	/* And a new LOGIN there lists both, that one first. */
	ASSERT_EQ(0, client_connect(c, port2, spub));
	ASSERT_EQ(0, login(c, "apione", &li));
	EXPECT_TRUE(lists_instance(&c->m, "api2", true));
	EXPECT_TRUE(lists_instance(&c->m, "api1", false));
	client_free(c);
	EXPECT_EQ(0, stop_server(p2));
	EXPECT_EQ(0, stop_server(p1));
	if (!_metadata->passed)
		show_stderr(dir);
	remove_dir(dir);
}

/* Bad --relay-ports and --probe: exit 2 with a message, before anything. */
TEST(bad_options)
{
	static const char *const bad[][2] = {
		{ "--relay-ports", "" },
		{ "--relay-ports", "51810" },
		{ "--relay-ports", "51999-51810" },
		{ "--relay-ports", "0-10" },
		{ "--relay-ports", "1-65536" },
		{ "--relay-ports", "a-b" },
		{ "--relay-ports", "10-20-30" },
		{ "--relay-ports", " 10-20" },
		{ "--relay-ports", "+10-20" },
		{ "--relay-ports", "51790-51800" },
		{ "--relay-ports", "51801-51801" },
		{ "--probe", "127.0.0.2" },
		{ "--probe", "0.0.0.0:5" },
		{ "--probe", "[::]:5" },
		{ "--probe", ":5" },
		{ "--probe", "host.example:5" },
		{ "--probe", "127.0.0.2:0" },
		{ "--deny", "/nonexistent/deny" },
		{ "--source-conns", "x" },
		{ "--source-conns", "1000001" },
		{ "--source-new-clients", "-1" },
		{ "--expire-after", "" },
		{ "--expire-after", "5y" },
		{ "--expire-after", "10ds" },
		{ "--expire-after", "40000d" },
	};
	const char *bindir = getenv("SHOAL_BIN");
	char bin[4096], err[256];
	size_t i;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/shoal-mediator",
		 bindir && *bindir ? bindir : "build/san/bin");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			dup2(pipefd[1], 2);
			execl(bin, "shoal-mediator", "--state-dir",
			      "/nonexistent/never", "--listen",
			      "127.0.0.1:51800", bad[i][0], bad[i][1],
			      (char *)NULL);
			_exit(127);
		}
		close(pipefd[1]);
		n = read(pipefd[0], err, sizeof(err) - 1);
		close(pipefd[0]);
		err[n > 0 ? n : 0] = '\0';
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2)
			TH_LOG("%s '%s'", bad[i][0], bad[i][1]);
		EXPECT_NE(NULL, strstr(err, bad[i][0]))
			TH_LOG("%s '%s': %s", bad[i][0], bad[i][1], err);
	}
}

/*
 * The database going away for a while (PostgreSQL stopped for
 * $SHOAL_TEST_DB_DOWN_S seconds, 10 by default): clients logged in keep
 * their connection and presence, and a LOGIN again on such a connection
 * is answered; a new LOGIN is refused with -109 (MED_E_DATABASE) and a
 * message saying so; once the database is back, logins work again and
 * nothing written before is lost.  Only where the test can stop and start
 * the database (system/mediator_api_pg.sh).
 */
TEST_F_TIMEOUT(mediator, database_blink, 120)
{
	const char *stop = getenv("SHOAL_TEST_DB_STOP");
	const char *start = getenv("SHOAL_TEST_DB_START");
	const char *down = getenv("SHOAL_TEST_DB_DOWN_S");
	struct login_info la, lb, lc, again;
	struct shoal_tlv_attr a;
	char msg[128] = "";
	double t0, down_s = down && *down ? atof(down) : 10;
	int32_t rc;

	if (!test_database() || !stop || !start)
		SKIP(return, "needs a database the test can stop "
		     "(system/mediator_api_pg.sh)");
	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &la));
	ASSERT_EQ(0, login(self->b, "bob", &lb));
	ASSERT_EQ(0, req(self->a, T_CREATE, "lan", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "lan", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));

	ASSERT_EQ(0, system(stop));
	t0 = now_s();
	ASSERT_EQ(0, client_connect(self->c, self->port, self->spub));
	EXPECT_EQ(-109, login(self->c, "carol", &lc));
	if (shoal_tlv_find(&self->c->m, A_MESSAGE, &a))
		shoal_tlv_get_str(&a, msg, sizeof(msg));
	EXPECT_STREQ("the database is unavailable; try again later", msg);
	/* Refused again a second later: the retry found it down too. */
	sleep_ms(1100);
	EXPECT_EQ(-109, login(self->c, "carol", &lc));
	while (now_s() - t0 < down_s) {
		EXPECT_EQ(0, req(self->a, T_KEEPALIVE, NULL, NULL, NULL,
				 false));
		EXPECT_EQ(0, req(self->b, T_KEEPALIVE, NULL, NULL, NULL,
				 false));
		sleep_ms(1000);
	}
	/* What a shoald sends when its endpoints change. */
	EXPECT_EQ(0, login(self->a, NULL, &again));
	EXPECT_EQ(0, memcmp(la.ipv4, again.ipv4, sizeof(la.ipv4)));
	EXPECT_NE(0, wait_event(self->a, T_PEER_DOWN, self->b->pub, 0, NULL));
	EXPECT_NE(0, wait_event(self->b, T_PEER_DOWN, self->a->pub, 0, NULL));
	TH_LOG("the database was down %.1f s", now_s() - t0);

	ASSERT_EQ(0, system(start));
	t0 = now_s();
	/* A connection not logged in within 10 s is closed: a new one. */
	do {
		rc = client_connect(self->c, self->port, self->spub) ? -1 :
		     login(self->c, "carol", &lc);
		if (rc)
			sleep_ms(200);
	} while (rc && now_s() - t0 < 10);
	EXPECT_EQ(0, rc);
	TH_LOG("logins work again %.1f s after the database is back",
	       now_s() - t0);
	/* Nothing lost: the network, its members, the addresses. */
	EXPECT_EQ(0, req(self->c, T_JOIN, "lan", NULL, NULL, false));
	EXPECT_EQ(0, wait_event(self->a, T_PEER_UP, self->c->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->b, NULL, &again));
	EXPECT_EQ(0, memcmp(lb.ipv4, again.ipv4, sizeof(lb.ipv4)));
	EXPECT_STREQ("bob", again.nick);
	EXPECT_EQ(-8, req(self->c, T_CREATE, "LAN", NULL, NULL, false));
}

/*
 * A kick from one of two networks a pair shares keeps the pair, but what
 * each keeps per network (chat's scope, names) must be fetched anew at
 * once: both sides get a PEER_UP of the other again.
 */
TEST_F(mediator, kick_from_one_of_two_shared_networks)
{
	struct login_info l;

	ASSERT_EQ(0, client_connect(self->a, self->port, self->spub));
	ASSERT_EQ(0, client_connect(self->b, self->port, self->spub));
	ASSERT_EQ(0, login(self->a, "alice", &l));
	ASSERT_EQ(0, login(self->b, "bob", &l));
	ASSERT_EQ(0, req(self->a, T_CREATE, "secret", NULL, NULL, false));
	ASSERT_EQ(0, req(self->a, T_CREATE, "public", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "secret", NULL, NULL, false));
	ASSERT_EQ(0, req(self->b, T_JOIN, "public", NULL, NULL, false));
	ASSERT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	ASSERT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
	(void)quiet(self->a, 500);
	(void)quiet(self->b, 500);
	self->a->n_ev = self->b->n_ev = 0;
	ASSERT_EQ(0, req_member(self->a, T_KICK, "secret", self->b->pub));
	EXPECT_EQ(0, wait_event(self->a, T_PEER_UP, self->b->pub, TIMEOUT_MS,
				NULL));
	EXPECT_EQ(0, wait_event(self->b, T_PEER_UP, self->a->pub, TIMEOUT_MS,
				NULL));
}

TEST_HARNESS_MAIN
