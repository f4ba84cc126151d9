// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "portlist.h"

enum section { SECTION_NONE, SECTION_INTERFACE, SECTION_PEER,
	       SECTION_MEDIATOR };

enum iface_key {
	IK_NAME, IK_PRIVATE_KEY, IK_LISTEN_PORT, IK_ADDRESS, IK_MAC, IK_REKEY,
	IK_KEEPALIVE, IK_PORT_MAPPING, IK_FORWARDED_PORT, IK_PUBLIC_ENDPOINT,
	IK_LAN_BROADCAST, IK_LAN_BROADCAST_PORTS,
	IK_NAMES,
	IK_COUNT
};

static const char *const iface_keys[IK_COUNT] = {
	[IK_NAME] = "Name",
	[IK_PRIVATE_KEY] = "PrivateKey",
	[IK_LISTEN_PORT] = "ListenPort",
	[IK_ADDRESS] = "Address",
	[IK_MAC] = "MAC",
	[IK_REKEY] = "RekeySeconds",
	[IK_KEEPALIVE] = "KeepaliveSeconds",
	[IK_PORT_MAPPING] = "PortMapping",
	[IK_FORWARDED_PORT] = "ForwardedPort",
	[IK_PUBLIC_ENDPOINT] = "PublicEndpoint",
	[IK_LAN_BROADCAST] = "LanBroadcast",
	[IK_LAN_BROADCAST_PORTS] = "LanBroadcastPorts",
	[IK_NAMES] = "Names",
};

enum peer_key {
	PK_PUBLIC_KEY, PK_ENDPOINT, PK_MAC, PK_ADDRESS, PK_ALLOWED_IPS, PK_COUNT
};

static const char *const peer_keys[PK_COUNT] = {
	[PK_PUBLIC_KEY] = "PublicKey",
	[PK_ENDPOINT] = "Endpoint",
	[PK_MAC] = "MAC",
	[PK_ADDRESS] = "Address",
	[PK_ALLOWED_IPS] = "AllowedIPs",
};

enum mediator_key {
	MK_ADDRESS, MK_PUBLIC_KEY, MK_NICKNAME, MK_ADDRESS_RANGES, MK_COUNT
};

static const char *const mediator_keys[MK_COUNT] = {
	[MK_ADDRESS] = "Address",
	[MK_PUBLIC_KEY] = "PublicKey",
	[MK_NICKNAME] = "Nickname",
	[MK_ADDRESS_RANGES] = "AddressRanges",
};

/* Enough of a value to recognise it in a message, escaped. */
#define QUOTE_MAX 64
#define QUOTE_SIZE (QUOTE_MAX * 4 + sizeof("..."))

struct parser {
	struct shoal_config *c;
	const char *source;
	char *err;
	size_t err_size;
	unsigned int line;
	enum section section;
	/* Line where each key of the current section was set; 0: not yet. */
	unsigned int iface_seen[IK_COUNT];
	unsigned int peer_seen[PK_COUNT];
	unsigned int mediator_seen[MK_COUNT];
	size_t peers_size;
	/* Holds the PrivateKey line at some point: wiped before returning. */
	char buf[SHOAL_CONFIG_MAX_LINE + 1];
};

static void vfail(struct parser *p, unsigned int line, const char *fmt,
		  va_list ap) __attribute__((format(printf, 3, 0)));

static void vfail(struct parser *p, unsigned int line, const char *fmt,
		  va_list ap)
{
	int n;

	if (!p->err || p->err_size == 0)
		return;
	if (line)
		n = snprintf(p->err, p->err_size, "%s:%u: ", p->source, line);
	else
		n = snprintf(p->err, p->err_size, "%s: ", p->source);
	if (n < 0 || (size_t)n >= p->err_size)
		return;
	vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
}

