// SPDX-License-Identifier: MIT
/*
 * shoald's answers through the output layer; see render.h.  shoald sends
 * data (docs/architecture.md, "The control socket"), never text: what a
 * field looks like on a terminal and its JSON key are decided here, once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "print.h"
#include "render.h"
#include "utf8.h"

/* ---- a field of obj under its own key --------------------------------- */

static void field_string(enum print_type t, const char *fmt,
			 const struct jr_value *obj, const char *key)
{
	print_string(t, key, fmt, jr_string(obj, key));
}

/*
 * A whole number, a byte count if bytes (print_bytes); null in JSON (and
 * nothing in text) when not one.
 */
static void field_number(enum print_type t, const char *fmt,
			 const struct jr_value *obj, const char *key,
			 bool bytes)
{
	unsigned long long v;

	if (jr_uint(obj, key, &v) < 0)
		print_null(t & PRINT_JSON, key, "");
	else if (bytes)
		print_bytes(t, key, fmt, v);
	else
		print_uint(t, key, fmt, v);
}

/* A boolean; in text, yes or no where fmt puts it. */
static void field_bool(enum print_type t, const char *fmt,
		       const struct jr_value *obj, const char *key)
{
	int b = jr_bool(obj, key);

	if (b >= 0)
		print_bool(t, key, fmt, b);
	else
		print_null(t & PRINT_JSON, key, "");
}

/* "label: value" on a line of its own, "none" when empty or missing. */
static void field_line(const char *label, const struct jr_value *obj,
		       const char *key)
{
	const char *v = jr_string(obj, key);

	print_text("%s: ", label);
	if (v && *v) {
		print_string(PRINT_ANY, key, "%s\n", v);
		return;
	}
	/* An empty string stays one in JSON. */
	if (v)
		print_string(PRINT_JSON, key, "%s", v);
	else
		print_null(PRINT_JSON, key, "");
	print_text("none\n");
}

static bool is(const char *s, const char *word)
{
	return s && !strcmp(s, word);
}

/* ---- status ------------------------------------------------------------ */

/*
 * A cluster's instances (shoald's own list: the configured ones, then
 * those the cluster told of), in text only when there are several:
 * "  instances: a at 192.0.2.1:51800 (12 online), 192.0.2.2:51800
 * (learned)".
 */
static void render_instances(const struct jr_value *list)
{
	const struct jr_value *p;
	enum print_type t;
	size_t n = 0;

	if (!list || list->type != JR_ARRAY)
		return;
	for (p = list->child; p; p = p->next)
		n++;
	t = n > 1 ? PRINT_ANY : PRINT_JSON;
	if (n > 1)
		print_text("  instances:");
	print_open_array("instances");
	for (p = list->child; p; p = p->next) {
		const char *name = jr_string(p, "name");

		print_open_object(NULL);
		print_text(p == list->child ? " " : ", ");
		print_string(PRINT_JSON, "name", "%s", name);
		if (n > 1 && name && *name)
			print_string(PRINT_TEXT, NULL, "%s at ", name);
		field_string(t, "%s", p, "address");
		field_number(t, " (%llu online)", p, "load", false);
		field_bool(PRINT_JSON, "%s", p, "learned");
		if (n > 1 && jr_bool(p, "learned") == 1)
			print_text(" (learned)");
		print_close_object();
	}
	print_close_array();
	if (n > 1)
		print_nl();
}

