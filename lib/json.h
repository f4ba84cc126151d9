/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_JSON_H
#define SHOAL_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal, quotes included (RFC 8259 escapes). */
void shoal_json_string(FILE *f, const char *s);

#endif
