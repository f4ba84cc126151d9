/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_DGRAM_H
#define SHOAL_MEDIATOR_DGRAM_H

/*
 * dgram.c: the datagram helpers that the mediator's UDP ports and the
 * relay ports (shoal-mediator's and shoal-relay's) share.
 */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

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

/* Receives one datagram with the local address it reached: len or -1. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t size,
		 struct sockaddr_storage *from, socklen_t *from_len,
		 struct med_local *local);
/* Sends from fd (of family), from local's address if valid: 0 or -1. */
int udp_send(int fd, int family, const uint8_t *buf, size_t len,
	     const struct sockaddr_storage *to, socklen_t to_len,
	     const struct med_local *local);
/*
 * to in the form a socket of family (dual: [::], IPv4 v4-mapped) can send
 * to: 0, or -1 if it cannot reach to at all.
 */
int udp_dest_for(int family, bool dual, const struct sockaddr_storage *to,
		 socklen_t to_len, struct sockaddr_storage *out,
		 socklen_t *out_len);
/* Sets the options udp_recv needs (PKTINFO) on a new socket. */
int udp_prepare(int fd, int family, bool dual);
/* A sockaddr as an ENDPOINT (v4-mapped shown as IPv4): 0 or -1. */
int udp_endpoint_from(struct med_endpoint *e, const struct sockaddr *sa);
/* ENDPOINT's wire form (19 bytes at most): its length. */
size_t udp_endpoint_put(uint8_t *out, const struct med_endpoint *e);

#endif
