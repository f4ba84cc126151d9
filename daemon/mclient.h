/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_MCLIENT_H
#define SHOALD_MCLIENT_H

/*
 * shoald as shoal-mediator's client: the control channel (login,
 * keep-alives, reconnecting), peers from PEER_UP and PEER_DOWN, the
 * device's assigned addresses, NAT discovery on the tunnel port, relays,
 * and the `shoal` requests that go to the mediator (docs/architecture.md,
 * "The control socket").
 */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "session.h"

struct mclient;

/*
 * Which mediator to use: c's [Mediator], read from config_path (NULL: no
 * configuration file), or the `shoal login` saved in state_path, whichever
 * of the two files was written last -- the newer word wins.  The saved
 * login, when it wins, goes into c.  Says on stderr which and from where.
 */
void mclient_choose(struct shoal_config *c, const char *config_path,
		    const char *state_path);

/*
 * Sets up the client for d (d->mediator = the client), to log in to c's
 * [Mediator] (after mclient_choose()).  state_path names the file a
 * `shoal login` is saved in.  epfd is the loop's: the client adds its own
 * fds.
 */
int mclient_open(struct shoald *d, int epfd, const char *state_path,
		 const struct shoal_config *c);
void mclient_close(struct shoald *d);

/*
 * The entry the fuzz target (tests/fuzz/mclient.c) uses, to play the
 * mediator over a socketpair: fd, a connected stream socket, becomes the
 * connection to the mediator at server, as the loop's own connect() does
 * (the same code after it); mclient_handle() then runs the handshake and
 * sends the LOGIN.  The client must know a mediator and have no
 * connection.  0, or -errno with fd left to the caller.
 */
int mclient_attach(struct shoald *d, int fd,
		   const struct shoal_endpoint *server);

/* True if fd is the client's; it then does the work behind events. */
bool mclient_handle(struct shoald *d, int fd, uint32_t events);
void mclient_tick(struct shoald *d, double now);

/*
 * A control-socket request line for the mediator: the client takes fd
 * and answers on it later.  False if req is not one of its requests.
 */
bool mclient_request(struct shoald *d, int fd, const char *req);

/*
 * Our own candidates (d->own_candidates, d->forwarded_port) changed:
 * a LOGIN again on the connection, if logged in, tells the peers.
 */
void mclient_candidates_changed(struct shoald *d);
/* Logged in now; a mediator known at all (false after a logout). */
bool mclient_logged_in(struct shoald *d);
bool mclient_configured(struct shoald *d);
/* p's relay is reached over TCP (UDP is blocked here). */
bool mclient_peer_tcp(struct shoald *d, const struct shoald_peer *p);

/* The "mediator" object of `status json`, or null. */
void mclient_status_json(struct shoald *d, FILE *f);

#endif
