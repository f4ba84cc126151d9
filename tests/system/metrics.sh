#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# --metrics of shoal-mediator and shoal-relay, scraped while the NAT lab
# runs: a mediator with a registered shoal-relay, clients d and e behind
# symmetric routers (relayed through the shoal-relay), a on a public
# address.  Every scrape must parse as Prometheus' text format 0.0.4
# (tests/common/promcheck.py); the counters must move with what happens:
# logins, a login refused for a taken nickname (reason nick_taken), the
# clients online, the password jobs, the relay's allocation and its
# bytes while a relayed ping runs.  Then the refusals (404, 405, 400,
# 431) and the bounds: 20 connections that never send a request do not
# keep a 21st scrape from being answered, and are closed by the
# deadline.  Last, the relay stops: the pair moves to the mediator's
# built-in relay, whose bytes the mediator counts.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/shoal.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
PY=/usr/bin/python3
CHECK="$PY $(cd "$(dirname "$0")/../common" && pwd)/promcheck.py"
PORT=51800
MED_METRICS=9100
RELAY_METRICS=9101
RELAY_ADDR=198.51.100.11
CLIENTS="a d e"
declare -A KIND=([a]=none [d]=symmetric [e]=symmetric)
declare -A NICK=([a]=alice [d]=dave [e]=erin)

TMP_DIR=$(mktemp -d)
tmp=$TMP_DIR
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 19

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" "${KIND[$x]}" 51820 || { echo "Bail out! lab_client $x"; exit 1; }
done
ip -n "$LAB_INET" addr add "$RELAY_ADDR/24" dev internet

# scrape NAME PORT: the samples in $tmp/NAME (the last scrape of it),
# the format checked; fails if it does not parse.
scrape() {
	ip netns exec "$LAB_INET" $CHECK get 127.0.0.1 "$2" >"$tmp/scrape-$1" 2>&1 &&
		[ "$(head -n1 "$tmp/scrape-$1")" = 200 ] ||
		{ sed 's/^/# /' "$tmp/scrape-$1"; return 1; }
}
# val NAME SAMPLE: its value in the last scrape of NAME.
val() {
	awk -v k="$2" '$1 == k { print $2 }' "$tmp/scrape-$1"
}
# is NAME SAMPLE VALUE, after a fresh scrape of the mediator or relay.
is() {
	local port=$MED_METRICS got
	[ "$1" = relay ] && port=$RELAY_METRICS
	scrape "$1" "$port" || return 1
	got=$(val "$1" "$2")
	[ "$got" = "$3" ] || { echo "# $2 is '$got', not '$3'"; return 1; }
}
# wait_is NAME SAMPLE VALUE [SECONDS]
wait_is() {
	local end=$((SECONDS + ${4:-10}))
	while [ $SECONDS -lt $end ]; do
		is "$1" "$2" "$3" >/dev/null && return 0
		sleep 0.3
	done
	is "$1" "$2" "$3"
}

# The relay's key: it makes one on first start and prints it.
"$BIN/shoal-relay" --mediator 127.0.0.1:9 --mediator-key \
	"$(head -c32 /dev/urandom | base64)" --state-dir "$tmp/relay" \
	>"$tmp/relay.key" 2>/dev/null &
for _ in $(seq 50); do
	grep -qs '^shoal-relay key ' "$tmp/relay.key" && break
	sleep 0.1
done
kill $! 2>/dev/null
wait $! 2>/dev/null
RKEY=$(awk '/^shoal-relay key /{print $3}' "$tmp/relay.key")

# all CMD...: each command in turn, stopping at the first that fails.
all() {
	local c
	for c in "$@"; do
		eval "$c" || return 1
	done
}

# 1: the mediator serves its metrics, as the format says.
lab_mediator_start --listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
	--relay-key "$RKEY" --metrics "127.0.0.1:$MED_METRICS"
ktap_check "the mediator's /metrics parses; nobody online, no instance label" \
	all "is med shoal_mediator_clients_online 0" \
	    "! grep -q 'instance=' '$tmp/scrape-med'"

