// SPDX-License-Identifier: MIT
/*
 * Prometheus' text format and a bounded HTTP/1.x server for it: see
 * metrics.h.  The server is made for a hostile network even though it
 * is meant for a private address: every connection has a slot of a few,
 * a buffer of METRICS_REQUEST_MAX bytes and a deadline; nothing it does
 * waits (a client that does not read its answer keeps the rest of it
 * in its slot until the deadline); and a flood of connections that never
 * send a request only takes each other's slots: a new connection takes
 * the oldest slot, so a scrape (which sends its request at once) is
 * answered whatever the others do.
 *
 * After the answer the connection is shut down for writing and what the
 * client still sends is read and dropped until it closes (at most
 * METRICS_LINGER_MS): closing with unread bytes would reset the
 * connection, and a reset can destroy the answer before it is read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define METRICS_ACCEPTS 16	/* per readiness: the loop's other work waits */
#define METRICS_EVENTS 16
#define METRICS_INSTANCE_MAX 64

/* ---- the text format ---- */

void metrics_text_init(struct metrics_text *t)
{
	memset(t, 0, sizeof(*t));
}

void metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	metrics_text_init(t);
}

bool metrics_text_ok(const struct metrics_text *t)
{
	return !t->failed;
}

void metrics_text_const_label(struct metrics_text *t, const char *name,
			      const char *value)
{
	if (name && !metrics_label_name_ok(name))
		t->failed = true;
	t->const_name = name;
	t->const_value = value ? value : "";
}

static void put(struct metrics_text *t, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->buf, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void puts_(struct metrics_text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
putf(struct metrics_text *t, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		t->failed = true;
	else
		put(t, buf, (size_t)n);
}

/*
 * A label value escapes backslash, double quote and line feed; HELP text
 * (quote false) the first and the last only, as the format says.
 */
static void put_escaped(struct metrics_text *t, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" :
				  *s == '\n' ? "\\n" :
				  *s == '"' && quote ? "\\\"" : NULL;

		if (!esc)
			continue;
		put(t, run, (size_t)(s - run));
		puts_(t, esc);
		run = s + 1;
	}
	put(t, run, (size_t)(s - run));
}

static bool name_chars(const char *name, bool colon)
{
	const char *p;

	if (!name || !*name || (*name >= '0' && *name <= '9'))
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' ||
		      (colon && *p == ':')))
			return false;
	return true;
}

bool metrics_name_ok(const char *name)
{
	return name_chars(name, true);
}

/* Names starting with __ are Prometheus' own. */
bool metrics_label_name_ok(const char *name)
{
	return name_chars(name, false) && strncmp(name, "__", 2);
}

void metrics_family(struct metrics_text *t, const char *name,
		    enum metrics_type type, const char *help)
{
	if (!metrics_name_ok(name)) {
		t->failed = true;
		return;
	}
	puts_(t, "# HELP ");
	puts_(t, name);
	puts_(t, " ");
	put_escaped(t, help, false);
	puts_(t, "\n# TYPE ");
	puts_(t, name);
	puts_(t, type == METRICS_COUNTER ? " counter\n" :
		 type == METRICS_SUMMARY ? " summary\n" : " gauge\n");
}

static void put_label(struct metrics_text *t, const char *name,
		      const char *value)
{
	puts_(t, name);
	puts_(t, "=\"");
	put_escaped(t, value ? value : "", true);
	puts_(t, "\"");
}

static void sample_start(struct metrics_text *t, const char *name,
			 const char *label, const char *value)
{
	if (!metrics_name_ok(name) ||
	    (label && !metrics_label_name_ok(label))) {
		t->failed = true;
		return;
	}
	puts_(t, name);
	if (!t->const_name && !label) {
		puts_(t, " ");
		return;
	}
	puts_(t, "{");
	if (t->const_name)
		put_label(t, t->const_name, t->const_value);
	if (t->const_name && label)
		puts_(t, ",");
	if (label)
		put_label(t, label, value);
	puts_(t, "} ");
}

void metrics_u64(struct metrics_text *t, const char *name, const char *label,
		 const char *value, uint64_t v)
{
	sample_start(t, name, label, value);
	putf(t, "%llu\n", (unsigned long long)v);
}

