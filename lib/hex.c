// SPDX-License-Identifier: MIT
#include <limits.h>

#include "hex.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int shoal_hex_encode(char *dst, size_t dst_size, const uint8_t *src,
		     size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (len > INT_MAX / 2 || dst_size < SHOAL_HEX_LEN(len) + 1)
		return -1;
	for (i = 0; i < len; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * len] = '\0';
	return (int)(2 * len);
}

int shoal_hex_decode(uint8_t *dst, size_t dst_size, const char *src,
		     size_t src_len)
{
	size_t i;

	if (src_len % 2 || src_len / 2 > dst_size || src_len / 2 > INT_MAX)
		return -1;
	for (i = 0; i < src_len / 2; i++) {
		int hi = nibble(src[2 * i]), lo = nibble(src[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(src_len / 2);
}
