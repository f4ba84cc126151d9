// SPDX-License-Identifier: MIT
/*
 * The control packet codec and the key derivation of a whole handshake;
 * the mediator's UDP messages (BINDING, BINDING_REPLY, RELAY_BIND,
 * RELAY_BOUND).
 */
#include <arpa/inet.h>
#include <string.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "ctlmsg.h"
#include "key.h"

struct party {
	uint8_t priv[32], pub[32], mac1[SHOAL_CTL_KEY_LEN];
};

static void party(struct party *p)
{
	shoal_key_generate(p->priv);
	shoal_key_public(p->pub, p->priv);
	shoal_ctl_mac1_key(p->mac1, p->pub);
}

static int start(struct shoal_noise_handshake *hs, bool initiator,
		 const struct party *self, const uint8_t *rs)
{
	return shoal_noise_handshake_init(hs, SHOAL_NOISE_IK, initiator,
					  (const uint8_t *)SHOAL_CTL_PROLOGUE,
					  strlen(SHOAL_CTL_PROLOGUE),
					  self->priv, NULL, rs, NULL);
}

FIXTURE(hs) {
	struct party a, b;
	uint8_t init[SHOAL_CTL_INIT_LEN];
	struct shoal_noise_handshake ha;
};

FIXTURE_SETUP(hs)
{
	uint8_t payload[SHOAL_CTL_INIT_PAYLOAD_LEN], ts[SHOAL_TAI64N_LEN];
	uint8_t noise[SHOAL_CTL_NOISE1_LEN];
	size_t len;

	ASSERT_EQ(0, sodium_init() < 0);
	party(&self->a);
	party(&self->b);
	ASSERT_EQ(0, start(&self->ha, true, &self->a, self->b.pub));
	shoal_tai64n_now(ts);
	shoal_ctl_init_payload(payload, 0x1234, ts);
	ASSERT_EQ(0, shoal_noise_write_message(&self->ha, payload,
					       sizeof(payload), noise,
					       sizeof(noise), &len));
	ASSERT_EQ(sizeof(noise), len);
	ASSERT_EQ(SHOAL_CTL_INIT_LEN,
		  shoal_ctl_write_init(self->init, sizeof(self->init), 0x1234,
				       noise, self->b.mac1));
}

FIXTURE_TEARDOWN(hs)
{
	shoal_noise_handshake_wipe(&self->ha);
}

TEST_F(hs, full_handshake_agrees)
{
	uint8_t payload[SHOAL_CTL_INIT_PAYLOAD_LEN], rs[32];
	uint8_t noise[SHOAL_CTL_NOISE2_LEN], resp[SHOAL_CTL_RESPONSE_LEN];
	uint8_t msg[SHOAL_CTL_PING_LEN];
	struct shoal_ctl_keys ka, kb;
	struct shoal_noise_handshake hb;
	struct shoal_ctl m;
	size_t len;

	ASSERT_EQ(0, shoal_ctl_parse(&m, self->init, sizeof(self->init),
				     self->b.mac1));
	EXPECT_EQ((int)SHOAL_CTL_INIT, (int)m.type);
	EXPECT_EQ(0x1234u, m.sender_spi);
	ASSERT_EQ(0, start(&hb, false, &self->b, NULL));
	ASSERT_EQ(0, shoal_noise_read_message(&hb, m.noise, m.noise_len,
					      payload, sizeof(payload), &len));
	ASSERT_EQ(sizeof(payload), len);
	EXPECT_EQ(0x1234u, shoal_ctl_payload_spi(payload));
	ASSERT_EQ(0, shoal_noise_remote_static(&hb, rs));
	EXPECT_EQ(0, memcmp(rs, self->a.pub, 32));

	shoal_ctl_response_payload(payload, 0x5678);
	ASSERT_EQ(0, shoal_noise_write_message(&hb, payload, 4, noise,
					       sizeof(noise), &len));
	ASSERT_EQ(SHOAL_CTL_RESPONSE_LEN,
		  shoal_ctl_write_response(resp, sizeof(resp), 0x5678, 0x1234,
					   noise, self->a.mac1));
	ASSERT_EQ(0, shoal_ctl_derive(&hb, &kb));

	ASSERT_EQ(0, shoal_ctl_parse(&m, resp, sizeof(resp), self->a.mac1));
	EXPECT_EQ(0x5678u, m.sender_spi);
	EXPECT_EQ(0x1234u, m.receiver_spi);
	ASSERT_EQ(0, shoal_noise_read_message(&self->ha, m.noise, m.noise_len,
					      payload, sizeof(payload), &len));
	EXPECT_EQ(0x5678u, shoal_ctl_payload_spi(payload));
	ASSERT_EQ(0, shoal_ctl_derive(&self->ha, &ka));

	EXPECT_EQ(0, memcmp(&ka, &kb, sizeof(ka)));
	/* Two directions, two keys and two salts. */
	EXPECT_NE(0, memcmp(ka.i2r, ka.r2i, 32));
	EXPECT_NE(0, memcmp(ka.i2r + 32, ka.r2i + 32, 4));

	ASSERT_EQ(SHOAL_CTL_PING_LEN,
		  shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PING,
				       0x5678, 42, ka.session));
	ASSERT_EQ(0, shoal_ctl_parse(&m, msg, sizeof(msg), self->b.mac1));
	EXPECT_EQ(42u, m.ping_id);
	EXPECT_TRUE(shoal_ctl_session_verify(msg, sizeof(msg), kb.session));
	msg[9] ^= 1;
	EXPECT_FALSE(shoal_ctl_session_verify(msg, sizeof(msg), kb.session));
	shoal_ctl_keys_wipe(&ka);
	shoal_ctl_keys_wipe(&kb);
	shoal_noise_handshake_wipe(&hb);
}

