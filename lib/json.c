// SPDX-License-Identifier: MIT
#include <string.h>

#include "json.h"
#include "utf8.h"

void shoal_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	size_t seq;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20) {
				fprintf(f, "\\u%04x", *p);
			} else if (*p < 0x80) {
				fputc(*p, f);
			} else {
				/* JSON is UTF-8: a stray byte becomes U+FFFD. */
				seq = shoal_utf8_seq(p, end);
				if (seq)
					fwrite(p, 1, seq, f);
				else
					fputs("\\ufffd", f);
				p += seq ? seq - 1 : 0;
			}
		}
	}
	fputc('"', f);
}
