/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_SA_H
#define SHOAL_SA_H

#include <stdint.h>

/* ChaCha20-Poly1305 key (32 bytes) followed by the salt (4 bytes). */
#define SHOAL_SA_KEY_BYTES 36
/* SPIs below this are reserved (RFC 4303, section 2.1). */
#define SHOAL_SPI_MIN 256

/*
 * Parses an SPI: decimal (no leading zeros) or 0x-prefixed hex, at least
 * SHOAL_SPI_MIN and at most UINT32_MAX, nothing else.  Returns 0, or -1.
 */
int shoal_spi_parse(uint32_t *spi, const char *text);

/*
 * Reads an SA key from fd until end of file: exactly 72 hex digits, white
 * space around them allowed.  Every buffer holding key text is wiped.
 * Returns 0, -EINVAL for bad content, or -errno when reading fails.
 */
int shoal_sa_key_read(uint8_t key[SHOAL_SA_KEY_BYTES], int fd);

#endif