static void render_mediator(const struct jr_value *m)
{
	const char *nick = jr_string(m, "nickname"), *error;
	const char *instance = jr_string(m, "instance");
	int logged_in = jr_bool(m, "logged_in");

	if (!m || m->type != JR_OBJECT) {
		print_null(PRINT_JSON, "mediator", "");
		return;
	}
	print_open_object("mediator");
	/* "mediator: NAME at HOST:PORT" when the instance said its name. */
	print_text("  mediator: ");
	if (instance && *instance)
		print_string(PRINT_TEXT, NULL, "%s at ", instance);
	field_string(PRINT_ANY, "%s", m, "address");
	/* A shoald before clusters says nothing of instances. */
	if (jr_member(m, "instance"))
		print_string(PRINT_JSON, "instance", "%s", instance);
	print_text(logged_in == 1 ? ", logged in" : ", not logged in");
	field_bool(PRINT_JSON, "%s", m, "logged_in");
	if (nick && *nick)
		print_string(PRINT_ANY, "nickname", " as %s", nick);
	else
		print_string(PRINT_JSON, "nickname", "%s", nick);
	print_nl();
	field_string(PRINT_ANY, "  ipv4: %s\n", m, "ipv4");
	field_string(PRINT_ANY, "  ipv6: %s\n", m, "ipv6");
	field_string(PRINT_ANY, "  public endpoint: %s\n", m,
		     "public_endpoint");
	if (jr_bool(m, "udp_verified") == 1)
		print_text("  tunnel port: verified\n");
	field_bool(PRINT_JSON, "%s", m, "udp_verified");
	render_instances(jr_member(m, "instances"));
	if (jr_member(m, "error")) {
		error = jr_string(m, "error");
		print_string(error && *error ? PRINT_ANY : PRINT_JSON, "error",
			     "  login failed: %s\n", error);
	}
	print_close_object();
}

/*
 * A port mapping (status and netcheck): "port mapping: upnp
 * 198.51.100.7:51820, 3599 s left", or none.  indent: the text's.
 */
static void render_port_mapping(const struct jr_value *pm, const char *indent)
{
	print_text("%sport mapping: ", indent);
	if (!pm || pm->type != JR_OBJECT) {
		print_null(PRINT_JSON, "port_mapping", "");
		print_text("none\n");
		return;
	}
	print_open_object("port_mapping");
	field_string(PRINT_ANY, "%s", pm, "protocol");
	field_string(PRINT_ANY, " %s", pm, "external");
	field_number(PRINT_ANY, ", %llu s left", pm, "expires", false);
	print_nl();
	print_close_object();
}

/* Chat (daemon/chat.c): its counters, and the networks it speaks in. */
static const char *const chat_counters[] = {
	"sent", "delivered", "failed", "received", "refused", "rate_dropped",
	"listeners",
};

static void render_chat(const struct jr_value *c)
{
	const struct jr_value *nets = jr_member(c, "networks"), *n;
	size_t i;

	/* None from a shoald older than chat: nothing to say. */
	if (!c)
		return;
	if (c->type != JR_OBJECT) {
		print_null(PRINT_JSON, "chat", "");
		return;
	}
	print_open_object("chat");
	for (i = 0; i < sizeof(chat_counters) / sizeof(*chat_counters); i++)
		field_number(PRINT_JSON, "%llu", c, chat_counters[i], false);
	field_number(PRINT_TEXT, "  chat: %llu sent", c, "sent", false);
	field_number(PRINT_TEXT, ", %llu received", c, "received", false);
	print_open_array("networks");
	if (nets && nets->type == JR_ARRAY)
		for (n = nets->child; n; n = n->next)
			if (n->type == JR_STRING)
				print_string(PRINT_JSON, NULL, "%s", n->str);
	print_close_array();
	print_nl();
	print_close_object();
}

static void render_peer(const struct jr_value *p, time_t now)
{
	const char *nick = jr_string(p, "nickname");
	unsigned long long when;
	double rtt;

	print_open_object(NULL);
	field_string(PRINT_ANY, "\npeer: %s", p, "public_key");
	print_string(PRINT_JSON, "nickname", "%s", nick);
	if (nick && *nick)
		print_string(PRINT_TEXT, NULL, " (%s)", nick);
	print_text("\n  status: %s", jr_bool(p, "online") == 1 ?
		   "online" : "offline");
	field_bool(PRINT_JSON, "%s", p, "online");
	field_string(PRINT_ANY, ", path %s", p, "path");
	/* In text only when unusual: a relay reached over TCP. */
	field_string(PRINT_JSON, "%s", p, "transport");
	if (jr_string(p, "transport") &&
	    !strcmp(jr_string(p, "transport"), "tcp"))
		print_text(" over tcp");
	if (jr_double(p, "rtt_ms", &rtt) == 0)
		print_float(PRINT_ANY, "rtt_ms", ", rtt %.1f ms", rtt);
	else
		print_null(PRINT_JSON, "rtt_ms", "");
	field_string(PRINT_ANY, "\n  mac: %s", p, "mac");
	field_string(PRINT_ANY, ", address %s", p, "address");
	field_string(PRINT_ANY, ", address6 %s", p, "address6");
	field_string(PRINT_ANY, "\n  endpoint: %s", p, "endpoint");
	field_number(PRINT_JSON, "%llu", p, "last_handshake", false);
	if (jr_uint(p, "last_handshake", &when) == 0 && when)
		print_text("\n  last handshake: %lld s ago",
			   (long long)now - (long long)when);
	field_number(PRINT_ANY, "\n  transfer: %s received", p, "rx_bytes",
		     true);
	field_number(PRINT_ANY, ", %s sent", p, "tx_bytes", true);
	print_nl();
	print_close_object();
}