/* BLAKE2b-512 of a || b: Noise's MixHash, as an observer computes it. */
static void mix_hash(uint8_t h[64], const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, 64);
	crypto_generichash_blake2b_update(&st, h, 64);
	crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, h, 64);
}

/*
 * Someone who saw the INIT and the RESPONSE and knows both public keys
 * has the handshake hash h: it is a hash of public bytes only.  No key
 * that carries the session's authority may follow from it.  The observer
 * recomputes h from the wire bytes (and checks it has the real one),
 * then forges CONFIRM, PING and PONG with every key h yields under the
 * labels shoal has ever used; none may verify.
 */
TEST_F(hs, observer_cannot_forge_session_macs)
{
	static const char *const labels[] = {
		"shoal session", "shoal session v1", "shoal session v2",
		"shoal control", "shoal salt i2r", "shoal salt r2i",
	};
	static const char name[] = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
	uint8_t payload[SHOAL_CTL_INIT_PAYLOAD_LEN], h[64], real_h[64];
	uint8_t noise[SHOAL_CTL_NOISE2_LEN], resp[SHOAL_CTL_RESPONSE_LEN];
	uint8_t forged_key[SHOAL_CTL_KEY_LEN], msg[SHOAL_CTL_PING_LEN];
	struct shoal_ctl_keys ka, kb;
	struct shoal_noise_handshake hb;
	struct shoal_ctl m;
	size_t len, i;

	ASSERT_EQ(0, shoal_ctl_parse(&m, self->init, sizeof(self->init),
				     self->b.mac1));
	ASSERT_EQ(0, start(&hb, false, &self->b, NULL));
	ASSERT_EQ(0, shoal_noise_read_message(&hb, m.noise, m.noise_len,
					      payload, sizeof(payload), &len));
	shoal_ctl_response_payload(payload, 0x5678);
	ASSERT_EQ(0, shoal_noise_write_message(&hb, payload, 4, noise,
					       sizeof(noise), &len));
	ASSERT_EQ(SHOAL_CTL_RESPONSE_LEN,
		  shoal_ctl_write_response(resp, sizeof(resp), 0x5678, 0x1234,
					   noise, self->a.mac1));
	ASSERT_EQ(0, shoal_noise_handshake_hash(&hb, real_h));
	ASSERT_EQ(0, shoal_ctl_derive(&hb, &kb));
	ASSERT_EQ(0, shoal_ctl_parse(&m, resp, sizeof(resp), self->a.mac1));
	ASSERT_EQ(0, shoal_noise_read_message(&self->ha, m.noise, m.noise_len,
					      payload, sizeof(payload), &len));
	ASSERT_EQ(0, shoal_ctl_derive(&self->ha, &ka));
	ASSERT_EQ(0, memcmp(&ka, &kb, sizeof(ka)));

	/* h from the protocol name, the prologue, B's key and the wire. */
	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	mix_hash(h, (const uint8_t *)SHOAL_CTL_PROLOGUE,
		 strlen(SHOAL_CTL_PROLOGUE));
	mix_hash(h, self->b.pub, 32);
	mix_hash(h, self->init + 8, 32);		/* e */
	mix_hash(h, self->init + 8 + 32, 48);		/* s, encrypted */
	mix_hash(h, self->init + 8 + 80, 32);		/* payload */
	mix_hash(h, resp + 12, 32);			/* e */
	mix_hash(h, resp + 12 + 32, 20);		/* payload */
	ASSERT_EQ(0, memcmp(h, real_h, sizeof(h)));

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		crypto_generichash(forged_key, sizeof(forged_key),
				   (const uint8_t *)labels[i],
				   strlen(labels[i]), h, sizeof(h));
		ASSERT_EQ(SHOAL_CTL_CONFIRM_LEN,
			  shoal_ctl_write_confirm(msg, sizeof(msg), 0x1234,
						  0x5678, forged_key));
		EXPECT_FALSE(shoal_ctl_session_verify(msg,
						      SHOAL_CTL_CONFIRM_LEN,
						      kb.session))
			TH_LOG("a CONFIRM keyed by h (\"%s\") verifies",
			       labels[i]);
		ASSERT_EQ(SHOAL_CTL_PING_LEN,
			  shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PING,
					       0x5678, 7, forged_key));
		EXPECT_FALSE(shoal_ctl_session_verify(msg, sizeof(msg),
						      kb.session))
			TH_LOG("a PING keyed by h (\"%s\") verifies",
			       labels[i]);
		ASSERT_EQ(SHOAL_CTL_PING_LEN,
			  shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PONG,
					       0x1234, 7, forged_key));
		EXPECT_FALSE(shoal_ctl_session_verify(msg, sizeof(msg),
						      ka.session))
			TH_LOG("a PONG keyed by h (\"%s\") verifies",
			       labels[i]);
		/* Nor may the salts be what h gives. */
		crypto_generichash(forged_key, 4, (const uint8_t *)labels[i],
				   strlen(labels[i]), h, sizeof(h));
		EXPECT_NE(0, memcmp(forged_key, ka.i2r + 32, 4))
			TH_LOG("salt i2r from h (\"%s\")", labels[i]);
		EXPECT_NE(0, memcmp(forged_key, ka.r2i + 32, 4))
			TH_LOG("salt r2i from h (\"%s\")", labels[i]);
	}
	/* The real key does verify: the check above can fail. */
	ASSERT_EQ(SHOAL_CTL_PING_LEN,
		  shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PING,
				       0x5678, 7, ka.session));
	EXPECT_TRUE(shoal_ctl_session_verify(msg, sizeof(msg), kb.session));
	sodium_memzero(forged_key, sizeof(forged_key));
	shoal_ctl_keys_wipe(&ka);
	shoal_ctl_keys_wipe(&kb);
	shoal_noise_handshake_wipe(&hb);
}

