// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for shoald's mediator client (daemon/mclient*.c): what
 * a hostile mediator can make of it.  The mediator is a trust boundary:
 * whatever it says on the control channel or sends to the tunnel port,
 * shoald must neither crash nor corrupt its state.
 *
 * The code under test is the real one, driven as shoald's loop drives
 * it: mclient_open(), mclient_handle() on what epoll reports,
 * mclient_tick() and shoald_tick(), mclient_request() for `shoal`
 * requests, shoald_on_event() for control packets, mclient_close().
 * The target stands in for the mediator at the other end of a socketpair
 * (mclient_attach(), what a successful connect() leads to), with a real
 * Noise channel (lib/channel.c): the fuzzer writes the plaintext of the
 * mediator's messages, so it need not break the crypto, while shoald
 * decrypts and parses them itself.
 *
 * Only what would need privileges is a harness here, and says so: the
 * datapath (struct shoal_dp_ops: a model holding peers, SAs and the
 * control packets sent, refusing what shoal.ko refuses) and the rtnetlink
 * calls of lib/link.c (a model of the device's addresses, MAC and
 * neighbour table).
 *
 * Input: a setup byte, then frames until the input ends.
 *   setup 0x01  the mediator answers the LOGIN with a good reply (else
 *               the frames must);
 *         0x1e  (>> 1) 1..15: a `shoal` request of canned[] is left
 *               pending after the login;
 *         0x20  a peer from the configuration beside the mediator's;
 *         0x40  narrow AddressRanges (100.64.0.0/16, fd00::/8), else the
 *               defaults;
 *         0x80  verbose.
 *   frames (the first byte modulo F_COUNT; LEN is 2 bytes big-endian,
 *   cut to what is left):
 *   F_MSG     LEN bytes: a whole message from the mediator;
 *   F_EVENT   TYPE, LEN attributes: an event (no flags, id 0);
 *   F_REPLY   K, LEN attributes: the reply (type, REPLY, id) to the Kth
 *             newest request shoald sent, LOGIN included;
 *   F_UDP     FROM, ..., LEN payload: a control packet at the tunnel
 *             port; FROM % 4: 0 the mediator's port, 1 its port + 1,
 *             2 then K: where the Kth newest control packet shoald sent
 *             went, 3 then an ENDPOINT attribute's value (7 or 19 bytes);
 *   F_ANSWER  K, HOW, 8 bytes: the mediator's or relay's answer to the
 *             Kth newest control packet shoald sent: a BINDING_REPLY to
 *             a BINDING, a RELAY_BOUND or RELAY_CHALLENGE to a
 *             RELAY_BIND (its MAC under the relay key of a RELAY event
 *             the fuzzer sent); HOW's bits: A_* below;
 *   F_REQUEST SEL: canned[SEL], or past them LEN8 and a request line
 *             (not `login`, which would resolve and connect for real);
 *   F_TICK    V: V * V * 16 ms pass, then a tick (without a connection
 *             shoald_tick() only: mclient_tick() would connect());
 *   F_EOF     the mediator closes the connection;
 *   F_RECONNECT  without a connection: shoald connects again (as its
 *             tick would), with the setup's login.
 *
 * What must hold after every frame (check() aborts otherwise):
 *   - the datapath holds exactly shoald's peers, with the same MACs, and
 *     shoald gives it nothing shoal.ko would refuse as malformed;
 *   - no peer with an unusable endpoint, candidate or relay, none twice,
 *     never our own key; strings terminated;
 *   - the configuration's peer stays, and stays the configuration's;
 *   - every neighbour entry names a peer's assigned address at that
 *     peer's MAC, every address inside AddressRanges; the device carries
 *     at most the one IPv4 and one IPv6 address of the current login;
 *     the "mediator" object of `status json` is JSON;
 *   - what shoald sends the mediator is a well-formed request with a new
 *     id; its control packets are well-formed, 1..1400 bytes;
 *   - shoald's loop settles: no fd stays ready for ever (a busy loop),
 *     and shoald watches no fd but the connection it was given;
 *   - every `shoal` request is answered exactly once, by the end: a line
 *     "ok", "ok pending" or "error CODE MESSAGE" (printable, one line),
 *     the body (if any) JSON that cli/jsonread.c reads;
 *   - and at the end, once mclient_close() has run, no fd is left open.
 *
 * Randomness comes from a generator reset for every input, so a crash
 * replays.  Time: shoald's clock runs on; a tick's "now" runs ahead of
 * it by the TICKs so far, as when the loop is late.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "be.h"
#include "channel.h"
#include "config.h"
#include "ctlmsg.h"
#include "daemon/mclient.h"
#include "daemon/session.h"
#include "fuzz.h"
#include "rng.h"
#include "jsonread.h"
#include "key.h"
#include "link.h"
#include "mac.h"
#include "medmsg.h"
#include "tlv.h"

static const uint8_t shoald_priv[32] = "fuzz: shoald's own static key..";
static const uint8_t mediator_priv[32] = "fuzz: the mediator's static key";
static const uint8_t static_peer_key[32] = "fuzz: a peer from the config...";
static uint8_t shoald_pub[32], mediator_pub[32];

#define IFINDEX 7
#define TUNNEL_PORT 51820
#define MEDIATOR_ADDR "192.0.2.1"
#define MEDIATOR_PORT 51800

enum {
	F_MSG, F_EVENT, F_REPLY, F_UDP, F_ANSWER, F_REQUEST, F_TICK, F_EOF,
	F_RECONNECT, F_COUNT
};

/* F_ANSWER's HOW. */
#define A_KNOWN 0x01		/* BINDING_REPLY: token recognised */
#define A_UNCHANGED 0x02	/* BINDING_REPLY: answered as asked */
#define A_WRONG_SOURCE 0x04	/* from the mediator's port instead */
#define A_FLIP 0x08		/* one bit flipped, where the 8 bytes say */
#define A_V6 0x10		/* BINDING_REPLY: an IPv6 mapped address */
#define A_CHALLENGE 0x20	/* RELAY_CHALLENGE, not RELAY_BOUND */

