// SPDX-License-Identifier: MIT
/*
 * The names shoald's DNS server answers (dns.c), from the mediator: our
 * own nickname and addresses from the LOGIN reply, the members of our
 * networks from NETWORKS.  NETWORKS is asked again whenever a PEER_UP or
 * PEER_DOWN says something changed (a peer's nickname among it: the
 * mediator announces a NICK), and every NAMES_REFRESH; one request at a
 * time, one more owed if news comes meanwhile.  While the mediator is
 * away the last list stays.
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
#define NAMES_MAX 4096

void mc_names_self(struct mclient *m)
{
	shoald_dns_set_self(m->d, *m->my_nick ? m->my_nick : NULL, m->v4,
			    m->has_v4 ? m->v4_len : 0, m->v6,
			    m->has_v6 ? m->v6_len : 0);
}

void mc_names_refresh(struct mclient *m)
{
	struct shoal_tlv_writer w;
	uint8_t buf[64];
	unsigned int i, slot = MAX_PENDING;

	if (!m->logged_in || !m->d->dns)
		return;
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

void mc_names_tick(struct mclient *m, double now)
{
	if (m->logged_in && now >= m->names_next)
		mc_names_refresh(m);
}

/* addr (a prefix's first bits) lies in ours. */
static bool in_own(const uint8_t *addr, const uint8_t *own,
		   unsigned int bits)
{
	unsigned int bytes = bits / 8, rest = bits % 8;

	return !memcmp(addr, own, bytes) &&
	       (!rest || !((addr[bytes] ^ own[bytes]) >> (8 - rest)));
}

/* One MEMBER of network into e; false if it is none to serve. */
static bool member_of(struct mclient *m, const struct shoal_tlv_attr *mem,
		      const char *network, struct shoal_dns_name *e)
{
	struct shoal_tlv_attr b;
	uint8_t state = 2;

	memset(e, 0, sizeof(*e));
	if (shoal_tlv_find_nested(mem, MED_A_STATE, &b))
		shoal_tlv_get_u8(&b, &state);
	/* Waiting for approval: not in the network yet. */
	if (state == 1)
		return false;
	if (!shoal_tlv_find_nested(mem, MED_A_NICKNAME, &b) ||
	    !shoal_tlv_get_str(&b, e->nick, sizeof(e->nick)) ||
	    !shoal_config_valid_nickname(e->nick))
		return false;
	snprintf(e->network, sizeof(e->network), "%s", network);
	if (m->has_v4 && shoal_tlv_find_nested(mem, MED_A_IPV4, &b) &&
	    b.len == 5 && in_own(b.value, m->v4, m->v4_len)) {
		memcpy(e->v4, b.value, 4);
		e->has_v4 = true;
	}
	if (m->has_v6 && shoal_tlv_find_nested(mem, MED_A_IPV6, &b) &&
	    b.len == 17 && in_own(b.value, m->v6, m->v6_len)) {
		memcpy(e->v6, b.value, 16);
		e->has_v6 = true;
	}
	return true;
}

void mc_names_reply(struct mclient *m, const struct shoal_tlv_msg *msg,
		    int rc)
{
	struct shoal_tlv_attr net, a, mem;
	struct shoal_tlv_iter it, in;
	struct shoal_dns_name *v = NULL;
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
				struct shoal_dns_name *nv =
					realloc(v, c * sizeof(*v));

				if (!nv)
					goto again;
				v = nv;
				cap = c;
			}
			if (member_of(m, &mem, network, &v[n]))
				n++;
		}
	}
	shoald_dns_set_names(m->d, v, n);
again:
	free(v);
	if (m->names_again)
		mc_names_refresh(m);
}
