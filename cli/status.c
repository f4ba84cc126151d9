// SPDX-License-Identifier: MIT
/* shoal status: asks shoald over its control socket. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "status.h"
#include "util.h"

static int usage(void)
{
	fprintf(stderr, "Usage: shoal status [NAME | -i NAME] [--json] "
		"[--socket PATH]\n");
	return SHOAL_EXIT_USAGE;
}

int shoal_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ 0 }
	};
	const char *socket_opt = NULL, *ifname = NULL;
	char path[SHOAL_CTL_PATH_SIZE], *reply;
	bool json = false;
	size_t len;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ji:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
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
	ret = shoal_ctl_ask(path, json ? "status json\n" : "status\n", &reply,
			    &len);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	/* "error: ..." from older daemons, "error CODE ..." from today's. */
	if (len >= 6 && !memcmp(reply, "error", 5) &&
	    (reply[5] == ':' || reply[5] == ' ')) {
		fprintf(stderr, "shoal: shoald says: %.*s", (int)(len - 6),
			reply + 6);
		if (reply[len - 1] != '\n')
			fputc('\n', stderr);
		ret = SHOAL_EXIT_FAILURE;
	} else {
		fwrite(reply, 1, len, stdout);
		ret = fflush(stdout) ? SHOAL_EXIT_FAILURE : SHOAL_EXIT_OK;
	}
	free(reply);
	return ret;
}
