// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for shoald's configuration parser (lib/config.c), the
 * format of lib/config.h: [Interface], [Peer] and [Mediator].  What it
 * accepts is written out again in the canonical form (every key once, in
 * a fixed order, values as the library formats them) and must parse to
 * the same configuration: one meaning per file.  What it refuses must be
 * refused with "SOURCE:LINE: reason" or "SOURCE: reason", a message of
 * printable ASCII that never repeats the private key, and nothing kept.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fuzz.h"

#define SOURCE "fuzz.conf"

static void write_addrs(FILE *f, const struct shoal_prefix *a, unsigned int n)
{
	char text[SHOAL_PREFIX_STRLEN + 1];
	unsigned int i;

	for (i = 0; i < n; i++) {
		check(shoal_prefix_format(text, sizeof(text), &a[i]) > 0);
		fprintf(f, "%s%s", i ? ", " : "Address=", text);
	}
	if (n)
		fputc('\n', f);
}

/*
 * "Key=Value" with no blank around '=': a value may start with '#' or
 * ';', which after a blank would begin a comment.
 */
static void write_config(FILE *f, const struct shoal_config *c)
{
	char b64[SHOAL_KEY_B64_LEN + 1], mac[SHOAL_MAC_STRLEN + 1];
	char ep[SHOAL_ENDPOINT_STRLEN + 1];
	size_t i;

	shoal_key_to_base64(b64, c->private_key);
	fprintf(f, "[Interface]\nName=%s\nPrivateKey=%s\n", c->name, b64);
	if (c->listen_port)
		fprintf(f, "ListenPort=%u\n", c->listen_port);
	write_addrs(f, c->addrs, c->n_addrs);
	if (c->has_mac) {
		shoal_mac_format(mac, c->mac);
		fprintf(f, "MAC=%s\n", mac);
	}
	fprintf(f, "RekeySeconds=%u\nKeepaliveSeconds=%u\n", c->rekey_seconds,
		c->keepalive_seconds);
	if (c->has_mediator) {
		shoal_key_to_base64(b64, c->mediator_key);
		fprintf(f, "[Mediator]\nPublicKey=%s\n", b64);
		/* One a line: the list may be given either way. */
		for (i = 0; i < c->n_mediator_addresses; i++)
			fprintf(f, "Address=%s\n", c->mediator_addresses[i]);
		if (*c->nickname)
			fprintf(f, "Nickname=%s\n", c->nickname);
	}
	for (i = 0; i < c->n_peers; i++) {
		const struct shoal_config_peer *p = &c->peers[i];

		shoal_key_to_base64(b64, p->public_key);
		fprintf(f, "\n[Peer]\nPublicKey=%s\n", b64);
		if (p->has_endpoint) {
			check(shoal_endpoint_format(ep, sizeof(ep),
						    &p->endpoint) > 0);
			fprintf(f, "Endpoint=%s\n", ep);
		}
		if (p->has_mac) {
			shoal_mac_format(mac, p->mac);
			fprintf(f, "MAC=%s\n", mac);
		}
		write_addrs(f, p->addrs, p->n_addrs);
	}
}

static bool same_prefixes(const struct shoal_prefix *a,
			  const struct shoal_prefix *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (a[i].family != b[i].family || a[i].len != b[i].len ||
		    memcmp(&a[i].addr, &b[i].addr, a[i].family == AF_INET ?
			   4 : 16))
			return false;
	return true;
}

static bool same_config(const struct shoal_config *a,
			const struct shoal_config *b)
{
	size_t i;

	if (strcmp(a->name, b->name) ||
	    memcmp(a->private_key, b->private_key, SHOAL_KEY_LEN) ||
	    a->listen_port != b->listen_port || a->has_mac != b->has_mac ||
	    (a->has_mac && memcmp(a->mac, b->mac, SHOAL_MAC_LEN)) ||
	    a->n_addrs != b->n_addrs ||
	    !same_prefixes(a->addrs, b->addrs, a->n_addrs) ||
	    a->rekey_seconds != b->rekey_seconds ||
	    a->keepalive_seconds != b->keepalive_seconds ||
	    a->has_mediator != b->has_mediator || a->n_peers != b->n_peers)
		return false;
	if (a->has_mediator &&
	    (a->n_mediator_addresses != b->n_mediator_addresses ||
	     memcmp(a->mediator_addresses, b->mediator_addresses,
		    sizeof(a->mediator_addresses)) ||
	     memcmp(a->mediator_key, b->mediator_key, SHOAL_KEY_LEN) ||
	     strcmp(a->nickname, b->nickname)))
		return false;
	for (i = 0; i < a->n_peers; i++) {
		const struct shoal_config_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, SHOAL_KEY_LEN) ||
		    p->has_endpoint != q->has_endpoint ||
		    (p->has_endpoint &&
		     !shoal_endpoint_equal(&p->endpoint, &q->endpoint)) ||
		    p->has_mac != q->has_mac ||
		    (p->has_mac && memcmp(p->mac, q->mac, SHOAL_MAC_LEN)) ||
		    p->n_addrs != q->n_addrs ||
		    !same_prefixes(p->addrs, q->addrs, p->n_addrs))
			return false;
	}
	return true;
}

