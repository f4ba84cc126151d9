// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "esp.h"

#define SPI 0x1234abcdu
#define BUF 2048

static void test_key(uint8_t key[SHOAL_SA_KEY_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < SHOAL_SA_KEY_LEN; i++)
		key[i] = (uint8_t)(seed + 7 * i);
}

/* A sender and a receiver sharing one key, as two peers would. */
static void sa_pair(struct shoal_esp_sa *tx, struct shoal_esp_sa *rx)
{
	uint8_t key[SHOAL_SA_KEY_LEN];

	test_key(key, 42);
	if (shoal_esp_sa_init(tx, SPI, key, 0, 0, 0, 0, 1000) ||
	    shoal_esp_sa_init(rx, SPI, key, 0, 0, 0, 0, 1000))
		abort();
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Seals a payload that says which sequence number it travels under. */
static size_t seal_seq(struct shoal_esp_sa *tx, uint64_t seq, uint8_t *pkt)
{
	uint8_t payload[16];
	size_t len;

	tx->seq = seq - 1;
	memset(payload, 0, sizeof(payload));
	memcpy(payload, &seq, sizeof(seq));
	if (shoal_esp_seal(tx, 1000, SHOAL_NEXTHDR_ETHERNET, payload,
			   sizeof(payload), pkt, BUF, &len))
		abort();
	return len;
}

static int open_pkt(struct shoal_esp_sa *rx, const uint8_t *pkt, size_t len)
{
	uint8_t out[BUF], nh;
	size_t out_len;

	return shoal_esp_open(rx, 1000, pkt, len, out, sizeof(out), &out_len,
			      &nh);
}

TEST(round_trip_every_length)
{
	struct shoal_esp_sa tx, rx;
	uint8_t in[300], pkt[BUF], out[BUF], nh;
	size_t len, pkt_len, out_len;

	sa_pair(&tx, &rx);
	randombytes_buf(in, sizeof(in));
	for (len = 0; len <= sizeof(in); len++) {
		ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, SHOAL_NEXTHDR_ETHERNET,
					    in, len, pkt, sizeof(pkt),
					    &pkt_len));
		ASSERT_EQ(shoal_esp_sealed_len(len), pkt_len);
		ASSERT_EQ(0u, (pkt_len - SHOAL_ESP_PAYLOAD_OFFSET -
			      SHOAL_ESP_ICVLEN) % 4);
		ASSERT_LE(len + 2 + SHOAL_ESP_PAYLOAD_OFFSET + SHOAL_ESP_ICVLEN,
			  pkt_len);
		ASSERT_LE(pkt_len, len + SHOAL_ESP_MAX_OVERHEAD);
		/* Header: SPI, low half, and the whole number as IV. */
		ASSERT_EQ(SPI, be32(pkt));
		ASSERT_EQ(SPI, shoal_esp_spi(pkt, pkt_len));
		ASSERT_EQ(len + 1, be32(pkt + 4));
		ASSERT_EQ(len + 1, be64(pkt + 8));

		ASSERT_EQ(0, shoal_esp_open(&rx, 1000, pkt, pkt_len, out,
					    sizeof(out), &out_len, &nh));
		ASSERT_EQ(len, out_len);
		ASSERT_EQ(SHOAL_NEXTHDR_ETHERNET, nh);
		ASSERT_EQ(0, memcmp(in, out, len)) TH_LOG("length %zu", len);
	}
	EXPECT_EQ(sizeof(in) + 1, tx.seq);
	EXPECT_EQ(sizeof(in) + 1, tx.packets);
	EXPECT_EQ(sizeof(in) + 1, rx.top);
	EXPECT_EQ(sizeof(in) + 1, rx.packets);
}

TEST(seal_in_place)
{
	struct shoal_esp_sa tx, rx;
	uint8_t buf[BUF], want[100], out[BUF], nh;
	size_t pkt_len, out_len;

	sa_pair(&tx, &rx);
	randombytes_buf(want, sizeof(want));
	memcpy(buf + SHOAL_ESP_PAYLOAD_OFFSET, want, sizeof(want));
	ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, SHOAL_NEXTHDR_IPV6,
				    buf + SHOAL_ESP_PAYLOAD_OFFSET,
				    sizeof(want), buf, sizeof(buf), &pkt_len));
	ASSERT_EQ(0, shoal_esp_open(&rx, 1000, buf, pkt_len, out,
				    sizeof(out), &out_len, &nh));
	ASSERT_EQ(sizeof(want), out_len);
	EXPECT_EQ(SHOAL_NEXTHDR_IPV6, nh);
	EXPECT_EQ(0, memcmp(want, out, sizeof(want)));
}

