# SPDX-License-Identifier: GPL-2.0
# The NAT lab's part for lan-broadcast (daemon/lanbcast.c), sourced by
# nat_lab.sh: a LAN game on a sends its discovery to 255.255.255.255
# from a socket bound to nothing, so that it leaves by a's default route
# (eth0, its uplink), not by its shoal device.  Off, no member receives
# it; on, every member receives it on its shoal device from a's overlay
# address, exactly as often as a sent it, even with every member's
# lan-broadcast on (a copy received is never sent again); j's broadcast
# on the LAN it shares with i reaches everyone from j alone (i, on too,
# copies nothing it hears on the LAN); with --ports not listing the
# port, nobody receives it.

LAB_PART_TESTS=$((LAB_PART_TESTS + 6))
LANBCAST_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../common" && pwd)/bcast.py

# lanbcast_round SENDER PORT: every client listens on its shoal device
# for PORT while SENDER's game sends 3 datagrams; $tmp/lb-X: the sources
# X heard, one a line.
# Under TCG (the kernel datapath's VM) ten listeners take seconds to
# start: they listen longer there, and each is waited for.
LANBCAST_LISTEN=3
[ "$DP" = kernel ] && LANBCAST_LISTEN=8
lanbcast_round() {
	local sender=$1 port=$2 x pids=()
	for x in $CLIENTS; do
		rm -f "$tmp/lb-ready-$x"
		lab_exec "$x" $PY "$LANBCAST_PY" listen "sh$x" "$port" "$LANBCAST_LISTEN" \
			"$tmp/lb-ready-$x" >"$tmp/lb-raw-$x" 2>&1 &
		pids+=($!)
	done
	for x in $CLIENTS; do
		for _ in $(seq 200); do [ -e "$tmp/lb-ready-$x" ] && break; sleep 0.05; done
	done
	lab_exec "$sender" $PY "$LANBCAST_PY" send "$port" 3 "lobby of ${NICK[$sender]}"
	wait "${pids[@]}"
	for x in $CLIENTS; do
		awk '{print $1}' "$tmp/lb-raw-$x" >"$tmp/lb-$x"
		echo "# $x heard on $port: $(xargs <"$tmp/lb-$x")"
	done
}

# lanbcast_heard SENDER: every other client heard exactly SENDER's 3,
# and nobody (SENDER included) anything from another address.
lanbcast_heard() {
	local sender=$1 x
	for x in $CLIENTS; do
		grep -qvx "${V4[$sender]}" "$tmp/lb-$x" && return 1
		[ "$x" = "$sender" ] && continue
		[ "$(grep -c . "$tmp/lb-$x")" = 3 ] || return 1
	done
	return 0
}

lanbcast_nobody() {
	local x
	for x in $CLIENTS; do
		[ "$x" = "$1" ] && continue
		[ -s "$tmp/lb-$x" ] && return 1
	done
	return 0
}

# lanbcast_all on|off [ARGS]: every client's setting.
lanbcast_all() {
	local x
	for x in $CLIENTS; do sh_ "$x" lan-broadcast "$@" >/dev/null || return 1; done
}

# lanbcast_installed: every client's table is in, with its own address.
lanbcast_installed() {
	local x
	for x in $CLIENTS; do
		sh_ "$x" lan-broadcast --json | $PY -c '
import json, sys
l = json.load(sys.stdin)
sys.exit(not (l["installed"] and l["address"] == sys.argv[1]))' "${V4[$x]}" || return 1
	done
}

lanbcast_up() {
	local x ok
	lanbcast_round a 47790
	ktap_check "lan-broadcast off: a's unbound broadcast reaches no member" \
		lanbcast_nobody a

	ok=false
	if lanbcast_all on; then
		for _ in $(seq 30); do
			lanbcast_installed && { ok=true; break; }
			sleep 0.2
		done
	fi
	$ok || for x in $CLIENTS; do echo "# $x: $(sh_ "$x" lan-broadcast 2>&1)"; done
	lanbcast_round a 47790
	ktap_check "lan-broadcast on everywhere: every member hears a's 3 broadcasts from ${V4[a]}, no more (no loop)" \
		lanbcast_heard a
	# i hears j's broadcast on the LAN itself (eth0), from j's LAN address.
	rm -f "$tmp/lb-lan-ready"
	lab_exec i $PY "$LANBCAST_PY" listen eth0 47791 $((LANBCAST_LISTEN + 6)) \
		"$tmp/lb-lan-ready" >"$tmp/lb-lan-i" 2>&1 &
	local lan_pid=$!
	for _ in $(seq 200); do [ -e "$tmp/lb-lan-ready" ] && break; sleep 0.05; done
	lanbcast_round j 47791
	wait "$lan_pid"
	echo "# i heard on its LAN: $(awk '{print $1}' "$tmp/lb-lan-i" | xargs)"
	ktap_check "j's broadcast, which i hears on their LAN too, reaches everyone from j alone" \
		lanbcast_lan_heard

	sh_ a lan-broadcast on --ports 27015,7777-7779 >/dev/null
	lanbcast_round a 47790
	ktap_check "lan-broadcast --ports not listing the port: no member receives it" \
		lanbcast_nobody a
	ktap_check "status: lan_broadcast of a says on, its ports, installed, from its address" \
		lanbcast_status_a

	lanbcast_all off
	ktap_check "lan-broadcast off everywhere: no shoal_lanbcast table is left" \
		lanbcast_tables_gone
}

lanbcast_tables_gone() {
	local x
	for x in $CLIENTS; do
		lab_exec "$x" nft list tables 2>/dev/null | grep -q shoal_lanbcast && return 1
	done
	return 0
}

lanbcast_status_a() {
	status_json a | $PY -c '
import json, sys
l = json.load(sys.stdin)["lan_broadcast"]
print("#", json.dumps(l))
assert l["enabled"] is True and l["installed"] is True, l
assert l["ports"] == ["7777-7779", "27015"] and l["address"] == sys.argv[1], l' "${V4[a]}"
}

# i heard j's 3 on the LAN, and every member j's copies, none from i.
lanbcast_lan_heard() {
	[ "$(grep -c "^$LAB_J_ADDR " "$tmp/lb-lan-i")" = 3 ] && lanbcast_heard j
}
