// SPDX-License-Identifier: MIT
#include <string.h>
#include <stdint.h>

#include "utf8.h"

size_t shoal_utf8_seq(const unsigned char *s, const unsigned char *end)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - s) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void shoal_put_safe(FILE *f, const char *s, size_t len, int width)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t seq;
	int n = 0;

	while (p < end) {
		seq = shoal_utf8_seq(p, end);
		if (!seq || p[0] < 0x20 || p[0] == 0x7f ||
		    (seq == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fputc('?', f);
			p += seq ? seq : 1;
		} else {
			fwrite(p, 1, seq, f);
			p += seq;
		}
		n++;
	}
	for (; n < width; n++)
		fputc(' ', f);
}

int shoal_safe_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	size_t seq;
	int n = 0;

	for (; p < end; n++) {
		seq = shoal_utf8_seq(p, end);
		p += seq ? seq : 1;
	}
	return n;
}