TEST(buffers_too_small)
{
	struct shoal_esp_sa tx, rx;
	uint8_t in[20] = { 0 }, pkt[BUF], out[BUF], nh;
	size_t need = shoal_esp_sealed_len(sizeof(in)), len, out_len;

	sa_pair(&tx, &rx);
	ASSERT_EQ(-ENOSPC, shoal_esp_seal(&tx, 1000, 143, in, sizeof(in),
					  pkt, need - 1, &len));
	EXPECT_EQ(0u, tx.seq);
	ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 143, in, sizeof(in), pkt,
				    need, &len));
	ASSERT_EQ(need, len);
	/* 20 bytes of payload, 2 of padding, 2 of trailer. */
	ASSERT_EQ(-ENOSPC, shoal_esp_open(&rx, 1000, pkt, len, out, 23,
					  &out_len, &nh));
	EXPECT_EQ(0u, rx.top);
	ASSERT_EQ(0, shoal_esp_open(&rx, 1000, pkt, len, out, 24, &out_len,
				    &nh));
	EXPECT_EQ(sizeof(in), out_len);
	EXPECT_EQ(SIZE_MAX, shoal_esp_sealed_len(SIZE_MAX - 10));
	EXPECT_EQ(0u, shoal_esp_spi(pkt, 3));
}

TEST(tamper_every_byte)
{
	struct shoal_esp_sa tx, rx;
	uint8_t in[61], pkt[BUF];
	size_t len, i;
	int bit;

	sa_pair(&tx, &rx);
	randombytes_buf(in, sizeof(in));
	ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 143, in, sizeof(in), pkt,
				    sizeof(pkt), &len));
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			int ret;

			pkt[i] ^= 1 << bit;
			ret = open_pkt(&rx, pkt, len);
			pkt[i] ^= 1 << bit;
			if (i < 4) {
				/* Another SPI is not this SA's packet. */
				EXPECT_EQ(-EINVAL, ret) TH_LOG("byte %zu", i);
			} else if (i == 7 && bit == 0) {
				/* Sequence number 0 is never sent. */
				EXPECT_EQ(-EALREADY, ret);
			} else {
				EXPECT_EQ(-EBADMSG, ret)
					TH_LOG("byte %zu bit %d", i, bit);
			}
		}
	}
	/* Failures leave no trace: the genuine packet still opens. */
	EXPECT_EQ(0u, rx.top);
	EXPECT_EQ(0u, rx.packets);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));

	/* Cut short or grown: malformed before any cryptography. */
	EXPECT_EQ(-EINVAL, open_pkt(&rx, pkt, len - 1));
	EXPECT_EQ(-EINVAL, open_pkt(&rx, pkt, SHOAL_ESP_MIN_LEN - 4));
	EXPECT_EQ(-EINVAL, open_pkt(&rx, pkt, 0));
}

TEST(wrong_key_or_sequence_high_half)
{
	struct shoal_esp_sa tx, rx;
	uint8_t key[SHOAL_SA_KEY_LEN], pkt[BUF];
	size_t len;

	sa_pair(&tx, &rx);
	len = seal_seq(&tx, 5, pkt);
	/* Another salt only: the nonce differs. */
	rx.key[SHOAL_SA_KEY_LEN - 1] ^= 1;
	EXPECT_EQ(-EBADMSG, open_pkt(&rx, pkt, len));
	rx.key[SHOAL_SA_KEY_LEN - 1] ^= 1;
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));

	/* The high half is authenticated although it is not sent. */
	test_key(key, 42);
	ASSERT_EQ(0, shoal_esp_sa_init(&rx, SPI, key, 0, 0, 0, 0, 1000));
	len = seal_seq(&tx, (UINT64_C(1) << 32) + 5, pkt);
	EXPECT_EQ(5u, be32(pkt + 4));
	EXPECT_EQ(-EBADMSG, open_pkt(&rx, pkt, len));
}

