/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_KEY_H
#define SHOAL_KEY_H

#include <stdint.h>
#include <stdio.h>

#include "base64.h"

#define SHOAL_KEY_LEN 32
#define SHOAL_KEY_B64_LEN SHOAL_BASE64_LEN(SHOAL_KEY_LEN)

/* 0 on success; -1 if the text is not exactly one base64 32-byte key. */
int shoal_key_from_base64(uint8_t key[SHOAL_KEY_LEN], const char *b64);
void shoal_key_to_base64(char b64[SHOAL_KEY_B64_LEN + 1],
			 const uint8_t key[SHOAL_KEY_LEN]);

/*
 * Reads one base64 key from f: surrounding white space is allowed, anything
 * else is not.  The line buffer is wiped before returning.
 */
int shoal_key_read(uint8_t key[SHOAL_KEY_LEN], FILE *f);

/* A fresh X25519 private key, clamped as RFC 7748 asks. */
int shoal_key_generate(uint8_t key[SHOAL_KEY_LEN]);
int shoal_key_public(uint8_t pub[SHOAL_KEY_LEN],
		     const uint8_t priv[SHOAL_KEY_LEN]);

#endif