/* The counters since shoald started: JSON only, as ip -s keeps its own. */
static const char *const status_counters[] = {
	"control_rejected", "handshakes", "handshakes_initiated",
	"handshakes_initiated_ok", "cookie_replies_sent",
	"cookie_replies_taken", "datapath_control_drops",
};

/* The name server's counters (daemon/dns.c): JSON only. */
static const char *const dns_counters[] = {
	"port", "names", "queries", "answered", "refused", "limited",
	"ignored",
};

/*
 * The name server: "names: served on 100.64.0.1, fd..., systemd-resolved:
 * absent"; in JSON the "dns" object as shoald gives it.
 */
static void render_dns(const struct jr_value *dns)
{
	const struct jr_value *l = jr_member(dns, "listening"), *a;
	bool first = true;
	size_t i;

	/* An older shoald says nothing of names: nor do we. */
	if (!dns)
		return;
	if (dns->type != JR_OBJECT) {
		print_null(PRINT_JSON, "dns", "");
		return;
	}
	print_open_object("dns");
	field_bool(PRINT_JSON, "%s", dns, "enabled");
	print_text("  names: ");
	print_open_array("listening");
	for (a = l && l->type == JR_ARRAY ? l->child : NULL; a; a = a->next) {
		if (a->type != JR_STRING)
			continue;
		print_string(PRINT_ANY, NULL, first ? "served on %s" : ", %s",
			     a->str);
		first = false;
	}
	print_close_array();
	if (first)
		print_text("%s", jr_bool(dns, "enabled") == 1 ?
			   "not served yet" : "off (Names = no)");
	field_string(PRINT_ANY, " (%s)", dns, "error");
	field_string(PRINT_ANY, ", systemd-resolved: %s", dns, "resolved");
	for (i = 0; i < sizeof(dns_counters) / sizeof(*dns_counters); i++)
		field_number(PRINT_JSON, "%llu", dns, dns_counters[i], false);
	print_nl();
	print_close_object();
}

void render_status(const struct jr_value *v)
{
	const struct jr_value *peers = jr_member(v, "peers"), *p;
	time_t now = time(NULL);
	size_t i;

	print_open_object(NULL);
	field_string(PRINT_ANY, "interface: %s", v, "ifname");
	field_string(PRINT_ANY, " (%s datapath)", v, "datapath");
	print_nl();
	field_string(PRINT_ANY, "  public key: %s\n", v, "public_key");
	field_string(PRINT_JSON, "%s", v, "mac");
	field_number(PRINT_ANY, "  listening port: %llu\n", v, "listen_port",
		     false);
	for (i = 0; i < sizeof(status_counters) / sizeof(*status_counters);
	     i++)
		field_number(PRINT_JSON, "%llu", v, status_counters[i], false);
	render_mediator(jr_member(v, "mediator"));
	render_port_mapping(jr_member(v, "port_mapping"), "  ");
	render_lan_broadcast(jr_member(v, "lan_broadcast"), "  ");
	render_chat(jr_member(v, "chat"));
	print_open_array("peers");
	if (peers && peers->type == JR_ARRAY)
		for (p = peers->child; p; p = p->next)
			render_peer(p, now);
	print_close_array();
	render_dns(jr_member(v, "dns"));
	print_close_object();
}

/* ---- networks ---------------------------------------------------------- */

