// SPDX-License-Identifier: MIT
/*
 * shoal lan-broadcast: shows or changes whether shoald copies local
 * programs' limited broadcasts onto its device (daemon/lanbcast.c), one
 * request line "lan-broadcast [on [PORTS]|off]" and its answer, "ok"
 * and the setting's JSON or "error CODE MESSAGE".  The ports are parsed
 * here first and sent in their one canonical form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "jsonread.h"
#include "link.h"
#include "portlist.h"
#include "print.h"
#include "render.h"
#include "utf8.h"
#include "util.h"

/* The answer: the setting shown, and whether it took. */
static int show_answer(const struct cli_args *a, char *reply, size_t len)
{
	const char *nl = memchr(reply, '\n', len), *error;
	struct jr_value *v;
	char err[96];
	int ret;

	if (len >= 6 && !memcmp(reply, "error ", 6)) {
		/* "error CODE MESSAGE": the message is shoald's own. */
		const char *msg = memchr(reply + 6, ' ', len - 6);

		fputs("shoal: lan-broadcast: ", stderr);
		if (msg)
			shoal_put_safe(stderr, msg + 1, len - (size_t)(msg + 1 -
				       reply) - (reply[len - 1] == '\n'), 0);
		else
			fputs("shoald refused the request", stderr);
		fputc('\n', stderr);
		/* -203: a shoald without lan-broadcast. */
		return SHOAL_EXIT_FAILURE;
	}
	if (!nl || nl - reply != 2 || memcmp(reply, "ok", 2)) {
		fprintf(stderr, "shoal: lan-broadcast: shoald's answer is not "
			"understood (is it another version?)\n");
		return SHOAL_EXIT_FAILURE;
	}
	v = jr_parse(nl + 1, len - (size_t)(nl + 1 - reply), err, sizeof(err));
	if (!v || v->type != JR_OBJECT) {
		fprintf(stderr, "shoal: lan-broadcast: shoald's answer is not "
			"a JSON object\n");
		jr_free(v);
		return SHOAL_EXIT_FAILURE;
	}
	print_start(stdout, a->json, a->pretty);
	render_lan_broadcast(v, "");
	ret = print_end() ? SHOAL_EXIT_FAILURE : SHOAL_EXIT_OK;
	/* On, but nftables refused: say so in the exit status too. */
	error = jr_string(v, "error");
	if (ret == SHOAL_EXIT_OK && jr_bool(v, "enabled") == 1 && error)
		ret = SHOAL_EXIT_FAILURE;
	jr_free(v);
	return ret;
}

int shoal_cmd_lan_broadcast(const struct cli_args *a)
{
	char request[64 + SHOAL_PORTLIST_STRLEN], ports[SHOAL_PORTLIST_STRLEN];
	char path[SHOAL_CTL_PATH_SIZE], why[160], *reply;
	const char *ifname = a->ifname, *action = NULL;
	struct shoal_portlist list;
	size_t len;
	int ret, n = a->n_args;

	/* The last word may be on or off; a word before it is DEV. */
	if (n && (!strcmp(a->args[n - 1], "on") ||
		  !strcmp(a->args[n - 1], "off")))
		action = a->args[--n];
	if (n > 1 || (n == 1 && !action && a->n_args == 2))
		return cli_usage_error("expected [DEV] [on|off], not '%s'",
				       a->args[a->n_args - 1]);
	if (n == 1) {
		if (ifname)
			return cli_usage_error("both DEV and -i given");
		ifname = a->args[0];
		if (!shoal_link_name_valid(ifname))
			return cli_usage_error("'%s' is not an interface name",
					       ifname);
	}
	if (a->ports && (!action || strcmp(action, "on")))
		return cli_usage_error("--ports goes with on");
	if (!action) {
		snprintf(request, sizeof(request), "lan-broadcast\n");
	} else if (!strcmp(action, "off")) {
		snprintf(request, sizeof(request), "lan-broadcast off\n");
	} else if (!a->ports) {
		snprintf(request, sizeof(request), "lan-broadcast on\n");
	} else {
		if (shoal_portlist_parse(&list, a->ports, why, sizeof(why)) < 0)
			return cli_usage_error("--ports: %s", why);
		if (shoal_portlist_format(ports, sizeof(ports), &list) < 0)
			return cli_usage_error("--ports: too long");
		snprintf(request, sizeof(request), "lan-broadcast on%s%s\n",
			 list.n ? " " : "", list.n ? ports : "");
	}
	ret = shoal_ctl_path(path, a->socket, ifname, "lan-broadcast");
	if (ret != SHOAL_EXIT_OK)
		return ret;
	ret = shoal_ctl_ask(path, request, &reply, &len);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	ret = show_answer(a, reply, len);
	free(reply);
	return ret;
}
