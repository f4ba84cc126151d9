// SPDX-License-Identifier: MIT
/*
 * shoald: the shoal daemon.  This release only identifies itself; peer
 * sessions, static mode and the mediator client come next (see docs/).
 */
#include <getopt.h>
#include <stdio.h>

#include "util.h"

static const char usage_text[] =
	"Usage: shoald [OPTIONS]\n"
	"\n"
	"The shoal daemon: peer sessions, keys and the mediator client.\n"
	"\n"
	"Options:\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See shoald(8).\n";

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
			shoal_print_version("shoald");
			return SHOAL_EXIT_OK;
		default:
			fputs("Try 'shoald --help'.\n", stderr);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shoald: unexpected argument '%s'\n", argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	fputs("shoald: this build has no daemon yet: peer sessions and static "
	      "mode are not implemented\n", stderr);
	return SHOAL_EXIT_FAILURE;
}