TEST_F(hs, mac1_checked_first)
{
	uint8_t bad[SHOAL_CTL_INIT_LEN];
	struct shoal_ctl m;
	size_t i;

	/* Keyed by the responder's key: anyone else's rejects it. */
	EXPECT_EQ(-1, shoal_ctl_parse(&m, self->init, sizeof(self->init),
				      self->a.mac1));
	for (i = 0; i < SHOAL_CTL_INIT_MAC2_OFF; i++) {
		memcpy(bad, self->init, sizeof(bad));
		bad[i] ^= 0x80;
		EXPECT_EQ(-1, shoal_ctl_parse(&m, bad, sizeof(bad),
					      self->b.mac1))
			TH_LOG("byte %zu", i);
	}
	/* MAC2 is checked on its own, and only under load. */
	memcpy(bad, self->init, sizeof(bad));
	bad[SHOAL_CTL_INIT_MAC2_OFF] ^= 0x80;
	EXPECT_EQ(0, shoal_ctl_parse(&m, bad, sizeof(bad), self->b.mac1));
}

static void endpoint4(struct shoal_endpoint *ep, const char *addr,
		      uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	ep->in.sin_port = htons(port);
	inet_pton(AF_INET, addr, &ep->in.sin_addr);
	ep->len = sizeof(ep->in);
}

/*
 * A cookie goes from B to the sender of an INIT, sealed to that INIT;
 * the sender's next INIT carries it in MAC2, which B checks against the
 * source it sees.
 */
