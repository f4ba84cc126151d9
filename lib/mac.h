/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MAC_H
#define SHOAL_MAC_H

#include <stdbool.h>
#include <stdint.h>

#define SHOAL_MAC_LEN 6
/* "aa:bb:cc:dd:ee:ff" without the terminating NUL. */
#define SHOAL_MAC_STRLEN 17

/*
 * Parses exactly six colon-separated pairs of hex digits (either case).
 * Returns 0, or -1 for anything else.
 */
int shoal_mac_parse(uint8_t mac[SHOAL_MAC_LEN], const char *text);
void shoal_mac_format(char text[SHOAL_MAC_STRLEN + 1],
		      const uint8_t mac[SHOAL_MAC_LEN]);

/* Neither multicast (nor broadcast) nor all zeros. */
bool shoal_mac_is_unicast(const uint8_t mac[SHOAL_MAC_LEN]);

/*
 * The MAC a public key stands for: unicast, locally administered, from
 * unkeyed BLAKE2b of "shoal mac" and the key.  shoald and the mediator
 * both work it out, so they agree without telling each other; candidate
 * n > 0 gives the mediator others to pick from when two keys collide.
 */
void shoal_mac_from_key(uint8_t mac[SHOAL_MAC_LEN], const uint8_t key[32],
			uint32_t candidate);

/*
 * The IPv6 link-local address (fe80::/64 and the modified EUI-64 of RFC
 * 4291) a device with this MAC makes: what a shoal peer may claim.
 */
void shoal_mac_link_local(uint8_t addr[16], const uint8_t mac[SHOAL_MAC_LEN]);

#endif
