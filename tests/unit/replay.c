// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/sa.c's anti-replay window and extended sequence numbers (RFC 4303
 * 3.4.3 and A.2), tested directly: the module's own source compiled in
 * userspace against the shim in tests/unit/kshim/.  Hand-picked cases at
 * each edge (the window's bottom, a 2^32 block boundary, the first block,
 * jumps, duplicates), then long random runs checked against models
 * written another way: the window as the set of numbers accepted, and
 * ESN inference as "the one number with these low 32 bits in the 2^32
 * above the window's bottom".  The load-time self-tests (kmod/selftest.c)
 * run the same code in the kernel, on debug kernels only.
 */
#include <stdio.h>

#include "kselftest_harness.h"

#include "kmod/sa.c"

/* The module's code calls it from shoal_sa_create(); the key is unused. */
void shoal_aead_key_init(struct shoal_aead_key *k,
			 const u8 key[SHOAL_AEAD_KEY_LEN])
{
	memset(k, 0, sizeof(*k));
	memcpy(k->salt, key + 32, sizeof(k->salt));
}

#define W ((u64)SHOAL_REPLAY_WINDOW)
#define BLOCK (1ULL << 32)

/* An inbound SA whose highest accepted number is top (0: none yet). */
static struct shoal_sa *sa_at(u64 top)
{
	static const u8 key[SHOAL_SA_KEY_LEN];
	struct shoal_sa *sa = shoal_sa_create(0x100, key, 10, 20);

	if (top && sa) {
		sa->replay_top = top;
		set_bit(top % W, sa->replay_bitmap);
	}
	return sa;
}

/* The receive path's order: check, authenticate (left out), commit. */
static bool accept(struct shoal_sa *sa, u64 seq)
{
	return shoal_sa_replay_check(sa, seq) && shoal_sa_replay_commit(sa, seq);
}

/* 0 when the low half stands for no number. */
static u64 infer(struct shoal_sa *sa, u32 lo)
{
	u64 seq;

	return shoal_sa_seq_infer(sa, lo, &seq) ? seq : 0;
}

TEST(window_edges_in_one_block)
{
	struct shoal_sa *sa = sa_at(0);

	ASSERT_NE(NULL, sa);
	EXPECT_TRUE(accept(sa, 1));
	EXPECT_FALSE(accept(sa, 1));			/* duplicate */
	EXPECT_TRUE(accept(sa, W + 100));
	EXPECT_FALSE(accept(sa, W + 100));		/* duplicate of the top */
	EXPECT_FALSE(accept(sa, 100));			/* top - W: just outside */
	EXPECT_TRUE(accept(sa, 101));			/* top - W + 1: the bottom */
	EXPECT_FALSE(accept(sa, 101));
	EXPECT_TRUE(accept(sa, W + 99));		/* just below the top */
	EXPECT_TRUE(accept(sa, W + 101));		/* slides by one */
	EXPECT_FALSE(accept(sa, 101));			/* now outside */
	EXPECT_TRUE(accept(sa, 102));			/* the new bottom */
	shoal_sa_put(sa);
}

/* Sliding forgets what was seen at the numbers the window moves over. */
TEST(slide_clears_reused_bits)
{
	struct shoal_sa *sa = sa_at(0);
	u64 n;

	ASSERT_NE(NULL, sa);
	for (n = 1; n <= W; n++)
		ASSERT_TRUE(accept(sa, n));
	/* W + k shares k's bit: each slide by one must clear it first. */
	EXPECT_TRUE(accept(sa, W + 5));
	for (n = W + 1; n < W + 5; n++)
		EXPECT_TRUE(accept(sa, n));
	EXPECT_FALSE(accept(sa, 5));
	EXPECT_TRUE(accept(sa, 2 * W - 1));		/* bit W - 1, seen as W - 1 */
	EXPECT_FALSE(accept(sa, W - 1));
	shoal_sa_put(sa);
}

TEST(far_ahead_jumps)
{
	struct shoal_sa *sa = sa_at(0);

	ASSERT_NE(NULL, sa);
	EXPECT_TRUE(accept(sa, 10));
	EXPECT_TRUE(accept(sa, 10 + W));		/* exactly a window ahead */
	EXPECT_FALSE(accept(sa, 10));
	EXPECT_TRUE(accept(sa, 11));			/* the bit the jump cleared */
	EXPECT_TRUE(accept(sa, 5 * BLOCK + 7));		/* past whole blocks */
	EXPECT_FALSE(accept(sa, 10 + W));
	EXPECT_FALSE(accept(sa, 5 * BLOCK + 7 - W));
	EXPECT_TRUE(accept(sa, 5 * BLOCK + 8 - W));
	EXPECT_TRUE(accept(sa, 5 * BLOCK + 6));
	EXPECT_FALSE(accept(sa, 5 * BLOCK + 6));
	shoal_sa_put(sa);
}

