// SPDX-License-Identifier: MIT
/*
 * shoal login, logout, nick, create, join, leave, delete, approve, kick,
 * ban, set-password, networks and netcheck: each is one request line to
 * shoald (docs/architecture.md, "The control socket"), which does the
 * work with the mediator, and one answer: "ok", "ok pending" or
 * "error CODE MESSAGE", then JSON for some.  Everything typed is checked
 * here first, so that no word of a request can carry a space or a
 * newline into another, and every result code has its own exit code.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "hex.h"
#include "jsonread.h"
#include "key.h"
#include "mediator.h"
#include "password.h"
#include "print.h"
#include "render.h"
#include "utf8.h"
#include "util.h"

/* A request line at its longest, its newline included. */
#define REQUEST_MAX 4096

/* The mediator's network names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
#define NETWORK_NAME_MAX 64

/* How a command gets its password. */
enum pw_mode {
	PW_NONE,
	PW_JOIN,	/* asked once; none without a terminal */
	PW_SET,		/* asked twice; without a terminal, must be named */
};

struct ctx {
	const struct cli_command *cmd;
	enum pw_mode pw;
	char **args;
	int n_args;
	const char *socket_opt, *ifname, *nick, *password_file;
	bool json, pretty, no_password, approval;
	char what[128];		/* "join lanparty", for messages */
	char path[SHOAL_CTL_PATH_SIZE];
};

static int run_simple(struct ctx *c);
static int run_login(struct ctx *c);
static int run_join(struct ctx *c);
static int run_networks(struct ctx *c);
static int run_netcheck(struct ctx *c);

/* ---- checking what was typed -------------------------------------- */

static bool name_char(char ch, bool first)
{
	if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '.' || ch == '_' || ch == '-');
}

/* The mediator's network names (docs/protocol.md, attribute NETWORK). */
static bool valid_network(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > NETWORK_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char(s[i], i == 0))
			return false;
	return true;
}

static int check_network(const char *s)
{
	if (valid_network(s))
		return SHOAL_EXIT_OK;
	return cli_usage_error("'%s' is not a network name (1 to %d of "
			       "A-Z a-z 0-9 . _ -, starting with a letter or "
			       "digit)", s, NETWORK_NAME_MAX);
}

static int check_nick(const char *s)
{
	if (shoal_config_valid_nickname(s))
		return SHOAL_EXIT_OK;
	return cli_usage_error("'%s' is not a nickname (1 to %d of "
			       "A-Z a-z 0-9 . _ -, starting with a letter or "
			       "digit)", s, SHOAL_CONFIG_MAX_NICK);
}

/* ---- printing what shoald sent ------------------------------------ */

/* Text shoald passes on (the mediator's words) goes to stderr safe. */
static void eput_safe(const char *s, size_t len)
{
	shoal_put_safe(stderr, s, len, 0);
}

/* ---- the answer ---------------------------------------------------- */

