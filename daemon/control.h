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

#include <sys/types.h>

#include "session.h"

/*
 * Clients whose request line is still coming in.  They are read as their
 * bytes arrive, never waited for: a client that connects and says
 * nothing costs a slot until its deadline, not the event loop's time (the
 * tunnels and handshakes go on).  A uid holds at most a quarter of the
 * slots, so one member of the group cannot keep root out.
 */
#define SHOALD_CONTROL_CLIENTS 16
#define SHOALD_CONTROL_PER_UID (SHOALD_CONTROL_CLIENTS / 4)
#define SHOALD_CONTROL_REQ_MAX 4200

struct shoald_control_client {
	int fd;				/* -1: a free slot */
	uid_t uid;
	double deadline;
	size_t got;
	char req[SHOALD_CONTROL_REQ_MAX];
};

struct shoald_control {
	int listen_fd, epfd;
	struct shoald_control_client clients[SHOALD_CONTROL_CLIENTS];
};

/* Creates and listens on path; returns the fd, or -errno with err set. */
int shoald_control_open(const char *path, char *err, size_t err_size);

/* Serves listen_fd's clients through epfd (the loop's epoll). */
void shoald_control_init(struct shoald_control *c, int listen_fd, int epfd);
/* The listening socket is readable: accepts what is waiting. */
void shoald_control_accept(struct shoald_control *c, double now);
/* True when fd is a client's (and reads it); false: not ours. */
bool shoald_control_handle(struct shoald_control *c, struct shoald *d,
			   int fd);
/* Closes the clients whose deadline has passed. */
void shoald_control_tick(struct shoald_control *c, double now);
void shoald_control_close(struct shoald_control *c);

#endif
