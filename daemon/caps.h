/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_CAPS_H
#define SHOALD_CAPS_H

#include <stdbool.h>

/*
 * Whether this process may use the capability cap (CAP_NET_ADMIN, ...)
 * now: it is in the effective set, in the process's own user namespace.
 * shoald runs as root or, under systemd, as the user shoal with
 * CAP_NET_ADMIN alone (an ambient capability): what it may do depends on
 * the set, not on the uid.
 */
bool shoald_has_cap(unsigned int cap);

#endif