TEST_F(hs, cookie_round_trip)
{
	uint8_t secret[SHOAL_CTL_KEY_LEN], cookie_key[SHOAL_CTL_KEY_LEN];
	uint8_t wrong_key[SHOAL_CTL_KEY_LEN];
	uint8_t cookie[SHOAL_CTL_COOKIE_LEN], got[SHOAL_CTL_COOKIE_LEN];
	uint8_t other[SHOAL_CTL_COOKIE_LEN], init[SHOAL_CTL_INIT_LEN];
	uint8_t reply[SHOAL_CTL_COOKIE_REPLY_LEN + 1], bad[sizeof(reply)];
	struct shoal_endpoint from, moved;
	struct shoal_ctl m;
	size_t i;

	randombytes_buf(secret, sizeof(secret));
	endpoint4(&from, "192.0.2.7", 40000);
	shoal_ctl_cookie(cookie, secret, &from);
	/* The INIT as written carries no cookie: MAC2 is zero. */
	for (i = 0; i < SHOAL_CTL_MAC_LEN; i++)
		EXPECT_EQ(0, self->init[SHOAL_CTL_INIT_MAC2_OFF + i]);
	EXPECT_FALSE(shoal_ctl_init_mac2_ok(self->init, cookie));

	shoal_ctl_cookie_key(cookie_key, self->b.pub);
	ASSERT_EQ(SHOAL_CTL_COOKIE_REPLY_LEN,
		  shoal_ctl_write_cookie_reply(reply, sizeof(reply),
					       self->init, cookie,
					       cookie_key));
	EXPECT_EQ(-1, shoal_ctl_write_cookie_reply(reply,
						   SHOAL_CTL_COOKIE_REPLY_LEN - 1,
						   self->init, cookie,
						   cookie_key));
	ASSERT_EQ(0, shoal_ctl_parse(&m, reply, SHOAL_CTL_COOKIE_REPLY_LEN,
				     self->a.mac1));
	EXPECT_EQ((int)SHOAL_CTL_COOKIE_REPLY, (int)m.type);
	EXPECT_EQ(0x1234u, m.receiver_spi);
	ASSERT_EQ(0, shoal_ctl_open_cookie_reply(got, reply,
						 SHOAL_CTL_COOKIE_REPLY_LEN,
						 self->init, cookie_key));
	EXPECT_EQ(0, memcmp(got, cookie, sizeof(cookie)));

	memcpy(init, self->init, sizeof(init));
	shoal_ctl_init_mac2(init, got);
	EXPECT_EQ(0, shoal_ctl_parse(&m, init, sizeof(init), self->b.mac1));
	EXPECT_TRUE(shoal_ctl_init_mac2_ok(init, cookie));
	/* Another source port, another cookie: a spoofer gets nothing. */
	moved = from;
	moved.in.sin_port = htons(40001);
	shoal_ctl_cookie(other, secret, &moved);
	EXPECT_FALSE(shoal_ctl_init_mac2_ok(init, other));
	/* The same IPv4 source seen on a dual-stack socket: one cookie. */
	memset(&moved, 0, sizeof(moved));
	moved.in6.sin6_family = AF_INET6;
	moved.in6.sin6_port = htons(40000);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &moved.in6.sin6_addr);
	moved.len = sizeof(moved.in6);
	shoal_ctl_cookie(other, secret, &moved);
	EXPECT_EQ(0, memcmp(other, cookie, sizeof(cookie)));
	/* A new secret (every two minutes) ends the cookie. */
	secret[0] ^= 1;
	shoal_ctl_cookie(other, secret, &from);
	EXPECT_FALSE(shoal_ctl_init_mac2_ok(init, other));

	/* The reply fits only the INIT it answers, under B's key. */
	memcpy(init, self->init, sizeof(init));
	init[SHOAL_CTL_INIT_MAC1_OFF] ^= 1;
	EXPECT_EQ(-1, shoal_ctl_open_cookie_reply(got, reply,
						  SHOAL_CTL_COOKIE_REPLY_LEN,
						  init, cookie_key));
	memcpy(init, self->init, sizeof(init));
	init[4] ^= 1;
	EXPECT_EQ(-1, shoal_ctl_open_cookie_reply(got, reply,
						  SHOAL_CTL_COOKIE_REPLY_LEN,
						  init, cookie_key));
	shoal_ctl_cookie_key(wrong_key, self->a.pub);
	EXPECT_EQ(-1, shoal_ctl_open_cookie_reply(got, reply,
						  SHOAL_CTL_COOKIE_REPLY_LEN,
						  self->init, wrong_key));
	for (i = 0; i < SHOAL_CTL_COOKIE_REPLY_LEN; i++) {
		memcpy(bad, reply, sizeof(bad));
		bad[i] ^= 0x01;
		EXPECT_EQ(-1, shoal_ctl_open_cookie_reply(
				      got, bad, SHOAL_CTL_COOKIE_REPLY_LEN,
				      self->init, cookie_key))
			TH_LOG("byte %zu", i);
	}
	EXPECT_EQ(-1, shoal_ctl_open_cookie_reply(got, reply,
						  SHOAL_CTL_COOKIE_REPLY_LEN + 1,
						  self->init, cookie_key));
	EXPECT_EQ(-1, shoal_ctl_parse(&m, reply, SHOAL_CTL_COOKIE_REPLY_LEN - 1,
				      self->a.mac1));
}

TEST_F(hs, lengths_and_header)
{
	uint8_t buf[SHOAL_CTL_INIT_LEN + 1];
	struct shoal_ctl m;
	size_t len;

	memcpy(buf, self->init, sizeof(self->init));
	for (len = 0; len <= sizeof(buf); len++)
		if (len != SHOAL_CTL_INIT_LEN)
			EXPECT_EQ(-1, shoal_ctl_parse(&m, buf, len,
						      self->b.mac1));
	buf[0] = 9;
	EXPECT_EQ(-1, shoal_ctl_parse(&m, buf, SHOAL_CTL_INIT_LEN,
				      self->b.mac1));
}

TEST(tai64n_increases)
{
	uint8_t a[SHOAL_TAI64N_LEN], b[SHOAL_TAI64N_LEN];

	shoal_tai64n_now(a);
	usleep(1000);
	shoal_tai64n_now(b);
	EXPECT_LT(0, memcmp(b, a, sizeof(a)));
	EXPECT_EQ(0x40, a[0]);
}

/* ----- the mediator's UDP messages ----- */

static void binding_sample(struct shoal_ctl_binding *b, uint8_t flags)
{
	b->flags = flags;
	randombytes_buf(b->txid, sizeof(b->txid));
	randombytes_buf(b->token, sizeof(b->token));
	b->counter = 0x1112131415161718ULL;
}

