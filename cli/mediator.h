/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_MEDIATOR_H
#define SHOAL_CLI_MEDIATOR_H

/*
 * The commands that shoald carries out with the mediator (cli/mediator.c),
 * as cli/shoal.c's table runs them.
 */

struct cli_args;

int shoal_cmd_login(const struct cli_args *a);
/* logout, nick, leave, delete, approve, kick, ban: the words as typed. */
int shoal_cmd_simple(const struct cli_args *a);
/* create, set-password: a new password, asked twice on a terminal. */
int shoal_cmd_new_password(const struct cli_args *a);
int shoal_cmd_join(const struct cli_args *a);
int shoal_cmd_networks(const struct cli_args *a);
int shoal_cmd_netcheck(const struct cli_args *a);

#endif