# 2: the shoal-relay's, once it is registered.
ip netns exec "$LAB_INET" "$BIN/shoal-relay" \
	--mediator "$LAB_MEDIATOR1:$PORT" --mediator-key "$LAB_MED_KEY" \
	--listen "$RELAY_ADDR:51810" --ports 51810-51899 \
	--state-dir "$tmp/relay" --metrics "127.0.0.1:$RELAY_METRICS" \
	>>"$tmp/relay.log" 2>&1 &
RELAY_PID=$!
ktap_check "the relay's /metrics parses; it says it is registered, and the mediator counts it" \
	all "wait_is relay shoal_relay_mediator_connected 1 15" \
	    "is med shoal_mediator_relay_servers 1"

# 3-5: logins, counted; a taken nickname, refused and counted.
declare -A V4
for x in d e; do
	lab_shoald_start "$x" tap
	out=$(lab_sh "$x" login "$LAB_MEDIATOR1:$PORT" "$LAB_MED_KEY" \
		--nick "${NICK[$x]}" --json 2>&1)
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
done
ktap_check "two logins: logins_total 2, clients_online 2" \
	all "is med shoal_mediator_logins_total 2" \
	    "is med shoal_mediator_clients_online 2" \
	    "wait_is med shoal_mediator_clients_known 2 5"
lab_shoald_start a tap
lab_sh a login "$LAB_MEDIATOR1:$PORT" "$LAB_MED_KEY" --nick dave >/dev/null 2>&1
ktap_check "a login with a taken nickname: refusals{reason=\"nick_taken\"} 1, logins_total still 2" \
	all "is med 'shoal_mediator_login_refusals_total{reason=\"nick_taken\"}' 1" \
	    "is med 'shoal_mediator_login_refusals_total{reason=\"bad_nick\"}' 0" \
	    "is med shoal_mediator_logins_total 2"
lab_sh a login "$LAB_MEDIATOR1:$PORT" "$LAB_MED_KEY" --nick alice >/dev/null 2>&1
ktap_check "then a logs in as alice: logins_total 3, clients_online 3" \
	all "is med shoal_mediator_logins_total 3" \
	    "is med shoal_mediator_clients_online 3"

# 6: a network with a password: two Argon2id jobs (the hash, the check).
printf 'counted\n' >"$tmp/pw"
lab_sh d create metered --password-file "$tmp/pw" >/dev/null
lab_sh e join metered --password-file "$tmp/pw" >/dev/null
ktap_check "create and join with a password: networks 1, pwhash_jobs_done_total 2, none waiting" \
	all "wait_is med shoal_mediator_networks 1 5" \
	    "is med shoal_mediator_pwhash_jobs_done_total 2" \
	    "is med shoal_mediator_pwhash_jobs_waiting 0"

# 7-8: d and e behind symmetric NATs go through the shoal-relay.
relayed=0
for _ in $(seq 150); do
	if [ "$(lab_peer_field d erin path)" = relay ] &&
	   lab_exec d ping -c1 -W0.5 -q "${V4[e]}" >/dev/null 2>&1; then
		relayed=1
		break
	fi
	sleep 0.2
done
ktap_check "d-e relayed: one allocation on the relay, counted remote by the mediator" \
	all "[ $relayed = 1 ]" "is relay shoal_relay_allocations 1" \
	    "is med 'shoal_mediator_relay_allocations{relay=\"remote\"}' 1" \
	    "is med 'shoal_mediator_relay_allocations{relay=\"builtin\"}' 0"
scrape relay $RELAY_METRICS
b0=$(val relay shoal_relay_relayed_bytes_total)
p0=$(val relay shoal_relay_relayed_packets_total)
lab_exec d ping -c 20 -i 0.2 -q "${V4[e]}" >"$tmp/ping" 2>&1
scrape relay $RELAY_METRICS
b1=$(val relay shoal_relay_relayed_bytes_total)
p1=$(val relay shoal_relay_relayed_packets_total)
echo "# relayed bytes $b0 -> $b1, packets $p0 -> $p1 for 20 pings"
ktap_check "a relayed ping of 20: the relay's bytes and packets grow by at least 40 datagrams' worth" \
	all "grep -q ' 0% packet loss' '$tmp/ping'" \
	    "[ $((${p1:-0} - ${p0:-0})) -ge 40 ]" \
	    "[ $((${b1:-0} - ${b0:-0})) -ge $((40 * 84)) ]"