TEST(binding_round_trip)
{
	static const uint8_t flags[] = { 0, 0x01, 0x02, 0x03 };
	uint8_t buf[SHOAL_CTL_BINDING_LEN + 8], key[SHOAL_CTL_KEY_LEN];
	uint8_t mac[SHOAL_CTL_MAC_LEN];
	struct shoal_ctl_binding b, got;
	size_t i;

	randombytes_buf(key, sizeof(key));
	for (i = 0; i < sizeof(flags); i++) {
		binding_sample(&b, flags[i]);
		ASSERT_EQ(SHOAL_CTL_BINDING_LEN,
			  shoal_ctl_write_binding(buf, sizeof(buf), &b, key));
		/* The wire layout of docs/protocol.md, byte for byte. */
		EXPECT_EQ(SHOAL_CTL_BINDING, buf[0]);
		EXPECT_EQ(2, buf[1]);
		EXPECT_EQ(0, buf[2] | buf[3] | buf[5] | buf[6] | buf[7]);
		EXPECT_EQ(flags[i], buf[4]);
		EXPECT_EQ(0, memcmp(buf + 8, b.txid, 12));
		EXPECT_EQ(0, memcmp(buf + 20, b.token, 16));
		EXPECT_EQ(0x11, buf[36]);
		EXPECT_EQ(0x18, buf[43]);
		/* Keyed BLAKE2b-128 of bytes 0..43. */
		crypto_generichash(mac, sizeof(mac), buf, 44, key, sizeof(key));
		EXPECT_EQ(0, memcmp(mac, buf + 44, sizeof(mac)));
		memset(&got, 0xee, sizeof(got));
		ASSERT_EQ(0, shoal_ctl_parse_binding(&got, buf,
						     SHOAL_CTL_BINDING_LEN));
		EXPECT_EQ(b.flags, got.flags);
		EXPECT_EQ(0, memcmp(b.txid, got.txid, sizeof(b.txid)));
		EXPECT_EQ(0, memcmp(b.token, got.token, sizeof(b.token)));
		EXPECT_EQ(b.counter, got.counter);
		EXPECT_TRUE(shoal_ctl_binding_verify(buf, SHOAL_CTL_BINDING_LEN,
						     key));
	}
	/* Anonymous: zero from the token on. */
	ASSERT_EQ(SHOAL_CTL_BINDING_LEN,
		  shoal_ctl_write_binding(buf, sizeof(buf), &b, NULL));
	for (i = 20; i < SHOAL_CTL_BINDING_LEN; i++)
		EXPECT_EQ(0, buf[i]) TH_LOG("byte %zu", i);
	ASSERT_EQ(0, shoal_ctl_parse_binding(&got, buf, SHOAL_CTL_BINDING_LEN));
	EXPECT_EQ(0u, got.counter);
	EXPECT_EQ(-1, shoal_ctl_write_binding(buf, SHOAL_CTL_BINDING_LEN - 1,
					      &b, key));
	/* Nor does it write what the parser refuses. */
	b.flags = 0x04;
	EXPECT_EQ(-1, shoal_ctl_write_binding(buf, sizeof(buf), &b, NULL));
	b.flags = 0;
	memset(b.token, 0, sizeof(b.token));
	EXPECT_EQ(-1, shoal_ctl_write_binding(buf, sizeof(buf), &b, key));
}

TEST(binding_rejects)
{
	uint8_t good[SHOAL_CTL_BINDING_LEN + 1], buf[SHOAL_CTL_BINDING_LEN + 1];
	uint8_t key[SHOAL_CTL_KEY_LEN], other[SHOAL_CTL_KEY_LEN];
	struct shoal_ctl_binding b;
	size_t len;
	int bit;

	randombytes_buf(key, sizeof(key));
	memcpy(other, key, sizeof(key));
	other[0] ^= 1;
	binding_sample(&b, 0x03);
	ASSERT_EQ(SHOAL_CTL_BINDING_LEN,
		  shoal_ctl_write_binding(good, sizeof(good), &b, key));
	good[SHOAL_CTL_BINDING_LEN] = 0;
	/* Every length but 60. */
	for (len = 0; len <= sizeof(good); len++)
		if (len != SHOAL_CTL_BINDING_LEN)
			EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, good, len))
				TH_LOG("length %zu", len);
	/* Type, version, the reserved header bytes. */
	memcpy(buf, good, sizeof(buf));
	buf[0] = SHOAL_CTL_BINDING_REPLY;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[1] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[2] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[3] = 0x80;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	/* Flags other than 0x01 and 0x02, one bit at a time. */
	for (bit = 2; bit < 8; bit++) {
		memcpy(buf, good, sizeof(buf));
		buf[4] |= (uint8_t)(1 << bit);
		EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf,
						      SHOAL_CTL_BINDING_LEN))
			TH_LOG("flag bit %d", bit);
	}
	/* The three zero bytes after the flags. */
	for (len = 5; len < 8; len++) {
		memcpy(buf, good, sizeof(buf));
		buf[len] = 1;
		EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf,
						      SHOAL_CTL_BINDING_LEN))
			TH_LOG("byte %zu", len);
	}
	/* Anonymous with a counter or a MAC: not a form that exists. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, good, 20);
	buf[40] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	buf[40] = 0;
	buf[59] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding(&b, buf, SHOAL_CTL_BINDING_LEN));
	/* Another key; any bit flipped anywhere. */
	EXPECT_FALSE(shoal_ctl_binding_verify(good, SHOAL_CTL_BINDING_LEN,
					      other));
	for (bit = 0; bit < SHOAL_CTL_BINDING_LEN * 8; bit++) {
		memcpy(buf, good, sizeof(buf));
		buf[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		EXPECT_FALSE(shoal_ctl_binding_verify(buf,
						      SHOAL_CTL_BINDING_LEN,
						      key))
			TH_LOG("bit %d", bit);
	}
	/* The control codec does not take it for one of its own. */
	EXPECT_EQ(-1, shoal_ctl_parse(&(struct shoal_ctl){ 0 }, good,
				      SHOAL_CTL_BINDING_LEN, good + 4));
}