TEST(replay)
{
	struct shoal_esp_sa tx, rx;
	uint8_t pkt[BUF], bad[BUF];
	size_t len, len5;
	uint64_t s;

	sa_pair(&tx, &rx);
	len = seal_seq(&tx, 1, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	EXPECT_EQ(-EALREADY, open_pkt(&rx, pkt, len));

	/* Checked before authentication: a broken replay is still a replay. */
	memcpy(bad, pkt, len);
	bad[len - 1] ^= 0xff;
	EXPECT_EQ(-EALREADY, open_pkt(&rx, bad, len));

	/* Committed only after authentication. */
	len5 = seal_seq(&tx, 5, pkt);
	memcpy(bad, pkt, len5);
	bad[20] ^= 1;
	EXPECT_EQ(-EBADMSG, open_pkt(&rx, bad, len5));
	EXPECT_EQ(1u, rx.top);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len5));
	EXPECT_EQ(5u, rx.top);

	/* Out of order inside the window: each accepted once. */
	len = seal_seq(&tx, 2000, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	for (s = 1999; s >= 1; s--) {
		len = seal_seq(&tx, s, pkt);
		if (s == 1 || s == 5) {
			EXPECT_EQ(-EALREADY, open_pkt(&rx, pkt, len));
			continue;
		}
		ASSERT_EQ(0, open_pkt(&rx, pkt, len)) TH_LOG("seq %llu",
							     (unsigned long long)s);
		ASSERT_EQ(-EALREADY, open_pkt(&rx, pkt, len));
	}
	EXPECT_EQ(2000u, rx.top);

	/* Slide the window: the oldest number inside it still counts... */
	len = seal_seq(&tx, 5000, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	len = seal_seq(&tx, 5000 - SHOAL_REPLAY_WINDOW + 1, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	EXPECT_EQ(-EALREADY, open_pkt(&rx, pkt, len));
	/* ...and what slid past was forgotten, not left marked. */
	len = seal_seq(&tx, 4000, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	/*
	 * Below the window, RFC 4303 A.2 takes a number for one of the next
	 * 2^32 block; authentication then fails (counted as such by the
	 * datapath, as in the kernel), and nothing moves.
	 */
	len = seal_seq(&tx, 5000 - SHOAL_REPLAY_WINDOW, pkt);
	EXPECT_EQ(-EBADMSG, open_pkt(&rx, pkt, len));
	len = seal_seq(&tx, 10, pkt);
	EXPECT_EQ(-EBADMSG, open_pkt(&rx, pkt, len));
	EXPECT_EQ(5000u, rx.top);

	/* A jump of more than the window clears it entirely. */
	len = seal_seq(&tx, 5000 + 3 * SHOAL_REPLAY_WINDOW, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	len = seal_seq(&tx, 5000 + 2 * SHOAL_REPLAY_WINDOW + 1, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
	len = seal_seq(&tx, 5000 + 2 * SHOAL_REPLAY_WINDOW + 1 +
			    SHOAL_REPLAY_WINDOW / 2, pkt);
	EXPECT_EQ(0, open_pkt(&rx, pkt, len));
}

TEST(esn_wrap)
{
	struct shoal_esp_sa tx, rx;
	uint8_t in[8], pkt[BUF], out[BUF], nh, late[BUF];
	size_t len, out_len, late_len = 0;
	uint64_t want;
	int i;

	sa_pair(&tx, &rx);
	/* Both ends well into the first block, just below 2^32. */
	tx.seq = 0xfffffff0;
	rx.top = 0xfffffff0;
	for (i = 0; i < 40; i++) {
		want = tx.seq + 1;
		memcpy(in, &want, sizeof(want));
		ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 143, in, sizeof(in),
					    pkt, sizeof(pkt), &len));
		ASSERT_EQ((uint32_t)want, be32(pkt + 4));
		ASSERT_EQ(want, be64(pkt + 8));
		if (want == 0xfffffffe) {
			/* Held back to arrive after the wrap. */
			memcpy(late, pkt, len);
			late_len = len;
			continue;
		}
		ASSERT_EQ(0, shoal_esp_open(&rx, 1000, pkt, len, out,
					    sizeof(out), &out_len, &nh))
			TH_LOG("seq %#llx", (unsigned long long)want);
		ASSERT_EQ(sizeof(in), out_len);
		ASSERT_EQ(0, memcmp(in, out, sizeof(in)));
		ASSERT_EQ(want, rx.top);
	}
	EXPECT_EQ(0x100000018u, rx.top);
	/* Late, from the block before: the window spans both. */
	EXPECT_EQ(0, open_pkt(&rx, late, late_len));
	EXPECT_EQ(-EALREADY, open_pkt(&rx, late, late_len));
	EXPECT_EQ(0x100000018u, rx.top);
	EXPECT_EQ(40u, rx.packets);

	/* No block before the first: such a number can only be a replay. */
	sa_pair(&tx, &rx);
	len = seal_seq(&tx, 0xffffffff, pkt);
	rx.top = 3;
	EXPECT_EQ(-EALREADY, open_pkt(&rx, pkt, len));
}

TEST(seq_infer)
{
	struct shoal_esp_sa sa;
	uint8_t key[SHOAL_SA_KEY_LEN] = { 0 };
	const uint64_t w = SHOAL_REPLAY_WINDOW;
	uint64_t seq;

	ASSERT_EQ(0, shoal_esp_sa_init(&sa, SPI, key, 0, 0, 0, 0, 0));
	EXPECT_FALSE(shoal_esp_seq_infer(&sa, 0, &seq));
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 1, &seq));
	EXPECT_EQ(1u, seq);

	/* Case A: window inside a block. */
	sa.top = (UINT64_C(7) << 32) | 100000;
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 100000 - w + 1, &seq));
	EXPECT_EQ((UINT64_C(7) << 32) | (100000 - w + 1), seq);
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 100000 - w, &seq));
	EXPECT_EQ((UINT64_C(8) << 32) | (100000 - w), seq);
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 0xffffffff, &seq));
	EXPECT_EQ((UINT64_C(7) << 32) | 0xffffffff, seq);

	/* Case B: window spanning two blocks. */
	sa.top = (UINT64_C(7) << 32) | 10;
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 0xffffffff, &seq));
	EXPECT_EQ((UINT64_C(6) << 32) | 0xffffffff, seq);
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, (uint32_t)(10 - w + 1), &seq));
	EXPECT_EQ((UINT64_C(6) << 32) | (uint32_t)(10 - w + 1), seq);
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, (uint32_t)(10 - w), &seq));
	EXPECT_EQ((UINT64_C(7) << 32) | (uint32_t)(10 - w), seq);
	EXPECT_TRUE(shoal_esp_seq_infer(&sa, 11, &seq));
	EXPECT_EQ((UINT64_C(7) << 32) | 11, seq);
}

