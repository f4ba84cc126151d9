// SPDX-License-Identifier: MIT
/*
 * daemon/crypt_pool.c with lib/esp.c's split sealing and opening: a batch
 * shared out between threads gives, byte for byte, what one thread gives,
 * and every packet keeps its place; opening in place, a forged packet and
 * a number repeated within one batch are told apart as one by one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kselftest_harness.h"

#include "esp.h"
#include "../../daemon/crypt_pool.h"

#define SPI 0x5150a001u
#define BATCH 64
#define PKT 1600

static void sa_pair(struct shoal_esp_sa *a, struct shoal_esp_sa *b)
{
	uint8_t key[SHOAL_SA_KEY_LEN];

	randombytes_buf(key, sizeof(key));
	if (shoal_esp_sa_init(a, SPI, key, 0, 0, 0, 0, 1000) ||
	    shoal_esp_sa_init(b, SPI, key, 0, 0, 0, 0, 1000))
		abort();
}

/* Batches of every size from 1 to 64, 3 helpers, against shoal_esp_seal(). */
TEST(shared_batches_seal_as_one_thread_does)
{
	static uint8_t pkt[BATCH][PKT], ref[BATCH][PKT], in[BATCH][1500];
	struct shoal_esp_crypt jobs[BATCH];
	struct shoal_esp_sa tx, tx_ref;
	struct shoald_crypt_pool *pool;
	size_t len[BATCH], ref_len, n, i;
	int results[BATCH], round;

	ASSERT_EQ(0, shoald_crypt_pool_start(&pool, 3));
	sa_pair(&tx, &tx_ref);
	for (round = 0; round < 300; round++) {
		n = (size_t)round % BATCH + 1;
		for (i = 0; i < n; i++) {
			randombytes_buf(in[i], sizeof(in[i]));
			ASSERT_EQ(0, shoal_esp_seal_prepare(&tx, 1000, 97, in[i],
							    (i * 37) % 1400,
							    pkt[i], PKT, &len[i],
							    &jobs[i]));
		}
		shoald_crypt_pool_run(pool, jobs, results, n);
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, results[i]);
			ASSERT_EQ(0, shoal_esp_seal(&tx_ref, 1000, 97, in[i],
						    (i * 37) % 1400, ref[i],
						    PKT, &ref_len));
			ASSERT_EQ(ref_len, len[i]);
			ASSERT_EQ(0, memcmp(ref[i], pkt[i], ref_len));
		}
	}
	EXPECT_EQ(tx_ref.seq, tx.seq);
	EXPECT_EQ(tx_ref.packets, tx.packets);
	shoald_crypt_pool_stop(pool);
}

/*
 * Opened in place, in one shared batch: the forged packet alone fails,
 * and of two packets with one number only the first is delivered.
 */
TEST(shared_batch_opens_in_place_and_in_order)
{
	static uint8_t pkt[BATCH][PKT], in[BATCH][200];
	struct shoal_esp_crypt jobs[BATCH];
	struct shoald_crypt_pool *pool;
	struct shoal_esp_sa tx, rx;
	uint64_t seq[BATCH];
	size_t len[BATCH], out_len, i;
	int results[BATCH], ret;
	uint8_t nh;

	ASSERT_EQ(0, shoald_crypt_pool_start(&pool, 2));
	sa_pair(&tx, &rx);
	for (i = 0; i < BATCH; i++) {
		randombytes_buf(in[i], sizeof(in[i]));
		ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 4, in[i], sizeof(in[i]),
					    pkt[i], PKT, &len[i]));
	}
	/* 9 is forged (a flipped bit); 20 comes again as 21. */
	pkt[9][30] ^= 1;
	memcpy(pkt[21], pkt[20], len[20]);
	for (i = 0; i < BATCH; i++)
		ASSERT_EQ(0, shoal_esp_open_prepare(&rx, 1000, pkt[i], len[i],
						    pkt[i] + SHOAL_ESP_PAYLOAD_OFFSET,
						    PKT, &seq[i], &jobs[i]));
	shoald_crypt_pool_run(pool, jobs, results, BATCH);
	for (i = 0; i < BATCH; i++) {
		if (i == 9) {
			EXPECT_EQ(-EBADMSG, results[i]);
			continue;
		}
		ASSERT_EQ(0, results[i]);
		ret = shoal_esp_open_finish(&rx, 1000, seq[i], &jobs[i],
					    &out_len, &nh);
		if (i == 21) {
			EXPECT_EQ(-EALREADY, ret);
			continue;
		}
		ASSERT_EQ(0, ret);
		ASSERT_EQ(sizeof(in[i]), out_len);
		EXPECT_EQ(4, nh);
		EXPECT_EQ(0, memcmp(in[i], pkt[i] + SHOAL_ESP_PAYLOAD_OFFSET,
				    out_len));
	}
	EXPECT_EQ((uint64_t)BATCH - 2, rx.packets);
	/* Nothing opened twice: a replay of any is refused before crypto. */
	EXPECT_EQ(-EALREADY, shoal_esp_open_prepare(&rx, 1000, pkt[5], len[5],
						    pkt[5], PKT, &seq[5],
						    &jobs[5]));
	shoald_crypt_pool_stop(pool);
}

