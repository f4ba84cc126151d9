// SPDX-License-Identifier: MIT
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "be.h"
#include "ctlmsg.h"

/* Keyed BLAKE2b-128 of the first len bytes of msg, written to out. */
static void mac(uint8_t out[SHOAL_CTL_MAC_LEN], const uint8_t *msg,
		size_t len, const uint8_t *key, size_t key_len)
{
	crypto_generichash(out, SHOAL_CTL_MAC_LEN, msg, len, key, key_len);
}

/* The MAC at msg + len over the len bytes before it. */
static bool mac_ok(const uint8_t *msg, size_t len, const uint8_t *key,
		   size_t key_len)
{
	uint8_t want[SHOAL_CTL_MAC_LEN];

	mac(want, msg, len, key, key_len);
	return sodium_memcmp(want, msg + len, SHOAL_CTL_MAC_LEN) == 0;
}

static void header(uint8_t *out, enum shoal_ctl_type type)
{
	out[0] = (uint8_t)type;
	out[1] = SHOAL_CTL_VERSION;
	out[2] = 0;
	out[3] = 0;
}

void shoal_ctl_mac1_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			const uint8_t public_key[32])
{
	static const char label[] = "shoal mac1 v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SHOAL_CTL_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_generichash_update(&st, public_key, 32);
	crypto_generichash_final(&st, key, SHOAL_CTL_KEY_LEN);
}

static size_t type_len(uint8_t type)
{
	switch (type) {
	case SHOAL_CTL_INIT:
		return SHOAL_CTL_INIT_LEN;
	case SHOAL_CTL_RESPONSE:
		return SHOAL_CTL_RESPONSE_LEN;
	case SHOAL_CTL_CONFIRM:
		return SHOAL_CTL_CONFIRM_LEN;
	case SHOAL_CTL_PING:
	case SHOAL_CTL_PONG:
		return SHOAL_CTL_PING_LEN;
	case SHOAL_CTL_COOKIE_REPLY:
		return SHOAL_CTL_COOKIE_REPLY_LEN;
	}
	return 0;
}

