/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_PRINT_H
#define SHOAL_PRINT_H

/*
 * The CLI's one output layer, in the manner of iproute2's json_print: each
 * field is written once, with its JSON key and its text format, and goes
 * out as one or the other.  Text strings pass through shoal_put_safe(), so
 * a nickname cannot drive the terminal; JSON strings are escaped.
 *
 * A command calls print_start(), opens the list (print_open_array(PRINT_JSON,
 * NULL)) when it prints a listing, one object per item, and print_end().
 * One process prints one document at a time: the state is the process's.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum print_type {
	PRINT_TEXT = 1,		/* only in text */
	PRINT_JSON = 2,		/* only in JSON */
	PRINT_ANY = 3,		/* in both */
};

/* Starts a document on f: JSON if json (indented if pretty), else text. */
void print_start(FILE *f, bool json, bool pretty);

/* Ends it (a newline after JSON); -1 if f saw a write error. */
int print_end(void);

bool print_is_json(void);

/* key is NULL at the top and inside arrays. Text output gets nothing. */
void print_open_object(const char *key);
void print_close_object(void);
void print_open_array(const char *key);
void print_close_array(void);

/*
 * Each puts key: value in JSON and printf(fmt, value) in text, as type
 * says.  fmt has exactly one conversion for the value ("%s", "%llu", ...).
 * A NULL string value is JSON null, and nothing in text.
 */
void print_string(enum print_type t, const char *key, const char *fmt,
		  const char *value);
void print_uint(enum print_type t, const char *key, const char *fmt,
		unsigned long long value);
void print_int(enum print_type t, const char *key, const char *fmt,
	       long long value);
/* A finite number (JSON has no others: the rest is null there). */
void print_float(enum print_type t, const char *key, const char *fmt,
		 double value);
void print_bool(enum print_type t, const char *key, const char *fmt,
		bool value);
/* JSON null under key; text (a literal, no conversion) in text. */
void print_null(enum print_type t, const char *key, const char *text);
/*
 * A byte count: a number in JSON, "1023 B", "1.50 KiB", ... in text (as
 * wg(8) prints transfer totals), put where fmt has its "%s".
 */
void print_bytes(enum print_type t, const char *key, const char *fmt,
		 uint64_t value);

/* Text only, never JSON: labels, separators, line ends. */
void print_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_nl(void);

/* The text for a byte count, as print_bytes() puts it. */
void print_format_bytes(char *out, size_t size, uint64_t value);

#endif
