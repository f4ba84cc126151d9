/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_DNS_H
#define SHOALD_DNS_H

/*
 * shoald's name server (docs/protocol.md, "Names"): NICK.shoal and
 * NICK.NETWORK.shoal, and PTR for the overlay's addresses, answered on
 * UDP and TCP port 53 of the device's own overlay addresses, to this
 * host only.  The names come from the mediator client
 * (mclient_names.c); with systemd-resolved running, the server and the
 * domain "~shoal" are registered for the device.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dnsmsg.h"

struct shoald;

/* Sets up d->dns; enabled: [Interface] Names.  0 or -errno. */
int shoald_dns_open(struct shoald *d, int epfd, bool enabled);
/* Closes the sockets and takes the registration with resolved back. */
void shoald_dns_close(struct shoald *d);
/* True if fd is the server's; it then reads the queries waiting. */
bool shoald_dns_handle(struct shoald *d, int fd);
/* Binds what is not bound yet, registers with resolved, reaps. */
void shoald_dns_tick(struct shoald *d, double now);

/*
 * Our own nickname and overlay addresses with their prefixes (len 0:
 * none); nick NULL or "": logged out, nothing served.
 */
void shoald_dns_set_self(struct shoald *d, const char *nick,
			 const uint8_t *v4, unsigned int v4_len,
			 const uint8_t *v6, unsigned int v6_len);
/* The members of our networks, as the mediator listed them last. */
void shoald_dns_set_names(struct shoald *d,
			  const struct shoal_dns_name *names, size_t n);

/* The server is on (Names = yes): the names are worth asking for. */
bool shoald_dns_wanted(struct shoald *d);

/* The "dns" object of `status json`. */
void shoald_dns_status_json(struct shoald *d, FILE *f);

#endif
