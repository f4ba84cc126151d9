// SPDX-License-Identifier: MIT
/*
 * lib/metrics.c: the text format's lines and escaping, and every answer
 * of the request parser (each refusal, cut anywhere).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "metrics.h"

#define LIMIT METRICS_REQUEST_MAX

static int verdict(const char *req)
{
	return metrics_http_verdict(req, strlen(req), LIMIT);
}

TEST(family_and_samples)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_one(&t, "shoal_x_total", METRICS_COUNTER, "Things done.", 42);
	metrics_family(&t, "shoal_y", METRICS_GAUGE, "A level.");
	metrics_u64(&t, "shoal_y", "where", "builtin", 3);
	metrics_double(&t, "shoal_y", "where", "remote", 0.25);
	metrics_family(&t, "shoal_z_seconds", METRICS_SUMMARY, "Time.");
	metrics_double(&t, "shoal_z_seconds_sum", NULL, NULL, 1.5);
	metrics_u64(&t, "shoal_z_seconds_count", NULL, NULL, 3);
	ASSERT_TRUE(metrics_text_ok(&t));
	EXPECT_STREQ("# HELP shoal_x_total Things done.\n"
		     "# TYPE shoal_x_total counter\n"
		     "shoal_x_total 42\n"
		     "# HELP shoal_y A level.\n"
		     "# TYPE shoal_y gauge\n"
		     "shoal_y{where=\"builtin\"} 3\n"
		     "shoal_y{where=\"remote\"} 0.25\n"
		     "# HELP shoal_z_seconds Time.\n"
		     "# TYPE shoal_z_seconds summary\n"
		     "shoal_z_seconds_sum 1.5\n"
		     "shoal_z_seconds_count 3\n", t.buf);
	metrics_text_free(&t);
}

TEST(constant_label_first)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_text_const_label(&t, "instance", "med-1");
	metrics_u64(&t, "a", NULL, NULL, 1);
	metrics_u64(&t, "b", "reason", "nick_taken", 18446744073709551615ULL);
	ASSERT_TRUE(metrics_text_ok(&t));
	EXPECT_STREQ("a{instance=\"med-1\"} 1\n"
		     "b{instance=\"med-1\",reason=\"nick_taken\"} "
		     "18446744073709551615\n", t.buf);
	metrics_text_free(&t);
}

TEST(escaping)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_family(&t, "e", METRICS_GAUGE, "back\\slash \"quoted\"\nnext");
	metrics_u64(&t, "e", "l", "a\\b\"c\nd", 7);
	ASSERT_TRUE(metrics_text_ok(&t));
	/* HELP escapes \ and newline only; a label value " too. */
	EXPECT_STREQ("# HELP e back\\\\slash \"quoted\"\\nnext\n"
		     "# TYPE e gauge\n"
		     "e{l=\"a\\\\b\\\"c\\nd\"} 7\n", t.buf);
	metrics_text_free(&t);
}

TEST(special_values)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_double(&t, "d", NULL, NULL, 1.0 / 0.0);
	metrics_double(&t, "d", NULL, NULL, -1.0 / 0.0);
	metrics_double(&t, "d", NULL, NULL, 0.0 / 0.0);
	metrics_double(&t, "d", NULL, NULL, 1796000000.5);
	ASSERT_TRUE(metrics_text_ok(&t));
	EXPECT_STREQ("d +Inf\nd -Inf\nd NaN\nd 1796000000.5\n", t.buf);
	metrics_text_free(&t);
}

TEST(bad_names_fail)
{
	static const char *const bad[] = { "", "1abc", "a-b", "a b", "é" };
	struct metrics_text t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		metrics_text_init(&t);
		metrics_u64(&t, bad[i], NULL, NULL, 1);
		EXPECT_FALSE(metrics_text_ok(&t));
		metrics_text_free(&t);
		metrics_text_init(&t);
		metrics_family(&t, bad[i], METRICS_GAUGE, "x");
		EXPECT_FALSE(metrics_text_ok(&t));
		metrics_text_free(&t);
	}
	EXPECT_TRUE(metrics_name_ok("a:b_c9"));
	EXPECT_FALSE(metrics_label_name_ok("a:b"));
	EXPECT_FALSE(metrics_label_name_ok("__name__"));
	metrics_text_init(&t);
	metrics_u64(&t, "ok", "bad-label", "v", 1);
	EXPECT_FALSE(metrics_text_ok(&t));
	metrics_text_free(&t);
}

TEST(process)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_process(&t, "shoal_test");
	ASSERT_TRUE(metrics_text_ok(&t));
	EXPECT_NE(NULL, strstr(t.buf, "\nshoal_test_resident_memory_bytes "));
	EXPECT_NE(NULL, strstr(t.buf, "\nshoal_test_start_time_seconds 1"));
	EXPECT_EQ(NULL, strstr(t.buf, "_resident_memory_bytes 0\n"));
	metrics_text_free(&t);
}

