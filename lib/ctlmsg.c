// SPDX-License-Identifier: MIT
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "be.h"
#include "ctlmsg.h"

/* Keyed BLAKE2b-128 of everything before the MAC, written after it. */
static void mac(uint8_t *msg, size_t len_before_mac,
		const uint8_t key[SHOAL_CTL_KEY_LEN])
{
	crypto_generichash(msg + len_before_mac, SHOAL_CTL_MAC_LEN, msg,
			   len_before_mac, key, SHOAL_CTL_KEY_LEN);
}

static bool mac_ok(const uint8_t *msg, size_t len,
		   const uint8_t key[SHOAL_CTL_KEY_LEN])
{
	uint8_t want[SHOAL_CTL_MAC_LEN];

	crypto_generichash(want, sizeof(want), msg, len - SHOAL_CTL_MAC_LEN,
			   key, SHOAL_CTL_KEY_LEN);
	return sodium_memcmp(want, msg + len - SHOAL_CTL_MAC_LEN,
			     SHOAL_CTL_MAC_LEN) == 0;
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
		if (!mac_ok(buf, len, mac1_key))
			return -1;
		m->sender_spi = shoal_get_be32(buf + 4);
		m->noise = buf + 8;
		m->noise_len = SHOAL_CTL_NOISE1_LEN;
		break;
	case SHOAL_CTL_RESPONSE:
		if (!mac_ok(buf, len, mac1_key))
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
	mac(out, SHOAL_CTL_INIT_LEN - SHOAL_CTL_MAC_LEN, mac1_key);
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
	mac(out, SHOAL_CTL_RESPONSE_LEN - SHOAL_CTL_MAC_LEN, mac1_key);
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
	mac(out, SHOAL_CTL_CONFIRM_LEN - SHOAL_CTL_MAC_LEN, session_key);
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
	mac(out, SHOAL_CTL_PING_LEN - SHOAL_CTL_MAC_LEN, session_key);
	return SHOAL_CTL_PING_LEN;
}

bool shoal_ctl_session_verify(const uint8_t *buf, size_t len,
			      const uint8_t session_key[SHOAL_CTL_KEY_LEN])
{
	return len > SHOAL_CTL_MAC_LEN && mac_ok(buf, len, session_key);
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

/* BLAKE2b keyed by the handshake hash: binds each output to this session. */
static void from_hash(uint8_t *out, size_t len,
		      const uint8_t h[SHOAL_NOISE_HASHLEN], const char *label)
{
	crypto_generichash(out, len, (const uint8_t *)label, strlen(label), h,
			   SHOAL_NOISE_HASHLEN);
}

int shoal_ctl_derive(struct shoal_noise_handshake *hs,
		     struct shoal_ctl_keys *keys)
{
	struct shoal_noise_cipher c1, c2;
	uint8_t h[SHOAL_NOISE_HASHLEN];
	int ret = -1;

	if (shoal_noise_handshake_hash(hs, h) < 0 ||
	    shoal_noise_split(hs, &c1, &c2) < 0)
		goto wipe;
	memcpy(keys->i2r, c1.k, 32);
	memcpy(keys->r2i, c2.k, 32);
	from_hash(keys->i2r + 32, 4, h, "shoal salt i2r");
	from_hash(keys->r2i + 32, 4, h, "shoal salt r2i");
	from_hash(keys->session, SHOAL_CTL_KEY_LEN, h, "shoal session");
	ret = 0;
wipe:
	shoal_noise_cipher_wipe(&c1);
	shoal_noise_cipher_wipe(&c2);
	sodium_memzero(h, sizeof(h));
	return ret;
}

void shoal_ctl_keys_wipe(struct shoal_ctl_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}
