// SPDX-License-Identifier: MIT
/* The control packet codec and the key derivation of a whole handshake. */
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

TEST_F(hs, mac1_checked_first)
{
	uint8_t bad[SHOAL_CTL_INIT_LEN];
	struct shoal_ctl m;
	size_t i;

	/* Keyed by the responder's key: anyone else's rejects it. */
	EXPECT_EQ(-1, shoal_ctl_parse(&m, self->init, sizeof(self->init),
				      self->a.mac1));
	for (i = 0; i < sizeof(bad); i++) {
		memcpy(bad, self->init, sizeof(bad));
		bad[i] ^= 0x80;
		EXPECT_EQ(-1, shoal_ctl_parse(&m, bad, sizeof(bad),
					      self->b.mac1))
			TH_LOG("byte %zu", i);
	}
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

TEST_HARNESS_MAIN
