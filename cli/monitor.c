// SPDX-License-Identifier: MIT
/*
 * shoal monitor [DEV]: shoal.ko's events (control packets, endpoint
 * changes, unknown SPIs, SAs near their end) as they come, one line of
 * text or one JSON object each, until SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "device.h"
#include "endpoint.h"
#include "genl.h"
#include "hex.h"
#include "key.h"
#include "link.h"
#include "print.h"
#include "uapi/linux/shoal.h"
#include "util.h"

static volatile sig_atomic_t monitor_stop;

static void monitor_signal(int sig)
{
	(void)sig;
	monitor_stop = 1;
}

static const char *const event_names[SHOAL_CMD_MAX + 1] = {
	[SHOAL_CMD_EVENT_CONTROL] = "control",
	[SHOAL_CMD_EVENT_ENDPOINT] = "endpoint",
	[SHOAL_CMD_EVENT_UNKNOWN_SPI] = "unknown_spi",
	[SHOAL_CMD_EVENT_SOFT_EXPIRE] = "soft_expire",
};

/*
 * " name value" in text, "name": value in JSON; " name none" and null
 * when there is no value.  The text's names are the JSON keys.
 */
static void event_field(const char *name, const char *value)
{
	char fmt[40];

	if (value) {
		snprintf(fmt, sizeof(fmt), " %s %%s", name);
		print_string(PRINT_ANY, name, fmt, value);
	} else {
		snprintf(fmt, sizeof(fmt), " %s none", name);
		print_null(PRINT_ANY, name, fmt);
	}
}

static void event_key(const char *name, const uint8_t *key)
{
	char b64[SHOAL_KEY_B64_LEN + 1];

	if (key)
		shoal_key_to_base64(b64, key);
	event_field(name, key ? b64 : NULL);
}

static void event_endpoint(const char *name, const struct shoal_endpoint *ep)
{
	char text[SHOAL_ENDPOINT_STRLEN + 1];
	bool known = ep->len &&
		shoal_endpoint_format(text, sizeof(text), ep) > 0;

	event_field(name, known ? text : NULL);
}

/* The local address a packet was sent to, when the event gives one. */
static void event_local(const struct shoal_event *e)
{
	char text[INET6_ADDRSTRLEN];
	bool known = e->local &&
		inet_ntop(e->local_len == 4 ? AF_INET : AF_INET6, e->local,
			  text, sizeof(text));

	event_field("local", known ? text : NULL);
}

static void event_spi(const struct shoal_event *e)
{
	if (e->has_spi)
		print_uint(PRINT_ANY, "spi", " spi %llu", e->spi);
	else
		print_null(PRINT_ANY, "spi", " spi none");
}

/* Hex; "" in JSON and none in text when empty (or too long to be real). */
static void event_payload(const struct shoal_event *e)
{
	char hex[SHOAL_HEX_LEN(SHOAL_MAX_CONTROL) + 1] = "";

	if (e->payload_len <= SHOAL_MAX_CONTROL)
		shoal_hex_encode(hex, sizeof(hex), e->payload, e->payload_len);
	print_string(PRINT_JSON, "payload", "", hex);
	print_string(PRINT_TEXT, NULL, " payload %s", *hex ? hex : "none");
}

/* One event: a line of text or one JSON object; -1 on a write error. */
static int event_print(const struct shoal_event *e, bool json, bool pretty)
{
	const char *name = e->cmd <= SHOAL_CMD_MAX ? event_names[e->cmd] : NULL;

	print_start(stdout, json, pretty);
	print_open_object(NULL);
	print_string(PRINT_ANY, "event", "%s", name ? name : "unknown");
	if (e->ifname)
		print_string(PRINT_ANY, "ifname", " %s", e->ifname);
	else
		print_null(PRINT_ANY, "ifname", " none");
	switch (name ? e->cmd : SHOAL_CMD_UNSPEC) {
	case SHOAL_CMD_EVENT_CONTROL:
		event_endpoint("source", &e->source);
		event_local(e);
		event_payload(e);
		break;
	case SHOAL_CMD_EVENT_ENDPOINT:
		event_key("public_key", e->public_key);
		event_endpoint("endpoint", &e->endpoint);
		break;
	case SHOAL_CMD_EVENT_UNKNOWN_SPI:
		event_spi(e);
		event_endpoint("source", &e->source);
		event_local(e);
		break;
	case SHOAL_CMD_EVENT_SOFT_EXPIRE:
		event_key("public_key", e->public_key);
		event_spi(e);
		break;
	default:
		print_uint(PRINT_ANY, "cmd", " cmd %llu", e->cmd);
		break;
	}
	print_close_object();
	print_nl();
	return print_end();
}

struct monitor_ctx {
	const char *dev;
	bool json, pretty;
};

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_ctx *ctx = data;
	struct shoal_event e;

	/* Whatever it holds is printed, "none" for what it lacks. */
	shoal_event_parse(&e, nlh);
	if (ctx->dev && (!e.ifname || strcmp(e.ifname, ctx->dev)))
		return MNL_CB_OK;
	if (event_print(&e, ctx->json, ctx->pretty) < 0) {
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

int shoal_cmd_monitor(const struct cli_args *a)
{
	struct monitor_ctx ctx = {
		.dev = a->n_args ? a->args[0] : NULL,
		.json = a->json,
		.pretty = a->pretty,
	};
	struct shoal_genl g;
	int err;

	if (ctx.dev && !shoal_link_name_valid(ctx.dev))
		return cli_usage_error("'%s' is not an interface name",
				       ctx.dev);
	err = cli_genl_open(&g, "monitor");
	if (err != SHOAL_EXIT_OK)
		return err;
	err = shoal_genl_subscribe_events(&g);
	if (err == -EOPNOTSUPP) {
		fputs("shoal: monitor: the shoal module has no events group\n",
		      stderr);
		err = SHOAL_EXIT_FAILURE;
	} else if (err == 0) {
		err = monitor_loop(&g, &ctx);
		err = err < 0 ? cli_genl_error("monitor", err, NULL) :
				SHOAL_EXIT_OK;
	} else {
		err = cli_genl_error("monitor", err, NULL);
	}
	shoal_genl_close(&g);
	return err;
}