/*
 * Requests for the setup and F_REQUEST: every kind of pending request
 * (plain, NETWORKS, NICK, LOGOUT, a member by nickname) and netcheck.
 */
#define KEY_B64 "KTA3PkVMU1phaG92fYSLkpmgp661vMPK0djf5u30+wI="
static const char *const canned[] = {
	"networks", "nick bob2", "join lan", "join lan password=736563726574",
	"create lan password=70 approval", "leave lan", "kick lan carol",
	"approve lan carol", "ban lan " KEY_B64, "set-password lan",
	"delete lan", "logout", "netcheck", "kick lan " KEY_B64, "status",
};
#define N_CANNED (sizeof(canned) / sizeof(canned[0]))

/* ---- endpoints ---- */

/* The form every endpoint shoald keeps or uses must have. */
static bool ep_form(const struct shoal_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ep->len == sizeof(ep->in) && ep->in.sin_port;
	return ep->sa.sa_family == AF_INET6 && ep->len == sizeof(ep->in6) &&
	       ep->in6.sin6_port;
}

static bool ep_unspecified(const struct shoal_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET ? !ep->in.sin_addr.s_addr :
	       IN6_IS_ADDR_UNSPECIFIED(&ep->in6.sin6_addr);
}

/* Where a datagram can come from: what a datapath can report. */
static bool ep_source(const struct shoal_endpoint *ep)
{
	const uint8_t *a = (const uint8_t *)&ep->in.sin_addr;

	if (!ep_form(ep) || ep_unspecified(ep))
		return false;
	if (ep->sa.sa_family == AF_INET)
		return a[0] < 224;
	return !IN6_IS_ADDR_MULTICAST(&ep->in6.sin6_addr);
}

static void ep_v4(struct shoal_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &ep->in.sin_addr);
	ep->in.sin_port = htons(port);
	ep->len = sizeof(ep->in);
}

/* ---- the datapath: a model (harness) ---- */

/* shoal.ko's and dp_tap.c's limit. */
#define DP_MAX_PEERS 65536
#define SENT_MAX 16

struct dp_peer {
	uint8_t key[32];
	uint8_t mac[6];
	struct shoal_endpoint endpoint;
	uint32_t spi_in[SHOAL_MAX_SA_IN];
	unsigned int n_in;
};

/* A control packet shoald sent: where, and its first bytes. */
struct sent {
	struct shoal_endpoint to;
	uint8_t msg[64];
	size_t len;
};

struct dev_addr {
	int family;
	uint8_t a[16];
	unsigned int len;
};

struct neigh {
	int family;
	uint8_t a[16];
	uint8_t mac[6];
};

#define MAX_ADDRS 8

static struct model {
	struct shoal_dp dp;
	struct dp_peer *peers;
	size_t n, cap;
	struct sent sent[SENT_MAX];	/* a ring of the newest */
	unsigned int n_sent;		/* ever */
	/* lib/link.c's side: the device. */
	uint8_t mac[6];
	struct dev_addr addrs[MAX_ADDRS];
	unsigned int n_addrs;
	struct neigh *neigh;
	size_t n_neigh, cap_neigh;
} dp;

static struct dp_peer *dp_find(const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < dp.n; i++)
		if (!memcmp(dp.peers[i].key, key, 32))
			return &dp.peers[i];
	return NULL;
}

static bool spi_held(const struct dp_peer *except, uint32_t spi)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < dp.n; i++)
		for (j = 0; &dp.peers[i] != except && j < dp.peers[i].n_in; j++)
			if (dp.peers[i].spi_in[j] == spi)
				return true;
	return false;
}

static bool held_by(const struct dp_peer *e, uint32_t spi)
{
	unsigned int j;

	for (j = 0; e && j < e->n_in; j++)
		if (e->spi_in[j] == spi)
			return true;
	return false;
}