int shoal_ctl_parse(struct shoal_ctl *m, const uint8_t *buf, size_t len,
		    const uint8_t mac1_key[SHOAL_CTL_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	if (len < SHOAL_CTL_HDR_LEN || buf[1] != SHOAL_CTL_VERSION ||
	    buf[2] || buf[3] || !type_len(buf[0]) || len != type_len(buf[0]))
		return -1;
	m->type = buf[0];
	switch (m->type) {
	case SHOAL_CTL_INIT:
		if (!mac_ok(buf, SHOAL_CTL_INIT_MAC1_OFF, mac1_key,
			    SHOAL_CTL_KEY_LEN))
			return -1;
		m->sender_spi = shoal_get_be32(buf + 4);
		m->noise = buf + 8;
		m->noise_len = SHOAL_CTL_NOISE1_LEN;
		break;
	case SHOAL_CTL_RESPONSE:
		if (!mac_ok(buf, len - SHOAL_CTL_MAC_LEN, mac1_key,
			    SHOAL_CTL_KEY_LEN))
			return -1;
		m->sender_spi = shoal_get_be32(buf + 4);
		m->receiver_spi = shoal_get_be32(buf + 8);
		m->noise = buf + 12;
		m->noise_len = SHOAL_CTL_NOISE2_LEN;
		break;
	case SHOAL_CTL_CONFIRM:
		m->sender_spi = shoal_get_be32(buf + 4);
		m->receiver_spi = shoal_get_be32(buf + 8);
		break;
	case SHOAL_CTL_PING:
	case SHOAL_CTL_PONG:
		m->receiver_spi = shoal_get_be32(buf + 4);
		m->ping_id = shoal_get_be64(buf + 8);
		break;
	case SHOAL_CTL_COOKIE_REPLY:
		/* Authenticated by opening it: shoal_ctl_open_cookie_reply. */
		m->receiver_spi = shoal_get_be32(buf + 4);
		break;
	default:
		/* The mediator's messages have codecs of their own. */
		return -1;
	}
	return 0;
}

int shoal_ctl_write_init(uint8_t *out, size_t size, uint32_t sender_spi,
			 const uint8_t noise[SHOAL_CTL_NOISE1_LEN],
			 const uint8_t mac1_key[SHOAL_CTL_KEY_LEN])
{
	if (size < SHOAL_CTL_INIT_LEN)
		return -1;
	header(out, SHOAL_CTL_INIT);
	shoal_put_be32(out + 4, sender_spi);
	memcpy(out + 8, noise, SHOAL_CTL_NOISE1_LEN);
	mac(out + SHOAL_CTL_INIT_MAC1_OFF, out, SHOAL_CTL_INIT_MAC1_OFF,
	    mac1_key, SHOAL_CTL_KEY_LEN);
	shoal_ctl_init_mac2(out, NULL);
	return SHOAL_CTL_INIT_LEN;
}

int shoal_ctl_write_response(uint8_t *out, size_t size, uint32_t sender_spi,
			     uint32_t receiver_spi,
			     const uint8_t noise[SHOAL_CTL_NOISE2_LEN],
			     const uint8_t mac1_key[SHOAL_CTL_KEY_LEN])
{
	if (size < SHOAL_CTL_RESPONSE_LEN)
		return -1;
	header(out, SHOAL_CTL_RESPONSE);
	shoal_put_be32(out + 4, sender_spi);
	shoal_put_be32(out + 8, receiver_spi);
	memcpy(out + 12, noise, SHOAL_CTL_NOISE2_LEN);
	mac(out + SHOAL_CTL_RESPONSE_LEN - SHOAL_CTL_MAC_LEN, out,
	    SHOAL_CTL_RESPONSE_LEN - SHOAL_CTL_MAC_LEN, mac1_key,
	    SHOAL_CTL_KEY_LEN);
	return SHOAL_CTL_RESPONSE_LEN;
}

int shoal_ctl_write_confirm(uint8_t *out, size_t size, uint32_t sender_spi,
			    uint32_t receiver_spi,
			    const uint8_t session_key[SHOAL_CTL_KEY_LEN])
{
	if (size < SHOAL_CTL_CONFIRM_LEN)
		return -1;
	header(out, SHOAL_CTL_CONFIRM);
	shoal_put_be32(out + 4, sender_spi);
	shoal_put_be32(out + 8, receiver_spi);
	mac(out + 12, out, 12, session_key, SHOAL_CTL_KEY_LEN);
	return SHOAL_CTL_CONFIRM_LEN;
}

int shoal_ctl_write_ping(uint8_t *out, size_t size, enum shoal_ctl_type type,
			 uint32_t receiver_spi, uint64_t ping_id,
			 const uint8_t session_key[SHOAL_CTL_KEY_LEN])
{
	if (size < SHOAL_CTL_PING_LEN ||
	    (type != SHOAL_CTL_PING && type != SHOAL_CTL_PONG))
		return -1;
	header(out, type);
	shoal_put_be32(out + 4, receiver_spi);
	shoal_put_be64(out + 8, ping_id);
	mac(out + 16, out, 16, session_key, SHOAL_CTL_KEY_LEN);
	return SHOAL_CTL_PING_LEN;
}

bool shoal_ctl_session_verify(const uint8_t *buf, size_t len,
			      const uint8_t session_key[SHOAL_CTL_KEY_LEN])
{
	return len > SHOAL_CTL_MAC_LEN &&
	       mac_ok(buf, len - SHOAL_CTL_MAC_LEN, session_key,
		      SHOAL_CTL_KEY_LEN);
}

void shoal_ctl_cookie_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			  const uint8_t public_key[32])
{
	static const char label[] = "shoal cookie v2";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SHOAL_CTL_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_generichash_update(&st, public_key, 32);
	crypto_generichash_final(&st, key, SHOAL_CTL_KEY_LEN);
}

void shoal_ctl_cookie(uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
		      const uint8_t secret[SHOAL_CTL_KEY_LEN],
		      const struct shoal_endpoint *from)
{
	/* IPv4 as v4-mapped, so either socket family gives one cookie. */
	uint8_t src[18] = { [10] = 0xff, [11] = 0xff };

	if (from->sa.sa_family == AF_INET) {
		memcpy(src + 12, &from->in.sin_addr, 4);
		memcpy(src + 16, &from->in.sin_port, 2);
	} else if (from->sa.sa_family == AF_INET6) {
		memcpy(src, &from->in6.sin6_addr, 16);
		memcpy(src + 16, &from->in6.sin6_port, 2);
	} else {
		memset(src, 0, sizeof(src));
	}
	mac(cookie, src, sizeof(src), secret, SHOAL_CTL_KEY_LEN);
}

void shoal_ctl_init_mac2(uint8_t init[SHOAL_CTL_INIT_LEN],
			 const uint8_t *cookie)
{
	if (cookie)
		mac(init + SHOAL_CTL_INIT_MAC2_OFF, init,
		    SHOAL_CTL_INIT_MAC2_OFF, cookie, SHOAL_CTL_COOKIE_LEN);
	else
		memset(init + SHOAL_CTL_INIT_MAC2_OFF, 0, SHOAL_CTL_MAC_LEN);
}

