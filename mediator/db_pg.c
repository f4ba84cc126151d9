// SPDX-License-Identifier: MIT
/*
 * db.h on PostgreSQL (libpq).  Statements are prepared on the server once
 * per connection, parameters go as text (integers, text) or binary
 * (bytea), and results come back binary, so that a bytea needs no
 * unescaping and an integer no parsing.
 *
 * A broken connection makes every call fail with DB_E_UNAVAILABLE at
 * once; calls outside a transaction reconnect, starting an attempt at
 * most once a second.  The attempt is libpq's non-blocking one, driven
 * for at most RECONNECT_SLICE_NS a call and given up after
 * CONNECT_TIMEOUT_S: a database that is down, or a host that drops
 * every packet, costs the mediator's event loop a slice now and then,
 * never a hang.  Never inside a transaction: its first statements went
 * with the old connection, and the rest must not run without them.
 *
 * A connection whose server vanishes without a word (a host gone, a
 * partition) is noticed by TCP keepalives when idle and by
 * tcp_user_timeout when a statement waits for an answer: a call blocks
 * for seconds then, not for TCP's quarter of an hour.  The URL may say
 * otherwise for each of these.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db_backend.h"

/* Type oids of pg_type.h that our queries return. */
#define BOOLOID 16
#define BYTEAOID 17
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23

#include <poll.h>

#define CONNECT_TIMEOUT_S "2"
#define CONNECT_TIMEOUT_NS 2000000000ull
#define RECONNECT_NS 1000000000ull
#define RECONNECT_SLICE_NS 250000000ull

struct pg_stmt {
	struct db_stmt base;
	unsigned int id;
	char *sql;			/* with $N */
	int nparams;
	uint64_t prepared_gen;	/* the connection prepared on */
	const char *values[DB_PARAM_MAX];
	int lengths[DB_PARAM_MAX], formats[DB_PARAM_MAX];
	char ints[DB_PARAM_MAX][24];
	PGresult *res;
	int row;
};

struct pg_db {
	struct db base;
	PGconn *conn;
	char *url;
	uint64_t gen;			/* bumped by every connection */
	uint64_t last_try_ns;		/* when the last attempt started */
	bool connecting;		/* an attempt in progress on conn */
	PostgresPollingStatusType polling;
	int64_t changes;
	struct pg_stmt stmt[DB_STMT_MAX];
};

