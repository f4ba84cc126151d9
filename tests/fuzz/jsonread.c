// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for shoal's JSON reader (cli/jsonread.c), which reads
 * shoald's answers.  Whatever it accepts is written out again (strings
 * through lib/json.c, shoald's own writer; numbers as they were written)
 * and must read back as the same tree: the reader and shoald's writer
 * agree on every string.  The accessors must agree with the tree, every
 * string must be valid UTF-8 without NUL, and a refusal must say why.
 */
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "jrtree.h"
#include "jsonread.h"
#include "utf8.h"

/* Writes v (and, in an object, its name) as JSON. */
static void write_value(FILE *f, const struct jr_value *v, bool member)
{
	const struct jr_value *c;

	if (member) {
		shoal_json_string(f, v->key);
		fputc(':', f);
	}
	switch (v->type) {
	case JR_NULL:
		fputs("null", f);
		break;
	case JR_FALSE:
		fputs("false", f);
		break;
	case JR_TRUE:
		fputs("true", f);
		break;
	case JR_NUMBER:
		fputs(v->str, f);
		break;
	case JR_STRING:
		shoal_json_string(f, v->str);
		break;
	case JR_ARRAY:
	case JR_OBJECT:
		fputc(v->type == JR_ARRAY ? '[' : '{', f);
		for (c = v->child; c; c = c->next) {
			write_value(f, c, v->type == JR_OBJECT);
			if (c->next)
				fputc(',', f);
		}
		fputc(v->type == JR_ARRAY ? ']' : '}', f);
		break;
	}
}

static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s,
			    *end = p + strlen(s);
	size_t n;

	while (p < end) {
		n = shoal_utf8_seq(p, end);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* jr_uint() and jr_double() take numbers only, jr_uint() digits only. */
static void check_number(const struct jr_value *obj,
			 const struct jr_value *first)
{
	unsigned long long u = 7;
	double d;

	if (jr_uint(obj, first->key, &u) == 0) {
		check(first->type == JR_NUMBER);
		check(strspn(first->str, "0123456789") == strlen(first->str));
		check(jr_double(obj, first->key, &d) == 0);
	} else {
		check(u == 7);
	}
	if (first->type != JR_NUMBER)
		check(jr_double(obj, first->key, &d) == -1);
}

/* Members have names and nothing else has; strings are text. */
static void check_tree(const struct jr_value *v, bool in_object,
		       unsigned int depth)
{
	const struct jr_value *c;

	for (; v; v = v->next) {
		check(!in_object == !v->key);
		if (v->key)
			check(utf8_ok(v->key));
		check((v->type == JR_STRING || v->type == JR_NUMBER) == !!v->str);
		if (v->type == JR_STRING)
			check(utf8_ok(v->str));
		if (v->type == JR_NUMBER)
			check(strspn(v->str, "-0123456789.eE+") == strlen(v->str));
		check(!v->child || v->type == JR_ARRAY || v->type == JR_OBJECT);
		if (v->type == JR_ARRAY || v->type == JR_OBJECT)
			check(depth < JR_MAX_DEPTH);
		if (v->type != JR_OBJECT) {
			/* Only objects have members. */
			check(!jr_member(v, "") && jr_bool(v, "") == -1);
			continue;
		}
		/* jr_member() finds the first member of each name. */
		for (c = v->child; c; c = c->next) {
			const struct jr_value *first = jr_member(v, c->key);
			int b = jr_bool(v, c->key);

			check(first && !strcmp(first->key, c->key));
			check(jr_string(v, c->key) == (first->type == JR_STRING ?
						       first->str : NULL));
			check(b == (first->type == JR_TRUE ? 1 :
				    first->type == JR_FALSE ? 0 : -1));
			check_number(v, first);
		}
	}
}

static void check_children(const struct jr_value *v, unsigned int depth)
{
	for (; v; v = v->next) {
		if (v->type == JR_ARRAY || v->type == JR_OBJECT) {
			check_tree(v->child, v->type == JR_OBJECT, depth + 1);
			check_children(v->child, depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_value *v, *again;
	char err[96], *text = NULL;
	size_t text_len = 0;
	FILE *f;

	memset(err, 'x', sizeof(err));
	v = jr_parse((const char *)data, size, err, sizeof(err));
	if (!v) {
		/* Refused with a reason, a terminated one. */
		check(memchr(err, '\0', sizeof(err)) && *err);
		return 0;
	}
	check(!*err);
	check_tree(v, false, 0);
	check_children(v, 0);
	check(!v->next);

	f = open_memstream(&text, &text_len);
	check(f);
	write_value(f, v, false);
	check(fclose(f) == 0);
	again = jr_parse(text, text_len, err, sizeof(err));
	if (!again)
		fprintf(stderr, "rewritten: %s\nrefused: %s\n", text, err);
	check(again && jr_same_tree(v, again));
	jr_free(again);
	free(text);
	jr_free(v);
	return 0;
}
