// SPDX-License-Identifier: MIT
/*
 * A cluster of mediators on PostgreSQL (docs/cluster.md).
 *
 * Events travel by LISTEN/NOTIFY on one channel: an instance says what
 * happens to its own clients (ONLINE, OFFLINE, NAT), that it lives
 * (BEAT, every CLUSTER_BEAT_MS, with its load) and that it stops (GONE).
 * Every other instance keeps a view of the clients announced elsewhere
 * (id -> what PEER_UP says, and where) and tells its own clients what
 * their peers do, exactly as presence.c does on one instance.  The
 * online table holds the same ONLINE messages, so a starting instance
 * loads the view without asking anyone.
 *
 * One connection, non-blocking once started: its socket is in the epoll
 * set, notifications are read as they come, and what this instance
 * writes queues up and goes out as one batch of statements while none is
 * in flight.  A lost connection is made again from the tick; meanwhile
 * nobody is judged dead (we hear nothing), and once back the view is
 * loaded again and this instance's clients announced again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "cluster.h"
#include "cmdline.h"
#include "key.h"
#include "server.h"

#define VIEW_BUCKETS 4096
#define BATCH_MAX 256
#define RECONNECT_MS 2000
/* Statements waiting for the database (each at most a bus message). */
#define CLUSTER_QUEUE_MAX 65536

/*
 * The tables instances and online are mstore's schema's (mediator/
 * mschema.c), made or migrated by mstore_open before the cluster starts.
 */

/* The database's clock, unix ms: beats compare on one clock. */
#define DB_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

struct instance {
	char name[MED_INSTANCE_NAME_MAX + 1];
	char advertise[MED_ADVERTISE_MAX + 1];
	uint32_t load;
	int64_t started;
	int64_t seen;			/* monotonic ms of its last beat */
	bool used;
	/* Its last message's run and sequence number: older is a replay. */
	int64_t run;
	uint64_t seq;
};

struct remote {
	struct remote *next;
	char instance[MED_INSTANCE_NAME_MAX + 1];
	struct med_peer_info info;
};

struct cluster {
	struct med_handle h;		/* MED_K_CLUSTER */
	char *url;
	char name[MED_INSTANCE_NAME_MAX + 1];
	char advertise[MED_ADVERTISE_MAX + 1];
	int64_t started;		/* unix ms */
	PGconn *pg;
	int fd;				/* in the epoll set, or -1 */
	uint32_t events;
	bool in_flight;
	char **queue;
	size_t n_queue, cap_queue;
	int64_t next_beat, next_connect;
	int64_t up_since;		/* monotonic ms the connection came */
	unsigned int redirect_margin;
	bool registered;		/* its rows are its own: GONE at close */
	struct instance inst[CLUSTER_MAX_INSTANCES];
	struct remote *view[VIEW_BUCKETS];
	size_t n_remote;
	char text[CLUSTER_BUS_MAX + 1];
	uint8_t bus_key[CLUSTER_BUS_KEY_LEN];	/* wiped at close */
	uint64_t seq;			/* of our messages in this run */
	uint64_t replays;		/* messages refused as replays */
	int64_t replay_said_ms;		/* when a replay was last logged */
	uint64_t dropped;		/* statements past CLUSTER_QUEUE_MAX */
};

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool cluster_url_is_postgres(const char *url)
{
	return !strncmp(url, "postgresql://", 13) ||
	       !strncmp(url, "postgres://", 11);
}

const char *cluster_name(const struct server *srv)
{
	return srv->cluster ? srv->cluster->name : NULL;
}

static size_t view_bucket(int64_t id)
{
	return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 52) %
	       VIEW_BUCKETS;
}

static struct remote **view_slot(struct cluster *cl, int64_t id)
{
	struct remote **pp;

	for (pp = &cl->view[view_bucket(id)]; *pp; pp = &(*pp)->next)
		if ((*pp)->info.client.id == id)
			return pp;
	return pp;
}

const struct med_peer_info *cluster_remote_find(struct server *srv,
						int64_t id)
{
	struct remote *r;

	if (!srv->cluster)
		return NULL;
	r = *view_slot(srv->cluster, id);
	return r ? &r->info : NULL;
}

static void view_remove(struct cluster *cl, struct remote **pp)
{
	struct remote *r = *pp;

	*pp = r->next;
	free(r);
	cl->n_remote--;
}

/* ---- the connection ---- */

