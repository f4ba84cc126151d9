// SPDX-License-Identifier: MIT
/*
 * shoal: the command-line tool, in the style of wg(8) and ip(8).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <sodium.h>

#include "device.h"
#include "endpoint.h"
#include "genl.h"
#include "hex.h"
#include "json.h"
#include "key.h"
#include "link.h"
#include "mac.h"
#include "mediator.h"
#include "sa.h"
#include "uapi/linux/shoal.h"
#include "status.h"
#include "util.h"

/* The largest control payload SHOAL_A_CONTROL_PAYLOAD carries. */
#define SHOAL_CONTROL_MAX 1400

static const char usage_text[] =
	"Usage: shoal COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  genkey                 print a new base64 private key\n"
	"  pubkey                 read a private key on stdin, print its public key\n"
	"  set DEV [listen-port PORT] [peer PEER [remove] [mac MAC]\n"
	"      [endpoint HOST:PORT] [[no-]layer3] [[no-]bridge]\n"
	"      [allowed-ips PREFIX[,PREFIX...]|any]\n"
	"      [sa-out SPI KEYFILE [LIMITS]] [sa-in SPI KEYFILE [LIMITS]]...]...\n"
	"      LIMITS: [soft-packets N] [hard-packets N] [soft-seconds N] [hard-seconds N]\n"
	"                         configure a device and its peers\n"
	"  show [DEV|all] [--json]\n"
	"                         show shoal devices\n"
	"  monitor [DEV] [--json] print kernel events until interrupted\n"
	"  send DEV HOST:PORT HEX send a control packet from DEV's socket\n"
	"  status [NAME | -i NAME] [--json] [--socket PATH]\n"
	"                         ask shoald about its peers\n"
	"\n"
	"Commands shoald carries out with the mediator:\n"
	"  login HOST:PORT PUBLICKEY [--nick NICKNAME] [--json]\n"
	"                         log in; print the nickname and addresses\n"
	"  logout                 log out\n"
	"  nick NICKNAME          change the nickname\n"
	"  create NET [--password-file FILE | --no-password] [--approval]\n"
	"                         create a network\n"
	"  join NET [--password-file FILE | --no-password]\n"
	"                         join a network\n"
	"  leave NET              leave a network\n"
	"  delete NET             delete a network you own\n"
	"  approve NET NICKNAME   let a member waiting for approval in\n"
	"  kick NET NICKNAME      remove a member\n"
	"  ban NET NICKNAME       remove a member for good\n"
	"  set-password NET [--password-file FILE | --no-password]\n"
	"                         change or remove a network's password\n"
	"  networks [--json]      show the networks and their members\n"
	"  netcheck [--json]      find out how the NAT here behaves\n"
	"  These and status take -i NAME (shoald of interface NAME) and\n"
	"  -s PATH (its socket); 'shoal COMMAND --help' says more.\n"
	"\n"
	"Options:\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See shoal(8).\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("shoal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'shoal --help'.\n", stderr);
	return SHOAL_EXIT_USAGE;
}

static int cmd_genkey(int argc, char **argv)
{
	uint8_t key[SHOAL_KEY_LEN];
	char b64[SHOAL_KEY_B64_LEN + 1];

	(void)argv;
	if (argc > 1)
		return usage_error("genkey takes no arguments");
	if (shoal_key_generate(key) < 0) {
		fputs("shoal: cannot initialise libsodium\n", stderr);
		return SHOAL_EXIT_FAILURE;
	}
	shoal_key_to_base64(b64, key);
	puts(b64);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(b64, sizeof(b64));
	return SHOAL_EXIT_OK;
}

static int cmd_pubkey(int argc, char **argv)
{
	uint8_t priv[SHOAL_KEY_LEN], pub[SHOAL_KEY_LEN];
	char b64[SHOAL_KEY_B64_LEN + 1];
	int ret = SHOAL_EXIT_FAILURE;

	(void)argv;
	if (argc > 1)
		return usage_error("pubkey takes no arguments");
	if (shoal_key_read(priv, stdin) < 0) {
		fputs("shoal: pubkey: standard input is not a base64 32-byte key\n",
		      stderr);
		goto wipe;
	}
	if (shoal_key_public(pub, priv) < 0) {
		fputs("shoal: pubkey: that key is not usable\n", stderr);
		goto wipe;
	}
	shoal_key_to_base64(b64, pub);
	puts(b64);
	ret = SHOAL_EXIT_OK;
wipe:
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

static int report_genl_error(const char *what, int err, const char *ext_msg)
{
	if (err == -ENOENT) {
		fputs("shoal: the shoal kernel module is not available "
		      "(generic netlink family 'shoal' not found; "
		      "is shoal.ko installed and loadable?)\n", stderr);
		return SHOAL_EXIT_NO_MODULE;
	}
	/* The module says why when it is more than the plain capability. */
	if (err == -EPERM && !(ext_msg && *ext_msg))
		fprintf(stderr, "shoal: %s: permission denied (needs CAP_NET_ADMIN)\n",
			what);
	else
		fprintf(stderr, "shoal: %s: %s%s%s\n", what, strerror(-err),
			ext_msg && *ext_msg ? ": " : "", ext_msg ? ext_msg : "");
	return SHOAL_EXIT_FAILURE;
}

/* Opens the family; an exit code other than SHOAL_EXIT_OK on failure. */
static int open_genl(struct shoal_genl *g, const char *what)
{
	int err = shoal_genl_open(g);

	return err < 0 ? report_genl_error(what, err, NULL) : SHOAL_EXIT_OK;
}

/* The argument after argv[*i], moving *i onto it; NULL if there is none. */
static const char *next_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Strict decimal 0..max, no sign, no leading zeros. */
static int parse_decimal(const char *text, unsigned long max,
			 unsigned long *v)
{
	size_t i, n = strlen(text);

	if (n == 0 || n > 10 || (n > 1 && text[0] == '0'))
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long)(text[i] - '0');
		if (*v > max)
			return -1;
	}
	return 0;
}

/* ---- shoal set ---------------------------------------------------- */