/* Column widths of a network's member table: nickname, ipv4, status. */
struct columns {
	int w[3];
};

/* A member's address for the table: "100.64.0.5/10" shown without /10. */
static void member_ipv4(const struct jr_value *m, char *out, size_t size)
{
	const char *v = jr_string(m, "ipv4");

	snprintf(out, size, "%s", v && *v ? v : "-");
	out[strcspn(out, "/")] = '\0';
}

static const char *member_nick(const struct jr_value *m)
{
	const char *nick = jr_string(m, "nickname");

	return nick && *nick ? nick : "?";
}

static void member_marks(const struct jr_value *m, const char *me,
			 char *out, size_t size)
{
	const char *state = jr_string(m, "state");
	const char *nick = jr_string(m, "nickname");

	*out = '\0';
	if (jr_bool(m, "owner") == 1)
		snprintf(out + strlen(out), size - strlen(out), "owner");
	if (is(state, "pending"))
		snprintf(out + strlen(out), size - strlen(out), "%spending",
			 *out ? ", " : "");
	if (me && nick && !strcmp(me, nick))
		snprintf(out + strlen(out), size - strlen(out), "%syou",
			 *out ? ", " : "");
}

/* Text: spaces from a cell's width up to its column's. */
static void pad(int width, int column)
{
	if (column > width)
		print_text("%*s", column - width, "");
}

static void render_member(const struct jr_value *m, const char *me,
			  const struct columns *c)
{
	const char *nick = member_nick(m);
	const char *online = jr_bool(m, "online") == 1 ? "online" : "offline";
	char ip[64], marks[32];

	member_ipv4(m, ip, sizeof(ip));
	member_marks(m, me, marks, sizeof(marks));
	print_open_object(NULL);
	print_string(PRINT_TEXT, NULL, "  %s", nick);
	field_string(PRINT_JSON, "%s", m, "nickname");
	pad(shoal_safe_width(nick), c->w[0]);
	field_string(PRINT_JSON, "%s", m, "public_key");
	print_string(PRINT_TEXT, NULL, "  %s", ip);
	field_string(PRINT_JSON, "%s", m, "ipv4");
	pad(shoal_safe_width(ip), c->w[1]);
	field_string(PRINT_JSON, "%s", m, "ipv6");
	field_bool(PRINT_JSON, "%s", m, "online");
	print_text("  %s", online);
	if (*marks) {
		pad((int)strlen(online), c->w[2]);
		print_text("  %s", marks);
	}
	print_nl();
	field_string(PRINT_JSON, "%s", m, "state");
	field_bool(PRINT_JSON, "%s", m, "owner");
	print_close_object();
}

/* The table of one network's members, columns as wide as they must be. */
static void render_members(const struct jr_value *members, const char *me)
{
	struct columns c = { { 8, 4, 7 } };	/* "nickname", "ipv4", "offline" */
	const struct jr_value *m;
	char ip[64];

	print_open_array("members");
	if (!members || members->type != JR_ARRAY || !members->child) {
		print_text("  no members\n");
		print_close_array();
		return;
	}
	for (m = members->child; m; m = m->next) {
		if (shoal_safe_width(member_nick(m)) > c.w[0])
			c.w[0] = shoal_safe_width(member_nick(m));
		member_ipv4(m, ip, sizeof(ip));
		if (shoal_safe_width(ip) > c.w[1])
			c.w[1] = shoal_safe_width(ip);
	}
	print_text("  %-*s  %-*s  %s\n", c.w[0], "nickname", c.w[1], "ipv4",
		   "status");
	for (m = members->child; m; m = m->next)
		render_member(m, me, &c);
	print_close_array();
}

/* "mediator: HOST:PORT, logged in as NICK": text only (render.h). */
static void networks_header(const struct jr_value *v)
{
	const char *mediator = jr_string(v, "mediator");
	const char *me = jr_string(v, "nickname");
	bool known = mediator && *mediator;

	print_string(PRINT_TEXT, NULL, "mediator: %s", known ? mediator :
		     "none");
	if (jr_bool(v, "logged_in") != 1)
		print_text(known ? ", not logged in\n" :
			   " (shoal login HOST:PORT PUBLICKEY)\n");
	else if (me && *me)
		print_string(PRINT_TEXT, NULL, ", logged in as %s\n", me);
	else
		print_text(", logged in\n");
}