/* What each result code means (docs/protocol.md and shoald's own). */
static const struct {
	long code;
	int exit;
	const char *text;
} results[] = {
	{ -3, SHOAL_EXIT_MEDIATOR, "the mediator did not understand the request" },
	{ -5, SHOAL_EXIT_BAD_NAME, "not a nickname the mediator takes" },
	{ -6, SHOAL_EXIT_BAD_NAME, "that nickname is taken" },
	{ -7, SHOAL_EXIT_BAD_NAME, "not a network name the mediator takes" },
	{ -8, SHOAL_EXIT_BAD_NAME, "that network name is taken" },
	{ -9, SHOAL_EXIT_MEDIATOR, "the mediator refuses that password (empty or too long)" },
	{ -10, SHOAL_EXIT_MEDIATOR, "the mediator has no address left to give" },
	{ -12, SHOAL_EXIT_NO_NETWORK, "no such network" },
	{ -13, SHOAL_EXIT_PASSWORD_REQUIRED, "the network has a password (--password-file FILE, or run on a terminal)" },
	{ -14, SHOAL_EXIT_WRONG_PASSWORD, "wrong password" },
	{ -15, SHOAL_EXIT_NETWORK_FULL, "the network is full" },
	{ -16, SHOAL_EXIT_BANNED, "banned from the network" },
	{ -17, SHOAL_EXIT_NOT_OWNER, "only the network's owner can do that" },
	{ -18, SHOAL_EXIT_NOT_MEMBER, "not a member of the network" },
	{ -19, SHOAL_EXIT_NOT_MEMBER, "no such member" },
	{ -20, SHOAL_EXIT_ALREADY_MEMBER, "already a member of the network" },
	{ -21, SHOAL_EXIT_NOT_MEMBER, "that member is not waiting for approval" },
	{ -22, SHOAL_EXIT_NOT_MEMBER, "that nickname is not banned" },
	{ -23, SHOAL_EXIT_NOT_MEMBER, "the owner cannot kick or ban themselves" },
	{ -24, SHOAL_EXIT_NETWORK_FULL, "too many requests are waiting for the owner's approval" },
	{ -25, SHOAL_EXIT_WRONG_PASSWORD, "the network has no password (join it without one)" },
	{ -100, SHOAL_EXIT_NOT_LOGGED_IN, "not logged in to the mediator" },
	{ -101, SHOAL_EXIT_MEDIATOR, "the mediator does not know this request" },
	{ -102, SHOAL_EXIT_MEDIATOR, "the mediator has no relay port free" },
	{ -103, SHOAL_EXIT_MEDIATOR, "that peer is not online in a shared network" },
	{ -104, SHOAL_EXIT_TOO_MANY_ATTEMPTS, "too many password attempts; try again later" },
	{ -106, SHOAL_EXIT_TOO_MANY_ATTEMPTS, "too many new clients from this address; try again later" },
	{ -109, SHOAL_EXIT_MEDIATOR, "the mediator's database is unavailable; try again later" },
	{ -200, SHOAL_EXIT_NOT_LOGGED_IN, "shoald has no mediator (shoal login HOST:PORT PUBLICKEY first)" },
	{ -201, SHOAL_EXIT_NOT_LOGGED_IN, "the mediator cannot be reached now" },
	{ -202, SHOAL_EXIT_NOT_LOGGED_IN, "the mediator did not answer in time" },
	{ -204, SHOAL_EXIT_FAILURE, "only root may log in or out of a mediator" },
	/* shoald did not take our request: the two disagree, a failure. */
	{ -203, SHOAL_EXIT_FAILURE, "shoald did not understand the request (is it another version?)" },
	{ -206, SHOAL_EXIT_FAILURE, "shoald is busy with other requests; try again" },
	{ -205, SHOAL_EXIT_NOT_MEMBER, "more than one member has that nickname: name the member by its public key" },
};

/* "ok", "ok pending" or "error CODE [MESSAGE]"; body: what follows. */
struct answer {
	bool ok, pending;
	long code;
	const char *message;	/* NULL: none given */
	size_t message_len;
	const char *body;
	size_t body_len;
};

/* -?[0-9]+ within a 32-bit result code, no leading zeros. */
static int parse_code(const char *s, size_t len, long *code)
{
	bool neg = len && s[0] == '-';
	size_t i = neg;
	long v = 0;

	if (i == len || len - i > 10 || (s[i] == '0' && len - i > 1) ||
	    (neg && s[i] == '0'))
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 2147483648L || (!neg && v > 2147483647L))
		return -1;
	*code = neg ? -v : v;
	return 0;
}

/*
 * Splits the answer.  An exit code: SHOAL_EXIT_OK when it is understood,
 * whatever it says.
 */
static int parse_answer(const struct ctx *c, const char *reply, size_t len,
			struct answer *a)
{
	const char *nl = memchr(reply, '\n', len);
	size_t line = nl ? (size_t)(nl - reply) : len;
	const char *sp;

	memset(a, 0, sizeof(*a));
	a->body = nl ? nl + 1 : reply + len;
	a->body_len = len - (size_t)(a->body - reply);
	if (line && reply[line - 1] == '\r')
		line--;
	if (memchr(reply, '\0', line))
		goto garbled;
	if (line == 2 && !memcmp(reply, "ok", 2)) {
		a->ok = true;
		return SHOAL_EXIT_OK;
	}
	if (line == 10 && !memcmp(reply, "ok pending", 10)) {
		a->ok = a->pending = true;
		return SHOAL_EXIT_OK;
	}
	if (line > 7 && !memcmp(reply, "error: ", 7)) {
		/* What a shoald without these requests says. */
		fprintf(stderr, "shoal: %s: shoald says: ", c->what);
		eput_safe(reply + 7, line - 7);
		fputs(" (is it older than this shoal?)\n", stderr);
		return SHOAL_EXIT_FAILURE;
	}
	if (line < 7 || memcmp(reply, "error ", 6))
		goto garbled;
	sp = memchr(reply + 6, ' ', line - 6);
	if (parse_code(reply + 6, (size_t)((sp ? sp : reply + line) -
					   (reply + 6)), &a->code) < 0)
		goto garbled;
	if (sp && sp + 1 < reply + line) {
		a->message = sp + 1;
		a->message_len = (size_t)(reply + line - a->message);
	}
	return SHOAL_EXIT_OK;
garbled:
	fprintf(stderr, "shoal: %s: shoald's answer is not understood: '",
		c->what);
	eput_safe(reply, line > 200 ? 200 : line);
	fputs(line > 200 ? "...'\n" : "'\n", stderr);
	return SHOAL_EXIT_FAILURE;
}

