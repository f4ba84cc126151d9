/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_REQUESTS_H
#define SHOAL_MEDIATOR_REQUESTS_H

/* requests.c: the requests of docs/protocol.md, and their password budgets. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mediator.h"
#include "mstore.h"

/* A sliding window: when each of the last cap events happened (ms). */
struct med_rate {
	unsigned int n, next;
	int64_t t[MED_RATE_MAX];
};

struct pw_client {
	struct pw_client *next;
	int64_t id;
	struct med_rate rate;
};

/*
 * A network's (and a source's) password budget counts the checks that
 * failed and the hashes made, not JOINs with the right password: a LAN
 * party joining at once spends none of it, a crowd guessing spends it at
 * once.  inflight: its jobs with the worker, counted until they are done.
 */
struct pw_network {
	struct pw_network *next;
	char name[MSTORE_NAME_MAX + 1];	/* lower case */
	struct med_rate rate;
	unsigned int inflight;
};

struct conn;
struct server;

struct pw_job;
struct pw_work;

/* One decrypted message from c. */
void requests_handle(struct server *srv, struct conn *c, const uint8_t *msg,
		     size_t len);
/*
 * Every job the worker is done with, its connection gone or not: the
 * budgets it was counted in are settled (a failed check counts).
 */
void requests_settle(struct server *srv, struct pw_job *j,
		     const struct pw_work *w);
/* The worker's answer to c's job: the change is made and answered. */
void requests_done(struct server *srv, struct conn *c, struct pw_job *j,
		   const struct pw_work *w);
/* Forgets password attempts older than their window; requests_pw_free: all. */
void requests_pw_tick(struct server *srv, int64_t now_ms);
void requests_pw_free(struct server *srv);
/*
 * Sliding windows of at most cap events (cap <= MED_RATE_MAX): whether
 * one more fits now, counting one, and whether any is still inside.
 */
bool requests_rate_allows(const struct med_rate *rt, unsigned int cap,
			  int64_t window, int64_t now);
void requests_rate_add(struct med_rate *rt, unsigned int cap, int64_t now);
bool requests_rate_busy(const struct med_rate *rt, unsigned int cap,
			int64_t window, int64_t now);

#endif
