/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_METRICS_H
#define SHOAL_METRICS_H

/*
 * metrics.c: what shoal-mediator and shoal-relay give Prometheus
 * (--metrics HOST:PORT): the text exposition format, version 0.0.4, on
 * HTTP GET /metrics.
 *
 * The text builder (struct metrics_text) writes families: one "# HELP"
 * and "# TYPE" line, then its samples.  Label values are escaped (\\, \"
 * and \n), HELP text too (\\ and \n).  A name that is not a metric or
 * label name is a bug of the caller: the builder fails (metrics_text_ok
 * false) rather than write a line a scraper would reject.
 *
 * The HTTP server is a small one made for the caller's epoll loop: it
 * keeps its sockets in an epoll set of its own, whose descriptor
 * (metrics_server_fd) the loop watches for reading, and then calls
 * metrics_server_run; metrics_server_tick about once a second.  Nothing
 * blocks.  Bounded: METRICS_SLOTS connections at once (a new one takes
 * the oldest one's slot when they are all taken), a request of at most
 * METRICS_REQUEST_MAX bytes, METRICS_DEADLINE_MS from accept to the last
 * byte answered.  GET /metrics only: 404 for another path, 405 for
 * another method, 400 for what is not an HTTP/1.x request, 431 for one
 * too long; every answer ends the connection (Connection: close).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define METRICS_SLOTS 8
#define METRICS_REQUEST_MAX 4096
#define METRICS_DEADLINE_MS 5000
/* After the answer, what the client still sends is read for this long. */
#define METRICS_LINGER_MS 1000
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	/* Without quantiles: NAME_sum and NAME_count only. */
	METRICS_SUMMARY,
};

struct metrics_text {
	char *buf;
	size_t len, cap;
	bool failed;
	/* A label every sample carries (the instance), or none. */
	const char *const_name, *const_value;
};

void metrics_text_init(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);
/* name="value" on every sample from now on; NULL name: none. */
void metrics_text_const_label(struct metrics_text *t, const char *name,
			      const char *value);
/* The # HELP and # TYPE lines of the family name. */
void metrics_family(struct metrics_text *t, const char *name,
		    enum metrics_type type, const char *help);
/*
 * A sample of name (the family's, or the family's with a suffix such as
 * _sum), with one label of its own besides the constant one (label
 * NULL: none).
 */
void metrics_u64(struct metrics_text *t, const char *name, const char *label,
		 const char *value, uint64_t v);
void metrics_double(struct metrics_text *t, const char *name,
		    const char *label, const char *value, double v);
/* A family of one sample without a label of its own. */
void metrics_one(struct metrics_text *t, const char *name,
		 enum metrics_type type, const char *help, uint64_t v);
/* The process's resident memory (/proc/self/statm) and start time. */
void metrics_process(struct metrics_text *t, const char *prefix);
/* True while nothing failed (memory, a name). */
bool metrics_text_ok(const struct metrics_text *t);

bool metrics_name_ok(const char *name);
bool metrics_label_name_ok(const char *name);

/*
 * The request so far (len bytes): 0 while more is needed, else the
 * status to answer: 200 (GET /metrics), 400, 404, 405 or 431 (longer
 * than limit without its end).  Each line may end in CRLF or LF.
 */
int metrics_http_verdict(const char *req, size_t len, size_t limit);

/* What the server calls for each scrape: the body into t. */
typedef void (*metrics_render_fn)(void *arg, struct metrics_text *t);

struct metrics_server_stats {
	uint64_t scrapes, refused, evicted, timed_out;
};

struct metrics_server;

/* Listening on addr; NULL on failure (errno). */
struct metrics_server *metrics_server_new(const struct sockaddr *addr,
					  socklen_t addr_len,
					  metrics_render_fn render, void *arg);
void metrics_server_free(struct metrics_server *m);
int metrics_server_fd(const struct metrics_server *m);
void metrics_server_run(struct metrics_server *m);
/* Ends the connections past their deadline; now_ms CLOCK_MONOTONIC. */
void metrics_server_tick(struct metrics_server *m, int64_t now_ms);
/*
 * instance="NAME" on every sample (a cluster's instance name); NULL or
 * "": no such label.  The name is copied (at most 64 bytes); m may be
 * NULL (no --metrics).
 */
void metrics_set_instance(struct metrics_server *m, const char *name);
const struct metrics_server_stats *
metrics_server_stats(const struct metrics_server *m);

#endif
