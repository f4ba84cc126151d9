/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_SELFTEST_H
#define _SHOAL_SELFTEST_H

#ifdef SHOAL_DEBUG
/* 0, or -EINVAL after logging each check that failed. */
int shoal_selftest(void);
#else
static inline int shoal_selftest(void)
{
	return 0;
}
#endif

#endif /* _SHOAL_SELFTEST_H */