/* Both sides of a login get the same token key; nobody else does. */
TEST(token_key)
{
	uint8_t a_priv[32], a_pub[32], s_priv[32], s_pub[32], x_priv[32];
	uint8_t token[SHOAL_CTL_TOKEN_LEN], k1[32], k2[32], k3[32];
	static const uint8_t low_order[32] = { 0 };

	crypto_box_keypair(a_pub, a_priv);
	crypto_box_keypair(s_pub, s_priv);
	randombytes_buf(x_priv, sizeof(x_priv));
	randombytes_buf(token, sizeof(token));
	ASSERT_EQ(0, shoal_ctl_token_key(k1, a_priv, s_pub, token));
	ASSERT_EQ(0, shoal_ctl_token_key(k2, s_priv, a_pub, token));
	EXPECT_EQ(0, memcmp(k1, k2, 32));
	ASSERT_EQ(0, shoal_ctl_token_key(k3, x_priv, s_pub, token));
	EXPECT_NE(0, memcmp(k1, k3, 32));
	token[0] ^= 1;
	ASSERT_EQ(0, shoal_ctl_token_key(k3, a_priv, s_pub, token));
	EXPECT_NE(0, memcmp(k1, k3, 32));
	EXPECT_EQ(-1, shoal_ctl_token_key(k3, a_priv, low_order, token));
}

static void ep4(struct shoal_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	ep->in.sin_port = htons(port);
	inet_pton(AF_INET, addr, &ep->in.sin_addr);
	ep->len = sizeof(ep->in);
}

static void ep6(struct shoal_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in6.sin6_family = AF_INET6;
	ep->in6.sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &ep->in6.sin6_addr);
	ep->len = sizeof(ep->in6);
}

TEST(binding_reply_round_trip)
{
	static const uint8_t zero[12];
	uint8_t buf[SHOAL_CTL_BINDING_REPLY_LEN], a6[16];
	struct shoal_ctl_binding_reply r, got;

	memset(&r, 0, sizeof(r));
	randombytes_buf(r.txid, sizeof(r.txid));
	r.flags = SHOAL_CTL_BIND_KNOWN | SHOAL_CTL_BIND_UNCHANGED | 0x02;

	/* IPv4: family 4, the port, 4 bytes, 12 zero bytes, the txid. */
	ep4(&r.mapped, "203.0.113.7", 40000);
	ASSERT_EQ(SHOAL_CTL_BINDING_REPLY_LEN,
		  shoal_ctl_write_binding_reply(buf, sizeof(buf), &r));
	EXPECT_EQ(SHOAL_CTL_BINDING_REPLY, buf[0]);
	EXPECT_EQ(2, buf[1]);
	EXPECT_EQ(0, buf[2] | buf[3]);
	EXPECT_EQ(4, buf[4]);
	EXPECT_EQ(r.flags, buf[5]);
	EXPECT_EQ(40000, buf[6] << 8 | buf[7]);
	EXPECT_EQ(203, buf[8]);
	EXPECT_EQ(7, buf[11]);
	EXPECT_EQ(0, memcmp(buf + 12, zero, 12));
	EXPECT_EQ(0, memcmp(buf + 24, r.txid, 12));
	ASSERT_EQ(0, shoal_ctl_parse_binding_reply(&got, buf, sizeof(buf)));
	EXPECT_EQ(r.flags, got.flags);
	EXPECT_EQ(0, memcmp(r.txid, got.txid, 12));
	EXPECT_EQ(AF_INET, got.mapped.sa.sa_family);
	EXPECT_EQ(sizeof(struct sockaddr_in), got.mapped.len);
	EXPECT_EQ(r.mapped.in.sin_port, got.mapped.in.sin_port);
	EXPECT_EQ(r.mapped.in.sin_addr.s_addr, got.mapped.in.sin_addr.s_addr);

	/* IPv6. */
	ep6(&r.mapped, "2001:db8::1:2", 1);
	ASSERT_EQ(SHOAL_CTL_BINDING_REPLY_LEN,
		  shoal_ctl_write_binding_reply(buf, sizeof(buf), &r));
	EXPECT_EQ(6, buf[4]);
	inet_pton(AF_INET6, "2001:db8::1:2", a6);
	EXPECT_EQ(0, memcmp(buf + 8, a6, 16));
	ASSERT_EQ(0, shoal_ctl_parse_binding_reply(&got, buf, sizeof(buf)));
	EXPECT_EQ(AF_INET6, got.mapped.sa.sa_family);
	EXPECT_EQ(0, memcmp(&got.mapped.in6.sin6_addr, a6, 16));
	EXPECT_EQ(htons(1), got.mapped.in6.sin6_port);

	/* v4-mapped (a dual-stack socket's IPv4 client) is IPv4. */
	ep6(&r.mapped, "::ffff:198.51.100.9", 5);
	ASSERT_EQ(SHOAL_CTL_BINDING_REPLY_LEN,
		  shoal_ctl_write_binding_reply(buf, sizeof(buf), &r));
	EXPECT_EQ(4, buf[4]);
	EXPECT_EQ(198, buf[8]);
	EXPECT_EQ(9, buf[11]);
	EXPECT_EQ(0, memcmp(buf + 12, zero, 12));
	ASSERT_EQ(0, shoal_ctl_parse_binding_reply(&got, buf, sizeof(buf)));
	EXPECT_EQ(AF_INET, got.mapped.sa.sa_family);
	EXPECT_EQ(htons(5), got.mapped.in.sin_port);
	EXPECT_EQ(0, memcmp(buf + 24, r.txid, 12));
}

