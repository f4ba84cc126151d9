/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_MEDMETRICS_H
#define SHOAL_MEDIATOR_MEDMETRICS_H

/*
 * medmetrics.c: what shoal-mediator --metrics shows (shoal-mediator(8),
 * METRICS): every shoal_mediator_* family, read from struct server when
 * a scrape comes, and the LOGIN results counted as they are answered.
 */

#include <stdint.h>

#include "metrics.h"

/* LOGIN refusals by reason: the label values of login_refusals_total. */
enum med_login_reason {
	MED_LR_BAD_NICK,
	MED_LR_NICK_TAKEN,
	MED_LR_NEW_CLIENTS,
	MED_LR_POOL_FULL,
	MED_LR_MALFORMED,
	MED_LR_DATABASE,
	MED_LR_REDIRECT,
	MED_LR_BANNED,
	MED_LR_PASSWORD,
	MED_LR_OTHER,
	MED_LR_COUNT
};

struct med_login_stats {
	uint64_t ok;
	uint64_t refused[MED_LR_COUNT];
};

struct server;

/* A LOGIN answered with rc (0: logged in). */
void medmetrics_login(struct server *srv, int rc);
/* The short name of a LOGIN result (rc < 0) as the reason label says it. */
const char *medmetrics_login_reason(int rc);
/* metrics_render_fn: arg is the struct server. */
void medmetrics_render(void *arg, struct metrics_text *t);

#endif