static void conn_drop(struct server *srv, const char *why)
{
	struct cluster *cl = srv->cluster;
	size_t i;

	fprintf(stderr, "shoal-mediator: cluster: database connection lost: "
		"%s\n", why);
	if (cl->fd >= 0)
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	cl->fd = -1;
	cl->events = 0;
	PQfinish(cl->pg);
	cl->pg = NULL;
	cl->in_flight = false;
	/* Announced again once back: the queue is of no use then. */
	for (i = 0; i < cl->n_queue; i++)
		free(cl->queue[i]);
	cl->n_queue = 0;
	cl->next_connect = server_now_ms() + RECONNECT_MS;
}

static void conn_arm(struct server *srv, bool out)
{
	struct cluster *cl = srv->cluster;
	struct epoll_event ev = {
		.events = EPOLLIN | (out ? EPOLLOUT : 0),
		.data.ptr = cl,
	};

	if (cl->fd < 0 || cl->events == ev.events)
		return;
	if (epoll_ctl(srv->epfd, cl->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      cl->fd, &ev) < 0) {
		conn_drop(srv, strerror(errno));
		return;
	}
	cl->events = ev.events;
}

static void conn_flush(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	int ret;

	if (!cl->pg)
		return;
	ret = PQflush(cl->pg);
	if (ret < 0)
		conn_drop(srv, PQerrorMessage(cl->pg));
	else
		conn_arm(srv, ret == 1);
}

/* The queued statements, as one batch, if none is in flight. */
static void conn_pump(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	size_t i, n, len = 0;
	char *sql;

	if (!cl->pg || cl->in_flight || !cl->n_queue)
		return;
	n = cl->n_queue < BATCH_MAX ? cl->n_queue : BATCH_MAX;
	for (i = 0; i < n; i++)
		len += strlen(cl->queue[i]) + 1;
	sql = malloc(len + 1);
	if (!sql)
		return;
	len = 0;
	for (i = 0; i < n; i++) {
		size_t l = strlen(cl->queue[i]);

		memcpy(sql + len, cl->queue[i], l);
		sql[len + l] = ';';
		len += l + 1;
		free(cl->queue[i]);
	}
	sql[len] = '\0';
	memmove(cl->queue, cl->queue + n,
		(cl->n_queue - n) * sizeof(*cl->queue));
	cl->n_queue -= n;
	if (!PQsendQuery(cl->pg, sql)) {
		free(sql);
		conn_drop(srv, PQerrorMessage(cl->pg));
		return;
	}
	free(sql);
	cl->in_flight = true;
	conn_flush(srv);
}

__attribute__((format(printf, 2, 0)))
static void queue_sql(struct server *srv, const char *fmt, va_list ap)
{
	struct cluster *cl = srv->cluster;
	char *s;

	if (!cl->pg)
		return;
	/*
	 * A database that falls behind must not take the mediator's memory
	 * with it: past the bound, what would go is dropped (and said).
	 */
	if (cl->n_queue >= CLUSTER_QUEUE_MAX) {
		if (!cl->dropped++)
			fprintf(stderr, "shoal-mediator: cluster: the database "
				"falls behind: %d statements queued, dropping "
				"more\n", CLUSTER_QUEUE_MAX);
		return;
	}
	if (cl->n_queue == cl->cap_queue) {
		size_t cap = cl->cap_queue ? cl->cap_queue * 2 : 64;
		char **q = realloc(cl->queue, cap * sizeof(*q));

		if (!q)
			return;
		cl->queue = q;
		cl->cap_queue = cap;
	}
	if (vasprintf(&s, fmt, ap) < 0)
		return;
	cl->queue[cl->n_queue++] = s;
	conn_pump(srv);
}

/* Queues one statement (printf-style; values checked by the caller). */
__attribute__((format(printf, 2, 3)))
static void cluster_sql(struct server *srv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	queue_sql(srv, fmt, ap);
	va_end(ap);
}

/*
 * Every text we put in SQL is a checked name, an advertise address or
 * base64: none holds a quote.  Asserted rather than escaped, so that a
 * mistake shows rather than corrupts.
 */
static bool sql_safe(const char *s)
{
	return !strchr(s, '\'') && !strchr(s, '\\');
}

/* m, from this instance, sealed into cl->text: 0, or -1. */
static int bus_encode(struct cluster *cl, struct cluster_msg *m)
{
	snprintf(m->instance, sizeof(m->instance), "%s", cl->name);
	m->run = cl->started;
	m->seq = ++cl->seq;
	return cluster_bus_encode(m, cl->bus_key, cl->text, sizeof(cl->text));
}

/* NOTIFY the message bus_encode left in cl->text. */
static void notify_text(struct server *srv)
{
	cluster_sql(srv, "SELECT pg_notify('" CLUSTER_CHANNEL "', '%s')",
		    srv->cluster->text);
}

/* NOTIFY m (and, in the same batch, whatever the caller queued). */
static void publish(struct server *srv, struct cluster_msg *m)
{
	if (bus_encode(srv->cluster, m) < 0)
		return;
	notify_text(srv);
}