void metrics_double(struct metrics_text *t, const char *name,
		    const char *label, const char *value, double v)
{
	sample_start(t, name, label, value);
	if (v != v)
		puts_(t, "NaN\n");
	else if (v > 1e308 || v < -1e308)
		puts_(t, v > 0 ? "+Inf\n" : "-Inf\n");
	else
		putf(t, "%.15g\n", v);
}

void metrics_one(struct metrics_text *t, const char *name,
		 enum metrics_type type, const char *help, uint64_t v)
{
	metrics_family(t, name, type, help);
	metrics_u64(t, name, NULL, NULL, v);
}

/* Seconds since the epoch when the process started, or 0 if unknown. */
static double start_time(void)
{
	unsigned long long ticks = 0, btime = 0;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	int i;

	f = fopen("/proc/self/stat", "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Field 22, counting from the state after the name's ')'. */
	p = strrchr(buf, ')');
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &ticks) != 1)
		return 0;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (!btime || hz <= 0)
		return 0;
	return (double)btime + (double)ticks / (double)hz;
}

static uint64_t resident_bytes(void)
{
	unsigned long long size, pages;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &pages);
	fclose(f);
	return n == 2 && page > 0 ? pages * (uint64_t)page : 0;
}

void metrics_process(struct metrics_text *t, const char *prefix)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_resident_memory_bytes", prefix);
	metrics_one(t, name, METRICS_GAUGE,
		    "Resident memory of the process (/proc/self/statm).",
		    resident_bytes());
	snprintf(name, sizeof(name), "%s_start_time_seconds", prefix);
	metrics_family(t, name, METRICS_GAUGE,
		       "When the process started, in seconds since the "
		       "epoch.");
	metrics_double(t, name, NULL, NULL, start_time());
}

/* ---- the request ---- */

/* RFC 9110's tchar: what a method and a field name are made of. */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line at p (its '\n'), NULL if it is not there yet. */
static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* The line's length without its CR; -1 if a CR is anywhere else. */
static long line_len(const char *p, const char *nl)
{
	const char *cr = memchr(p, '\r', (size_t)(nl - p));

	if (cr && cr != nl - 1)
		return -1;
	return cr ? cr - p : nl - p;
}

/*
 * Whether what came of a request line so far may still become one: only
 * visible ASCII and spaces (and a CR at its very end).  Binary (a TLS
 * hello, say) is refused at once.
 */
static bool request_line_prefix_ok(const char *p, const char *end)
{
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r' && p == end - 1)
			continue;
		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

struct request_line {
	const char *method, *target;
	size_t method_len, target_len;
};

/* METHOD SP TARGET SP HTTP/1.x: 0, or -1. */
static int request_line(const char *p, size_t n, struct request_line *rl)
{
	const char *end = p + n, *sp;

	rl->method = p;
	while (p < end && tchar((unsigned char)*p))
		p++;
	rl->method_len = (size_t)(p - rl->method);
	if (!rl->method_len || p == end || *p != ' ')
		return -1;
	rl->target = ++p;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p)
		return -1;
	rl->target_len = (size_t)(sp - p);
	for (; p < sp; p++)
		if (*p < 0x21 || *p > 0x7e)
			return -1;
	p = sp + 1;
	if (end - p != 8 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' ||
	    p[7] > '9')
		return -1;
	return 0;
}

/* Optional white space around a field's value. */
static void trim(const char **v, const char **vend)
{
	while (*v < *vend && (**v == ' ' || **v == '\t'))
		(*v)++;
	while (*vend > *v && ((*vend)[-1] == ' ' || (*vend)[-1] == '\t'))
		(*vend)--;
}

/*
 * A field line: NAME ":" VALUE, no folding, no control bytes.  A GET
 * for the metrics has no body; one that says it has is refused (its
 * body could be taken for the next request by whatever sits between).
 */
