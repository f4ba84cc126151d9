// SPDX-License-Identifier: MIT
/* shoal status: asks shoald over its control socket. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "jsonread.h"
#include "print.h"
#include "render.h"
#include "status.h"
#include "utf8.h"
#include "util.h"

static int usage(void)
{
	fprintf(stderr, "Usage: shoal status [NAME | -i NAME] [-j | --json] "
		"[-p | --pretty] [--socket PATH]\n");
	return SHOAL_EXIT_USAGE;
}

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

int shoal_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "interface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ 0 }
	};
	const char *socket_opt = NULL, *ifname = NULL;
	char path[SHOAL_CTL_PATH_SIZE], *reply;
	bool json = false, pretty = false;
	size_t len;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jpi:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 's':
			socket_opt = optarg;
			break;
		default:
			return usage();
		}
	}
	/* NAME or -i NAME: the same thing, as the other commands spell it. */
	if (optind < argc && ifname) {
		fprintf(stderr, "shoal: status: both NAME and -i given\n");
		return usage();
	}
	if (argc - optind > 1) {
		fprintf(stderr, "shoal: status: unexpected argument '%s'\n",
			argv[optind + 1]);
		return SHOAL_EXIT_USAGE;
	}
	if (optind < argc)
		ifname = argv[optind];
	ret = shoal_ctl_path(path, socket_opt, ifname, "status");
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
		ret = print_status(reply, len, json, pretty);
	}
	free(reply);
	return ret;
}
