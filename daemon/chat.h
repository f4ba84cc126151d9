/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_CHAT_H
#define SHOALD_CHAT_H

/*
 * Chat between members (docs/protocol.md, "Chat"): `msg` requests on the
 * control socket become CHAT packets on the peers' sessions, answered
 * once every recipient acknowledged (or not, within a few seconds); a
 * `chat-listen` connection stays open and gets one JSON line per message
 * received.  Who is in which network is what the mediator's last
 * NETWORKS reply said (kept while the mediator is away).
 */

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "session.h"
#include "tlv.h"

/* Sets up d->chat and d->on_chat; epfd is the loop's.  0 or -ENOMEM. */
int shoald_chat_open(struct shoald *d, int epfd);
void shoald_chat_close(struct shoald *d);
void shoald_chat_tick(struct shoald *d, double now);
/* True if fd is a subscriber's (and it was handled). */
bool shoald_chat_handle(struct shoald *d, int fd);
/*
 * A control request of chat's ("msg ...", "chat-listen"): true if taken
 * (the fd is chat's then, answered and closed by it).
 */
bool shoald_chat_request(struct shoald *d, int fd, char *req, uid_t uid);
/* A NETWORKS reply from the mediator (any asker's). */
void shoald_chat_networks(struct shoald *d, const struct shoal_tlv_msg *msg);
/* The mediator announced or dropped a peer: ask for NETWORKS again. */
void shoald_chat_peers_changed(struct shoald *d);
/* The "chat" value of the status. */
void shoald_chat_status_json(struct shoald *d, FILE *f);

/* mclient_chat.c: asks the mediator for NETWORKS; false if it cannot. */
bool mclient_chat_ask_networks(struct shoald *d);

#endif