/* A check alone marks nothing: an unauthenticated packet leaves no trace. */
TEST(check_without_commit_marks_nothing)
{
	struct shoal_sa *sa = sa_at(50);

	ASSERT_NE(NULL, sa);
	EXPECT_TRUE(shoal_sa_replay_check(sa, 40));
	EXPECT_TRUE(shoal_sa_replay_check(sa, 40));
	EXPECT_TRUE(shoal_sa_replay_check(sa, 3 * W));
	EXPECT_EQ(50ULL, sa->replay_top);
	EXPECT_TRUE(shoal_sa_replay_commit(sa, 40));
	/* Two packets past the check with one number: the second loses. */
	EXPECT_TRUE(shoal_sa_replay_check(sa, 41));
	EXPECT_TRUE(shoal_sa_replay_check(sa, 41));
	EXPECT_TRUE(shoal_sa_replay_commit(sa, 41));
	EXPECT_FALSE(shoal_sa_replay_commit(sa, 41));
	shoal_sa_put(sa);
}

TEST(esn_within_a_block)
{
	struct shoal_sa *sa = sa_at(3 * BLOCK + 10 * W);

	ASSERT_NE(NULL, sa);
	EXPECT_EQ(3 * BLOCK + 10 * W, infer(sa, 10 * W));
	EXPECT_EQ(3 * BLOCK + 9 * W + 1, infer(sa, 9 * W + 1));	/* bottom */
	/* Below the window: a number of the next block, which the ICV
	 * (covering the high half) then refuses if it was a late one.
	 */
	EXPECT_EQ(4 * BLOCK + 9 * W, infer(sa, 9 * W));
	EXPECT_EQ(3 * BLOCK + 0xffffffff, infer(sa, 0xffffffff));
	EXPECT_EQ(4 * BLOCK, infer(sa, 0));
	shoal_sa_put(sa);
}

/* The high 32 bits wrap: the window spans the boundary of two blocks. */
TEST(esn_across_the_high_half_wrap)
{
	struct shoal_sa *sa = sa_at(7 * BLOCK + 5);

	ASSERT_NE(NULL, sa);
	EXPECT_EQ(7 * BLOCK + 5, infer(sa, 5));
	EXPECT_EQ(7 * BLOCK + 6, infer(sa, 6));
	EXPECT_EQ(7 * BLOCK, infer(sa, 0));
	EXPECT_EQ(7 * BLOCK - 1, infer(sa, 0xffffffff));	/* late, last block */
	EXPECT_EQ(7 * BLOCK + 6 - W, infer(sa, (u32)(6 - W)));	/* the bottom */
	EXPECT_EQ(7 * BLOCK + 5 - W + BLOCK, infer(sa, (u32)(5 - W)));
	/* Accepting a late one from the last block keeps the top. */
	EXPECT_TRUE(accept(sa, 7 * BLOCK - 1));
	EXPECT_EQ(7 * BLOCK + 5, sa->replay_top);
	EXPECT_FALSE(accept(sa, 7 * BLOCK - 1));
	EXPECT_FALSE(accept(sa, 7 * BLOCK + 5 - W));
	shoal_sa_put(sa);
}

/* tl == W - 1 is the last top whose window stays in its block. */
TEST(esn_at_the_split_between_the_two_cases)
{
	struct shoal_sa *sa = sa_at(2 * BLOCK + W - 1);

	ASSERT_NE(NULL, sa);
	EXPECT_EQ(2 * BLOCK, infer(sa, 0));		/* the bottom, tl - W + 1 */
	EXPECT_EQ(3 * BLOCK - 1, infer(sa, 0xffffffff));	/* below: next */
	sa->replay_top = 2 * BLOCK + W - 2;		/* spans the boundary */
	EXPECT_EQ(2 * BLOCK - 1, infer(sa, 0xffffffff));	/* the bottom */
	EXPECT_EQ(3 * BLOCK - 2, infer(sa, 0xfffffffe));	/* below it */
	shoal_sa_put(sa);
}

/* Block 0 has no block before it, and sequence number 0 is never sent. */
TEST(esn_in_the_first_block)
{
	struct shoal_sa *sa = sa_at(0);

	ASSERT_NE(NULL, sa);
	EXPECT_EQ(0ULL, infer(sa, 0));
	EXPECT_EQ(1ULL, infer(sa, 1));
	EXPECT_EQ(0ULL, infer(sa, 0xffffffff));
	sa->replay_top = W - 2;
	EXPECT_EQ(0ULL, infer(sa, (u32)-1));
	EXPECT_EQ(W - 2, infer(sa, W - 2));
	sa->replay_top = W - 1;				/* the window is 0..W - 1 */
	EXPECT_EQ(0ULL, infer(sa, 0));
	EXPECT_EQ(BLOCK - 1, infer(sa, 0xffffffff));	/* far ahead */
	sa->replay_top = W;				/* the window is 1..W */
	EXPECT_EQ(BLOCK, infer(sa, 0));			/* below: the next block */
	shoal_sa_put(sa);
}

