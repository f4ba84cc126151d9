// SPDX-License-Identifier: MIT
/*
 * The names shoald's DNS server answers (dns.c), from the mediator: our
 * own nickname and addresses from the LOGIN reply, the members of our
 * networks, by key, from NETWORKS.  A PEER_UP about a member we know
 * renames it in place (a NICK reaches its peers as a PEER_UP); one about
 * a key we do not know, a PEER_DOWN out of a network, and a request of
 * ours that succeeded (join, leave, kick ...) ask for NETWORKS again,
 * NAMES_SETTLE later, so that a burst (every peer announced after a
 * login) costs the mediator one; and every NAMES_REFRESH anyway.  One
 * request at a time, one more owed if news comes meanwhile.  While the
 * mediator is away the last list stays.
 *
 * A mediator names addresses, not routes: a member's address is served
 * only inside our own overlay prefix, so a name under shoal. never leads
 * off the overlay.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "mclient_int.h"
#include "session.h"

#define NAMES_REFRESH 60.0
#define NAMES_SETTLE 0.2
#define NAMES_MAX 4096

struct mc_name {
	uint8_t key[32];
	struct shoal_dns_name n;
};

void mc_names_self(struct mclient *m)
{
	shoald_dns_set_self(m->d, *m->my_nick ? m->my_nick : NULL, m->v4,
			    m->has_v4 ? m->v4_len : 0, m->v6,
			    m->has_v6 ? m->v6_len : 0);
}

/* NETWORKS now, or owed when one is out already. */
static void names_send(struct mclient *m)
{
	struct shoal_tlv_writer w;
	uint8_t buf[64];
	unsigned int i, slot = MAX_PENDING;

	m->names_due = 0;
	for (i = 0; i < MAX_PENDING; i++) {
		if (m->pending[i].used && m->pending[i].kind == PK_NAMES) {
			m->names_again = true;
			return;
		}
		if (!m->pending[i].used && slot == MAX_PENDING)
			slot = i;
	}
	if (slot == MAX_PENDING)
		return;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_NETWORKS, 0,
			      ++m->next_id);
	if (!mc_send_msg(m, &w))
		return;
	m->pending[slot] = (struct pending){
		.used = true, .kind = PK_NAMES, .id = m->next_id, .fd = -1,
		.deadline = shoald_now() + REQUEST_TIMEOUT,
	};
	m->names_again = false;
	m->names_next = shoald_now() + NAMES_REFRESH;
}

void mc_names_refresh(struct mclient *m)
{
	double due = shoald_now() + NAMES_SETTLE;

	if (!m->logged_in || !shoald_dns_wanted(m->d))
		return;
	if (!m->names_due || m->names_due > due)
		m->names_due = due;
}

void mc_names_tick(struct mclient *m, double now)
{
	if (!m->logged_in || !shoald_dns_wanted(m->d))
		return;
	if ((m->names_due && now >= m->names_due) || now >= m->names_next)
		names_send(m);
}

void mc_names_free(struct mclient *m)
{
	free(m->names);
	m->names = NULL;
	m->n_names = 0;
}

static void names_push(struct mclient *m)
{
	struct shoal_dns_name *v = NULL;
	size_t i;

	if (m->n_names) {
		v = calloc(m->n_names, sizeof(*v));
		if (!v)
			return;
		for (i = 0; i < m->n_names; i++)
			v[i] = m->names[i].n;
	}
	shoald_dns_set_names(m->d, v, m->n_names);
	free(v);
}

/* addr (a prefix's first bits) lies in ours. */
static bool in_own(const uint8_t *addr, const uint8_t *own,
		   unsigned int bits)
{
	unsigned int bytes = bits / 8, rest = bits % 8;

	return !memcmp(addr, own, bytes) &&
	       (!rest || !((addr[bytes] ^ own[bytes]) >> (8 - rest)));
}

