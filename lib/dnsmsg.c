// SPDX-License-Identifier: MIT
/*
 * shoald's DNS messages (lib/dnsmsg.h).  The server is authoritative for
 * "shoal." and the overlay's reverse zones and recurses for nobody, so a
 * query is taken only in its plainest form: one question, no answer or
 * authority records, at most an OPT record, no compression in the name,
 * nothing after the records.  Whatever else arrives gets FORMERR (or
 * nothing, when even the header is not there); no input makes the
 * responder read outside the message or write outside out.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsmsg.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

enum shoal_dns_parse shoal_dns_parse_query(struct shoal_dns_query *q,
					   const uint8_t *buf, size_t len)
{
	uint16_t flags, ar;
	size_t off = SHOAL_DNS_HEADER_LEN, rdlen;
	uint8_t l;

	memset(q, 0, sizeof(*q));
	if (len < SHOAL_DNS_HEADER_LEN)
		return SHOAL_DNS_PARSE_DROP;
	q->id = get16(buf);
	flags = get16(buf + 2);
	if (flags & 0x8000)
		return SHOAL_DNS_PARSE_DROP;
	q->rd = flags & 0x0100;
	if ((flags >> 11) & 0xf)
		return SHOAL_DNS_PARSE_NOTIMP;
	ar = get16(buf + 10);
	if (get16(buf + 4) != 1 || get16(buf + 6) || get16(buf + 8) || ar > 1)
		return SHOAL_DNS_PARSE_FORMERR;
	for (;;) {
		if (off >= len)
			return SHOAL_DNS_PARSE_FORMERR;
		l = buf[off];
		/* Pointers (and the long-gone extended labels): not here. */
		if (l & 0xc0)
			return SHOAL_DNS_PARSE_FORMERR;
		if (q->name_len + 1 + l > SHOAL_DNS_NAME_MAX ||
		    (size_t)l + 1 > len - off)
			return SHOAL_DNS_PARSE_FORMERR;
		if (!l)
			break;
		q->label_off[q->n_labels++] = (uint8_t)q->name_len;
		memcpy(q->name + q->name_len, buf + off, 1 + (size_t)l);
		q->name_len += 1 + (size_t)l;
		off += 1 + (size_t)l;
	}
	q->name[q->name_len++] = 0;
	off++;
	if (len - off < 4)
		return SHOAL_DNS_PARSE_FORMERR;
	q->qtype = get16(buf + off);
	q->qclass = get16(buf + off + 2);
	off += 4;
	if (ar) {
		/* OPT: the root, type 41, class = UDP size, TTL, RDLENGTH. */
		if (len - off < 11 || buf[off] ||
		    get16(buf + off + 1) != SHOAL_DNS_T_OPT)
			return SHOAL_DNS_PARSE_FORMERR;
		q->edns = true;
		q->edns_size = get16(buf + off + 3);
		q->edns_version = buf[off + 6];
		rdlen = get16(buf + off + 9);
		off += 11;
		/* Its options ask nothing of an authoritative answer. */
		if (rdlen > len - off)
			return SHOAL_DNS_PARSE_FORMERR;
		off += rdlen;
	}
	if (off != len)
		return SHOAL_DNS_PARSE_FORMERR;
	if (q->edns && q->edns_version)
		return SHOAL_DNS_PARSE_BADVERS;
	return SHOAL_DNS_PARSE_OK;
}

/* ---- the reply ---- */

struct writer {
	uint8_t *buf;
	size_t len, limit;
	bool truncated;
	uint16_t counts[3];		/* answer, authority, additional */
};

