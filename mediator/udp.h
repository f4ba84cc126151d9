/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_UDP_H
#define SHOAL_MEDIATOR_UDP_H

/* udp.c: the UDP ports: BINDINGs, tokens, the datagram helpers. */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dgram.h"
#include "mediator.h"

enum med_udp_role {
	MED_UDP_MAIN,			/* port P */
	MED_UDP_ALT,			/* port P + 1, same address */
	MED_UDP_PROBE,			/* --probe */
	MED_UDP_N
};

struct med_udp {
	struct med_handle h;		/* MED_K_UDP */
	int fd;
	int family;
	bool dual;			/* [::]: IPv4 arrives v4-mapped */
	enum med_udp_role role;
};

struct conn;
struct server;

/* Opens port P and P + 1 of the listen address, and the probe address. */
int udp_open(struct server *srv, const struct sockaddr *probe,
	     socklen_t probe_len);
void udp_close(struct server *srv);
void udp_readable(struct server *srv, struct med_udp *u);
/* The connection's token: made at its first LOGIN, hashed for lookup. */
void udp_token_assign(struct server *srv, struct conn *c);
void udp_token_remove(struct server *srv, struct conn *c);

#endif