/* What shoal.ko checks (kmod/netlink.c), refused as it refuses it. */
static int dp_set_peer(struct shoal_dp *unused, const struct shoal_dp_peer *p)
{
	struct dp_peer *e = dp_find(p->public_key);
	unsigned int i, j;
	size_t k;

	(void)unused;
	/* shoald's own endpoints are whole: a source, the config, a relay. */
	if (p->endpoint.len)
		check(ep_form(&p->endpoint) && !ep_unspecified(&p->endpoint));
	check(p->n_sa_in <= SHOAL_MAX_SA_IN);
	if (p->has_mac) {
		if (!shoal_mac_is_unicast(p->mac))
			return -EINVAL;
		for (k = 0; k < dp.n; k++)
			if (&dp.peers[k] != e &&
			    !memcmp(dp.peers[k].mac, p->mac, 6))
				return -EEXIST;
	} else if (!e) {
		return -EINVAL;
	}
	for (i = 0; p->set_sa_in && i < p->n_sa_in; i++) {
		check(p->sa_in[i].spi >= 256);
		for (j = 0; j < i; j++)
			check(p->sa_in[j].spi != p->sa_in[i].spi);
		if (p->sa_in[i].keep && !held_by(e, p->sa_in[i].spi))
			return -ENOENT;
		if (spi_held(e, p->sa_in[i].spi))
			return -EEXIST;
	}
	if (!e) {
		if (dp.n >= DP_MAX_PEERS)
			return -ENOSPC;
		if (dp.n == dp.cap) {
			struct dp_peer *v;

			v = realloc(dp.peers, (dp.cap * 2 + 4) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			dp.peers = v;
			dp.cap = dp.cap * 2 + 4;
		}
		e = &dp.peers[dp.n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->key, p->public_key, 32);
	}
	if (p->has_mac)
		memcpy(e->mac, p->mac, 6);
	if (p->endpoint.len)
		e->endpoint = p->endpoint;
	if (p->set_sa_in) {
		e->n_in = p->n_sa_in;
		for (i = 0; i < p->n_sa_in; i++)
			e->spi_in[i] = p->sa_in[i].spi;
	}
	return 0;
}

static int dp_remove_peer(struct shoal_dp *unused, const uint8_t key[32])
{
	struct dp_peer *e = dp_find(key);

	(void)unused;
	if (!e)
		return -ENOENT;
	*e = dp.peers[--dp.n];
	return 0;
}

static bool usable(const struct shoal_endpoint *ep);
static struct shoal_endpoint server;

/* to is at the mediator's address (its ports, its relays). */
static bool at_mediator(const struct shoal_endpoint *to)
{
	return to->sa.sa_family == AF_INET &&
	       to->in.sin_addr.s_addr == server.in.sin_addr.s_addr;
}

static struct shoald d;

/*
 * to is our own end of a relay's TCP stream (mclient_tcp.c): loopback,
 * and a peer's relay only while UDP is blocked here.
 */
static bool own_tcp_loop(const struct shoal_endpoint *to)
{
	size_t i;

	for (i = 0; i < d.n_peers; i++)
		if (mclient_peer_tcp(&d, &d.peers[i]) &&
		    shoal_endpoint_equal(&d.peers[i].relay, to))
			return true;
	return false;
}

static int dp_send_control(struct shoal_dp *unused,
			   const struct shoal_endpoint *to,
			   const void *payload, size_t len)
{
	struct shoal_ctl_binding b;
	struct sent *s;
	const uint8_t *m = payload;
	uint64_t counter;
	uint32_t id;

	(void)unused;
	check(len >= 1 && len <= 1400 && ep_form(to));
	/* The mediator names relays and probes: shoal.ko refuses these. */
	if (ep_unspecified(to))
		return -EINVAL;
	/*
	 * Nothing goes where no peer can be (loopback, multicast, our own
	 * overlay) unless it is the mediator's host: relays and probes the
	 * mediator names are checked like candidates.
	 */
	check(usable(to) || at_mediator(to) || own_tcp_loop(to));
	switch (m[0]) {
	case SHOAL_CTL_BINDING:
		check(shoal_ctl_parse_binding(&b, m, len) == 0);
		break;
	case SHOAL_CTL_RELAY_BIND:
		check(shoal_ctl_parse_relay(m, len, SHOAL_CTL_RELAY_BIND, &id,
					    &counter, NULL) == 0);
		break;
	case SHOAL_CTL_INIT:
		check(len == SHOAL_CTL_INIT_LEN);
		break;
	default:
		/* Answers to peers'; none can reach this far here. */
		check(m[0] >= SHOAL_CTL_INIT &&
		      m[0] <= SHOAL_CTL_COOKIE_REPLY);
		break;
	}
	s = &dp.sent[dp.n_sent++ % SENT_MAX];
	s->to = *to;
	s->len = len < sizeof(s->msg) ? len : sizeof(s->msg);
	memcpy(s->msg, m, s->len);
	return 0;
}

static int dp_get(struct shoal_dp *dpp, struct shoal_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->ifindex = dpp->ifindex;
	return 0;
}

static int dp_handle(struct shoal_dp *unused, int fd, shoal_dp_event_fn fn,
		     void *ctx)
{
	(void)unused;
	(void)fd;
	(void)fn;
	(void)ctx;
	return 0;
}

static void dp_destroy(struct shoal_dp *unused)
{
	(void)unused;
	free(dp.peers);
	free(dp.neigh);
	memset(&dp, 0, sizeof(dp));
}

static const struct shoal_dp_ops dp_ops = {
	.name = "fuzz",
	.destroy = dp_destroy,
	.handle = dp_handle,
	.set_peer = dp_set_peer,
	.remove_peer = dp_remove_peer,
	.send_control = dp_send_control,
	.get = dp_get,
};

/* The control packet sent k before the newest, or NULL. */
static const struct sent *sent_back(unsigned int k)
{
	unsigned int n = dp.n_sent < SENT_MAX ? dp.n_sent : SENT_MAX;

	if (!n)
		return NULL;
	return &dp.sent[(dp.n_sent - 1 - k % n) % SENT_MAX];
}

/* ---- lib/link.c: a model of the device (harness) ---- */

static struct shoal_prefix ranges[SHOAL_CONFIG_MAX_ADDRS];
static unsigned int n_ranges;

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool within(int family, const void *addr, unsigned int len)
{
	struct shoal_prefix p = { .family = family, .len = (uint8_t)len };

	memcpy(&p.addr, addr, alen(family));
	return shoal_prefix_within(ranges, n_ranges, &p);
}

static bool own_link_local(int family, const void *addr, unsigned int len)
{
	uint8_t ll[16];

	shoal_mac_link_local(ll, dp.mac);
	return family == AF_INET6 && len == 64 && !memcmp(addr, ll, 16);
}

int shoal_link_set_mac(unsigned int ifindex, const uint8_t mac[6])
{
	check(ifindex == IFINDEX);
	/* An Ethernet device takes no multicast or zero address. */
	if (!shoal_mac_is_unicast(mac))
		return -EADDRNOTAVAIL;
	memcpy(dp.mac, mac, 6);
	return 0;
}

int shoal_link_set_up(unsigned int ifindex, bool up)
{
	check(ifindex == IFINDEX);
	(void)up;
	return 0;
}

static struct dev_addr *addr_find(int family, const void *addr,
				  unsigned int len)
{
	unsigned int i;

	for (i = 0; i < dp.n_addrs; i++)
		if (dp.addrs[i].family == family && dp.addrs[i].len == len &&
		    !memcmp(dp.addrs[i].a, addr, alen(family)))
			return &dp.addrs[i];
	return NULL;
}

int shoal_link_add_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len)
{
	struct dev_addr *a;

	check(ifindex == IFINDEX);
	check((family == AF_INET && prefix_len <= 32) ||
	      (family == AF_INET6 && prefix_len <= 128));
	/*
	 * A mediator is not trusted with our routing table: only addresses
	 * within the ranges, and the link-local address our MAC makes.
	 */
	check(within(family, addr, prefix_len) ||
	      own_link_local(family, addr, prefix_len));
	if (addr_find(family, addr, prefix_len))
		return 0;
	if (dp.n_addrs == MAX_ADDRS)
		return -ENOSPC;
	a = &dp.addrs[dp.n_addrs++];
	a->family = family;
	memcpy(a->a, addr, alen(family));
	a->len = prefix_len;
	return 0;
}