struct sa_arg {
	uint32_t spi;
	uint8_t key[SHOAL_SA_KEY_LEN];
	uint64_t soft_packets, hard_packets;	/* 0: the kernel's default */
	uint64_t soft_seconds, hard_seconds;	/* 0: none */
};

struct peer_arg {
	const char *name;		/* the key as given, for messages */
	uint8_t public_key[SHOAL_KEY_LEN];
	bool remove, has_mac, has_sa_out;
	int layer3, bridge;		/* -1: leave as it is */
	uint8_t mac[SHOAL_MAC_LEN];
	struct shoal_endpoint endpoint;	/* len 0: leave as it is */
	struct sa_arg sa_out;
	unsigned int n_sa_in;
	struct sa_arg sa_in[SHOAL_MAX_SA_IN];
	bool set_allowed_ips;		/* with none: any source again */
	unsigned int n_allowed_ips;
	struct shoal_prefix allowed_ips[SHOAL_MAX_ALLOWED_IPS];
};

struct set_args {
	const char *dev;
	bool has_port, stdin_used;
	uint16_t port;
	struct peer_arg *peers;
	size_t n_peers;
};

_Static_assert(SHOAL_SA_KEY_BYTES == SHOAL_SA_KEY_LEN, "SA key length");

/* A packet count: decimal, 1..2^64-1, nothing else. */
static int parse_count(uint64_t *n, const char *text)
{
	unsigned long long v;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || !v)
		return -1;
	*n = v;
	return 0;
}

/* The kernel's longest SA lifetime: a year. */
#define SHOAL_SA_MAX_SECONDS (365 * 24 * 3600)

/* Optional limits after an SA's KEYFILE: [soft|hard]-[packets|seconds] N. */
static int parse_sa_limits(int argc, char **argv, int *i, struct sa_arg *sa)
{
	while (*i + 1 < argc) {
		const char *opt = argv[*i + 1];
		uint64_t *n;

		uint64_t max = UINT64_MAX;

		if (!strcmp(opt, "soft-packets")) {
			n = &sa->soft_packets;
		} else if (!strcmp(opt, "hard-packets")) {
			n = &sa->hard_packets;
		} else if (!strcmp(opt, "soft-seconds")) {
			n = &sa->soft_seconds;
			max = SHOAL_SA_MAX_SECONDS;
		} else if (!strcmp(opt, "hard-seconds")) {
			n = &sa->hard_seconds;
			max = SHOAL_SA_MAX_SECONDS;
		} else {
			break;
		}
		(*i)++;
		if (parse_count(n, next_arg(argc, argv, i)) < 0 || *n > max)
			return usage_error("set: '%s' needs a number from 1 to "
					   "%" PRIu64, opt, max);
	}
	return SHOAL_EXIT_OK;
}

/* SPI KEYFILE after sa-out or sa-in: an exit code. */
static int parse_sa(struct set_args *a, struct peer_arg *p, const char *opt,
		    int argc, char **argv, int *i, struct sa_arg *sa)
{
	const char *spi = next_arg(argc, argv, i);
	const char *file = next_arg(argc, argv, i);
	bool from_stdin;
	int fd, err;

	if (!spi || !file)
		return usage_error("set: '%s' needs an SPI and a KEYFILE", opt);
	if (shoal_spi_parse(&sa->spi, spi) < 0)
		return usage_error("set: '%s' is not an SPI (256..4294967295, "
				   "decimal or 0x-hex)", spi);
	from_stdin = !strcmp(file, "-");
	if (from_stdin) {
		if (a->stdin_used)
			return usage_error("set: only one KEYFILE can be '-' "
					   "(standard input)");
		a->stdin_used = true;
		fd = STDIN_FILENO;
	} else {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "shoal: set: %s: %s\n", file,
				strerror(errno));
			return SHOAL_EXIT_FAILURE;
		}
	}
	err = shoal_sa_key_read(sa->key, fd);
	if (!from_stdin)
		close(fd);
	if (from_stdin)
		file = "standard input";
	if (err == -EINVAL) {
		fprintf(stderr, "shoal: set: peer %s: %s %s: %s does not hold "
			"72 hex digits (a 32-byte key and a 4-byte salt)\n",
			p->name, opt, spi, file);
		return SHOAL_EXIT_FAILURE;
	}
	if (err < 0) {
		fprintf(stderr, "shoal: set: %s: %s\n", file, strerror(-err));
		return SHOAL_EXIT_FAILURE;
	}
	return parse_sa_limits(argc, argv, i, sa);
}

static int parse_sa_in(struct set_args *a, struct peer_arg *p, int argc,
		       char **argv, int *i)
{
	unsigned int j;
	int ret;

	if (p->n_sa_in == SHOAL_MAX_SA_IN)
		return usage_error("set: peer %s: at most %d 'sa-in'", p->name,
				   SHOAL_MAX_SA_IN);
	ret = parse_sa(a, p, "sa-in", argc, argv, i, &p->sa_in[p->n_sa_in]);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	for (j = 0; j < p->n_sa_in; j++)
		if (p->sa_in[j].spi == p->sa_in[p->n_sa_in].spi)
			return usage_error("set: peer %s: 'sa-in' SPI %u given "
					   "twice", p->name,
					   (unsigned int)p->sa_in[j].spi);
	p->n_sa_in++;
	return SHOAL_EXIT_OK;
}

/* A yes/no peer option (layer3, no-bridge, ...): an exit code. */
static int parse_flag(struct peer_arg *p, const char *opt, int *flag,
		      int value)
{
	if (*flag != -1)
		return usage_error("set: peer %s: '%s' conflicts with an earlier "
				   "option", p->name, opt);
	*flag = value;
	return SHOAL_EXIT_OK;
}

static int parse_mac(struct peer_arg *p, const char *text)
{
	if (!text)
		return usage_error("set: 'mac' needs a MAC address");
	if (p->has_mac)
		return usage_error("set: peer %s: 'mac' given twice", p->name);
	if (shoal_mac_parse(p->mac, text) < 0 || !shoal_mac_is_unicast(p->mac))
		return usage_error("set: '%s' is not a unicast MAC address "
				   "(aa:bb:cc:dd:ee:ff)", text);
	p->has_mac = true;
	return SHOAL_EXIT_OK;
}

