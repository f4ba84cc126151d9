// SPDX-License-Identifier: MIT
/*
 * The cluster's bus messages (clusterbus.h, docs/cluster.md "The bus"):
 * encoded with the mediator's own TLV codec, then base64, because a
 * NOTIFY payload is text.  Decoding is as strict as for a request: every
 * attribute a type needs must be there with its exact size, and a text
 * must be a name or an address as the sender would have written it.
 */
#include <string.h>

#include <sodium.h>

#include "be.h"

#include "base64.h"
#include "clusterbus.h"
#include "tlv.h"

/* The TLV form is at most this: base64 of it fits CLUSTER_BUS_MAX. */
#define BUS_BIN_MAX (CLUSTER_BUS_MAX / 4 * 3)

bool cluster_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n < 1 || n > MED_INSTANCE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static void put_ep(struct shoal_tlv_writer *w, uint16_t type,
		   const struct med_endpoint *e)
{
	uint8_t ep[MED_ENDPOINT_MAX];

	shoal_tlv_put(w, type, ep, udp_endpoint_put(ep, e));
}

void cluster_bus_key(uint8_t key[CLUSTER_BUS_KEY_LEN], const uint8_t priv[32])
{
	static const char label[] = "shoal cluster bus";

	crypto_generichash(key, CLUSTER_BUS_KEY_LEN, (const uint8_t *)label,
			   sizeof(label) - 1, priv, 32);
}

/* A sealed message: nonce, then the message and its tag. */
#define SEAL_OVERHEAD (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)

int cluster_bus_encode(const struct cluster_msg *m, const uint8_t *key,
		       char *out, size_t size)
{
	uint8_t bin[BUS_BIN_MAX], nat[MED_NAT_LEN], sealed[BUS_BIN_MAX];
	const struct med_peer_info *pi = &m->info;
	struct shoal_tlv_writer w;
	unsigned int i;
	int len;

	shoal_tlv_writer_init(&w, bin, sizeof(bin) - SEAL_OVERHEAD, m->type,
			      0, 0);
	shoal_tlv_put_str(&w, CB_A_INSTANCE, m->instance);
	if (m->run) {
		shoal_tlv_put_u64(&w, CB_A_RUN, (uint64_t)m->run);
		shoal_tlv_put_u64(&w, CB_A_SEQ, m->seq);
	}
	switch (m->type) {
	case CB_ONLINE:
		shoal_tlv_put_u64(&w, CB_A_CLIENT, (uint64_t)pi->client.id);
		shoal_tlv_put(&w, CB_A_KEY, pi->client.pubkey, MSTORE_KEY_LEN);
		shoal_tlv_put_str(&w, CB_A_NICK, pi->client.nickname);
		shoal_tlv_put(&w, CB_A_IPV4, &pi->client.ipv4, 4);
		shoal_tlv_put(&w, CB_A_IPV6, &pi->client.ipv6, 16);
		shoal_tlv_put(&w, CB_A_MAC, pi->client.mac, MSTORE_MAC_LEN);
		if (pi->has_first)
			put_ep(&w, CB_A_FIRST, &pi->first);
		for (i = 0; i < pi->n_endpoints && i < MED_MAX_ENDPOINTS; i++)
			put_ep(&w, CB_A_ENDPOINT, &pi->ep[i]);
		if (pi->nat.known) {
			shoal_med_nat_put(nat, &pi->nat);
			shoal_tlv_put(&w, CB_A_NAT, nat, sizeof(nat));
		}
		if (pi->has_lan)
			shoal_tlv_put(&w, CB_A_LAN, pi->lan, 4);
		break;
	case CB_OFFLINE:
		shoal_tlv_put_u64(&w, CB_A_CLIENT, (uint64_t)m->client);
		shoal_tlv_put(&w, CB_A_KEY, m->key, MSTORE_KEY_LEN);
		shoal_tlv_put_u8(&w, CB_A_REASON, m->reason);
		break;
	case CB_NAT:
		shoal_tlv_put_u64(&w, CB_A_CLIENT, (uint64_t)m->client);
		shoal_med_nat_put(nat, &m->nat);
		shoal_tlv_put(&w, CB_A_NAT, nat, sizeof(nat));
		break;
	case CB_BEAT:
		shoal_tlv_put_str(&w, CB_A_ADVERTISE, m->advertise);
		shoal_tlv_put_u32(&w, CB_A_LOAD, m->load);
		shoal_tlv_put_u64(&w, CB_A_STARTED, (uint64_t)m->started);
		break;
	case CB_GONE:
		shoal_tlv_put_u64(&w, CB_A_STARTED, (uint64_t)m->started);
		break;
	case CB_DELIVER:
		shoal_tlv_put_u64(&w, CB_A_CLIENT, (uint64_t)m->client);
		shoal_tlv_put(&w, CB_A_MESSAGE, m->msg, m->msg_len);
		break;
	case CB_CHANGED:
		shoal_tlv_put_u64(&w, CB_A_CLIENT, (uint64_t)m->client);
		shoal_tlv_put(&w, CB_A_KEY, m->key, MSTORE_KEY_LEN);
		if (m->both)
			shoal_tlv_put(&w, CB_A_BOTH, NULL, 0);
		for (i = 0; i < m->n_added && i < CLUSTER_CHANGE_MAX; i++)
			shoal_tlv_put_u64(&w, CB_A_ADDED,
					  (uint64_t)m->added[i]);
		for (i = 0; i < m->n_lost && i < CLUSTER_CHANGE_MAX; i++) {
			uint8_t v[8 + MSTORE_KEY_LEN];

			shoal_put_be64(v, (uint64_t)m->lost[i].id);
			memcpy(v + 8, m->lost[i].key, MSTORE_KEY_LEN);
			shoal_tlv_put(&w, CB_A_LOST, v, sizeof(v));
		}
		break;
	default:
		return -1;
	}
	len = shoal_tlv_finish(&w);
	if (len < 0)
		return -1;
	if (key) {
		randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES,
				      bin, (size_t)len, sealed, key);
		sodium_memzero(bin, sizeof(bin));
		len += SEAL_OVERHEAD;
		return shoal_base64_encode(out, size, sealed, (size_t)len) < 0 ?
		       -1 : 0;
	}
	return shoal_base64_encode(out, size, bin, (size_t)len) < 0 ? -1 : 0;
}

