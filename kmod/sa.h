/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_SA_H
#define _SHOAL_SA_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <uapi/linux/shoal.h>

#include "aead.h"

struct shoal_peer;

/*
 * A security association: one direction of one key.  Outbound SAs hang off
 * their peer; inbound SAs are also in the device's SPI table.  An SA is
 * immutable once published except for its counters and replay window, and
 * is freed after an RCU grace period and once no queued packet holds it.
 */
struct shoal_sa {
	struct hlist_node spi_node;	/* sd->spi_table; RTNL for writers */
	struct hlist_node key_node;	/* sd->sa_out_keys, if outbound; RTNL */
	struct shoal_peer *peer;
	/* Its table's (dropped after the grace period), and one for each
	 * packet queued for the crypto workers.
	 */
	refcount_t ref;
	struct shoal_aead_key aead;	/* the key as the crypto library takes it */
	u8 key[SHOAL_SA_KEY_LEN];	/* kept to recognise an unchanged SA */
	u32 spi;
	u64 soft_packets;
	u64 hard_packets;
	unsigned long created;		/* jiffies */
	unsigned long soft_age;		/* jiffies after created; 0: none */
	unsigned long hard_age;
	atomic64_t packets;		/* sent (outbound) or accepted (inbound) */
	atomic_t soft_notified;
	/*
	 * Inbound: until when small packets go to the open workers rather
	 * than being opened in the softirq (receive.c), after one failed
	 * to authenticate there.
	 */
	unsigned long inline_off_until;	/* jiffies */

	/* Inbound anti-replay: highest accepted sequence number and a
	 * bitmap of the SHOAL_REPLAY_WINDOW numbers below it.
	 */
	spinlock_t replay_lock;
	u64 replay_top;
	unsigned long replay_bitmap[BITS_TO_LONGS(SHOAL_REPLAY_WINDOW)];

	struct list_head retire_node;	/* a setter's list of SAs to free */
};

#define SHOAL_SA_DEFAULT_HARD	BIT_ULL(60)
#define SHOAL_SA_DEFAULT_SOFT	(BIT_ULL(60) - BIT_ULL(32))

void shoal_sa_debugfs_init(void);
void shoal_sa_debugfs_exit(void);
struct shoal_sa *shoal_sa_create(u32 spi, const u8 key[SHOAL_SA_KEY_LEN],
				 u64 soft, u64 hard);
/*
 * Accounts one packet to sa: returns its number (1, 2, ...), or 0 if the
 * SA is past a hard limit.  *soft is set for the one packet that first
 * finds it past a soft limit.
 */
u64 shoal_sa_use(struct shoal_sa *sa, bool *soft);

/* From an RCU reader that found sa published. */
static inline void shoal_sa_get(struct shoal_sa *sa)
{
	refcount_inc(&sa->ref);
}

/*
 * Drops a reference; the last frees sa, wiping its keys.  The table's
 * reference is dropped only after an RCU grace period.
 */
void shoal_sa_put(struct shoal_sa *sa);

/* The full 64-bit sequence number for a received low half (RFC 4303 A.2). */
bool shoal_sa_seq_infer(struct shoal_sa *sa, u32 seq_lo, u64 *seq);
/* Whether seq may still be new; checked before authentication. */
bool shoal_sa_replay_check(struct shoal_sa *sa, u64 seq);
/* Marks seq seen after authentication; false if it was a replay after all. */
bool shoal_sa_replay_commit(struct shoal_sa *sa, u64 seq);

#endif /* _SHOAL_SA_H */