/* Reports a problem of line (0: of the whole file) and returns -1. */
static int fail_at(struct parser *p, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, line, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The file is not trusted to be text, and messages end up on terminals and
 * in logs: escape what is not printable ASCII and cut long values short.
 */
static const char *quote(char out[QUOTE_SIZE], const char *s)
{
	size_t i, o = 0;

	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
			out[o++] = (char)ch;
		} else {
			snprintf(out + o, 5, "\\x%02x", ch);
			o += 4;
		}
	}
	if (s[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trims spaces and tabs in place. */
static char *trim(char *s)
{
	char *end;

	while (is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_blank(end[-1]))
		*--end = '\0';
	return s;
}

/* ASCII only: a locale must not change what the file means. */
static bool same_word(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static int lookup(const char *const *names, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (same_word(names[i], key))
			return i;
	return -1;
}

/* Decimal digits only (no sign, no spaces), min..max. */
static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		/* Stops before v can overflow, however long the digits. */
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

/* What the kernel's dev_valid_name() accepts, less control characters. */
static bool valid_ifname(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == ':')
			return false;
	}
	return true;
}

int shoal_prefix_parse(struct shoal_prefix *p, const char *text)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len, max;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(addr))
		goto bad;
	memcpy(addr, text, n);
	addr[n] = '\0';
	p->family = memchr(addr, ':', n) ? AF_INET6 : AF_INET;
	max = p->family == AF_INET6 ? 128 : 32;
	if (inet_pton(p->family, addr, &p->addr) != 1)
		goto bad;
	if (!slash) {
		len = max;
	} else if ((slash[1] == '0' && slash[2]) ||
		   parse_uint(slash + 1, 0, max, &len) < 0) {
		/* One spelling per length: "/024" is likelier a typo. */
		goto bad;
	}
	p->len = (uint8_t)len;
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return -1;
}

int shoal_prefix_format(char *buf, size_t size, const struct shoal_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (!((p->family == AF_INET && p->len <= 32) ||
	      (p->family == AF_INET6 && p->len <= 128)))
		return -1;
	if (!inet_ntop(p->family, &p->addr, addr, sizeof(addr)))
		return -1;
	n = snprintf(buf, size, "%s/%u", addr, p->len);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

bool shoal_prefix_within(const struct shoal_prefix *ranges, size_t n,
			 const struct shoal_prefix *p)
{
	const uint8_t *a = p->family == AF_INET ?
			   (const uint8_t *)&p->addr.v4 : p->addr.v6.s6_addr;
	const uint8_t *r;
	unsigned int bit;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ranges[i].family != p->family || p->len < ranges[i].len)
			continue;
		r = p->family == AF_INET ?
		    (const uint8_t *)&ranges[i].addr.v4 :
		    ranges[i].addr.v6.s6_addr;
		for (bit = 0; bit < ranges[i].len; bit++)
			if ((a[bit / 8] ^ r[bit / 8]) & (0x80 >> (bit % 8)))
				break;
		if (bit == ranges[i].len)
			return true;
	}
	return false;
}

/* Adds a comma-separated list to addrs, which holds *n already. */
/*
 * The next entry of a comma-separated list, trimmed, cut out of *rest in
 * place (*rest is NULL after the last): the entry, or NULL (with the
 * message) if it is empty or would be entry number max + 1.
 */
static char *list_next(struct parser *p, const char *key, char **rest,
		       unsigned int n, unsigned int max)
{
	char *item = *rest, *comma = strchr(item, ',');

	if (comma)
		*comma = '\0';
	/* NULL + 1, after the last entry, is undefined behaviour. */
	*rest = comma ? comma + 1 : NULL;
	item = trim(item);
	if (!*item) {
		fail_at(p, p->line, "%s: empty entry in the list", key);
		return NULL;
	}
	if (n == max) {
		fail_at(p, p->line, "%s: more than %u addresses", key, max);
		return NULL;
	}
	return item;
}

static int parse_addresses(struct parser *p, const char *key, char *value,
			   struct shoal_prefix *addrs, unsigned int *n,
			   unsigned int max)
{
	char q[QUOTE_SIZE];
	char *item, *rest = value;

	while (rest) {
		item = list_next(p, key, &rest, *n, max);
		if (!item)
			return -1;
		if (shoal_prefix_parse(&addrs[*n], item) < 0)
			return fail_at(p, p->line,
				       "%s: not an IP address with an optional /prefix length: '%s'",
				       key, quote(q, item));
		(*n)++;
	}
	return 0;
}