/* "any", or a comma-separated list of prefixes without host bits. */
static int parse_allowed_ips(struct peer_arg *p, const char *text)
{
	char buf[SHOAL_PREFIX_STRLEN + 1], net[SHOAL_PREFIX_STRLEN + 1];
	struct shoal_prefix *pre;
	const char *item = text;
	size_t len;

	if (!text)
		return usage_error("set: 'allowed-ips' needs PREFIX[,PREFIX...] "
				   "or 'any'");
	if (p->set_allowed_ips)
		return usage_error("set: peer %s: 'allowed-ips' given twice",
				   p->name);
	p->set_allowed_ips = true;
	if (!strcmp(text, "any"))
		return SHOAL_EXIT_OK;
	for (;;) {
		len = strcspn(item, ",");
		if (!len || len >= sizeof(buf))
			return usage_error("set: allowed-ips: '%.*s' is not a "
					   "prefix", (int)len, item);
		if (p->n_allowed_ips == SHOAL_MAX_ALLOWED_IPS)
			return usage_error("set: peer %s: at most %d allowed IPs",
					   p->name, SHOAL_MAX_ALLOWED_IPS);
		memcpy(buf, item, len);
		buf[len] = '\0';
		pre = &p->allowed_ips[p->n_allowed_ips++];
		if (shoal_prefix_parse(pre, buf) < 0)
			return usage_error("set: allowed-ips: '%s' is not an IP "
					   "address with an optional /length",
					   buf);
		if (!shoal_prefix_is_network(pre)) {
			shoal_prefix_mask(pre);
			shoal_prefix_format(net, sizeof(net), pre);
			return usage_error("set: allowed-ips: '%s' has host bits "
					   "set (the network is %s)", buf, net);
		}
		if (!item[len])
			return SHOAL_EXIT_OK;
		item += len + 1;
	}
}

static int parse_endpoint(struct peer_arg *p, const char *text)
{
	if (!text)
		return usage_error("set: 'endpoint' needs HOST:PORT");
	if (p->endpoint.len)
		return usage_error("set: peer %s: 'endpoint' given twice",
				   p->name);
	if (shoal_endpoint_parse(&p->endpoint, text) < 0)
		return usage_error("set: '%s' is not an endpoint (1.2.3.4:PORT "
				   "or [v6addr]:PORT, numeric, port 1..65535)",
				   text);
	return SHOAL_EXIT_OK;
}

/* One option of the current peer at argv[*i]: an exit code. */
static int parse_peer_option(struct set_args *a, struct peer_arg *p,
			     int argc, char **argv, int *i)
{
	const char *opt = argv[*i];

	if (!strcmp(opt, "remove")) {
		p->remove = true;
		return SHOAL_EXIT_OK;
	}
	if (!strcmp(opt, "layer3") || !strcmp(opt, "no-layer3"))
		return parse_flag(p, opt, &p->layer3, opt[0] != 'n');
	if (!strcmp(opt, "bridge") || !strcmp(opt, "no-bridge"))
		return parse_flag(p, opt, &p->bridge, opt[0] != 'n');
	if (!strcmp(opt, "mac"))
		return parse_mac(p, next_arg(argc, argv, i));
	if (!strcmp(opt, "endpoint"))
		return parse_endpoint(p, next_arg(argc, argv, i));
	if (!strcmp(opt, "allowed-ips"))
		return parse_allowed_ips(p, next_arg(argc, argv, i));
	if (!strcmp(opt, "sa-out")) {
		if (p->has_sa_out)
			return usage_error("set: peer %s: 'sa-out' given twice",
					   p->name);
		p->has_sa_out = true;
		return parse_sa(a, p, "sa-out", argc, argv, i, &p->sa_out);
	}
	if (!strcmp(opt, "sa-in"))
		return parse_sa_in(a, p, argc, argv, i);
	return usage_error("set: unknown peer option '%s'", opt);
}

static int parse_listen_port(struct set_args *a, const char *text)
{
	unsigned long v;

	if (!text)
		return usage_error("set: 'listen-port' needs a port");
	if (a->has_port)
		return usage_error("set: 'listen-port' given twice");
	if (parse_decimal(text, 65535, &v) < 0)
		return usage_error("set: '%s' is not a port (0..65535)", text);
	a->port = (uint16_t)v;
	a->has_port = true;
	return SHOAL_EXIT_OK;
}

static int parse_peer(struct set_args *a, const char *text)
{
	struct peer_arg *p = &a->peers[a->n_peers];

	if (!text)
		return usage_error("set: 'peer' needs a public key");
	if (shoal_key_from_base64(p->public_key, text) < 0)
		return usage_error("set: '%s' is not a base64 32-byte public key",
				   text);
	p->name = text;
	p->layer3 = -1;
	p->bridge = -1;
	a->n_peers++;
	return SHOAL_EXIT_OK;
}

static int parse_set(struct set_args *a, int argc, char **argv)
{
	struct peer_arg *p = NULL;
	int i, ret = SHOAL_EXIT_OK;

	if (argc < 2)
		return usage_error("set: which device?");
	a->dev = argv[1];
	if (!shoal_link_name_valid(a->dev))
		return usage_error("set: '%s' is not an interface name", a->dev);
	for (i = 2; i < argc && ret == SHOAL_EXIT_OK; i++) {
		if (!strcmp(argv[i], "listen-port")) {
			ret = parse_listen_port(a, next_arg(argc, argv, &i));
		} else if (!strcmp(argv[i], "peer")) {
			ret = parse_peer(a, next_arg(argc, argv, &i));
			if (ret == SHOAL_EXIT_OK)
				p = &a->peers[a->n_peers - 1];
		} else if (p) {
			ret = parse_peer_option(a, p, argc, argv, &i);
		} else {
			ret = usage_error("set: unknown option '%s' (expected "
					  "'listen-port' or 'peer')", argv[i]);
		}
	}
	return ret;
}

static bool put_sa(struct nlmsghdr *nlh, size_t size, uint16_t type,
		   const struct sa_arg *sa)
{
	const struct shoal_sa_attrs attrs = {
		.spi = sa->spi,
		.key = sa->key,
		.soft_packets = sa->soft_packets,
		.hard_packets = sa->hard_packets,
		.soft_seconds = (uint32_t)sa->soft_seconds,
		.hard_seconds = (uint32_t)sa->hard_seconds,
	};

	return shoal_device_put_sa(nlh, size, type, &attrs);
}

