// SPDX-License-Identifier: MIT
/*
 * shoal msg and shoal chat: messages to members over the peers' sessions
 * (daemon/chat.c).  msg is one request ("msg TARGET TEXT"), answered once
 * every recipient acknowledged or a few seconds passed; chat keeps a
 * "chat-listen" connection open, prints what arrives, and sends each
 * line typed as a msg to the network.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "chatmsg.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "jsonread.h"
#include "utf8.h"
#include "util.h"

/* A network name or a nickname: the characters both allow. */
static bool target_ok(const char *s)
{
	return shoal_chat_network_ok(s, strlen(s)) ||
	       shoal_config_valid_nickname(s);
}

/* "delivered to bob, carol; offline: dave" from shoald's JSON. */
static void print_outcome(const char *body)
{
	static const char *const lists[][2] = {
		{ "delivered", "delivered to " }, { "failed", "not acknowledged by " },
		{ "offline", "offline (not sent): " },
	};
	const struct jr_value *a, *n;
	struct jr_value *root;
	bool first_list = true, first;
	char err[128];
	size_t i;

	root = jr_parse(body, strlen(body), err, sizeof(err));
	if (!root)
		return;
	for (i = 0; i < SHOAL_ARRAY_SIZE(lists); i++) {
		a = jr_member(root, lists[i][0]);
		if (!a || a->type != JR_ARRAY || !a->child)
			continue;
		printf("%s%s", first_list ? "" : "; ", lists[i][1]);
		first_list = false;
		first = true;
		for (n = a->child; n; n = n->next) {
			if (n->type != JR_STRING)
				continue;
			printf("%s", first ? "" : ", ");
			shoal_put_safe(stdout, n->str, strlen(n->str), 0);
			first = false;
		}
	}
	if (!first_list)
		putchar('\n');
	jr_free(root);
}

/* Sends "msg TARGET TEXT"; prints the outcome; an exit code. */
static int send_msg(const char *path, const char *target, const char *text,
		    bool json, bool quiet)
{
	char *req = NULL, *reply = NULL, *body;
	size_t len;
	int ret;

	if (asprintf(&req, "msg %s %s\n", target, text) < 0)
		return SHOAL_EXIT_FAILURE;
	ret = shoal_ctl_ask(path, req, &reply, &len);
	free(req);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	body = strchr(reply, '\n');
	if (body)
		*body++ = '\0';
	if (!strncmp(reply, "ok", 2)) {
		if (json && body)
			fputs(body, stdout);
		else if (!quiet && body)
			print_outcome(body);
		ret = SHOAL_EXIT_OK;
	} else {
		/* "error CODE TEXT": shoald's words, made safe. */
		const char *msg = reply;

		if (!strncmp(msg, "error ", 6)) {
			msg += 6;
			msg += strcspn(msg, " ");
			msg += *msg == ' ';
		}
		fputs("shoal: msg: ", stderr);
		shoal_put_safe(stderr, msg, strlen(msg), 0);
		fputc('\n', stderr);
		if (json && body)
			fputs(body, stdout);
		ret = SHOAL_EXIT_FAILURE;
	}
	free(reply);
	return ret;
}

int shoal_cmd_msg(const struct cli_args *a)
{
	char path[SHOAL_CTL_PATH_SIZE], text[SHOAL_CHAT_TEXT_MAX * 2 + 2];
	size_t len = 0, n;
	int i, ret;

	if (!target_ok(a->args[0]))
		return cli_usage_error("'%s' is neither a network name nor a "
				       "nickname", a->args[0]);
	for (i = 1; i < a->n_args; i++) {
		n = strlen(a->args[i]);
		if (len + n + 1 >= sizeof(text))
			return cli_usage_error("the text is longer than %d "
					       "bytes", SHOAL_CHAT_TEXT_MAX);
		if (i > 1)
			text[len++] = ' ';
		memcpy(text + len, a->args[i], n);
		len += n;
	}
	text[len] = '\0';
	if (len > SHOAL_CHAT_TEXT_MAX)
		return cli_usage_error("the text is longer than %d bytes",
				       SHOAL_CHAT_TEXT_MAX);
	if (!shoal_chat_text_ok(text, len))
		return cli_usage_error("the text must be UTF-8 without "
				       "control characters (1 to %d bytes)",
				       SHOAL_CHAT_TEXT_MAX);
	ret = shoal_ctl_path(path, a->socket, a->ifname, "msg");
	if (ret != SHOAL_EXIT_OK)
		return ret;
	return send_msg(path, a->args[0], text, a->json, false);
}

/* ---- shoal chat --------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Text from the network: shown safe on a terminal, as it is elsewhere. */
static void put_text(const char *s, bool tty)
{
	if (tty)
		shoal_put_safe(stdout, s, strlen(s), 0);
	else
		fputs(s, stdout);
}

