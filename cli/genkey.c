// SPDX-License-Identifier: MIT
/* shoal genkey: a new private key, in base64. */
#include <stdint.h>
#include <stdio.h>

#include <sodium.h>

#include "cli.h"
#include "key.h"
#include "util.h"

int shoal_cmd_genkey(const struct cli_args *a)
{
	uint8_t key[SHOAL_KEY_LEN];
	char b64[SHOAL_KEY_B64_LEN + 1];

	(void)a;
	if (shoal_key_generate(key) < 0) {
		fputs("shoal: cannot initialise libsodium\n", stderr);
		return SHOAL_EXIT_FAILURE;
	}
	shoal_key_to_base64(b64, key);
	puts(b64);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(b64, sizeof(b64));
	return SHOAL_EXIT_OK;
}
