// SPDX-License-Identifier: MIT
/*
 * shoal-mediator: the mediation server.  This release only identifies
 * itself; networks, NAT discovery and relay come next (see docs/).
 */
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
	return shoal_placeholder_main(argc, argv, "shoal-mediator", usage_text,
				      "this build has no server yet: networks "
				      "and relay are not implemented");
}
