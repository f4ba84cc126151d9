// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests run at load on kernels built for debugging (Kbuild): the
 * replay window's edges and the extended sequence number's inference
 * across a 2^32 boundary, with packets reordered over it; and the AEAD
 * against RFC 8439's test vector (2.8.2, whose 12-byte AAD and salt ||
 * IV nonce are ESP's), opened from fragments cut mid-block.  These are
 * the checks whose mistakes a test over the network would hardly ever
 * hit.
 */

#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "aead.h"
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

/* RFC 8439 2.8.2: the key 80..9f, then the salt 07000000. */
static const u8 aead_key[SHOAL_AEAD_KEY_LEN] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0x07, 0x00, 0x00, 0x00,
};

static const u8 aead_iv[SHOAL_AEAD_IV_LEN] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
};

static const u8 aead_aad[SHOAL_AEAD_AAD_LEN] = {
	0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3,
	0xc4, 0xc5, 0xc6, 0xc7,
};

/* "Ladies and Gentlemen of the class of '99: If I could offer you only
 * one tip for the future, sunscreen would be it."
 */
static const u8 aead_pt[114] = {
	0x4c, 0x61, 0x64, 0x69, 0x65, 0x73, 0x20, 0x61,
	0x6e, 0x64, 0x20, 0x47, 0x65, 0x6e, 0x74, 0x6c,
	0x65, 0x6d, 0x65, 0x6e, 0x20, 0x6f, 0x66, 0x20,
	0x74, 0x68, 0x65, 0x20, 0x63, 0x6c, 0x61, 0x73,
	0x73, 0x20, 0x6f, 0x66, 0x20, 0x27, 0x39, 0x39,
	0x3a, 0x20, 0x49, 0x66, 0x20, 0x49, 0x20, 0x63,
	0x6f, 0x75, 0x6c, 0x64, 0x20, 0x6f, 0x66, 0x66,
	0x65, 0x72, 0x20, 0x79, 0x6f, 0x75, 0x20, 0x6f,
	0x6e, 0x6c, 0x79, 0x20, 0x6f, 0x6e, 0x65, 0x20,
	0x74, 0x69, 0x70, 0x20, 0x66, 0x6f, 0x72, 0x20,
	0x74, 0x68, 0x65, 0x20, 0x66, 0x75, 0x74, 0x75,
	0x72, 0x65, 0x2c, 0x20, 0x73, 0x75, 0x6e, 0x73,
	0x63, 0x72, 0x65, 0x65, 0x6e, 0x20, 0x77, 0x6f,
	0x75, 0x6c, 0x64, 0x20, 0x62, 0x65, 0x20, 0x69,
	0x74, 0x2e,
};

static const u8 aead_ct[sizeof(aead_pt)] = {
	0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb,
	0x7b, 0x86, 0xaf, 0xbc, 0x53, 0xef, 0x7e, 0xc2,
	0xa4, 0xad, 0xed, 0x51, 0x29, 0x6e, 0x08, 0xfe,
	0xa9, 0xe2, 0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6,
	0x3d, 0xbe, 0xa4, 0x5e, 0x8c, 0xa9, 0x67, 0x12,
	0x82, 0xfa, 0xfb, 0x69, 0xda, 0x92, 0x72, 0x8b,
	0x1a, 0x71, 0xde, 0x0a, 0x9e, 0x06, 0x0b, 0x29,
	0x05, 0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36,
	0x92, 0xdd, 0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c,
	0x98, 0x03, 0xae, 0xe3, 0x28, 0x09, 0x1b, 0x58,
	0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94,
	0x55, 0x85, 0x80, 0x8b, 0x48, 0x31, 0xd7, 0xbc,
	0x3f, 0xf4, 0xde, 0xf0, 0x8e, 0x4b, 0x7a, 0x9d,
	0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce, 0xc6, 0x4b,
	0x61, 0x16,
};

static const u8 aead_tag[SHOAL_AEAD_TAG_LEN] = {
	0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a,
	0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91,
};

/* The ciphertext in a head of 7 bytes and frags of 50 and 57: no piece
 * starts or ends on a 64-byte block.
 */
static struct sk_buff *aead_skb(void)
{
	static const unsigned int cut[] = { 7, 50, 57 };
	unsigned int i, off = cut[0];
	struct sk_buff *skb = alloc_skb(cut[0], GFP_KERNEL);
	struct page *page;

	if (!skb)
		return NULL;
	skb_put_data(skb, aead_ct, cut[0]);
	for (i = 1; i < ARRAY_SIZE(cut); i++) {
		page = alloc_page(GFP_KERNEL);
		if (!page) {
			kfree_skb(skb);
			return NULL;
		}
		memcpy(page_address(page) + 3, aead_ct + off, cut[i]);
		skb_add_rx_frag(skb, i - 1, page, 3, cut[i], PAGE_SIZE);
		off += cut[i];
	}
	return skb;
}

/*
 * Opens the RFC's ciphertext, in fragments, with tag: 1 if it opened and
 * gave the plaintext back, 0 if refused, -ENOMEM.
 */
static int aead_open_fragments(const struct shoal_aead_key *k, const u8 *tag)
{
	u8 buf[sizeof(aead_ct)];
	struct sk_buff *skb = aead_skb();
	int opened;

	if (!skb)
		return -ENOMEM;
	opened = shoal_aead_open(k, aead_aad, aead_iv, skb, 0, sizeof(buf),
				 tag) &&
		 !skb_copy_bits(skb, 0, buf, sizeof(buf)) &&
		 !memcmp(buf, aead_pt, sizeof(buf));
	kfree_skb(skb);
	return opened;
}

static unsigned int aead_selftest(void)
{
	u8 buf[sizeof(aead_ct)], tag[SHOAL_AEAD_TAG_LEN], bad[SHOAL_AEAD_TAG_LEN];
	struct shoal_aead_key k;
	unsigned int failed = 0;

	shoal_aead_key_init(&k, aead_key);
	memcpy(buf, aead_pt, sizeof(buf));
	shoal_aead_seal(&k, aead_aad, aead_iv, buf, sizeof(buf), tag);
	if (memcmp(buf, aead_ct, sizeof(buf)) || memcmp(tag, aead_tag, sizeof(tag))) {
		pr_err("shoal: self-test aead: seal differs from RFC 8439 2.8.2\n");
		failed++;
	}
	if (aead_open_fragments(&k, aead_tag) != 1) {
		pr_err("shoal: self-test aead: open from fragments failed\n");
		failed++;
	}
	/* A tag off by one bit is refused. */
	memcpy(bad, aead_tag, sizeof(bad));
	bad[5] ^= 0x10;
	if (aead_open_fragments(&k, bad)) {
		pr_err("shoal: self-test aead: a wrong tag was accepted\n");
		failed++;
	}
	memzero_explicit(&k, sizeof(k));
	if (!failed)
		pr_info("shoal: 3 AEAD self-tests passed (RFC 8439 2.8.2)\n");
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
	failed += aead_selftest();
	if (failed) {
		pr_err("shoal: %u self-tests failed\n", failed);
		return -EINVAL;
	}
	pr_info("shoal: %zu replay and sequence self-tests passed\n",
		ARRAY_SIZE(window) + ARRAY_SIZE(boundary) +
		ARRAY_SIZE(first_block));
	return 0;
}