static bool put_sa_in(struct nlmsghdr *nlh, size_t size,
		      const struct peer_arg *p)
{
	struct nlattr *list;
	unsigned int i;

	list = mnl_attr_nest_start_check(nlh, size, SHOAL_A_PEER_SA_IN);
	if (!list)
		return false;
	for (i = 0; i < p->n_sa_in; i++)
		if (!put_sa(nlh, size, SHOAL_A_SA, &p->sa_in[i]))
			return false;
	mnl_attr_nest_end(nlh, list);
	return true;
}

/* One SHOAL_A_PEER nest; false (and nothing added) if it does not fit. */
static bool put_peer(struct nlmsghdr *nlh, size_t size,
		     const struct peer_arg *p)
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
	if (ok && p->has_mac)
		ok = mnl_attr_put_check(nlh, size, SHOAL_A_PEER_MAC,
					sizeof(p->mac), p->mac);
	if (ok && p->endpoint.len)
		ok = mnl_attr_put_check(nlh, size, SHOAL_A_PEER_ENDPOINT,
					p->endpoint.len, &p->endpoint.sa);
	if (ok && p->layer3 >= 0)
		ok = mnl_attr_put_u8_check(nlh, size, SHOAL_A_PEER_LAYER3,
					   (uint8_t)p->layer3);
	if (ok && p->bridge >= 0)
		ok = mnl_attr_put_u8_check(nlh, size, SHOAL_A_PEER_BRIDGE,
					   (uint8_t)p->bridge);
	if (ok && p->has_sa_out)
		ok = put_sa(nlh, size, SHOAL_A_PEER_SA_OUT, &p->sa_out);
	if (ok && p->n_sa_in)
		ok = put_sa_in(nlh, size, p);
	if (ok && p->set_allowed_ips)
		ok = shoal_device_put_allowed_ips(nlh, size, p->allowed_ips,
						  p->n_allowed_ips);
	if (!ok) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* Adds the peers from index next on that fit; returns the next to add. */
static size_t put_peers(struct nlmsghdr *nlh, size_t size,
			const struct set_args *a, size_t next)
{
	struct nlattr *list;
	size_t i = next;

	if (next >= a->n_peers)
		return next;
	list = mnl_attr_nest_start_check(nlh, size, SHOAL_A_DEVICE_PEERS);
	if (!list)
		return next;
	while (i < a->n_peers && put_peer(nlh, size, &a->peers[i]))
		i++;
	if (i == next)
		mnl_attr_nest_cancel(nlh, list);
	else
		mnl_attr_nest_end(nlh, list);
	return i;
}

/* As many SHOAL_CMD_SET_DEVICE messages as the peers need. */
static int set_apply(struct shoal_genl *g, const struct set_args *a,
		     uint8_t *buf, size_t size)
{
	struct nlmsghdr *nlh;
	size_t first, next = 0;
	char what[32];
	int err;

	snprintf(what, sizeof(what), "set %s", a->dev);
	do {
		first = next;
		nlh = shoal_genl_request(g, buf, SHOAL_CMD_SET_DEVICE, 0);
		mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, a->dev);
		if (first == 0 && a->has_port)
			mnl_attr_put_u16(nlh, SHOAL_A_DEVICE_LISTEN_PORT, a->port);
		next = put_peers(nlh, size, a, first);
		if (next == first && first < a->n_peers) {
			fprintf(stderr, "shoal: %s: peer %s does not fit in a "
				"netlink message\n", what, a->peers[first].name);
			return SHOAL_EXIT_FAILURE;
		}
		err = shoal_genl_talk(g, nlh, NULL, NULL);
		sodium_memzero(buf, size);
		if (err < 0) {
			err = report_genl_error(what, err, g->ext_msg);
			if (first > 0)
				fprintf(stderr, "shoal: %s: the %zu peers before "
					"%s were applied\n", what, first,
					a->peers[first].name);
			return err;
		}
	} while (next < a->n_peers);
	return SHOAL_EXIT_OK;
}

static int cmd_set(int argc, char **argv)
{
	struct set_args a = { 0 };
	size_t size = MNL_SOCKET_BUFFER_SIZE;
	struct shoal_genl g;
	uint8_t *buf = NULL;
	int ret;

	/* At most one peer per two arguments. */
	a.peers = calloc((size_t)argc / 2 + 1, sizeof(*a.peers));
	if (!a.peers) {
		fputs("shoal: set: out of memory\n", stderr);
		return SHOAL_EXIT_FAILURE;
	}
	ret = parse_set(&a, argc, argv);
	if (ret != SHOAL_EXIT_OK)
		goto wipe;
	buf = calloc(1, size);
	if (!buf) {
		fputs("shoal: set: out of memory\n", stderr);
		ret = SHOAL_EXIT_FAILURE;
		goto wipe;
	}
	ret = open_genl(&g, "set");
	if (ret != SHOAL_EXIT_OK)
		goto wipe;
	ret = set_apply(&g, &a, buf, size);
	shoal_genl_close(&g);
wipe:
	if (buf)
		sodium_memzero(buf, size);
	free(buf);
	sodium_memzero(a.peers, ((size_t)argc / 2 + 1) * sizeof(*a.peers));
	free(a.peers);
	return ret;
}

/* ---- shoal show --------------------------------------------------- */

static const struct {
	const char *json, *text;
} dstat_names[SHOAL_A_DSTAT_MAX + 1] = {
	[SHOAL_A_DSTAT_CONTROL_RX] = { "control_rx", "control rx" },
	[SHOAL_A_DSTAT_KEEPALIVES_RX] = { "keepalives_rx", "keepalives rx" },
	[SHOAL_A_DSTAT_UNKNOWN_SPI] = { "unknown_spi", "unknown spi" },
	[SHOAL_A_DSTAT_MALFORMED] = { "malformed", "malformed" },
	[SHOAL_A_DSTAT_UNKNOWN_DEST] = { "unknown_dest", "unknown dest" },
	[SHOAL_A_DSTAT_SPOOFED_SRC] = { "spoofed_src", "spoofed src" },
	[SHOAL_A_DSTAT_CONTROL_DROPS] = { "control_drops", "control drops" },
	[SHOAL_A_DSTAT_COOKIE_REPLIES] = { "cookie_replies", "cookie replies" },
	[SHOAL_A_DSTAT_ECN_DROPS] = { "ecn_drops", "ecn drops" },
};

