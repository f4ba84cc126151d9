#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The mediator's API suite (system/mediator_api) again, every server on
# PostgreSQL (--database postgresql://...) instead of its SQLite file: a
# real server from tests/common/pg.sh, its database emptied before each
# test; and one test more, database_blink: PostgreSQL stopped for 10 s
# under logged-in clients.  Skipped, saying why, only when PostgreSQL's server programs are
# not installed (scripts/deps installs them).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/lib.sh"
. "$top/tests/common/pg.sh"

api=${SHOAL_BIN:-$top/build/san/bin}/../tests/mediator_api
if ! pg_available; then
	echo "TAP version 13"
	echo "1..0 # SKIP no PostgreSQL server programs in ${PG_BINDIR:-/usr/lib/postgresql/*/bin}"
	exit $KSFT_SKIP
fi
work=$(mktemp -d /tmp/mediator_api_pg.XXXXXX)
chmod 0711 "$work"
cleanup() {
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
if ! pg_start "$work/pg" >"$work/start.log" 2>&1; then
	echo "TAP version 13"
	echo "1..1"
	sed 's/^/# /' "$work/start.log"
	echo "not ok 1 PostgreSQL starts"
	exit 1
fi
cat >"$work/reset" <<RESET
#!/bin/bash
. "$top/tests/common/pg.sh"
pg_sql "DROP DATABASE IF EXISTS shoal WITH (FORCE)" >/dev/null &&
	pg_sql "CREATE DATABASE shoal OWNER shoal" >/dev/null
RESET
cat >"$work/stop" <<STOP
#!/bin/bash
. "$top/tests/common/pg.sh"
pg_stop
STOP
cat >"$work/start" <<START
#!/bin/bash
. "$top/tests/common/pg.sh"
pg_start "\$PG_DIR" "\$PG_ADDR" "\$PG_PORT" >/dev/null
START
chmod 0755 "$work/reset" "$work/stop" "$work/start"
# Its Unix socket: one test runs the server in a network namespace of
# its own, where the loopback address is another.
url="postgresql://shoal@/shoal?host=$PG_DIR&port=$PG_PORT"
echo "# PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') at $url"
cd "$top" &&
	SHOAL_TEST_DATABASE=$url SHOAL_TEST_DB_RESET=$work/reset \
	SHOAL_TEST_DB_STOP=$work/stop SHOAL_TEST_DB_START=$work/start "$api"
