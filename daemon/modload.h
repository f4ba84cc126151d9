/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_MODLOAD_H
#define SHOALD_MODLOAD_H

#include <stddef.h>

/*
 * Tries `modprobe shoal` once.  Returns 0 if the module is (now) loaded;
 * otherwise -1 with why in reason, worded for a user: no module for this
 * kernel, Secure Boot refusing it, module loading disabled, no modprobe.
 */
int shoald_load_module(char *reason, size_t size);
/*
 * Where /dev/net/tun is missing (no udev made it): `modprobe tun`, and the
 * node made if no devtmpfs made it.  0, or -1 with why in reason.
 */
int shoald_load_tun(char *reason, size_t size);

#endif