TEST(binding_reply_rejects)
{
	uint8_t good[SHOAL_CTL_BINDING_REPLY_LEN + 1];
	uint8_t buf[SHOAL_CTL_BINDING_REPLY_LEN + 1];
	struct shoal_ctl_binding_reply r, got;
	size_t len;
	int i;

	memset(&r, 0, sizeof(r));
	ep4(&r.mapped, "192.0.2.1", 9);
	/* Neither IPv4 nor IPv6, or cut short: nothing to write. */
	r.mapped.sa.sa_family = AF_UNIX;
	EXPECT_EQ(-1, shoal_ctl_write_binding_reply(good, sizeof(good), &r));
	ep4(&r.mapped, "192.0.2.1", 9);
	r.mapped.len = sizeof(struct sockaddr_in) - 1;
	EXPECT_EQ(-1, shoal_ctl_write_binding_reply(good, sizeof(good), &r));
	ep6(&r.mapped, "2001:db8::1", 9);
	r.mapped.len = sizeof(struct sockaddr_in);
	EXPECT_EQ(-1, shoal_ctl_write_binding_reply(good, sizeof(good), &r));
	ep4(&r.mapped, "192.0.2.1", 9);
	EXPECT_EQ(-1, shoal_ctl_write_binding_reply(
			      good, SHOAL_CTL_BINDING_REPLY_LEN - 1, &r));
	ASSERT_EQ(SHOAL_CTL_BINDING_REPLY_LEN,
		  shoal_ctl_write_binding_reply(good, sizeof(good), &r));
	good[SHOAL_CTL_BINDING_REPLY_LEN] = 0;

	for (len = 0; len <= sizeof(good); len++)
		if (len != SHOAL_CTL_BINDING_REPLY_LEN)
			EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(&got, good,
								    len))
				TH_LOG("length %zu", len);
	memcpy(buf, good, sizeof(buf));
	buf[0] = SHOAL_CTL_BINDING;
	EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
			      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[1] = 0;
	EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
			      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[2] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
			      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN));
	memcpy(buf, good, sizeof(buf));
	buf[3] = 1;
	EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
			      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN));
	/* Families other than 4 and 6. */
	for (i = 0; i < 256; i++) {
		if (i == 4 || i == 6)
			continue;
		memcpy(buf, good, sizeof(buf));
		buf[4] = (uint8_t)i;
		EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
				      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN))
			TH_LOG("family %d", i);
	}
	/* IPv4 with anything in the 12 bytes after its address. */
	for (i = 12; i < 24; i++) {
		memcpy(buf, good, sizeof(buf));
		buf[i] = 1;
		EXPECT_EQ(-1, shoal_ctl_parse_binding_reply(
				      &got, buf, SHOAL_CTL_BINDING_REPLY_LEN))
			TH_LOG("byte %d", i);
	}
}

