// SPDX-License-Identifier: MIT
/*
 * The chat packets' codec (lib/chatmsg.c): what goes through, and every
 * refusal: header, lengths, keys of the wrong direction, a changed byte,
 * the plaintext's fields, the text's rules and the replay window.
 */
#include <string.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "chatmsg.h"

static void message(struct shoal_chat *c, const char *net, const char *text)
{
	memset(c, 0, sizeof(*c));
	c->msg_id = 0x0102030405060708ull;
	snprintf(c->network, sizeof(c->network), "%s", net);
	c->text_len = strlen(text);
	memcpy(c->text, text, c->text_len);
}

/* A CHAT sealed under tx: its length. */
static int sealed(uint8_t *pkt, size_t size, const struct shoal_chat *c,
		  uint64_t counter, const uint8_t *tx)
{
	uint8_t plain[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat_hdr h = { .type = SHOAL_CTL_CHAT,
				    .receiver_spi = 0xabcdef01,
				    .counter = counter };
	int n = shoal_chat_encode(plain, sizeof(plain), c);

	return n < 0 ? -1 : shoal_chat_seal(pkt, size, &h, plain, (size_t)n,
					    tx);
}

FIXTURE(keys) {
	uint8_t ctl[SHOAL_CTL_KEY_LEN];
	uint8_t itx[SHOAL_CTL_KEY_LEN], irx[SHOAL_CTL_KEY_LEN];
	uint8_t rtx[SHOAL_CTL_KEY_LEN], rrx[SHOAL_CTL_KEY_LEN];
};

FIXTURE_SETUP(keys)
{
	ASSERT_EQ(0, sodium_init() < 0);
	randombytes_buf(self->ctl, sizeof(self->ctl));
	shoal_chat_keys(self->itx, self->irx, self->ctl, true);
	shoal_chat_keys(self->rtx, self->rrx, self->ctl, false);
}

FIXTURE_TEARDOWN(keys)
{
}

TEST_F(keys, directions_pair_up_and_differ)
{
	ASSERT_EQ(0, memcmp(self->itx, self->rrx, SHOAL_CTL_KEY_LEN));
	ASSERT_EQ(0, memcmp(self->rtx, self->irx, SHOAL_CTL_KEY_LEN));
	ASSERT_NE(0, memcmp(self->itx, self->rtx, SHOAL_CTL_KEY_LEN));
	/* Not the control key itself. */
	ASSERT_NE(0, memcmp(self->itx, self->ctl, SHOAL_CTL_KEY_LEN));
}

TEST_F(keys, round_trip)
{
	uint8_t pkt[SHOAL_CHAT_MAX_LEN], plain[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat c, back;
	struct shoal_chat_hdr h;
	size_t plen;
	int n;

	message(&c, "lan-party_1.x", "héllo wörld ✓");
	c.direct = true;
	n = sealed(pkt, sizeof(pkt), &c, 7, self->itx);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, shoal_chat_parse_hdr(&h, pkt, (size_t)n));
	ASSERT_EQ(SHOAL_CTL_CHAT, h.type);
	ASSERT_EQ(0xabcdef01u, h.receiver_spi);
	ASSERT_EQ(7u, h.counter);
	ASSERT_EQ(0, shoal_chat_open(plain, &plen, pkt, (size_t)n,
				     self->rrx));
	ASSERT_EQ(0, shoal_chat_decode(&back, plain, plen));
	ASSERT_EQ(c.msg_id, back.msg_id);
	ASSERT_TRUE(back.direct);
	ASSERT_STREQ("lan-party_1.x", back.network);
	ASSERT_STREQ(c.text, back.text);
	ASSERT_EQ(c.text_len, back.text_len);
}

TEST_F(keys, refuses_wrong_key_and_tampering)
{
	uint8_t pkt[SHOAL_CHAT_MAX_LEN], plain[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat c;
	size_t plen, i;
	int n;

	message(&c, "lan", "hi");
	n = sealed(pkt, sizeof(pkt), &c, 1, self->itx);
	ASSERT_GT(n, 0);
	/* Its own direction's key (a reflected packet) does not open it. */
	ASSERT_EQ(-1, shoal_chat_open(plain, &plen, pkt, (size_t)n,
				      self->irx));
	ASSERT_EQ(-1, shoal_chat_open(plain, &plen, pkt, (size_t)n,
				      self->ctl));
	/* Any byte changed, header (the AD) included. */
	for (i = 0; i < (size_t)n; i++) {
		pkt[i] ^= 0x01;
		ASSERT_EQ(-1, shoal_chat_open(plain, &plen, pkt, (size_t)n,
					      self->rrx));
		pkt[i] ^= 0x01;
	}
	ASSERT_EQ(0, shoal_chat_open(plain, &plen, pkt, (size_t)n,
				     self->rrx));
	/* Cut short. */
	ASSERT_EQ(-1, shoal_chat_open(plain, &plen, pkt, (size_t)n - 1,
				      self->rrx));
}

TEST(header_refusals)
{
	uint8_t pkt[SHOAL_CHAT_MAX_LEN + 1] = { SHOAL_CTL_CHAT, 2, 0, 0 };
	struct shoal_chat_hdr h;

	pkt[15] = 1;	/* counter 1 */
	/* The shortest: a byte of network, one of text. */
	ASSERT_EQ(0, shoal_chat_parse_hdr(&h, pkt, 44));
	/* Too short for the shortest CHAT, and too long. */
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 43));
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, SHOAL_CHAT_MAX_LEN + 1));
	ASSERT_EQ(0, shoal_chat_parse_hdr(&h, pkt, SHOAL_CHAT_MAX_LEN));
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 3));
	/* Another version; reserved bytes set. */
	pkt[1] = 1;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
	pkt[1] = 2;
	pkt[2] = 1;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
	pkt[2] = 0;
	pkt[3] = 1;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
	pkt[3] = 0;
	/* Counter 0 is never sent. */
	pkt[15] = 0;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
	pkt[15] = 1;
	/* An ACK is exactly 40 bytes. */
	pkt[0] = SHOAL_CTL_CHAT_ACK;
	ASSERT_EQ(0, shoal_chat_parse_hdr(&h, pkt, SHOAL_CHAT_ACK_LEN));
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, SHOAL_CHAT_ACK_LEN + 1));
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, SHOAL_CHAT_ACK_LEN - 1));
	/* Other types: PING's, type 9 (kept), the mediator's. */
	pkt[0] = SHOAL_CTL_PING;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
	pkt[0] = 9;
	ASSERT_EQ(-1, shoal_chat_parse_hdr(&h, pkt, 44));
}

