/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_ENDPOINT_H
#define SHOAL_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

/*
 * A UDP endpoint as the shoal netlink API carries it: a struct sockaddr_in
 * or struct sockaddr_in6; len is the size of the one in use (0: none).
 */
struct shoal_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

/* "[v6addr%scope]:port" at its longest, without the terminating NUL. */
#define SHOAL_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 1 + 10 + 3 + 5)

/*
 * Parses "1.2.3.4:5" or "[v6addr]:5" (optionally "[v6addr%scope]:5", the
 * scope an interface name or number): numeric addresses only, no DNS, and
 * a port of 1..65535.  Returns 0, or -1 with *ep cleared.
 */
int shoal_endpoint_parse(struct shoal_endpoint *ep, const char *text);

/*
 * Takes a netlink attribute's payload: exactly a sockaddr_in of family
 * AF_INET or a sockaddr_in6 of family AF_INET6.  Returns 0, or -1.
 */
int shoal_endpoint_from_blob(struct shoal_endpoint *ep, const void *data,
			     size_t len);

/*
 * Writes the endpoint as shoal_endpoint_parse reads it, scopes as numbers.
 * Returns the length, or -1 (bad endpoint, or text too small).
 */
/* The first n bytes of s as a port, 1..65535, decimal digits only: 0 or -1. */
int shoal_port_parse(const char *s, size_t n, uint16_t *port);

/* Same family, address, port (and IPv6 scope); false if either is unset. */
bool shoal_endpoint_equal(const struct shoal_endpoint *a,
			  const struct shoal_endpoint *b);

int shoal_endpoint_format(char *text, size_t size,
			  const struct shoal_endpoint *ep);

#endif