/* Says what went wrong; returns the code's exit code. */
static int report_error(const struct ctx *c, const struct answer *a)
{
	const char *text = NULL;
	int exit = a->code < 0 ? SHOAL_EXIT_MEDIATOR : SHOAL_EXIT_FAILURE;
	size_t i;

	for (i = 0; i < SHOAL_ARRAY_SIZE(results); i++) {
		if (results[i].code == a->code) {
			exit = results[i].exit;
			text = results[i].text;
			break;
		}
	}
	fprintf(stderr, "shoal: %s: ", c->what);
	if (a->message)
		eput_safe(a->message, a->message_len);
	else if (text)
		fputs(text, stderr);
	else
		fprintf(stderr, "error %ld", a->code);
	fputc('\n', stderr);
	return exit;
}

/*
 * Sends the request and takes the answer apart.  Returns an exit code;
 * SHOAL_EXIT_OK only for "ok" or "ok pending", with *reply (free it)
 * holding the answer that a points into.
 */
static int ask(struct ctx *c, const char *request, char **reply,
	       struct answer *a)
{
	size_t len;
	int ret;

	ret = shoal_ctl_ask(c->path, request, reply, &len);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	ret = parse_answer(c, *reply, len, a);
	if (ret == SHOAL_EXIT_OK && !a->ok)
		ret = report_error(c, a);
	if (ret != SHOAL_EXIT_OK) {
		free(*reply);
		*reply = NULL;
	}
	return ret;
}

/* The JSON after "ok"; NULL (said why) if there is none or it is bad. */
static struct jr_value *answer_json(const struct ctx *c,
				    const struct answer *a)
{
	struct jr_value *v;
	char err[96];

	v = jr_parse(a->body, a->body_len, err, sizeof(err));
	if (!v)
		fprintf(stderr, "shoal: %s: shoald's answer is not valid "
			"JSON: %s\n", c->what, *err ? err : "out of memory");
	else if (v->type != JR_OBJECT)
		fprintf(stderr, "shoal: %s: shoald's answer is not a JSON "
			"object\n", c->what);
	else
		return v;
	jr_free(v);
	return NULL;
}

/* ---- building requests --------------------------------------------- */

struct request {
	char buf[REQUEST_MAX + 1];
	size_t len;
	bool overflow;
};

static void add(struct request *r, const char *word)
{
	size_t n = strlen(word);

	if (r->overflow || r->len + n >= sizeof(r->buf)) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + r->len, word, n + 1);
	r->len += n;
}

/* " password=HEX", lower-case hex, when there is a password. */
static void add_password(struct request *r, const struct shoal_password *pw)
{
	static const char key[] = " password=";

	if (!pw->set)
		return;
	add(r, key);
	if (r->overflow || r->len + SHOAL_HEX_LEN(pw->len) >= sizeof(r->buf) ||
	    shoal_hex_encode(r->buf + r->len, sizeof(r->buf) - r->len,
			     pw->buf, pw->len) < 0) {
		r->overflow = true;
		return;
	}
	r->len += SHOAL_HEX_LEN(pw->len);
}

/* Sends it; the answer must be "ok" (or "ok pending"). */
static int send_request(struct ctx *c, struct request *r, struct answer *a,
			char **reply)
{
	int ret;

	add(r, "\n");
	if (r->overflow) {
		/* Cannot happen with the limits checked; never send half. */
		fprintf(stderr, "shoal: %s: the request is too long\n",
			c->what);
		ret = SHOAL_EXIT_FAILURE;
	} else {
		ret = ask(c, r->buf, reply, a);
	}
	sodium_memzero(r, sizeof(*r));
	return ret;
}

/* ---- passwords ----------------------------------------------------- */

/* Whether anything answers at c->path, before making someone type. */
static int check_socket(const struct ctx *c)
{
	struct stat st;

	if (stat(c->path, &st) == 0)
		return SHOAL_EXIT_OK;
	fprintf(stderr, "shoal: cannot reach shoald at %s: %s%s\n", c->path,
		strerror(errno), errno == ENOENT ? " (is shoald running?)" : "");
	return SHOAL_EXIT_NO_DAEMON;
}

