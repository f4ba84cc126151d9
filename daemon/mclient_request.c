// SPDX-License-Identifier: MIT
/*
 * The control socket's requests for the mediator (login, logout,
 * networks, ...; docs/architecture.md, "The control socket") and the
 * "mediator" object of `status json`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"
#include "json.h"
#include "key.h"
#include "mclient_int.h"
#include "medmsg.h"
#include "tlv.h"

#define MAX_PASSWORD 1024

static void do_login(struct mclient *m, int fd, char **w, int n)
{
	char addrs[SHOAL_CONFIG_MAX_MEDIATORS][SHOAL_CONFIG_MAX_HOSTPORT + 1];
	const char *list[SHOAL_CONFIG_MAX_MEDIATORS];
	uint8_t key[32];
	int ret, n_addrs = -1, i;

	if (n >= 3)
		n_addrs = shoal_config_parse_hostports(w[1], addrs,
						       SHOAL_CONFIG_MAX_MEDIATORS);
	if (n < 3 || n > 4 || n_addrs < 1 ||
	    shoal_key_from_base64(key, w[2]) < 0 ||
	    (n == 4 && !shoal_config_valid_nickname(w[3]))) {
		mc_answer(fd, E_BAD_REQUEST,
			  "usage: login HOST:PORT[,HOST:PORT...] KEY [NICK]",
			  NULL);
		return;
	}
	if (m->login_fd >= 0) {
		mc_answer(fd, E_BAD_REQUEST, "a login is already under way",
			  NULL);
		return;
	}
	mc_close(m, NULL);
	for (i = 0; i < n_addrs; i++)
		list[i] = addrs[i];
	/* Another login: what the last cluster said is forgotten. */
	mc_set_configured(m, list, (unsigned int)n_addrs);
	memcpy(m->server_key, key, 32);
	mc_save_learned(m);
	if (n == 4)
		snprintf(m->nickname, sizeof(m->nickname), "%s", w[3]);
	m->configured = true;
	free(m->nc_result);
	m->nc_result = NULL;
	ret = mc_save_state(m);
	if (ret < 0)
		fprintf(stderr, "shoald: cannot save the login in %s: %s\n",
			m->state_path, strerror(-ret));
	m->failures = 0;
	m->login_fd = fd;
	m->login_deadline = shoald_now() + REQUEST_TIMEOUT;
	mc_start_connect(m);
}

/* password=HEX into the writer; false if malformed. */
static bool put_password(struct shoal_tlv_writer *tw, const char *word)
{
	uint8_t pw[MAX_PASSWORD];
	const char *hex = word + strlen("password=");
	int n;

	n = shoal_hex_decode(pw, sizeof(pw), hex, strlen(hex));
	if (n <= 0)
		return false;
	shoal_tlv_put(tw, MED_A_PASSWORD, pw, (size_t)n);
	sodium_memzero(pw, sizeof(pw));
	return true;
}

struct verb {
	const char *name;
	uint8_t type;
	int min_args, max_args;	/* words after the verb */
	enum pending_kind kind;
};

static const struct verb verbs[] = {
	{ "logout", MED_LOGOUT, 0, 0, PK_LOGOUT },
	{ "nick", MED_NICK, 1, 1, PK_NICK },
	{ "create", MED_CREATE, 1, 3, PK_PLAIN },
	{ "join", MED_JOIN, 1, 2, PK_PLAIN },
	{ "leave", MED_LEAVE, 1, 1, PK_PLAIN },
	{ "networks", MED_NETWORKS, 0, 0, PK_NETWORKS },
	{ "approve", MED_APPROVE, 2, 2, PK_PLAIN },
	{ "kick", MED_KICK, 2, 2, PK_PLAIN },
	{ "ban", MED_BAN, 2, 2, PK_PLAIN },
	{ "set-password", MED_SET_PASSWORD, 1, 2, PK_PLAIN },
	{ "delete", MED_DELETE, 1, 1, PK_PLAIN },
};

/* APPROVE, KICK, BAN: NET and the member, a key or a nickname. */
static bool is_member_verb(const struct verb *v)
{
	return v->type == MED_APPROVE || v->type == MED_KICK ||
	       v->type == MED_BAN;
}

static bool build_request(struct shoal_tlv_writer *tw, const struct verb *v,
			  char **w, int n)
{
	uint8_t key[32];
	int i;

	for (i = 1; i < n; i++) {
		/* By position first: a network may be called "approval". */
		if (i == 1 && v->type == MED_NICK) {
			shoal_tlv_put_str(tw, MED_A_NICKNAME, w[i]);
		} else if (i == 1) {
			shoal_tlv_put_str(tw, MED_A_NETWORK, w[i]);
		} else if (i == 2 && is_member_verb(v)) {
			/* A nickname was resolved to a key before. */
			if (shoal_key_from_base64(key, w[i]) < 0)
				return false;
			shoal_tlv_put(tw, MED_A_PUBLIC_KEY, key, sizeof(key));
		} else if (!strncmp(w[i], "password=", 9)) {
			if ((v->type != MED_CREATE && v->type != MED_JOIN &&
			     v->type != MED_SET_PASSWORD) ||
			    !put_password(tw, w[i]))
				return false;
		} else if (!strcmp(w[i], "approval")) {
			if (v->type != MED_CREATE)
				return false;
			shoal_tlv_put(tw, MED_A_APPROVAL, NULL, 0);
		} else {
			return false;
		}
	}
	return shoal_tlv_finish(tw) > 0;
}