/* Retries of a dump the kernel reports as interrupted by a change. */
#define SHOW_DUMP_TRIES 5

struct dump_ctx {
	struct shoal_device_list *list;
	const char *dev;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	int err = shoal_device_list_add(ctx->list, nlh, ctx->dev);

	if (err < 0) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* The dump of one device or all, consistent; 0 or -errno. */
static int show_dump(struct shoal_genl *g, const char *dev,
		     struct shoal_device_list *list)
{
	struct dump_ctx ctx = { .list = list, .dev = dev };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int tries, err;

	for (tries = 0; tries < SHOW_DUMP_TRIES; tries++) {
		shoal_device_list_free(list);
		nlh = shoal_genl_request(g, buf, SHOAL_CMD_GET_DEVICE,
					 NLM_F_DUMP);
		if (dev)
			mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, dev);
		err = shoal_genl_talk(g, nlh, dump_cb, &ctx);
		if (err < 0 || !g->dump_intr)
			return err;
	}
	return -EAGAIN;
}

static void json_endpoint(const struct shoal_endpoint *ep)
{
	char text[SHOAL_ENDPOINT_STRLEN + 1];

	if (ep->len && shoal_endpoint_format(text, sizeof(text), ep) > 0)
		shoal_json_string(stdout, text);
	else
		fputs("null", stdout);
}

static void json_mac(bool has, const uint8_t mac[SHOAL_MAC_LEN])
{
	char text[SHOAL_MAC_STRLEN + 1];

	if (!has) {
		fputs("null", stdout);
		return;
	}
	shoal_mac_format(text, mac);
	shoal_json_string(stdout, text);
}

static void json_key(const uint8_t key[SHOAL_KEY_LEN])
{
	char b64[SHOAL_KEY_B64_LEN + 1];

	shoal_key_to_base64(b64, key);
	shoal_json_string(stdout, b64);
}

/* null when any source is allowed, else the list of prefixes. */
static void json_allowed_ips(const struct shoal_peer_info *p)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i;

	if (!p->n_allowed_ips) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	for (i = 0; i < p->n_allowed_ips; i++) {
		if (shoal_prefix_format(text, sizeof(text),
					&p->allowed_ips[i]) < 0)
			snprintf(text, sizeof(text), "?");
		if (i)
			putchar(',');
		shoal_json_string(stdout, text);
	}
	putchar(']');
}

static void json_peer(const struct shoal_peer_info *p)
{
	unsigned int i;

	fputs("{\"public_key\":", stdout);
	json_key(p->public_key);
	fputs(",\"mac\":", stdout);
	json_mac(p->has_mac, p->mac);
	fputs(",\"endpoint\":", stdout);
	json_endpoint(&p->endpoint);
	printf(",\"layer3\":%s,\"bridge\":%s,\"sa_out_spi\":",
	       p->layer3 ? "true" : "false", p->bridge ? "true" : "false");
	if (p->has_sa_out)
		printf("%" PRIu32, p->sa_out_spi);
	else
		fputs("null", stdout);
	fputs(",\"sa_in_spis\":[", stdout);
	for (i = 0; i < p->n_sa_in; i++)
		printf("%s%" PRIu32, i ? "," : "", p->sa_in_spis[i]);
	fputs("],\"allowed_ips\":", stdout);
	json_allowed_ips(p);
	printf(",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
	       ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64
	       ",\"auth_failures\":%" PRIu64 ",\"replays\":%" PRIu64
	       ",\"last_rx\":%" PRIu64 "}",
	       p->rx_bytes, p->tx_bytes, p->rx_packets, p->tx_packets,
	       p->auth_failures, p->replays, p->last_rx);
}

static void json_device(const struct shoal_device_info *d)
{
	size_t i;

	fputs("{\"ifname\":", stdout);
	shoal_json_string(stdout, d->ifname);
	printf(",\"listen_port\":%u,\"mac\":", d->listen_port);
	json_mac(d->has_mac, d->mac);
	for (i = 0; i < SHOAL_ARRAY_SIZE(dstat_names); i++)
		if (dstat_names[i].json)
			printf(",\"%s\":%" PRIu64, dstat_names[i].json,
			       d->stats[i]);
	fputs(",\"peers\":[", stdout);
	for (i = 0; i < d->n_peers; i++) {
		if (i)
			putchar(',');
		json_peer(&d->peers[i]);
	}
	fputs("]}", stdout);
}

/* 1023 B, 1.50 KiB, ... as wg(8) prints transfer totals. */
static void print_bytes(uint64_t n)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double v = (double)n / 1024;
	size_t u = 0;

	if (n < 1024) {
		printf("%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u + 1 < SHOAL_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	printf("%.2f %s", v, units[u]);
}

static void text_sas(const struct shoal_peer_info *p)
{
	unsigned int i;

	if (p->has_sa_out)
		printf("  sa out: spi 0x%08" PRIx32 "\n", p->sa_out_spi);
	if (!p->n_sa_in)
		return;
	fputs("  sa in: spi", stdout);
	for (i = 0; i < p->n_sa_in; i++)
		printf("%s 0x%08" PRIx32, i ? "," : "", p->sa_in_spis[i]);
	putchar('\n');
}

static void text_last_rx(uint64_t last_rx)
{
	time_t now = time(NULL);
	uint64_t ago;

	if (!last_rx) {
		puts("  last rx: never");
		return;
	}
	ago = now > 0 && (uint64_t)now > last_rx ? (uint64_t)now - last_rx : 0;
	printf("  last rx: %" PRIu64 " second%s ago\n", ago,
	       ago == 1 ? "" : "s");
}

static void text_allowed_ips(const struct shoal_peer_info *p)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i;

	fputs("  allowed ips:", stdout);
	if (!p->n_allowed_ips)
		fputs(" any", stdout);
	for (i = 0; i < p->n_allowed_ips; i++) {
		if (shoal_prefix_format(text, sizeof(text),
					&p->allowed_ips[i]) < 0)
			snprintf(text, sizeof(text), "?");
		printf("%s %s", i ? "," : "", text);
	}
	putchar('\n');
}