static int get_password(struct ctx *c, struct shoal_password *pw)
{
	char prompt[160];
	bool no_tty;
	int ret;

	memset(pw, 0, sizeof(*pw));
	if (c->pw == PW_NONE || c->no_password)
		return SHOAL_EXIT_OK;
	if (c->password_file)
		return shoal_password_from_file(pw, c->password_file, c->what);
	if (!shoal_password_have_tty()) {
		if (c->pw == PW_JOIN)
			return SHOAL_EXIT_OK;	/* the mediator says if one is needed */
		return cli_usage_error("no terminal to ask for the "
				       "password on: give --password-file FILE "
				       "or --no-password");
	}
	ret = check_socket(c);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	if (c->pw == PW_JOIN)
		snprintf(prompt, sizeof(prompt), "password for %s (empty "
			 "for none): ", c->args[0]);
	else if (!strcmp(c->cmd->name, "create"))
		snprintf(prompt, sizeof(prompt), "password for the new "
			 "network %s: ", c->args[0]);
	else
		snprintf(prompt, sizeof(prompt), "new password for %s: ",
			 c->args[0]);
	ret = shoal_password_from_tty(pw, prompt, c->pw == PW_SET,
				      c->what, &no_tty);
	if (ret != SHOAL_EXIT_OK || c->pw == PW_JOIN)
		return ret;	/* join: empty, or the terminal gone: none */
	if (no_tty)
		return cli_usage_error("the terminal went away");
	if (!pw->set)
		return cli_usage_error("the password is empty "
				       "(--no-password for none)");
	return SHOAL_EXIT_OK;
}

/* ---- the commands -------------------------------------------------- */

/* Every command whose answer is just "ok": the words, then the options. */
static int run_simple(struct ctx *c)
{
	struct shoal_password pw;
	struct request r = { .len = 0 };
	struct answer a;
	char *reply = NULL;
	int i, ret;

	ret = get_password(c, &pw);
	if (ret != SHOAL_EXIT_OK) {
		shoal_password_wipe(&pw);
		return ret;
	}
	add(&r, c->cmd->name);
	for (i = 0; i < c->n_args; i++) {
		add(&r, " ");
		add(&r, c->args[i]);
	}
	if (c->approval)
		add(&r, " approval");
	add_password(&r, &pw);
	shoal_password_wipe(&pw);
	ret = send_request(c, &r, &a, &reply);
	free(reply);
	return ret;
}

/* What the command prints goes through lib/print.h, as -j and -p say. */
static int print_done(void)
{
	return print_end() ? SHOAL_EXIT_FAILURE : SHOAL_EXIT_OK;
}

static int run_join(struct ctx *c)
{
	struct shoal_password pw;
	struct request r = { .len = 0 };
	struct answer a;
	char *reply = NULL;
	int ret;

	ret = get_password(c, &pw);
	if (ret != SHOAL_EXIT_OK) {
		shoal_password_wipe(&pw);
		return ret;
	}
	add(&r, "join ");
	add(&r, c->args[0]);
	add_password(&r, &pw);
	shoal_password_wipe(&pw);
	ret = send_request(c, &r, &a, &reply);
	if (ret == SHOAL_EXIT_OK) {
		print_start(stdout, c->json, c->pretty);
		render_join(c->args[0], a.pending);
		ret = print_done();
	}
	free(reply);
	return ret;
}

/* Sends r; shoald's data after "ok" put out by render. */
static int ask_and_render(struct ctx *c, struct request *r,
			  void (*render)(const struct jr_value *v))
{
	struct jr_value *v;
	struct answer a;
	char *reply = NULL;
	int ret;

	ret = send_request(c, r, &a, &reply);
	if (ret != SHOAL_EXIT_OK)
		goto out;
	v = answer_json(c, &a);
	if (!v) {
		ret = SHOAL_EXIT_FAILURE;
		goto out;
	}
	print_start(stdout, c->json, c->pretty);
	render(v);
	jr_free(v);
	ret = print_done();
out:
	free(reply);
	return ret;
}

static int run_login(struct ctx *c)
{
	struct request r = { .len = 0 };

	add(&r, "login ");
	add(&r, c->args[0]);
	add(&r, " ");
	add(&r, c->args[1]);
	if (c->nick) {
		add(&r, " ");
		add(&r, c->nick);
	}
	return ask_and_render(c, &r, render_login);
}