/* Decrypts pkt with libsodium directly, trailer and all. */
static size_t raw_open(const struct shoal_esp_sa *sa, uint64_t seq,
		       const uint8_t *pkt, size_t len, uint8_t *pt)
{
	uint8_t nonce[12], aad[12];
	unsigned long long ptlen;

	memcpy(nonce, sa->key + 32, 4);
	memcpy(nonce + 4, pkt + 8, 8);
	memcpy(aad, pkt, 4);
	aad[4] = seq >> 56;
	aad[5] = seq >> 48;
	aad[6] = seq >> 40;
	aad[7] = seq >> 32;
	memcpy(aad + 8, pkt + 4, 4);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
						      pkt + 16, len - 16, aad,
						      sizeof(aad), nonce,
						      sa->key))
		return 0;
	return ptlen;
}

/* Builds a packet of sa at seq with the plaintext given as is. */
static size_t raw_seal(const struct shoal_esp_sa *sa, uint64_t seq,
		       const uint8_t *pt, size_t ptlen, uint8_t *pkt)
{
	uint8_t nonce[12], aad[12];
	unsigned long long clen;
	int i;

	for (i = 0; i < 4; i++)
		pkt[i] = sa->spi >> (24 - 8 * i);
	for (i = 0; i < 8; i++)
		pkt[8 + i] = seq >> (56 - 8 * i);
	memcpy(pkt + 4, pkt + 12, 4);
	memcpy(nonce, sa->key + 32, 4);
	memcpy(nonce + 4, pkt + 8, 8);
	memcpy(aad, pkt, 4);
	memcpy(aad + 4, pkt + 8, 8);
	crypto_aead_chacha20poly1305_ietf_encrypt(pkt + 16, &clen, pt, ptlen,
						  aad, sizeof(aad), NULL,
						  nonce, sa->key);
	return 16 + clen;
}

