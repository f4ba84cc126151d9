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

/*
 * What an address is worth as a candidate endpoint, one a peer will send
 * handshakes to (docs/protocol.md, "Presence, punching and relaying"):
 *   UNUSABLE    never a peer's: unspecified, loopback, multicast, the
 *               IPv4 broadcast, 0.0.0.0/8, 240.0.0.0/4, IPv4-mapped and
 *               -compatible IPv6;
 *   LINK_LOCAL  169.254.0.0/16, fe80::/10: only on the same link (and an
 *               IPv6 one, without its scope, not even there);
 *   PRIVATE     10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7;
 *   GLOBAL      the rest.
 * family is 4 or 6, as the mediator's ENDPOINT has it; addr 4 or 16
 * bytes.
 */
enum shoal_addr_kind {
	SHOAL_ADDR_UNUSABLE,
	SHOAL_ADDR_LINK_LOCAL,
	SHOAL_ADDR_PRIVATE,
	SHOAL_ADDR_GLOBAL,
};

enum shoal_addr_kind shoal_addr_kind(int family, const uint8_t *addr);

/*
 * Whether a peer's candidate endpoint is worth a handshake: not
 * UNUSABLE, not an IPv6 link-local address (it has no scope), an IPv4
 * link-local one only when on_link (this host has an address in
 * 169.254.0.0/16 too), and a port.  *family and addr (16 bytes, IPv4 in
 * the first 4) are filled for further checks.
 */
bool shoal_candidate_usable(const struct shoal_endpoint *ep, bool on_link,
			    int *family, uint8_t addr[16]);

/* Whether addr (family 4 or 6) is inside prefix/len of the same family. */
bool shoal_addr_in(int family, const uint8_t *addr, const uint8_t *prefix,
		   unsigned int len);

#endif
