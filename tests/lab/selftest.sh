#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The NAT lab (lab.sh) proves itself: two clients of each kind, natprobe.py
# (an RFC 5780 classifier) in each against natprobe's server in the
# internet namespace, then a hand-made UDP hole punch for all 15 unordered
# pairs of kinds.  A pair gets a direct path unless both ends map per
# destination (d) or one maps per destination and the other filters per
# address and port (b or g with d); those need a relay.  Then the kinds
# that are no NAT of their own: a network blocking UDP (h: no STUN answer,
# TCP gets out) and three hosts on one LAN (i1-i3).
#
#   a = none, b = cone-filtered, c = full-cone, d = symmetric,
#   g = double-nat (masquerade behind a carrier-grade masquerade)
#   clients a1 a2 b1 b2 c1 c2 d1 d2 g1 g2, each behind its own router
#   (topology in lab.sh), all using UDP port 51820 as shoal would
#   h1 behind a udp-blocked router
#   i1 (port 51820) behind a cone-filtered router, i2 (51821) and i3
#   (51820 again, after i1's probe) on the same LAN
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
. "$here/lab.sh"

PY=/usr/bin/python3
PROBE=$here/natprobe.py
PORT=51820
tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null; then
	ktap_plan 1
	ktap_skip "needs root and nft"
	ktap_finish
fi
ktap_plan 35

# ktap_run NAME CMD...: as ktap_check, but in this shell, so what CMD
# sets (the lab's variables, background jobs) stays.
ktap_run() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		ktap_ok "$name"
	else
		sed 's/^/# /' "$tmp/out"
		ktap_fail "$name"
		return 1
	fi
}

KINDS=(a b c d g)
build() {
	local k i
	lab_internet || return 1
	for k in "${KINDS[@]}"; do
		for i in 1 2; do
			lab_client "$k$i" "$k" "$PORT" || return 1
		done
	done
	lab_client h1 udp-blocked "$PORT" || return 1
	lab_client i1 cone-filtered "$PORT" || return 1
	lab_client i2 same:i1 $((PORT + 1)) || return 1
	lab_client i3 same:i1 "$PORT"
}
ktap_run "internet and 14 clients built" build ||
	{ echo "Bail out! cannot build the lab"; exit 1; }

start_server() {
	local i
	ip netns exec "$LAB_INET" "$PY" "$PROBE" server >"$tmp/server.log" 2>&1 &
	server_pid=$!
	for i in $(seq 50); do
		grep -q '^listening' "$tmp/server.log" && return 0
		sleep 0.1
	done
	cat "$tmp/server.log"
	return 1
}
ktap_run "natprobe server on 198.51.100.1/.2, ports 3478/3479" start_server

# lab_var NAME VAR: $LAB_<NAME>_<VAR>.
lab_var() { local v; v=LAB_$(echo "$1" | tr '[:lower:]' '[:upper:]')_$2; echo "${!v:-}"; }

# The classifications run at once: each waits out its timeouts alone.
# i3 comes after i1, from i1's port: its tuples clash with i1's entries.
probes=()
for x in "${KINDS[@]/%/1}" "${KINDS[@]/%/2}" h1 i1 i2; do
	lab_exec "$x" "$PY" "$PROBE" client --port "$(lab_var "$x" PORT)" \
		>"$tmp/probe-$x" 2>&1 &
	probes+=($!)
done
lab_exec h1 "$PY" "$PROBE" tcp >"$tmp/tcp-h1" 2>&1
wait "${probes[@]}"
lab_exec i3 "$PY" "$PROBE" client --port "$PORT" >"$tmp/probe-i3" 2>&1

# expect NAME PYTHON-CONDITION: the condition on the result r holds.
expect() {
	local name=$1 cond=$2
	"$PY" -c "
import json, sys
r = json.load(open(sys.argv[1]))
public, port = sys.argv[2], int(sys.argv[3])
EI, AD, APD = 'endpoint-independent', 'address-dependent', 'address-and-port-dependent'
sys.exit(0 if ($cond) else 1)" "$tmp/probe-$name" "$(lab_var "$name" PUBLIC)" \
		"$(lab_var "$name" PORT)"
}

for x in "${KINDS[@]/%/1}" "${KINDS[@]/%/2}" h1 i1 i2 i3; do
	sed "s/^/# $x: /" "$tmp/probe-$x"
done
sed "s/^/# h1 tcp: /" "$tmp/tcp-h1"
for i in 1 2; do
	ktap_check "a$i (none): EIM, EIF, the host's own address" expect "a$i" \
		"r['mapping'] == EI and r['filtering'] == EI and r['public_endpoint'] == '%s:%d' % (public, port)"
	ktap_check "b$i (cone-filtered): EIM, APDF, port kept" expect "b$i" \
		"r['mapping'] == EI and r['filtering'] == APD and r['public_endpoint'] == '%s:%d' % (public, port)"
	ktap_check "c$i (full-cone): EIM, EIF, port kept" expect "c$i" \
		"r['mapping'] == EI and r['filtering'] == EI and r['public_endpoint'] == '%s:%d' % (public, port)"
	ktap_check "d$i (symmetric): APDM, APDF" expect "d$i" \
		"r['mapping'] == APD and r['filtering'] == APD and r['public_endpoint'].startswith(public + ':')"
	ktap_check "g$i (double-nat): EIM, APDF, port kept through both" expect "g$i" \
		"r['mapping'] == EI and r['filtering'] == APD and r['public_endpoint'] == '%s:%d' % (public, port)"
