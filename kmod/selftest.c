// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests run at load on kernels built for debugging (Kbuild): the
 * replay window's edges and the extended sequence number's inference
 * across a 2^32 boundary, with packets reordered over it.  These are the
 * checks whose mistakes a test over the network would hardly ever hit.
 */

#include <linux/kernel.h>
#include <linux/slab.h>

#include "sa.h"
#include "selftest.h"

/*
 * One step: INFER takes a received low half to the sequence number it
 * stands for (0: none), ACCEPT checks a full sequence number and commits
 * it (1: accepted as new).  Authentication, which sits between the two on
 * the packet path, is left out: a low half below the window is inferred
 * into the next block, and the ICV (which covers the high half) then
 * fails.
 */
enum { INFER, ACCEPT };

struct seq_step {
	u8 op;
	u64 in, want;
};

#define W SHOAL_REPLAY_WINDOW
#define HI(n) ((u64)(n) << 32)

/* From replay_top 0: the window's edges within one block. */
static const struct seq_step window[] = {
	{ INFER, 0, 0 },		/* never a sequence number */
	{ INFER, 1, 1 },
	{ ACCEPT, 1, 1 },
	{ ACCEPT, 1, 0 },		/* replayed */
	{ ACCEPT, 2, 1 },
	{ ACCEPT, W, 1 },
	{ ACCEPT, 1, 0 },		/* seen, still in the window */
	{ ACCEPT, 3, 1 },		/* late, in the window */
	{ ACCEPT, W + 1, 1 },
	{ ACCEPT, 1, 0 },		/* slid out of the window */
	{ ACCEPT, 2, 0 },		/* at its bottom, and seen */
	{ ACCEPT, 4, 1 },		/* at its bottom, not seen */
	{ ACCEPT, W + 3, 1 },		/* slides over W + 2, whose bit 2 had */
	{ ACCEPT, W + 2, 1 },
	{ ACCEPT, 4 * W, 1 },		/* a jump past the whole window */
	{ ACCEPT, 3 * W, 0 },		/* one below its bottom */
	{ ACCEPT, 3 * W + 1, 1 },	/* its bottom */
	{ ACCEPT, 4 * W - 1, 1 },
	{ ACCEPT, 4 * W - 1, 0 },
	{ ACCEPT, 4 * W, 0 },
	{ ACCEPT, 4 * W + 1, 1 },
	{ ACCEPT, 3 * W + 2, 1 },	/* a bit the jump cleared */
	{ INFER, 3 * W + 2, 3 * W + 2 },
	{ INFER, 3 * W + 1, HI(1) | (3 * W + 1) },	/* below: next block */
};

/* From replay_top 2^32 - 5: across the first block boundary. */
static const struct seq_step boundary[] = {
	{ INFER, 0xfffffffd, 0xfffffffd },
	{ ACCEPT, 0xfffffffd, 1 },
	{ INFER, 2, HI(1) | 2 },	/* the next block */
	{ ACCEPT, HI(1) | 2, 1 },
	{ INFER, 0xffffffff, 0xffffffff },	/* reordered across it */
	{ ACCEPT, 0xffffffff, 1 },
	{ ACCEPT, 0xffffffff, 0 },
	{ INFER, 1, HI(1) | 1 },
	{ ACCEPT, HI(1) | 1, 1 },
	{ ACCEPT, HI(1) | 2, 0 },
	{ ACCEPT, 0xfffffffd, 0 },
	{ ACCEPT, 0xfffffffb, 0 },	/* the starting top */
	{ ACCEPT, 0xfffffffc, 1 },
	{ INFER, 0xfffff803, HI(1) - W + 3 },	/* the window's bottom */
	{ ACCEPT, HI(1) - W + 3, 1 },
	{ INFER, 0xfffff802, HI(1) | 0xfffff802 },	/* below it */
	{ INFER, 0, HI(1) },		/* zero is a number past a boundary */
	{ ACCEPT, HI(1), 1 },
	{ ACCEPT, HI(1) | (3 * W), 1 },
	{ INFER, 0xffffffff, HI(1) | 0xffffffff },
	{ ACCEPT, 0xffffffff, 0 },	/* slid out */
};

/* From replay_top 5: there is no block before the first to infer into. */
static const struct seq_step first_block[] = {
	{ INFER, 0xfffffff0, 0 },
	{ ACCEPT, 5, 0 },
	{ ACCEPT, 6, 1 },
	{ INFER, 0, 0 },
};

static unsigned int run(struct shoal_sa *sa, u64 top,
			const struct seq_step *s, unsigned int n,
			const char *name)
{
	unsigned int i, failed = 0;
	u64 got;

	memset(sa->replay_bitmap, 0, sizeof(sa->replay_bitmap));
	sa->replay_top = top;
	if (top)
		set_bit(top % W, sa->replay_bitmap);
	for (i = 0; i < n; i++) {
		got = 0;
		if (s[i].op == INFER) {
			if (!shoal_sa_seq_infer(sa, (u32)s[i].in, &got))
				got = 0;
		} else {
			got = shoal_sa_replay_check(sa, s[i].in) &&
			      shoal_sa_replay_commit(sa, s[i].in);
		}
		if (got == s[i].want)
			continue;
		pr_err("shoal: self-test %s step %u: %s %#llx gave %#llx, not %#llx\n",
		       name, i, s[i].op == INFER ? "infer" : "accept",
		       s[i].in, got, s[i].want);
		failed++;
	}
	return failed;
}

int shoal_selftest(void)
{
	struct shoal_sa *sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	unsigned int failed;

	if (!sa)
		return -ENOMEM;
	spin_lock_init(&sa->replay_lock);
	failed = run(sa, 0, window, ARRAY_SIZE(window), "window");
	failed += run(sa, HI(1) - 5, boundary, ARRAY_SIZE(boundary),
		      "boundary");
	failed += run(sa, 5, first_block, ARRAY_SIZE(first_block),
		      "first_block");
	kfree(sa);
	if (failed) {
		pr_err("shoal: %u self-tests failed\n", failed);
		return -EINVAL;
	}
	pr_info("shoal: %zu replay and sequence self-tests passed\n",
		ARRAY_SIZE(window) + ARRAY_SIZE(boundary) +
		ARRAY_SIZE(first_block));
	return 0;
}
