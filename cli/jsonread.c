// SPDX-License-Identifier: MIT
/*
 * The JSON reader of jsonread.h: recursive descent over a bounded depth,
 * so that no input can exhaust the stack.  Every node is its own
 * allocation; the answers it reads are small.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "utf8.h"

struct reader {
	const unsigned char *start, *p, *end;
	unsigned int depth;
	char *err;
	size_t err_size;
	bool failed;
};

static void fail(struct reader *r, const char *why)
{
	if (r->failed)
		return;
	r->failed = true;
	snprintf(r->err, r->err_size, "%s at byte %zu", why,
		 (size_t)(r->p - r->start));
}

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

void jr_free(struct jr_value *v)
{
	struct jr_value *next;

	/* Depth is bounded by the parser; siblings go in a loop. */
	for (; v; v = next) {
		next = v->next;
		jr_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
	}
}

static int hex4(const unsigned char *s, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX, or a surrogate pair of them, after the backslash at *p. */
static int unicode_escape(struct reader *r, uint32_t *cp)
{
	uint32_t lo;

	if (r->end - r->p < 6 || hex4(r->p + 2, cp) < 0) {
		fail(r, "bad \\u escape");
		return -1;
	}
	r->p += 6;
	if (*cp >= 0xdc00 && *cp <= 0xdfff) {
		fail(r, "lone low surrogate");
		return -1;
	}
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
		    hex4(r->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
			fail(r, "lone high surrogate");
			return -1;
		}
		r->p += 6;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0) {
		/* The text becomes a C string: a NUL would cut it short. */
		fail(r, "NUL in a string");
		return -1;
	}
	return 0;
}

/* A string at r->p (on its opening quote), decoded into a new buffer. */
static char *parse_string(struct reader *r)
{
	const unsigned char *q = r->p + 1;
	size_t n = 0, seq;
	uint32_t cp;
	char *out;

	/* The decoded text is never longer than the quoted one. */
	while (q < r->end && *q != '"')
		q += *q == '\\' && q + 1 < r->end ? 2 : 1;
	if (q >= r->end) {
		fail(r, "unterminated string");
		return NULL;
	}
	out = malloc((size_t)(q - r->p));
	if (!out) {
		fail(r, "out of memory");
		return NULL;
	}
	r->p++;
	while (*r->p != '"') {
		if (*r->p < 0x20) {
			fail(r, "control character in a string");
			goto bad;
		}
		if (*r->p != '\\') {
			seq = shoal_utf8_seq(r->p, r->end);
			if (!seq) {
				fail(r, "invalid UTF-8");
				goto bad;
			}
			memcpy(out + n, r->p, seq);
			n += seq;
			r->p += seq;
			continue;
		}
		switch (r->p[1]) {
		case '"':  out[n++] = '"';  break;
		case '\\': out[n++] = '\\'; break;
		case '/':  out[n++] = '/';  break;
		case 'b':  out[n++] = '\b'; break;
		case 'f':  out[n++] = '\f'; break;
		case 'n':  out[n++] = '\n'; break;
		case 'r':  out[n++] = '\r'; break;
		case 't':  out[n++] = '\t'; break;
		case 'u':
			if (unicode_escape(r, &cp) < 0)
				goto bad;
			n += put_utf8(out + n, cp);
			continue;
		default:
			fail(r, "bad escape");
			goto bad;
		}
		r->p += 2;
	}
	r->p++;
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static bool is_digit(const struct reader *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text. */
static char *parse_number(struct reader *r)
{
	const unsigned char *start = r->p;
	char *out;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (!is_digit(r))
		goto bad;
	if (*r->p++ != '0')
		while (is_digit(r))
			r->p++;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!is_digit(r))
			goto bad;
		while (is_digit(r))
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!is_digit(r))
			goto bad;
		while (is_digit(r))
			r->p++;
	}
	out = strndup((const char *)start, (size_t)(r->p - start));
	if (!out)
		fail(r, "out of memory");
	return out;
bad:
	fail(r, "bad number");
	return NULL;
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return false;
	r->p += n;
	return true;
}

