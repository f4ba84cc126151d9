// SPDX-License-Identifier: MIT
/* shoal pubkey: the public key of the private key on standard input. */
#include <stdint.h>
#include <stdio.h>

#include <sodium.h>

#include "cli.h"
#include "key.h"
#include "util.h"

int shoal_cmd_pubkey(const struct cli_args *a)
{
	uint8_t priv[SHOAL_KEY_LEN], pub[SHOAL_KEY_LEN];
	char b64[SHOAL_KEY_B64_LEN + 1];
	int ret = SHOAL_EXIT_FAILURE;

	(void)a;
	if (shoal_key_read(priv, stdin) < 0) {
		fputs("shoal: pubkey: standard input is not a base64 32-byte key\n",
		      stderr);
		goto wipe;
	}
	if (shoal_key_public(pub, priv) < 0) {
		fputs("shoal: pubkey: that key is not usable\n", stderr);
		goto wipe;
	}
	shoal_key_to_base64(b64, pub);
	puts(b64);
	ret = SHOAL_EXIT_OK;
wipe:
	sodium_memzero(priv, sizeof(priv));
	return ret;
}
