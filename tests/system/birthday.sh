#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Birthday probing and the no-wait rule in the NAT lab (tests/lab/lab.sh),
# with the TAP datapath: b is cone-filtered (endpoint-independent
# mapping, address-and-port-dependent filtering), d and e symmetric.
#   - the probes are bounded: with d's router dropping everything from
#     b, b probes for 20 s at 200 a second and then stops (counted by an
#     nft counter on b's router), and b-d ends up relayed;
#   - b-e goes direct through birthday probing within 20 s of e's join;
#   - d-e (symmetric against symmetric) is relayed at once, not after
#     the 5 s punching is given elsewhere;
#   - relayed b-d goes direct once d's router lets b in again: birthday
#     probing is tried again with the once-a-minute direct try.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
PY=/usr/bin/python3
PORT=51800
CLIENTS="b d e"
declare -A NICK=([b]=bob [d]=dave [e]=erin)
# docs/protocol.md, "Birthday probing".
PROBE_RATE=200
PROBE_TIME=20

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 7

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
lab_client b cone-filtered 51820 || { echo "Bail out! lab_client b"; exit 1; }
lab_client d symmetric 51820 || { echo "Bail out! lab_client d"; exit 1; }
lab_client e symmetric 51820 || { echo "Bail out! lab_client e"; exit 1; }

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

ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
	--listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
	>>"$tmp/mediator.log" 2>&1 &
for _ in $(seq 50); do
	grep -q '^shoal login ' "$tmp/mediator.log" 2>/dev/null && break
	sleep 0.1
done
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator.log" | awk '{print $4}')

declare -A V4
for x in $CLIENTS; do
	ns=LAB_${x^^}_NS
	ip netns exec "${!ns}" "$BIN/shoald" -i "sh$x" --port 51820 --datapath tap \
		--state-dir "$tmp/state-$x" --socket "$tmp/$x.sock" \
		--foreground --verbose >>"$tmp/shoald-$x.log" 2>&1 &
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && break
		sleep 0.1
	done
	out=$(sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick "${NICK[$x]}" --json 2>&1)
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
done
# Each login's own netcheck: the mediator knows every NAT before the joins.
for x in $CLIENTS; do
	echo "# $x netcheck: $(sh_ "$x" netcheck --json 2>&1)"
done
ktap_check "b, d and e log in" test -n "${V4[b]}" -a -n "${V4[d]}" -a -n "${V4[e]}"

# path_within X Y PATH SECONDS: both sides say PATH and a ping answers.
path_within() {
	local x=$1 y=$2 want=$3 end
	end=$(echo "$(date +%s.%N) + $4" | bc)
	while [ "$(echo "$(date +%s.%N) < $end" | bc)" = 1 ]; do
		if [ "$(peer_field "$x" "${NICK[$y]}" path)" = "$want" ] &&
		   [ "$(peer_field "$y" "${NICK[$x]}" path)" = "$want" ] &&
		   lab_exec "$x" ping -c1 -W0.5 -q "${V4[$y]}" >/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "# $x-$y: $(peer_field "$x" "${NICK[$y]}" path) / $(peer_field "$y" "${NICK[$x]}" path), wanted $want"
	return 1
}
since() { printf '%.2f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

# b's probes towards d's public address, counted on b's router.
ip netns exec "$LAB_B_RT" nft -f - <<EOF
table ip probes {
	chain forwarded {
		type filter hook forward priority -10;
		ip saddr $LAB_B_ADDR udp sport 51820 ip daddr $LAB_D_PUBLIC counter
	}
}
EOF
probes() {
	ip netns exec "$LAB_B_RT" nft list table ip probes |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
# d's router lets nothing of b's in: birthday probing cannot succeed.
ip netns exec "$LAB_D_RT" nft -f - <<EOF
table ip deaf {
	chain pre {
		type filter hook prerouting priority -300;
		ip saddr $LAB_B_PUBLIC meta l4proto udp drop
	}
}
EOF

printf 'birthday party\n' >"$tmp/pw"
sh_ b create party --password-file "$tmp/pw" >/dev/null
t0=$(date +%s.%N)
sh_ d join party --password-file "$tmp/pw" >/dev/null
ktap_check "b-d, with d's router deaf to b, is relayed" path_within b d relay 15
sleep "$(echo "$PROBE_TIME + 2 - $(since "$t0")" | bc)"
n1=$(probes)
sleep 3
n2=$(probes)
echo "# b sent $n1 datagrams to d's public address in the first $((PROBE_TIME + 2)) s, $((n2 - n1)) in the next 3 s"
grep -h 'birthday probing for' "$tmp/shoald-b.log" | sed 's/^/# b: /'
# The probes, and the few handshakes and knocks of ordinary punching.
ktap_check "b probes at most $PROBE_RATE/s for $PROBE_TIME s, then stops" \
	sh -c "[ $n1 -ge $((PROBE_RATE * PROBE_TIME * 9 / 10)) ] &&
	       [ $n1 -le $((PROBE_RATE * PROBE_TIME + 100)) ] &&
	       [ $((n2 - n1)) -le 10 ]"

t0=$(date +%s.%N)
sh_ e join party --password-file "$tmp/pw" >/dev/null
path_within d e relay 10
ok=$?
t_relay=$(since "$t0")
path_within b e direct "$PROBE_TIME"
ok_direct=$?
t_direct=$(since "$t0")
echo "# d-e relayed $t_relay s after e joined; b-e direct $t_direct s after"
grep -h 'birthday probing for\|relay at once' "$tmp/shoald-e.log" "$tmp/shoald-d.log" | sed 's/^/# /'
ktap_check "b-e goes direct through birthday probing within $PROBE_TIME s" test "$ok_direct" = 0
ktap_check "d-e is relayed at once (under 2 s, not after 5)" \
	sh -c "[ $ok = 0 ] && [ \$(echo '$t_relay < 2' | bc) = 1 ]"

# d's router hears b again: b-d, relayed, goes direct through the
# birthday probing that comes with the once-a-minute direct try.
ip netns exec "$LAB_D_RT" nft delete table ip deaf
t0=$(date +%s.%N)
ktap_check "relayed b-d goes direct within a minute and a half once d's router hears b" \
	path_within b d direct 90
echo "# b-d went direct $(since "$t0") s after d's router changed"

ktap_check "no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
ktap_finish
