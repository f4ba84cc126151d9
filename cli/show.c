// SPDX-License-Identifier: MIT
/*
 * shoal show [DEV|all]: the devices, their counters and peers, from a
 * dump of shoal.ko's devices.  Each field is written once, through the
 * output layer (lib/print.h): text as wg(8) shows it, or JSON, always a
 * list of device objects.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "device.h"
#include "endpoint.h"
#include "genl.h"
#include "key.h"
#include "link.h"
#include "mac.h"
#include "print.h"
#include "uapi/linux/shoal.h"
#include "util.h"

/* The device counters: the JSON key, and the text with its number. */
static const struct {
	const char *key, *text;
} dstats[SHOAL_A_DSTAT_MAX + 1] = {
	[SHOAL_A_DSTAT_CONTROL_RX] = { "control_rx", "control rx %llu" },
	[SHOAL_A_DSTAT_KEEPALIVES_RX] = { "keepalives_rx", "keepalives rx %llu" },
	[SHOAL_A_DSTAT_UNKNOWN_SPI] = { "unknown_spi", "unknown spi %llu" },
	[SHOAL_A_DSTAT_MALFORMED] = { "malformed", "malformed %llu" },
	[SHOAL_A_DSTAT_UNKNOWN_DEST] = { "unknown_dest", "unknown dest %llu" },
	[SHOAL_A_DSTAT_SPOOFED_SRC] = { "spoofed_src", "spoofed src %llu" },
	[SHOAL_A_DSTAT_CONTROL_DROPS] = { "control_drops", "control drops %llu" },
	[SHOAL_A_DSTAT_COOKIE_REPLIES] = { "cookie_replies", "cookie replies %llu" },
	[SHOAL_A_DSTAT_ECN_DROPS] = { "ecn_drops", "ecn drops %llu" },
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

/* A MAC address, or null (nothing in text) when there is none. */
static void show_mac(bool has, const uint8_t *mac)
{
	char text[SHOAL_MAC_STRLEN + 1];

	if (has)
		shoal_mac_format(text, mac);
	print_string(PRINT_ANY, "mac", "  mac: %s\n", has ? text : NULL);
}

/* null when any source is allowed, else the list of prefixes. */
static void show_allowed_ips(const struct shoal_peer_info *p)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i;

	print_text("  allowed ips:");
	if (!p->n_allowed_ips)
		print_null(PRINT_ANY, "allowed_ips", " any");
	else
		print_open_array("allowed_ips");
	for (i = 0; i < p->n_allowed_ips; i++) {
		if (shoal_prefix_format(text, sizeof(text),
					&p->allowed_ips[i]) < 0)
			snprintf(text, sizeof(text), "?");
		print_string(PRINT_ANY, NULL, i ? ", %s" : " %s", text);
	}
	if (p->n_allowed_ips)
		print_close_array();
	print_nl();
}

static void show_sas(const struct shoal_peer_info *p)
{
	unsigned int i;

	if (p->has_sa_out)
		print_uint(PRINT_ANY, "sa_out_spi", "  sa out: spi 0x%08llx\n",
			   p->sa_out_spi);
	else
		print_null(PRINT_JSON, "sa_out_spi", "");
	if (p->n_sa_in)
		print_text("  sa in: spi");
	print_open_array("sa_in_spis");
	for (i = 0; i < p->n_sa_in; i++)
		print_uint(PRINT_ANY, NULL, i ? ", 0x%08llx" : " 0x%08llx",
			   p->sa_in_spis[i]);
	print_close_array();
	if (p->n_sa_in)
		print_nl();
}

/* A unix time in JSON; how long ago in text. */
static void show_last_rx(uint64_t last_rx)
{
	time_t now = time(NULL);
	uint64_t ago;

	print_uint(PRINT_JSON, "last_rx", "", last_rx);
	if (!last_rx) {
		print_text("  last rx: never\n");
		return;
	}
	ago = now > 0 && (uint64_t)now > last_rx ? (uint64_t)now - last_rx : 0;
	print_text("  last rx: %" PRIu64 " second%s ago\n", ago,
		   ago == 1 ? "" : "s");
}

