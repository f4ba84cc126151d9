// SPDX-License-Identifier: GPL-2.0
/*
 * Security associations: their keys (ChaCha20-Poly1305 per RFC 7634, in
 * aead.c), and the RFC 4303 extended sequence number and anti-replay
 * window.
 */

#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "sa.h"

/*
 * SAs alive in the module, in debugfs as shoal/sas: the tests' leak check
 * (an SA holds no other object whose count would show it).
 */
static atomic_t shoal_sa_live = ATOMIC_INIT(0);
static struct dentry *shoal_debugfs;

struct shoal_sa *shoal_sa_create(u32 spi, const u8 key[SHOAL_SA_KEY_LEN],
				 u64 soft, u64 hard)
{
	struct shoal_sa *sa;

	BUILD_BUG_ON(SHOAL_SA_KEY_LEN != SHOAL_AEAD_KEY_LEN);
	sa = kzalloc(sizeof(*sa), GFP_KERNEL_ACCOUNT);
	if (!sa)
		return ERR_PTR(-ENOMEM);
	shoal_aead_key_init(&sa->aead, key);
	memcpy(sa->key, key, SHOAL_SA_KEY_LEN);
	sa->spi = spi;
	sa->soft_packets = soft;
	sa->hard_packets = hard;
	sa->created = jiffies;
	sa->inline_off_until = jiffies;
	spin_lock_init(&sa->replay_lock);
	INIT_HLIST_NODE(&sa->spi_node);
	INIT_LIST_HEAD(&sa->retire_node);
	refcount_set(&sa->ref, 1);
	atomic_inc(&shoal_sa_live);
	return sa;
}

void shoal_sa_put(struct shoal_sa *sa)
{
	if (!sa || !refcount_dec_and_test(&sa->ref))
		return;
	atomic_dec(&shoal_sa_live);
	/* kfree_sensitive() clears the keys, both forms. */
	kfree_sensitive(sa);
}

static int sas_get(void *data, u64 *val)
{
	*val = atomic_read(&shoal_sa_live);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(sas_fops, sas_get, NULL, "%llu\n");

void shoal_sa_debugfs_init(void)
{
	shoal_debugfs = debugfs_create_dir("shoal", NULL);
	debugfs_create_file_unsafe("sas", 0400, shoal_debugfs, NULL, &sas_fops);
}

void shoal_sa_debugfs_exit(void)
{
	debugfs_remove_recursive(shoal_debugfs);
}

u64 shoal_sa_use(struct shoal_sa *sa, bool *soft)
{
	u64 n = atomic64_inc_return(&sa->packets);
	unsigned long now = jiffies;

	*soft = false;
	if (n > sa->hard_packets ||
	    (sa->hard_age && time_after_eq(now, sa->created + sa->hard_age)))
		return 0;
	if ((n >= sa->soft_packets ||
	     (sa->soft_age && time_after_eq(now, sa->created + sa->soft_age))) &&
	    !atomic_xchg(&sa->soft_notified, 1))
		*soft = true;
	return n;
}

bool shoal_sa_seq_infer(struct shoal_sa *sa, u32 seq_lo, u64 *seq)
{
	u64 top = READ_ONCE(sa->replay_top);
	u32 tl = lower_32_bits(top), th = upper_32_bits(top);
	u32 w = SHOAL_REPLAY_WINDOW;
	u32 hi;

	if (tl >= w - 1) {
		/* Window inside one 2^32 block: below it means the next block. */
		hi = seq_lo >= tl - w + 1 ? th : th + 1;
	} else {
		/* Window spans a block boundary: high seq_lo is the last block. */
		if (seq_lo >= tl - w + 1) {
			if (!th)
				return false;
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	*seq = (u64)hi << 32 | seq_lo;
	return *seq != 0;
}

static bool replay_seen(struct shoal_sa *sa, u64 seq, u64 top)
{
	if (seq > top)
		return false;
	if (top - seq >= SHOAL_REPLAY_WINDOW)
		return true;
	return test_bit(seq % SHOAL_REPLAY_WINDOW, sa->replay_bitmap);
}

bool shoal_sa_replay_check(struct shoal_sa *sa, u64 seq)
{
	return !replay_seen(sa, seq, READ_ONCE(sa->replay_top));
}

bool shoal_sa_replay_commit(struct shoal_sa *sa, u64 seq)
{
	bool ok = false;
	u64 top, n;

	spin_lock_bh(&sa->replay_lock);
	top = sa->replay_top;
	if (replay_seen(sa, seq, top))
		goto unlock;
	if (seq > top) {
		/* Forget the numbers the window slides past. */
		if (seq - top >= SHOAL_REPLAY_WINDOW)
			bitmap_zero(sa->replay_bitmap, SHOAL_REPLAY_WINDOW);
		else
			for (n = top + 1; n < seq; n++)
				clear_bit(n % SHOAL_REPLAY_WINDOW,
					  sa->replay_bitmap);
		WRITE_ONCE(sa->replay_top, seq);
	}
	set_bit(seq % SHOAL_REPLAY_WINDOW, sa->replay_bitmap);
	ok = true;
unlock:
	spin_unlock_bh(&sa->replay_lock);
	return ok;
}
