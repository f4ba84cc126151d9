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

#include <linux/genetlink.h>

#include "cli.h"
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
static void event_local(const struct event *e)
{
	char text[INET6_ADDRSTRLEN];
	bool known = e->local &&
		inet_ntop(e->local_len == 4 ? AF_INET : AF_INET6, e->local,
			  text, sizeof(text));

	event_field("local", known ? text : NULL);
}

static void event_spi(const struct event *e)
{
	if (e->has_spi)
		print_uint(PRINT_ANY, "spi", " spi %llu", e->spi);
	else
		print_null(PRINT_ANY, "spi", " spi none");
}

/* Hex; "" in JSON and none in text when empty (or too long to be real). */
static void event_payload(const struct event *e)
{
	char hex[SHOAL_HEX_LEN(SHOAL_CONTROL_MAX) + 1] = "";

	if (e->payload_len <= SHOAL_CONTROL_MAX)
		shoal_hex_encode(hex, sizeof(hex), e->payload, e->payload_len);
	print_string(PRINT_JSON, "payload", "", hex);
	print_string(PRINT_TEXT, NULL, " payload %s", *hex ? hex : "none");
}

/* One event: a line of text or one JSON object; -1 on a write error. */
static int event_print(const struct event *e, bool json, bool pretty)
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
	struct event e;

	event_parse(&e, nlh);
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
