/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_DB_H
#define SHOAL_DB_H

/*
 * The SQL database under mstore: SQLite or PostgreSQL behind one small
 * interface, so that mstore keeps one set of queries.  Statements are
 * written once, in the SQL both understand, with numbered ?N parameters
 * (rewritten to $N for PostgreSQL); a trailing " FOR UPDATE" is dropped
 * on SQLite, whose write transactions lock the whole file anyway.
 *
 * A struct db is one connection.  Every statement is timed in db.c
 * (db_time), for the metrics.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_kind {
	DB_SQLITE,
	DB_POSTGRES,
};

enum db_result {
	DB_ROW = 1,
	DB_DONE = 0,
	DB_E_IO = -1,		/* db_errmsg says what */
	DB_E_UNAVAILABLE = -2,	/* the connection is down: later */
	/*
	 * A concurrent writer: a unique index refused the row, or (on
	 * PostgreSQL) a deadlock or serialization failure.  Nothing was
	 * done: the transaction may run again.
	 */
	DB_E_CONFLICT = -3,
	DB_E_NOMEM = -4,
};

/* Statements are cached by a small id the caller chooses, below this. */
#define DB_STMT_MAX 64
/* Parameters of one statement. */
#define DB_PARAM_MAX 8

struct db;
struct db_stmt;

/*
 * Which backend a --database URL names and where: "sqlite:PATH",
 * "postgresql://..." or "postgres://..." (a libpq URI, passed whole).  A
 * plain path (no scheme) is SQLite too.  0, or -1 with err set.
 */
int db_url_kind(const char *url, enum db_kind *kind, char *err,
		size_t err_size);
/* url with any password replaced by "***", for messages and logs. */
void db_url_masked(const char *url, char *out, size_t out_size);

/*
 * Connects.  SQLite: creates the file (mode 0600) if need be;
 * busy_timeout_ms is how long to wait for another writer.  PostgreSQL:
 * connect_timeout 2 s unless the URL says otherwise.  DB_DONE (0), or an
 * error with err set (never with the password in it).
 */
int db_open(struct db **db, const char *url, int busy_timeout_ms,
	    char *err, size_t err_size);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
/* The backend's message for the last error, or "". */
const char *db_errmsg(const struct db *db);

/* Statement id's, prepared on first use; reset, no parameters bound. */
struct db_stmt *db_prepare(struct db *db, unsigned int id, const char *sql);
/* The caller keeps text and blobs alive until db_reset or the last row. */
int db_bind_i64(struct db_stmt *st, int i, int64_t v);
int db_bind_text(struct db_stmt *st, int i, const char *v); /* NULL: null */
int db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len);
/* DB_ROW, DB_DONE (and reset) or an error (and reset). */
int db_step(struct db_stmt *st);
void db_reset(struct db_stmt *st);
bool db_column_null(struct db_stmt *st, int col);
int64_t db_column_i64(struct db_stmt *st, int col);
/* NULL for null; valid until the next step or reset. */
const char *db_column_text(struct db_stmt *st, int col, size_t *len);
const void *db_column_blob(struct db_stmt *st, int col, size_t *len);
/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t db_changes(struct db *db);

/* Constant SQL without parameters, maybe several statements. */
int db_exec(struct db *db, const char *sql);
/*
 * A write transaction: SQLite BEGIN IMMEDIATE (the file's write lock
 * now, so that no read lock needs upgrading later), PostgreSQL BEGIN
 * (READ COMMITTED; mstore locks the rows it must with FOR UPDATE).
 */
int db_begin(struct db *db);
/* A read-only one: one consistent view for several queries. */
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
bool db_in_transaction(const struct db *db);

/*
 * Statements executed, their total and longest time in nanoseconds
 * (CLOCK_MONOTONIC, around each execution and each db_exec).
 */
void db_time(const struct db *db, uint64_t *count, uint64_t *total_ns,
	     uint64_t *max_ns);

#endif