done
ktap_check "h1 (udp-blocked): no STUN answer over UDP" expect h1 \
	"r.get('error', '').startswith('no answer')"
tcp_out() { "$PY" -c '
import json, sys
sys.exit(not json.load(open(sys.argv[1]))["tcp_mapped"].startswith(sys.argv[2] + ":"))' \
	"$tmp/tcp-h1" "$LAB_H1_PUBLIC"; }
ktap_check "h1 (udp-blocked): TCP gets out, masqueraded" tcp_out
ktap_check "i1 (cone-filtered, first on its LAN): EIM, APDF, port kept" expect i1 \
	"r['mapping'] == EI and r['filtering'] == APD and r['public_endpoint'] == '%s:%d' % (public, port)"
ktap_check "i2 (same LAN, its own port): EIM, APDF, port kept" expect i2 \
	"r['mapping'] == EI and r['filtering'] == APD and r['public_endpoint'] == '%s:%d' % (public, port)"
# Its first packet's tuple clashes with i1's entry: masquerade picks a
# random port, and then reuses that mapping for every destination.
ktap_check "i3 (same LAN, i1's port): EIM, APDF, another port" expect i3 \
	"r['mapping'] == EI and r['filtering'] == APD and r['public_endpoint'].startswith(public + ':') and r['public_endpoint'] != '%s:%d' % (public, port)"

# punch X Y: a hole punch between client X and client Y, each on its PORT.
# Prints "direct" if both directions carried packets, "relay" if not, and
# "error" if a side could not even reach the server (so a broken lab never
# passes for a pair that needs a relay).
punch() {
	local x=$1 y=$2 rx ry
	rm -f "$tmp/ep-$x" "$tmp/ep-$y"
	lab_exec "$x" "$PY" "$PROBE" punch --port "$(lab_var "$x" PORT)" \
		--me "$tmp/ep-$x" --peer "$tmp/ep-$y" >"$tmp/punch-$x" 2>&1 &
	lab_exec "$y" "$PY" "$PROBE" punch --port "$(lab_var "$y" PORT)" \
		--me "$tmp/ep-$y" --peer "$tmp/ep-$x" >"$tmp/punch-$y" 2>&1
	ry=$?
	wait $!
	rx=$?
	sed "s/^/# $x: /" "$tmp/punch-$x" >&2
	sed "s/^/# $y: /" "$tmp/punch-$y" >&2
	if [ "$rx$ry" = 00 ]; then echo direct
	elif [ "$rx" = 1 ] && [ "$ry" = 1 ]; then echo relay
	else echo error
	fi
}

# reflexive X Y: a note if a side got through only by answering where the
# peer's packets came from, not to the endpoint the server had mapped.
reflexive() {
	"$PY" -c '
import json, sys
for name in sys.argv[2:]:
    r = json.load(open("%s/punch-%s" % (sys.argv[1], name)))
    if r["peer_seen_from"] != r["peer_mapped"]:
        print(" (%s heard its peer from %s, not %s)"
              % (name, r["peer_seen_from"], r["peer_mapped"]), end="")
' "$tmp" "$1" "$2" 2>/dev/null
}

# The issue's matrix: only d-d, b-d and d-g need the relay.
relay_needed() { [ "$1$2" = dd ] || [ "$1$2" = bd ] || [ "$1$2" = dg ]; }

pairs() {
	local ks=("${KINDS[@]}") i j
	for ((i = 0; i < ${#ks[@]}; i++)); do
		for ((j = i; j < ${#ks[@]}; j++)); do
			echo "${ks[i]} ${ks[j]}"
		done
	done
}

while read -r x y; do
	# Same kind: the two clients of it; else the first of each.
	if [ "$x" = "$y" ]; then a=${x}1 b=${y}2; else a=${x}1 b=${y}1; fi
	got=$(punch "$a" "$b" 2>"$tmp/pair")
	if relay_needed "$x" "$y"; then want=relay; else want=direct; fi
	case $got in
	direct) echo "# $x-$y: direct path$(reflexive "$a" "$b")" ;;
	relay) echo "# $x-$y: no direct path (needs relay)" ;;
	*) echo "# $x-$y: the punch itself failed" ;;
	esac
	if [ "$got" = "$want" ]; then
		ktap_ok "pair $x-$y ($a, $b): $want as the matrix says"
	else
		sed 's/^/# /' "$tmp/pair"
		ktap_fail "pair $x-$y ($a, $b): $got, the matrix says $want"
	fi
done < <(pairs)

# Two hosts behind one router: the router does no hairpinning, so a punch
# to each other's public endpoint fails; their LAN addresses work.
got=$(punch i1 i2 2>"$tmp/pair")
if [ "$got" = relay ]; then
	ktap_ok "i1-i2 (one LAN): no path through the router's public address (no hairpin)"
else
	sed 's/^/# /' "$tmp/pair"
	ktap_fail "i1-i2 (one LAN): punch said $got, but the router does no hairpinning"
fi
ktap_check "i1-i2 (one LAN): reach each other on their LAN addresses" \
	lab_exec i1 ping -c1 -W2 -q "$LAB_I2_ADDR"

lab_gone() {
	local mine
	kill "$server_pid" 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	mine=$(ip netns list | grep -E -- "-$$( |$)")
	[ -z "$mine" ] || { echo "left behind: $mine"; return 1; }
}
ktap_run "lab_cleanup removes every namespace of the lab" lab_gone
ktap_finish
