/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_STAMPS_H
#define SHOALD_STAMPS_H

/*
 * The newest handshake timestamp (TAI64N) each peer has sent us, kept in
 * the state directory (STATE/NAME.stamps) so that an INIT recorded before
 * a restart, or before the peer was removed and added again, is still a
 * replay afterwards.
 *
 * The file is a run of 48-byte records written in place: the peer's
 * public key (32), the timestamp (12), and the first 4 bytes of BLAKE2b
 * of those 44, so that a torn or foreign record is skipped rather than
 * believed.  A newer timestamp costs one pwrite(2) of its record, made
 * before the RESPONSE leaves: a kill -9 just after loses nothing.  Only a
 * peer that completed the Diffie-Hellman of an INIT gets a record, so the
 * table grows with the peers ever met, up to SHOALD_STAMPS_MAX.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"

#define SHOALD_STAMPS_MAX 65536

struct shoald_stamp {
	uint8_t key[32];
	uint8_t tai64n[SHOAL_TAI64N_LEN];
	uint32_t slot;		/* its record's index in the file */
};

struct shoald_stamps {
	bool open;		/* by shoald_stamps_open */
	int fd;			/* -1: kept in memory only */
	struct shoald_stamp *v;
	size_t n, cap;
	uint32_t slots;		/* records in the file, good or not */
	bool warned;		/* a failed write was reported */
};

/*
 * Loads path, creating it (0600) if need be.  When it cannot be read or
 * written, says so on stderr and keeps the timestamps in memory only:
 * replays are then refused until the next restart, as before there was a
 * file.  Returns 0, or -ENOMEM.
 */
int shoald_stamps_open(struct shoald_stamps *t, const char *path);
void shoald_stamps_close(struct shoald_stamps *t);

/* The newest timestamp key has sent, or NULL when there is none. */
const uint8_t *shoald_stamps_get(const struct shoald_stamps *t,
				 const uint8_t key[32]);

/*
 * Records tai64n, which must be newer than what _get returns, for key,
 * in memory and in the file.  0, or -errno when the file could not be
 * written (the timestamp is kept in memory all the same).
 */
int shoald_stamps_set(struct shoald_stamps *t, const uint8_t key[32],
		      const uint8_t tai64n[SHOAL_TAI64N_LEN]);

#endif
