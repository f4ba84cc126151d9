/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_HEX_H
#define SHOAL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Characters hex needs for n bytes, without the terminating NUL. */
#define SHOAL_HEX_LEN(n) ((n) * 2)

/*
 * Lower-case hex of len bytes as a NUL-terminated string; returns its
 * length, or -1 if dst is too small.
 */
int shoal_hex_encode(char *dst, size_t dst_size, const uint8_t *src,
		     size_t len);

/*
 * Decodes the first src_len characters of src (digits in either case,
 * nothing else, an even count) into at most dst_size bytes.  Returns the
 * number of bytes, or -1.  dst may be partly written on failure.
 */
int shoal_hex_decode(uint8_t *dst, size_t dst_size, const char *src,
		     size_t src_len);

#endif