/* ---- instances ---- */

static struct instance *inst_find(struct cluster *cl, const char *name,
				  bool make)
{
	struct instance *free_slot = NULL;
	size_t i;

	for (i = 0; i < CLUSTER_MAX_INSTANCES; i++) {
		if (cl->inst[i].used && !strcmp(cl->inst[i].name, name))
			return &cl->inst[i];
		if (!cl->inst[i].used && !free_slot)
			free_slot = &cl->inst[i];
	}
	if (!make || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	return free_slot;
}

static unsigned int local_clients(struct server *srv)
{
	unsigned int n = 0;
	struct conn *c;

	for (c = srv->conns; c; c = c->next)
		n += c->logged_in && !c->dead;
	return n;
}

/* Every client of instance name leaves: its peers here hear LOST. */
static void settle(struct server *srv, const char *name)
{
	struct cluster *cl = srv->cluster;
	struct remote **pp;
	size_t b, n = 0;

	for (b = 0; b < VIEW_BUCKETS; b++) {
		for (pp = &cl->view[b]; *pp;) {
			struct remote *r = *pp;

			if (strcmp(r->instance, name)) {
				pp = &r->next;
				continue;
			}
			*pp = r->next;
			cl->n_remote--;
			presence_remote_down(srv, &r->info.client,
					     MED_DOWN_LOST);
			relay_free_client(srv, r->info.client.id);
			free(r);
			n++;
		}
	}
	if (n)
		fprintf(stderr, "shoal-mediator: cluster: %zu clients of "
			"instance %s settled\n", n, name);
}

static void beat(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	struct cluster_msg m = { .type = CB_BEAT };
	unsigned int load = local_clients(srv);

	/*
	 * In the queue's order, not ahead of it: the sequence numbers must
	 * arrive in order.  Behind a burst of logins the beat comes late,
	 * but every message of ours says we live (on_message).
	 */
	cluster_sql(srv, "INSERT INTO instances (name, advertise, clients, "
		    "beat, started) VALUES ('%s', '%s', %u, " DB_NOW_MS
		    ", %lld) ON CONFLICT (name) DO UPDATE SET advertise = "
		    "EXCLUDED.advertise, clients = EXCLUDED.clients, beat = "
		    "EXCLUDED.beat, started = EXCLUDED.started", cl->name,
		    cl->advertise, load, (long long)cl->started);
	snprintf(m.advertise, sizeof(m.advertise), "%s", cl->advertise);
	m.load = load;
	m.started = cl->started;
	publish(srv, &m);
}

/* ---- the default server: the instances, told and chosen ---- */

static void put_instance(struct shoal_tlv_writer *w, const char *name,
			 const char *advertise, uint32_t load)
{
	shoal_tlv_nest_start(w, MED_A_INSTANCE);
	shoal_tlv_put_str(w, MED_A_INSTANCE_NAME, name);
	shoal_tlv_put_str(w, MED_A_ADVERTISE, advertise);
	shoal_tlv_put_u32(w, MED_A_INSTANCE_LOAD, load);
	shoal_tlv_nest_end(w);
}

/* This instance first, then every other live one. */
static void put_instances(struct server *srv, struct shoal_tlv_writer *w)
{
	struct cluster *cl = srv->cluster;
	size_t i;

	/* Without --advertise it serves, but nobody is sent to it. */
	if (cl->advertise[0])
		put_instance(w, cl->name, cl->advertise, local_clients(srv));
	for (i = 0; i < CLUSTER_MAX_INSTANCES; i++)
		if (cl->inst[i].used && cl->inst[i].advertise[0])
			put_instance(w, cl->inst[i].name,
				     cl->inst[i].advertise, cl->inst[i].load);
}

void cluster_put_login(struct server *srv, struct shoal_tlv_writer *w)
{
	if (!srv->cluster)
		return;
	shoal_tlv_put_str(w, MED_A_INSTANCE_NAME, srv->cluster->name);
	put_instances(srv, w);
}

bool cluster_redirect(struct server *srv, struct shoal_tlv_writer *w)
{
	struct cluster *cl = srv->cluster;
	struct instance *best = NULL;
	uint64_t mine;
	size_t i;

	if (!cl || !cl->redirect_margin || !cl->pg)
		return false;
	mine = local_clients(srv);
	for (i = 0; i < CLUSTER_MAX_INSTANCES; i++) {
		struct instance *in = &cl->inst[i];

		/* Live: heard of within CLUSTER_DEAD_MS (the tick drops the rest). */
		if (in->used && in->advertise[0] &&
		    (!best || in->load < best->load))
			best = in;
	}
	if (!best || mine <= (uint64_t)best->load + cl->redirect_margin ||
	    mine * 10 <= (uint64_t)best->load * 11)
		return false;
	/* Until its next beat says: the next ones spread. */
	best->load++;
	shoal_tlv_put_str(w, MED_A_INSTANCE_NAME, cl->name);
	put_instance(w, best->name, best->advertise, best->load);
	return true;
}

/* The live instances changed: every client here hears the list. */
static void instances_changed(struct server *srv)
{
	struct shoal_tlv_writer w;
	struct conn *c;
	int len;

	shoal_tlv_writer_init(&w, srv->event, sizeof(srv->event),
			      MED_INSTANCES, 0, 0);
	put_instances(srv, &w);
	len = shoal_tlv_finish(&w);
	for (c = srv->conns; c && len > 0; c = c->next)
		if (c->logged_in && !c->dead)
			server_conn_send(srv, c, srv->event, len);
}

/* ---- what the others say ---- */

static void on_online(struct server *srv, const struct cluster_msg *m)
{
	struct cluster *cl = srv->cluster;
	struct remote **pp = view_slot(cl, m->client), *r = *pp;
	struct conn *c = server_online_find(srv, m->client);

	/*
	 * It came back there while its old connection here lingers: that
	 * one goes quietly, as when it reconnects to one instance.
	 */
	if (c) {
		server_online_remove(srv, c);
		server_pending_remove(srv, c);
		c->logged_in = false;
		c->announced = c->told = false;
		server_conn_kill(srv, c, MED_DOWN_NONE);
	}
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		*pp = r;
		cl->n_remote++;
	}
	snprintf(r->instance, sizeof(r->instance), "%s", m->instance);
	r->info = m->info;
	presence_remote_up(srv, &r->info);
}

