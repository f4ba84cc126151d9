/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_JSONREAD_H
#define SHOAL_CLI_JSONREAD_H

/*
 * A small JSON (RFC 8259) reader for shoald's answers: the whole text
 * becomes a tree.  Strict: one value and white space only, UTF-8 checked,
 * no NUL in strings (they become C strings), nesting at most
 * JR_MAX_DEPTH deep.
 */

#include <stddef.h>

#define JR_MAX_DEPTH 32

enum jr_type { JR_NULL, JR_FALSE, JR_TRUE, JR_NUMBER, JR_STRING, JR_ARRAY,
	       JR_OBJECT };

struct jr_value {
	enum jr_type type;
	char *key;		/* the member's name inside an object */
	char *str;		/* JR_STRING: the text; JR_NUMBER: as written */
	struct jr_value *child;	/* JR_ARRAY, JR_OBJECT: the first one */
	struct jr_value *next;	/* the next element or member */
};

/*
 * Parses len bytes (no NUL needed).  Returns the tree, or NULL with a
 * reason in err (and NULL for out of memory too).
 */
struct jr_value *jr_parse(const char *text, size_t len, char *err,
			  size_t err_size);

void jr_free(struct jr_value *v);

/* The first member named key of an object; NULL if none or not an object. */
const struct jr_value *jr_member(const struct jr_value *obj, const char *key);

/* That member's text if it is a string, else NULL. */
const char *jr_string(const struct jr_value *obj, const char *key);

/* That member: 1 true, 0 false, -1 missing or not a boolean. */
int jr_bool(const struct jr_value *obj, const char *key);

/*
 * That member as a whole number from 0 to 2^64 - 1 (digits only: no sign,
 * fraction or exponent): 0, or -1 leaving *out alone.
 */
int jr_uint(const struct jr_value *obj, const char *key,
	    unsigned long long *out);

/* That member, any number that is finite as a double: 0, or -1. */
int jr_double(const struct jr_value *obj, const char *key, double *out);

#endif
