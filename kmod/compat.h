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

#endif /* _SHOAL_COMPAT_H */
