// SPDX-License-Identifier: MIT
/*
 * shoal: the command-line tool, in the style of wg(8) and ip(8).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <sodium.h>

#include "genl.h"
#include "json.h"
#include "key.h"
#include "uapi/linux/shoal.h"
#include "util.h"

static const char usage_text[] =
	"Usage: shoal COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  genkey                 print a new base64 private key\n"
	"  pubkey                 read a private key on stdin, print its public key\n"
	"  show [DEV|all] [--json]\n"
	"                         show shoal devices\n"
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

struct show_ctx {
	bool json;
	int count;
};

static int show_device_cb(const struct nlmsghdr *nlh, void *data)
{
	struct show_ctx *ctx = data;
	const char *ifname = "";
	uint16_t port = 0;
	struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case SHOAL_A_DEVICE_IFNAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				ifname = mnl_attr_get_str(attr);
			break;
		case SHOAL_A_DEVICE_LISTEN_PORT:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				port = mnl_attr_get_u16(attr);
			break;
		}
	}
	if (ctx->json) {
		printf("%s{\"ifname\":", ctx->count ? "," : "");
		shoal_json_string(stdout, ifname);
		printf(",\"listen_port\":%u,\"peers\":[]}", port);
	} else {
		printf("%sinterface: %s\n  listening port: %u\n",
		       ctx->count ? "\n" : "", ifname, port);
	}
	ctx->count++;
	return MNL_CB_OK;
}

static int report_genl_error(const char *what, int err, const char *ext_msg)
{
	if (err == -ENOENT) {
		fputs("shoal: the shoal kernel module is not available "
		      "(generic netlink family 'shoal' not found; "
		      "is shoal.ko installed and loadable?)\n", stderr);
		return SHOAL_EXIT_NO_MODULE;
	}
	if (err == -EPERM)
		fprintf(stderr, "shoal: %s: permission denied (needs CAP_NET_ADMIN)\n",
			what);
	else
		fprintf(stderr, "shoal: %s: %s%s%s\n", what, strerror(-err),
			ext_msg && *ext_msg ? ": " : "", ext_msg ? ext_msg : "");
	return SHOAL_EXIT_FAILURE;
}

static int cmd_show(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct show_ctx ctx = { 0 };
	const char *dev = NULL;
	struct shoal_genl g;
	struct nlmsghdr *nlh;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			ctx.json = true;
		else if (argv[i][0] == '-')
			return usage_error("show: unknown option '%s'", argv[i]);
		else if (dev)
			return usage_error("show: unexpected '%s'", argv[i]);
		else
			dev = argv[i];
	}
	if (dev && !strcmp(dev, "all"))
		dev = NULL;
	if (dev && strlen(dev) >= 16)
		return usage_error("show: '%s' is not an interface name", dev);

	err = shoal_genl_open(&g);
	if (err < 0)
		return report_genl_error("show", err, NULL);

	nlh = shoal_genl_request(&g, buf, SHOAL_CMD_GET_DEVICE,
				 dev ? 0 : NLM_F_DUMP);
	if (dev)
		mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, dev);
	if (ctx.json && !dev)
		putchar('[');
	err = shoal_genl_talk(&g, nlh, show_device_cb, &ctx);
	if (ctx.json && !dev)
		puts("]");
	else if (ctx.json)
		putchar('\n');
	if (err < 0) {
		err = report_genl_error(dev ? dev : "show", err, g.ext_msg);
		shoal_genl_close(&g);
		return err;
	}
	shoal_genl_close(&g);
	return SHOAL_EXIT_OK;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "genkey", cmd_genkey },
	{ "pubkey", cmd_pubkey },
	{ "show", cmd_show },
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
	for (i = 0; i < SHOAL_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].run(argc - optind, argv + optind);
	return usage_error("unknown command '%s'", argv[optind]);
}
