#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoal-mediator's database for operators: `migrate` and `check` on
# SQLite and PostgreSQL, a schema 2 SQLite file (tests/system/data/
# mediator_v2.sql, as shoal-mediator made it before schema 3) migrated
# in place keeping its clients, networks and next address, databases
# that are newer or not ours refused, and --database URLs that are bad
# or carry a password (never shown).  The PostgreSQL part skips, saying
# why, without PostgreSQL's server programs.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/lib.sh"
. "$top/tests/common/pg.sh"

MED=${SHOAL_BIN:-$top/build/san/bin}/shoal-mediator
PY=/usr/bin/python3
work=$(mktemp -d /tmp/mediator_db.XXXXXX)
chmod 0711 "$work"
cleanup() {
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT

# sql FILE SQL: the first column of the first row (python's sqlite3: no
# sqlite3 program needed).
sql() {
	"$PY" -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print("" if r is None else r[0])' "$1" "$2"
}

# med ARGS...: shoal-mediator's output (both streams) and "rc=N" last.
med() {
	local rc=0
	"$MED" "$@" 2>&1 || rc=$?
	echo "rc=$rc"
}

sqlite_v2_migrates() {
	local db=$work/v2/mediator.db out port pid i
	mkdir -p "$work/v2"
	"$PY" -c 'import sqlite3, sys
sqlite3.connect(sys.argv[1]).executescript(open(sys.argv[2]).read())' \
		"$db" "$top/tests/system/data/mediator_v2.sql" || return 1
	out=$(med --state-dir "$work/v2" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "schema version 2: behind" &&
		echo "$out" | grep -qx "rc=0" || return 1
	out=$(med --database "sqlite:$db" migrate)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "schema version 2 -> 3" &&
		echo "$out" | grep -qx "rc=0" || return 1
	[ "$(sql "$db" "PRAGMA user_version")" = 3 ] || return 1
	[ "$(sql "$db" "SELECT count(*) FROM clients")" = 2 ] || return 1
	[ "$(sql "$db" "SELECT owner_id FROM networks WHERE name = 'Lan'")" = 1 ] || return 1
	# 100.64.0.3: where allocation was.
	[ "$(sql "$db" "SELECT next FROM ipv4_alloc")" = 1681915907 ] || return 1
	[ "$(sql "$db" "SELECT count(*) FROM meta WHERE key LIKE 'ipv4_%'")" = 0 ] || return 1
	out=$(med --state-dir "$work/v2" check)
	echo "$out" | grep -q "schema version 3: current" || return 1
	# And the server runs on it.
	port=$(pg_free_port)
	"$MED" --state-dir "$work/v2" --listen "127.0.0.1:$port" \
		>"$work/v2/out" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		grep -q "shoal login" "$work/v2/out" && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid"
	grep -q "shoal login 127.0.0.1:$port" "$work/v2/out"
}

sqlite_refusals() {
	local out
	mkdir -p "$work/new"
	# No file yet: check says so, and makes none.
	out=$(med --state-dir "$work/new" check)
	echo "$out" | grep -q "no database" && echo "$out" | grep -qx "rc=1" &&
		[ ! -e "$work/new/mediator.db" ] || return 1
	out=$(med --state-dir "$work/new" migrate)
	echo "$out" | grep -q "schema version 0 -> 3" || return 1
	"$PY" -c 'import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version = 99")' \
		"$work/new/mediator.db"
	out=$(med --state-dir "$work/new" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q ": ahead (this shoal-mediator knows 3)" &&
		echo "$out" | grep -qx "rc=1" || return 1
	out=$(med --state-dir "$work/new" migrate)
	echo "$out" | grep -qx "rc=1" || return 1
	"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE t (x)"); c.commit()' \
		"$work/other.db"
	out=$(med --database "sqlite:$work/other.db" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "not a shoal-mediator database" &&
		echo "$out" | grep -qx "rc=1"
}

bad_urls() {
	local out
	out=$(med --database "mysql://u:hunter2@h/d" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "unknown database URL scheme" &&
		echo "$out" | grep -qx "rc=2" || return 1
	! echo "$out" | grep -q hunter2 || return 1
	out=$(med --database "sqlite:" check)
	echo "$out" | grep -qx "rc=2" || return 1
	out=$(med --database "" check)
	echo "$out" | grep -qx "rc=2" || return 1
	# Nobody listens there: a clear failure, the password masked.
	out=$(med --database "postgresql://shoal:hunter2@127.0.0.1:1/shoal" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q 'postgresql://shoal:\*\*\*@127.0.0.1:1/shoal' &&
		echo "$out" | grep -qx "rc=1" || return 1
	! echo "$out" | grep -q hunter2
}

pg_migrate_check() {
	local out url
	url="postgresql://shoal@/shoal?host=$PG_DIR&port=$PG_PORT"
	out=$(med --database "$url" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "empty" && echo "$out" | grep -qx "rc=0" || return 1
	out=$(med --database "$url" migrate)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "schema version 0 -> 3" || return 1
	out=$(med --database "$url" migrate)
	echo "$out" | grep -q "schema version 3 -> 3" || return 1
	out=$(med --database "$url" check)
	echo "$out" | grep -q "schema version 3: current" &&
		echo "$out" | grep -qx "rc=0" || return 1
	PG_DB=shoal pg_sql "UPDATE schema_version SET version = 4" >/dev/null
	out=$(med --database "$url" check)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q ": ahead (this shoal-mediator knows 3)" &&
		echo "$out" | grep -qx "rc=1" || return 1
	PG_DB=shoal pg_sql "DROP TABLE schema_version" >/dev/null
	out=$(med --database "$url" check)
	echo "$out" | grep -q "not a shoal-mediator database" &&
		echo "$out" | grep -qx "rc=1"
}

ktap_plan 4
ktap_check "a schema 2 SQLite file migrates in place" sqlite_v2_migrates
ktap_check "check and migrate refuse what they cannot use" sqlite_refusals
ktap_check "bad --database URLs; passwords never shown" bad_urls
if ! pg_available; then
	ktap_skip "migrate and check on PostgreSQL: no server programs in ${PG_BINDIR:-/usr/lib/postgresql/*/bin}"
elif ! pg_start "$work/pg" >"$work/pg.log" 2>&1; then
	sed 's/^/# /' "$work/pg.log"
	ktap_fail "migrate and check on PostgreSQL: it does not start"
else
	ktap_check "migrate and check on PostgreSQL" pg_migrate_check
fi
ktap_finish
