// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"
#include "mac.h"

int shoal_mac_parse(uint8_t mac[SHOAL_MAC_LEN], const char *text)
{
	size_t i;

	if (strlen(text) != SHOAL_MAC_STRLEN)
		return -1;
	for (i = 0; i < SHOAL_MAC_LEN; i++) {
		if (i > 0 && text[3 * i - 1] != ':')
			return -1;
		if (shoal_hex_decode(&mac[i], 1, &text[3 * i], 2) != 1)
			return -1;
	}
	return 0;
}

void shoal_mac_format(char text[SHOAL_MAC_STRLEN + 1],
		      const uint8_t mac[SHOAL_MAC_LEN])
{
	snprintf(text, SHOAL_MAC_STRLEN + 1, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool shoal_mac_is_unicast(const uint8_t mac[SHOAL_MAC_LEN])
{
	static const uint8_t zero[SHOAL_MAC_LEN];

	return !(mac[0] & 1) && memcmp(mac, zero, SHOAL_MAC_LEN) != 0;
}

void shoal_mac_from_key(uint8_t mac[SHOAL_MAC_LEN], const uint8_t key[32],
			uint32_t candidate)
{
	static const char label[] = "shoal mac";
	const uint8_t le[4] = {
		(uint8_t)candidate, (uint8_t)(candidate >> 8),
		(uint8_t)(candidate >> 16), (uint8_t)(candidate >> 24)
	};
	crypto_generichash_state st;
	uint8_t h[16];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_generichash_update(&st, key, 32);
	if (candidate)
		crypto_generichash_update(&st, le, sizeof(le));
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(mac, h, SHOAL_MAC_LEN);
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

void shoal_mac_link_local(uint8_t addr[16], const uint8_t mac[SHOAL_MAC_LEN])
{
	memset(addr, 0, 16);
	addr[0] = 0xfe;
	addr[1] = 0x80;
	addr[8] = mac[0] ^ 0x02;
	addr[9] = mac[1];
	addr[10] = mac[2];
	addr[11] = 0xff;
	addr[12] = 0xfe;
	addr[13] = mac[3];
	addr[14] = mac[4];
	addr[15] = mac[5];
}