int shoal_link_del_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len)
{
	struct dev_addr *a;

	check(ifindex == IFINDEX);
	a = addr_find(family, addr, prefix_len);
	if (!a)
		return -EADDRNOTAVAIL;
	*a = dp.addrs[--dp.n_addrs];
	return 0;
}

int shoal_link_set_neigh(unsigned int ifindex, int family, const void *addr,
			 const uint8_t mac[6], bool add)
{
	size_t i;

	check(ifindex == IFINDEX);
	check(family == AF_INET || family == AF_INET6);
	for (i = 0; i < dp.n_neigh; i++)
		if (dp.neigh[i].family == family &&
		    !memcmp(dp.neigh[i].a, addr, alen(family)))
			break;
	if (!add) {
		if (i == dp.n_neigh)
			return -ENOENT;
		dp.neigh[i] = dp.neigh[--dp.n_neigh];
		return 0;
	}
	check(within(family, addr, family == AF_INET ? 32 : 128));
	if (i == dp.n_neigh) {
		if (dp.n_neigh == dp.cap_neigh) {
			struct neigh *v;

			v = realloc(dp.neigh, (dp.cap_neigh * 2 + 4) *
				    sizeof(*v));
			if (!v)
				return -ENOMEM;
			dp.neigh = v;
			dp.cap_neigh = dp.cap_neigh * 2 + 4;
		}
		dp.n_neigh++;
	}
	dp.neigh[i].family = family;
	memset(dp.neigh[i].a, 0, 16);
	memcpy(dp.neigh[i].a, addr, alen(family));
	memcpy(dp.neigh[i].mac, mac, 6);
	return 0;
}

/* ---- the run's state ---- */

static struct shoald d;
static int epfd = -1;
/* Where shoald keeps its state: a directory of the run's own. */
static char state_dir[PATH_MAX - 32], state_path[PATH_MAX], state_tmp[PATH_MAX],
	    stamps_path[PATH_MAX], learned_path[PATH_MAX],
	    learned_tmp[PATH_MAX];
static bool setup_login, has_static_peer;
static double ahead;		/* how far ticks run ahead of the clock */
static unsigned int base_fds;	/* open before the input */

/*
 * The mediator's end: the channel and our end of the socketpair; and
 * shoald's end, the one fd it may watch.
 */
static struct shoal_channel srv;
static int tcp = -1, shoald_fd = -1;

/* The requests shoald sent (a ring of the newest), and the last id. */
#define REQS_MAX 32
static struct req {
	uint8_t type;
	uint32_t id;
} reqs[REQS_MAX];
static unsigned int n_reqs;
static uint32_t last_id;

/* Relay keys of the RELAY events sent, to sign relays' answers with. */
#define KEYS_MAX 8
static uint8_t relay_keys[KEYS_MAX][SHOAL_CTL_RELAY_KEY_LEN];
static unsigned int n_relay_keys;

/* `shoal` clients: our end of each, and what came back. */
#define CTLS_MAX 48
static struct ctl {
	int fd;			/* -1: done */
	char *buf;
	size_t len, size;
	size_t cap;		/* the pipe's: a longer answer is cut */
} ctls[CTLS_MAX];
static unsigned int n_ctls;