/* Sets e's addresses from a 5- and a 17-byte attribute (NULL: none). */
static void set_addrs(struct mclient *m, struct shoal_dns_name *e,
		      const uint8_t *v4, const uint8_t *v6)
{
	e->has_v4 = m->has_v4 && v4 && in_own(v4, m->v4, m->v4_len);
	e->has_v6 = m->has_v6 && v6 && in_own(v6, m->v6, m->v6_len);
	memset(e->v4, 0, sizeof(e->v4));
	memset(e->v6, 0, sizeof(e->v6));
	if (e->has_v4)
		memcpy(e->v4, v4, 4);
	if (e->has_v6)
		memcpy(e->v6, v6, 16);
}

/* One MEMBER of network into e; false if it is none to serve. */
static bool member_of(struct mclient *m, const struct shoal_tlv_attr *mem,
		      const char *network, struct mc_name *e)
{
	const uint8_t *v4 = NULL, *v6 = NULL;
	struct shoal_tlv_attr b;
	uint8_t state = 2;

	memset(e, 0, sizeof(*e));
	if (shoal_tlv_find_nested(mem, MED_A_STATE, &b))
		shoal_tlv_get_u8(&b, &state);
	/* Waiting for approval: not in the network yet. */
	if (state == 1)
		return false;
	if (!shoal_tlv_find_nested(mem, MED_A_PUBLIC_KEY, &b) || b.len != 32)
		return false;
	memcpy(e->key, b.value, 32);
	if (!shoal_tlv_find_nested(mem, MED_A_NICKNAME, &b) ||
	    !shoal_tlv_get_str(&b, e->n.nick, sizeof(e->n.nick)) ||
	    !shoal_config_valid_nickname(e->n.nick))
		return false;
	snprintf(e->n.network, sizeof(e->n.network), "%s", network);
	if (shoal_tlv_find_nested(mem, MED_A_IPV4, &b) && b.len == 5)
		v4 = b.value;
	if (shoal_tlv_find_nested(mem, MED_A_IPV6, &b) && b.len == 17)
		v6 = b.value;
	set_addrs(m, &e->n, v4, v6);
	return true;
}

void mc_names_reply(struct mclient *m, const struct shoal_tlv_msg *msg,
		    int rc)
{
	struct shoal_tlv_attr net, a, mem;
	struct shoal_tlv_iter it, in;
	struct mc_name *v = NULL;
	char network[NETWORK_NAME_MAX + 1];
	size_t n = 0, cap = 0;

	if (rc < 0)
		goto again;
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &net)) {
		if (net.type != MED_A_NETWORK_INFO ||
		    !shoal_tlv_find_nested(&net, MED_A_NETWORK, &a) ||
		    !shoal_tlv_get_str(&a, network, sizeof(network)))
			continue;
		shoal_tlv_iter_nested(&in, &net);
		while (shoal_tlv_next(&in, &mem) && n < NAMES_MAX) {
			if (mem.type != MED_A_MEMBER)
				continue;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 32;
				struct mc_name *nv = realloc(v, c * sizeof(*v));

				if (!nv) {
					free(v);
					goto again;
				}
				v = nv;
				cap = c;
			}
			if (member_of(m, &mem, network, &v[n]))
				n++;
		}
	}
	free(m->names);
	m->names = v;
	m->n_names = n;
	names_push(m);
again:
	if (m->names_again)
		mc_names_refresh(m);
}

void mc_names_peer(struct mclient *m, const uint8_t *key, const char *nick,
		   const uint8_t *v4, const uint8_t *v6)
{
	bool known = false;
	size_t i;

	for (i = 0; i < m->n_names; i++) {
		struct mc_name *e = &m->names[i];

		if (memcmp(e->key, key, 32))
			continue;
		known = true;
		if (shoal_config_valid_nickname(nick))
			snprintf(e->n.nick, sizeof(e->n.nick), "%s", nick);
		set_addrs(m, &e->n, v4, v6);
	}
	if (known)
		names_push(m);
	else
		mc_names_refresh(m);
}
