/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MSCHEMA_H
#define SHOAL_MSCHEMA_H

/*
 * mstore's schema and its migrations, for both backends.  SQLite keeps
 * the version in PRAGMA user_version (as schema 1 and 2 did), PostgreSQL
 * in the one row of table schema_version.
 */

#include <stddef.h>

#include "db.h"

/* db_prepare ids of mschema's own statements: mstore's are below. */
#define MSCHEMA_STMT_FIRST 56

/*
 * The database's schema version, in a transaction the caller holds: 0 for
 * an empty database.  MSTORE_OK, MSTORE_E_SCHEMA (not a shoal-mediator
 * database; err says so) or a database error.
 */
int mschema_version(struct db *db, int *version, char *err, size_t err_size);

/*
 * Creates the schema of an empty database or migrates an older one to
 * MSTORE_SCHEMA_VERSION, in a transaction the caller holds; *from is the
 * version found (0: it was empty).  Refuses a newer or unknown schema
 * with MSTORE_E_SCHEMA and err.  PostgreSQL: an advisory lock makes
 * instances starting at once take turns.
 */
int mschema_apply(struct db *db, int *from, char *err, size_t err_size);

#endif