static unsigned int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned int n = 0;

	if (!dir)
		return 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static void remove_dir(void)
{
	unlink(state_path);
	unlink(state_tmp);
	unlink(stamps_path);
	unlink(learned_path);
	unlink(learned_tmp);
	rmdir(state_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (fuzz_rng_install() != 0 || sodium_init() < 0)
		abort();
	shoal_key_public(shoald_pub, shoald_priv);
	shoal_key_public(mediator_pub, mediator_priv);
	/* As shoald does: a `shoal` client gone early is no SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(state_dir, sizeof(state_dir), "%s/shoal-fuzz-mclient.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (epfd < 0 || !mkdtemp(state_dir))
		abort();
	snprintf(state_path, sizeof(state_path), "%s/fz0.mediator",
		 state_dir);
	snprintf(state_tmp, sizeof(state_tmp), "%s.tmp", state_path);
	snprintf(stamps_path, sizeof(stamps_path), "%s/fz0.stamps",
		 state_dir);
	snprintf(learned_path, sizeof(learned_path), "%s/fz0.instances",
		 state_dir);
	snprintf(learned_tmp, sizeof(learned_tmp), "%s.tmp", learned_path);
	/* libFuzzer ends with exit(): the directory goes (not on a crash). */
	atexit(remove_dir);
	ep_v4(&server, MEDIATOR_ADDR, MEDIATOR_PORT);
	return 0;
}

/* ---- the mediator's side of the connection ---- */

static void gone(void)
{
	close(tcp);
	tcp = -1;
	shoal_channel_wipe(&srv);
}

/* A request from shoald: well-formed, with an id never used before. */
static void on_request(const uint8_t *buf, size_t len)
{
	struct shoal_tlv_msg m;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	uint8_t family, addr[16];
	uint16_t port;

	check(shoal_tlv_parse(&m, buf, len) == 0);
	check(!(m.flags & SHOAL_TLV_F_REPLY));
	check(m.type >= MED_LOGIN && m.type <= MED_NAT);
	check(m.request_id > last_id);
	last_id = m.request_id;
	reqs[n_reqs++ % REQS_MAX] = (struct req){ m.type, m.request_id };
	shoal_tlv_iter_msg(&it, &m);
	while (shoal_tlv_next(&it, &a))
		if (a.type == MED_A_ENDPOINT)
			check(shoal_med_endpoint_get(a.value, a.len, &family,
						     addr, &port) == 0);
		else if (a.type == MED_A_NAT)
			check(a.len == MED_NAT_LEN);
}

/* What shoald wrote: into the channel, requests out.  True if any. */
static bool mediator_read(void)
{
	static uint8_t buf[65536];
	const uint8_t *msg;
	bool any = false;
	size_t len;
	ssize_t n;
	int r;

	while (tcp >= 0) {
		n = recv(tcp, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		any = true;
		/* shoald closed it (with our bytes unread: ECONNRESET). */
		if (n <= 0) {
			check(n == 0 || errno == ECONNRESET);
			gone();
			break;
		}
		/* shoald is a real client: what it sends is the protocol. */
		check(shoal_channel_input(&srv, buf, (size_t)n) == 0);
		while ((r = shoal_channel_next(&srv, &msg, &len)) > 0)
			on_request(msg, len);
		check(r == 0);
	}
	return any;
}

/*
 * Runs both sides until nothing moves: the mediator's queued bytes go
 * out, shoald's loop handles what epoll says is ready, the mediator
 * reads.  A loop that never settles is a busy loop in shoald.
 */
static void pump(void)
{
	struct epoll_event evs[4];
	const uint8_t *data;
	unsigned int round;
	bool moved;
	ssize_t w;
	size_t n;
	int i, k;

	for (round = 0; round < 256; round++) {
		moved = false;
		while (tcp >= 0 && (n = shoal_channel_pending(&srv, &data))) {
			w = send(tcp, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w <= 0)
				break;
			shoal_channel_consumed(&srv, (size_t)w);
			moved = true;
		}
		k = epoll_wait(epfd, evs, 4, 0);
		check(k >= 0);
		for (i = 0; i < k; i++) {
			/*
			 * The mediator's connection, or the TCP fallback's
			 * own sockets (UDP blocked here): mclient's alone.
			 */
			check(mclient_handle(&d, evs[i].data.fd,
					     evs[i].events));
			if (evs[i].data.fd == shoald_fd)
				moved = true;
		}
		if (mediator_read())
			moved = true;
		if (!moved)
			return;
	}
	/* Far more rounds than an input can need: a busy loop. */
	check(round < 256);
}

static void to_shoald(const uint8_t *msg, size_t len)
{
	struct shoal_tlv_msg m;
	struct shoal_tlv_attr a;

	if (tcp < 0)
		return;
	if (len > SHOAL_CHANNEL_MAX_MSG)
		len = SHOAL_CHANNEL_MAX_MSG;
	/* A relay's answers are signed with the key its RELAY gave. */
	if (shoal_tlv_parse(&m, msg, len) == 0 &&
	    m.type == MED_RELAY_EVENT &&
	    shoal_tlv_find(&m, MED_A_RELAY_KEY, &a) &&
	    a.len == SHOAL_CTL_RELAY_KEY_LEN)
		memcpy(relay_keys[n_relay_keys++ % KEYS_MAX], a.value, a.len);
	if (shoal_channel_send(&srv, msg, len) < 0) {
		/* Backpressure: shoald reads first. */
		pump();
		if (tcp < 0 || shoal_channel_send(&srv, msg, len) < 0)
			return;
	}
	pump();
}

/* A message: header (version 1, type, flags, id), then attributes. */
static void send_tlv(uint8_t type, uint16_t flags, uint32_t id,
		     const uint8_t *attrs, size_t len)
{
	static uint8_t buf[SHOAL_TLV_HDR_LEN + 65536];

	buf[0] = SHOAL_TLV_VERSION;
	buf[1] = type;
	shoal_put_be16(buf + 2, flags);
	shoal_put_be32(buf + 4, id);
	memcpy(buf + SHOAL_TLV_HDR_LEN, attrs, len);
	to_shoald(buf, SHOAL_TLV_HDR_LEN + len);
}

static const struct req *req_back(unsigned int k)
{
	unsigned int n = n_reqs < REQS_MAX ? n_reqs : REQS_MAX;

	if (!n)
		return NULL;
	return &reqs[(n_reqs - 1 - k % n) % REQS_MAX];
}

/* A good LOGIN reply: addresses in both default and narrow ranges. */
static void login_reply(uint32_t id)
{
	static const uint8_t v4[5] = { 100, 64, 0, 5, 16 };
	static const uint8_t v6[17] = { 0xfd, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 5, 64 };
	static const uint8_t mac[6] = { 0x12, 0x05, 0x15, 0x6a, 0x3c, 0x98 };
	static const uint8_t probe[4] = { 198, 51, 100, 2 };
	uint8_t buf[256], token[SHOAL_CTL_TOKEN_LEN], ep[MED_ENDPOINT_MAX];
	struct shoal_tlv_writer w;
	int len;

	memset(token, 0x7b, sizeof(token));
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_LOGIN,
			      SHOAL_TLV_F_REPLY, id);
	shoal_tlv_put_u32(&w, MED_A_RESULT, 0);
	shoal_tlv_put_str(&w, MED_A_NICKNAME, "fuzz");
	shoal_tlv_put(&w, MED_A_IPV4, v4, sizeof(v4));
	shoal_tlv_put(&w, MED_A_IPV6, v6, sizeof(v6));
	shoal_tlv_put(&w, MED_A_MAC, mac, sizeof(mac));
	shoal_tlv_put(&w, MED_A_UDP_TOKEN, token, sizeof(token));
	shoal_tlv_put(&w, MED_A_PROBE, ep,
		      shoal_med_endpoint_put(ep, 4, probe, MEDIATOR_PORT + 2));
	len = shoal_tlv_finish(&w);
	check(len > 0);
	to_shoald(buf, (size_t)len);
}

/*
 * shoald's connect() succeeded: the handshake runs and its LOGIN comes;
 * the setup may answer it.  Not after a logout: shoald knows no mediator.
 */
static void connect_mediator(void)
{
	unsigned int before = n_reqs;
	int sv[2], ret;

	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0, sv) == 0);
	check(shoal_channel_server(&srv, mediator_priv) == 0);
	ret = mclient_attach(&d, sv[0], &server);
	if (ret < 0) {
		check(ret == -EINVAL);
		close(sv[0]);
		close(sv[1]);
		shoal_channel_wipe(&srv);
		return;
	}
	shoald_fd = sv[0];
	tcp = sv[1];
	pump();
	check(n_reqs == before + 1 && req_back(0)->type == MED_LOGIN);
	if (setup_login)
		login_reply(req_back(0)->id);
}