TEST(get_metrics)
{
	EXPECT_EQ(200, verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
	EXPECT_EQ(200, verdict("GET /metrics HTTP/1.0\r\n\r\n"));
	EXPECT_EQ(200, verdict("GET /metrics?x=1 HTTP/1.1\n"
			       "Accept: text/plain;q=0.5, */*\n\n"));
	EXPECT_EQ(200, verdict("GET /metrics HTTP/1.1\r\n"
			       "Content-Length:  0 \r\n\r\n"));
	/* What comes after the header block is not looked at. */
	EXPECT_EQ(200, verdict("GET /metrics HTTP/1.1\r\n\r\n\x01\x02"));
	EXPECT_EQ(200, verdict("GET /metrics HTTP/1.1\r\nX: \x80\xff\r\n\r\n"));
}

TEST(more_needed)
{
	EXPECT_EQ(0, verdict(""));
	EXPECT_EQ(0, verdict("GE"));
	EXPECT_EQ(0, verdict("GET /metrics HTTP/1.1\r"));
	EXPECT_EQ(0, verdict("GET /metrics HTTP/1.1\r\n"));
	EXPECT_EQ(0, verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
	EXPECT_EQ(0, verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"));
	/* Refusals wait for the headers too, all but a bad request. */
	EXPECT_EQ(0, verdict("POST /metrics HTTP/1.1\r\n"));
	EXPECT_EQ(0, verdict("GET / HTTP/1.1\r\n"));
}

TEST(not_found)
{
	EXPECT_EQ(404, verdict("GET / HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(404, verdict("GET /metricsx HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(404, verdict("GET /metrics/ HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(404, verdict("GET http://x/metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(404, verdict("GET * HTTP/1.1\r\n\r\n"));
}

TEST(method_not_allowed)
{
	EXPECT_EQ(405, verdict("POST /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(405, verdict("HEAD /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(405, verdict("get /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(405, verdict("DELETE / HTTP/1.1\r\n\r\n"));
}

TEST(bad_request)
{
	static const char *const bad[] = {
		"\r\n\r\n",				/* no request line */
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",			/* HTTP/0.9 */
		"GET  /metrics HTTP/1.1\r\n\r\n",	/* two spaces */
		"GET /metrics  HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.x\r\n\r\n",
		"GET /metrics HTTP/1.10\r\n\r\n",
		"GET /metrics http/1.1\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",	/* not a token */
		"GET /me\x7ftrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\r\n\r\n",	/* a lone CR */
		"GET /metrics HTTP/1.1\r\nHost\r\n\r\n",	/* no colon */
		"GET /metrics HTTP/1.1\r\n: x\r\n\r\n",	/* no name */
		"GET /metrics HTTP/1.1\r\nHo st: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n",	/* folded */
		"GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
		"GET /metrics HTTP/1.1\r\ncontent-length: 00\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(400, verdict(bad[i])) TH_LOG("request %zu", i);
	/* Binary, a TLS hello: at once, before any line ends. */
	EXPECT_EQ(400, metrics_http_verdict("\x16\x03\x01\x02", 4, LIMIT));
	EXPECT_EQ(400, verdict("GET /metrics\t"));
	EXPECT_EQ(400, metrics_http_verdict("GET \0", 5, LIMIT));
}

TEST(too_long)
{
	static char big[LIMIT + 100];

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	EXPECT_EQ(0, metrics_http_verdict(big, LIMIT - 1, LIMIT));
	EXPECT_EQ(431, metrics_http_verdict(big, LIMIT, LIMIT));
	EXPECT_EQ(431, metrics_http_verdict(big, sizeof(big), LIMIT));
	/* Headers that never end. */
	memcpy(big, "GET /metrics HTTP/1.1\r\n", 23);
	memcpy(big + 23, "X: y\r\n", 6);
	EXPECT_EQ(0, metrics_http_verdict(big, 29, LIMIT));
	EXPECT_EQ(431, metrics_http_verdict(big, LIMIT, LIMIT));
}

/* Cut anywhere, a request gets nothing early and the same verdict whole. */
TEST(every_cut)
{
	static const char *const reqs[] = {
		"GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
		"POST /x HTTP/1.0\r\n\r\n",
		"GET /nope HTTP/1.1\nA: b\n\n",
	};
	static const int want[] = { 200, 405, 404 };
	size_t i, n;

	for (i = 0; i < 3; i++) {
		for (n = 0; n < strlen(reqs[i]); n++)
			EXPECT_EQ(0, metrics_http_verdict(reqs[i], n, LIMIT));
		EXPECT_EQ(want[i], verdict(reqs[i]));
	}
}

/* ---- the server, on loopback, driven by hand ---- */

static size_t body_size;

static void render(void *arg, struct metrics_text *t)
{
	size_t i;

	(void)arg;
	metrics_family(t, "r", METRICS_GAUGE, "A test.");
	for (i = 0; t->len < body_size; i++)
		metrics_u64(t, "r", "i", "x", i);
}

/* A server on a free port of 127.0.0.1, and that address. */
static struct metrics_server *server(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) < 0)
		return NULL;
	close(fd);
	return metrics_server_new((struct sockaddr *)sin, sizeof(*sin),
				  render, NULL);
}

static int client(const struct sockaddr_in *sin, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	usleep(10000);
	if (req && send(fd, req, strlen(req), 0) != (ssize_t)strlen(req))
		return -1;
	return fd;
}

/*
 * Runs the server and reads fd's answer until its end (or 2 s), a few
 * bytes a turn: the server meets a full socket buffer (EAGAIN) and must
 * go on where it stopped.
 */
static char *answer(struct metrics_server *m, int fd, size_t *n)
{
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	struct pollfd p = { .fd = metrics_server_fd(m), .events = POLLIN };
	ssize_t r;
	int turns;

	*n = 0;
	for (turns = 0; turns < 20000; turns++) {
		if (poll(&p, 1, 1) > 0)
			metrics_server_run(m);
		if (*n + 65536 > cap)
			buf = realloc(buf, cap *= 2);
		r = recv(fd, buf + *n, 65536, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			*n += (size_t)r;
	}
	buf[*n < cap ? *n : cap - 1] = '\0';
	return buf;
}

TEST(serves_with_instance_and_big_body)
{
	struct sockaddr_in sin;
	struct metrics_server *m = server(&sin);
	char *got, want[64];
	size_t n;
	int fd;

	ASSERT_NE(NULL, m);
	metrics_set_instance(m, "a\"b");
	/* Far more than a socket buffer takes at once. */
	body_size = 32 << 20;
	fd = client(&sin, "GET /metrics HTTP/1.1\r\n\r\n");
	ASSERT_LE(0, fd);
	got = answer(m, fd, &n);
	ASSERT_EQ(0, strncmp(got, "HTTP/1.1 200 OK\r\n", 17));
	EXPECT_NE(NULL, strstr(got, "\r\nContent-Type: text/plain; "
			       "version=0.0.4; charset=utf-8\r\n"));
	EXPECT_NE(NULL, strstr(got, "gauge\nr{instance=\"a\\\"b\",i=\"x\"} 0\n"));
	EXPECT_LT(body_size, n);
	snprintf(want, sizeof(want), "Content-Length: %zu\r\n",
		 n - (size_t)(strstr(got, "\r\n\r\n") + 4 - got));
	EXPECT_NE(NULL, strstr(got, want));
	EXPECT_EQ(1u, metrics_server_stats(m)->scrapes);
	free(got);
	close(fd);
	metrics_server_free(m);
}

TEST(oldest_slot_given_up_and_deadline)
{
	struct sockaddr_in sin;
	struct metrics_server *m = server(&sin);
	int idle[METRICS_SLOTS + 1], fd, i;
	char *got, c;
	size_t n;

	ASSERT_NE(NULL, m);
	metrics_set_instance(m, NULL);
	body_size = 0;
	for (i = 0; i <= METRICS_SLOTS; i++) {
		idle[i] = client(&sin, NULL);
		ASSERT_LE(0, idle[i]);
		metrics_server_run(m);
	}
	/* The ninth took the first one's slot. */
	usleep(10000);
	EXPECT_EQ(0, recv(idle[0], &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(-1, recv(idle[1], &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(1u, metrics_server_stats(m)->evicted);
	/* A scrape still gets its answer, without an instance label. */
	fd = client(&sin, "GET /metrics HTTP/1.0\r\n\r\n");
	got = answer(m, fd, &n);
	EXPECT_NE(NULL, strstr(got, "\r\n\r\n# HELP r A test.\n"));
	EXPECT_EQ(NULL, strstr(got, "instance"));
	free(got);
	close(fd);
	/* Past the deadline the silent ones are closed. */
	metrics_server_tick(m, (int64_t)1 << 60);
	usleep(10000);
	for (i = 2; i <= METRICS_SLOTS; i++) {
		EXPECT_EQ(0, recv(idle[i], &c, 1, MSG_DONTWAIT));
		close(idle[i]);
	}
	EXPECT_LE(7u, metrics_server_stats(m)->timed_out);
	close(idle[0]);
	close(idle[1]);
	metrics_server_free(m);
}

TEST(refusals_answered)
{
	static const struct {
		const char *req;
		const char *status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n" },
		{ "PUT /metrics HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 405 Method Not Allowed\r\n" },
		{ "\x16\x03\x01", "HTTP/1.1 400 Bad Request\r\n" },
	};
	struct sockaddr_in sin;
	struct metrics_server *m = server(&sin);
	char *got;
	size_t n, i;
	int fd;

	ASSERT_NE(NULL, m);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = client(&sin, cases[i].req);
		got = answer(m, fd, &n);
		EXPECT_EQ(0, strncmp(got, cases[i].status,
				     strlen(cases[i].status)))
			TH_LOG("%s", got);
		EXPECT_NE(NULL, strstr(got, "\r\nConnection: close\r\n"));
		free(got);
		close(fd);
	}
	EXPECT_EQ(3u, metrics_server_stats(m)->refused);
	metrics_server_free(m);
}

TEST_HARNESS_MAIN
