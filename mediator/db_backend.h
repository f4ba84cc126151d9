/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_DB_BACKEND_H
#define SHOAL_DB_BACKEND_H

/* What db.c dispatches to: db_sqlite.c and db_pg.c. */

#include "db.h"

struct db_ops {
	struct db_stmt *(*prepare)(struct db *db, unsigned int id,
				   const char *sql);
	int (*bind_i64)(struct db_stmt *st, int i, int64_t v);
	int (*bind_text)(struct db_stmt *st, int i, const char *v);
	int (*bind_blob)(struct db_stmt *st, int i, const void *v,
			 size_t len);
	int (*step)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	bool (*column_null)(struct db_stmt *st, int col);
	int64_t (*column_i64)(struct db_stmt *st, int col);
	const void *(*column_bytes)(struct db_stmt *st, int col, size_t *len);
	int64_t (*changes)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	bool (*in_transaction)(const struct db *db);
	void (*close)(struct db *db);
};

/* The part every backend's connection and statement start with. */
struct db {
	const struct db_ops *ops;
	enum db_kind kind;
	bool begun;		/* a transaction mstore opened */
	char error[256];
	uint64_t count, total_ns, max_ns;
};

struct db_stmt {
	struct db *db;
	bool running;		/* stepped since the last reset */
};

int db_sqlite_open(struct db **db, const char *path, int busy_timeout_ms,
		   char *err, size_t err_size);
int db_pg_open(struct db **db, const char *url, char *err, size_t err_size);

/* Keeps msg as the connection's error message; returns rc. */
int db_fail(struct db *db, int rc, const char *msg);

#endif
