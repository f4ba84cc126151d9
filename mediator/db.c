// SPDX-License-Identifier: MIT
/*
 * The backend-neutral half of the database layer: URL parsing, dispatch
 * to db_sqlite.c or db_pg.c, and the one place where statements are
 * timed (a clock_gettime pair per step: cheap next to any query).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db_backend.h"

#define SQLITE_SCHEME "sqlite:"

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int db_url_kind(const char *url, enum db_kind *kind, char *err,
		size_t err_size)
{
	const char *colon;

	if (!url || !url[0]) {
		snprintf(err, err_size, "an empty database URL");
		return -1;
	}
	if (has_prefix(url, "postgresql://") ||
	    has_prefix(url, "postgres://")) {
		*kind = DB_POSTGRES;
		return 0;
	}
	if (has_prefix(url, SQLITE_SCHEME)) {
		if (!url[strlen(SQLITE_SCHEME)]) {
			snprintf(err, err_size, "sqlite: needs a file path"
				 " (sqlite:/var/lib/shoal-mediator/"
				 "mediator.db)");
			return -1;
		}
		*kind = DB_SQLITE;
		return 0;
	}
	/* A scheme we do not know: a word of letters before a colon. */
	colon = strchr(url, ':');
	if (colon && colon > url && !memchr(url, '/', (size_t)(colon - url))) {
		char masked[256];

		db_url_masked(url, masked, sizeof(masked));
		snprintf(err, err_size, "%s: unknown database URL scheme (use "
			 "sqlite:PATH or postgresql://USER@HOST:PORT/DB)",
			 masked);
		return -1;
	}
	*kind = DB_SQLITE;
	return 0;
}

/* The query of out (from its '?') becomes "?***", or goes. */
static void query_masked(char *out, size_t out_size)
{
	char *q = strchr(out, '?');

	if (!q)
		return;
	if ((size_t)(q - out) + 5 <= out_size)
		memcpy(q, "?***", 5);
	else
		*q = '\0';
}

/*
 * Masks the password of postgresql://user:PASSWORD@host/... and of a
 * password=... parameter.  Whatever does not parse is kept, but never a
 * password: everything after "://" up to the last '@' of the authority
 * is user[:password].
 */
void db_url_masked(const char *url, char *out, size_t out_size)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL, *colon;
	const char *pw;
	size_t n = 0;

	if (!out_size)
		return;
	out[0] = '\0';
	if (!auth) {
		snprintf(out, out_size, "%s", url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon)
		n = (size_t)snprintf(out, out_size, "%.*s***%s",
				     (int)(colon + 1 - url), url, at);
	else
		n = (size_t)snprintf(out, out_size, "%s", url);
	/* Cut short: what is left of the query might hold a password. */
	if (n >= out_size) {
		query_masked(out, out_size);
		return;
	}
	/* password=... in the query: mask up to the next '&'. */
	pw = strstr(out, "password=");
	if (pw && pw > out && (pw[-1] == '?' || pw[-1] == '&')) {
		char *v = (char *)pw + strlen("password=");
		size_t vlen = strcspn(v, "&");

		if (vlen >= 3) {
			memcpy(v, "***", 3);
			memmove(v + 3, v + vlen, strlen(v + vlen) + 1);
		} else if (strlen(out) + 3 - vlen < out_size) {
			memmove(v + 3, v + vlen, strlen(v + vlen) + 1);
			memcpy(v, "***", 3);
		} else {
			query_masked(out, out_size);
			return;
		}
		pw = v + 3;
	} else {
		pw = strchr(out, '?');
	}
	/*
	 * A second password, or %-escapes (which libpq decodes, so that
	 * "pass%77ord" is a password too): none of the query is shown.
	 */
	if (pw && (strchr(pw, '%') || strcasestr(pw, "pass")))
		query_masked(out, out_size);
}