static int field_line(const char *p, size_t n)
{
	const char *end = p + n, *name = p, *v;

	while (p < end && tchar((unsigned char)*p))
		p++;
	if (p == name || p == end || *p != ':')
		return -1;
	v = p + 1;
	for (p = v; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return -1;
	if ((size_t)(v - 1 - name) == 17 &&
	    !strncasecmp(name, "transfer-encoding", 17))
		return -1;
	if ((size_t)(v - 1 - name) == 14 &&
	    !strncasecmp(name, "content-length", 14)) {
		trim(&v, &end);
		if (end - v != 1 || *v != '0')
			return -1;
	}
	return 0;
}

int metrics_http_verdict(const char *req, size_t len, size_t limit)
{
	const char *p = req, *end, *nl;
	struct request_line rl = { 0 };
	const char *path_end;
	bool first = true;
	long n;

	if (len > limit)
		len = limit;
	end = req + len;
	for (;;) {
		nl = line_end(p, end);
		if (!nl) {
			if (first && !request_line_prefix_ok(p, end))
				return 400;
			return len >= limit ? 431 : 0;
		}
		n = line_len(p, nl);
		if (n < 0)
			return 400;
		if (first) {
			if (request_line(p, (size_t)n, &rl) < 0)
				return 400;
			first = false;
		} else if (n == 0) {
			break;
		} else if (field_line(p, (size_t)n) < 0) {
			return 400;
		}
		p = nl + 1;
	}
	if (rl.method_len != 3 || memcmp(rl.method, "GET", 3))
		return 405;
	path_end = memchr(rl.target, '?', rl.target_len);
	if (!path_end)
		path_end = rl.target + rl.target_len;
	if (path_end - rl.target != 8 || memcmp(rl.target, "/metrics", 8))
		return 404;
	return 200;
}

/* ---- the server ---- */

enum mconn_state { MC_FREE, MC_READING, MC_WRITING, MC_LINGER };

struct mconn {
	int fd;
	enum mconn_state state;
	uint64_t seq;			/* accept order: the oldest goes */
	int64_t deadline;		/* ms */
	size_t req_len, out_len, out_off;
	char *out;
	char req[METRICS_REQUEST_MAX];
};

struct metrics_server {
	int epfd, listen_fd;
	metrics_render_fn render;
	void *arg;
	uint64_t seq;
	char instance[METRICS_INSTANCE_MAX + 1];
	struct metrics_server_stats stats;
	struct mconn conn[METRICS_SLOTS];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct metrics_server *metrics_server_new(const struct sockaddr *addr,
					  socklen_t addr_len,
					  metrics_render_fn render, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct metrics_server *m = calloc(1, sizeof(*m));
	int one = 1, err, i;

	if (!m)
		return NULL;
	m->render = render;
	m->arg = arg;
	for (i = 0; i < METRICS_SLOTS; i++)
		m->conn[i].fd = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->listen_fd = socket(addr->sa_family,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ev.data.ptr = &m->listen_fd;
	if (m->epfd < 0 || m->listen_fd < 0 ||
	    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) < 0 ||
	    bind(m->listen_fd, addr, addr_len) < 0 ||
	    listen(m->listen_fd, 64) < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev) < 0) {
		err = errno;
		metrics_server_free(m);
		errno = err;
		return NULL;
	}
	return m;
}

static void conn_close(struct metrics_server *m, struct mconn *c)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->state = MC_FREE;
}

