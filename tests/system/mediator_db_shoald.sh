#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald and `shoal login` while the mediator's PostgreSQL is down: in a
# network namespace of its own, shoal-mediator on loopback with
# --database (PostgreSQL's Unix socket), shoald "a" logged in, and shoald
# "b" not yet.  PostgreSQL stops for 8 s: `shoal login` on b fails with
# the mediator's words ("the database is unavailable; try again later"),
# a stays logged in; once PostgreSQL is back, b logs in by itself
# (shoald retries a login refused with -109 with its backoff) and a is
# still logged in.  Skipped, saying why, without PostgreSQL's server
# programs, root or /dev/net/tun.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/lib.sh"
. "$top/tests/common/pg.sh"

BIN=${SHOAL_BIN:-$top/build/san/bin}
PY=/usr/bin/python3
PORT=51800
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! pg_available; then
	ktap_plan 1
	ktap_skip "needs root, /dev/net/tun and PostgreSQL's server programs"
	ktap_finish
fi
work=$(mktemp -d /tmp/mediator_db_shoald.XXXXXX)
chmod 0711 "$work"
ns=$(netns_name dbs)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pg_stop
	netns_cleanup
	rm -rf "$work"
}
trap cleanup EXIT
ktap_plan 6
netns_add "$ns" || { echo "Bail out! no namespace"; exit 1; }
ip -n "$ns" link set lo up
pg_start "$work/pg" >"$work/pg.log" 2>&1 ||
	{ sed 's/^/# /' "$work/pg.log"; echo "Bail out! PostgreSQL"; exit 1; }
url="postgresql://shoal@/shoal?host=$PG_DIR&port=$PG_PORT"

ip netns exec "$ns" "$BIN/shoal-mediator" --state-dir "$work/med" \
	--database "$url" --listen "127.0.0.1:$PORT" >"$work/mediator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	grep -q '^shoal login ' "$work/mediator.log" && break
	sleep 0.1
done
key=$(grep -m1 '^shoal login ' "$work/mediator.log" | awk '{print $4}')
for d in a b; do
	ip netns exec "$ns" "$BIN/shoald" -i "shoal$d" --foreground \
		--datapath tap --state-dir "$work/$d" \
		--socket "$work/$d.sock" >"$work/shoald-$d.log" 2>&1 &
	pids+=($!)
done
for _ in $(seq 100); do
	[ -S "$work/a.sock" ] && [ -S "$work/b.sock" ] && break
	sleep 0.1
done

# logged_in D: shoald D's status says it is logged in.
logged_in() {
	"$BIN/shoal" status --json --socket "$work/$1.sock" 2>/dev/null |
		$PY -c 'import json, sys
m = json.load(sys.stdin)["mediator"]
sys.exit(0 if m and m.get("logged_in") else 1)'
}

ktap_check "a logs in" setsid -w "$BIN/shoal" login "127.0.0.1:$PORT" "$key" \
	--nick alice --socket "$work/a.sock"
pg_stop
refused() {
	local out rc=0
	out=$(setsid -w "$BIN/shoal" login "127.0.0.1:$PORT" "$key" \
		--nick bob --socket "$work/b.sock" 2>&1) || rc=$?
	echo "# exit $rc: $out"
	[ "$rc" != 0 ] &&
		grep -q "the database is unavailable; try again later" <<<"$out"
}
ktap_check "while PostgreSQL is down, shoal login says why it failed" refused
sleep 8
ktap_check "a stayed logged in" logged_in a
pg_start "$PG_DIR" "$PG_ADDR" "$PG_PORT" >/dev/null
b_back() {
	local i
	for i in $(seq 300); do
		logged_in b && { echo "# b logged in ${i}00 ms after"; return 0; }
		sleep 0.1
	done
	tail -5 "$work/shoald-b.log" | sed 's/^/# /'
	return 1
}
ktap_check "b logs in by itself once PostgreSQL is back" b_back
ktap_check "a is still logged in" logged_in a
no_sanitizer() {
	! grep -E 'Sanitizer|runtime error' "$work"/*.log
}
ktap_check "no sanitizer report" no_sanitizer
ktap_finish