/* A list cut short: scripts reading JSON learn it on stderr. */
static void render_networks_warn(const struct jr_value *v)
{
	if (render_networks(v) && print_is_json())
		fprintf(stderr, "shoal: networks: more networks than one "
			"answer of the mediator holds: the list is cut short\n");
}

static int run_networks(struct ctx *c)
{
	struct request r = { .len = 0 };

	add(&r, "networks");
	return ask_and_render(c, &r, render_networks_warn);
}

static int run_netcheck(struct ctx *c)
{
	struct request r = { .len = 0 };

	add(&r, "netcheck");
	return ask_and_render(c, &r, render_netcheck);
}

/* ---- the command line ---------------------------------------------- */

/* Checks the positional arguments each command takes. */
static int check_args(struct ctx *c)
{
	const char *name = c->cmd->name;
	uint8_t key[SHOAL_KEY_LEN];
	int ret = SHOAL_EXIT_OK;

	if (!strcmp(name, "login")) {
		char addrs[SHOAL_CONFIG_MAX_MEDIATORS]
			  [SHOAL_CONFIG_MAX_HOSTPORT + 1];

		/* A cluster's instances: HOST:PORT,HOST:PORT,... */
		if (shoal_config_parse_hostports(c->args[0], addrs,
						 SHOAL_CONFIG_MAX_MEDIATORS) < 1)
			return cli_usage_error("'%s' is not HOST:PORT or "
					       "[IPv6]:PORT (port 1 to 65535), "
					       "or a list of up to %d of them "
					       "with commas, none twice",
					       c->args[0],
					       SHOAL_CONFIG_MAX_MEDIATORS);
		if (shoal_key_from_base64(key, c->args[1]) < 0)
			return cli_usage_error("'%s' is not a base64 32-byte "
					       "public key", c->args[1]);
		if (c->nick)
			ret = check_nick(c->nick);
	} else if (!strcmp(name, "nick")) {
		ret = check_nick(c->args[0]);
	} else if (c->n_args >= 1) {
		ret = check_network(c->args[0]);
		/* approve, kick, ban: a member, by nickname or by key. */
		if (ret == SHOAL_EXIT_OK && c->n_args == 2 &&
		    shoal_key_from_base64(key, c->args[1]) < 0 &&
		    !shoal_config_valid_nickname(c->args[1]))
			ret = cli_usage_error("'%s' is neither a nickname (1 "
					      "to %d of A-Z a-z 0-9 . _ -, "
					      "starting with a letter or digit) "
					      "nor a base64 32-byte public key",
					      c->args[1], SHOAL_CONFIG_MAX_NICK);
	}
	return ret;
}

/* What the one parser read, checked, and the request made. */
static int mediator_cmd(const struct cli_args *a, enum pw_mode pw,
			int (*run)(struct ctx *c))
{
	struct ctx c = {
		.cmd = a->cmd, .pw = pw, .args = a->args, .n_args = a->n_args,
		.socket_opt = a->socket, .ifname = a->ifname, .nick = a->nick,
		.password_file = a->password_file, .json = a->json,
		.pretty = a->pretty, .no_password = a->no_password,
		.approval = a->approval,
	};
	const char *name = a->cmd->name;
	bool login = !strcmp(name, "login");
	int ret;

	ret = check_args(&c);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	/* Messages name the command and its first word: "join lanparty". */
	snprintf(c.what, sizeof(c.what), "%s%s%s%s%s", name,
		 c.n_args > 0 ? " " : "", c.n_args > 0 ? c.args[0] : "",
		 c.n_args > 1 && !login ? " " : "",
		 c.n_args > 1 && !login ? c.args[1] : "");
	ret = shoal_ctl_path(c.path, c.socket_opt, c.ifname, name);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	return run(&c);
}

int shoal_cmd_login(const struct cli_args *a)
{
	return mediator_cmd(a, PW_NONE, run_login);
}

/* logout, nick, leave, delete, approve, kick, ban: the words as typed. */
int shoal_cmd_simple(const struct cli_args *a)
{
	return mediator_cmd(a, PW_NONE, run_simple);
}

/* create, set-password: a new password, asked twice on a terminal. */
int shoal_cmd_new_password(const struct cli_args *a)
{
	return mediator_cmd(a, PW_SET, run_simple);
}

int shoal_cmd_join(const struct cli_args *a)
{
	return mediator_cmd(a, PW_JOIN, run_join);
}

int shoal_cmd_networks(const struct cli_args *a)
{
	return mediator_cmd(a, PW_NONE, run_networks);
}

int shoal_cmd_netcheck(const struct cli_args *a)
{
	return mediator_cmd(a, PW_NONE, run_netcheck);
}