bool mclient_request(struct shoald *d, int fd, const char *req)
{
	struct mclient *m = mc(d);
	char line[4200], *w[8], *save = NULL, *tok;
	uint8_t buf[2048];
	struct shoal_tlv_writer tw;
	const struct verb *v = NULL;
	uint8_t key[32];
	unsigned int i;
	bool resolve;
	int n = 0;

	if (!m || strlen(req) >= sizeof(line))
		return false;
	strcpy(line, req);
	for (tok = strtok_r(line, " ", &save); tok && n < 8;
	     tok = strtok_r(NULL, " ", &save))
		w[n++] = tok;
	if (!n || tok)
		return false;
	if (!strcmp(w[0], "login")) {
		do_login(m, fd, w, n);
		goto wipe;
	}
	if (!strcmp(w[0], "netcheck")) {
		if (!m->configured)
			mc_answer(fd, E_NO_MEDIATOR, "no mediator: shoal login "
				  "first", NULL);
		else if (!m->logged_in)
			mc_answer(fd, E_UNREACHABLE, "the mediator cannot be "
				  "reached now", NULL);
		else
			mc_nc_start(m, fd);
		goto wipe;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(w[0], verbs[i].name))
			v = &verbs[i];
	if (!v)
		return false;
	if (!m->configured) {
		mc_answer(fd, E_NO_MEDIATOR, "no mediator: shoal login first",
			  NULL);
		goto wipe;
	}
	if (!m->logged_in) {
		mc_answer(fd, E_UNREACHABLE,
			  "the mediator cannot be reached now", NULL);
		goto wipe;
	}
	if (n - 1 < v->min_args || n - 1 > v->max_args) {
		mc_answer(fd, E_BAD_REQUEST, "wrong number of arguments", NULL);
		goto wipe;
	}
	for (i = 0; i < MAX_PENDING && m->pending[i].used; i++)
		;
	/*
	 * A member named by nickname: its key first, from the network's
	 * members.  The mediator takes only keys, so that what the owner
	 * looked at is what the command hits.
	 */
	resolve = is_member_verb(v) && n == 3 &&
		  shoal_key_from_base64(key, w[2]) < 0;
	if (resolve) {
		if (!shoal_config_valid_nickname(w[2]) ||
		    strlen(w[1]) > NETWORK_NAME_MAX) {
			mc_answer(fd, E_BAD_REQUEST, "malformed request", NULL);
			goto wipe;
		}
		shoal_tlv_writer_init(&tw, buf, sizeof(buf), MED_NETWORKS, 0,
				      m->next_id + 1);
		shoal_tlv_put_str(&tw, MED_A_NETWORK, w[1]);
	} else {
		shoal_tlv_writer_init(&tw, buf, sizeof(buf), v->type, 0,
				      m->next_id + 1);
	}
	if (i == MAX_PENDING ||
	    (resolve ? shoal_tlv_finish(&tw) < 0 :
		       !build_request(&tw, v, w, n))) {
		mc_answer(fd, E_BAD_REQUEST, i == MAX_PENDING ? "too many "
			  "requests at once" : "malformed request", NULL);
		goto wipe;
	}
	m->next_id++;
	if (!mc_send_msg(m, &tw)) {
		mc_answer(fd, E_UNREACHABLE,
			  "the mediator cannot be reached now", NULL);
		goto wipe;
	}
	m->pending[i] = (struct pending){
		.used = true, .kind = v->kind, .id = m->next_id, .fd = fd,
		.deadline = shoald_now() + REQUEST_TIMEOUT,
	};
	if (v->kind == PK_NICK)
		snprintf(m->pending[i].nick, sizeof(m->pending[i].nick), "%s",
			 w[1]);
	if (resolve) {
		m->pending[i].kind = PK_RESOLVE;
		m->pending[i].verb = v->type;
		snprintf(m->pending[i].network, sizeof(m->pending[i].network),
			 "%s", w[1]);
		snprintf(m->pending[i].nick, sizeof(m->pending[i].nick), "%s",
			 w[2]);
	}
wipe:
	sodium_memzero(line, sizeof(line));
	sodium_memzero(buf, sizeof(buf));
	return true;
}

void mclient_candidates_changed(struct shoald *d)
{
	struct mclient *m = mc(d);

	/* A LOGIN again is how a client says what changed (protocol.md). */
	if (m && m->logged_in)
		mc_send_login(m);
}

bool mclient_logged_in(struct shoald *d)
{
	return mc(d) && mc(d)->logged_in;
}

bool mclient_configured(struct shoald *d)
{
	return mc(d) && mc(d)->configured;
}

void mclient_status_json(struct shoald *d, FILE *f)
{
	struct mclient *m = mc(d);

	if (!m || !m->configured) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"address\": ");
	shoal_json_string(f, m->address);
	mc_instances_json(m, f);
	fprintf(f, ", \"logged_in\": %s, \"nickname\": ",
		m->logged_in ? "true" : "false");
	if (*m->my_nick)
		shoal_json_string(f, m->my_nick);
	else
		fputs("null", f);
	mc_addrs_json(m, f);
	fprintf(f, ", \"udp_verified\": %s, \"public_endpoint\": ",
		m->udp_ok ? "true" : "false");
	mc_ep_json(f, &m->public_ep);
	fputc('}', f);
}
