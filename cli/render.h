/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_RENDER_H
#define SHOAL_CLI_RENDER_H

/*
 * shoald's answers (its data, as cli/jsonread.c read them) put through
 * lib/print.h: each field once, with its JSON key and its text format, so
 * that `-j` and text say the same.  The caller has called print_start()
 * and calls print_end().  Whatever shape the answer has, they print what
 * they find: a missing value is null in JSON and left out of the text.
 */

#include <stdbool.h>

#include "jsonread.h"

/* shoal status: one object, the device, its mediator and its peers. */
void render_status(const struct jr_value *v);

/*
 * shoal networks: a list of the networks, each with its members.  The
 * header line (the mediator, whom we are logged in as) is text only; its
 * facts are in status's "mediator".  Whether the mediator cut the list
 * short (its answer was full): text says so, a JSON list has no room.
 */
bool render_networks(const struct jr_value *v);

/* shoal netcheck: one object, and in text what it means for peers. */
void render_netcheck(const struct jr_value *v);

/* shoal login: one object, what the mediator assigned. */
void render_login(const struct jr_value *v);

/* shoal join NET: one object, the network and "member" or "pending". */
void render_join(const char *network, bool pending);

/*
 * shoald's "lan_broadcast" (cli/lanbcast.c): status's line, indented, or
 * shoal lan-broadcast's own (indent "").
 */
void render_lan_broadcast(const struct jr_value *lb, const char *indent);

#endif
