// SPDX-License-Identifier: MIT
/*
 * db.h on PostgreSQL (libpq).  Statements are prepared on the server once
 * per connection, parameters go as text (integers, text) or binary
 * (bytea), and results come back binary, so that a bytea needs no
 * unescaping and an integer no parsing.
 *
 * A broken connection makes every call fail with DB_E_UNAVAILABLE at
 * once; the next call outside a transaction reconnects, at most once a
 * second and with a short connect_timeout, so that a database that is
 * down costs the mediator's event loop little.  Never inside a
 * transaction: its first statements went with the old connection, and
 * the rest must not run without them.
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

#define CONNECT_TIMEOUT_S "2"
#define RECONNECT_NS 1000000000ull

struct pg_stmt {
	struct db_stmt base;
	unsigned int id;
	char *sql;			/* with $N */
	int nparams;
	uint64_t prepared_gen;		/* the connection it is prepared on */
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
	uint64_t last_try_ns;
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

static PGconn *connect_url(const char *url)
{
	/*
	 * The URL is expanded in place of dbname; its own connect_timeout,
	 * if any, wins over ours, which comes first.
	 */
	static const char *const keys[] = {
		"connect_timeout", "application_name", "dbname", NULL
	};
	const char *values[] = {
		CONNECT_TIMEOUT_S, "shoal-mediator", url, NULL
	};

	return PQconnectdbParams(keys, values, 1);
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
	else if (state && !strcmp(state, "23505"))
		rc = DB_E_UNIQUE;
	else if (!res)
		rc = DB_E_NOMEM;
	return db_fail(&d->base, rc, msg);
}

/*
 * A working connection, or DB_E_UNAVAILABLE.  Reconnects outside a
 * transaction only, and not more than once a second.
 */
static int ensure_conn(struct pg_db *d)
{
	uint64_t now;

	if (conn_ok(d))
		return DB_DONE;
	if (d->base.begun)
		return db_fail(&d->base, DB_E_UNAVAILABLE,
			       "the connection to the database broke");
	now = mono_ns();
	if (d->last_try_ns && now - d->last_try_ns < RECONNECT_NS)
		return db_fail(&d->base, DB_E_UNAVAILABLE,
			       "the database is unreachable");
	d->last_try_ns = now;
	PQfinish(d->conn);
	d->conn = connect_url(d->url);
	if (!conn_ok(d))
		return db_fail(&d->base, DB_E_UNAVAILABLE,
			       d->conn ? PQerrorMessage(d->conn) :
			       "out of memory");
	d->gen++;
	return DB_DONE;
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

static int execute(struct pg_db *d, struct pg_stmt *s)
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

static int pg_exec(struct db *db, const char *sql)
{
	struct pg_db *d = pg(db);
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

static bool pg_in_transaction(const struct db *db)
{
	const struct pg_db *d = (const struct pg_db *)db;
	PGTransactionStatusType t;

	if (!d->conn)
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
	/* Quiet: our CREATE ... IF NOT EXISTS are expected to find some. */
	pg_exec(&d->base, "SET client_min_messages = warning");
	*db = &d->base;
	return DB_DONE;
}
