// SPDX-License-Identifier: MIT
#include <string.h>

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int shoal_base64_encode(char *dst, size_t dst_size, const uint8_t *src,
			size_t len)
{
	size_t need = SHOAL_BASE64_LEN(len), i, o = 0;

	if (dst_size < need + 1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | src[i + 1] << 8 | src[i + 2];

		dst[o++] = alphabet[v >> 18];
		dst[o++] = alphabet[(v >> 12) & 63];
		dst[o++] = alphabet[(v >> 6) & 63];
		dst[o++] = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)src[i] << 16;

		if (i + 1 < len)
			v |= src[i + 1] << 8;
		dst[o++] = alphabet[v >> 18];
		dst[o++] = alphabet[(v >> 12) & 63];
		dst[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return (int)o;
}

static int sextet(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p ? (int)(p - alphabet) : -1;
}

int shoal_base64_decode_exact(uint8_t *dst, size_t len, const char *src)
{
	size_t want = SHOAL_BASE64_LEN(len), i, o = 0;
	size_t pad = (3 - len % 3) % 3;

	if (strlen(src) != want)
		return -1;
	for (i = 0; i < want; i += 4) {
		int last = i + 4 == want;
		int s[4], k;
		uint32_t v = 0;

		for (k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				if (src[i + k] != '=')
					return -1;
				s[k] = 0;
			} else if ((s[k] = sextet(src[i + k])) < 0) {
				return -1;
			}
			v = v << 6 | (uint32_t)s[k];
		}
		/* Bits the padding covers must be zero: one spelling per value. */
		if (last && pad && (v & (pad == 1 ? 0xff : 0xffff)))
			return -1;
		for (k = 0; k < 3 && o < len; k++)
			dst[o++] = (uint8_t)(v >> (16 - 8 * k));
	}
	return 0;
}
