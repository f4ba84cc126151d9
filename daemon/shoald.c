// SPDX-License-Identifier: MIT
/*
 * shoald: the shoal daemon.  This release only identifies itself; peer
 * sessions, static mode and the mediator client come next (see docs/).
 */
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
	return shoal_placeholder_main(argc, argv, "shoald", usage_text,
				      "this build has no daemon yet: peer "
				      "sessions and static mode are not "
				      "implemented");
}
