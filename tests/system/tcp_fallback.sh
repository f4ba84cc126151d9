#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The TCP fallback in the NAT lab (tests/lab/lab.sh): client h sits behind
# a router that drops every UDP packet it would forward (KIND
# udp-blocked), b behind a plain masquerade (cone-filtered), a on a
# public address (none).  h's login finds UDP blocked; its relays are
# reached over TCP, bridged by the mediator to its relay ports, so h-a
# and h-b ping through the relay with transport tcp on h's side, soon
# after the join (the time is printed).  Then the bridge's refusals, from
# a: a relay port outside the range, a frame over the limit, a stream
# that never finishes its header (closed at the deadline), a stream over
# the per-source limit; and a cut stream comes back by itself.
#
# TCP_FALLBACK_DATAPATH picks the datapath (tap here).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"
. "$(dirname "$0")/../lab/shoal.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
DP=${TCP_FALLBACK_DATAPATH:-tap}
PY=/usr/bin/python3
PORT=51800
CLIENTS="a b h"
declare -A KIND=([a]=none [b]=cone-filtered [h]=udp-blocked)
declare -A NICK=([a]=alice [b]=bob [h]=hana)

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
   { [ "$DP" = tap ] && [ ! -c /dev/net/tun ]; }; then
	ktap_plan 1
	ktap_skip "needs root, nft and (for the tap datapath) /dev/net/tun"
	ktap_finish
fi
ktap_plan 15

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" "${KIND[$x]}" 51820 || { echo "Bail out! lab_client $x"; exit 1; }
done

# 4 streams a source, so that the limit is met long before the mediator's
# own --source-conns (64 connections at once, bridge streams not yet
# handed over included).
lab_mediator_start --listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
	--tcp-streams-per-source 4
ktap_check "the mediator starts" test -n "${LAB_MED_KEY:-}"

# 2-4: each logs in; h's tunnel port is not verified (no UDP gets out).
declare -A V4
for x in $CLIENTS; do
	lab_shoald_start "$x" "$DP"
	out=$(lab_sh "$x" login "$LAB_MEDIATOR1:$PORT" "$LAB_MED_KEY" \
		--nick "${NICK[$x]}" --json 2>&1)
	echo "# $x: $out"
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
	want=true
	[ "$x" = h ] && want=false
	ktap_check "$x (${KIND[$x]}) logs in, udp_verified $want" \
		$PY -c 'import json,sys; r = json.loads(sys.argv[1]); assert r["udp_verified"] == (sys.argv[2] == "true"), r' \
		"$out" "$want"
done

# 5: a and b share a network; h joins it last.  The time from h's join
# to the first ping answered, per pair.
printf 'no udp here\n' >"$tmp/pw"
lab_sh a create fallback --password-file "$tmp/pw" >/dev/null
lab_sh b join fallback --password-file "$tmp/pw" >/dev/null
: >"$tmp/timings"
t0=$(date +%s.%N)
lab_sh h join fallback --password-file "$tmp/pw" >/dev/null
echo "# h's join returned after $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
lab_first_ping h a "${V4[a]}" "$t0" &
p1=$!
lab_first_ping h b "${V4[b]}" "$t0" &
p2=$!
wait $p1 $p2
sort "$tmp/timings" | while read -r pair t; do
	echo "# join to first ping, $pair: $t s"
done
ktap_check "h joins, and h-a and h-b ping" \
	sh -c "! grep -q never '$tmp/timings' && test \$(wc -l <'$tmp/timings') = 2"

# 6-8: the paths and transports, seen from both sides.
pair_path() {
	local x=$1 y=$2 want=$3 tx=$4 ty=$5 end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		if [ "$(lab_peer_field "$x" "${NICK[$y]}" path)" = "$want" ] &&
		   [ "$(lab_peer_field "$y" "${NICK[$x]}" path)" = "$want" ] &&
		   [ "$(lab_peer_field "$x" "${NICK[$y]}" transport)" = "$tx" ] &&
		   [ "$(lab_peer_field "$y" "${NICK[$x]}" transport)" = "$ty" ] &&
		   lab_exec "$x" ping -c3 -i0.2 -W1 -q "${V4[$y]}" >/dev/null; then
			echo "# $x-$y: $want, $tx / $ty, rtt $(lab_peer_field "$x" "${NICK[$y]}" rtt_ms) ms"
			return 0
		fi
		sleep 0.2
	done
	echo "# $x-$y: $(lab_peer_field "$x" "${NICK[$y]}" path) $(lab_peer_field "$x" "${NICK[$y]}" transport) / $(lab_peer_field "$y" "${NICK[$x]}" path) $(lab_peer_field "$y" "${NICK[$x]}" transport), wanted $want $tx / $ty"
	tail -n 8 "$tmp/shoald-$x.log" "$tmp/shoald-$y.log" | sed 's/^/#   /'
	return 1
}
ktap_check "h-a: relay, over tcp on h's side, udp on a's" \
	pair_path h a relay tcp udp
