/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels shoal builds for, found by Kbuild from
 * the headers (feature detection, not version numbers).
 */
#ifndef _SHOAL_COMPAT_H
#define _SHOAL_COMPAT_H

/* 6.12 moved the unaligned accessors out of asm/. */
#ifdef SHOAL_HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.4 moved skb_gso_segment() out of linux/netdevice.h. */
#ifdef SHOAL_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/*
 * Before 6.2 generic netlink has no split operations, and the family's
 * pre_doit and post_doit take the one kind of operation there is; the
 * prototypes kmod/netlink-gen.h declares name the newer type.
 */
#ifndef SHOAL_HAVE_GENL_SPLIT_OPS
#define genl_split_ops genl_ops
#endif

/*
 * Before 6.2 a policy's range is not const, and the ranges
 * kmod/netlink-gen.c declares are: the kernel only reads them.
 */
#ifndef SHOAL_HAVE_CONST_NLA_RANGE
#include <net/netlink.h>
#undef NLA_POLICY_FULL_RANGE
#define NLA_POLICY_FULL_RANGE(tp, _range) {				\
	.type = NLA_ENSURE_UINT_OR_BINARY_TYPE(tp),			\
	.validation_type = NLA_VALIDATE_RANGE_PTR,			\
	.range = (struct netlink_range_validation *)(_range),		\
}
#endif

#endif /* _SHOAL_COMPAT_H */
