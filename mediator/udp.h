/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_UDP_H
#define SHOAL_MEDIATOR_UDP_H

/* udp.c: the UDP ports: BINDINGs, tokens, the datagram helpers. */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "mediator.h"

/* family 4 or 6, as on the wire (ENDPOINT). */
struct med_endpoint {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

/* The local address a datagram reached: where an answer must come from. */
struct med_local {
	bool valid;
	int family;			/* AF_INET or AF_INET6 (v4-mapped) */
	struct in_addr v4;
	struct in6_addr v6;
};

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
/* Receives one datagram with the local address it reached: len or -1. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t size,
		 struct sockaddr_storage *from, socklen_t *from_len,
		 struct med_local *local);
/* Sends from fd (of family), from local's address if valid: 0 or -1. */
int udp_send(int fd, int family, const uint8_t *buf, size_t len,
	     const struct sockaddr_storage *to, socklen_t to_len,
	     const struct med_local *local);
/* Sets the options udp_recv needs (PKTINFO) on a new socket. */
int udp_prepare(int fd, int family, bool dual);
/* A sockaddr as an ENDPOINT (v4-mapped shown as IPv4): 0 or -1. */
int udp_endpoint_from(struct med_endpoint *e, const struct sockaddr *sa);
/* ENDPOINT's wire form (19 bytes at most): its length. */
size_t udp_endpoint_put(uint8_t *out, const struct med_endpoint *e);

#endif
