// SPDX-License-Identifier: MIT
/*
 * A mediator that is a cluster (docs/protocol.md, "Failover"): the
 * instances shoald knows (the configured ones, then those the cluster
 * told it of), REDIRECT, and failing over to the next instance when the
 * one it is on goes.  Every instance is pinned to the one server key: what
 * a cluster says changes only where shoald connects, never whom it trusts,
 * and the configured instances are never dropped for what it says.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "json.h"
#include "mclient_int.h"
#include "medmsg.h"
#include "tlv.h"

static void set_address(struct mclient *m, const char *address)
{
	size_t n = strnlen(address, sizeof(m->address) - 1);

	memmove(m->address, address, n);
	m->address[n] = '\0';
}

void mc_set_configured(struct mclient *m, const char *const *addrs,
		       unsigned int n)
{
	unsigned int i;

	memset(m->inst, 0, sizeof(m->inst));
	for (i = 0; i < n && i < SHOAL_CONFIG_MAX_MEDIATORS; i++)
		snprintf(m->inst[i].address, sizeof(m->inst[i].address), "%s",
			 addrs[i]);
	m->n_inst = m->n_configured = i;
	m->cur = 0;
	m->redirected = m->no_redirect = false;
	m->last_error[0] = '\0';
	set_address(m, i ? m->inst[0].address : "");
}

/* The instance called name or at address ("" matches no name). */
static int find(const struct mc_instance *inst, unsigned int n,
		const char *name, const char *address)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if ((*name && !strcmp(inst[i].name, name)) ||
		    !strcasecmp(inst[i].address, address))
			return (int)i;
	return -1;
}

bool mc_add_learned(struct mclient *m, const char *address)
{
	struct mc_instance *in;

	if (!shoal_config_valid_hostport(address) ||
	    find(m->inst, m->n_inst, "", address) >= 0 ||
	    m->n_inst - m->n_configured >= MC_MAX_LEARNED)
		return false;
	in = &m->inst[m->n_inst++];
	memset(in, 0, sizeof(*in));
	snprintf(in->address, sizeof(in->address), "%s", address);
	in->learned = true;
	return true;
}

void mc_learn(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct mc_instance learned[MC_MAX_LEARNED], *in;
	struct shoal_med_instance mi;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	unsigned int n = 0, i, old = m->n_inst - m->n_configured;
	bool changed;
	int k;

	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type != MED_A_INSTANCE)
			continue;
		if (shoal_med_instance_get(&a, &mi) < 0 ||
		    !shoal_config_valid_hostport(mi.advertise)) {
			if (m->d->verbose)
				fprintf(stderr, "shoald: mediator %s: an "
					"instance not understood, left out\n",
					m->address);
			continue;
		}
		/* A configured one: its name and load, nothing else. */
		k = find(m->inst, m->n_configured, mi.name, mi.advertise);
		if (k >= 0) {
			in = &m->inst[k];
		} else if (find(learned, n, mi.name, mi.advertise) >= 0 ||
			   n == MC_MAX_LEARNED) {
			continue;
		} else {
			in = &learned[n++];
			memset(in, 0, sizeof(*in));
			snprintf(in->address, sizeof(in->address), "%s",
				 mi.advertise);
			in->learned = true;
		}
		snprintf(in->name, sizeof(in->name), "%s", mi.name);
		in->load = mi.load;
		in->has_load = mi.has_load;
	}
	/* The instances live now replace those of the last word. */
	changed = n != old;
	for (i = 0; i < n && !changed; i++)
		changed = strcmp(learned[i].address,
				 m->inst[m->n_configured + i].address);
	memcpy(&m->inst[m->n_configured], learned, n * sizeof(learned[0]));
	m->n_inst = m->n_configured + n;
	/* The one we are on, by its address, for the next failover. */
	k = find(m->inst, m->n_inst, "", m->address);
	if (k >= 0) {
		m->cur = (unsigned int)k;
		m->redirected = false;
	} else if (m->cur >= m->n_inst) {
		m->cur = 0;
	}
	if (changed)
		mc_save_learned(m);
}

