// SPDX-License-Identifier: MIT
/*
 * db.h on SQLite: one file, statements prepared once per connection and
 * kept (SQLITE_PREPARE_PERSISTENT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_backend.h"

#define FOR_UPDATE " FOR UPDATE"

struct sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
};

struct sq_db {
	struct db base;
	sqlite3 *db;
	struct sq_stmt stmt[DB_STMT_MAX];
};

static struct sq_db *sq(struct db *db)
{
	return (struct sq_db *)db;
}

static sqlite3_stmt *raw(struct db_stmt *st)
{
	return ((struct sq_stmt *)st)->st;
}

static int sq_fail(struct db *db)
{
	int code = sqlite3_extended_errcode(sq(db)->db);
	int rc = DB_E_IO;

	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = DB_E_CONFLICT;
	else if (code == SQLITE_NOMEM)
		rc = DB_E_NOMEM;
	return db_fail(db, rc, sqlite3_errmsg(sq(db)->db));
}

static struct db_stmt *sq_prepare(struct db *db, unsigned int id,
				  const char *sql)
{
	struct sq_stmt *s = &sq(db)->stmt[id];
	size_t len = strlen(sql), tail = strlen(FOR_UPDATE);

	if (s->st)
		return &s->base;
	/* The whole file is locked by BEGIN IMMEDIATE: no row locks. */
	if (len > tail && !strcmp(sql + len - tail, FOR_UPDATE))
		len -= tail;
	if (sqlite3_prepare_v3(sq(db)->db, sql, (int)len,
			       SQLITE_PREPARE_PERSISTENT, &s->st,
			       NULL) != SQLITE_OK) {
		sq_fail(db);
		return NULL;
	}
	s->base.db = db;
	return &s->base;
}

static int sq_bind_rc(struct db_stmt *st, int rc)
{
	return rc == SQLITE_OK ? DB_DONE : sq_fail(st->db);
}

static int sq_bind_i64(struct db_stmt *st, int i, int64_t v)
{
	return sq_bind_rc(st, sqlite3_bind_int64(raw(st), i, v));
}

static int sq_bind_text(struct db_stmt *st, int i, const char *v)
{
	return sq_bind_rc(st, v ? sqlite3_bind_text(raw(st), i, v, -1,
						    SQLITE_STATIC) :
				  sqlite3_bind_null(raw(st), i));
}

static int sq_bind_blob(struct db_stmt *st, int i, const void *v,
			size_t len)
{
	return sq_bind_rc(st, sqlite3_bind_blob(raw(st), i, v, (int)len,
						SQLITE_STATIC));
}

static int sq_step(struct db_stmt *st)
{
	int rc = sqlite3_step(raw(st));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		sqlite3_reset(raw(st));
		return DB_DONE;
	}
	rc = sq_fail(st->db);
	sqlite3_reset(raw(st));
	return rc;
}

static void sq_reset(struct db_stmt *st)
{
	sqlite3_reset(raw(st));
	sqlite3_clear_bindings(raw(st));
}

static bool sq_column_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(raw(st), col) == SQLITE_NULL;
}

static int64_t sq_column_i64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(raw(st), col);
}

static const void *sq_column_bytes(struct db_stmt *st, int col, size_t *len)
{
	const void *v;

	if (sqlite3_column_type(raw(st), col) == SQLITE_TEXT)
		v = sqlite3_column_text(raw(st), col);
	else
		v = sqlite3_column_blob(raw(st), col);
	*len = (size_t)sqlite3_column_bytes(raw(st), col);
	return v;
}

static int64_t sq_changes(struct db *db)
{
	return sqlite3_changes64(sq(db)->db);
}

static int sq_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(sq(db)->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	       DB_DONE : sq_fail(db);
}

static bool sq_in_transaction(const struct db *db)
{
	return !sqlite3_get_autocommit(((const struct sq_db *)db)->db);
}

static void sq_close(struct db *db)
{
	struct sq_db *d = sq(db);
	size_t i;

	for (i = 0; i < DB_STMT_MAX; i++)
		sqlite3_finalize(d->stmt[i].st);
	sqlite3_close(d->db);
	free(d);
}

static const struct db_ops sq_ops = {
	.prepare = sq_prepare,
	.bind_i64 = sq_bind_i64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.reset = sq_reset,
	.column_null = sq_column_null,
	.column_i64 = sq_column_i64,
	.column_bytes = sq_column_bytes,
	.changes = sq_changes,
	.exec = sq_exec,
	.in_transaction = sq_in_transaction,
	.close = sq_close,
};

int db_sqlite_open(struct db **db, const char *path, int busy_timeout_ms,
		   char *err, size_t err_size)
{
	struct sq_db *d;
	int fd;

	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, err_size, "out of memory");
		return DB_E_NOMEM;
	}
	d->base.ops = &sq_ops;
	d->base.kind = DB_SQLITE;
	/*
	 * It holds password hashes: create it private.  SQLite gives its
	 * -wal and -shm files the database file's mode.
	 */
	if (strcmp(path, ":memory:") && path[0]) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, err_size, "%s", strerror(errno));
			free(d);
			return DB_E_IO;
		}
		close(fd);
	}
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		int rc = d->db ? DB_E_IO : DB_E_NOMEM;

		snprintf(err, err_size, "%s", d->db ? sqlite3_errmsg(d->db) :
			 "out of memory");
		sqlite3_close(d->db);
		free(d);
		return rc;
	}
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, busy_timeout_ms);
	/* The file is not trusted to hold only what we wrote. */
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/*
	 * secure_delete: a replaced password hash is overwritten, not left
	 * in a free page (the WAL holds old pages only until they are
	 * checkpointed and the log reused).  synchronous=NORMAL is safe with
	 * WAL: a power cut may lose the last commits but corrupts nothing,
	 * and a login costs no fsync.
	 */
	if (sq_exec(&d->base, "PRAGMA foreign_keys = ON;"
			      "PRAGMA secure_delete = ON;"
			      "PRAGMA journal_mode = WAL;"
			      "PRAGMA synchronous = NORMAL")) {
		snprintf(err, err_size, "%s", d->base.error);
		sq_close(&d->base);
		return DB_E_IO;
	}
	*db = &d->base;
	return DB_DONE;
}
