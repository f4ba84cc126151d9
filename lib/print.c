// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "json.h"
#include "print.h"
#include "utf8.h"

#define PRINT_MAX_DEPTH 16

/* The document being printed: one per process at a time (print.h). */
static struct {
	FILE *f;
	bool json, pretty;
	int depth;
	bool first[PRINT_MAX_DEPTH];	/* nothing in that container yet */
} out = { .f = NULL };

void print_start(FILE *f, bool json, bool pretty)
{
	out.f = f;
	out.json = json;
	out.pretty = json && pretty;
	out.depth = 0;
	out.first[0] = true;
}

int print_end(void)
{
	if (out.json)
		fputc('\n', out.f);
	if (fflush(out.f) || ferror(out.f))
		return -1;
	return 0;
}

bool print_is_json(void)
{
	return out.json;
}

static void indent(void)
{
	int i;

	fputc('\n', out.f);
	for (i = 0; i < out.depth; i++)
		fputs("  ", out.f);
}

/* The separator and "key": before a JSON value. */
static void json_key(const char *key)
{
	if (!out.first[out.depth])
		fputc(',', out.f);
	out.first[out.depth] = false;
	if (out.pretty && out.depth > 0)
		indent();
	if (key) {
		shoal_json_string(out.f, key);
		fputs(out.pretty ? ": " : ":", out.f);
	}
}

static void json_open(const char *key, char bracket)
{
	json_key(key);
	fputc(bracket, out.f);
	if (out.depth + 1 < PRINT_MAX_DEPTH)
		out.depth++;
	out.first[out.depth] = true;
}

static void json_close(char bracket)
{
	bool empty = out.first[out.depth];

	if (out.depth > 0)
		out.depth--;
	if (out.pretty && !empty)
		indent();
	fputc(bracket, out.f);
}

void print_open_object(const char *key)
{
	if (out.json)
		json_open(key, '{');
}

void print_close_object(void)
{
	if (out.json)
		json_close('}');
}

void print_open_array(const char *key)
{
	if (out.json)
		json_open(key, '[');
}

void print_close_array(void)
{
	if (out.json)
		json_close(']');
}

static bool wanted(enum print_type t)
{
	return t & (out.json ? PRINT_JSON : PRINT_TEXT);
}

/* Text output of one string through fmt's single "%s". */
static void text_string(const char *fmt, const char *value)
{
	const char *conv = strstr(fmt, "%s");

	if (!conv) {
		fputs(fmt, out.f);
		return;
	}
	fwrite(fmt, 1, (size_t)(conv - fmt), out.f);
	shoal_put_safe(out.f, value, strlen(value), 0);
	fputs(conv + 2, out.f);
}

void print_string(enum print_type t, const char *key, const char *fmt,
		  const char *value)
{
	if (!wanted(t))
		return;
	if (!out.json) {
		if (value)
			text_string(fmt, value);
		return;
	}
	json_key(key);
	if (value)
		shoal_json_string(out.f, value);
	else
		fputs("null", out.f);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void print_uint(enum print_type t, const char *key, const char *fmt,
		unsigned long long value)
{
	if (!wanted(t))
		return;
	if (!out.json) {
		fprintf(out.f, fmt, value);
		return;
	}
	json_key(key);
	fprintf(out.f, "%llu", value);
}

void print_int(enum print_type t, const char *key, const char *fmt,
	       long long value)
{
	if (!wanted(t))
		return;
	if (!out.json) {
		fprintf(out.f, fmt, value);
		return;
	}
	json_key(key);
	fprintf(out.f, "%lld", value);
}

void print_float(enum print_type t, const char *key, const char *fmt,
		 double value)
{
	char num[32] = "null";	/* JSON has no infinity or NaN */

	if (!wanted(t))
		return;
	if (out.json) {
		/* Six significant digits: as much as a measurement here has. */
		if (isfinite(value))
			snprintf(num, sizeof(num), "%.6g", value);
		json_key(key);
		fputs(num, out.f);
		return;
	}
	fprintf(out.f, fmt, value);
}
#pragma GCC diagnostic pop

void print_bool(enum print_type t, const char *key, const char *fmt,
		bool value)
{
	if (!wanted(t))
		return;
	if (!out.json) {
		text_string(fmt, value ? "yes" : "no");
		return;
	}
	json_key(key);
	fputs(value ? "true" : "false", out.f);
}

void print_null(enum print_type t, const char *key, const char *text)
{
	if (!wanted(t))
		return;
	if (!out.json) {
		fputs(text, out.f);
		return;
	}
	json_key(key);
	fputs("null", out.f);
}

void print_format_bytes(char *buf, size_t size, uint64_t value)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double v = (double)value / 1024;
	size_t u = 0;

	if (value < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)value);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f %s", v, units[u]);
}

void print_bytes(enum print_type t, const char *key, const char *fmt,
		 uint64_t value)
{
	char text[32];

	if (!wanted(t))
		return;
	if (out.json) {
		json_key(key);
		fprintf(out.f, "%llu", (unsigned long long)value);
		return;
	}
	print_format_bytes(text, sizeof(text), value);
	text_string(fmt, text);
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (out.json)
		return;
	va_start(ap, fmt);
	vfprintf(out.f, fmt, ap);
	va_end(ap);
}

void print_nl(void)
{
	if (!out.json)
		fputc('\n', out.f);
}