static void text_peer(const struct shoal_peer_info *p)
{
	char b64[SHOAL_KEY_B64_LEN + 1], ep[SHOAL_ENDPOINT_STRLEN + 1];
	char mac[SHOAL_MAC_STRLEN + 1];

	shoal_key_to_base64(b64, p->public_key);
	printf("\npeer: %s\n", b64);
	if (p->endpoint.len && shoal_endpoint_format(ep, sizeof(ep),
						     &p->endpoint) > 0)
		printf("  endpoint: %s\n", ep);
	if (p->has_mac) {
		shoal_mac_format(mac, p->mac);
		printf("  mac: %s\n", mac);
	}
	printf("  flags: %s\n", p->layer3 && p->bridge ? "layer3, bridge" :
	       p->layer3 ? "layer3" : p->bridge ? "bridge" : "none");
	text_allowed_ips(p);
	text_sas(p);
	fputs("  transfer: ", stdout);
	print_bytes(p->rx_bytes);
	printf(" received (%" PRIu64 " packets), ", p->rx_packets);
	print_bytes(p->tx_bytes);
	printf(" sent (%" PRIu64 " packets)\n", p->tx_packets);
	printf("  errors: %" PRIu64 " auth failures, %" PRIu64 " replays\n",
	       p->auth_failures, p->replays);
	text_last_rx(p->last_rx);
}

static void text_device(const struct shoal_device_info *d)
{
	char mac[SHOAL_MAC_STRLEN + 1];
	size_t i, n = 0;

	printf("interface: %s\n  listening port: %u\n", d->ifname,
	       d->listen_port);
	if (d->has_mac) {
		shoal_mac_format(mac, d->mac);
		printf("  mac: %s\n", mac);
	}
	fputs("  counters:", stdout);
	for (i = 0; i < SHOAL_ARRAY_SIZE(dstat_names); i++) {
		if (!dstat_names[i].text)
			continue;
		printf("%s%s %" PRIu64, n == 0 ? " " : n % 4 ? ", " : ",\n    ",
		       dstat_names[i].text, d->stats[i]);
		n++;
	}
	putchar('\n');
	for (i = 0; i < d->n_peers; i++)
		text_peer(&d->peers[i]);
}

static void show_print(const struct shoal_device_list *list, bool json,
		       bool one)
{
	size_t i;

	if (json && !one)
		putchar('[');
	for (i = 0; i < list->n; i++) {
		if (json) {
			if (i)
				putchar(',');
			json_device(&list->devs[i]);
		} else {
			if (i)
				putchar('\n');
			text_device(&list->devs[i]);
		}
	}
	if (json && !one)
		putchar(']');
	if (json)
		putchar('\n');
}

static int cmd_show(int argc, char **argv)
{
	struct shoal_device_list list = { 0 };
	const char *dev = NULL;
	struct shoal_genl g;
	bool json = false;
	char what[32];
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-')
			return usage_error("show: unknown option '%s'", argv[i]);
		else if (dev)
			return usage_error("show: unexpected '%s'", argv[i]);
		else
			dev = argv[i];
	}
	if (dev && !strcmp(dev, "all"))
		dev = NULL;
	if (dev && !shoal_link_name_valid(dev))
		return usage_error("show: '%s' is not an interface name", dev);
	snprintf(what, sizeof(what), "show%s%s", dev ? " " : "", dev ? dev : "");

	err = open_genl(&g, what);
	if (err != SHOAL_EXIT_OK)
		return err;
	err = show_dump(&g, dev, &list);
	if (err == -EAGAIN) {
		fprintf(stderr, "shoal: %s: the devices kept changing during "
			"the dump; try again\n", what);
		err = SHOAL_EXIT_FAILURE;
	} else if (err < 0) {
		err = report_genl_error(what, err, g.ext_msg);
	} else if (dev && list.n == 0) {
		fprintf(stderr, "shoal: %s: no such shoal device\n", what);
		err = SHOAL_EXIT_FAILURE;
	} else {
		show_print(&list, json, dev != NULL);
		err = SHOAL_EXIT_OK;
	}
	shoal_device_list_free(&list);
	shoal_genl_close(&g);
	return err;
}

/* ---- shoal monitor ------------------------------------------------ */

static volatile sig_atomic_t monitor_stop;

static void monitor_signal(int sig)
{
	(void)sig;
	monitor_stop = 1;
}

/* What one event carried; pointers into the message. */
struct event {
	uint8_t cmd;
	const char *ifname;
	const uint8_t *public_key;
	struct shoal_endpoint source, endpoint;
	bool has_spi;
	uint32_t spi;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *local;	/* the address it was sent to: 4 or 16 bytes */
	size_t local_len;
};

/* The first SHOAL_A_SA_SPI in an SA nest or in a list of them. */
static void event_spi_nest(struct event *e, const struct nlattr *nest)
{
	struct nlattr *attr;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(attr, nest) {
		if (e->has_spi)
			return;
		if (mnl_attr_get_payload_len(attr) == sizeof(uint32_t) &&
		    mnl_attr_get_type(attr) == SHOAL_A_SA_SPI) {
			e->spi = mnl_attr_get_u32(attr);
			e->has_spi = true;
		} else if (mnl_attr_get_type(attr) == SHOAL_A_SA) {
			event_spi_nest(e, attr);
		}
	}
}

/* A SHOAL_A_PEER nest (the peer an event is about). */
static void event_peer(struct event *e, const struct nlattr *peer)
{
	struct nlattr *attr;

	mnl_attr_for_each_nested(attr, peer) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_PEER_PUBLIC_KEY:
			if (mnl_attr_get_payload_len(attr) == SHOAL_KEY_LEN)
				e->public_key = mnl_attr_get_payload(attr);
			break;
		case SHOAL_A_PEER_ENDPOINT:
			shoal_endpoint_from_blob(&e->endpoint,
						 mnl_attr_get_payload(attr),
						 mnl_attr_get_payload_len(attr));
			break;
		case SHOAL_A_PEER_SA_OUT:
		case SHOAL_A_PEER_SA_IN:
			event_spi_nest(e, attr);
			break;
		}
	}
}