void mc_failover(struct mclient *m)
{
	double wait = 1.0, now = shoald_now();
	unsigned int i;

	if (m->n_inst <= 1 && !m->redirected) {
		/* One instance: as ever, 1, 2, 4 .. RECONNECT_MAX s. */
		for (i = 0; i < m->failures && wait < RECONNECT_MAX; i++)
			wait *= 2;
		if (wait > RECONNECT_MAX)
			wait = RECONNECT_MAX;
		m->failures++;
		m->no_redirect = false;
		/* Jitter: a restarted mediator is not met by all at once. */
		m->next_connect = now + wait *
				  (0.5 + randombytes_uniform(1000) / 1000.0);
		return;
	}
	/*
	 * A redirect's target that failed: the next after the instance that
	 * redirected.  The first failure goes to another instance at once;
	 * then each one counts, whichever instance it was.
	 */
	if (m->n_inst > 1)
		m->cur = (m->cur + 1) % m->n_inst;
	if (m->failures) {
		for (i = 1; i < m->failures && wait < FAILOVER_MAX; i++)
			wait *= 2;
		if (wait > FAILOVER_MAX)
			wait = FAILOVER_MAX;
		wait *= 0.75 + randombytes_uniform(501) / 1000.0;
	} else {
		wait = 0;
	}
	m->failures++;
	m->redirected = false;
	m->no_redirect = true;
	set_address(m, m->inst[m->cur].address);
	m->next_connect = now + wait;
	fprintf(stderr, "shoald: mediator: trying %s%s%s in %.1f s\n",
			m->address, *m->inst[m->cur].name ? " " : "",
			m->inst[m->cur].name, wait);
}

void mc_redirect(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoal_med_instance mi;
	struct shoal_tlv_attr a;
	unsigned int cur = m->cur, failures = m->failures;
	bool ok;

	ok = shoal_tlv_find(msg, MED_A_INSTANCE, &a) &&
	     shoal_med_instance_get(&a, &mi) == 0 &&
	     shoal_config_valid_hostport(mi.advertise);
	if (!ok || m->no_redirect || m->redirected) {
		/*
		 * One redirect per login attempt, and none after NO_REDIRECT:
		 * a mediator that asks again is failed over like a dead one.
		 */
		fprintf(stderr, "shoald: mediator %s redirects %s: trying "
			"the next instance\n", m->address,
			!ok ? "to an address not understood" :
			"again, against NO_REDIRECT");
		mc_close(m, NULL);
		mc_failover(m);
		return;
	}
	fprintf(stderr, "shoald: mediator %s redirects to %s at %s\n",
		m->address, mi.name, mi.advertise);
	mc_close(m, NULL);
	m->cur = cur;
	m->failures = failures;
	set_address(m, mi.advertise);
	m->redirected = m->no_redirect = true;
	m->next_connect = shoald_now();
}

void mc_instances_json(const struct mclient *m, FILE *f)
{
	unsigned int i;

	fprintf(f, ", \"instance\": ");
	if (*m->instance)
		shoal_json_string(f, m->instance);
	else
		fputs("null", f);
	fprintf(f, ", \"instances\": [");
	for (i = 0; i < m->n_inst; i++) {
		const struct mc_instance *in = &m->inst[i];

		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		if (*in->name)
			shoal_json_string(f, in->name);
		else
			fputs("null", f);
		fprintf(f, ", \"address\": ");
		shoal_json_string(f, in->address);
		if (in->has_load)
			fprintf(f, ", \"load\": %u", in->load);
		else
			fprintf(f, ", \"load\": null");
		fprintf(f, ", \"learned\": %s}", in->learned ? "true" :
			"false");
	}
	fprintf(f, "], \"error\": ");
	if (*m->last_error)
		shoal_json_string(f, m->last_error);
	else
		fputs("null", f);
}