static void on_offline(struct server *srv, const struct cluster_msg *m)
{
	struct cluster *cl = srv->cluster;
	struct remote **pp = view_slot(cl, m->client), *r = *pp;
	struct mstore_client who;

	/* Only where it is: a late word from where it was is no news. */
	if (!r || strcmp(r->instance, m->instance))
		return;
	who = r->info.client;
	view_remove(cl, pp);
	presence_remote_down(srv, &who, m->reason);
	relay_free_client(srv, who.id);
}

static void on_nat(struct server *srv, const struct cluster_msg *m)
{
	struct remote *r = *view_slot(srv->cluster, m->client);

	if (!r || strcmp(r->instance, m->instance))
		return;
	r->info.nat = m->nat;
	presence_remote_nat(srv, &r->info);
}

static void on_beat(struct server *srv, const struct cluster_msg *m)
{
	struct instance *in = inst_find(srv->cluster, m->instance, false);
	bool news = !in || strcmp(in->advertise, m->advertise);

	if (!in)
		in = inst_find(srv->cluster, m->instance, true);
	if (!in)
		return;
	snprintf(in->advertise, sizeof(in->advertise), "%s", m->advertise);
	in->load = m->load;
	in->started = m->started;
	in->seen = server_now_ms();
	if (news)
		instances_changed(srv);
}

static void on_gone(struct server *srv, const struct cluster_msg *m)
{
	struct instance *in = inst_find(srv->cluster, m->instance, false);

	settle(srv, m->instance);
	if (in && in->started <= m->started) {
		in->used = false;
		instances_changed(srv);
	}
}

static void on_changed(struct server *srv, const struct cluster_msg *m)
{
	presence_apply(srv, m->client, m->key, m->added, m->n_added, m->lost,
		       m->n_lost, m->both);
}

static void on_deliver(struct server *srv, const struct cluster_msg *m)
{
	struct conn *c = server_online_find(srv, m->client);
	bool ours_wins = strcmp(srv->cluster->name, m->instance) < 0;

	if (c && !relay_delivered_loses(srv, m->client, m->msg, m->msg_len,
					ours_wins))
		server_conn_send(srv, c, m->msg, m->msg_len);
}

