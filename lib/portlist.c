// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portlist.h"

/* The message below says 32. */
_Static_assert(SHOAL_PORTLIST_MAX == 32, "SHOAL_PORTLIST_MAX");

/* An entry, escaped and cut short, for a message. */
static void quote(char *out, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	if (i < len && o + 4 <= size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Decimal 1..65535, no sign, no leading zero: 0, or -1. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int by_low(const void *a, const void *b)
{
	const struct shoal_port_range *x = a, *y = b;

	return (int)x->low - (int)y->low;
}

/* "why", or "why: 'entry'" when there is an entry to show. */
static int fail(struct shoal_portlist *l, char *err, size_t err_size,
		const char *why, const char *s, size_t len)
{
	char q[96];

	memset(l, 0, sizeof(*l));
	if (!err_size)
		return -1;
	if (s) {
		quote(q, sizeof(q), s, len);
		snprintf(err, err_size, "%s: '%s'", why, q);
	} else {
		snprintf(err, err_size, "%s", why);
	}
	return -1;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int shoal_portlist_parse(struct shoal_portlist *l, const char *text,
			 char *err, size_t err_size)
{
	const char *p = text, *end, *dash;
	size_t len, i;
	char q[16];

	memset(l, 0, sizeof(*l));
	while (blank(*p))
		p++;
	len = strlen(p);
	while (len && blank(p[len - 1]))
		len--;
	if (len == 3 && !memcmp(p, "all", 3))
		return 0;
	if (len == 0)
		return fail(l, err, err_size, "no ports given", NULL, 0);
	for (;;) {
		struct shoal_port_range r;

		while (blank(*p))
			p++;
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && blank(p[len - 1]))
			len--;
		if (len == 0)
			return fail(l, err, err_size,
				    "empty entry in the list of ports", NULL,
				    0);
		if (l->n == SHOAL_PORTLIST_MAX)
			return fail(l, err, err_size, "more than 32 entries "
				    "in the list of ports", NULL, 0);
		dash = memchr(p, '-', len);
		if (!dash) {
			if (parse_port(p, len, &r.low) < 0)
				return fail(l, err, err_size,
					    "not a port (1..65535) or a range "
					    "of ports (LOW-HIGH)", p, len);
			r.high = r.low;
		} else if (parse_port(p, (size_t)(dash - p), &r.low) < 0 ||
			   parse_port(dash + 1, len - (size_t)(dash - p) - 1,
				      &r.high) < 0) {
			return fail(l, err, err_size, "not a port (1..65535) "
				    "or a range of ports (LOW-HIGH)", p, len);
		} else if (r.low >= r.high) {
			return fail(l, err, err_size, "a range must run from "
				    "a lower port to a higher one", p, len);
		}
		l->r[l->n++] = r;
		if (!end)
			break;
		p = end + 1;
	}
	qsort(l->r, l->n, sizeof(l->r[0]), by_low);
	for (i = 1; i < l->n; i++) {
		if (l->r[i].low <= l->r[i - 1].high) {
			snprintf(q, sizeof(q), "port %u", l->r[i].low);
			if (err_size)
				snprintf(err, err_size, "%s is listed more "
					 "than once", q);
			memset(l, 0, sizeof(*l));
			return -1;
		}
	}
	return 0;
}

int shoal_portlist_format(char *buf, size_t size,
			  const struct shoal_portlist *l)
{
	size_t o = 0;
	unsigned int i;
	int n;

	if (!l->n) {
		n = snprintf(buf, size, "all");
		return n < 0 || (size_t)n >= size ? -1 : n;
	}
	if (size)
		buf[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (l->r[i].low == l->r[i].high)
			n = snprintf(buf + o, size - o, "%s%u", i ? "," : "",
				     l->r[i].low);
		else
			n = snprintf(buf + o, size - o, "%s%u-%u",
				     i ? "," : "", l->r[i].low, l->r[i].high);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	return (int)o;
}

bool shoal_portlist_equal(const struct shoal_portlist *a,
			  const struct shoal_portlist *b)
{
	unsigned int i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->r[i].low != b->r[i].low || a->r[i].high != b->r[i].high)
			return false;
	return true;
}