/* Exactly len bytes of attribute type into out: true, else false. */
static bool get_fixed(const struct shoal_tlv_msg *msg, uint16_t type,
		      void *out, size_t len)
{
	struct shoal_tlv_attr a;

	if (!shoal_tlv_find(msg, type, &a) || a.nested || a.len != len)
		return false;
	memcpy(out, a.value, len);
	return true;
}

static bool get_ep(const struct shoal_tlv_attr *a, struct med_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	return !a->nested &&
	       !shoal_med_endpoint_get(a->value, a->len, &e->family, e->addr,
				       &e->port);
}

/* An ADVERTISE: HOST:PORT, printable, no spaces, at most the max. */
static bool advertise_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t i;

	if (!colon || colon == s || !colon[1])
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static int decode_changed(const struct shoal_tlv_msg *msg,
			  struct cluster_msg *m)
{
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	uint64_t v;

	m->both = shoal_tlv_find(msg, CB_A_BOTH, &a);
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type == CB_A_ADDED) {
			if (m->n_added == CLUSTER_CHANGE_MAX ||
			    !shoal_tlv_get_u64(&a, &v) || !v || v > INT64_MAX)
				return -1;
			m->added[m->n_added++] = (int64_t)v;
		} else if (a.type == CB_A_LOST) {
			if (m->n_lost == CLUSTER_CHANGE_MAX || a.nested ||
			    a.len != 8 + MSTORE_KEY_LEN)
				return -1;
			v = shoal_get_be64(a.value);
			if (!v || v > INT64_MAX)
				return -1;
			m->lost[m->n_lost].id = (int64_t)v;
			memcpy(m->lost[m->n_lost].key, a.value + 8,
			       MSTORE_KEY_LEN);
			m->n_lost++;
		}
	}
	return 0;
}

/* Only what an instance delivers for another: a RELAY event. */
static int decode_deliver(const struct shoal_tlv_msg *msg,
			  struct cluster_msg *m)
{
	struct shoal_tlv_msg inner;
	struct shoal_tlv_attr a;

	if (!shoal_tlv_find(msg, CB_A_MESSAGE, &a) || a.nested ||
	    a.len > sizeof(m->msg) ||
	    shoal_tlv_parse(&inner, a.value, a.len) < 0 ||
	    inner.type != MED_RELAY_EVENT || inner.flags)
		return -1;
	memcpy(m->msg, a.value, a.len);
	m->msg_len = a.len;
	return 0;
}

static int decode_online(const struct shoal_tlv_msg *msg,
			 struct cluster_msg *m)
{
	struct med_peer_info *pi = &m->info;
	struct shoal_tlv_attr a;
	struct shoal_tlv_iter it;
	uint8_t nat[MED_NAT_LEN];

	pi->client.id = m->client;
	memcpy(pi->client.pubkey, m->key, MSTORE_KEY_LEN);
	if (!shoal_tlv_find(msg, CB_A_NICK, &a) ||
	    !shoal_tlv_get_str(&a, pi->client.nickname,
			       sizeof(pi->client.nickname)) ||
	    !get_fixed(msg, CB_A_IPV4, &pi->client.ipv4, 4) ||
	    !get_fixed(msg, CB_A_IPV6, &pi->client.ipv6, 16) ||
	    !get_fixed(msg, CB_A_MAC, pi->client.mac, MSTORE_MAC_LEN))
		return -1;
	if (shoal_tlv_find(msg, CB_A_FIRST, &a)) {
		if (!get_ep(&a, &pi->first))
			return -1;
		pi->has_first = true;
	}
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type != CB_A_ENDPOINT)
			continue;
		if (pi->n_endpoints == MED_MAX_ENDPOINTS ||
		    !get_ep(&a, &pi->ep[pi->n_endpoints]))
			return -1;
		pi->n_endpoints++;
	}
	if (shoal_tlv_find(msg, CB_A_NAT, &a) &&
	    (!get_fixed(msg, CB_A_NAT, nat, sizeof(nat)) ||
	     shoal_med_nat_get(nat, sizeof(nat), &pi->nat) < 0))
		return -1;
	if (shoal_tlv_find(msg, CB_A_LAN, &a)) {
		if (!get_fixed(msg, CB_A_LAN, pi->lan, 4))
			return -1;
		pi->has_lan = true;
	}
	return 0;
}

