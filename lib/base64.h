/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_BASE64_H
#define SHOAL_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64 needs for n bytes, without the terminating NUL. */
#define SHOAL_BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Standard base64 (RFC 4648, section 4) with padding.  Encoding writes a
 * NUL-terminated string and returns its length, or -1 if dst is too small.
 */
int shoal_base64_encode(char *dst, size_t dst_size, const uint8_t *src,
			size_t len);

/*
 * Decodes exactly len bytes from a canonical padded string: anything else
 * (wrong length, stray characters, non-zero trailing bits) returns -1.
 */
int shoal_base64_decode_exact(uint8_t *dst, size_t len, const char *src);

#endif
