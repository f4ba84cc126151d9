// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "endpoint.h"

int shoal_port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_port(const char *s, in_port_t *port)
{
	uint16_t v;

	if (shoal_port_parse(s, strlen(s), &v) < 0)
		return -1;
	*port = htons(v);
	return 0;
}

/* An interface index in decimal, or an existing interface's name. */
static int parse_scope(const char *s, uint32_t *scope)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE)
		return -1;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (i == n) {
		if (n > 10 || v == 0 || v > UINT32_MAX)
			return -1;
		*scope = (uint32_t)v;
		return 0;
	}
	*scope = if_nametoindex(s);
	return *scope ? 0 : -1;
}

static int parse_v6(struct shoal_endpoint *ep, const char *text)
{
	char addr[INET6_ADDRSTRLEN + 1 + IF_NAMESIZE];
	const char *close = strchr(text, ']');
	char *pct;
	size_t n;

	if (!close || close[1] != ':')
		return -1;
	n = (size_t)(close - text - 1);
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, text + 1, n);
	addr[n] = '\0';
	ep->in6.sin6_family = AF_INET6;
	pct = strchr(addr, '%');
	if (pct) {
		*pct = '\0';
		if (parse_scope(pct + 1, &ep->in6.sin6_scope_id) < 0)
			return -1;
	}
	if (inet_pton(AF_INET6, addr, &ep->in6.sin6_addr) != 1 ||
	    parse_port(close + 2, &ep->in6.sin6_port) < 0)
		return -1;
	ep->len = sizeof(ep->in6);
	return 0;
}

static int parse_v4(struct shoal_endpoint *ep, const char *text)
{
	char addr[INET_ADDRSTRLEN];
	const char *colon = strchr(text, ':');
	size_t n;

	if (!colon || strchr(colon + 1, ':'))
		return -1;
	n = (size_t)(colon - text);
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	ep->in.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &ep->in.sin_addr) != 1 ||
	    parse_port(colon + 1, &ep->in.sin_port) < 0)
		return -1;
	ep->len = sizeof(ep->in);
	return 0;
}

int shoal_endpoint_parse(struct shoal_endpoint *ep, const char *text)
{
	int ret;

	memset(ep, 0, sizeof(*ep));
	ret = text[0] == '[' ? parse_v6(ep, text) : parse_v4(ep, text);
	if (ret < 0)
		memset(ep, 0, sizeof(*ep));
	return ret;
}

int shoal_endpoint_from_blob(struct shoal_endpoint *ep, const void *data,
			     size_t len)
{
	sa_family_t family;

	memset(ep, 0, sizeof(*ep));
	if (len < sizeof(family))
		return -1;
	memcpy(&family, data, sizeof(family));
	if (!((family == AF_INET && len == sizeof(ep->in)) ||
	      (family == AF_INET6 && len == sizeof(ep->in6))))
		return -1;
	memcpy(&ep->sa, data, len);
	ep->len = (socklen_t)len;
	return 0;
}

int shoal_endpoint_format(char *text, size_t size,
			  const struct shoal_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN], scope[12] = "";
	int n;

	if (ep->sa.sa_family == AF_INET && ep->len == sizeof(ep->in)) {
		if (!inet_ntop(AF_INET, &ep->in.sin_addr, addr, sizeof(addr)))
			return -1;
		n = snprintf(text, size, "%s:%u", addr, ntohs(ep->in.sin_port));
	} else if (ep->sa.sa_family == AF_INET6 && ep->len == sizeof(ep->in6)) {
		if (!inet_ntop(AF_INET6, &ep->in6.sin6_addr, addr, sizeof(addr)))
			return -1;
		if (ep->in6.sin6_scope_id)
			snprintf(scope, sizeof(scope), "%%%u",
				 (unsigned int)ep->in6.sin6_scope_id);
		n = snprintf(text, size, "[%s%s]:%u", addr, scope,
			     ntohs(ep->in6.sin6_port));
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : n;
}

