/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_DNSMSG_H
#define SHOAL_DNSMSG_H

/*
 * The DNS messages shoald's name server reads and writes (RFC 1035, EDNS
 * of RFC 6891): one question in, an authoritative answer out, for the
 * zone "shoal." and the overlay's reverse zones, nothing else
 * (docs/protocol.md, "Names").  Everything here is pure: the responder
 * takes a query and the table of names and gives the reply's bytes, so
 * the daemon (daemon/dns.c) only moves packets.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_DNS_HEADER_LEN 12
#define SHOAL_DNS_NAME_MAX 255		/* wire form, with the root */
#define SHOAL_DNS_LABEL_MAX 63
/* Over UDP without EDNS (RFC 1035 4.2.1); with it, what we offer. */
#define SHOAL_DNS_UDP_MIN 512
#define SHOAL_DNS_EDNS_SIZE 1232
/* TTL of answers: names follow nickname changes within a second. */
#define SHOAL_DNS_TTL 1

enum {
	SHOAL_DNS_T_A = 1,
	SHOAL_DNS_T_NS = 2,
	SHOAL_DNS_T_SOA = 6,
	SHOAL_DNS_T_PTR = 12,
	SHOAL_DNS_T_AAAA = 28,
	SHOAL_DNS_T_OPT = 41,
	SHOAL_DNS_T_ANY = 255,
	SHOAL_DNS_C_IN = 1,
	SHOAL_DNS_C_ANY = 255,
};

enum {
	SHOAL_DNS_NOERROR = 0,
	SHOAL_DNS_FORMERR = 1,
	SHOAL_DNS_SERVFAIL = 2,
	SHOAL_DNS_NXDOMAIN = 3,
	SHOAL_DNS_NOTIMP = 4,
	SHOAL_DNS_REFUSED = 5,
	SHOAL_DNS_BADVERS = 16,		/* extended, in the OPT record */
};

/* A parsed query: the one question, its name as labels. */
struct shoal_dns_query {
	uint16_t id;
	bool rd;			/* echoed in the reply */
	uint16_t qtype, qclass;
	/* The name in wire form as sent (case kept), and its labels. */
	uint8_t name[SHOAL_DNS_NAME_MAX];
	size_t name_len;
	unsigned int n_labels;		/* without the root */
	uint8_t label_off[128];		/* offset of each length byte */
	bool edns;
	uint8_t edns_version;
	uint16_t edns_size;		/* the requester's UDP size */
};

/*
 * What parsing says: a query to answer (OK), one to answer with only a
 * header and an error (FORMERR, NOTIMP, BADVERS: the id is known), or
 * nothing to answer at all (DROP: too short for an id, or a response --
 * answering responses would let two servers loop).
 */
enum shoal_dns_parse {
	SHOAL_DNS_PARSE_OK,
	SHOAL_DNS_PARSE_DROP,
	SHOAL_DNS_PARSE_FORMERR,
	SHOAL_DNS_PARSE_NOTIMP,
	SHOAL_DNS_PARSE_BADVERS,
};

enum shoal_dns_parse shoal_dns_parse_query(struct shoal_dns_query *q,
					   const uint8_t *buf, size_t len);

/* One member's name: NICK.shoal and NICK.NETWORK.shoal. */
struct shoal_dns_name {
	char nick[64];
	char network[65];		/* "": in no network (our own name) */
	bool has_v4, has_v6;
	uint8_t v4[4], v6[16];
};

/* What the server answers for. */
struct shoal_dns_zone {
	const struct shoal_dns_name *names;
	size_t n_names;
	/* The overlay's prefixes (reverse zones); len 0: none. */
	uint8_t v4[4], v4_len, v6[16], v6_len;
};

/*
 * The reply to the query in buf (len bytes) into out (cap bytes, at
 * least SHOAL_DNS_UDP_MIN), for a UDP requester (the size limit of the
 * query's EDNS or 512) or a TCP one (stream: up to cap).  Returns the
 * reply's length, or 0: nothing to send.  *rcode (if not NULL) gets the
 * answer's code, -1 for nothing sent.
 */
size_t shoal_dns_respond(const struct shoal_dns_zone *z, const uint8_t *buf,
			 size_t len, uint8_t *out, size_t cap, bool stream,
			 int *rcode);

/*
 * The reverse zone name of a prefix, as text without the final dot
 * ("77.10.in-addr.arpa"): the prefix rounded down to whole octets
 * (IPv4) or nibbles (IPv6).  family AF_INET or AF_INET6.  0, or -1 if
 * it does not fit.
 */
int shoal_dns_reverse_zone(int family, const uint8_t *addr,
			   unsigned int prefix_len, char *out, size_t cap);

#endif