TEST(relay_round_trip)
{
	static const struct {
		enum shoal_ctl_type type;
		size_t len;
	} types[] = {
		{ SHOAL_CTL_RELAY_BIND, SHOAL_CTL_RELAY_BIND_LEN },
		{ SHOAL_CTL_RELAY_CHALLENGE, SHOAL_CTL_RELAY_CHALLENGE_LEN },
		{ SHOAL_CTL_RELAY_BOUND, SHOAL_CTL_RELAY_BOUND_LEN },
	};
	uint8_t key[SHOAL_CTL_RELAY_KEY_LEN], buf[SHOAL_CTL_RELAY_BIND_LEN];
	uint8_t mac[SHOAL_CTL_MAC_LEN], cookie[16], got_cookie[16];
	uint64_t counter;
	uint32_t id;
	size_t i, len;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(cookie, sizeof(cookie));
	for (i = 0; i < 3; i++) {
		len = types[i].len;
		ASSERT_EQ((int)len,
			  shoal_ctl_write_relay(buf, sizeof(buf), types[i].type,
						0xa1b2c3d4,
						0x0102030405060708ULL, cookie,
						key));
		EXPECT_EQ(types[i].type, buf[0]);
		EXPECT_EQ(2, buf[1]);
		EXPECT_EQ(0, buf[2] | buf[3]);
		EXPECT_EQ(0xa1, buf[4]);
		EXPECT_EQ(0xd4, buf[7]);
		EXPECT_EQ(0x01, buf[8]);
		EXPECT_EQ(0x08, buf[15]);
		/* The cookie, but in a RELAY_BOUND; then the MAC. */
		if (len == 48)
			EXPECT_EQ(0, memcmp(buf + 16, cookie, 16));
		crypto_generichash(mac, sizeof(mac), buf, len - 16, key,
				   sizeof(key));
		EXPECT_EQ(0, memcmp(mac, buf + len - 16, sizeof(mac)));
		ASSERT_EQ(0, shoal_ctl_parse_relay(buf, len, types[i].type,
						   &id, &counter, got_cookie));
		EXPECT_EQ(0xa1b2c3d4u, id);
		EXPECT_EQ(0x0102030405060708ULL, counter);
		if (len == 48)
			EXPECT_EQ(0, memcmp(got_cookie, cookie, 16));
		EXPECT_TRUE(shoal_ctl_relay_verify(buf, len, key));
		/* The one type is not another. */
		EXPECT_EQ(-1, shoal_ctl_parse_relay(buf, len,
						    types[(i + 1) % 3].type,
						    &id, &counter, NULL));
	}
	/* No cookie: zero. */
	ASSERT_EQ(SHOAL_CTL_RELAY_BIND_LEN,
		  shoal_ctl_write_relay(buf, sizeof(buf), SHOAL_CTL_RELAY_BIND,
					1, 1, NULL, key));
	EXPECT_TRUE(sodium_is_zero(buf + 16, 16));
	EXPECT_EQ(-1, shoal_ctl_write_relay(buf, sizeof(buf) - 1,
					    SHOAL_CTL_RELAY_BIND, 1, 1, NULL,
					    key));
	EXPECT_EQ(-1, shoal_ctl_write_relay(buf, sizeof(buf),
					    SHOAL_CTL_PING, 1, 1, NULL, key));
}

TEST(relay_rejects)
{
	uint8_t key[SHOAL_CTL_RELAY_KEY_LEN], other[SHOAL_CTL_RELAY_KEY_LEN];
	uint8_t good[SHOAL_CTL_RELAY_BIND_LEN + 1];
	uint8_t buf[SHOAL_CTL_RELAY_BIND_LEN + 1];
	uint64_t counter;
	uint32_t id;
	size_t i;

	randombytes_buf(key, sizeof(key));
	memcpy(other, key, sizeof(key));
	other[31] ^= 1;
	ASSERT_EQ(SHOAL_CTL_RELAY_BIND_LEN,
		  shoal_ctl_write_relay(good, sizeof(good),
					SHOAL_CTL_RELAY_BIND, 7, 9, NULL, key));
	good[SHOAL_CTL_RELAY_BIND_LEN] = 0;
	for (i = 0; i <= sizeof(good); i++) {
		if (i == SHOAL_CTL_RELAY_BIND_LEN)
			continue;
		EXPECT_EQ(-1, shoal_ctl_parse_relay(good, i,
						    SHOAL_CTL_RELAY_BIND, &id,
						    &counter, NULL))
			TH_LOG("length %zu", i);
		EXPECT_FALSE(shoal_ctl_relay_verify(good, i, key))
			TH_LOG("length %zu", i);
	}
	/* Only the relay's three types are asked for. */
	EXPECT_EQ(-1, shoal_ctl_parse_relay(good, SHOAL_CTL_RELAY_BIND_LEN,
					    SHOAL_CTL_BINDING, &id, &counter,
					    NULL));
	for (i = 1; i < 4; i++) {
		memcpy(buf, good, sizeof(buf));
		buf[i] ^= i == 1 ? 3 : 1;
		EXPECT_EQ(-1, shoal_ctl_parse_relay(buf,
						    SHOAL_CTL_RELAY_BIND_LEN,
						    SHOAL_CTL_RELAY_BIND, &id,
						    &counter, NULL))
			TH_LOG("byte %zu", i);
	}
	/* Another key; any bit flipped anywhere. */
	EXPECT_FALSE(shoal_ctl_relay_verify(good, SHOAL_CTL_RELAY_BIND_LEN,
					    other));
	for (i = 0; i < SHOAL_CTL_RELAY_BIND_LEN * 8; i++) {
		memcpy(buf, good, sizeof(buf));
		buf[i / 8] ^= (uint8_t)(1 << (i % 8));
		EXPECT_FALSE(shoal_ctl_relay_verify(
				     buf, SHOAL_CTL_RELAY_BIND_LEN, key))
			TH_LOG("bit %zu", i);
	}
}

TEST_HARNESS_MAIN