bool shoal_endpoint_equal(const struct shoal_endpoint *a,
			  const struct shoal_endpoint *b)
{
	if (!a->len || !b->len || a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->sa.sa_family == AF_INET6 &&
	       a->in6.sin6_port == b->in6.sin6_port &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

bool shoal_addr_in(int family, const uint8_t *addr, const uint8_t *prefix,
		   unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;
	uint8_t mask;

	if (len > (family == 4 ? 32u : 128u))
		return false;
	if (memcmp(addr, prefix, bytes))
		return false;
	if (!bits)
		return true;
	mask = (uint8_t)(0xff << (8 - bits));
	return (addr[bytes] & mask) == (prefix[bytes] & mask);
}

static enum shoal_addr_kind addr4_kind(const uint8_t *a)
{
	static const struct {
		uint8_t net[4];
		unsigned int len;
		enum shoal_addr_kind kind;
	} ranges[] = {
		{ { 0, 0, 0, 0 }, 8, SHOAL_ADDR_UNUSABLE },
		{ { 127, 0, 0, 0 }, 8, SHOAL_ADDR_UNUSABLE },
		{ { 224, 0, 0, 0 }, 4, SHOAL_ADDR_UNUSABLE },
		{ { 240, 0, 0, 0 }, 4, SHOAL_ADDR_UNUSABLE },
		{ { 169, 254, 0, 0 }, 16, SHOAL_ADDR_LINK_LOCAL },
		{ { 10, 0, 0, 0 }, 8, SHOAL_ADDR_PRIVATE },
		{ { 172, 16, 0, 0 }, 12, SHOAL_ADDR_PRIVATE },
		{ { 192, 168, 0, 0 }, 16, SHOAL_ADDR_PRIVATE },
		{ { 100, 64, 0, 0 }, 10, SHOAL_ADDR_PRIVATE },
	};
	size_t i;

	/* 255.255.255.255 is in 240/4 already. */
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (shoal_addr_in(4, a, ranges[i].net, ranges[i].len))
			return ranges[i].kind;
	return SHOAL_ADDR_GLOBAL;
}

enum shoal_addr_kind shoal_addr_kind(int family, const uint8_t *addr)
{
	static const uint8_t zero[12], mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (family == 4)
		return addr4_kind(addr);
	if (family != 6)
		return SHOAL_ADDR_UNUSABLE;
	/* ::, ::1, ::/96 (compatible) and ::ffff:0:0/96 (mapped). */
	if (!memcmp(addr, zero, 12) || !memcmp(addr, mapped, 12))
		return SHOAL_ADDR_UNUSABLE;
	if (addr[0] == 0xff)
		return SHOAL_ADDR_UNUSABLE;
	if (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80)
		return SHOAL_ADDR_LINK_LOCAL;
	if ((addr[0] & 0xfe) == 0xfc)
		return SHOAL_ADDR_PRIVATE;
	return SHOAL_ADDR_GLOBAL;
}

bool shoal_candidate_usable(const struct shoal_endpoint *ep, bool on_link,
			    int *family, uint8_t addr[16])
{
	enum shoal_addr_kind kind;

	memset(addr, 0, 16);
	if (ep->len == sizeof(ep->in) && ep->sa.sa_family == AF_INET &&
	    ep->in.sin_port) {
		*family = 4;
		memcpy(addr, &ep->in.sin_addr, 4);
	} else if (ep->len == sizeof(ep->in6) &&
		   ep->sa.sa_family == AF_INET6 && ep->in6.sin6_port) {
		*family = 6;
		memcpy(addr, &ep->in6.sin6_addr, 16);
	} else {
		return false;
	}
	kind = shoal_addr_kind(*family, addr);
	if (kind == SHOAL_ADDR_UNUSABLE)
		return false;
	if (kind == SHOAL_ADDR_LINK_LOCAL)
		return *family == 4 && on_link;
	return true;
}