/* xorshift64*: a fixed seed, so that a failure repeats. */
static u64 rnd(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* The window as RFC 4303 states it, over the numbers accepted so far
 * (kept in a ring big enough for every one still inside the window).
 */
struct model {
	u64 top;
	u64 seen[4 * SHOAL_REPLAY_WINDOW];
	size_t n;
};

static bool model_accept(struct model *m, u64 seq)
{
	size_t i;

	if (seq == 0 || (seq <= m->top && m->top - seq >= W))
		return false;
	for (i = 0; i < m->n; i++)
		if (m->seen[i] == seq)
			return false;
	if (seq > m->top)
		m->top = seq;
	/* Drop what fell out of the window, keep the rest. */
	for (i = 0; i < m->n;)
		if (m->top - m->seen[i] >= W)
			m->seen[i] = m->seen[--m->n];
		else
			i++;
	m->seen[m->n++] = seq;
	return true;
}

/* The number with these low 32 bits in [bottom, bottom + 2^32). */
static u64 model_infer(u64 top, u32 lo)
{
	__int128 bottom = (__int128)top - (__int128)W + 1;
	__int128 seq = bottom + (u32)(lo - (u32)bottom);

	return seq > 0 ? (u64)seq : 0;
}

TEST(random_traffic_matches_the_model)
{
	static struct model m;
	struct shoal_sa *sa = sa_at(0);
	u64 s = 0x5ea1, start, seq, mismatches = 0;
	unsigned int i;

	ASSERT_NE(NULL, sa);
	/* Start near a block boundary so that the runs cross it. */
	start = BLOCK - 3 * W;
	sa->replay_top = m.top = start;
	for (i = 0; i < 200000; i++) {
		u64 r = rnd(&s);

		/* Mostly in order, often late or repeated, sometimes far. */
		switch (r % 8) {
		case 0: case 1: case 2:
			seq = m.top + 1 + (r >> 8) % 4;
			break;
		case 3: case 4:
			seq = m.top - (r >> 8) % (W + 8);
			break;
		case 5:
			seq = m.top - W + 1 - (r >> 8) % 3 + 2;
			break;
		case 6:
			seq = m.top + (r >> 8) % (2 * W);
			break;
		default:
			seq = m.top + (r >> 8) % 4;
			break;
		}
		if (model_infer(m.top, (u32)seq) !=
		    infer(sa, (u32)seq)) {
			if (mismatches++ < 5)
				TH_LOG("infer %#llx at top %#llx: %#llx, not %#llx",
				       (unsigned long long)(u32)seq,
				       (unsigned long long)m.top,
				       (unsigned long long)infer(sa, (u32)seq),
				       (unsigned long long)model_infer(m.top, (u32)seq));
		}
		if (model_accept(&m, seq) != accept(sa, seq)) {
			if (mismatches++ < 5)
				TH_LOG("accept %#llx at top %#llx differs",
				       (unsigned long long)seq,
				       (unsigned long long)m.top);
		}
	}
	EXPECT_EQ(0ULL, mismatches);
	EXPECT_GT(m.top, BLOCK);	/* the run crossed the boundary */
	EXPECT_EQ(m.top, sa->replay_top);
	shoal_sa_put(sa);
}

TEST(infer_matches_the_model_at_every_edge)
{
	static const u64 tops[] = {
		0, 1, W - 2, W - 1, W, BLOCK - 1, BLOCK, BLOCK + W - 2,
		BLOCK + W - 1, BLOCK + W, 0xfffffffe00000000ULL,
		0xffffffff00000000ULL + W - 2,
	};
	static const u32 los[] = {
		0, 1, 2, W - 3, W - 2, W - 1, W, 0x7fffffff, 0x80000000,
		0xffffffff - W, 0xffffffff - W + 1, 0xffffffff - W + 2,
		0xfffffffe, 0xffffffff,
	};
	struct shoal_sa *sa = sa_at(0);
	unsigned int t, l, d;

	ASSERT_NE(NULL, sa);
	for (t = 0; t < ARRAY_SIZE(tops); t++) {
		for (l = 0; l < ARRAY_SIZE(los); l++) {
			for (d = 0; d < 3; d++) {
				/* Each low half, and the top's own low half near it. */
				u32 lo = d ? (u32)tops[t] + d - 2 : los[l];

				sa->replay_top = tops[t];
				EXPECT_EQ(model_infer(tops[t], lo), infer(sa, lo)) {
					TH_LOG("top %#llx lo %#x",
					       (unsigned long long)tops[t], lo);
				}
			}
		}
	}
	shoal_sa_put(sa);
}

TEST_HARNESS_MAIN
