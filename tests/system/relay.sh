#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Relay servers of their own (shoal-relay) in the NAT lab: two clients
# behind symmetric routers (d, e), which only a relay joins, with the
# tap datapath; shoal-relays in the lab's internet on addresses of their
# own, registered with the mediator's --relay-key.  The relayed pair must
# get the shoal-relay's endpoint, not the mediator's; keep pinging without
# a loss while the mediator is killed for 30 s; stay relayed after it
# comes back; and move to the other relay when its relay is killed.  A
# relay with an unknown key is refused.  (The built-in relay, with no
# shoal-relay registered, is nat_lab.sh's.)
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
PY=/usr/bin/python3
PORT=51800
CLIENTS="d e"
declare -A NICK=([d]=dave [e]=erin)
declare -A RELAY_ADDR=([1]=198.51.100.11 [2]=198.51.100.12 [3]=198.51.100.13)

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	[ -n "${RELAY_KEEP:-}" ] && cp -a "$tmp" "$RELAY_KEEP"
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 11

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" symmetric 51820 || { echo "Bail out! lab_client $x"; exit 1; }
done
for i in 1 2 3; do
	ip -n "$LAB_INET" addr add "${RELAY_ADDR[$i]}/24" dev internet
done

sh_() {
	local x=$1
	shift
	SHOAL_SOCKET=$tmp/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

peer_field() {
	sh_ "$1" status --json 2>/dev/null | $PY -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["nickname"] == sys.argv[1]:
        v = p[sys.argv[2]]
        print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3" 2>/dev/null
}

# wait_log FILE PATTERN [SECONDS]
wait_log() {
	local end=$((SECONDS + ${3:-10}))
	while [ $SECONDS -lt $end ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A relay's key: it makes one on first start and prints it.
declare -A RKEY RPID
for i in 1 2 3; do
	"$BIN/shoal-relay" --mediator 127.0.0.1:9 --mediator-key \
		"$(head -c32 /dev/urandom | base64)" --state-dir "$tmp/relay$i" \
		>"$tmp/relay$i.key" 2>/dev/null &
	wait_log "$tmp/relay$i.key" '^shoal-relay key ' 5
	kill $! 2>/dev/null
	wait $! 2>/dev/null
	RKEY[$i]=$(awk '/^shoal-relay key /{print $3}' "$tmp/relay$i.key")
done
ktap_check "shoal-relay makes a key (0600) and prints it" \
	sh -c "test -n '${RKEY[1]}' && test '${RKEY[1]}' != '${RKEY[2]}' &&
	       test \$(stat -c %a '$tmp/relay1/private.key') = 600"

mediator_start() {
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
		--listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
		--relay-key "${RKEY[1]}" --relay-key "${RKEY[2]}" \
		>>"$tmp/mediator.log" 2>&1 &
	med_pid=$!
	wait_log "$tmp/mediator.log" '^shoal login ' 5
}
mediator_start
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator.log" | awk '{print $4}')

relay_start() {
	local i=$1
	ip netns exec "$LAB_INET" "$BIN/shoal-relay" \
		--mediator "$LAB_MEDIATOR1:$PORT" --mediator-key "$MEDKEY" \
		--listen "${RELAY_ADDR[$i]}:51810" --ports 51810-51899 \
		--state-dir "$tmp/relay$i" >>"$tmp/relay$i.log" 2>&1 &
	RPID[$i]=$!
}
relay_start 1
ktap_check "relay 1 registers with the mediator" \
	wait_log "$tmp/mediator.log" "relay ${RKEY[1]}: registered" 10
relay_start 3
wait_log "$tmp/relay3.log" 'refused this relay' 10
ktap_check "a relay with an unknown key is refused" \
	grep -q "relay ${RKEY[3]}: refused" "$tmp/mediator.log"
kill "${RPID[3]}"

declare -A SD_PID V4
for x in $CLIENTS; do
	ns=LAB_${x^^}_NS
	ip netns exec "${!ns}" "$BIN/shoald" -i "sh$x" --port 51820 --datapath tap \
		--state-dir "$tmp/state-$x" --socket "$tmp/$x.sock" \
		--foreground --verbose >>"$tmp/shoald-$x.log" 2>&1 &
	SD_PID[$x]=$!
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && break
		sleep 0.1
	done
	out=$(sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" \
		--nick "${NICK[$x]}" --json 2>&1)
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
done
printf 'relay party\n' >"$tmp/pw"
sh_ d create relays --password-file "$tmp/pw" >/dev/null
sh_ e join relays --password-file "$tmp/pw" >/dev/null

# relayed_via X Y ADDR [SECONDS]: both sides on the relay at ADDR, pinging.
relayed_via() {
	local x=$1 y=$2 addr=$3 end=$((SECONDS + ${4:-30}))
	while [ $SECONDS -lt $end ]; do
		if [ "$(peer_field "$x" "${NICK[$y]}" path)" = relay ] &&
		   [ "$(peer_field "$y" "${NICK[$x]}" path)" = relay ] &&
		   peer_field "$x" "${NICK[$y]}" endpoint | grep -q "^$addr:" &&
		   peer_field "$y" "${NICK[$x]}" endpoint | grep -q "^$addr:" &&
		   lab_exec "$x" ping -c1 -W0.5 -q "${V4[$y]}" >/dev/null; then
			echo "# $x-$y: relay at $(peer_field "$x" "${NICK[$y]}" endpoint)"
			return 0
		fi
		sleep 0.2
	done
	echo "# $x-$y: $(peer_field "$x" "${NICK[$y]}" path) $(peer_field "$x" "${NICK[$y]}" endpoint) / $(peer_field "$y" "${NICK[$x]}" path) $(peer_field "$y" "${NICK[$x]}" endpoint), wanted relay at $addr"
	tail -n 8 "$tmp/shoald-$x.log" "$tmp/shoald-$y.log" | sed 's/^/#   /'
	return 1
}
ktap_check "d-e (symmetric / symmetric) is relayed through shoal-relay 1" \
	relayed_via d e "${RELAY_ADDR[1]}" 40

# The mediator is killed for 30 s while d pings e: nothing is lost.
lab_exec d ping -c 150 -i 0.2 -W1 "${V4[e]}" >"$tmp/ping-down" 2>&1 &
ping_pid=$!
sleep 0.5
kill -9 "$med_pid"
wait "$med_pid" 2>/dev/null
sleep 30
mediator_start
wait "$ping_pid"
echo "# $(grep 'packet loss' "$tmp/ping-down")"
ktap_check "with the mediator down for 30 s, the relayed pair loses no ping" \
	grep -q ' 0% packet loss' "$tmp/ping-down"
ktap_check "relay 1 registers again and reports its allocation" \
	wait_log "$tmp/relay1.log" 'registered with .*, 1 allocations held' 30
ktap_check "after the restart d-e stays relayed through relay 1 and pings" \
	relayed_via d e "${RELAY_ADDR[1]}" 20
lab_exec d ping -c 20 -i 0.2 -W1 -q "${V4[e]}" >"$tmp/ping-after" 2>&1
echo "# $(grep 'packet loss' "$tmp/ping-after")"
ktap_check "and loses nothing" grep -q ' 0% packet loss' "$tmp/ping-after"

# A relay's pairs move when both sides are logged in (the mediator tells
# them): wait for both to be back (their reconnect backoff).
logged_in_all() {
	local x
	for x in $CLIENTS; do
		sh_ "$x" status --json | $PY -c '
import json, sys
assert json.load(sys.stdin)["mediator"]["logged_in"]' || return 1
	done
}
for _ in $(seq 1000); do
	logged_in_all 2>/dev/null && break
	sleep 0.1
done
sleep 1

# A second relay; the first dies: its pair moves within seconds.
relay_start 2
wait_log "$tmp/mediator.log" "relay ${RKEY[2]}: registered" 20
t0=$SECONDS
kill -9 "${RPID[1]}"
ktap_check "relay 1 killed: d-e moves to relay 2 and pings" \
	relayed_via d e "${RELAY_ADDR[2]}" 20
echo "# moved in $((SECONDS - t0)) s"
grep -q "relay ${RKEY[1]}: gone; its pairs move" "$tmp/mediator.log"
ktap_check "the mediator saw relay 1 go" test $? = 0
lab_exec d ping -c 20 -i 0.2 -W1 -q "${V4[e]}" >"$tmp/ping-moved" 2>&1
echo "# $(grep 'packet loss' "$tmp/ping-moved")"
ktap_check "on relay 2 nothing is lost" grep -q ' 0% packet loss' "$tmp/ping-moved"
grep -h 'relay' "$tmp/mediator.log" | sed 's/^/# mediator: /' | tail -n 12
ktap_finish
