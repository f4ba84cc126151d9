/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_SA_H
#define SHOAL_SA_H

#include <stdint.h>

#include "uapi/linux/shoal.h"

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
int shoal_sa_key_read(uint8_t key[SHOAL_SA_KEY_LEN], int fd);

#endif