static void event_peers(struct event *e, const struct nlattr *list)
{
	struct nlattr *peer;

	if (mnl_attr_validate(list, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(peer, list) {
		if (mnl_attr_get_type(peer) == SHOAL_A_PEER &&
		    mnl_attr_validate(peer, MNL_TYPE_NESTED) == 0) {
			event_peer(e, peer);
			return;
		}
	}
}

static void event_parse(struct event *e, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;

	memset(e, 0, sizeof(*e));
	e->cmd = genl->cmd;
	mnl_attr_for_each(attr, nlh, sizeof(*genl)) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_DEVICE_IFNAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				e->ifname = mnl_attr_get_str(attr);
			break;
		case SHOAL_A_DEVICE_PEERS:
			event_peers(e, attr);
			break;
		case SHOAL_A_CONTROL_ENDPOINT:
			shoal_endpoint_from_blob(&e->source,
						 mnl_attr_get_payload(attr),
						 mnl_attr_get_payload_len(attr));
			break;
		case SHOAL_A_CONTROL_PAYLOAD:
			e->payload = mnl_attr_get_payload(attr);
			e->payload_len = mnl_attr_get_payload_len(attr);
			break;
		case SHOAL_A_CONTROL_LOCAL:
			if (mnl_attr_get_payload_len(attr) == 4 ||
			    mnl_attr_get_payload_len(attr) == 16) {
				e->local = mnl_attr_get_payload(attr);
				e->local_len = mnl_attr_get_payload_len(attr);
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
}

static const char *const event_names[SHOAL_CMD_MAX + 1] = {
	[SHOAL_CMD_EVENT_CONTROL] = "control",
	[SHOAL_CMD_EVENT_ENDPOINT] = "endpoint",
	[SHOAL_CMD_EVENT_UNKNOWN_SPI] = "unknown_spi",
	[SHOAL_CMD_EVENT_SOFT_EXPIRE] = "soft_expire",
};

static void print_key_field(bool json, const char *name, const uint8_t *key)
{
	char b64[SHOAL_KEY_B64_LEN + 1];

	if (key)
		shoal_key_to_base64(b64, key);
	if (json) {
		printf(",\"%s\":", name);
		if (key)
			shoal_json_string(stdout, b64);
		else
			fputs("null", stdout);
	} else {
		printf(" %s %s", name, key ? b64 : "none");
	}
}

static void print_endpoint_field(bool json, const char *name,
				 const struct shoal_endpoint *ep)
{
	char text[SHOAL_ENDPOINT_STRLEN + 1];

	if (json) {
		printf(",\"%s\":", name);
		json_endpoint(ep);
	} else if (ep->len && shoal_endpoint_format(text, sizeof(text), ep) > 0) {
		printf(" %s %s", name, text);
	} else {
		printf(" %s none", name);
	}
}

/* The local address a packet was sent to, when the event gives one. */
static void print_local_field(bool json, const struct event *e)
{
	char text[INET6_ADDRSTRLEN];
	bool known = e->local &&
		inet_ntop(e->local_len == 4 ? AF_INET : AF_INET6, e->local,
			  text, sizeof(text));

	if (json && known)
		printf(",\"local\":\"%s\"", text);
	else if (json)
		fputs(",\"local\":null", stdout);
	else
		printf(" local %s", known ? text : "none");
}

static void print_spi_field(bool json, const struct event *e)
{
	if (json && e->has_spi)
		printf(",\"spi\":%" PRIu32, e->spi);
	else if (json)
		fputs(",\"spi\":null", stdout);
	else if (e->has_spi)
		printf(" spi %" PRIu32, e->spi);
	else
		fputs(" spi none", stdout);
}

static void print_payload_field(bool json, const struct event *e)
{
	char hex[SHOAL_HEX_LEN(SHOAL_CONTROL_MAX) + 1] = "";

	if (e->payload_len <= SHOAL_CONTROL_MAX)
		shoal_hex_encode(hex, sizeof(hex), e->payload, e->payload_len);
	if (json)
		printf(",\"payload\":\"%s\"", hex);
	else
		printf(" payload %s", *hex ? hex : "none");
}

static void print_event(const struct event *e, bool json)
{
	const char *name = e->cmd <= SHOAL_CMD_MAX ? event_names[e->cmd] : NULL;

	if (!name) {
		if (json)
			printf("{\"event\":\"unknown\",\"cmd\":%u}\n", e->cmd);
		else
			printf("unknown %s cmd %u\n",
			       e->ifname ? e->ifname : "none", e->cmd);
		return;
	}
	if (json) {
		printf("{\"event\":\"%s\",\"ifname\":", name);
		if (e->ifname)
			shoal_json_string(stdout, e->ifname);
		else
			fputs("null", stdout);
	} else {
		printf("%s %s", name, e->ifname ? e->ifname : "none");
	}
	switch (e->cmd) {
	case SHOAL_CMD_EVENT_CONTROL:
		print_endpoint_field(json, "source", &e->source);
		print_local_field(json, e);
		print_payload_field(json, e);
		break;
	case SHOAL_CMD_EVENT_ENDPOINT:
		print_key_field(json, "public_key", e->public_key);
		print_endpoint_field(json, "endpoint", &e->endpoint);
		break;
	case SHOAL_CMD_EVENT_UNKNOWN_SPI:
		print_spi_field(json, e);
		print_endpoint_field(json, "source", &e->source);
		print_local_field(json, e);
		break;
	case SHOAL_CMD_EVENT_SOFT_EXPIRE:
		print_key_field(json, "public_key", e->public_key);
		print_spi_field(json, e);
		break;
	}
	fputs(json ? "}\n" : "\n", stdout);
}

struct monitor_ctx {
	const char *dev;
	bool json;
};

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_ctx *ctx = data;
	struct event e;

	event_parse(&e, nlh);
	if (ctx->dev && (!e.ifname || strcmp(e.ifname, ctx->dev)))
		return MNL_CB_OK;
	print_event(&e, ctx->json);
	if (fflush(stdout) == EOF) {
		errno = errno ? errno : EIO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/*
 * SIGINT and SIGTERM stay blocked but while waiting in ppoll, so one that
 * arrives at any moment ends the loop at the next wait.
 */
static int monitor_signals(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = monitor_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
	return 0;
}

static int monitor_loop(struct shoal_genl *g, struct monitor_ctx *ctx)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(g->nl), .events = POLLIN };
	sigset_t wait_mask;
	int err;

	err = monitor_signals(&wait_mask);
	while (err == 0 && !monitor_stop) {
		if (ppoll(&pfd, 1, NULL, &wait_mask) < 0) {
			err = errno == EINTR ? 0 : -errno;
			continue;
		}
		err = shoal_genl_read_events(g, monitor_cb, ctx);
		if (err == -ENOBUFS) {
			fputs("shoal: monitor: events were lost (receive "
			      "buffer overrun)\n", stderr);
			err = 0;
		}
	}
	return err;
}

static int cmd_monitor(int argc, char **argv)
{
	struct monitor_ctx ctx = { 0 };
	struct shoal_genl g;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			ctx.json = true;
		else if (argv[i][0] == '-')
			return usage_error("monitor: unknown option '%s'",
					   argv[i]);
		else if (ctx.dev)
			return usage_error("monitor: unexpected '%s'", argv[i]);
		else
			ctx.dev = argv[i];
	}
	if (ctx.dev && !shoal_link_name_valid(ctx.dev))
		return usage_error("monitor: '%s' is not an interface name",
				   ctx.dev);
	err = open_genl(&g, "monitor");
	if (err != SHOAL_EXIT_OK)
		return err;
	err = shoal_genl_subscribe_events(&g);
	if (err == -EOPNOTSUPP) {
		fputs("shoal: monitor: the shoal module has no events group\n",
		      stderr);
		err = SHOAL_EXIT_FAILURE;
	} else if (err == 0) {
		err = monitor_loop(&g, &ctx);
		err = err < 0 ? report_genl_error("monitor", err, NULL) :
				SHOAL_EXIT_OK;
	} else {
		err = report_genl_error("monitor", err, NULL);
	}
	shoal_genl_close(&g);
	return err;
}

/* ---- shoal send --------------------------------------------------- */

static int cmd_send(int argc, char **argv)
{
	uint8_t payload[SHOAL_CONTROL_MAX], from[16];
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct shoal_endpoint ep;
	struct nlmsghdr *nlh;
	struct shoal_genl g;
	size_t len, from_len = 0;
	char what[32];
	int n, err;

	if (argc != 4 && !(argc == 6 && !strcmp(argv[4], "from")))
		return usage_error("send: expected DEV HOST:PORT HEX [from ADDR]");
	if (!shoal_link_name_valid(argv[1]))
		return usage_error("send: '%s' is not an interface name",
				   argv[1]);
	if (shoal_endpoint_parse(&ep, argv[2]) < 0)
		return usage_error("send: '%s' is not an endpoint (1.2.3.4:PORT "
				   "or [v6addr]:PORT, numeric, port 1..65535)",
				   argv[2]);
	len = strlen(argv[3]);
	n = shoal_hex_decode(payload, sizeof(payload), argv[3], len);
	if (n <= 0)
		return usage_error("send: the payload must be 1..%d bytes as an "
				   "even number of hex digits", SHOAL_CONTROL_MAX);
	if (argc == 6) {
		from_len = ep.sa.sa_family == AF_INET ? 4 : 16;
		if (inet_pton(ep.sa.sa_family, argv[5], from) != 1)
			return usage_error("send: '%s' is not an %s address, as "
					   "the endpoint is", argv[5],
					   from_len == 4 ? "IPv4" : "IPv6");
	}
	snprintf(what, sizeof(what), "send %s", argv[1]);
	err = open_genl(&g, what);
	if (err != SHOAL_EXIT_OK)
		return err;
	nlh = shoal_genl_request(&g, buf, SHOAL_CMD_SEND_CONTROL, 0);
	mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, argv[1]);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_ENDPOINT, ep.len, &ep.sa);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_PAYLOAD, (size_t)n, payload);
	if (from_len)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_LOCAL, from_len, from);
	err = shoal_genl_talk(&g, nlh, NULL, NULL);
	err = err < 0 ? report_genl_error(what, err, g.ext_msg) : SHOAL_EXIT_OK;
	shoal_genl_close(&g);
	return err;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "genkey", cmd_genkey },
	{ "pubkey", cmd_pubkey },
	{ "set", cmd_set },
	{ "show", cmd_show },
	{ "monitor", cmd_monitor },
	{ "send", cmd_send },
	{ "status", shoal_cmd_status },
	{ "login", shoal_cmd_mediator },
	{ "logout", shoal_cmd_mediator },
	{ "nick", shoal_cmd_mediator },
	{ "create", shoal_cmd_mediator },
	{ "join", shoal_cmd_mediator },
	{ "leave", shoal_cmd_mediator },
	{ "delete", shoal_cmd_mediator },
	{ "approve", shoal_cmd_mediator },
	{ "kick", shoal_cmd_mediator },
	{ "ban", shoal_cmd_mediator },
	{ "set-password", shoal_cmd_mediator },
	{ "networks", shoal_cmd_mediator },
	{ "netcheck", shoal_cmd_mediator },
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	size_t i;
	int c;

	/* Options before the command only; the rest belong to the command. */
	while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoal");
			return SHOAL_EXIT_OK;
		default:
			fputs("Try 'shoal --help'.\n", stderr);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return SHOAL_EXIT_USAGE;
	}
	for (i = 0; i < SHOAL_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		/* The mediator commands have a --help of their own. */
		if (optind + 1 < argc && !shoal_is_mediator_cmd(argv[optind]) &&
		    (!strcmp(argv[optind + 1], "-h") ||
		     !strcmp(argv[optind + 1], "--help"))) {
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		}
		return commands[i].run(argc - optind, argv + optind);
	}
	return usage_error("unknown command '%s'", argv[optind]);
}