TEST(decode_refusals)
{
	uint8_t plain[SHOAL_CHAT_PLAIN_MAX + 8];
	struct shoal_chat c;
	int n;

	message(&c, "lan", "ok");
	n = shoal_chat_encode(plain, sizeof(plain), &c);
	ASSERT_EQ(10 + 3 + 2, n);
	ASSERT_EQ(0, shoal_chat_decode(&c, plain, (size_t)n));
	/* Too short for the fixed part; a network longer than what is left. */
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, 9));
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, 12));
	/* No text. */
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, 13));
	/* Unknown flags. */
	plain[8] = 0x02;
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, (size_t)n));
	plain[8] = 0;
	/* No network; a bad network name. */
	plain[9] = 0;
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, (size_t)n));
	plain[9] = 3;
	plain[10] = '-';
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, (size_t)n));
	plain[10] = 'l';
	/* A control character in the text, and text that is not UTF-8. */
	plain[13] = '\n';
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, (size_t)n));
	plain[13] = 0xff;
	ASSERT_EQ(-1, shoal_chat_decode(&c, plain, (size_t)n));
	plain[13] = 'o';
	ASSERT_EQ(0, shoal_chat_decode(&c, plain, (size_t)n));
	/* The encoder refuses what the decoder would. */
	message(&c, "", "x");
	ASSERT_EQ(-1, shoal_chat_encode(plain, sizeof(plain), &c));
	message(&c, "lan", "");
	ASSERT_EQ(-1, shoal_chat_encode(plain, sizeof(plain), &c));
	message(&c, "lan", "x");
	ASSERT_EQ(-1, shoal_chat_encode(plain, 13, &c));
}

TEST(text_rules)
{
	char big[SHOAL_CHAT_TEXT_MAX + 1];

	ASSERT_TRUE(shoal_chat_text_ok("plain text, ok?", 15));
	ASSERT_TRUE(shoal_chat_text_ok("\xc2\xa0 nbsp \xe2\x9c\x93", 11));
	ASSERT_FALSE(shoal_chat_text_ok("", 0));
	ASSERT_FALSE(shoal_chat_text_ok("tab\there", 8));
	ASSERT_FALSE(shoal_chat_text_ok("esc\x1b[2J", 7));
	ASSERT_FALSE(shoal_chat_text_ok("del\x7f", 4));
	ASSERT_FALSE(shoal_chat_text_ok("nul\0x", 5));
	/* C1 (U+009B is CSI on some terminals), overlong, surrogate. */
	ASSERT_FALSE(shoal_chat_text_ok("\xc2\x9b", 2));
	ASSERT_FALSE(shoal_chat_text_ok("\xc0\xaf", 2));
	ASSERT_FALSE(shoal_chat_text_ok("\xed\xa0\x80", 3));
	ASSERT_FALSE(shoal_chat_text_ok("\xe2\x9c", 2));
	memset(big, 'x', sizeof(big));
	ASSERT_TRUE(shoal_chat_text_ok(big, SHOAL_CHAT_TEXT_MAX));
	ASSERT_FALSE(shoal_chat_text_ok(big, SHOAL_CHAT_TEXT_MAX + 1));
	ASSERT_TRUE(shoal_chat_network_ok("a", 1));
	ASSERT_FALSE(shoal_chat_network_ok(".a", 2));
	ASSERT_FALSE(shoal_chat_network_ok("a b", 3));
	ASSERT_FALSE(shoal_chat_network_ok(big, 65));
}

TEST(replay_window)
{
	struct shoal_chat_replay r = { 0 };

	ASSERT_FALSE(shoal_chat_replay_ok(&r, 0));
	ASSERT_TRUE(shoal_chat_replay_ok(&r, 1));
	ASSERT_FALSE(shoal_chat_replay_ok(&r, 1));
	ASSERT_TRUE(shoal_chat_replay_ok(&r, 5));
	/* Late but inside the window, once. */
	ASSERT_TRUE(shoal_chat_replay_ok(&r, 3));
	ASSERT_FALSE(shoal_chat_replay_ok(&r, 3));
	ASSERT_TRUE(shoal_chat_replay_ok(&r, 100));
	ASSERT_FALSE(shoal_chat_replay_ok(&r, 5));
	ASSERT_FALSE(shoal_chat_replay_ok(&r, 36));
	ASSERT_TRUE(shoal_chat_replay_ok(&r, 37));
	ASSERT_FALSE(shoal_chat_replay_ok(&r, 100));
}

TEST_HARNESS_MAIN