static void show_peer(const struct shoal_peer_info *p)
{
	char b64[SHOAL_KEY_B64_LEN + 1], ep[SHOAL_ENDPOINT_STRLEN + 1];
	bool has_ep = p->endpoint.len &&
		shoal_endpoint_format(ep, sizeof(ep), &p->endpoint) > 0;

	shoal_key_to_base64(b64, p->public_key);
	print_string(PRINT_ANY, "public_key", "\npeer: %s\n", b64);
	print_string(PRINT_ANY, "endpoint", "  endpoint: %s\n",
		     has_ep ? ep : NULL);
	/* Only for a peer its own socket carries (birthday probing). */
	if (p->local_port)
		print_uint(PRINT_ANY, "local_port", "  local port: %llu\n",
			   p->local_port);
	show_mac(p->has_mac, p->mac);
	print_bool(PRINT_JSON, "layer3", "", p->layer3);
	print_bool(PRINT_JSON, "bridge", "", p->bridge);
	print_string(PRINT_TEXT, NULL, "  flags: %s\n",
		     p->layer3 && p->bridge ? "layer3, bridge" :
		     p->layer3 ? "layer3" : p->bridge ? "bridge" : "none");
	show_allowed_ips(p);
	show_sas(p);
	print_bytes(PRINT_ANY, "rx_bytes", "  transfer: %s received",
		    p->rx_bytes);
	print_uint(PRINT_ANY, "rx_packets", " (%llu packets), ", p->rx_packets);
	print_bytes(PRINT_ANY, "tx_bytes", "%s sent", p->tx_bytes);
	print_uint(PRINT_ANY, "tx_packets", " (%llu packets)\n", p->tx_packets);
	print_uint(PRINT_ANY, "auth_failures", "  errors: %llu auth failures, ",
		   p->auth_failures);
	print_uint(PRINT_ANY, "replays", "%llu replays\n", p->replays);
	show_last_rx(p->last_rx);
}

/* Four to a line in text, after "counters:". */
static void show_counters(const struct shoal_device_info *d)
{
	size_t i, n = 0;

	print_text("  counters:");
	for (i = 0; i < SHOAL_ARRAY_SIZE(dstats); i++) {
		if (!dstats[i].key)
			continue;
		print_text("%s", n == 0 ? " " : n % 4 ? ", " : ",\n    ");
		print_uint(PRINT_ANY, dstats[i].key, dstats[i].text,
			   d->stats[i]);
		n++;
	}
	print_nl();
}

static void show_device(const struct shoal_device_info *d)
{
	size_t i;

	print_string(PRINT_ANY, "ifname", "interface: %s\n", d->ifname);
	print_uint(PRINT_ANY, "listen_port", "  listening port: %llu\n",
		   d->listen_port);
	show_mac(d->has_mac, d->mac);
	show_counters(d);
	print_open_array("peers");
	for (i = 0; i < d->n_peers; i++) {
		print_open_object(NULL);
		show_peer(&d->peers[i]);
		print_close_object();
	}
	print_close_array();
}

/* The list; SHOAL_EXIT_FAILURE (said) if stdout would not take it. */
static int show_print(const struct shoal_device_list *list, bool json,
		      bool pretty)
{
	size_t i;

	print_start(stdout, json, pretty);
	print_open_array(NULL);
	for (i = 0; i < list->n; i++) {
		if (i)
			print_nl();
		print_open_object(NULL);
		show_device(&list->devs[i]);
		print_close_object();
	}
	print_close_array();
	if (print_end() < 0) {
		fputs("shoal: show: cannot write to standard output\n", stderr);
		return SHOAL_EXIT_FAILURE;
	}
	return SHOAL_EXIT_OK;
}

int shoal_cmd_show(const struct cli_args *a)
{
	struct shoal_device_list list = { 0 };
	const char *dev = a->n_args ? a->args[0] : NULL;
	struct shoal_genl g;
	char what[32];
	int err;

	if (dev && !strcmp(dev, "all"))
		dev = NULL;
	if (dev && !shoal_link_name_valid(dev))
		return cli_usage_error("'%s' is not an interface name", dev);
	snprintf(what, sizeof(what), "show%s%s", dev ? " " : "", dev ? dev : "");

	err = cli_genl_open(&g, what);
	if (err != SHOAL_EXIT_OK)
		return err;
	err = show_dump(&g, dev, &list);
	if (err == -EAGAIN) {
		fprintf(stderr, "shoal: %s: the devices kept changing during "
			"the dump; try again\n", what);
		err = SHOAL_EXIT_FAILURE;
	} else if (err < 0) {
		err = cli_genl_error(what, err, g.ext_msg);
	} else if (dev && list.n == 0) {
		fprintf(stderr, "shoal: %s: no such shoal device\n", what);
		err = SHOAL_EXIT_FAILURE;
	} else {
		err = show_print(&list, a->json, a->pretty);
	}
	shoal_device_list_free(&list);
	shoal_genl_close(&g);
	return err;
}
