/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_MEDIATOR_H
#define SHOAL_CLI_MEDIATOR_H

#include <stdbool.h>

/*
 * The commands that shoald carries out with the mediator: login, logout,
 * nick, create, join, leave, delete, approve, kick, ban, set-password,
 * networks and netcheck.  argv[0] is the command.
 */
int shoal_cmd_mediator(int argc, char **argv);

/* Whether name is one of them. */
bool shoal_is_mediator_cmd(const char *name);

#endif