static struct pg_db *pg(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pst(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool conn_ok(struct pg_db *d)
{
	return d->conn && PQstatus(d->conn) == CONNECTION_OK;
}

/*
 * The URL is expanded in place of dbname; what it says itself wins over
 * our defaults, which come first.
 */
static const char *const conn_keys[] = {
	"connect_timeout", "application_name", "keepalives_idle",
	"keepalives_interval", "keepalives_count", "tcp_user_timeout",
	"options", "dbname", NULL
};

static void conn_values(const char *values[], const char *url)
{
	values[0] = CONNECT_TIMEOUT_S;
	values[1] = "shoal-mediator";
	values[2] = "10";
	values[3] = "2";
	values[4] = "3";
	values[5] = "5000";		/* ms */
	/* Quiet: CREATE ... IF NOT EXISTS and the like are expected. */
	values[6] = "-c client_min_messages=warning";
	values[7] = url;
	values[8] = NULL;
}

static PGconn *connect_url(const char *url)
{
	const char *values[9];

	conn_values(values, url);
	return PQconnectdbParams(conn_keys, values, 1);
}

/* A result's failure as a db_result, with the server's message kept. */
static int pg_fail(struct pg_db *d, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
				  NULL;
	const char *msg = res && PQresultErrorMessage(res)[0] ?
			  PQresultErrorMessage(res) : PQerrorMessage(d->conn);
	int rc = DB_E_IO;

	if (!conn_ok(d) || (state && (!strncmp(state, "08", 2) ||
				      !strncmp(state, "57P", 3))))
		rc = DB_E_UNAVAILABLE;
	else if (state && (!strcmp(state, "23505") ||
			   !strcmp(state, "40P01") || !strcmp(state, "40001")))
		rc = DB_E_CONFLICT;
	else if (!res)
		rc = DB_E_NOMEM;
	db_fail(&d->base, rc, msg);
	/* Whatever libpq thinks of it, it is done: the next call reconnects. */
	if (rc == DB_E_UNAVAILABLE) {
		PQfinish(d->conn);
		d->conn = NULL;
	}
	return rc;
}

/*
 * A working connection, or DB_E_UNAVAILABLE.  Reconnects outside a
 * transaction only, and not more than once a second.
 */
static int connect_failed(struct pg_db *d, const char *why)
{
	d->connecting = false;
	db_fail(&d->base, DB_E_UNAVAILABLE, why ? why : "out of memory");
	PQfinish(d->conn);
	d->conn = NULL;
	return DB_E_UNAVAILABLE;
}

/* Drives the attempt for one slice: DB_DONE connected, or unavailable. */
static int connect_step(struct pg_db *d)
{
	uint64_t start = mono_ns(), now;
	struct pollfd pfd;
	int ms;

	for (;;) {
		if (d->polling == PGRES_POLLING_OK) {
			d->connecting = false;
			d->gen++;
			return DB_DONE;
		}
		if (d->polling == PGRES_POLLING_FAILED)
			return connect_failed(d, PQerrorMessage(d->conn));
		now = mono_ns();
		if (now - d->last_try_ns >= CONNECT_TIMEOUT_NS)
			return connect_failed(d, "connecting to the database "
					      "timed out");
		if (now - start >= RECONNECT_SLICE_NS)
			return db_fail(&d->base, DB_E_UNAVAILABLE,
				       "connecting to the database");
		pfd.fd = PQsocket(d->conn);
		pfd.events = d->polling == PGRES_POLLING_READING ? POLLIN :
								   POLLOUT;
		ms = (int)((RECONNECT_SLICE_NS - (now - start)) / 1000000) + 1;
		if (pfd.fd < 0)
			return connect_failed(d, PQerrorMessage(d->conn));
		if (poll(&pfd, 1, ms) == 0)
			continue;
		d->polling = PQconnectPoll(d->conn);
	}
}

/*
 * A working connection, or DB_E_UNAVAILABLE.  Reconnects outside a
 * transaction only, an attempt starting at most once a second.
 */
static int ensure_conn(struct pg_db *d)
{
	const char *values[9];
	uint64_t now;

	if (!d->connecting && conn_ok(d))
		return DB_DONE;
	if (d->base.begun)
		return db_fail(&d->base, DB_E_UNAVAILABLE,
			       "the connection to the database broke");
	if (d->connecting)
		return connect_step(d);
	now = mono_ns();
	if (d->last_try_ns && now - d->last_try_ns < RECONNECT_NS)
		return db_fail(&d->base, DB_E_UNAVAILABLE,
			       "the database is unreachable");
	d->last_try_ns = now;
	PQfinish(d->conn);
	conn_values(values, d->url);
	d->conn = PQconnectStartParams(conn_keys, values, 1);
	if (!d->conn || PQstatus(d->conn) == CONNECTION_BAD)
		return connect_failed(d, d->conn ? PQerrorMessage(d->conn) :
				      NULL);
	d->connecting = true;
	d->polling = PGRES_POLLING_WRITING;
	return connect_step(d);
}

static struct db_stmt *pg_prepare(struct db *db, unsigned int id,
				  const char *sql)
{
	struct pg_stmt *s = &pg(db)->stmt[id];
	char *p;

	if (s->sql)
		return &s->base;
	s->sql = strdup(sql);
	if (!s->sql) {
		db_fail(db, DB_E_NOMEM, "out of memory");
		return NULL;
	}
	/* ?N to $N, and the number of parameters: the highest N. */
	for (p = s->sql; (p = strchr(p, '?')); p++) {
		int n = atoi(p + 1);

		*p = '$';
		if (n > s->nparams)
			s->nparams = n;
	}
	if (s->nparams > DB_PARAM_MAX) {
		free(s->sql);
		s->sql = NULL;
		db_fail(db, DB_E_IO, "too many statement parameters");
		return NULL;
	}
	s->base.db = db;
	s->id = id;
	return &s->base;
}

static int param(struct db_stmt *st, int i)
{
	if (i < 1 || i > pst(st)->nparams)
		return db_fail(st->db, DB_E_IO, "parameter out of range");
	return DB_DONE;
}

static int pg_bind_i64(struct db_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = pst(st);

	if (param(st, i))
		return DB_E_IO;
	snprintf(s->ints[i - 1], sizeof(s->ints[i - 1]), "%lld",
		 (long long)v);
	s->values[i - 1] = s->ints[i - 1];
	s->formats[i - 1] = 0;
	return DB_DONE;
}

static int pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	struct pg_stmt *s = pst(st);

	if (param(st, i))
		return DB_E_IO;
	s->values[i - 1] = v;
	s->formats[i - 1] = 0;
	return DB_DONE;
}

static int pg_bind_blob(struct db_stmt *st, int i, const void *v,
			size_t len)
{
	struct pg_stmt *s = pst(st);

	if (param(st, i))
		return DB_E_IO;
	s->values[i - 1] = v;
	s->lengths[i - 1] = (int)len;
	s->formats[i - 1] = 1;
	return DB_DONE;
}

static void clear_result(struct pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
}

static int execute_once(struct pg_db *d, struct pg_stmt *s)
{
	char name[16];
	PGresult *res;
	int rc = ensure_conn(d);

	if (rc)
		return rc;
	snprintf(name, sizeof(name), "s%u", s->id);
	if (s->prepared_gen != d->gen) {
		res = PQprepare(d->conn, name, s->sql, s->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = pg_fail(d, res);
			PQclear(res);
			return rc;
		}
		PQclear(res);
		s->prepared_gen = d->gen;
	}
	res = PQexecPrepared(d->conn, name, s->nparams, s->values, s->lengths,
			     s->formats, 1);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		d->changes = 0;
		break;
	case PGRES_COMMAND_OK:
		d->changes = atoll(PQcmdTuples(res));
		break;
	default:
		rc = pg_fail(d, res);
		PQclear(res);
		return rc;
	}
	s->res = res;
	s->row = -1;
	return DB_DONE;
}

