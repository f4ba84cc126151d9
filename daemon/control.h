/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_CONTROL_H
#define SHOALD_CONTROL_H

/*
 * The control socket `shoal` talks to: a unix stream socket, one request
 * line per connection ("status", "status json", or one of the mediator
 * requests mclient.c answers: docs/architecture.md), the answer, then the
 * daemon closes it.  Owner shoald's user (root, or shoal under systemd),
 * group shoal (when that group exists), mode 0660.  login and logout are
 * answered only to uid 0.
 */

#include "session.h"

/* Creates and listens on path; returns the fd, or -errno with err set. */
int shoald_control_open(const char *path, char *err, size_t err_size);

/* Accepts and answers one client of the listening fd. */
void shoald_control_serve(int listen_fd, struct shoald *d);

#endif