TEST(padding_layout)
{
	struct shoal_esp_sa tx, rx;
	uint8_t in[16], pkt[BUF], pt[BUF];
	size_t len, pkt_len, ptlen, pad, i;

	sa_pair(&tx, &rx);
	memset(in, 0xee, sizeof(in));
	for (len = 0; len < sizeof(in); len++) {
		ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 99, in, len, pkt,
					    sizeof(pkt), &pkt_len));
		ptlen = raw_open(&tx, tx.seq, pkt, pkt_len, pt);
		ASSERT_NE(0u, ptlen);
		pad = (4 - (len + 2) % 4) % 4;
		ASSERT_EQ(len + pad + 2, ptlen);
		ASSERT_EQ(0u, ptlen % 4);
		ASSERT_EQ(0, memcmp(in, pt, len));
		for (i = 0; i < pad; i++)
			ASSERT_EQ(i + 1, pt[len + i]);
		ASSERT_EQ(pad, pt[ptlen - 2]);
		ASSERT_EQ(99, pt[ptlen - 1]);
	}
}

TEST(bad_padding_refused)
{
	struct shoal_esp_sa tx, rx;
	uint8_t pkt[BUF], out[BUF], nh;
	size_t len, out_len;
	static const struct {
		uint8_t pt[8];
		size_t len;
		int ret;
		size_t payload;
	} cases[] = {
		/* Payload "abcd", padding 1 2, pad length 2, next header. */
		{ { 'a', 'b', 'c', 'd', 1, 2, 2, 143 }, 8, 0, 4 },
		{ { 'a', 'b', 'c', 'd', 1, 3, 2, 143 }, 8, -EINVAL, 0 },
		{ { 'a', 'b', 'c', 'd', 0, 0, 2, 143 }, 8, -EINVAL, 0 },
		/* Pad length longer than what precedes it. */
		{ { 1, 2, 3, 4, 5, 6, 7, 143 }, 8, -EINVAL, 0 },
		{ { 'x', 'y', 7, 143 }, 4, -EINVAL, 0 },
		/* Not a multiple of 4, although the padding is right. */
		{ { 'a', 'b', 'c', 'd', 0, 143 }, 6, -EINVAL, 0 },
		/* Longer padding than needed, but well formed: accepted. */
		{ { 1, 2, 3, 4, 5, 6, 6, 143 }, 8, 0, 0 },
	};
	size_t i;

	sa_pair(&tx, &rx);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = raw_seal(&tx, i + 1, cases[i].pt, cases[i].len, pkt);
		ASSERT_EQ(cases[i].ret, shoal_esp_open(&rx, 1000, pkt, len,
							out, sizeof(out),
							&out_len, &nh))
			TH_LOG("case %zu", i);
		if (cases[i].ret == 0) {
			EXPECT_EQ(cases[i].payload, out_len);
			EXPECT_EQ(143, nh);
			EXPECT_EQ(i + 1, rx.top);
		} else {
			/* Not marked seen: the number is still free. */
			EXPECT_NE(i + 1, rx.top);
		}
	}
}

