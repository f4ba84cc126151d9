/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_UTF8_H
#define SHOAL_UTF8_H

#include <stddef.h>
#include <stdio.h>

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4 bytes), or 0
 * if none starts there: overlong forms, surrogates and code points past
 * U+10FFFF are not well formed (RFC 3629).
 */
size_t shoal_utf8_seq(const unsigned char *s, const unsigned char *end);

/*
 * Puts len bytes of text that others chose (nicknames, network names,
 * the mediator's messages) on a terminal: control characters, C1 ones
 * included, invisible formatting characters (bidirectional overrides,
 * zero-width ones) and bytes that are not UTF-8 become '?', so no text
 * can move the cursor, retitle the window or reorder its row.  Pads with
 * spaces to width characters.
 */
void shoal_put_safe(FILE *f, const char *s, size_t len, int width);

/* Characters shoal_put_safe() puts for s. */
int shoal_safe_width(const char *s);

#endif