/* What a configuration holds whatever the file said. */
static void check_limits(const struct shoal_config *c)
{
	size_t i;

	check(c->line && *c->name && strlen(c->name) < IF_NAMESIZE);
	check(c->n_addrs <= SHOAL_CONFIG_MAX_ADDRS &&
	      c->n_peers <= SHOAL_CONFIG_MAX_PEERS);
	check(c->rekey_seconds >= 1 &&
	      c->rekey_seconds <= SHOAL_CONFIG_MAX_REKEY &&
	      c->keepalive_seconds >= 1 &&
	      c->keepalive_seconds <= SHOAL_CONFIG_MAX_KEEPALIVE);
	check(!c->has_mac || shoal_mac_is_unicast(c->mac));
	check(!c->has_mediator ||
	      (c->n_mediator_addresses >= 1 &&
	       c->n_mediator_addresses <= SHOAL_CONFIG_MAX_MEDIATORS &&
	       (!*c->nickname || shoal_config_valid_nickname(c->nickname))));
	for (i = 0; i < c->n_mediator_addresses; i++)
		check(shoal_config_valid_hostport(c->mediator_addresses[i]));
	for (i = 0; i < c->n_peers; i++)
		check(c->peers[i].n_addrs <= SHOAL_CONFIG_MAX_ADDRS &&
		      (!c->peers[i].has_mac ||
		       shoal_mac_is_unicast(c->peers[i].mac)));
}

/*
 * The value of the first PrivateKey line, if the file has one: the
 * message must not repeat it.  Only a value long enough, and found once
 * in the whole file, counts: a short one could be part of another's.
 */
static bool private_key_value(const char *text, char *out, size_t size)
{
	const char *line = text, *eq, *end, *v;
	size_t n;

	for (; *line; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		v = line + strspn(line, " \t");
		if ((size_t)(end - v) < 10 || strncasecmp(v, "privatekey", 10))
			continue;
		eq = memchr(v, '=', (size_t)(end - v));
		if (!eq)
			return false;
		v = eq + 1 + strspn(eq + 1, " \t");
		n = strcspn(v, " \t\r\n");
		if (n < 16 || n >= size)
			return false;
		memcpy(out, v, n);
		out[n] = '\0';
		v = strstr(text, out);
		return v && !strstr(v + 1, out);
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_config c, again;
	char err[512], err2[512], key[SHOAL_CONFIG_MAX_LINE + 1];
	char *text = NULL, *copy;
	size_t text_len = 0, i;
	FILE *f;

	if (shoal_config_parse(&c, (const char *)data, size, SOURCE, err,
			       sizeof(err)) < 0) {
		/* Nothing kept, and a message that says where. */
		check(!c.peers && !c.n_peers && !c.line && !*c.name);
		check(!strncmp(err, SOURCE ":", strlen(SOURCE ":")) &&
		      strlen(err) > strlen(SOURCE ": "));
		for (i = 0; err[i]; i++)
			check(isprint((unsigned char)err[i]));
		/* The private key's value, as text, to look for. */
		copy = strndup((const char *)data, size);
		check(copy);
		if (!memchr(data, '\0', size) &&
		    private_key_value(copy, key, sizeof(key)))
			check(!strstr(err, key));
		free(copy);
		shoal_config_free(&c);
		return 0;
	}
	check(!*err);
	check_limits(&c);

	f = open_memstream(&text, &text_len);
	check(f);
	write_config(f, &c);
	check(fclose(f) == 0);
	if (shoal_config_parse(&again, text, text_len, SOURCE, err2,
			       sizeof(err2)) < 0)
		fprintf(stderr, "rewritten:\n%s\nrefused: %s\n", text, err2);
	else if (!same_config(&c, &again))
		fprintf(stderr, "rewritten:\n%s\nreads differently\n", text);
	check(again.line && same_config(&c, &again));
	shoal_config_free(&again);
	shoal_config_free(&c);
	free(text);
	return 0;
}