static void on_message(struct server *srv, const char *text)
{
	struct cluster *cl = srv->cluster;
	struct instance *in;
	struct cluster_msg m;

	if (cluster_bus_decode(text, cl->bus_key, &m) < 0) {
		fprintf(stderr, "shoal-mediator: cluster: a bus message not "
			"sealed with the cluster's key, or malformed: "
			"ignored\n");
		return;
	}
	/* Our own, back to us (we listen where we say). */
	if (!strcmp(m.instance, cl->name))
		return;
	/*
	 * Whoever can LISTEN sees the sealed messages and could NOTIFY
	 * them again: one from an instance's earlier run, or not after
	 * its last, is a replay.
	 */
	in = inst_find(cl, m.instance, false);
	if (in && (m.run < in->run || (m.run == in->run && m.seq <= in->seq))) {
		int64_t now = server_now_ms();

		/* Each one counts; a flood of them is said once a second. */
		cl->replays++;
		if (!cl->replay_said_ms || now - cl->replay_said_ms >= 1000) {
			cl->replay_said_ms = now;
			fprintf(stderr, "shoal-mediator: cluster: a replayed "
				"bus message from %s, ignored (%llu so far)\n",
				m.instance, (unsigned long long)cl->replays);
		}
		return;
	}
	switch (m.type) {
	case CB_ONLINE:
		on_online(srv, &m);
		break;
	case CB_OFFLINE:
		on_offline(srv, &m);
		break;
	case CB_NAT:
		on_nat(srv, &m);
		break;
	case CB_BEAT:
		on_beat(srv, &m);
		break;
	case CB_GONE:
		on_gone(srv, &m);
		break;
	case CB_CHANGED:
		on_changed(srv, &m);
		break;
	case CB_DELIVER:
		on_deliver(srv, &m);
		break;
	}
	in = inst_find(cl, m.instance, false);
	if (in) {
		in->run = m.run;
		in->seq = m.seq;
		/* Any word from it, sealed and in order, says it lives. */
		if (m.type != CB_GONE)
			in->seen = server_now_ms();
	}
}

static void conn_drain(struct server *srv);

void cluster_ready(struct server *srv, uint32_t events)
{
	struct cluster *cl = srv->cluster;

	if (!cl->pg)
		return;
	if (events & EPOLLOUT)
		conn_flush(srv);
	if (!cl->pg)
		return;
	conn_drain(srv);
}

/*
 * What the connection has read: the batch's results, notifications; then
 * the next batch.  Not only when its socket is readable: PQflush, when
 * the socket is full, reads what the server sent into libpq's buffer, and
 * the socket then says nothing of it (the cluster stalled under load so,
 * every instance idle in epoll_wait: the bench of issue 17).  So the
 * tick drains too.
 */
static void conn_drain(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	PGnotify *n;
	PGresult *res;

	if (!cl->pg)
		return;
	if (!PQconsumeInput(cl->pg) || PQstatus(cl->pg) != CONNECTION_OK) {
		conn_drop(srv, PQerrorMessage(cl->pg));
		return;
	}
	while (cl->in_flight && !PQisBusy(cl->pg)) {
		res = PQgetResult(cl->pg);
		if (!res) {
			cl->in_flight = false;
			break;
		}
		if (PQresultStatus(res) == PGRES_FATAL_ERROR)
			fprintf(stderr, "shoal-mediator: cluster: %s",
				PQresultErrorMessage(res));
		PQclear(res);
	}
	while (cl->pg && (n = PQnotifies(cl->pg))) {
		if (!strcmp(n->relname, CLUSTER_CHANNEL))
			on_message(srv, n->extra);
		PQfreemem(n);
	}
	conn_pump(srv);
}

/* ---- start-up, and after a lost connection ---- */

