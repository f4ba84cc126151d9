// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what lib/metrics.c takes from the network (the
 * HTTP request of a scrape) and for its label escaping.
 *
 * Byte 0 sets the request limit (64 to 1084 bytes), the rest is the
 * request.  The verdict is one of the answers metrics.h names; none is
 * "more" at the limit; the first prefix with a verdict has the verdict
 * of the whole (what comes later never changes an answer given); and 200
 * is given to GET /metrics only.
 *
 * Then the request's bytes up to a NUL become a label value and HELP
 * text: the line written must read back (unescaped) as the same bytes,
 * with no raw line feed in it.
 */
#include <string.h>

#include "fuzz.h"
#include "metrics.h"

static bool known(int v)
{
	return v == 0 || v == 200 || v == 400 || v == 404 || v == 405 ||
	       v == 431;
}

/* The escaped text from p up to its closing quote (or end), unescaped. */
static size_t unescape(const char *p, char stop, char *out, const char **end)
{
	size_t n = 0;

	for (; *p && *p != stop; p++) {
		if (*p == '\n')
			check(!"a raw line feed");
		if (*p == '\\') {
			p++;
			check(*p == '\\' || *p == 'n' || (*p == '"' && stop));
			out[n++] = *p == 'n' ? '\n' : *p;
		} else {
			check(*p != '"' || !stop);
			out[n++] = *p;
		}
	}
	*end = p;
	return n;
}

static void escaping(const char *value)
{
	static char back[8192];
	struct metrics_text t;
	const char *p, *end;
	char *help;
	size_t n;

	metrics_text_init(&t);
	metrics_family(&t, "f", METRICS_GAUGE, value);
	metrics_u64(&t, "f", "l", value, 1);
	check(metrics_text_ok(&t));
	/* HELP: its text up to the line's end. */
	p = t.buf + strlen("# HELP f ");
	end = strchr(p, '\n');
	check(end);
	help = strndup(p, (size_t)(end - p));
	check(help);
	n = unescape(help, '\0', back, &end);
	check(n == strlen(value) && !memcmp(back, value, n));
	free(help);
	/* The sample's label: up to its closing quote, then the value. */
	p = strstr(t.buf, "\nf{l=\"");
	check(p);
	n = unescape(p + 6, '"', back, &end);
	check(n == strlen(value) && !memcmp(back, value, n));
	check(!strcmp(end, "\"} 1\n"));
	metrics_text_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *req = (const char *)data + 1;
	size_t limit, len, n;
	char *value;
	int whole, first = 0;

	if (!size || size > 4096)
		return 0;
	limit = 64 + (size_t)data[0] * 4;
	len = size - 1;
	whole = metrics_http_verdict(req, len, limit);
	check(known(whole));
	check(len < limit || whole != 0);
	for (n = 0; n <= len && !first; n++) {
		first = metrics_http_verdict(req, n, limit);
		check(known(first));
	}
	check(first == whole);
	if (whole == 200)
		check(len >= 13 && !memcmp(req, "GET /metrics", 12) &&
		      (req[12] == ' ' || req[12] == '?'));

	value = strndup(req, len);
	check(value);
	escaping(value);
	free(value);
	return 0;
}
