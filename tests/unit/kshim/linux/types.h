/* SPDX-License-Identifier: GPL-2.0 */
/* The uapi types (__u32...) and the shim's kernel ones (u32...). */
#include_next <linux/types.h>
#include "../kshim.h"