/* An SA used up by the first packets of a batch takes no more of it. */
TEST(a_batch_stops_at_the_hard_limit)
{
	uint8_t key[SHOAL_SA_KEY_LEN], in[64], pkt[5][PKT], nh;
	struct shoal_esp_crypt jobs[5];
	struct shoal_esp_sa tx, rx;
	size_t len[5], out_len, i;
	uint64_t seq[5];
	int results[5];

	randombytes_buf(key, sizeof(key));
	randombytes_buf(in, sizeof(in));
	ASSERT_EQ(0, shoal_esp_sa_init(&tx, SPI, key, 0, 0, 0, 0, 1000));
	ASSERT_EQ(0, shoal_esp_sa_init(&rx, SPI, key, 0, 3, 0, 0, 1000));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, shoal_esp_seal(&tx, 1000, 4, in, sizeof(in),
					    pkt[i], PKT, &len[i]));
		ASSERT_EQ(0, shoal_esp_open_prepare(&rx, 1000, pkt[i], len[i],
						    pkt[i] + SHOAL_ESP_PAYLOAD_OFFSET,
						    PKT, &seq[i], &jobs[i]));
	}
	shoald_crypt_pool_run(NULL, jobs, results, 5);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, results[i]);
		EXPECT_EQ(i < 3 ? 0 : -EKEYEXPIRED,
			  shoal_esp_open_finish(&rx, 1000, seq[i], &jobs[i],
						&out_len, &nh));
	}
	EXPECT_EQ(3U, rx.packets);
}

/* No helpers (one CPU), and batches too small to share: the caller's. */
TEST(without_helpers_the_caller_does_it)
{
	uint8_t in[100], pkt[4][PKT], out[PKT], nh;
	struct shoal_esp_crypt jobs[4];
	struct shoald_crypt_pool *pool;
	struct shoal_esp_sa tx, rx;
	size_t len[4], out_len, i;
	int results[4];

	ASSERT_EQ(0, shoald_crypt_pool_start(&pool, 0));
	sa_pair(&tx, &rx);
	randombytes_buf(in, sizeof(in));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, shoal_esp_seal_prepare(&tx, 1000, 4, in, sizeof(in),
						    pkt[i], PKT, &len[i],
						    &jobs[i]));
	shoald_crypt_pool_run(pool, jobs, results, 4);
	shoald_crypt_pool_run(NULL, jobs, results, 0);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, results[i]);
		ASSERT_EQ(0, shoal_esp_open(&rx, 1000, pkt[i], len[i], out,
					    sizeof(out), &out_len, &nh));
		EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	}
	shoald_crypt_pool_stop(pool);
	shoald_crypt_pool_stop(NULL);
}

TEST(default_threads_leave_one_cpu_to_the_caller)
{
	EXPECT_LE(shoald_crypt_pool_default_threads(), 7U);
}

TEST_HARNESS_MAIN
