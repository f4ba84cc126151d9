// SPDX-License-Identifier: MIT
/*
 * shoal set DEV [listen-port PORT] [peer PEER OPTIONS...]...: the words
 * read into the device's and peers' settings, then sent to shoal.ko as
 * SHOAL_CMD_SET_DEVICE messages, as many as the peers need.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "device.h"
#include "endpoint.h"
#include "genl.h"
#include "key.h"
#include "link.h"
#include "mac.h"
#include "sa.h"
#include "uapi/linux/shoal.h"
#include "util.h"

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
			return cli_usage_error("'%s' needs a number from 1 to "
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
		return cli_usage_error("'%s' needs an SPI and a KEYFILE", opt);
	if (shoal_spi_parse(&sa->spi, spi) < 0)
		return cli_usage_error("'%s' is not an SPI (256..4294967295, "
				       "decimal or 0x-hex)", spi);
	from_stdin = !strcmp(file, "-");
	if (from_stdin) {
		if (a->stdin_used)
			return cli_usage_error("only one KEYFILE can be '-' "
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
		return cli_usage_error("peer %s: at most %d 'sa-in'", p->name,
				       SHOAL_MAX_SA_IN);
	ret = parse_sa(a, p, "sa-in", argc, argv, i, &p->sa_in[p->n_sa_in]);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	for (j = 0; j < p->n_sa_in; j++)
		if (p->sa_in[j].spi == p->sa_in[p->n_sa_in].spi)
			return cli_usage_error("peer %s: 'sa-in' SPI %u given "
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
		return cli_usage_error("peer %s: '%s' conflicts with an earlier "
				       "option", p->name, opt);
	*flag = value;
	return SHOAL_EXIT_OK;
}

static int parse_mac(struct peer_arg *p, const char *text)
{
	if (!text)
		return cli_usage_error("'mac' needs a MAC address");
	if (p->has_mac)
		return cli_usage_error("peer %s: 'mac' given twice", p->name);
	if (shoal_mac_parse(p->mac, text) < 0 || !shoal_mac_is_unicast(p->mac))
		return cli_usage_error("'%s' is not a unicast MAC address "
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
		return cli_usage_error("'allowed-ips' needs PREFIX[,PREFIX...] "
				       "or 'any'");
	if (p->set_allowed_ips)
		return cli_usage_error("peer %s: 'allowed-ips' given twice",
				       p->name);
	p->set_allowed_ips = true;
	if (!strcmp(text, "any"))
		return SHOAL_EXIT_OK;
	for (;;) {
		len = strcspn(item, ",");
		if (!len || len >= sizeof(buf))
			return cli_usage_error("allowed-ips: '%.*s' is not a "
					       "prefix", (int)len, item);
		if (p->n_allowed_ips == SHOAL_MAX_ALLOWED_IPS)
			return cli_usage_error("peer %s: at most %d allowed IPs",
					       p->name, SHOAL_MAX_ALLOWED_IPS);
		memcpy(buf, item, len);
		buf[len] = '\0';
		pre = &p->allowed_ips[p->n_allowed_ips++];
		if (shoal_prefix_parse(pre, buf) < 0)
			return cli_usage_error("allowed-ips: '%s' is not an IP "
					       "address with an optional /length",
					       buf);
		if (!shoal_prefix_is_network(pre)) {
			shoal_prefix_mask(pre);
			shoal_prefix_format(net, sizeof(net), pre);
			return cli_usage_error("allowed-ips: '%s' has host bits "
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
		return cli_usage_error("'endpoint' needs HOST:PORT");
	if (p->endpoint.len)
		return cli_usage_error("peer %s: 'endpoint' given twice",
				       p->name);
	if (shoal_endpoint_parse(&p->endpoint, text) < 0)
		return cli_usage_error("'%s' is not an endpoint (1.2.3.4:PORT "
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
			return cli_usage_error("peer %s: 'sa-out' given twice",
					       p->name);
		p->has_sa_out = true;
		return parse_sa(a, p, "sa-out", argc, argv, i, &p->sa_out);
	}
	if (!strcmp(opt, "sa-in"))
		return parse_sa_in(a, p, argc, argv, i);
	return cli_usage_error("unknown peer option '%s'", opt);
}

static int parse_listen_port(struct set_args *a, const char *text)
{
	unsigned long v;

	if (!text)
		return cli_usage_error("'listen-port' needs a port");
	if (a->has_port)
		return cli_usage_error("'listen-port' given twice");
	if (parse_decimal(text, 65535, &v) < 0)
		return cli_usage_error("'%s' is not a port (0..65535)", text);
	a->port = (uint16_t)v;
	a->has_port = true;
	return SHOAL_EXIT_OK;
}

static int parse_peer(struct set_args *a, const char *text)
{
	struct peer_arg *p = &a->peers[a->n_peers];

	if (!text)
		return cli_usage_error("'peer' needs a public key");
	if (shoal_key_from_base64(p->public_key, text) < 0)
		return cli_usage_error("'%s' is not a base64 32-byte public key",
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

	if (argc < 1)
		return cli_usage_error("which device?");
	a->dev = argv[0];
	if (!shoal_link_name_valid(a->dev))
		return cli_usage_error("'%s' is not an interface name", a->dev);
	for (i = 1; i < argc && ret == SHOAL_EXIT_OK; i++) {
		if (!strcmp(argv[i], "listen-port")) {
			ret = parse_listen_port(a, next_arg(argc, argv, &i));
		} else if (!strcmp(argv[i], "peer")) {
			ret = parse_peer(a, next_arg(argc, argv, &i));
			if (ret == SHOAL_EXIT_OK)
				p = &a->peers[a->n_peers - 1];
		} else if (p) {
			ret = parse_peer_option(a, p, argc, argv, &i);
		} else {
			ret = cli_usage_error("unknown option '%s' (expected "
					      "'listen-port' or 'peer')", argv[i]);
		}
	}
	return ret;
}

static void sa_attrs(struct shoal_sa_attrs *attrs, const struct sa_arg *sa)
{
	*attrs = (struct shoal_sa_attrs){
		.spi = sa->spi,
		.key = sa->key,
		.soft_packets = sa->soft_packets,
		.hard_packets = sa->hard_packets,
		.soft_seconds = (uint32_t)sa->soft_seconds,
		.hard_seconds = (uint32_t)sa->hard_seconds,
	};
}

/* The peer as lib/device.c encodes it; sas: its outbound SA, then inbound. */
static void peer_msg(struct shoal_set_peer *m,
		     struct shoal_sa_attrs sas[1 + SHOAL_MAX_SA_IN],
		     const struct peer_arg *p)
{
	unsigned int i;

	sa_attrs(&sas[0], &p->sa_out);
	for (i = 0; i < p->n_sa_in; i++)
		sa_attrs(&sas[1 + i], &p->sa_in[i]);
	*m = (struct shoal_set_peer){
		.public_key = p->public_key,
		.remove = p->remove,
		.mac = p->has_mac ? p->mac : NULL,
		.endpoint = &p->endpoint,
		.set_layer3 = p->layer3 >= 0,
		.layer3 = p->layer3 == 1,
		.set_bridge = p->bridge >= 0,
		.bridge = p->bridge == 1,
		.sa_out = p->has_sa_out ? &sas[0] : NULL,
		.set_sa_in = p->n_sa_in > 0,
		.n_sa_in = p->n_sa_in,
		.sa_in = &sas[1],
		.set_allowed_ips = p->set_allowed_ips,
		.n_allowed_ips = p->n_allowed_ips,
		.allowed_ips = p->allowed_ips,
	};
}