int cluster_bus_decode(const char *text, const uint8_t *key,
		       struct cluster_msg *m)
{
	uint8_t bin[BUS_BIN_MAX], nat[MED_NAT_LEN], sealed[BUS_BIN_MAX];
	size_t tlen = strlen(text), blen, pad = 0;
	struct shoal_tlv_msg msg;
	struct shoal_tlv_attr a;
	uint64_t v64;

	memset(m, 0, sizeof(*m));
	if (!tlen || tlen % 4 || tlen > CLUSTER_BUS_MAX)
		return -1;
	while (pad < 2 && text[tlen - 1 - pad] == '=')
		pad++;
	blen = tlen / 4 * 3 - pad;
	if (key) {
		if (blen < SEAL_OVERHEAD ||
		    shoal_base64_decode_exact(sealed, blen, text) < 0 ||
		    crypto_secretbox_open_easy(bin, sealed +
					       crypto_secretbox_NONCEBYTES,
					       blen - crypto_secretbox_NONCEBYTES,
					       sealed, key) < 0)
			return -1;
		blen -= SEAL_OVERHEAD;
	} else if (shoal_base64_decode_exact(bin, blen, text) < 0) {
		return -1;
	}
	if (shoal_tlv_parse(&msg, bin, blen) < 0 || msg.flags)
		return -1;
	m->type = msg.type;
	if (!shoal_tlv_find(&msg, CB_A_INSTANCE, &a) ||
	    !shoal_tlv_get_str(&a, m->instance, sizeof(m->instance)) ||
	    !cluster_name_ok(m->instance))
		return -1;
	if (shoal_tlv_find(&msg, CB_A_RUN, &a)) {
		if (!shoal_tlv_get_u64(&a, &v64) || v64 > INT64_MAX || !v64 ||
		    !shoal_tlv_find(&msg, CB_A_SEQ, &a) ||
		    !shoal_tlv_get_u64(&a, &m->seq))
			return -1;
		m->run = (int64_t)v64;
	} else if (key) {
		return -1;
	}
	if (m->type == CB_ONLINE || m->type == CB_OFFLINE ||
	    m->type == CB_NAT || m->type == CB_CHANGED ||
	    m->type == CB_DELIVER) {
		if (!shoal_tlv_find(&msg, CB_A_CLIENT, &a) ||
		    !shoal_tlv_get_u64(&a, &v64) || v64 > INT64_MAX ||
		    !v64)
			return -1;
		m->client = (int64_t)v64;
	}
	switch (m->type) {
	case CB_ONLINE:
		if (!get_fixed(&msg, CB_A_KEY, m->key, MSTORE_KEY_LEN))
			return -1;
		return decode_online(&msg, m);
	case CB_OFFLINE:
		if (!get_fixed(&msg, CB_A_KEY, m->key, MSTORE_KEY_LEN) ||
		    !shoal_tlv_find(&msg, CB_A_REASON, &a) ||
		    !shoal_tlv_get_u8(&a, &m->reason) ||
		    m->reason == MED_DOWN_NONE ||
		    m->reason > MED_DOWN_UNSHARED)
			return -1;
		return 0;
	case CB_CHANGED:
		if (!get_fixed(&msg, CB_A_KEY, m->key, MSTORE_KEY_LEN))
			return -1;
		return decode_changed(&msg, m);
	case CB_DELIVER:
		return decode_deliver(&msg, m);
	case CB_NAT:
		if (!get_fixed(&msg, CB_A_NAT, nat, sizeof(nat)) ||
		    shoal_med_nat_get(nat, sizeof(nat), &m->nat) < 0)
			return -1;
		return 0;
	case CB_BEAT:
		if (!shoal_tlv_find(&msg, CB_A_ADVERTISE, &a) ||
		    !shoal_tlv_get_str(&a, m->advertise,
				       sizeof(m->advertise)) ||
		    !advertise_ok(m->advertise) ||
		    !shoal_tlv_find(&msg, CB_A_LOAD, &a) ||
		    !shoal_tlv_get_u32(&a, &m->load))
			return -1;
		__attribute__((fallthrough));	/* STARTED too */
	case CB_GONE:
		if (!shoal_tlv_find(&msg, CB_A_STARTED, &a) ||
		    !shoal_tlv_get_u64(&a, &v64) || v64 > INT64_MAX)
			return -1;
		m->started = (int64_t)v64;
		return 0;
	default:
		return -1;
	}
}