# 9-12: the refusals, on both servers.
code() {
	ip netns exec "$LAB_INET" $CHECK "$@" 2>&1 | head -n1
}
hex() {
	printf "$@" | od -An -v -tx1 | tr -d ' \n'
}
ktap_check "GET of another path: 404 (mediator and relay)" \
	all "[ \"\$(code get 127.0.0.1 $MED_METRICS /)\" = 404 ]" \
	    "[ \"\$(code get 127.0.0.1 $RELAY_METRICS /metricsx)\" = 404 ]"
ktap_check "POST /metrics: 405" \
	test "$(code get 127.0.0.1 $MED_METRICS /metrics POST)" = 405
ktap_check "garbage, and a TLS hello: 400" \
	all "[ \"\$(code raw 127.0.0.1 $MED_METRICS $(hex 'hello there\r\n\r\n'))\" = 400 ]" \
	    "[ \"\$(code raw 127.0.0.1 $RELAY_METRICS 16030100a5010000a10303)\" = 400 ]"
ktap_check "a request over 4 KiB: 431" \
	test "$(code raw 127.0.0.1 $MED_METRICS \
		"$(hex 'GET /metrics HTTP/1.1\r\nX: %05000d\r\n\r\n' 0)")" = 431

# 13-14: 20 connections that say nothing, then a scrape.
ip netns exec "$LAB_INET" $CHECK slow 127.0.0.1 $MED_METRICS 20 >"$tmp/slow" 2>&1
sed 's/^/# /' "$tmp/slow"
ktap_check "20 silent connections: a 21st scrape is answered within 2 s" \
	awk '/^answered/ { ok = $2 < 2 } END { exit !ok }' "$tmp/slow"
ktap_check "the silent connections are closed (a new one's slot, or the 5 s deadline)" \
	awk '/^closed/ { ok = $2 == 20 && $3 < 9 } END { exit !ok }' "$tmp/slow"

# 15: database time, memory and start time are there.
scrape med $MED_METRICS
ktap_check "database calls timed, resident memory and start time given" \
	all "[ '$(val med shoal_mediator_db_seconds_count)' -gt 0 ]" \
	    "[ '$(val med shoal_mediator_resident_memory_bytes)' -gt 1000000 ]" \
	    "$PY -c 'import sys, time; t = float(sys.argv[1]); assert time.time() - 3600 < t <= time.time()' '$(val med shoal_mediator_start_time_seconds)'"

# 16: a's shoald goes: one client fewer online.
kill "${LAB_SD_PID[a]}"
ktap_check "a's shoald stops: clients_online 2" \
	wait_is med shoal_mediator_clients_online 2 10

# 17-18: the relay goes; d-e moves to the mediator's built-in relay,
# whose bytes count there.
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
ktap_check "the shoal-relay gone: relay_servers 0, d-e on the built-in relay" \
	all "wait_is med 'shoal_mediator_relay_allocations{relay=\"builtin\"}' 1 30" \
	    "is med shoal_mediator_relay_servers 0" \
	    "is med 'shoal_mediator_relay_allocations{relay=\"remote\"}' 0"
for _ in $(seq 50); do
	lab_exec d ping -c1 -W0.5 -q "${V4[e]}" >/dev/null 2>&1 && break
	sleep 0.2
done
scrape med $MED_METRICS
b0=$(val med shoal_mediator_relayed_bytes_total)
lab_exec d ping -c 20 -i 0.2 -q "${V4[e]}" >"$tmp/ping" 2>&1
scrape med $MED_METRICS
b1=$(val med shoal_mediator_relayed_bytes_total)
echo "# the mediator's relayed bytes $b0 -> $b1 for 20 pings"
ktap_check "a ping of 20 through the built-in relay: the mediator's relayed bytes grow" \
	all "grep -q ' 0% packet loss' '$tmp/ping'" \
	    "[ $((${b1:-0} - ${b0:-0})) -ge $((40 * 84)) ]"

# 19: both stopped cleanly (their metrics servers freed), without a report.
kill "$LAB_MED_PID"
wait "$LAB_MED_PID" 2>/dev/null
ktap_check "the mediator and the relay stop; no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
ktap_finish