static bool w_put(struct writer *w, const void *p, size_t n)
{
	if (w->truncated || n > w->limit - w->len) {
		w->truncated = true;
		return false;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return true;
}

/*
 * One record: owner (wire form, a pointer allowed), type, TTL, rdata.
 * All or nothing: a record that does not fit leaves w as it was, and
 * truncated.
 */
static bool w_rr(struct writer *w, int section, const uint8_t *owner,
		 size_t owner_len, uint16_t type, uint32_t ttl,
		 const uint8_t *rdata, size_t rdlen)
{
	uint8_t fixed[10];
	size_t start = w->len;

	put16(fixed, type);
	put16(fixed + 2, SHOAL_DNS_C_IN);
	put32(fixed + 4, ttl);
	put16(fixed + 8, (uint16_t)rdlen);
	if (!w_put(w, owner, owner_len) || !w_put(w, fixed, sizeof(fixed)) ||
	    !w_put(w, rdata, rdlen)) {
		w->len = start;
		return false;
	}
	w->counts[section]++;
	return true;
}

static size_t pointer_to(uint8_t *p, size_t offset)
{
	put16(p, (uint16_t)(0xc000 | offset));
	return 2;
}

/* The SOA of the zone whose apex the question's name has at label i. */
static void w_soa(struct writer *w, const struct shoal_dns_query *q,
		  unsigned int i)
{
	static const uint8_t names[] =
		"\2ns\5shoal\0\12hostmaster\5shoal";	/* + the NUL */
	uint8_t owner[2], rdata[sizeof(names) + 20];

	memcpy(rdata, names, sizeof(names));
	/* Serial, refresh, retry, expire; the minimum: negative TTL. */
	put32(rdata + sizeof(names), 1);
	put32(rdata + sizeof(names) + 4, 3600);
	put32(rdata + sizeof(names) + 8, 600);
	put32(rdata + sizeof(names) + 12, 86400);
	put32(rdata + sizeof(names) + 16, SHOAL_DNS_TTL);
	pointer_to(owner, SHOAL_DNS_HEADER_LEN + q->label_off[i]);
	w_rr(w, 1, owner, sizeof(owner), SHOAL_DNS_T_SOA, SHOAL_DNS_TTL,
	     rdata, sizeof(rdata));
}

static void w_opt(struct writer *w, uint8_t ext_rcode)
{
	uint8_t opt[11] = { 0 };

	put16(opt + 1, SHOAL_DNS_T_OPT);
	put16(opt + 3, SHOAL_DNS_EDNS_SIZE);
	opt[5] = ext_rcode;
	/* Room for it was kept back from limit: it always fits. */
	memcpy(w->buf + w->len, opt, sizeof(opt));
	w->len += sizeof(opt);
	w->counts[2]++;
}

static void w_header(struct writer *w, uint16_t id, bool rd, bool aa,
		     int rcode, bool question)
{
	uint16_t flags = 0x8000 | (rcode & 0xf);

	if (aa)
		flags |= 0x0400;
	if (w->truncated)
		flags |= 0x0200;
	if (rd)
		flags |= 0x0100;
	put16(w->buf, id);
	put16(w->buf + 2, flags);
	put16(w->buf + 4, question ? 1 : 0);
	put16(w->buf + 6, w->counts[0]);
	put16(w->buf + 8, w->counts[1]);
	put16(w->buf + 10, w->counts[2]);
}

static bool label_is(const struct shoal_dns_query *q, unsigned int i,
		     const char *s)
{
	const uint8_t *l = q->name + q->label_off[i];
	size_t n = strlen(s), k;

	if (l[0] != n)
		return false;
	for (k = 0; k < n; k++) {
		uint8_t a = l[1 + k], b = (uint8_t)s[k];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* ---- what the name is ---- */

/* Up to 32 addresses of one kind, each once. */
struct addrs {
	uint8_t a[32][16];
	unsigned int n;
};

static void addrs_add(struct addrs *s, const uint8_t *a, size_t len)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!memcmp(s->a[i], a, len))
			return;
	if (s->n < 32)
		memcpy(s->a[s->n++], a, len);
}

/*
 * NICK.shoal (net NULL) or NICK.NETWORK.shoal: every address of every
 * member by that nickname (in that network).  False: no such member.
 */
static bool find_forward(const struct shoal_dns_zone *z,
			 const struct shoal_dns_query *q, bool with_net,
			 struct addrs *v4, struct addrs *v6)
{
	bool found = false;
	size_t i;

	for (i = 0; i < z->n_names; i++) {
		const struct shoal_dns_name *e = &z->names[i];

		if (!label_is(q, 0, e->nick) ||
		    (with_net && (!*e->network || !label_is(q, 1, e->network))))
			continue;
		found = true;
		if (e->has_v4)
			addrs_add(v4, e->v4, 4);
		if (e->has_v6)
			addrs_add(v6, e->v6, 16);
	}
	return found;
}

static int answer_forward(const struct shoal_dns_zone *z,
			  const struct shoal_dns_query *q, struct writer *w)
{
	struct addrs v4 = { .n = 0 }, v6 = { .n = 0 };
	unsigned int n = q->n_labels, i;
	uint8_t owner[2];
	bool any = q->qtype == SHOAL_DNS_T_ANY;

	if (n == 1) {
		/* The apex: its SOA, nothing else. */
		w_soa(w, q, 0);
		if (q->qtype == SHOAL_DNS_T_SOA || any) {
			w->counts[0] = w->counts[1];
			w->counts[1] = 0;
		}
		return SHOAL_DNS_NOERROR;
	}
	if (n > 3 || !find_forward(z, q, n == 3, &v4, &v6)) {
		w_soa(w, q, n - 1);
		return SHOAL_DNS_NXDOMAIN;
	}
	pointer_to(owner, SHOAL_DNS_HEADER_LEN);
	if (q->qtype == SHOAL_DNS_T_A || any)
		for (i = 0; i < v4.n; i++)
			w_rr(w, 0, owner, 2, SHOAL_DNS_T_A, SHOAL_DNS_TTL,
			     v4.a[i], 4);
	if (q->qtype == SHOAL_DNS_T_AAAA || any)
		for (i = 0; i < v6.n; i++)
			w_rr(w, 0, owner, 2, SHOAL_DNS_T_AAAA, SHOAL_DNS_TTL,
			     v6.a[i], 16);
	/* The name is there, not this type: NODATA, negative TTL by SOA. */
	if (!w->counts[0] && !w->truncated)
		w_soa(w, q, n - 1);
	return SHOAL_DNS_NOERROR;
}

/* A label of one decimal octet (0..255, no leading zeros): -1 if not. */
static int octet_label(const struct shoal_dns_query *q, unsigned int i)
{
	const uint8_t *l = q->name + q->label_off[i];
	unsigned int v = 0, k;

	if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
		return -1;
	for (k = 1; k <= l[0]; k++) {
		if (l[k] < '0' || l[k] > '9')
			return -1;
		v = v * 10 + (unsigned int)(l[k] - '0');
	}
	return v > 255 ? -1 : (int)v;
}

/* A label of one hex nibble: -1 if not. */
static int nibble_label(const struct shoal_dns_query *q, unsigned int i)
{
	const uint8_t *l = q->name + q->label_off[i];
	uint8_t c = l[1];

	if (l[0] != 1)
		return -1;
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A name under in-addr.arpa or ip6.arpa: REFUSED unless it lies in the
 * overlay's reverse zone (the prefix rounded down to whole labels);
 * there, a member's address has a PTR to its NICK.shoal, anything else
 * is NXDOMAIN (or, above the addresses, a name without records).
 */
static int answer_reverse(const struct shoal_dns_zone *z,
			  const struct shoal_dns_query *q, struct writer *w,
			  bool v6)
{
	unsigned int bits = v6 ? 4 : 8, full = v6 ? 32 : 4;
	unsigned int plen = v6 ? z->v6_len : z->v4_len;
	unsigned int k = plen / bits, m = q->n_labels - 2, i;
	const uint8_t *prefix = v6 ? z->v6 : z->v4;
	uint8_t addr[16] = { 0 }, owner[2], rdata[SHOAL_DNS_LABEL_MAX + 8];
	unsigned int apex = q->n_labels - 2 - k;
	size_t e, nl;
	int v;

	if (!plen || m < k)
		return -1;
	/* Label j from the top is address unit j (octet or nibble). */
	for (i = 0; i < m && i < full; i++) {
		v = v6 ? nibble_label(q, q->n_labels - 3 - i) :
			 octet_label(q, q->n_labels - 3 - i);
		if (v < 0) {
			if (i < k)
				return -1;
			w_soa(w, q, apex);
			return SHOAL_DNS_NXDOMAIN;
		}
		if (v6)
			addr[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
		else
			addr[i] = (uint8_t)v;
		/*
		 * The unit the prefix ends inside (a /10 ends in the second
		 * octet): an address off the prefix is none of ours, though
		 * its name is in the zone (100.in-addr.arpa is public space
		 * but for 100.64/10).
		 */
		if (i == k && plen % bits) {
			unsigned int pu = v6 ? (prefix[i / 2] >> (i % 2 ? 0 : 4)) &
					       0xf : prefix[i];

			if (((unsigned int)v ^ pu) >> (bits - plen % bits))
				return -1;
		}
		if (i + 1 == k) {
			/* The zone's part must be the overlay's prefix. */
			unsigned int bytes = k * bits / 8, rest = k * bits % 8;

			if (memcmp(addr, prefix, bytes) ||
			    (rest && (addr[bytes] ^ prefix[bytes]) >> (8 - rest)))
				return -1;
		}
	}
	if (m > full) {
		w_soa(w, q, apex);
		return SHOAL_DNS_NXDOMAIN;
	}
	if (m < full) {
		w_soa(w, q, apex);
		if (m == k && (q->qtype == SHOAL_DNS_T_SOA ||
			       q->qtype == SHOAL_DNS_T_ANY)) {
			w->counts[0] = w->counts[1];
			w->counts[1] = 0;
		}
		return SHOAL_DNS_NOERROR;
	}
	for (e = 0; e < z->n_names; e++) {
		const struct shoal_dns_name *n = &z->names[e];

		if (v6 ? n->has_v6 && !memcmp(n->v6, addr, 16) :
			 n->has_v4 && !memcmp(n->v4, addr, 4))
			break;
	}
	if (e == z->n_names) {
		w_soa(w, q, apex);
		return SHOAL_DNS_NXDOMAIN;
	}
	if (q->qtype == SHOAL_DNS_T_PTR || q->qtype == SHOAL_DNS_T_ANY) {
		nl = strlen(z->names[e].nick);
		if (nl < 1 || nl > SHOAL_DNS_LABEL_MAX)
			return SHOAL_DNS_SERVFAIL;
		rdata[0] = (uint8_t)nl;
		memcpy(rdata + 1, z->names[e].nick, nl);
		memcpy(rdata + 1 + nl, "\5shoal", 7);	/* with the root */
		pointer_to(owner, SHOAL_DNS_HEADER_LEN);
		w_rr(w, 0, owner, 2, SHOAL_DNS_T_PTR, SHOAL_DNS_TTL, rdata,
		     nl + 8);
	} else {
		w_soa(w, q, apex);
	}
	return SHOAL_DNS_NOERROR;
}

size_t shoal_dns_respond(const struct shoal_dns_zone *z, const uint8_t *buf,
			 size_t len, uint8_t *out, size_t cap, bool stream,
			 int *rcode)
{
	struct shoal_dns_query q;
	struct writer w = { .buf = out };
	enum shoal_dns_parse p = shoal_dns_parse_query(&q, buf, len);
	size_t limit, question_end;
	int rc, dummy;
	bool ours = true;

	if (!rcode)
		rcode = &dummy;
	*rcode = -1;
	if (p == SHOAL_DNS_PARSE_DROP || cap < SHOAL_DNS_UDP_MIN)
		return 0;
	limit = SHOAL_DNS_UDP_MIN;
	if (stream)
		limit = cap < 65535 ? cap : 65535;
	else if (q.edns && q.edns_size > SHOAL_DNS_UDP_MIN)
		limit = q.edns_size < SHOAL_DNS_EDNS_SIZE ?
			q.edns_size : SHOAL_DNS_EDNS_SIZE;
	if (limit > cap)
		limit = cap;
	/* The OPT record's 11 bytes are kept back for the end. */
	w.limit = limit - (q.edns ? 11 : 0);
	w.len = SHOAL_DNS_HEADER_LEN;
	if (p != SHOAL_DNS_PARSE_OK) {
		rc = p == SHOAL_DNS_PARSE_NOTIMP ? SHOAL_DNS_NOTIMP :
		     SHOAL_DNS_FORMERR;
		if (p == SHOAL_DNS_PARSE_BADVERS) {
			w_opt(&w, SHOAL_DNS_BADVERS >> 4);
			rc = SHOAL_DNS_BADVERS;
		}
		w_header(&w, q.id, q.rd, false, rc & 0xf, false);
		*rcode = rc;
		return w.len;
	}
	w_put(&w, q.name, q.name_len);
	put16(out + w.len, q.qtype);
	put16(out + w.len + 2, q.qclass);
	w.len += 4;
	question_end = w.len;
	rc = SHOAL_DNS_REFUSED;
	if (q.qclass != SHOAL_DNS_C_IN && q.qclass != SHOAL_DNS_C_ANY)
		ours = false;
	else if (q.n_labels >= 1 && label_is(&q, q.n_labels - 1, "shoal"))
		rc = answer_forward(z, &q, &w);
	else if (q.n_labels >= 2 && label_is(&q, q.n_labels - 1, "arpa") &&
		 label_is(&q, q.n_labels - 2, "in-addr"))
		rc = answer_reverse(z, &q, &w, false);
	else if (q.n_labels >= 2 && label_is(&q, q.n_labels - 1, "arpa") &&
		 label_is(&q, q.n_labels - 2, "ip6"))
		rc = answer_reverse(z, &q, &w, true);
	else
		ours = false;
	if (rc < 0) {
		ours = false;
		rc = SHOAL_DNS_REFUSED;
	}
	if (!ours) {
		w.counts[0] = w.counts[1] = 0;
		w.len = question_end;
		w.truncated = false;
	}
	if (q.edns)
		w_opt(&w, 0);
	w_header(&w, q.id, q.rd, ours, rc, true);
	*rcode = rc;
	return w.len;
}

int shoal_dns_reverse_zone(int family, const uint8_t *addr,
			   unsigned int prefix_len, char *out, size_t cap)
{
	size_t at = 0;
	unsigned int i, k;
	int n;

	if (family == AF_INET) {
		if (prefix_len > 32)
			return -1;
		for (k = prefix_len / 8, i = k; i-- > 0; at += (size_t)n) {
			n = snprintf(out + at, cap - at, "%u.", addr[i]);
			if (n < 0 || (size_t)n >= cap - at)
				return -1;
		}
		n = snprintf(out + at, cap - at, "in-addr.arpa");
	} else if (family == AF_INET6) {
		if (prefix_len > 128)
			return -1;
		for (k = prefix_len / 4, i = k; i-- > 0; at += (size_t)n) {
			n = snprintf(out + at, cap - at, "%x.",
				     i % 2 ? addr[i / 2] & 0xf :
					     addr[i / 2] >> 4);
			if (n < 0 || (size_t)n >= cap - at)
				return -1;
		}
		n = snprintf(out + at, cap - at, "ip6.arpa");
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= cap - at ? -1 : 0;
}