/* As many SHOAL_CMD_SET_DEVICE messages as the peers need. */
static int set_send(struct shoal_genl *g, const struct set_args *a,
		    const struct shoal_set_device *d, uint8_t *buf, size_t size)
{
	struct nlmsghdr *nlh;
	size_t first, next = 0;
	char what[32];
	int err;

	snprintf(what, sizeof(what), "set %s", a->dev);
	do {
		first = next;
		nlh = shoal_genl_request(g, buf, SHOAL_CMD_SET_DEVICE, 0);
		err = shoal_set_encode(nlh, size, d, &next);
		if (err == -EMSGSIZE) {
			sodium_memzero(buf, size);
			fprintf(stderr, "shoal: %s: peer %s does not fit in a "
				"netlink message\n", what, a->peers[first].name);
			return SHOAL_EXIT_FAILURE;
		}
		if (err == 0)
			err = shoal_genl_talk(g, nlh, NULL, NULL);
		sodium_memzero(buf, size);
		if (err < 0) {
			err = cli_genl_error(what, err, g->ext_msg);
			if (first > 0)
				fprintf(stderr, "shoal: %s: the %zu peers before "
					"%s were applied\n", what, first,
					a->peers[first].name);
			return err;
		}
	} while (next < a->n_peers);
	return SHOAL_EXIT_OK;
}

static int set_apply(struct shoal_genl *g, const struct set_args *a,
		     uint8_t *buf, size_t size)
{
	struct shoal_set_device d = {
		.ifname = a->dev,
		.set_listen_port = a->has_port,
		.listen_port = a->port,
		.n_peers = a->n_peers,
	};
	struct shoal_sa_attrs (*sas)[1 + SHOAL_MAX_SA_IN];
	struct shoal_set_peer *peers;
	size_t i;
	int ret;

	peers = calloc(a->n_peers + 1, sizeof(*peers));
	sas = calloc(a->n_peers + 1, sizeof(*sas));
	if (!peers || !sas) {
		fputs("shoal: set: out of memory\n", stderr);
		ret = SHOAL_EXIT_FAILURE;
		goto out;
	}
	for (i = 0; i < a->n_peers; i++)
		peer_msg(&peers[i], sas[i], &a->peers[i]);
	d.peers = peers;
	ret = set_send(g, a, &d, buf, size);
out:
	free(sas);
	free(peers);
	return ret;
}

int shoal_cmd_set(const struct cli_args *cl)
{
	struct set_args a = { 0 };
	int argc = cl->n_args;
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
	ret = parse_set(&a, argc, cl->args);
	if (ret != SHOAL_EXIT_OK)
		goto wipe;
	buf = calloc(1, size);
	if (!buf) {
		fputs("shoal: set: out of memory\n", stderr);
		ret = SHOAL_EXIT_FAILURE;
		goto wipe;
	}
	ret = cli_genl_open(&g, "set");
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