int db_open(struct db **db, const char *url, int busy_timeout_ms,
	    char *err, size_t err_size)
{
	enum db_kind kind;

	*db = NULL;
	if (db_url_kind(url, &kind, err, err_size))
		return DB_E_IO;
	if (kind == DB_POSTGRES)
		return db_pg_open(db, url, err, err_size);
	if (has_prefix(url, SQLITE_SCHEME))
		url += strlen(SQLITE_SCHEME);
	return db_sqlite_open(db, url, busy_timeout_ms, err, err_size);
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

enum db_kind db_kind(const struct db *db)
{
	return db->kind;
}

const char *db_errmsg(const struct db *db)
{
	return db->error;
}

int db_fail(struct db *db, int rc, const char *msg)
{
	snprintf(db->error, sizeof(db->error), "%s", msg ? msg : "");
	/* No trailing newline: libpq ends its messages with one. */
	db->error[strcspn(db->error, "\n")] = '\0';
	return rc;
}

struct db_stmt *db_prepare(struct db *db, unsigned int id, const char *sql)
{
	struct db_stmt *st;

	if (id >= DB_STMT_MAX) {
		db_fail(db, DB_E_IO, "statement id out of range");
		return NULL;
	}
	st = db->ops->prepare(db, id, sql);
	if (st) {
		db->ops->reset(st);
		st->running = false;
	}
	return st;
}

int db_bind_i64(struct db_stmt *st, int i, int64_t v)
{
	return st->db->ops->bind_i64(st, i, v);
}

int db_bind_text(struct db_stmt *st, int i, const char *v)
{
	return st->db->ops->bind_text(st, i, v);
}

int db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len)
{
	return st->db->ops->bind_blob(st, i, v, len);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void account(struct db *db, uint64_t start, bool first)
{
	uint64_t ns = now_ns() - start;

	if (first)
		db->count++;
	db->total_ns += ns;
	if (ns > db->max_ns)
		db->max_ns = ns;
}

int db_step(struct db_stmt *st)
{
	struct db *db = st->db;
	bool first = !st->running;
	uint64_t start = now_ns();
	int rc;

	st->running = true;
	rc = db->ops->step(st);
	account(db, start, first);
	if (rc != DB_ROW)
		st->running = false;
	return rc;
}

void db_reset(struct db_stmt *st)
{
	st->db->ops->reset(st);
	st->running = false;
}

bool db_column_null(struct db_stmt *st, int col)
{
	return st->db->ops->column_null(st, col);
}

int64_t db_column_i64(struct db_stmt *st, int col)
{
	return st->db->ops->column_i64(st, col);
}

const char *db_column_text(struct db_stmt *st, int col, size_t *len)
{
	return st->db->ops->column_bytes(st, col, len);
}

const void *db_column_blob(struct db_stmt *st, int col, size_t *len)
{
	return st->db->ops->column_bytes(st, col, len);
}

int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int db_exec(struct db *db, const char *sql)
{
	uint64_t start = now_ns();
	int rc = db->ops->exec(db, sql);

	account(db, start, true);
	return rc;
}

int db_begin(struct db *db)
{
	int rc = db_exec(db, db->kind == DB_SQLITE ? "BEGIN IMMEDIATE" :
			 "BEGIN");

	db->begun = rc == DB_DONE;
	return rc;
}

int db_begin_read(struct db *db)
{
	int rc = db_exec(db, db->kind == DB_SQLITE ? "BEGIN" :
			 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

	db->begun = rc == DB_DONE;
	return rc;
}

int db_commit(struct db *db)
{
	int rc = db_exec(db, "COMMIT");

	if (rc == DB_DONE)
		db->begun = false;
	return rc;
}

void db_rollback(struct db *db)
{
	char keep[sizeof(db->error)];

	/* An error may have rolled back already; keep its message. */
	memcpy(keep, db->error, sizeof(keep));
	if (db->ops->in_transaction(db))
		db->ops->exec(db, "ROLLBACK");
	db->begun = false;
	memcpy(db->error, keep, sizeof(keep));
}

bool db_in_transaction(const struct db *db)
{
	return db->ops->in_transaction(db);
}

void db_time(const struct db *db, uint64_t *count, uint64_t *total_ns,
	     uint64_t *max_ns)
{
	*count = db->count;
	*total_ns = db->total_ns;
	*max_ns = db->max_ns;
}