TEST(limits)
{
	struct shoal_esp_sa tx, rx;
	uint8_t key[SHOAL_SA_KEY_LEN], pkt[BUF], in[4] = { 0 }, out[BUF], nh;
	size_t len, out_len;
	int i;

	test_key(key, 1);
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 3, 5, 0, 0, 100));
	ASSERT_EQ(0, shoal_esp_sa_init(&rx, SPI, key, 2, 4, 0, 0, 100));
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(0, shoal_esp_seal(&tx, 100, 143, in, sizeof(in),
					    pkt, sizeof(pkt), &len));
		EXPECT_EQ(i == 3, shoal_esp_sa_soft_due(&tx, 100));
		EXPECT_EQ(i <= 4 ? 0 : -EKEYEXPIRED, open_pkt(&rx, pkt, len));
		if (i <= 4)
			EXPECT_EQ(i == 2, shoal_esp_sa_soft_due(&rx, 100));
	}
	EXPECT_EQ(-EKEYEXPIRED, shoal_esp_seal(&tx, 100, 143, in, sizeof(in),
					       pkt, sizeof(pkt), &len));
	EXPECT_EQ(5u, tx.seq);
	EXPECT_TRUE(shoal_esp_sa_expired(&tx, 100));

	/* Soft above hard is brought down to it; defaults when 0. */
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 10, 5, 0, 0, 100));
	EXPECT_EQ(5u, tx.soft_packets);
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 0, 0, 0, 0, 100));
	EXPECT_EQ(SHOAL_ESP_DEFAULT_SOFT, tx.soft_packets);
	EXPECT_EQ(SHOAL_ESP_DEFAULT_HARD, tx.hard_packets);
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 0, UINT64_MAX, 0, 0, 0));
	EXPECT_EQ(SHOAL_ESP_DEFAULT_HARD, tx.hard_packets);

	/* Seconds: soft once, hard for good; a clock going back is no age. */
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 0, 0, 10, 20, 100));
	EXPECT_FALSE(shoal_esp_sa_soft_due(&tx, 109));
	EXPECT_FALSE(shoal_esp_sa_soft_due(&tx, 50));
	EXPECT_TRUE(shoal_esp_sa_soft_due(&tx, 110));
	EXPECT_FALSE(shoal_esp_sa_soft_due(&tx, 111));
	EXPECT_EQ(0, shoal_esp_seal(&tx, 119, 143, in, 0, pkt, sizeof(pkt),
				    &len));
	EXPECT_EQ(-EKEYEXPIRED, shoal_esp_seal(&tx, 120, 143, in, 0, pkt,
					       sizeof(pkt), &len));
	ASSERT_EQ(0, shoal_esp_sa_init(&rx, SPI, key, 0, 0, 0, 20, 100));
	EXPECT_EQ(-EKEYEXPIRED, shoal_esp_open(&rx, 120, pkt, len, out,
					       sizeof(out), &out_len, &nh));
	EXPECT_EQ(0u, rx.top);
}

TEST(wipe)
{
	struct shoal_esp_sa sa;
	uint8_t key[SHOAL_SA_KEY_LEN], zero[sizeof(sa)];

	test_key(key, 9);
	ASSERT_EQ(0, shoal_esp_sa_init(&sa, SPI, key, 0, 0, 0, 0, 5));
	shoal_esp_sa_wipe(&sa);
	memset(zero, 0, sizeof(zero));
	EXPECT_EQ(0, memcmp(&sa, zero, sizeof(sa)));
}

/*
 * The known answer tests/common/esp_decode.py pins, computed there with
 * python3-cryptography: key 00..1f, salt a0..a3, SPI 0x1234, sequence 1,
 * payload 00..0d "hello", next header 143.
 */
TEST(known_answer)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x27, 0xdd, 0x37, 0xcd, 0x5e, 0xb0, 0x5c, 0x77,
		0x01, 0x9a, 0xc1, 0x1f, 0x10, 0xc4, 0xa8, 0xcb,
		0xa9, 0xaf, 0x61, 0xf1, 0x1a, 0xbc, 0xff, 0x84,
		0x61, 0x90, 0xd6, 0xd0, 0xab, 0x14, 0xec, 0xf3,
		0x8b, 0x9a, 0x5b, 0x64, 0x85, 0x86, 0x0d, 0x28,
	};
	uint8_t key[SHOAL_SA_KEY_LEN], in[19], pkt[BUF], out[BUF], nh;
	struct shoal_esp_sa tx, rx;
	size_t i, len, out_len;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 4; i++)
		key[32 + i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < 14; i++)
		in[i] = (uint8_t)i;
	memcpy(in + 14, "hello", 5);
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, 0x1234, key, 0, 0, 0, 0, 0));
	ASSERT_EQ(0, shoal_esp_sa_init(&rx, 0x1234, key, 0, 0, 0, 0, 0));
	ASSERT_EQ(0, shoal_esp_seal(&tx, 0, 143, in, sizeof(in), pkt,
				    sizeof(pkt), &len));
	ASSERT_EQ(sizeof(want), len);
	EXPECT_EQ(0, memcmp(want, pkt, sizeof(want)));
	ASSERT_EQ(0, shoal_esp_open(&rx, 0, want, sizeof(want), out,
				    sizeof(out), &out_len, &nh));
	ASSERT_EQ(sizeof(in), out_len);
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	EXPECT_EQ(143, nh);
}