bool shoal_ctl_init_mac2_ok(const uint8_t init[SHOAL_CTL_INIT_LEN],
			    const uint8_t cookie[SHOAL_CTL_COOKIE_LEN])
{
	return mac_ok(init, SHOAL_CTL_INIT_MAC2_OFF, cookie,
		      SHOAL_CTL_COOKIE_LEN);
}

int shoal_ctl_write_cookie_reply(uint8_t *out, size_t size,
				 const uint8_t init[SHOAL_CTL_INIT_LEN],
				 const uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
				 const uint8_t cookie_key[SHOAL_CTL_KEY_LEN])
{
	uint8_t *nonce = out + 8;

	if (size < SHOAL_CTL_COOKIE_REPLY_LEN)
		return -1;
	header(out, SHOAL_CTL_COOKIE_REPLY);
	/* The INIT's sender SPI names the handshake it answers. */
	memcpy(out + 4, init + 4, 4);
	randombytes_buf(nonce, SHOAL_CTL_COOKIE_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		nonce + SHOAL_CTL_COOKIE_NONCE_LEN, NULL, cookie,
		SHOAL_CTL_COOKIE_LEN, init + SHOAL_CTL_INIT_MAC1_OFF,
		SHOAL_CTL_MAC_LEN, NULL, nonce, cookie_key);
	return SHOAL_CTL_COOKIE_REPLY_LEN;
}

int shoal_ctl_open_cookie_reply(uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
				const uint8_t *buf, size_t len,
				const uint8_t init[SHOAL_CTL_INIT_LEN],
				const uint8_t cookie_key[SHOAL_CTL_KEY_LEN])
{
	const uint8_t *nonce = buf + 8;

	if (len != SHOAL_CTL_COOKIE_REPLY_LEN ||
	    buf[0] != SHOAL_CTL_COOKIE_REPLY || buf[1] != SHOAL_CTL_VERSION ||
	    buf[2] || buf[3] || memcmp(buf + 4, init + 4, 4) ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, nonce + SHOAL_CTL_COOKIE_NONCE_LEN,
		    SHOAL_CTL_COOKIE_LEN + 16, init + SHOAL_CTL_INIT_MAC1_OFF,
		    SHOAL_CTL_MAC_LEN, nonce, cookie_key) < 0)
		return -1;
	return 0;
}

void shoal_ctl_init_payload(uint8_t out[SHOAL_CTL_INIT_PAYLOAD_LEN],
			    uint32_t spi, const uint8_t tai64n[SHOAL_TAI64N_LEN])
{
	shoal_put_be32(out, spi);
	memcpy(out + 4, tai64n, SHOAL_TAI64N_LEN);
}

void shoal_ctl_response_payload(uint8_t out[SHOAL_CTL_RESPONSE_PAYLOAD_LEN],
				uint32_t spi)
{
	shoal_put_be32(out, spi);
}

uint32_t shoal_ctl_payload_spi(const uint8_t *payload)
{
	return shoal_get_be32(payload);
}

