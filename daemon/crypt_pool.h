/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_CRYPT_POOL_H
#define SHOALD_CRYPT_POOL_H

/*
 * Threads that share out one batch of ESP cryptography (lib/esp.h's
 * shoal_esp_crypt jobs) with the thread that asks, which waits for the
 * whole batch: the TAP datapath's tables are never touched by them, and
 * every packet keeps its place in its batch.
 */

#include <stddef.h>

#include "esp.h"

struct shoald_crypt_pool;

/*
 * Starts threads helpers (0: none; shoald_crypt_pool_run() then does the
 * work itself).  Returns 0 or -errno.
 */
int shoald_crypt_pool_start(struct shoald_crypt_pool **pool,
			    unsigned int threads);

/* The helpers a machine of this many CPUs gets: one per other CPU, up to 7. */
unsigned int shoald_crypt_pool_default_threads(void);

/*
 * Runs jobs[0..n) (results[i] is shoal_esp_crypt()'s return) on the pool
 * and the calling thread together; returns once all are done.  Small
 * batches stay on the calling thread, where handing them out would cost
 * more than it saves.
 */
void shoald_crypt_pool_run(struct shoald_crypt_pool *pool,
			   struct shoal_esp_crypt *jobs, int *results,
			   size_t n);

/* Stops and joins the threads; pool may be NULL. */
void shoald_crypt_pool_stop(struct shoald_crypt_pool *pool);

#endif
