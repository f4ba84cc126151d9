// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "be.h"
#include "medmsg.h"

size_t shoal_med_endpoint_put(uint8_t out[MED_ENDPOINT_MAX], uint8_t family,
			      const uint8_t *addr, uint16_t port)
{
	size_t alen = family == 4 ? 4 : 16;

	out[0] = family == 4 ? 4 : 6;
	memcpy(out + 1, addr, alen);
	shoal_put_be16(out + 1 + alen, port);
	return 3 + alen;
}

int shoal_med_endpoint_get(const uint8_t *v, size_t len, uint8_t *family,
			   uint8_t addr[16], uint16_t *port)
{
	size_t alen;

	if (len == 7 && v[0] == 4)
		alen = 4;
	else if (len == 19 && v[0] == 6)
		alen = 16;
	else
		return -1;
	memset(addr, 0, 16);
	memcpy(addr, v + 1, alen);
	*family = v[0];
	*port = shoal_get_be16(v + 1 + alen);
	return *port ? 0 : -1;
}

void shoal_med_nat_put(uint8_t out[MED_NAT_LEN], const struct shoal_nat *n)
{
	out[0] = n->known ? n->mapping : SHOAL_NAT_UNKNOWN;
	out[1] = n->known ? n->filtering : SHOAL_NAT_UNKNOWN;
	out[2] = n->known && n->udp_blocked ? MED_NAT_UDP_BLOCKED : 0;
}

int shoal_med_nat_get(const uint8_t *v, size_t len, struct shoal_nat *n)
{
	memset(n, 0, sizeof(*n));
	if (len != MED_NAT_LEN)
		return -1;
	n->known = true;
	n->mapping = v[0] <= SHOAL_NAT_ADDRESS_PORT ? v[0] : SHOAL_NAT_UNKNOWN;
	n->filtering = v[1] <= SHOAL_NAT_ADDRESS_PORT ? v[1] :
		       SHOAL_NAT_UNKNOWN;
	n->udp_blocked = v[2] & MED_NAT_UDP_BLOCKED;
	return 0;
}

static const char *const nat_kind_names[] = {
	[SHOAL_NAT_UNKNOWN] = "unknown",
	[SHOAL_NAT_INDEPENDENT] = "endpoint-independent",
	[SHOAL_NAT_ADDRESS] = "address-dependent",
	[SHOAL_NAT_ADDRESS_PORT] = "address-and-port-dependent",
};

const char *shoal_nat_kind_name(uint8_t kind)
{
	return kind <= SHOAL_NAT_ADDRESS_PORT ? nat_kind_names[kind] :
	       "unknown";
}

uint8_t shoal_nat_kind_of(const char *name)
{
	uint8_t k;

	for (k = SHOAL_NAT_INDEPENDENT; k <= SHOAL_NAT_ADDRESS_PORT; k++)
		if (!strcmp(name, nat_kind_names[k]))
			return k;
	return SHOAL_NAT_UNKNOWN;
}

/* A mapping that changes with the destination: a symmetric NAT. */
static bool nat_hard(const struct shoal_nat *n)
{
	return n->mapping == SHOAL_NAT_ADDRESS ||
	       n->mapping == SHOAL_NAT_ADDRESS_PORT;
}

/*
 * One mapping for every destination, but only answers from where it sent
 * to get in: what a symmetric peer meets with birthday probing.  With
 * filtering by address alone, plain punching works (the peer's fresh
 * mapping is at the address we sent to).
 */
static bool nat_easy(const struct shoal_nat *n)
{
	return n->mapping == SHOAL_NAT_INDEPENDENT &&
	       n->filtering == SHOAL_NAT_ADDRESS_PORT;
}