static void print_message(const char *line, bool json, bool tty)
{
	const struct jr_value *v;
	unsigned long long t = 0;
	char err[128], stamp[16];
	const char *from, *net, *text;
	struct jr_value *root;
	time_t when;
	struct tm tm;

	root = jr_parse(line, strlen(line), err, sizeof(err));
	if (!root)
		return;
	v = root;
	from = jr_string(v, "from");
	net = jr_string(v, "network");
	text = jr_string(v, "text");
	if (!from || !net || !text || jr_uint(v, "time", &t) < 0)
		goto out;
	if (json) {
		/* shoald's line, JSON as it wrote it. */
		fputs(line, stdout);
		fputc('\n', stdout);
		goto out;
	}
	when = (time_t)t;
	localtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	printf("%s ", stamp);
	put_text(from, tty);
	putchar('@');
	put_text(net, tty);
	printf("%s: ", jr_bool(v, "direct") == 1 ? " (direct)" : "");
	put_text(text, tty);
	putchar('\n');
out:
	fflush(stdout);
	jr_free(root);
}

/* The first line of shoald's answer, byte by byte: messages may follow. */
static size_t first_line(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1) {
		n = read(fd, buf + got, 1);
		if (n <= 0 || buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	return got;
}

static int listen_open(const char *path, char *nets, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long long give_up = shoal_ctl_now_ms() + SHOAL_CTL_RETRY_MS;
	char buf[1024];
	size_t got;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
again:
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A busy shoald answers and closes before reading: EPIPE, then
	 * its line is read below. */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (send(fd, "chat-listen\n", 12, MSG_NOSIGNAL) != 12 &&
	     errno != EPIPE && errno != ECONNRESET)) {
		fprintf(stderr, "shoal: chat: cannot reach shoald at %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	got = first_line(fd, buf, sizeof(buf));
	/* Busy: the request was not read, so it is asked again. */
	if (shoal_ctl_now_ms() < give_up && shoal_ctl_busy_pause(buf, got)) {
		close(fd);
		goto again;
	}
	if (strncmp(buf, "ok", 2)) {
		fputs("shoal: chat: ", stderr);
		shoal_put_safe(stderr, buf, got, 0);
		fputc('\n', stderr);
		close(fd);
		return -1;
	}
	snprintf(nets, size, "%s", buf[2] == ' ' ? buf + 3 : "");
	return fd;
}

int shoal_cmd_chat(const struct cli_args *a)
{
	char path[SHOAL_CTL_PATH_SIZE], nets[1024], net[SHOAL_CHAT_NETWORK_MAX + 1];
	char in[4096], sbuf[8192], *nl, *line;
	struct pollfd pfd[2];
	size_t in_len = 0, s_len = 0, n_nets = 0;
	bool tty = isatty(STDOUT_FILENO), stdin_open = true;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *w;
	ssize_t n;
	int fd, ret;

	if (a->n_args && !shoal_chat_network_ok(a->args[0],
						strlen(a->args[0])))
		return cli_usage_error("'%s' is not a network name",
				       a->args[0]);
	ret = shoal_ctl_path(path, a->socket, a->ifname, "chat");
	if (ret != SHOAL_EXIT_OK)
		return ret;
	fd = listen_open(path, nets, sizeof(nets));
	if (fd < 0)
		return SHOAL_EXIT_FAILURE;
	net[0] = '\0';
	for (w = nets; *w; w += strcspn(w, " "), w += *w == ' ')
		n_nets++;
	if (a->n_args) {
		snprintf(net, sizeof(net), "%s", a->args[0]);
	} else if (n_nets == 1) {
		snprintf(net, sizeof(net), "%.*s", (int)strcspn(nets, " "),
			 nets);
	}
	if (!*net && isatty(STDIN_FILENO))
		fprintf(stderr, "shoal: chat: listening only: you are in %zu "
			"networks, name one to send to it\n", n_nets);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop) {
		pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = stdin_open ? STDIN_FILENO : -1,
					  .events = POLLIN };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents) {
			n = read(fd, sbuf + s_len, sizeof(sbuf) - 1 - s_len);
			if (n <= 0) {
				fprintf(stderr, "shoal: chat: shoald closed "
					"the connection\n");
				ret = SHOAL_EXIT_FAILURE;
				break;
			}
			s_len += (size_t)n;
			sbuf[s_len] = '\0';
			while ((nl = memchr(sbuf, '\n', s_len))) {
				*nl = '\0';
				print_message(sbuf, a->json, tty);
				s_len -= (size_t)(nl + 1 - sbuf);
				memmove(sbuf, nl + 1, s_len);
			}
			if (s_len == sizeof(sbuf) - 1)
				s_len = 0;
		}
		if (pfd[1].revents) {
			n = read(STDIN_FILENO, in + in_len,
				 sizeof(in) - 1 - in_len);
			if (n <= 0) {
				stdin_open = false;
				continue;
			}
			in_len += (size_t)n;
			in[in_len] = '\0';
			while ((nl = memchr(in, '\n', in_len))) {
				*nl = '\0';
				line = in;
				if (*line && !*net)
					fprintf(stderr, "shoal: chat: not "
						"sent: name the network "
						"(shoal chat NETWORK)\n");
				else if (*line && !shoal_chat_text_ok(line,
								  strlen(line)))
					fprintf(stderr, "shoal: chat: not "
						"sent: UTF-8 without control "
						"characters, up to %d bytes\n",
						SHOAL_CHAT_TEXT_MAX);
				else if (*line)
					send_msg(path, net, line, false, true);
				in_len -= (size_t)(nl + 1 - in);
				memmove(in, nl + 1, in_len);
			}
			if (in_len == sizeof(in) - 1)
				in_len = 0;
		}
	}
	close(fd);
	return ret;
}