/* A blocking statement: its result (the caller clears it), or NULL. */
static PGresult *exec_ok(PGconn *pg, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL,
				     NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	fprintf(stderr, "shoal-mediator: cluster: %s",
		PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

static int exec_simple(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	int ret = PQresultStatus(res) == PGRES_COMMAND_OK ||
		  PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;

	if (ret < 0)
		fprintf(stderr, "shoal-mediator: cluster: %s",
			PQresultErrorMessage(res));
	PQclear(res);
	return ret;
}

/*
 * The instances alive by the database's clock, and the clients they
 * announced: the view as the bus would have built it.
 */
static int load_view(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	const char *params[1] = { cl->name };
	int64_t now = server_now_ms();
	struct cluster_msg m;
	PGresult *res;
	int i;

	res = exec_ok(cl->pg, "SELECT name, advertise, clients, started, "
		      DB_NOW_MS " - beat FROM instances WHERE name <> $1 AND "
		      "beat > " DB_NOW_MS " - " "14000", 1, params);
	if (!res)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		const char *adv = PQgetvalue(res, i, 1);
		long long age = atoll(PQgetvalue(res, i, 4));
		struct instance *in;

		/*
		 * Checked before a slot is taken: a name goes into SQL later
		 * (a dead instance's rows are deleted by it).
		 */
		if (!cluster_name_ok(name) || !sql_safe(adv) ||
		    strlen(adv) > MED_ADVERTISE_MAX)
			continue;
		in = inst_find(cl, name, true);
		if (!in)
			continue;
		snprintf(in->advertise, sizeof(in->advertise), "%s",
			 PQgetvalue(res, i, 1));
		in->load = (uint32_t)atol(PQgetvalue(res, i, 2));
		in->started = atoll(PQgetvalue(res, i, 3));
		in->seen = now - (age > 0 ? age : 0);
	}
	PQclear(res);
	res = exec_ok(cl->pg, "SELECT o.info FROM online o JOIN instances i "
		      "ON i.name = o.instance WHERE o.instance <> $1 AND "
		      "i.beat > " DB_NOW_MS " - 14000", 1, params);
	if (!res)
		return -1;
	for (i = 0; i < PQntuples(res); i++)
		if (!cluster_bus_decode(PQgetvalue(res, i, 0), cl->bus_key, &m) &&
		    m.type == CB_ONLINE)
			on_online(srv, &m);
	PQclear(res);
	return 0;
}

/* Our clients, announced again (after the connection came back). */
static void announce_all(struct server *srv)
{
	struct conn *c;

	for (c = srv->conns; c; c = c->next)
		if (c->logged_in && !c->dead && c->told)
			cluster_online(srv, c);
}

static int connect_db(struct server *srv, bool first)
{
	struct cluster *cl = srv->cluster;
	/* "relation already exists" is no news on stderr. */
	const char *kw[] = { "dbname", "connect_timeout",
			     "application_name", "options", NULL };
	const char *val[] = { cl->url, "2", "shoal-mediator",
			      "-c client_min_messages=warning", NULL };

	cl->pg = PQconnectdbParams(kw, val, 1);
	if (PQstatus(cl->pg) != CONNECTION_OK) {
		if (first)
			fprintf(stderr, "shoal-mediator: --database: cannot "
				"connect: %s", PQerrorMessage(cl->pg));
		PQfinish(cl->pg);
		cl->pg = NULL;
		return -1;
	}
	if (exec_simple(cl->pg, "LISTEN " CLUSTER_CHANNEL) < 0)
		goto fail;
	return 0;
fail:
	PQfinish(cl->pg);
	cl->pg = NULL;
	return -1;
}

/* Blocking statements done: from now on it waits in the epoll set. */
static int go_async(struct server *srv)
{
	struct cluster *cl = srv->cluster;

	if (PQsetnonblocking(cl->pg, 1) < 0)
		return -1;
	cl->fd = PQsocket(cl->pg);
	cl->events = 0;
	cl->up_since = server_now_ms();
	cl->next_beat = 0;
	return 0;
}

/*
 * One instance of a name at a time: its session holds an advisory lock
 * on the name, which PostgreSQL drops when the session ends however the
 * process died, so a restart right after a crash is no clash.
 */
static int lock_name(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	const char *params[1] = { cl->name };
	PGresult *res;
	int ret;

	res = exec_ok(cl->pg, "SELECT pg_try_advisory_lock(hashtext("
		      "'shoal-mediator instance ' || $1))", 1, params);
	if (!res)
		return -1;
	ret = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t") ?
	      0 : -1;
	PQclear(res);
	return ret;
}

static void reconnect(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	size_t i;

	cl->next_connect = server_now_ms() + RECONNECT_MS;
	if (connect_db(srv, false) < 0)
		return;
	/* We heard nothing meanwhile: nobody is judged on that. */
	for (i = 0; i < CLUSTER_MAX_INSTANCES; i++)
		cl->inst[i].seen = server_now_ms();
	if (lock_name(srv) < 0)
		fprintf(stderr, "shoal-mediator: cluster: another instance %s "
			"runs meanwhile\n", cl->name);
	if (load_view(srv) < 0 || go_async(srv) < 0) {
		PQfinish(cl->pg);
		cl->pg = NULL;
		return;
	}
	fprintf(stderr, "shoal-mediator: cluster: database connection "
		"back\n");
	conn_arm(srv, false);
	beat(srv);
	announce_all(srv);
}

/* The rows of this instance's last run go; its clients are settled. */
static int forget_last_run(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	const char *params[1] = { cl->name };
	struct cluster_msg m = { .type = CB_GONE };
	PGresult *res;

	if (lock_name(srv) < 0) {
		fprintf(stderr, "shoal-mediator: --instance %s: an instance of "
			"that name is running on this database already\n",
			cl->name);
		return -1;
	}
	cl->registered = true;

	res = exec_ok(cl->pg, "SELECT started FROM instances WHERE name = $1",
		      1, params);
	if (!res)
		return -1;
	m.started = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	res = exec_ok(cl->pg, "DELETE FROM online WHERE instance = $1", 1,
		      params);
	if (!res)
		return -1;
	PQclear(res);
	snprintf(m.instance, sizeof(m.instance), "%s", cl->name);
	if (m.started && !bus_encode(cl, &m)) {
		const char *p[1] = { cl->text };

		res = exec_ok(cl->pg, "SELECT pg_notify('" CLUSTER_CHANNEL
			      "', $1)", 1, p);
		if (!res)
			return -1;
		PQclear(res);
	}
	return 0;
}

int cluster_open(struct server *srv, const struct cluster_config *cfg)
{
	struct cluster *cl;

	if (!cluster_name_ok(cfg->name) || !sql_safe(cfg->advertise)) {
		fprintf(stderr, "shoal-mediator: --instance or --advertise "
			"is malformed\n");
		return -1;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl || !(cl->url = strdup(cfg->url))) {
		free(cl);
		return -1;
	}
	cl->h.kind = MED_K_CLUSTER;
	cl->fd = -1;
	snprintf(cl->name, sizeof(cl->name), "%s", cfg->name);
	snprintf(cl->advertise, sizeof(cl->advertise), "%s", cfg->advertise);
	cl->redirect_margin = cfg->redirect_margin;
	cl->started = unix_ms();
	cluster_bus_key(cl->bus_key, srv->priv);
	srv->cluster = cl;
	if (connect_db(srv, true) < 0)
		return -1;
	if (forget_last_run(srv) < 0 || load_view(srv) < 0 ||
	    go_async(srv) < 0)
		return -1;
	fprintf(stderr, "shoal-mediator: cluster: instance %s (%s), %zu "
		"clients online elsewhere\n", cl->name, cl->advertise,
		cl->n_remote);
	return 0;
}

int cluster_watch(struct server *srv)
{
	struct cluster *cl = srv->cluster;

	if (!cl)
		return 0;
	conn_arm(srv, false);
	beat(srv);
	cl->next_beat = server_now_ms() + CLUSTER_BEAT_MS;
	return cl->pg ? 0 : -EIO;
}

void cluster_tick(struct server *srv, int64_t now_ms)
{
	struct cluster *cl = srv->cluster;
	size_t i;

	if (!cl)
		return;
	if (!cl->pg) {
		if (now_ms >= cl->next_connect)
			reconnect(srv);
		return;
	}
	conn_drain(srv);
	if (!cl->pg)
		return;
	if (now_ms >= cl->next_beat) {
		cl->next_beat = now_ms + CLUSTER_BEAT_MS;
		beat(srv);
	}
	for (i = 0; i < CLUSTER_MAX_INSTANCES; i++) {
		struct instance *in = &cl->inst[i];

		if (!in->used || now_ms - in->seen <= CLUSTER_DEAD_MS)
			continue;
		fprintf(stderr, "shoal-mediator: cluster: instance %s is dead "
			"(no beat for %lld ms)\n", in->name,
			(long long)(now_ms - in->seen));
		in->used = false;
		settle(srv, in->name);
		/* Its rows too, unless it beat again meanwhile. */
		cluster_sql(srv, "DELETE FROM online WHERE instance = '%s' AND "
			    "NOT EXISTS (SELECT 1 FROM instances WHERE name = "
			    "'%s' AND beat > " DB_NOW_MS " - 14000)", in->name,
			    in->name);
		cluster_sql(srv, "DELETE FROM instances WHERE name = '%s' AND "
			    "beat <= " DB_NOW_MS " - 14000", in->name);
		instances_changed(srv);
	}
}

void cluster_close(struct server *srv)
{
	struct cluster *cl = srv->cluster;
	struct remote *r;
	size_t b;

	if (!cl)
		return;
	if (cl->pg && cl->registered) {
		const char *params[1] = { cl->name };
		struct cluster_msg m = { .type = CB_GONE };
		PGresult *res;

		/* Blocking at last: what is queued, then our goodbye. */
		PQsetnonblocking(cl->pg, 0);
		while ((res = PQgetResult(cl->pg)))
			PQclear(res);
		res = PQexecParams(cl->pg, "DELETE FROM online WHERE instance "
				   "= $1", 1, NULL, params, NULL, NULL, 0);
		PQclear(res);
		res = PQexecParams(cl->pg, "DELETE FROM instances WHERE name "
				   "= $1", 1, NULL, params, NULL, NULL, 0);
		PQclear(res);
		snprintf(m.instance, sizeof(m.instance), "%s", cl->name);
		m.started = cl->started;
		if (!bus_encode(cl, &m)) {
			const char *p[1] = { cl->text };

			res = PQexecParams(cl->pg, "SELECT pg_notify('"
					   CLUSTER_CHANNEL "', $1)", 1, NULL,
					   p, NULL, NULL, 0);
			PQclear(res);
		}
	}
	PQfinish(cl->pg);
	for (b = 0; b < VIEW_BUCKETS; b++)
		while ((r = cl->view[b])) {
			cl->view[b] = r->next;
			free(r);
		}
	for (b = 0; b < cl->n_queue; b++)
		free(cl->queue[b]);
	free(cl->queue);
	free(cl->url);
	sodium_memzero(cl->bus_key, sizeof(cl->bus_key));
	sodium_memzero(cl->text, sizeof(cl->text));
	free(cl);
	srv->cluster = NULL;
}

/* ---- what this instance says of its clients ---- */

void cluster_online(struct server *srv, const struct conn *c)
{
	struct cluster *cl = srv->cluster;
	struct cluster_msg m = { .type = CB_ONLINE };
	struct remote **pp;

	if (!cl)
		return;
	/* Here now: whatever the view said of it is old. */
	pp = view_slot(cl, c->client.id);
	if (*pp)
		view_remove(cl, pp);
	presence_info_of(c, &m.info);
	snprintf(m.instance, sizeof(m.instance), "%s", cl->name);
	if (bus_encode(cl, &m) < 0)
		return;
	cluster_sql(srv, "INSERT INTO online (client_id, instance, since, "
		    "info) VALUES (%lld, '%s', " DB_NOW_MS ", '%s') ON CONFLICT "
		    "(client_id) DO UPDATE SET instance = EXCLUDED.instance, "
		    "since = EXCLUDED.since, info = EXCLUDED.info",
		    (long long)c->client.id, cl->name, cl->text);
	notify_text(srv);
}

void cluster_offline(struct server *srv, const struct conn *c,
		     uint8_t reason)
{
	struct cluster_msg m = { .type = CB_OFFLINE };

	if (!srv->cluster)
		return;
	cluster_sql(srv, "DELETE FROM online WHERE client_id = %lld AND "
		    "instance = '%s'", (long long)c->client.id,
		    srv->cluster->name);
	m.client = c->client.id;
	memcpy(m.key, c->client.pubkey, MSTORE_KEY_LEN);
	m.reason = reason;
	publish(srv, &m);
}

void cluster_nat(struct server *srv, const struct conn *c)
{
	struct cluster *cl = srv->cluster;
	struct cluster_msg m = { .type = CB_ONLINE };

	if (!cl)
		return;
	/* The row says what a starting instance is to know of it. */
	presence_info_of(c, &m.info);
	snprintf(m.instance, sizeof(m.instance), "%s", cl->name);
	if (bus_encode(cl, &m) < 0)
		return;
	cluster_sql(srv, "UPDATE online SET info = '%s' WHERE client_id = "
		    "%lld AND instance = '%s'", cl->text,
		    (long long)c->client.id, cl->name);
	memset(&m, 0, sizeof(m));
	m.type = CB_NAT;
	m.client = c->client.id;
	m.nat = c->nat;
	publish(srv, &m);
}

void cluster_changed(struct server *srv, const struct mstore_client *who,
		     const int64_t *added, size_t n_added,
		     const struct med_peer_ref *lost, size_t n_lost, bool both)
{
	struct cluster_msg *m;
	size_t a = 0, l = 0;

	if (!srv->cluster || (!n_added && !n_lost))
		return;
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	/* In pieces of CLUSTER_CHANGE_MAX: a NOTIFY is less than 8000. */
	while (a < n_added || l < n_lost) {
		memset(m, 0, sizeof(*m));
		m->type = CB_CHANGED;
		m->client = who->id;
		memcpy(m->key, who->pubkey, MSTORE_KEY_LEN);
		m->both = both;
		while (a < n_added && m->n_added < CLUSTER_CHANGE_MAX)
			m->added[m->n_added++] = added[a++];
		while (l < n_lost && m->n_lost < CLUSTER_CHANGE_MAX)
			m->lost[m->n_lost++] = lost[l++];
		publish(srv, m);
	}
	free(m);
}

void cluster_deliver(struct server *srv, int64_t id, const uint8_t *msg,
		     int len)
{
	struct cluster_msg *m;

	if (!srv->cluster || len <= 0 || (size_t)len > sizeof(m->msg))
		return;
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->type = CB_DELIVER;
	m->client = id;
	memcpy(m->msg, msg, (size_t)len);
	m->msg_len = (uint16_t)len;
	publish(srv, m);
	/* A RELAY_KEY in the clear: only the queued statement keeps it. */
	sodium_memzero(m, sizeof(*m));
	sodium_memzero(srv->cluster->text, sizeof(srv->cluster->text));
	free(m);
}

bool cluster_advertised(struct server *srv, struct med_endpoint *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!srv->cluster ||
	    med_parse_listen(srv->cluster->advertise, &ss, &len) < 0 ||
	    udp_endpoint_from(e, (const struct sockaddr *)&ss) < 0)
		return false;
	return true;
}