/* ---- `shoal` clients ---- */

/* Reads what came; at EOF the answer must be one, well-formed. */
static void ctl_read(struct ctl *c)
{
	const char *nl, *s;
	struct jr_value *v;
	char err[128], *end;
	long code;
	ssize_t n;

	if (c->fd < 0)
		return;
	for (;;) {
		if (c->size - c->len < 4096) {
			c->size = c->size * 2 + 4096;
			c->buf = realloc(c->buf, c->size);
			check(c->buf);
		}
		n = read(c->fd, c->buf + c->len, c->size - c->len);
		if (n < 0) {
			check(errno == EAGAIN);
			return;
		}
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		close(c->fd);
		c->fd = -1;
		break;
	}
	s = c->buf;
	nl = memchr(s, '\n', c->len);
	check(nl);
	if (!strncmp(s, "ok\n", 3) || !strncmp(s, "ok pending\n", 11)) {
		/* A body cut by a full pipe is not shoald's to answer for. */
		if ((size_t)(nl + 1 - s) < c->len && c->len < c->cap) {
			v = jr_parse(nl + 1, c->len - (size_t)(nl + 1 - s), err,
				     sizeof(err));
			if (!v)
				fprintf(stderr, "fuzz: %s: %.*s\n", err,
					(int)c->len, s);
			check(v);
			jr_free(v);
		}
	} else {
		check(!strncmp(s, "error ", 6));
		errno = 0;
		code = strtol(s + 6, &end, 10);
		check(!errno && end > s + 6 && *end == ' ' && code != 0 &&
		      code != 1 && end + 1 < nl);
		for (s = end + 1; s < nl; s++)
			check((unsigned char)*s >= 0x20 && *s != 0x7f);
		check((size_t)(nl + 1 - c->buf) == c->len);
	}
	free(c->buf);
	c->buf = NULL;
}

static void ctls_read(void)
{
	unsigned int i;

	for (i = 0; i < n_ctls; i++)
		if (ctls[i].fd >= 0)
			ctl_read(&ctls[i]);
}