void shoal_prefix_mask(struct shoal_prefix *p)
{
	uint8_t *a = p->family == AF_INET ?
		     (uint8_t *)&p->addr.v4 : p->addr.v6.s6_addr;
	unsigned int bit, bits = p->family == AF_INET ? 32 : 128;

	for (bit = p->len; bit < bits; bit++)
		a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

bool shoal_prefix_is_network(const struct shoal_prefix *p)
{
	const uint8_t *a = p->family == AF_INET ?
			   (const uint8_t *)&p->addr.v4 : p->addr.v6.s6_addr;
	unsigned int bit, bits = p->family == AF_INET ? 32 : 128;

	for (bit = p->len; bit < bits; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* Prefixes with no host bits set: ranges, not addresses. */
static int parse_networks(struct parser *p, const char *key, char *value,
			  struct shoal_prefix *nets, unsigned int *n,
			  unsigned int max)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i = *n;

	if (parse_addresses(p, key, value, nets, n, max) < 0)
		return -1;
	for (; i < *n; i++) {
		if (shoal_prefix_is_network(&nets[i]))
			continue;
		shoal_prefix_format(text, sizeof(text), &nets[i]);
		return fail_at(p, p->line,
			       "%s: '%s' has host bits set after its length",
			       key, text);
	}
	return 0;
}

/*
 * One slot is kept for the link-local address the peer's MAC makes, which
 * shoald adds.  A wider link-local prefix would let the peer speak for
 * every other peer's link-local address (neighbour advertisements).
 */
static int parse_allowed_ips(struct parser *p, const char *key, char *value,
			     struct shoal_config_peer *peer)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i = peer->n_allowed_ips;

	if (parse_networks(p, key, value, peer->allowed_ips,
			   &peer->n_allowed_ips,
			   SHOAL_CONFIG_MAX_ALLOWED_IPS - 1) < 0)
		return -1;
	for (; i < peer->n_allowed_ips; i++) {
		const struct shoal_prefix *a = &peer->allowed_ips[i];

		if (a->family != AF_INET6 || a->len >= 128 ||
		    a->addr.v6.s6_addr[0] != 0xfe ||
		    (a->addr.v6.s6_addr[1] & 0xc0) != 0x80)
			continue;
		shoal_prefix_format(text, sizeof(text), a);
		return fail_at(p, p->line,
			       "%s: '%s' would let the peer answer for every link-local address; its MAC's own is allowed already, and another is listed as a /128",
			       key, text);
	}
	return 0;
}

static int parse_mac(struct parser *p, const char *key, const char *value,
		     uint8_t mac[SHOAL_MAC_LEN])
{
	char q[QUOTE_SIZE];

	if (shoal_mac_parse(mac, value) < 0)
		return fail_at(p, p->line,
			       "%s: not a MAC address (aa:bb:cc:dd:ee:ff): '%s'",
			       key, quote(q, value));
	if (!shoal_mac_is_unicast(mac))
		return fail_at(p, p->line,
			       "%s: not a unicast MAC address (multicast or all zeros): '%s'",
			       key, quote(q, value));
	return 0;
}

static int parse_seconds(struct parser *p, const char *key, const char *value,
			 unsigned long max, unsigned int *out)
{
	char q[QUOTE_SIZE];
	unsigned long v;

	if (parse_uint(value, 1, max, &v) < 0)
		return fail_at(p, p->line,
			       "%s: not a number of seconds (1..%lu): '%s'",
			       key, max, quote(q, value));
	*out = (unsigned int)v;
	return 0;
}

static int parse_port(struct parser *p, const char *key, const char *value,
		      uint16_t *port)
{
	char q[QUOTE_SIZE];
	unsigned long v;

	if (parse_uint(value, 1, 65535, &v) < 0)
		return fail_at(p, p->line,
			       "%s: not a port number (1..65535): '%s'",
			       key, quote(q, value));
	*port = (uint16_t)v;
	return 0;
}

static int parse_yes_no(struct parser *p, const char *key, const char *value,
			bool *out)
{
	char q[QUOTE_SIZE];

	if (!strcasecmp(value, "yes") || !strcasecmp(value, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(value, "no") || !strcasecmp(value, "false")) {
		*out = false;
		return 0;
	}
	return fail_at(p, p->line, "%s: not yes or no: '%s'", key,
		       quote(q, value));
}

/*
 * Announced to every peer as where we are reached, so only an address a
 * peer could send to: numeric (shoald resolves no names), and not
 * loopback, multicast, link-local or otherwise unusable.
 */
static int parse_public_endpoint(struct parser *p, const char *key,
				 const char *value, struct shoal_endpoint *ep)
{
	char q[QUOTE_SIZE];
	uint8_t addr[16];
	int family;

	if (shoal_endpoint_parse(ep, value) < 0)
		return fail_at(p, p->line,
			       "%s: not a numeric IPv4:port or [IPv6]:port with a port of 1..65535: '%s'",
			       key, quote(q, value));
	if (!shoal_candidate_usable(ep, false, &family, addr))
		return fail_at(p, p->line,
			       "%s: not an address peers could reach (loopback, multicast, link-local, unspecified or reserved): '%s'",
			       key, quote(q, value));
	return 0;
}

/* LanBroadcastPorts: lib/portlist.h says what it takes. */
static int parse_port_list(struct parser *p, const char *key,
			   const char *value, struct shoal_portlist *l)
{
	char why[160];

	if (shoal_portlist_parse(l, value, why, sizeof(why)) < 0)
		return fail_at(p, p->line, "%s: %s", key, why);
	return 0;
}

static int set_iface_key(struct parser *p, enum iface_key k, char *value)
{
	struct shoal_config *c = p->c;
	const char *key = iface_keys[k];
	char q[QUOTE_SIZE];

	switch (k) {
	case IK_NAME:
		if (!valid_ifname(value))
			return fail_at(p, p->line,
				       "%s: not a valid interface name (1..15 characters, none of them '/', ':' or white space; not '.' or '..'): '%s'",
				       key, quote(q, value));
		strcpy(c->name, value);
		return 0;
	case IK_PRIVATE_KEY:
		/* Never quoted: a near miss is still most of a secret. */
		if (shoal_key_from_base64(c->private_key, value) < 0)
			return fail_at(p, p->line,
				       "%s: not a base64-encoded 32-byte key (the value is not repeated here)",
				       key);
		return 0;
	case IK_LISTEN_PORT:
		return parse_port(p, key, value, &c->listen_port);
	case IK_ADDRESS:
		return parse_addresses(p, key, value, c->addrs, &c->n_addrs,
				       SHOAL_CONFIG_MAX_ADDRS);
	case IK_MAC:
		c->has_mac = true;
		return parse_mac(p, key, value, c->mac);
	case IK_REKEY:
		return parse_seconds(p, key, value, SHOAL_CONFIG_MAX_REKEY,
				     &c->rekey_seconds);
	case IK_KEEPALIVE:
		return parse_seconds(p, key, value, SHOAL_CONFIG_MAX_KEEPALIVE,
				     &c->keepalive_seconds);
	case IK_PORT_MAPPING:
		return parse_yes_no(p, key, value, &c->port_mapping);
	case IK_NAMES:
		return parse_yes_no(p, key, value, &c->names);
	case IK_FORWARDED_PORT:
		return parse_port(p, key, value, &c->forwarded_port);
	case IK_PUBLIC_ENDPOINT:
		c->has_public_endpoint = true;
		return parse_public_endpoint(p, key, value,
					     &c->public_endpoint);
	case IK_LAN_BROADCAST:
		return parse_yes_no(p, key, value, &c->lan_broadcast);
	case IK_LAN_BROADCAST_PORTS:
		return parse_port_list(p, key, value, &c->lan_broadcast_ports);
	case IK_COUNT:
		break;
	}
	return -1;
}

static int set_peer_key(struct parser *p, enum peer_key k, char *value)
{
	struct shoal_config_peer *peer = &p->c->peers[p->c->n_peers - 1];
	const char *key = peer_keys[k];
	char q[QUOTE_SIZE];

	switch (k) {
	case PK_PUBLIC_KEY:
		if (shoal_key_from_base64(peer->public_key, value) < 0)
			return fail_at(p, p->line,
				       "%s: not a base64-encoded 32-byte key: '%s'",
				       key, quote(q, value));
		return 0;
	case PK_ENDPOINT:
		if (shoal_endpoint_parse(&peer->endpoint, value) < 0)
			return fail_at(p, p->line,
				       "%s: not a numeric IPv4:port or [IPv6]:port with a port of 1..65535: '%s'",
				       key, quote(q, value));
		peer->has_endpoint = true;
		return 0;
	case PK_MAC:
		peer->has_mac = true;
		return parse_mac(p, key, value, peer->mac);
	case PK_ADDRESS:
		return parse_addresses(p, key, value, peer->addrs,
				       &peer->n_addrs, SHOAL_CONFIG_MAX_ADDRS);
	case PK_ALLOWED_IPS:
		return parse_allowed_ips(p, key, value, peer);
	case PK_COUNT:
		break;
	}
	return -1;
}

/* HOST:PORT or [IPv6]:PORT; HOST is a name or an address. */
bool shoal_config_valid_hostport(const char *s)
{
	const char *colon, *host_end, *ch;
	size_t host_len;
	unsigned long port;
	char *end;

	if (!s || strlen(s) > SHOAL_CONFIG_MAX_HOSTPORT)
		return false;
	if (*s == '[') {
		host_end = strchr(s, ']');
		if (!host_end || host_end[1] != ':' || host_end == s + 1)
			return false;
		for (ch = s + 1; ch < host_end; ch++)
			if (!isxdigit((unsigned char)*ch) && *ch != ':' &&
			    *ch != '.')
				return false;
		colon = host_end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
			return false;
		host_len = (size_t)(colon - s);
		for (ch = s; ch < s + host_len; ch++)
			if (!isalnum((unsigned char)*ch) && *ch != '.' &&
			    *ch != '-')
				return false;
	}
	if (!isdigit((unsigned char)colon[1]) || colon[1] == '0')
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return !errno && !*end && port >= 1 && port <= 65535;
}

int shoal_config_parse_hostports(const char *text,
				 char (*out)[SHOAL_CONFIG_MAX_HOSTPORT + 1],
				 unsigned int max)
{
	const char *item = text, *comma;
	unsigned int n = 0, i;
	size_t len;

	for (;;) {
		comma = strchr(item, ',');
		len = comma ? (size_t)(comma - item) : strlen(item);
		if (n == max || len > SHOAL_CONFIG_MAX_HOSTPORT)
			return -1;
		memcpy(out[n], item, len);
		out[n][len] = '\0';
		if (!shoal_config_valid_hostport(out[n]))
			return -1;
		for (i = 0; i < n; i++)
			if (!strcasecmp(out[i], out[n]))
				return -1;
		n++;
		if (!comma)
			return (int)n;
		item = comma + 1;
	}
}

/* AddressRanges: prefixes, with no host bits set (they are ranges). */
static int parse_ranges(struct parser *p, const char *key, char *value)
{
	struct shoal_config *c = p->c;

	return parse_networks(p, key, value, c->mediator_ranges,
			      &c->n_mediator_ranges, SHOAL_CONFIG_MAX_ADDRS);
}

/*
 * Address: the instances of one mediator (a cluster, sharing its key), a
 * list that repeating the key adds to; the same one twice is refused, as
 * it would be tried twice in a row.
 */
static int parse_mediators(struct parser *p, const char *key, char *value)
{
	struct shoal_config *c = p->c;
	char q[QUOTE_SIZE], *item, *rest = value;
	unsigned int i;

	while (rest) {
		item = list_next(p, key, &rest, c->n_mediator_addresses,
				 SHOAL_CONFIG_MAX_MEDIATORS);
		if (!item)
			return -1;
		if (!shoal_config_valid_hostport(item))
			return fail_at(p, p->line,
				       "%s: not HOST:PORT or [IPv6]:PORT with a port of 1..65535: '%s'",
				       key, quote(q, item));
		for (i = 0; i < c->n_mediator_addresses; i++)
			if (!strcasecmp(c->mediator_addresses[i], item))
				return fail_at(p, p->line,
					       "%s: '%s' is given twice", key,
					       quote(q, item));
		strcpy(c->mediator_addresses[c->n_mediator_addresses++], item);
	}
	return 0;
}

static int set_mediator_key(struct parser *p, enum mediator_key k,
			    char *value)
{
	struct shoal_config *c = p->c;
	const char *key = mediator_keys[k];
	char q[QUOTE_SIZE];

	switch (k) {
	case MK_ADDRESS:
		return parse_mediators(p, key, value);
	case MK_PUBLIC_KEY:
		if (shoal_key_from_base64(c->mediator_key, value) < 0)
			return fail_at(p, p->line,
				       "%s: not a base64-encoded 32-byte key: '%s'",
				       key, quote(q, value));
		return 0;
	case MK_NICKNAME:
		if (!shoal_config_valid_nickname(value))
			return fail_at(p, p->line,
				       "%s: not a nickname (1..32 of A-Z a-z 0-9 . _ -, starting with a letter or digit): '%s'",
				       key, quote(q, value));
		strcpy(c->nickname, value);
		return 0;
	case MK_ADDRESS_RANGES:
		return parse_ranges(p, key, value);
	case MK_COUNT:
		break;
	}
	return -1;
}

bool shoal_config_valid_nickname(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > SHOAL_CONFIG_MAX_NICK || !isalnum((unsigned char)*s))
		return false;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

void shoal_config_default_nickname(char *out, size_t size,
				   const char *hostname)
{
	size_t i, n = 0;
	char ch;

	if (!size)
		return;
	/* The host's own label: dots would make NICK.shoal more names. */
	for (i = 0; hostname[i] && hostname[i] != '.' && n + 1 < size &&
		    n < SHOAL_CONFIG_MAX_NICK; i++) {
		ch = hostname[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!isalnum((unsigned char)ch) && ch != '_' && ch != '-')
			ch = '-';
		/* It must start with a letter or digit. */
		if (!n && !isalnum((unsigned char)ch))
			continue;
		out[n++] = ch;
	}
	out[n] = '\0';
	if (!n)
		snprintf(out, size, "member");
}

/* Checks the section that a new header or the end of the file closes. */
static int close_section(struct parser *p)
{
	struct shoal_config *c = p->c;

	switch (p->section) {
	case SECTION_INTERFACE:
		if (!p->iface_seen[IK_NAME])
			return fail_at(p, c->line, "[Interface] has no Name");
		if (!p->iface_seen[IK_PRIVATE_KEY])
			return fail_at(p, c->line,
				       "[Interface] has no PrivateKey");
		break;
	case SECTION_PEER:
		if (!p->peer_seen[PK_PUBLIC_KEY])
			return fail_at(p, c->peers[c->n_peers - 1].line,
				       "[Peer] has no PublicKey");
		break;
	case SECTION_MEDIATOR:
		/*
		 * Without both, only the other keys count: the mediator
		 * comes from `shoal login`.
		 */
		if (!p->mediator_seen[MK_ADDRESS] &&
		    !p->mediator_seen[MK_PUBLIC_KEY])
			break;
		if (!p->mediator_seen[MK_ADDRESS])
			return fail_at(p, c->mediator_line,
				       "[Mediator] has no Address");
		if (!p->mediator_seen[MK_PUBLIC_KEY])
			return fail_at(p, c->mediator_line,
				       "[Mediator] has no PublicKey");
		c->has_mediator = true;
		break;
	case SECTION_NONE:
		break;
	}
	p->section = SECTION_NONE;
	return 0;
}

static int add_peer(struct parser *p)
{
	struct shoal_config *c = p->c;
	struct shoal_config_peer *peers;
	size_t size;

	if (c->n_peers == SHOAL_CONFIG_MAX_PEERS)
		return fail_at(p, p->line, "too many peers (at most %d)",
			       SHOAL_CONFIG_MAX_PEERS);
	if (c->n_peers == p->peers_size) {
		size = p->peers_size ? p->peers_size * 2 : 8;
		if (size > SHOAL_CONFIG_MAX_PEERS)
			size = SHOAL_CONFIG_MAX_PEERS;
		peers = realloc(c->peers, size * sizeof(*peers));
		if (!peers)
			return fail_at(p, p->line, "out of memory");
		c->peers = peers;
		p->peers_size = size;
	}
	memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
	c->peers[c->n_peers].line = p->line;
	c->n_peers++;
	memset(p->peer_seen, 0, sizeof(p->peer_seen));
	p->section = SECTION_PEER;
	return 0;
}

/* line is trimmed, non-empty and starts with '['. */
static int parse_header(struct parser *p, char *line)
{
	size_t n = strlen(line);
	char q[QUOTE_SIZE];

	if (line[n - 1] != ']')
		return fail_at(p, p->line,
			       "malformed section header (expected [Interface], [Peer] or [Mediator]): '%s'",
			       quote(q, line));
	if (close_section(p) < 0)
		return -1;
	line[n - 1] = '\0';
	if (same_word(line + 1, "Interface")) {
		if (p->c->line)
			return fail_at(p, p->line,
				       "second [Interface] section (the first is on line %u)",
				       p->c->line);
		p->c->line = p->line;
		p->section = SECTION_INTERFACE;
		return 0;
	}
	if (same_word(line + 1, "Peer"))
		return add_peer(p);
	if (same_word(line + 1, "Mediator")) {
		if (p->c->mediator_line)
			return fail_at(p, p->line,
				       "second [Mediator] section (the first is on line %u)",
				       p->c->mediator_line);
		p->c->mediator_line = p->line;
		p->section = SECTION_MEDIATOR;
		return 0;
	}
	line[n - 1] = ']';
	return fail_at(p, p->line,
		       "unknown section '%s' (expected [Interface], [Peer] or [Mediator])",
		       quote(q, line));
}

/* line is trimmed, non-empty and not a header. */
static int parse_assignment(struct parser *p, char *line)
{
	char *eq = strchr(line, '='), *key, *value, *blank;
	const char *const *names, *more = "";
	unsigned int *seen;
	char q[QUOTE_SIZE];
	bool list;
	int k, n;

	/* The line is not repeated: it may be a PrivateKey line with a typo. */
	if (!eq)
		return fail_at(p, p->line,
			       "missing '=' (expected 'Key = Value' or a [Section] header)");
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key)
		return fail_at(p, p->line, "missing key before '='");
	/*
	 * Nor is more than a key's first word: "PrivateKey <key>=" lacks its
	 * '=' and would otherwise be quoted whole as an unknown key.
	 */
	blank = strpbrk(key, " \t");
	if (blank) {
		*blank = '\0';
		more = " ...";
	}
	if (p->section == SECTION_NONE)
		return fail_at(p, p->line,
			       "'%s%s' outside a section (it must follow [Interface], [Peer] or [Mediator])",
			       quote(q, key), more);
	if (p->section == SECTION_INTERFACE) {
		names = iface_keys;
		n = IK_COUNT;
		seen = p->iface_seen;
	} else if (p->section == SECTION_MEDIATOR) {
		names = mediator_keys;
		n = MK_COUNT;
		seen = p->mediator_seen;
	} else {
		names = peer_keys;
		n = PK_COUNT;
		seen = p->peer_seen;
	}
	k = blank ? -1 : lookup(names, n, key);
	if (k < 0)
		return fail_at(p, p->line, "unknown key '%s%s' in [%s]",
			       quote(q, key), more,
			       p->section == SECTION_INTERFACE ? "Interface" :
			       p->section == SECTION_MEDIATOR ? "Mediator" :
			       "Peer");
	if (!*value)
		return fail_at(p, p->line, "%s: empty value", names[k]);
	/* Address is the one list: repeating it adds to it. */
	list = p->section == SECTION_INTERFACE ? k == IK_ADDRESS :
	       p->section == SECTION_MEDIATOR ? k == MK_ADDRESS :
	       (k == PK_ADDRESS || k == PK_ALLOWED_IPS);
	if (seen[k] && !list)
		return fail_at(p, p->line,
			       "duplicate key %s (first set on line %u)",
			       names[k], seen[k]);
	if (!seen[k])
		seen[k] = p->line;
	if (p->section == SECTION_INTERFACE)
		return set_iface_key(p, (enum iface_key)k, value);
	if (p->section == SECTION_MEDIATOR)
		return set_mediator_key(p, (enum mediator_key)k, value);
	return set_peer_key(p, (enum peer_key)k, value);
}

/*
 * A comment starts at '#' or ';' at the start of the line or after a space
 * or tab, so that a value may still contain either character.
 */
static void strip_comment(char *line)
{
	char *s;

	for (s = line; *s; s++) {
		if ((*s == '#' || *s == ';') &&
		    (s == line || is_blank(s[-1]))) {
			*s = '\0';
			return;
		}
	}
}

static int parse_lines(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0, n;
	const char *nl;
	char *line;

	while (pos < len) {
		p->line++;
		nl = memchr(text + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (memchr(text + pos, '\0', n))
			return fail_at(p, p->line, "NUL byte in the file");
		/* CRLF from Windows editors; a lone CR is part of the line. */
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > SHOAL_CONFIG_MAX_LINE)
			return fail_at(p, p->line,
				       "line too long (more than %d bytes)",
				       SHOAL_CONFIG_MAX_LINE);
		memcpy(p->buf, text + pos, n);
		p->buf[n] = '\0';
		pos = nl ? (size_t)(nl - text) + 1 : len;

		strip_comment(p->buf);
		line = trim(p->buf);
		if (!*line)
			continue;
		if (*line == '[') {
			if (parse_header(p, line) < 0)
				return -1;
		} else if (parse_assignment(p, line) < 0) {
			return -1;
		}
	}
	return close_section(p);
}

static int key_cmp(const struct shoal_config_peer *a,
		   const struct shoal_config_peer *b)
{
	return memcmp(a->public_key, b->public_key, sizeof(a->public_key));
}

static int mac_cmp(const struct shoal_config_peer *a,
		   const struct shoal_config_peer *b)
{
	return memcmp(a->mac, b->mac, sizeof(a->mac));
}

static int by_line(const struct shoal_config_peer *a,
		   const struct shoal_config_peer *b)
{
	return (a->line > b->line) - (a->line < b->line);
}

static int sort_by_key(const void *a, const void *b)
{
	const struct shoal_config_peer *const *x = a, *const *y = b;
	int r = key_cmp(*x, *y);

	return r ? r : by_line(*x, *y);
}

static int sort_by_mac(const void *a, const void *b)
{
	const struct shoal_config_peer *const *x = a, *const *y = b;
	int r = mac_cmp(*x, *y);

	return r ? r : by_line(*x, *y);
}

/*
 * Finds the first peer in file order that repeats an earlier one's field,
 * sorting rather than comparing every pair since there may be thousands.
 * Returns false if there is none.
 */
static bool find_duplicate(const struct shoal_config_peer **v, size_t n,
			   int (*sort)(const void *, const void *),
			   int (*cmp)(const struct shoal_config_peer *,
				      const struct shoal_config_peer *),
			   unsigned int *first, unsigned int *second)
{
	size_t i, start = 0;
	bool found = false;

	if (n < 2)
		return false;
	qsort(v, n, sizeof(v[0]), sort);
	for (i = 1; i < n; i++) {
		if (cmp(v[i], v[start])) {
			start = i;
		} else if (i == start + 1 && (!found || v[i]->line < *second)) {
			*first = v[start]->line;
			*second = v[i]->line;
			found = true;
		}
	}
	return found;
}

/* What no single line shows: how the sections relate to each other. */
static int check_peers(struct parser *p)
{
	struct shoal_config *c = p->c;
	const struct shoal_config_peer **v;
	uint8_t pub[SHOAL_KEY_LEN];
	unsigned int first = 0, second = 0;
	size_t i, n;
	int ret = -1;

	if (shoal_key_public(pub, c->private_key) < 0)
		return fail_at(p, c->line,
			       "PrivateKey: no public key can be derived from it");
	for (i = 0; i < c->n_peers; i++) {
		if (!memcmp(c->peers[i].public_key, pub, sizeof(pub)))
			return fail_at(p, c->peers[i].line,
				       "[Peer] PublicKey is this interface's own public key");
		if (c->has_mac && c->peers[i].has_mac &&
		    !memcmp(c->peers[i].mac, c->mac, sizeof(c->mac)))
			return fail_at(p, c->peers[i].line,
				       "[Peer] has the same MAC as the [Interface] on line %u",
				       c->line);
	}
	if (c->n_peers < 2)
		return 0;
	v = calloc(c->n_peers, sizeof(*v));
	if (!v)
		return fail_at(p, 0, "out of memory");
	for (i = 0; i < c->n_peers; i++)
		v[i] = &c->peers[i];
	if (find_duplicate(v, c->n_peers, sort_by_key, key_cmp, &first,
			   &second)) {
		fail_at(p, second,
			"[Peer] has the same PublicKey as the [Peer] on line %u",
			first);
		goto out;
	}
	for (i = n = 0; i < c->n_peers; i++)
		if (c->peers[i].has_mac)
			v[n++] = &c->peers[i];
	if (find_duplicate(v, n, sort_by_mac, mac_cmp, &first, &second)) {
		fail_at(p, second,
			"[Peer] has the same MAC as the [Peer] on line %u",
			first);
		goto out;
	}
	ret = 0;
out:
	free(v);
	return ret;
}

int shoal_config_parse(struct shoal_config *c, const char *text, size_t len,
		       const char *source, char *err, size_t err_size)
{
	struct parser *p;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	c->rekey_seconds = SHOAL_CONFIG_DEFAULT_REKEY;
	c->keepalive_seconds = SHOAL_CONFIG_DEFAULT_KEEPALIVE;
	c->port_mapping = true;
	c->names = true;
	if (err && err_size > 0)
		err[0] = '\0';
	/* Heap, not stack: the line buffer is as big as a line may be. */
	p = calloc(1, sizeof(*p));
	if (!p) {
		if (err && err_size > 0)
			snprintf(err, err_size, "%s: out of memory",
				 source ? source : "config");
		return -1;
	}
	p->c = c;
	p->source = source ? source : "config";
	p->err = err;
	p->err_size = err_size;

	if (len > SHOAL_CONFIG_MAX_SIZE)
		fail_at(p, 0, "too large (more than %d bytes)",
			SHOAL_CONFIG_MAX_SIZE);
	else if (parse_lines(p, text, len) < 0)
		ret = -1;
	else if (!c->line)
		fail_at(p, 0, "no [Interface] section");
	else
		ret = check_peers(p);

	sodium_memzero(p, sizeof(*p));
	free(p);
	if (ret < 0)
		shoal_config_free(c);
	return ret;
}

int shoal_config_load(struct shoal_config *c, const char *path, char *err,
		      size_t err_size)
{
	/* One byte more than allowed, to tell "too large" from "exactly". */
	size_t size = SHOAL_CONFIG_MAX_SIZE + 1, len = 0;
	char ebuf[128];
	char *buf;
	ssize_t n;
	int fd, ret = -1;

	memset(c, 0, sizeof(*c));
	if (err && err_size > 0)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (err && err_size > 0)
			snprintf(err, err_size, "%s: cannot open: %s", path,
				 strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	/* Not sized by fstat(), so that pipes and /dev/stdin work too. */
	buf = malloc(size);
	if (!buf) {
		if (err && err_size > 0)
			snprintf(err, err_size, "%s: out of memory", path);
		goto out;
	}
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err && err_size > 0)
				snprintf(err, err_size, "%s: cannot read: %s",
					 path,
					 strerror_r(errno, ebuf, sizeof(ebuf)));
			goto wipe;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* shoal_config_parse() refuses it with the message it has for that. */
	ret = shoal_config_parse(c, buf, len, path, err, err_size);
wipe:
	sodium_memzero(buf, len);
	free(buf);
out:
	close(fd);
	return ret;
}

bool shoal_config_file_too_open(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	return (st.st_mode & 077) != 0;
}

void shoal_config_free(struct shoal_config *c)
{
	free(c->peers);
	sodium_memzero(c, sizeof(*c));
}