static struct jr_value *parse_value(struct reader *r);

/* The elements or members up to close, after the opening bracket. */
static int parse_container(struct reader *r, struct jr_value *v, char close)
{
	struct jr_value **tail = &v->child, *e;
	char *key = NULL;

	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"') {
				fail(r, "expected a member name");
				return -1;
			}
			key = parse_string(r);
			if (!key)
				return -1;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				fail(r, "expected ':'");
				return -1;
			}
			r->p++;
		}
		e = parse_value(r);
		if (!e) {
			free(key);
			return -1;
		}
		e->key = key;
		key = NULL;
		*tail = e;
		tail = &e->next;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		fail(r, close == '}' ? "expected ',' or '}'" :
				       "expected ',' or ']'");
		return -1;
	}
}

static struct jr_value *parse_value(struct reader *r)
{
	struct jr_value *v;
	int ret = 0;

	skip_ws(r);
	if (r->p >= r->end) {
		fail(r, "unexpected end");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		fail(r, "out of memory");
		return NULL;
	}
	switch (*r->p) {
	case '{':
	case '[':
		v->type = *r->p == '{' ? JR_OBJECT : JR_ARRAY;
		if (++r->depth > JR_MAX_DEPTH) {
			fail(r, "nested too deep");
			ret = -1;
			break;
		}
		ret = parse_container(r, v, *r->p == '{' ? '}' : ']');
		r->depth--;
		break;
	case '"':
		v->type = JR_STRING;
		v->str = parse_string(r);
		ret = v->str ? 0 : -1;
		break;
	case 't':
		v->type = JR_TRUE;
		ret = literal(r, "true") ? 0 : -1;
		break;
	case 'f':
		v->type = JR_FALSE;
		ret = literal(r, "false") ? 0 : -1;
		break;
	case 'n':
		v->type = JR_NULL;
		ret = literal(r, "null") ? 0 : -1;
		break;
	default:
		v->type = JR_NUMBER;
		v->str = parse_number(r);
		ret = v->str ? 0 : -1;
		break;
	}
	if (ret < 0) {
		fail(r, "unexpected character");
		jr_free(v);
		return NULL;
	}
	return v;
}

struct jr_value *jr_parse(const char *text, size_t len, char *err,
			  size_t err_size)
{
	struct reader r = {
		.start = (const unsigned char *)text,
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.err = err,
		.err_size = err_size,
	};
	struct jr_value *v;

	if (err_size)
		*err = '\0';
	v = parse_value(&r);
	if (!v)
		return NULL;
	skip_ws(&r);
	if (r.p != r.end) {
		fail(&r, "trailing data");
		jr_free(v);
		return NULL;
	}
	return v;
}

const struct jr_value *jr_member(const struct jr_value *obj, const char *key)
{
	const struct jr_value *m;

	if (!obj || obj->type != JR_OBJECT)
		return NULL;
	for (m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *jr_string(const struct jr_value *obj, const char *key)
{
	const struct jr_value *m = jr_member(obj, key);

	return m && m->type == JR_STRING ? m->str : NULL;
}

int jr_bool(const struct jr_value *obj, const char *key)
{
	const struct jr_value *m = jr_member(obj, key);

	if (!m || (m->type != JR_TRUE && m->type != JR_FALSE))
		return -1;
	return m->type == JR_TRUE;
}

int jr_uint(const struct jr_value *obj, const char *key,
	    unsigned long long *out)
{
	const struct jr_value *m = jr_member(obj, key);
	unsigned long long v;
	char *end;

	if (!m || m->type != JR_NUMBER ||
	    strspn(m->str, "0123456789") != strlen(m->str))
		return -1;
	errno = 0;
	v = strtoull(m->str, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int jr_double(const struct jr_value *obj, const char *key, double *out)
{
	const struct jr_value *m = jr_member(obj, key);
	double v;
	char *end;

	if (!m || m->type != JR_NUMBER)
		return -1;
	/* The reader took JSON's number syntax, which strtod reads whole. */
	v = strtod(m->str, &end);
	if (*end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}
