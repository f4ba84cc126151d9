// SPDX-License-Identifier: MIT
/* shoal status: asks shoald over its control socket. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "jsonread.h"
#include "print.h"
#include "render.h"
#include "utf8.h"
#include "util.h"

/* shoald's data (docs/architecture.md) through the output layer. */
static int print_status(const char *reply, size_t len, bool json,
			bool pretty)
{
	struct jr_value *v;
	char err[96];
	int ret;

	v = jr_parse(reply, len, err, sizeof(err));
	if (!v || v->type != JR_OBJECT) {
		fprintf(stderr, "shoal: status: shoald's answer is not a JSON "
			"object%s%s (is it another version?)\n",
			v ? "" : ": ", v ? "" : *err ? err : "out of memory");
		jr_free(v);
		return SHOAL_EXIT_FAILURE;
	}
	print_start(stdout, json, pretty);
	render_status(v);
	ret = print_end() ? SHOAL_EXIT_FAILURE : SHOAL_EXIT_OK;
	jr_free(v);
	return ret;
}

int shoal_cmd_status(const struct cli_args *a)
{
	const char *ifname = a->ifname;
	char path[SHOAL_CTL_PATH_SIZE], *reply;
	size_t len;
	int ret;

	/* NAME or -i NAME: the same thing, as the other commands spell it. */
	if (a->n_args && ifname)
		return cli_usage_error("both NAME and -i given");
	if (a->n_args)
		ifname = a->args[0];
	ret = shoal_ctl_path(path, a->socket, ifname, "status");
	if (ret != SHOAL_EXIT_OK)
		return ret;
	ret = shoal_ctl_ask(path, "status\n", &reply, &len);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	/* "error: ..." from older daemons, "error CODE ..." from today's. */
	if (len >= 6 && !memcmp(reply, "error", 5) &&
	    (reply[5] == ':' || reply[5] == ' ')) {
		/* Its words may carry a mediator's: terminal-safe. */
		fputs("shoal: shoald says: ", stderr);
		shoal_put_safe(stderr, reply + 6, len - 6 -
			       (reply[len - 1] == '\n'), 0);
		fputc('\n', stderr);
		ret = SHOAL_EXIT_FAILURE;
	} else {
		ret = print_status(reply, len, a->json, a->pretty);
	}
	free(reply);
	return ret;
}
