// SPDX-License-Identifier: MIT
#include <stdio.h>

#include <netlink/version.h>
#include <sodium.h>

#include "util.h"

void shoal_print_version(const char *prog)
{
	printf("%s (shoal) %s\n", prog, SHOAL_VERSION);
	printf("libsodium %s, libnl %s, libmnl\n", sodium_version_string(),
	       LIBNL_VERSION);
}