/*
 * A connection that was up but is found broken when a statement is sent
 * is most often one the server closed while it sat idle (a restart):
 * the statement never ran.  Outside a transaction it goes once more on
 * a new connection at once, so that the first request after a restart
 * does not fail.  Inside one, never: its earlier statements are lost.
 * Our statements outside transactions are reads and mstore_touch, which
 * may run twice.
 */
static bool retry_on_new_connection(struct pg_db *d, bool was_up, int rc)
{
	if (rc != DB_E_UNAVAILABLE || !was_up || d->base.begun)
		return false;
	d->last_try_ns = 0;
	return true;
}

static int execute(struct pg_db *d, struct pg_stmt *s)
{
	bool was_up = !d->connecting && conn_ok(d);
	int rc = execute_once(d, s);

	if (retry_on_new_connection(d, was_up, rc))
		rc = execute_once(d, s);
	return rc;
}

static int pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	int rc;

	if (!s->res) {
		rc = execute(pg(st->db), s);
		if (rc)
			return rc;
	}
	if (++s->row < PQntuples(s->res))
		return DB_ROW;
	clear_result(s);
	return DB_DONE;
}

static void pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	clear_result(s);
	memset(s->values, 0, sizeof(s->values));
	memset(s->lengths, 0, sizeof(s->lengths));
	memset(s->formats, 0, sizeof(s->formats));
}