void metrics_server_free(struct metrics_server *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < METRICS_SLOTS; i++)
		if (m->conn[i].fd >= 0)
			conn_close(m, &m->conn[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	free(m);
}

int metrics_server_fd(const struct metrics_server *m)
{
	return m->epfd;
}

void metrics_set_instance(struct metrics_server *m, const char *name)
{
	if (!m)
		return;
	snprintf(m->instance, sizeof(m->instance), "%s", name ? name : "");
}

const struct metrics_server_stats *
metrics_server_stats(const struct metrics_server *m)
{
	return &m->stats;
}

static void conn_arm(struct metrics_server *m, struct mconn *c,
		     uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_close(m, c);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/* Sent: the write side is shut, and what comes is read until the end. */
static void conn_done(struct metrics_server *m, struct mconn *c)
{
	int64_t linger = now_ms() + METRICS_LINGER_MS;

	shutdown(c->fd, SHUT_WR);
	free(c->out);
	c->out = NULL;
	c->state = MC_LINGER;
	if (linger < c->deadline)
		c->deadline = linger;
	conn_arm(m, c, EPOLLIN);
}

static void conn_flush(struct metrics_server *m, struct mconn *c)
{
	ssize_t w;

	while (c->out_off < c->out_len) {
		w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(m, c, EPOLLOUT);
			return;
		}
		if (w <= 0) {
			conn_close(m, c);
			return;
		}
		c->out_off += (size_t)w;
	}
	conn_done(m, c);
}

static void conn_answer(struct metrics_server *m, struct mconn *c,
			int status)
{
	struct metrics_text body, msg;

	metrics_text_init(&body);
	metrics_text_init(&msg);
	if (status == 200) {
		if (m->instance[0])
			metrics_text_const_label(&body, "instance",
						 m->instance);
		m->render(m->arg, &body);
		if (!metrics_text_ok(&body))
			status = 500;
	}
	if (status != 200) {
		metrics_text_free(&body);
		/* The reason phrase as the body: a person may be reading. */
		puts_(&body, status_text(status));
		puts_(&body, "\n");
		m->stats.refused++;
	} else {
		m->stats.scrapes++;
	}
	puts_(&msg, "HTTP/1.1 ");
	putf(&msg, "%d %s\r\n", status, status_text(status));
	puts_(&msg, "Content-Type: ");
	puts_(&msg, status == 200 ? METRICS_CONTENT_TYPE :
		    "text/plain; charset=utf-8");
	putf(&msg, "\r\nContent-Length: %zu\r\n", body.len);
	if (status == 405)
		puts_(&msg, "Allow: GET\r\n");
	puts_(&msg, "Connection: close\r\n\r\n");
	put(&msg, body.buf ? body.buf : "", body.len);
	metrics_text_free(&body);
	if (!metrics_text_ok(&msg)) {
		metrics_text_free(&msg);
		conn_close(m, c);
		return;
	}
	c->out = msg.buf;
	c->out_len = msg.len;
	c->out_off = 0;
	c->state = MC_WRITING;
	conn_flush(m, c);
}

static void conn_readable(struct metrics_server *m, struct mconn *c)
{
	char drain[512];
	ssize_t n;
	int status, i;

	if (c->state == MC_LINGER) {
		/* Bounded per readiness; the deadline bounds the rest. */
		for (i = 0; i < 8; i++) {
			n = recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0)
				break;
		}
		if (i < 8)
			conn_close(m, c);
		return;
	}
	n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(m, c);
		return;
	}
	c->req_len += (size_t)n;
	status = metrics_http_verdict(c->req, c->req_len, sizeof(c->req));
	if (status)
		conn_answer(m, c, status);
}

static struct mconn *slot_take(struct metrics_server *m)
{
	struct mconn *oldest = NULL;
	int i;

	for (i = 0; i < METRICS_SLOTS; i++) {
		if (m->conn[i].fd < 0)
			return &m->conn[i];
		if (!oldest || m->conn[i].seq < oldest->seq)
			oldest = &m->conn[i];
	}
	m->stats.evicted++;
	conn_close(m, oldest);
	return oldest;
}

static void server_accept(struct metrics_server *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mconn *c;
	int fd, i;

	for (i = 0; i < METRICS_ACCEPTS; i++) {
		fd = accept4(m->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c = slot_take(m);
		ev.data.ptr = c;
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = MC_READING;
		c->seq = ++m->seq;
		c->deadline = now_ms() + METRICS_DEADLINE_MS;
		c->req_len = 0;
	}
}

void metrics_server_run(struct metrics_server *m)
{
	struct epoll_event evs[METRICS_EVENTS];
	struct mconn *c;
	int n, i;

	n = epoll_wait(m->epfd, evs, METRICS_EVENTS, 0);
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == &m->listen_fd) {
			server_accept(m);
			continue;
		}
		c = evs[i].data.ptr;
		/* Closed earlier in this batch, its slot maybe taken again. */
		if (c->fd < 0)
			continue;
		if (c->state == MC_WRITING)
			conn_flush(m, c);
		else
			conn_readable(m, c);
	}
}

void metrics_server_tick(struct metrics_server *m, int64_t now)
{
	int i;

	for (i = 0; i < METRICS_SLOTS; i++) {
		if (m->conn[i].fd >= 0 && now >= m->conn[i].deadline) {
			if (m->conn[i].state != MC_LINGER)
				m->stats.timed_out++;
			conn_close(m, &m->conn[i]);
		}
	}
}