enum shoal_nat_plan shoal_nat_plan(const struct shoal_nat *mine,
				   const struct shoal_nat *peer,
				   bool peer_extra_public)
{
	if (!mine->known || !peer->known)
		return SHOAL_NAT_PUNCH;
	if (mine->udp_blocked || peer->udp_blocked)
		return SHOAL_NAT_RELAY_NOW;
	if (peer_extra_public)
		return SHOAL_NAT_PUNCH;
	if (nat_hard(mine) && nat_hard(peer))
		return SHOAL_NAT_RELAY_NOW;
	if (nat_hard(mine) && nat_easy(peer))
		return SHOAL_NAT_BIRTHDAY_HARD;
	if (nat_easy(mine) && nat_hard(peer))
		return SHOAL_NAT_BIRTHDAY_EASY;
	return SHOAL_NAT_PUNCH;
}

/* A string attribute of a nest equal to want, ignoring case. */
static bool nested_str_is(const struct shoal_tlv_attr *nest, uint16_t type,
			  const char *want)
{
	struct shoal_tlv_attr a;
	char text[80];

	return shoal_tlv_find_nested(nest, type, &a) &&
	       shoal_tlv_get_str(&a, text, sizeof(text)) &&
	       !strcasecmp(text, want);
}

unsigned int shoal_med_member_key(const struct shoal_tlv_msg *msg,
				  const char *network, const char *nick,
				  uint8_t key[32])
{
	struct shoal_tlv_attr net, mem, a;
	struct shoal_tlv_iter it, in;
	unsigned int found = 0;

	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &net)) {
		if (net.type != MED_A_NETWORK_INFO ||
		    !nested_str_is(&net, MED_A_NETWORK, network))
			continue;
		shoal_tlv_iter_nested(&in, &net);
		while (shoal_tlv_next(&in, &mem)) {
			if (mem.type != MED_A_MEMBER ||
			    !nested_str_is(&mem, MED_A_NICKNAME, nick) ||
			    !shoal_tlv_find_nested(&mem, MED_A_PUBLIC_KEY,
						   &a) || a.len != 32)
				continue;
			if (!found++)
				memcpy(key, a.value, 32);
		}
	}
	return found;
}

bool shoal_med_instance_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n < 1 || n > MED_INSTANCE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    !strchr("._-", name[i]))
			return false;
	return true;
}

int shoal_med_instance_put(struct shoal_tlv_writer *w,
			   const struct shoal_med_instance *in)
{
	size_t len = strnlen(in->advertise, sizeof(in->advertise));

	if (!shoal_med_instance_name_ok(in->name) || !len ||
	    len > MED_ADVERTISE_MAX) {
		/* An unbalanced end: the writer fails, as documented. */
		w->overflow = true;
		return -1;
	}
	shoal_tlv_nest_start(w, MED_A_INSTANCE);
	shoal_tlv_put_str(w, MED_A_INSTANCE_NAME, in->name);
	shoal_tlv_put_str(w, MED_A_ADVERTISE, in->advertise);
	if (in->has_load)
		shoal_tlv_put_u32(w, MED_A_INSTANCE_LOAD, in->load);
	shoal_tlv_nest_end(w);
	return w->overflow ? -1 : 0;
}

int shoal_med_instance_get(const struct shoal_tlv_attr *a,
			   struct shoal_med_instance *in)
{
	struct shoal_tlv_attr v;

	memset(in, 0, sizeof(*in));
	if (a->type != MED_A_INSTANCE ||
	    !shoal_tlv_find_nested(a, MED_A_INSTANCE_NAME, &v) ||
	    !shoal_tlv_get_str(&v, in->name, sizeof(in->name)) ||
	    !shoal_med_instance_name_ok(in->name) ||
	    !shoal_tlv_find_nested(a, MED_A_ADVERTISE, &v) ||
	    !shoal_tlv_get_str(&v, in->advertise, sizeof(in->advertise)))
		goto refuse;
	if (shoal_tlv_find_nested(a, MED_A_INSTANCE_LOAD, &v)) {
		if (!shoal_tlv_get_u32(&v, &in->load))
			goto refuse;
		in->has_load = true;
	}
	return 0;
refuse:
	memset(in, 0, sizeof(*in));
	return -1;
}
