# SPDX-License-Identifier: GPL-2.0
# For a suite that runs a C test program against PostgreSQL
# (system/mediator_api_pg.sh, system/mstore_pg.sh): source it after
# lib.sh and pg.sh, then
#
#   pg_suite_start      skips the suite (exit 4, saying why) without
#                       PostgreSQL's server programs; starts one in a
#                       directory of its own (stopped and removed at
#                       exit) and exports SHOAL_TEST_DATABASE (its Unix
#                       socket's URL), SHOAL_TEST_DB_RESET (a command
#                       that empties the database), SHOAL_TEST_DB_STOP
#                       and SHOAL_TEST_DB_START.

pg_suite_start() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	if ! pg_available; then
		echo "TAP version 13"
		echo "1..0 # SKIP no PostgreSQL server programs in ${PG_BINDIR:-/usr/lib/postgresql/*/bin}"
		exit "$KSFT_SKIP"
	fi
	PG_SUITE_DIR=$(mktemp -d /tmp/shoal-pg.XXXXXX)
	chmod 0711 "$PG_SUITE_DIR"
	trap 'pg_stop; rm -rf "$PG_SUITE_DIR"' EXIT
	if ! pg_start "$PG_SUITE_DIR/pg" >"$PG_SUITE_DIR/start.log" 2>&1; then
		echo "TAP version 13"
		echo "1..1"
		sed 's/^/# /' "$PG_SUITE_DIR/start.log"
		echo "not ok 1 PostgreSQL starts"
		exit 1
	fi
	cat >"$PG_SUITE_DIR/reset" <<-RESET
		#!/bin/bash
		. "$top/tests/common/pg.sh"
		pg_sql "DROP DATABASE IF EXISTS shoal WITH (FORCE)" >/dev/null &&
			pg_sql "CREATE DATABASE shoal OWNER shoal" >/dev/null
	RESET
	cat >"$PG_SUITE_DIR/stop" <<-STOP
		#!/bin/bash
		. "$top/tests/common/pg.sh"
		pg_stop
	STOP
	cat >"$PG_SUITE_DIR/start" <<-START
		#!/bin/bash
		. "$top/tests/common/pg.sh"
		pg_start "\$PG_DIR" "\$PG_ADDR" "\$PG_PORT" >/dev/null
	START
	chmod 0755 "$PG_SUITE_DIR/reset" "$PG_SUITE_DIR/stop" \
		"$PG_SUITE_DIR/start"
	# The Unix socket: a test may run its server in a network
	# namespace of its own, where the loopback address is another.
	export SHOAL_TEST_DATABASE="postgresql://shoal@/shoal?host=$PG_DIR&port=$PG_PORT"
	export SHOAL_TEST_DB_RESET=$PG_SUITE_DIR/reset
	export SHOAL_TEST_DB_STOP=$PG_SUITE_DIR/stop
	export SHOAL_TEST_DB_START=$PG_SUITE_DIR/start
	echo "# PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') at $SHOAL_TEST_DATABASE"
}