/* A request line as the control socket passes it on: one line. */
static void request(const char *text, size_t len)
{
	char line[256];
	struct ctl *c;
	int p[2], size;

	len = strnlen(text, len < sizeof(line) - 1 ? len : sizeof(line) - 1);
	memcpy(line, text, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	/* login resolves and connects for real: not here. */
	if (!strncmp(line + strspn(line, " "), "login", 5) ||
	    n_ctls == CTLS_MAX)
		return;
	check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	/* Room for the longest answer an input of this size can make. */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	size = fcntl(p[1], F_GETPIPE_SZ);
	c = &ctls[n_ctls++];
	*c = (struct ctl){ .fd = p[0], .cap = size > 0 ? (size_t)size : 0 };
	/* Not the client's request: control.c answers it, not our concern. */
	if (!mclient_request(&d, p[1], line)) {
		close(p[1]);
		close(c->fd);
		c->fd = -1;
		n_ctls--;
		return;
	}
	pump();
}

/* ---- frames ---- */

struct input {
	const uint8_t *p;
	size_t left;
};

static bool take_u8(struct input *in, uint8_t *v)
{
	if (!in->left)
		return false;
	*v = *in->p++;
	in->left--;
	return true;
}

/* LEN (2 bytes) and that many bytes, cut to what is left. */
static size_t take_bytes(struct input *in, const uint8_t **bytes)
{
	uint8_t hi = 0, lo = 0;
	size_t n;

	take_u8(in, &hi);
	take_u8(in, &lo);
	n = (size_t)(hi << 8 | lo);
	if (n > in->left)
		n = in->left;
	*bytes = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

/* A control packet at the tunnel port, as the datapath reports it. */
static void udp(const struct shoal_endpoint *from, const uint8_t *payload,
		size_t len)
{
	struct shoal_dp_event ev = { .type = SHOAL_DP_EV_CONTROL };
	uint8_t *copy;

	if (!len || len > 1400 || !ep_source(from))
		return;
	/* Exactly len bytes on the heap: ASan sees any read past them. */
	copy = malloc(len);
	check(copy);
	memcpy(copy, payload, len);
	ev.from = *from;
	ev.payload = copy;
	ev.len = len;
	shoald_on_event(&d, &ev);
	free(copy);
	pump();
}

static void frame_udp(struct input *in)
{
	struct shoal_endpoint from = server;
	const struct sent *s;
	const uint8_t *payload;
	uint8_t sel = 0, k = 0, v[MED_ENDPOINT_MAX], family, addr[16];
	uint16_t port;
	size_t n, len;

	take_u8(in, &sel);
	switch (sel % 4) {
	case 1:
		from.in.sin_port = htons(MEDIATOR_PORT + 1);
		break;
	case 2:
		take_u8(in, &k);
		s = sent_back(k);
		if (s)
			from = s->to;
		break;
	case 3:
		n = in->left && in->p[0] == 4 ? 7 : 19;
		if (in->left < n)
			return;
		memcpy(v, in->p, n);
		in->p += n;
		in->left -= n;
		if (shoal_med_endpoint_get(v, n, &family, addr, &port) < 0)
			return;
		memset(&from, 0, sizeof(from));
		if (family == 4) {
			from.in.sin_family = AF_INET;
			memcpy(&from.in.sin_addr, addr, 4);
			from.in.sin_port = htons(port);
			from.len = sizeof(from.in);
		} else {
			from.in6.sin6_family = AF_INET6;
			memcpy(&from.in6.sin6_addr, addr, 16);
			from.in6.sin6_port = htons(port);
			from.len = sizeof(from.in6);
		}
		break;
	}
	len = take_bytes(in, &payload);
	udp(&from, payload, len);
}

/* The answer the mediator or a relay would give to a packet shoald sent. */
static void frame_answer(struct input *in)
{
	uint8_t k = 0, how = 0, x[8] = { 0 }, out[SHOAL_CTL_MAX_LEN];
	uint8_t cookie[SHOAL_CTL_RELAY_COOKIE_LEN];
	const uint8_t *key = NULL;
	struct shoal_ctl_binding_reply r = { 0 };
	struct shoal_endpoint from;
	const struct sent *s;
	uint64_t counter;
	uint32_t id;
	unsigned int i;
	int len = -1;

	take_u8(in, &k);
	take_u8(in, &how);
	for (i = 0; i < sizeof(x); i++)
		take_u8(in, &x[i]);
	s = sent_back(k);
	if (!s)
		return;
	from = how & A_WRONG_SOURCE ? server : s->to;
	if (s->msg[0] == SHOAL_CTL_BINDING && s->len == SHOAL_CTL_BINDING_LEN) {
		r.flags = (s->msg[4] & 3) | (how & A_KNOWN ? 0x80 : 0) |
			  (how & A_UNCHANGED ? 0x40 : 0);
		memcpy(r.txid, s->msg + 8, SHOAL_CTL_TXID_LEN);
		if (how & A_V6) {
			r.mapped.in6.sin6_family = AF_INET6;
			r.mapped.in6.sin6_addr.s6_addr[0] = 0x20;
			r.mapped.in6.sin6_addr.s6_addr[1] = 0x01;
			memcpy(&r.mapped.in6.sin6_addr.s6_addr[10], x, 6);
			r.mapped.in6.sin6_port = htons((uint16_t)(x[6] << 8 |
							x[7]));
			r.mapped.len = sizeof(r.mapped.in6);
		} else {
			r.mapped.in.sin_family = AF_INET;
			memcpy(&r.mapped.in.sin_addr, x, 4);
			r.mapped.in.sin_port = htons((uint16_t)(x[4] << 8 |
							       x[5]));
			r.mapped.len = sizeof(r.mapped.in);
		}
		len = shoal_ctl_write_binding_reply(out, sizeof(out), &r);
	} else if (s->msg[0] == SHOAL_CTL_RELAY_BIND &&
		   shoal_ctl_parse_relay(s->msg, s->len, SHOAL_CTL_RELAY_BIND,
					 &id, &counter, NULL) == 0) {
		for (i = 0; i < n_relay_keys && i < KEYS_MAX && !key; i++)
			if (shoal_ctl_relay_verify(s->msg, s->len,
						   relay_keys[i]))
				key = relay_keys[i];
		if (!key)
			return;
		memcpy(cookie, x, 8);
		memcpy(cookie + 8, x, 8);
		len = shoal_ctl_write_relay(out, sizeof(out),
					    how & A_CHALLENGE ?
					    SHOAL_CTL_RELAY_CHALLENGE :
					    SHOAL_CTL_RELAY_BOUND, id, counter,
					    cookie, key);
	}
	if (len <= 0)
		return;
	if (how & A_FLIP)
		out[x[6] % len] ^= (uint8_t)(1 << (x[7] & 7));
	udp(&from, out, (size_t)len);
}

static void frame(struct input *in)
{
	const uint8_t *bytes;
	const struct req *r;
	uint8_t kind = 0, b = 0;
	size_t len;

	take_u8(in, &kind);
	switch (kind % F_COUNT) {
	case F_MSG:
		len = take_bytes(in, &bytes);
		to_shoald(bytes, len);
		break;
	case F_EVENT:
		take_u8(in, &b);
		len = take_bytes(in, &bytes);
		send_tlv(b ? b : 1, 0, 0, bytes, len);
		break;
	case F_REPLY:
		take_u8(in, &b);
		len = take_bytes(in, &bytes);
		r = req_back(b);
		if (r)
			send_tlv(r->type, SHOAL_TLV_F_REPLY, r->id, bytes, len);
		break;
	case F_UDP:
		frame_udp(in);
		break;
	case F_ANSWER:
		frame_answer(in);
		break;
	case F_REQUEST:
		take_u8(in, &b);
		if (b < N_CANNED) {
			request(canned[b], strlen(canned[b]));
			break;
		}
		len = in->left ? *in->p : 0;
		take_u8(in, &b);
		if (len > in->left)
			len = in->left;
		request((const char *)in->p, len);
		in->p += len;
		in->left -= len;
		break;
	case F_TICK:
		take_u8(in, &b);
		ahead += b * b * 0.016;
		shoald_tick(&d, shoald_now() + ahead);
		/* Without a connection it would connect() for real. */
		if (tcp >= 0)
			mclient_tick(&d, shoald_now() + ahead);
		pump();
		break;
	case F_EOF:
		if (tcp >= 0) {
			gone();
			pump();
		}
		break;
	case F_RECONNECT:
		if (tcp < 0)
			connect_mediator();
		break;
	}
}

/* ---- what must hold ---- */

static bool usable(const struct shoal_endpoint *ep)
{
	uint8_t addr[16];
	int family;

	return ep_form(ep) && shoal_candidate_usable(ep, true, &family, addr);
}

static bool neigh_of_peer(const struct neigh *n)
{
	size_t i;

	for (i = 0; i < d.n_peers; i++) {
		const struct shoald_peer *p = &d.peers[i];

		if (memcmp(p->mac, n->mac, 6))
			continue;
		if (n->family == AF_INET ?
		    p->has_v4 && !memcmp(p->v4, n->a, 4) :
		    p->has_v6 && !memcmp(p->v6, n->a, 16))
			return true;
	}
	return false;
}

/* The "mediator" object of `status json` is JSON. */
static void check_status(void)
{
	struct jr_value *v;
	char *text = NULL, err[128];
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	check(f);
	mclient_status_json(&d, f);
	check(fclose(f) == 0);
	v = jr_parse(text, len, err, sizeof(err));
	check(v);
	jr_free(v);
	free(text);
}

static void check_state(void)
{
	unsigned int j, n4 = 0, n6 = 0, nll = 0;
	struct dp_peer *e;
	size_t i, k;

	check(d.n_peers == dp.n);
	/*
	 * The configuration's peer is not the mediator's to take away, nor
	 * its MAC, which a peer of the mediator's could then take.
	 */
	if (has_static_peer) {
		const struct shoald_peer *p = shoald_peer_find(&d,
							       static_peer_key);
		uint8_t mac[6];

		shoal_mac_from_key(mac, static_peer_key, 0);
		check(p && !p->from_mediator && !memcmp(p->mac, mac, 6));
	}
	for (i = 0; i < d.n_peers; i++) {
		const struct shoald_peer *p = &d.peers[i];

		e = dp_find(p->public_key);
		check(e && !memcmp(e->mac, p->mac, 6));
		check(memcmp(p->public_key, d.public_key, 32));
		for (k = 0; k < i; k++)
			check(memcmp(d.peers[k].public_key, p->public_key, 32));
		check(!p->endpoint.len || ep_form(&p->endpoint));
		check(p->n_candidates <= SHOALD_MAX_CANDIDATES);
		for (j = 0; j < p->n_candidates; j++)
			check(usable(&p->candidates[j]));
		check(!p->has_relay || ep_form(&p->relay));
		check(memchr(p->nickname, 0, sizeof(p->nickname)) &&
		      memchr(p->address, 0, sizeof(p->address)) &&
		      memchr(p->address6, 0, sizeof(p->address6)));
		check(!p->has_v4 || within(AF_INET, p->v4, 32));
		check(!p->has_v6 || within(AF_INET6, p->v6, 128));
	}
	for (i = 0; i < dp.n_neigh; i++)
		check(neigh_of_peer(&dp.neigh[i]));
	/* No login's addresses pile up, nor link-local ones as MACs change. */
	for (j = 0; j < dp.n_addrs; j++) {
		if (dp.addrs[j].family == AF_INET)
			n4++;
		else if (dp.addrs[j].a[0] == 0xfe && dp.addrs[j].a[1] == 0x80)
			nll++;
		else
			n6++;
	}
	check(n4 <= 1 && n6 <= 1 && nll <= 1);
	check_status();
}

/* ---- one run ---- */

static void setup(uint8_t s)
{
	struct shoal_config c = { .has_mediator = true };
	struct shoald_peer *p;

	memset(&d, 0, sizeof(d));
	memcpy(d.private_key, shoald_priv, 32);
	memcpy(d.public_key, shoald_pub, 32);
	d.rekey_seconds = SHOAL_CONFIG_DEFAULT_REKEY;
	d.keepalive_seconds = SHOAL_CONFIG_DEFAULT_KEEPALIVE;
	d.adopt_peers = true;
	d.verbose = s & 0x80;
	dp.dp.ops = &dp_ops;
	snprintf(dp.dp.ifname, sizeof(dp.dp.ifname), "fz0");
	dp.dp.ifindex = IFINDEX;
	dp.dp.listen_port = TUNNEL_PORT;
	shoal_mac_from_key(dp.dp.mac, shoald_pub, 0);
	d.dp = &dp.dp;
	/* As load_peers() in shoald.c: a [Peer] with an endpoint. */
	d.peers = calloc(1, sizeof(*d.peers));
	check(d.peers);
	has_static_peer = s & 0x20;
	if (has_static_peer) {
		p = &d.peers[d.n_peers++];
		memcpy(p->public_key, static_peer_key, 32);
		shoal_mac_from_key(p->mac, static_peer_key, 0);
		ep_v4(&p->endpoint, "198.51.100.77", TUNNEL_PORT);
	}
	check(shoald_sessions_start(&d, stamps_path) == 0);

	snprintf(c.mediator_addresses[0], sizeof(c.mediator_addresses[0]),
		 "%s:%u", MEDIATOR_ADDR, MEDIATOR_PORT);
	c.n_mediator_addresses = 1;
	memcpy(c.mediator_key, mediator_pub, 32);
	snprintf(c.nickname, sizeof(c.nickname), "fuzz");
	if (s & 0x40) {
		shoal_prefix_parse(&c.mediator_ranges[0], "100.64.0.0/16");
		shoal_prefix_parse(&c.mediator_ranges[1], "fd00::/8");
		c.n_mediator_ranges = 2;
		memcpy(ranges, c.mediator_ranges, sizeof(ranges));
		n_ranges = 2;
	} else {
		shoal_prefix_parse(&ranges[0], SHOAL_CONFIG_DEFAULT_RANGE4);
		shoal_prefix_parse(&ranges[1], SHOAL_CONFIG_DEFAULT_RANGE6);
		n_ranges = 2;
	}
	check(mclient_open(&d, epfd, state_path, &c) == 0);

	setup_login = s & 1;
	connect_mediator();
	if ((s >> 1) & 0xf)
		request(canned[((s >> 1) & 0xf) - 1],
			strlen(canned[((s >> 1) & 0xf) - 1]));
}

static void teardown(void)
{
	struct epoll_event ev;
	unsigned int i;

	mclient_close(&d);
	/* Every client has its answer, and its fd is closed. */
	for (i = 0; i < n_ctls; i++) {
		ctl_read(&ctls[i]);
		check(ctls[i].fd < 0);
	}
	n_ctls = 0;
	if (tcp >= 0)
		gone();
	/* Nothing of shoald's is left in the loop. */
	check(epoll_wait(epfd, &ev, 1, 0) == 0);
	d.dp->ops->destroy(d.dp);
	shoald_sessions_wipe(&d);
	free(d.peers);
	unlink(state_path);
	unlink(state_tmp);
	unlink(stamps_path);
	/* A cluster's instances (mclient_cluster.c): none for the next input. */
	unlink(learned_path);
	unlink(learned_tmp);
	check(count_fds() == base_fds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t s = 0;

	fuzz_rng_seed(0);
	ahead = 0;
	n_reqs = 0;
	last_id = 0;
	n_relay_keys = 0;
	/*
	 * Counted for each input: the sanitizers' symbolizer, started
	 * between inputs, keeps fds of its own.
	 */
	base_fds = count_fds();
	take_u8(&in, &s);
	setup(s);
	check_state();
	while (in.left) {
		frame(&in);
		ctls_read();
		check_state();
	}
	teardown();
	return 0;
}
