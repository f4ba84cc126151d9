// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "key.h"

int shoal_key_from_base64(uint8_t key[SHOAL_KEY_LEN], const char *b64)
{
	return shoal_base64_decode_exact(key, SHOAL_KEY_LEN, b64);
}

void shoal_key_to_base64(char b64[SHOAL_KEY_B64_LEN + 1],
			 const uint8_t key[SHOAL_KEY_LEN])
{
	shoal_base64_encode(b64, SHOAL_KEY_B64_LEN + 1, key, SHOAL_KEY_LEN);
}

int shoal_key_read(uint8_t key[SHOAL_KEY_LEN], FILE *f)
{
	/* Room for the key, white space around it, and one byte to notice more. */
	char buf[SHOAL_KEY_B64_LEN + 64];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	char *start = buf, *end;
	int ret = -1;

	if (n == sizeof(buf) - 1 || ferror(f))
		goto wipe;
	buf[n] = '\0';
	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		*--end = '\0';
	ret = shoal_key_from_base64(key, start);
wipe:
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int shoal_key_generate(uint8_t key[SHOAL_KEY_LEN])
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key, SHOAL_KEY_LEN);
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
	return 0;
}

int shoal_key_public(uint8_t pub[SHOAL_KEY_LEN],
		     const uint8_t priv[SHOAL_KEY_LEN])
{
	if (sodium_init() < 0)
		return -1;
	return crypto_scalarmult_curve25519_base(pub, priv);
}
