// SPDX-License-Identifier: MIT
/*
 * shoal-mediator: the mediation server.  This release only identifies
 * itself; networks, NAT discovery and relay come next (see docs/).
 */
#include <getopt.h>
#include <stdio.h>

#include "util.h"

static const char usage_text[] =
	"Usage: shoal-mediator [OPTIONS]\n"
	"\n"
	"The shoal mediation server: networks, presence, NAT discovery, relay.\n"
	"\n"
	"Options:\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See shoal-mediator(8).\n";

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoal-mediator");
			return SHOAL_EXIT_OK;
		default:
			fputs("Try 'shoal-mediator --help'.\n", stderr);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shoal-mediator: unexpected argument '%s'\n", argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	fputs("shoal-mediator: this build has no server yet: networks and relay "
	      "are not implemented\n", stderr);
	return SHOAL_EXIT_FAILURE;
}
