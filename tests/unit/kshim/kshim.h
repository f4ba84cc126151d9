/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's API, in userspace, to compile kmod/sa.c
 * as it is into tests/unit/replay.c: one thread, so the locks do nothing
 * and the atomics are plain arithmetic.  The headers beside this one
 * (under linux/ and crypto/) stand in for the kernel's and include it.
 */
#ifndef SHOAL_KSHIM_H
#define SHOAL_KSHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_ULL(n)		(1ULL << (n))
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define READ_ONCE(x)		(x)
#define WRITE_ONCE(x, v)	((x) = (v))
#define lower_32_bits(n)	((u32)(n))
#define upper_32_bits(n)	((u32)((u64)(n) >> 32))
#define ERR_PTR(e)		((void *)(intptr_t)(e))

static inline void set_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void clear_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline bool test_bit(unsigned long nr, const unsigned long *map)
{
	return map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG) & 1;
}

static inline void bitmap_zero(unsigned long *map, unsigned int bits)
{
	memset(map, 0, BITS_TO_LONGS(bits) * sizeof(long));
}

typedef struct { int counter; } atomic_t;
typedef struct { s64 counter; } atomic64_t;
typedef atomic_t refcount_t;
#define ATOMIC_INIT(i)		{ (i) }
#define atomic_read(a)		((a)->counter)
#define atomic_inc(a)		((void)(a)->counter++)
#define atomic_dec(a)		((void)(a)->counter--)
#define atomic64_inc_return(a)	(++(a)->counter)
static inline int atomic_xchg(atomic_t *a, int v)
{
	int old = a->counter;

	a->counter = v;
	return old;
}

#define refcount_set(r, n)	((r)->counter = (n))
#define refcount_inc(r)		((void)(r)->counter++)
#define refcount_dec_and_test(r) (--(r)->counter == 0)

typedef struct { int unused; } spinlock_t;
#define spin_lock_init(l)	((void)(l))
#define spin_lock_bh(l)		((void)(l))
#define spin_unlock_bh(l)	((void)(l))

struct hlist_node { struct hlist_node *next, **pprev; };
struct list_head { struct list_head *next, *prev; };
#define INIT_HLIST_NODE(h)	((h)->next = NULL, (h)->pprev = NULL)
#define INIT_LIST_HEAD(l)	((l)->next = (l), (l)->prev = (l))

#define GFP_KERNEL_ACCOUNT	0
#define kzalloc(size, gfp)	calloc(1, (size))
#define kfree_sensitive(p)	free(p)

/* Time stands still: no SA here ever ages. */
static const unsigned long jiffies;
#define time_after_eq(a, b)	((long)((a) - (b)) >= 0)

struct dentry;
#define DEFINE_DEBUGFS_ATTRIBUTE(fops, get, set, fmt) \
	static int (*const fops)(void *, u64 *) __attribute__((unused)) = get
#define debugfs_create_dir(name, parent)	((struct dentry *)NULL)
#define debugfs_create_file_unsafe(name, mode, parent, data, fops) \
	((void)(fops))
#define debugfs_remove_recursive(d)	((void)(d))

#define CHACHA_KEY_SIZE		32
#define MAX_SKB_FRAGS		17
struct sk_buff;

#endif