ktap_check "h-b: relay, over tcp on h's side, udp on b's" \
	pair_path h b relay tcp udp
ktap_check "a-b: direct over udp" pair_path a b direct udp udp

# 9: the text status says so too.
lab_sh h status >"$tmp/status-h" 2>&1
sed -n '/alice/,/endpoint/p' "$tmp/status-h" | sed 's/^/# /'
ktap_check "shoal status on h says 'path relay over tcp'" \
	grep -q 'path relay over tcp' "$tmp/status-h"

# 10-12: the bridge's refusals, from a: each stream must be closed by
# the mediator, and when.  Prints the seconds it took, or "open".
bridge_probe() {
	lab_exec a $PY - "$LAB_MEDIATOR1" "$PORT" "$@" <<'PYEOF'
import socket, struct, sys, time
host, port, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=3)
hdr = lambda p: b"SHOALTCP" + bytes([1]) + struct.pack(">H", p)
if what == "port":
    s.sendall(hdr(int(sys.argv[4])))
elif what == "oversize":
    s.sendall(hdr(51810) + struct.pack(">H", 65508) + b"x" * 100)
elif what == "partial":
    s.sendall(hdr(51810)[:5])
t0 = time.monotonic()
s.settimeout(10)
try:
    d = s.recv(100)
    print("closed %.1f" % (time.monotonic() - t0) if not d else "data")
except ConnectionResetError:
    print("closed %.1f" % (time.monotonic() - t0))
except socket.timeout:
    print("open")
PYEOF
}
out=$(bridge_probe port 80)
echo "# port 80: $out"
ktap_check "the bridge refuses a relay port outside --relay-ports" \
	$PY -c 'import sys; w = sys.argv[1].split(); assert w[0] == "closed" and float(w[1]) < 1' "$out"
out=$(bridge_probe oversize)
echo "# oversize frame: $out"
ktap_check "the bridge refuses a frame over the limit" \
	$PY -c 'import sys; w = sys.argv[1].split(); assert w[0] == "closed" and float(w[1]) < 1' "$out"
# (A stream that sends nothing at all is a control connection that has
# not spoken: the mediator's own hello timeout closes it.)
out=$(bridge_probe partial)
echo "# half a header: $out"
ktap_check "the bridge closes a stream without a whole header at the deadline" \
	$PY -c 'import sys; w = sys.argv[1].split(); assert w[0] == "closed" and 3.5 < float(w[1]) < 7.5' "$out"

# 13: one address holds at most --tcp-streams-per-source (4 here)
# streams: of 5 opened with a whole header each (whatever order the
# mediator takes them in), exactly one is closed, at once.
out=$(lab_exec a $PY - "$LAB_MEDIATOR1" "$PORT" <<'PYEOF'
import select, socket, struct, sys, time
hdr = b"SHOALTCP" + bytes([1]) + struct.pack(">H", 51810)
held = []
for _ in range(5):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    s.sendall(hdr)
    held.append(s)
closed, end = set(), time.monotonic() + 4
while time.monotonic() < end:
    r, _, _ = select.select([s for s in held if s not in closed], [], [], 0.2)
    for s in r:
        try:
            if not s.recv(10):
                closed.add(s)
        except ConnectionResetError:
            closed.add(s)
print("%d closed" % len(closed))
PYEOF
)
echo "# 5 streams from a: $out"
ktap_check "the bridge holds 4 streams from one address (--tcp-streams-per-source 4), closes the 5th" \
	test "$out" = "1 closed"

# 14: h's streams cut (the control connection's too): the relay comes
# back over a new stream by itself.
ip netns exec "$LAB_H_NS" ss -K -t dst "$LAB_MEDIATOR1" >/dev/null 2>&1
again() {
	local end=$((SECONDS + 40))
	while [ $SECONDS -lt $end ]; do
		lab_exec h ping -c1 -W0.5 -q "${V4[a]}" >/dev/null 2>&1 &&
			[ "$(lab_peer_field h alice transport)" = tcp ] && return 0
		sleep 0.2
	done
	tail -n 12 "$tmp/shoald-h.log" | sed 's/^/#   /'
	return 1
}
t0=$SECONDS
ktap_check "after its streams are cut, h-a pings over tcp again" again
echo "# back after $((SECONDS - t0)) s"

# 15: the mediator stops cleanly and counts the bridge's work.
kill -TERM "$LAB_MED_PID"
wait "$LAB_MED_PID" 2>/dev/null
grep 'tcp:' "$tmp/mediator.log" | sed 's/^/# /'
ktap_check "the mediator's bridge carried frames and refused streams" \
	grep -qE 'tcp: [1-9][0-9]* streams, ([4-9]|[1-9][0-9]+) refused, [1-9]' "$tmp/mediator.log"
ktap_finish
