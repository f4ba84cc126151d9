// SPDX-License-Identifier: MIT
/* What the device commands share in talking to shoal.ko. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "genl.h"
#include "util.h"

int cli_genl_error(const char *what, int err, const char *ext_msg)
{
	if (err == -ENOENT) {
		fputs("shoal: the shoal kernel module is not available "
		      "(generic netlink family 'shoal' not found; "
		      "is shoal.ko installed and loadable?)\n", stderr);
		return SHOAL_EXIT_NO_MODULE;
	}
	/* The module says why when it is more than the plain capability. */
	if (err == -EPERM && !(ext_msg && *ext_msg))
		fprintf(stderr, "shoal: %s: permission denied (needs CAP_NET_ADMIN)\n",
			what);
	else
		fprintf(stderr, "shoal: %s: %s%s%s\n", what, strerror(-err),
			ext_msg && *ext_msg ? ": " : "", ext_msg ? ext_msg : "");
	return SHOAL_EXIT_FAILURE;
}

/* Opens the family; an exit code other than SHOAL_EXIT_OK on failure. */
int cli_genl_open(struct shoal_genl *g, const char *what)
{
	int err = shoal_genl_open(g);

	return err < 0 ? cli_genl_error(what, err, NULL) : SHOAL_EXIT_OK;
}