/* ---- cross-check with the independent decoder ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* One raw IPv4 (link type 101) record holding a UDP datagram. */
static void pcap_record(FILE *f, const uint8_t *payload, size_t len)
{
	uint8_t rec[16], hdr[28] = {
		0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0,
		192, 0, 2, 1, 192, 0, 2, 2,
	};

	put16(hdr + 2, (uint16_t)(sizeof(hdr) + len));
	put16(hdr + 20, 4500);
	put16(hdr + 22, 4500);
	put16(hdr + 24, (uint16_t)(8 + len));
	memset(rec, 0, sizeof(rec));
	le32(rec + 8, (uint32_t)(sizeof(hdr) + len));
	le32(rec + 12, (uint32_t)(sizeof(hdr) + len));
	fwrite(rec, sizeof(rec), 1, f);
	fwrite(hdr, sizeof(hdr), 1, f);
	fwrite(payload, len, 1, f);
}

static const char *decoder_path(void)
{
	static char path[4200];
	char exe[4096], *slash;
	ssize_t n;

	if (access("tests/common/esp_decode.py", R_OK) == 0)
		return "tests/common/esp_decode.py";
	/* build/san/tests/esp -> the top of the tree. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strstr(exe, "/build/");
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/tests/common/esp_decode.py", exe);
	return access(path, R_OK) == 0 ? path : NULL;
}

TEST(independent_decoder)
{
	char pcap_path[] = "/tmp/shoal-esp-XXXXXX", cmd[8192], line[8192];
	char hex[2 * 300 + 1], keyhex[2 * SHOAL_SA_KEY_LEN + 1];
	static const uint8_t ghdr[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0, 0, 101, 0, 0, 0,
	};
	uint8_t key[SHOAL_SA_KEY_LEN], in[300], pkt[BUF];
	const char *script = decoder_path();
	struct shoal_esp_sa tx;
	size_t lens[40], len, i, j, esp = 0;
	int fd, status;
	FILE *f, *p;

	if (!script ||
	    system("python3 -c 'import cryptography' >/dev/null 2>&1") != 0)
		SKIP(return, "python3, cryptography or esp_decode.py missing");

	test_key(key, 77);
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 0, 0, 0, 0, 0));
	fd = mkstemp(pcap_path);
	ASSERT_LE(0, fd);
	f = fdopen(fd, "wb");
	ASSERT_NE(NULL, f);
	fwrite(ghdr, sizeof(ghdr), 1, f);
	randombytes_buf(in, sizeof(in));
	/* Lengths with every padding, across the 2^32 boundary. */
	tx.seq = 0xffffffff - 20;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		lens[i] = i < 30 ? i : 300 - i;
		ASSERT_EQ(0, shoal_esp_seal(&tx, 0, 143, in, lens[i], pkt,
					    sizeof(pkt), &len));
		pcap_record(f, pkt, len);
	}
	ASSERT_EQ(0, fclose(f));

	for (i = 0; i < SHOAL_SA_KEY_LEN; i++)
		snprintf(keyhex + 2 * i, 3, "%02x", key[i]);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' --json --sa 0x%x=%s",
		 script, pcap_path, SPI, keyhex);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	i = 0;
	while (fgets(line, sizeof(line), p)) {
		char want[128];

		ASSERT_LT(i, sizeof(lens) / sizeof(lens[0])) TH_LOG("%s", line);
		for (j = 0; j < lens[i]; j++)
			snprintf(hex + 2 * j, 3, "%02x", in[j]);
		hex[2 * lens[i]] = '\0';
		EXPECT_NE(NULL, strstr(line, "\"kind\": \"esp\"")) TH_LOG("%s", line);
		snprintf(want, sizeof(want), "\"seq\": %llu,",
			 (unsigned long long)(0xffffffff - 20 + 1 + i));
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
		EXPECT_NE(NULL, strstr(line, "\"next_header\": 143,"));
		snprintf(want, sizeof(want), "\"pad_len\": %zu,",
			 (4 - (lens[i] + 2) % 4) % 4);
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
		snprintf(cmd, sizeof(cmd), "\"payload\": \"%s\"", hex);
		EXPECT_NE(NULL, strstr(line, cmd)) TH_LOG("%s", line);
		esp++;
		i++;
	}
	status = pclose(p);
	unlink(pcap_path);
	EXPECT_EQ(sizeof(lens) / sizeof(lens[0]), esp);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
