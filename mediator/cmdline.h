/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_CMDLINE_H
#define SHOAL_MEDIATOR_CMDLINE_H

/* cmdline.c: what shoal-mediator's and shoal-relay's main() share. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* HOST:PORT, [V6]:PORT or :PORT (all addresses), numeric only: 0 or -1. */
int med_parse_listen(const char *text, struct sockaddr_storage *ss,
		     socklen_t *len);
/* LO-HI, LO <= HI: 0, or -1. */
int med_parse_range(const char *text, uint16_t *lo, uint16_t *hi);
/*
 * Reads the key in dir/file, or makes one there (0600) on first start
 * (*created); prog names the program in what it says.  0, or -1.
 */
int med_load_key(const char *prog, const char *dir, const char *file,
		 uint8_t priv[32], bool *created);

#endif