bool render_networks(const struct jr_value *v)
{
	const struct jr_value *nets = jr_member(v, "networks"), *n;
	const char *me = jr_string(v, "nickname");
	const char *name;

	networks_header(v);
	print_open_array(NULL);
	if (!nets || nets->type != JR_ARRAY || !nets->child)
		print_text("\nno networks\n");
	for (n = nets && nets->type == JR_ARRAY ? nets->child : NULL; n;
	     n = n->next) {
		name = jr_string(n, "name");
		print_open_object(NULL);
		print_string(PRINT_TEXT, NULL, "\nnetwork: %s",
			     name && *name ? name : "?");
		field_string(PRINT_JSON, "%s", n, "name");
		print_text(jr_bool(n, "approval") == 1 ?
			   ", approval required\n" : "\n");
		field_bool(PRINT_JSON, "%s", n, "approval");
		render_members(jr_member(n, "members"), me);
		print_close_object();
	}
	print_close_array();
	if (jr_bool(v, "truncated") != 1)
		return false;
	print_text("\n(more networks than one answer of the mediator "
		   "holds)\n");
	return true;
}

/* ---- netcheck ---------------------------------------------------------- */

/* What a NAT's behaviour (RFC 4787) means for reaching peers. */
static const char *nat_verdict(const struct jr_value *v)
{
	const char *map = jr_string(v, "mapping");
	const char *filter = jr_string(v, "filtering");
	const struct jr_value *ep = jr_member(v, "public_endpoint");

	if (jr_bool(v, "udp") == 0 || !ep || ep->type != JR_STRING)
		return "no UDP got through to the mediator: peers cannot "
		       "reach you (is UDP blocked here?)";
	if (is(map, "endpoint-independent")) {
		if (is(filter, "endpoint-independent"))
			return "your NAT lets peers reach you directly";
		if (is(filter, "address-dependent"))
			return "your NAT lets peers reach you directly by hole "
			       "punching, even peers behind symmetric NATs";
		if (is(filter, "address-and-port-dependent"))
			return "your NAT lets peers reach you directly by hole "
			       "punching; peers behind symmetric NATs by "
			       "birthday probing";
	}
	if (is(map, "address-dependent") ||
	    is(map, "address-and-port-dependent"))
		return "your NAT is symmetric (a new port for each "
		       "destination): peers behind port-restricted NATs "
		       "reach you by birthday probing, peers behind "
		       "symmetric NATs through a relay";
	return "how your NAT behaves is not known: some peers may need a "
	       "relay";
}

void render_netcheck(const struct jr_value *v)
{
	print_open_object(NULL);
	field_line("public endpoint", v, "public_endpoint");
	field_line("mapping", v, "mapping");
	field_line("filtering", v, "filtering");
	if (jr_bool(v, "udp") >= 0)
		field_bool(PRINT_ANY, "udp: %s\n", v, "udp");
	else
		print_null(PRINT_ANY, "udp", "udp: unknown\n");
	/* The address the filtering test's packets came from. */
	field_string(PRINT_JSON, "%s", v, "probe");
	render_port_mapping(jr_member(v, "port_mapping"), "");
	print_text("%s\n", nat_verdict(v));
	print_close_object();
}

/* ---- login, join ------------------------------------------------------- */

void render_login(const struct jr_value *v)
{
	print_open_object(NULL);
	field_line("nickname", v, "nickname");
	field_line("ipv4", v, "ipv4");
	field_line("ipv6", v, "ipv6");
	field_line("mac", v, "mac");
	field_bool(PRINT_JSON, "%s", v, "udp_verified");
	print_close_object();
}

void render_join(const char *network, bool pending)
{
	print_open_object(NULL);
	print_string(PRINT_TEXT, NULL, pending ? "asked to join %s: waiting "
		     "for the owner's approval\n" : "joined %s\n", network);
	print_string(PRINT_JSON, "network", "%s", network);
	print_string(PRINT_JSON, "state", "%s", pending ? "pending" :
		     "member");
	print_close_object();
}