static bool pg_column_null(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);

	return !s->res || PQgetisnull(s->res, s->row, col);
}

static uint64_t be(const uint8_t *p, int len)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static int64_t pg_column_i64(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);
	const uint8_t *v;
	int len;

	if (pg_column_null(st, col))
		return 0;
	v = (const uint8_t *)PQgetvalue(s->res, s->row, col);
	len = PQgetlength(s->res, s->row, col);
	switch (PQftype(s->res, col)) {
	case INT8OID:
		return len == 8 ? (int64_t)be(v, 8) : 0;
	case INT4OID:
		return len == 4 ? (int32_t)(uint32_t)be(v, 4) : 0;
	case INT2OID:
		return len == 2 ? (int16_t)(uint16_t)be(v, 2) : 0;
	case BOOLOID:
		return len == 1 && v[0];
	default:
		return 0;
	}
}

static const void *pg_column_bytes(struct db_stmt *st, int col, size_t *len)
{
	struct pg_stmt *s = pst(st);

	*len = 0;
	if (pg_column_null(st, col))
		return NULL;
	*len = (size_t)PQgetlength(s->res, s->row, col);
	/* libpq ends every value with a NUL, binary ones too. */
	return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_changes(struct db *db)
{
	return pg(db)->changes;
}

static int exec_once(struct pg_db *d, const char *sql)
{
	PGresult *res;
	int rc = ensure_conn(d);

	if (rc)
		return rc;
	res = PQexec(d->conn, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = DB_DONE;
	else
		rc = pg_fail(d, res);
	PQclear(res);
	return rc;
}

/* BEGIN is sent outside a transaction: retried as a statement is. */
static int pg_exec(struct db *db, const char *sql)
{
	struct pg_db *d = pg(db);
	bool was_up = !d->connecting && conn_ok(d);
	int rc = exec_once(d, sql);

	if (retry_on_new_connection(d, was_up, rc))
		rc = exec_once(d, sql);
	return rc;
}

static bool pg_in_transaction(const struct db *db)
{
	const struct pg_db *d = (const struct pg_db *)db;
	PGTransactionStatusType t;

	if (!d->conn || d->connecting)
		return false;
	t = PQtransactionStatus(d->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	       t == PQTRANS_ACTIVE;
}

static void pg_close(struct db *db)
{
	struct pg_db *d = pg(db);
	size_t i;

	for (i = 0; i < DB_STMT_MAX; i++) {
		clear_result(&d->stmt[i]);
		free(d->stmt[i].sql);
	}
	PQfinish(d->conn);
	free(d->url);
	free(d);
}

static const struct db_ops pg_ops = {
	.prepare = pg_prepare,
	.bind_i64 = pg_bind_i64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.reset = pg_reset,
	.column_null = pg_column_null,
	.column_i64 = pg_column_i64,
	.column_bytes = pg_column_bytes,
	.changes = pg_changes,
	.exec = pg_exec,
	.in_transaction = pg_in_transaction,
	.close = pg_close,
};

int db_pg_open(struct db **db, const char *url, char *err, size_t err_size)
{
	struct pg_db *d = calloc(1, sizeof(*d));
	size_t i;

	if (!d || !(d->url = strdup(url))) {
		free(d);
		snprintf(err, err_size, "out of memory");
		return DB_E_NOMEM;
	}
	d->base.ops = &pg_ops;
	d->base.kind = DB_POSTGRES;
	for (i = 0; i < DB_STMT_MAX; i++)
		d->stmt[i].row = -1;
	d->conn = connect_url(url);
	d->last_try_ns = mono_ns();
	if (!conn_ok(d)) {
		snprintf(err, err_size, "%s", d->conn ?
			 PQerrorMessage(d->conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		pg_close(&d->base);
		return DB_E_UNAVAILABLE;
	}
	d->gen = 1;
	*db = &d->base;
	return DB_DONE;
}