void shoal_tai64n_now(uint8_t out[SHOAL_TAI64N_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	shoal_put_be64(out, 0x400000000000000aULL + (uint64_t)ts.tv_sec);
	shoal_put_be32(out + 8, (uint32_t)ts.tv_nsec);
}

/*
 * Everything a session needs besides the two ChaCha20 keys comes from the
 * chaining key, as Split() does: the handshake hash h is computable by
 * anyone who saw the messages and knows the responder's public key.
 */
#define KEYS_LABEL "shoal control v2 keys"

int shoal_ctl_derive(struct shoal_noise_handshake *hs,
		     struct shoal_ctl_keys *keys)
{
	struct shoal_noise_cipher c1, c2;
	uint8_t extra[SHOAL_NOISE_HASHLEN];
	int ret = -1;

	if (shoal_noise_split_extra(hs, &c1, &c2, (const uint8_t *)KEYS_LABEL,
				    strlen(KEYS_LABEL), extra) < 0)
		goto wipe;
	memcpy(keys->i2r, c1.k, 32);
	memcpy(keys->r2i, c2.k, 32);
	memcpy(keys->session, extra, SHOAL_CTL_KEY_LEN);
	memcpy(keys->i2r + 32, extra + SHOAL_CTL_KEY_LEN, 4);
	memcpy(keys->r2i + 32, extra + SHOAL_CTL_KEY_LEN + 4, 4);
	ret = 0;
wipe:
	shoal_noise_cipher_wipe(&c1);
	shoal_noise_cipher_wipe(&c2);
	sodium_memzero(extra, sizeof(extra));
	return ret;
}

void shoal_ctl_keys_wipe(struct shoal_ctl_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}

static bool header_ok(const uint8_t *buf, size_t len, uint8_t type,
		      size_t want)
{
	return len == want && buf[0] == type && buf[1] == SHOAL_CTL_VERSION &&
	       !buf[2] && !buf[3];
}

int shoal_ctl_token_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			const uint8_t my_private[32],
			const uint8_t their_public[32],
			const uint8_t token[SHOAL_CTL_TOKEN_LEN])
{
	static const char label[] = "shoal udp token";
	crypto_generichash_state st;
	uint8_t dh[crypto_scalarmult_BYTES];

	if (crypto_scalarmult(dh, my_private, their_public) < 0)
		return -1;
	crypto_generichash_init(&st, dh, sizeof(dh), SHOAL_CTL_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_generichash_update(&st, token, SHOAL_CTL_TOKEN_LEN);
	crypto_generichash_final(&st, key, SHOAL_CTL_KEY_LEN);
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int shoal_ctl_write_binding(uint8_t *out, size_t size,
			    const struct shoal_ctl_binding *b,
			    const uint8_t *key)
{
	/* Nothing the parser would refuse: the mediator drops it unanswered. */
	if (size < SHOAL_CTL_BINDING_LEN ||
	    (b->flags & ~(SHOAL_CTL_BIND_OTHER_PORT | SHOAL_CTL_BIND_OTHER_ADDR)) ||
	    (key && sodium_is_zero(b->token, SHOAL_CTL_TOKEN_LEN)))
		return -1;
	header(out, SHOAL_CTL_BINDING);
	out[4] = b->flags;
	memset(out + 5, 0, 3);
	memcpy(out + 8, b->txid, SHOAL_CTL_TXID_LEN);
	if (!key) {
		memset(out + 20, 0, SHOAL_CTL_BINDING_LEN - 20);
		return SHOAL_CTL_BINDING_LEN;
	}
	memcpy(out + 20, b->token, SHOAL_CTL_TOKEN_LEN);
	shoal_put_be64(out + 36, b->counter);
	mac(out + 44, out, 44, key, SHOAL_CTL_KEY_LEN);
	return SHOAL_CTL_BINDING_LEN;
}

int shoal_ctl_parse_binding(struct shoal_ctl_binding *b, const uint8_t *buf,
			    size_t len)
{
	if (!header_ok(buf, len, SHOAL_CTL_BINDING, SHOAL_CTL_BINDING_LEN) ||
	    (buf[4] & ~(SHOAL_CTL_BIND_OTHER_PORT | SHOAL_CTL_BIND_OTHER_ADDR)) ||
	    buf[5] || buf[6] || buf[7])
		return -1;
	/* Anonymous is all zero after the transaction id. */
	if (sodium_is_zero(buf + 20, SHOAL_CTL_TOKEN_LEN) &&
	    !sodium_is_zero(buf + 36, SHOAL_CTL_BINDING_LEN - 36))
		return -1;
	b->flags = buf[4];
	memcpy(b->txid, buf + 8, SHOAL_CTL_TXID_LEN);
	memcpy(b->token, buf + 20, SHOAL_CTL_TOKEN_LEN);
	b->counter = shoal_get_be64(buf + 36);
	return 0;
}

bool shoal_ctl_binding_verify(const uint8_t *buf, size_t len,
			      const uint8_t key[SHOAL_CTL_KEY_LEN])
{
	return len == SHOAL_CTL_BINDING_LEN &&
	       mac_ok(buf, len - SHOAL_CTL_MAC_LEN, key, SHOAL_CTL_KEY_LEN);
}

int shoal_ctl_write_binding_reply(uint8_t *out, size_t size,
				  const struct shoal_ctl_binding_reply *r)
{
	const struct shoal_endpoint *ep = &r->mapped;
	const struct sockaddr_in6 *in6 = &ep->in6;

	if (size < SHOAL_CTL_BINDING_REPLY_LEN)
		return -1;
	memset(out, 0, SHOAL_CTL_BINDING_REPLY_LEN);
	header(out, SHOAL_CTL_BINDING_REPLY);
	out[5] = r->flags;
	if (ep->sa.sa_family == AF_INET &&
	    ep->len >= sizeof(struct sockaddr_in)) {
		out[4] = 4;
		shoal_put_be16(out + 6, ntohs(ep->in.sin_port));
		memcpy(out + 8, &ep->in.sin_addr, 4);
	} else if (ep->sa.sa_family == AF_INET6 &&
		   ep->len >= sizeof(struct sockaddr_in6)) {
		/* A v4-mapped source is an IPv4 client on a dual-stack socket. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out[4] = 4;
			memcpy(out + 8, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out[4] = 6;
			memcpy(out + 8, &in6->sin6_addr, 16);
		}
		shoal_put_be16(out + 6, ntohs(in6->sin6_port));
	} else {
		return -1;
	}
	memcpy(out + 24, r->txid, SHOAL_CTL_TXID_LEN);
	return SHOAL_CTL_BINDING_REPLY_LEN;
}

int shoal_ctl_parse_binding_reply(struct shoal_ctl_binding_reply *r,
				  const uint8_t *buf, size_t len)
{
	static const uint8_t zero[12];

	memset(r, 0, sizeof(*r));
	if (!header_ok(buf, len, SHOAL_CTL_BINDING_REPLY,
		       SHOAL_CTL_BINDING_REPLY_LEN))
		return -1;
	r->flags = buf[5];
	if (buf[4] == 4 && !memcmp(buf + 12, zero, 12)) {
		r->mapped.in.sin_family = AF_INET;
		r->mapped.in.sin_port = htons(shoal_get_be16(buf + 6));
		memcpy(&r->mapped.in.sin_addr, buf + 8, 4);
		r->mapped.len = sizeof(struct sockaddr_in);
	} else if (buf[4] == 6) {
		r->mapped.in6.sin6_family = AF_INET6;
		r->mapped.in6.sin6_port = htons(shoal_get_be16(buf + 6));
		memcpy(&r->mapped.in6.sin6_addr, buf + 8, 16);
		r->mapped.len = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	memcpy(r->txid, buf + 24, SHOAL_CTL_TXID_LEN);
	return 0;
}

/* The length of a relay message of type, 0 for another type. */
static size_t relay_len(enum shoal_ctl_type type)
{
	switch (type) {
	case SHOAL_CTL_RELAY_BIND:
		return SHOAL_CTL_RELAY_BIND_LEN;
	case SHOAL_CTL_RELAY_CHALLENGE:
		return SHOAL_CTL_RELAY_CHALLENGE_LEN;
	case SHOAL_CTL_RELAY_BOUND:
		return SHOAL_CTL_RELAY_BOUND_LEN;
	default:
		return 0;
	}
}

int shoal_ctl_write_relay(uint8_t *out, size_t size, enum shoal_ctl_type type,
			  uint32_t relay_id, uint64_t counter,
			  const uint8_t *cookie,
			  const uint8_t key[SHOAL_CTL_RELAY_KEY_LEN])
{
	size_t len = relay_len(type);

	if (!len || size < len)
		return -1;
	header(out, type);
	shoal_put_be32(out + 4, relay_id);
	shoal_put_be64(out + 8, counter);
	/* BIND and CHALLENGE carry a cookie before the MAC. */
	if (len > 16 + SHOAL_CTL_MAC_LEN) {
		if (cookie)
			memcpy(out + 16, cookie, SHOAL_CTL_RELAY_COOKIE_LEN);
		else
			memset(out + 16, 0, SHOAL_CTL_RELAY_COOKIE_LEN);
	}
	mac(out + len - SHOAL_CTL_MAC_LEN, out, len - SHOAL_CTL_MAC_LEN, key,
	    SHOAL_CTL_RELAY_KEY_LEN);
	return (int)len;
}

int shoal_ctl_parse_relay(const uint8_t *buf, size_t len,
			  enum shoal_ctl_type type, uint32_t *relay_id,
			  uint64_t *counter, uint8_t *cookie)
{
	size_t want = relay_len(type);

	if (!want || !header_ok(buf, len, type, want))
		return -1;
	*relay_id = shoal_get_be32(buf + 4);
	*counter = shoal_get_be64(buf + 8);
	if (cookie && want > 16 + SHOAL_CTL_MAC_LEN)
		memcpy(cookie, buf + 16, SHOAL_CTL_RELAY_COOKIE_LEN);
	else if (cookie)
		memset(cookie, 0, SHOAL_CTL_RELAY_COOKIE_LEN);
	return 0;
}

bool shoal_ctl_relay_verify(const uint8_t *buf, size_t len,
			    const uint8_t key[SHOAL_CTL_RELAY_KEY_LEN])
{
	return len > SHOAL_CTL_MAC_LEN && len >= SHOAL_CTL_HDR_LEN &&
	       relay_len((enum shoal_ctl_type)buf[0]) == len &&
	       mac_ok(buf, len - SHOAL_CTL_MAC_LEN, key,
		      SHOAL_CTL_RELAY_KEY_LEN);
}
