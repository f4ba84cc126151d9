// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

/* The code point of a well-formed sequence of seq bytes. */
static uint32_t code_point(const unsigned char *p, size_t seq)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = p[0] & lead_mask[seq];
	size_t i;

	for (i = 1; i < seq; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/*
 * Control characters (C0, DEL, C1) drive the terminal; the invisible
 * formatting ones (bidirectional overrides and isolates, zero-width
 * characters, line and paragraph separators, the byte order mark) let a
 * name reorder or hide what stands around it on its row.
 */
static bool unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x061c ||
	       (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff;
}

void shoal_put_safe(FILE *f, const char *s, size_t len, int width)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t seq;
	int n = 0;

	while (p < end) {
		seq = shoal_utf8_seq(p, end);
		if (!seq || unsafe(code_point(p, seq))) {
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
