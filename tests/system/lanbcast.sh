#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald's LAN broadcasts (daemon/lanbcast.c) on the TAP datapath, with
# two static peers in two namespaces (topology in shoald_lib.sh) whose
# default route is the veth "LAN" between them: a program bound to no
# interface sends to 255.255.255.255; with lan-broadcast on, the peer
# receives a copy on its shoal device from the sender's overlay address,
# with it off or the port not listed, nothing.  shoal lan-broadcast
# shows and changes the setting (root only), which outlives a restart
# and wins over an older configuration, not a newer one; bad ports and
# an unknown device are refused; the table "ip shoal_lanbcast_DEV" goes
# with off, with shoald's exit, and (left by a kill -9) at the next start.
# A peer with lan-broadcast on copies neither what it hears on the LAN
# nor what arrives over the overlay.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../common/shoald_lib.sh"

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v nft >/dev/null; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 28
PY=/usr/bin/python3
BCAST=$(cd "$(dirname "$0")/../common" && pwd)/bcast.py

sd_topology || { echo "Bail out! cannot build the namespaces"; exit 1; }
# The LAN is each side's default route: unbound broadcasts leave there.
ip -n "$sd_ns1" route add default dev veth1
ip -n "$sd_ns2" route add default dev veth2

lb() { "$BIN/shoal" lan-broadcast --socket "$tmp/s$1.sock" "${@:2}"; }
lb_field() {
	lb "$1" --json | $PY -c '
import json, sys
v = json.load(sys.stdin)[sys.argv[1]]
print(v if isinstance(v, str) else json.dumps(v))' "$2"
}
has_table() { ip netns exec "$(sd_ns "$1")" nft list table ip "shoal_lanbcast_shoal$1" >/dev/null 2>&1; }

# heard FROM TO PORT: FROM sends 3 datagrams to 255.255.255.255:PORT
# (unbound); what TO's shoal device received, one source a line.
heard() {
	local from=$1 to=$2 port=$3
	rm -f "$tmp/ready"
	ip netns exec "$(sd_ns "$to")" $PY "$BCAST" listen "shoal$to" "$port" 2 \
		"$tmp/ready" >"$tmp/heard" &
	local pid=$!
	for _ in $(seq 50); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
	ip netns exec "$(sd_ns "$from")" $PY "$BCAST" send "$port" 3 "game lobby"
	wait "$pid"
	awk '{print $1}' "$tmp/heard"
}
# hears_n FROM TO PORT N SRC: exactly N copies, all from SRC.
hears_n() {
	local got
	got=$(heard "$1" "$2" "$3")
	echo "# shoal$2 heard on port $3: $(echo $got)"
	[ "$(echo "$got" | grep -c .)" = "$4" ] || return 1
	[ "$4" = 0 ] || [ -z "$(echo "$got" | grep -vx "$5")" ]
}

# 1-4: LanBroadcast = yes in the configuration: on at the start.
sd_config 1 "LanBroadcast = yes"
sd_config 2
sd_start 1 tap && sd_start 2 tap
ktap_check "both online" sd_wait_both
ktap_check "LanBroadcast = yes: status says on, from the configuration, installed" \
	sh -c "'$BIN/shoal' status --json --socket '$tmp/s1.sock' | $PY -c '
import json, sys
l = json.load(sys.stdin)[\"lan_broadcast\"]
print(\"#\", l)
assert l[\"enabled\"] and l[\"installed\"] and l[\"ports\"] == \"all\", l
assert l[\"from\"] == \"config\" and l[\"address\"] == \"10.77.0.1\", l'"
ktap_check "the table ip shoal_lanbcast_shoal1 is there" has_table 1
ktap_check "an unbound broadcast from 1 reaches 2's shoal device, from 1's overlay address" \
	hears_n 1 2 47777 3 10.77.0.1

# 5-7: off: the table goes, nothing crosses.
lb 1 off >/dev/null
ktap_check "shoal lan-broadcast off says off" test "$(lb_field 1 enabled)" = false
ktap_check "off removes the table" sh -c "! ip netns exec $sd_ns1 nft list table ip shoal_lanbcast_shoal1"
ktap_check "off: nobody receives it" hears_n 1 2 47777 0

# 8-11: --ports.
out=$(lb 1 on --ports 27015,7777-7779)
echo "$out" | sed 's/^/# /'
ktap_check "on --ports: the text says the ports" grep -q "UDP ports 7777-7779,27015" <<<"$out"
ktap_check "on --ports: JSON lists them" test "$(lb_field 1 ports)" = '["7777-7779", "27015"]'
ktap_check "a port not listed: nobody receives it" hears_n 1 2 47777 0
ktap_check "a port in a listed range: received" hears_n 1 2 7778 3 10.77.0.1
# The longest list there is: 32 ranges of five-digit ports.
long=$(seq 0 31 | awk '{ printf "%s%d-%d", NR > 1 ? "," : "", 60000 + 2 * $1 * 10, 60000 + 2 * $1 * 10 + 9 }')
lb 1 on --ports "$long" >/dev/null
ktap_check "32 five-digit ranges: installed (the rules fit)" \
	test "$(lb_field 1 installed)" = true
lb 1 on --ports 27015,7777-7779 >/dev/null

# 12-15: refusals.
lb 1 on --ports 0 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
ktap_check "--ports 0 is refused (exit 2) with the reason" \
	sh -c "test $rc = 2 && grep -q \"not a port (1..65535)\" '$tmp/err'"
lb 1 on --ports 7779-7777,5 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
ktap_check "a backwards range is refused (exit 2)" \
	sh -c "test $rc = 2 && grep -q 'lower port to a higher' '$tmp/err'"
"$BIN/shoal" lan-broadcast shoal9 on 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
ktap_check "an unknown device is refused (exit 4: no shoald for it)" test "$rc" = 4
# shoald checks for itself too, whatever a client sends.
reply=$(printf 'lan-broadcast on 99999\n' | ip netns exec "$sd_ns1" \
	socat -t 2 - "UNIX-CONNECT:$tmp/s1.sock")
echo "# raw request with port 99999: $reply"
ktap_check "shoald refuses a bad port list of its own (-220)" \
	grep -q '^error -220 not a port' <<<"$reply"

# 16: root only.
chmod 666 "$tmp/s1.sock"
chmod 755 "$tmp"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$BIN/shoal" lan-broadcast \
	--socket "$tmp/s1.sock" off 2>"$tmp/err"
nobody_rc=$?
sed 's/^/# /' "$tmp/err"
still_on() {
	[ "$nobody_rc" = 1 ] && grep -q 'only root' "$tmp/err" &&
		[ "$(lb_field 1 enabled)" = true ]
}
ktap_check "a user other than root cannot turn it off" still_on

# 17-19: the setting outlives a restart, and wins over the older
# configuration; the table goes with shoald and comes back with it.
sd_stop 1
ktap_check "shoald's exit removes the table" sh -c "! ip netns exec $sd_ns1 nft list table ip shoal_lanbcast_shoal1"
sd_start 1 tap
sd_wait_online 1 >/dev/null
kept() {
	test "$(lb_field 1 enabled) $(lb_field 1 from) $(lb_field 1 ports)" = \
		'true runtime ["7777-7779", "27015"]'
}
ktap_check "after a restart: on, ports 7777-7779,27015, from shoal lan-broadcast" kept
ktap_check "after a restart: a listed port is received again" hears_n 1 2 7777 3 10.77.0.1

# 20-21: a configuration written after it wins.
sleep 0.05
sd_config 1 "LanBroadcast = no"
sd_stop 1
sd_start 1 tap
sd_wait_online 1 >/dev/null
ktap_check "a newer configuration wins: off, from the configuration" \
	test "$(lb_field 1 enabled) $(lb_field 1 from)" = "false config"
ktap_check "and nothing crosses" hears_n 1 2 7777 0

# 22-24: both on: one copy each, no loop, nothing from the LAN.  1's
# broadcast reaches 2 on the veth (the LAN) and, copied, on shoal2; 2
# copies neither that nor what came over the overlay back to 1.
lb 1 on >/dev/null && lb 2 on >/dev/null
sleep 1.5	# 2's table follows its address within a second
ktap_check "both on: 2 is installed" test "$(lb_field 2 installed)" = true
ktap_check "both on: 2 receives exactly the 3 from 1" hears_n 1 2 47777 3 10.77.0.1
ip netns exec "$sd_ns1" $PY "$BCAST" listen shoal1 47777 2.5 >"$tmp/back" &
back=$!
sleep 0.3
ip netns exec "$sd_ns1" $PY "$BCAST" send 47777 3 "game lobby"
wait "$back"
# 1 hears its own copy (the kernel loops a broadcast back to its sender).
echo "# 1's shoal device heard: $(awk '{print $1}' "$tmp/back" | xargs)"
ktap_check "2 sends nothing back: not what it heard on the LAN, not the copy" \
	sh -c "! grep -qv '^10.77.0.1 ' '$tmp/back'"

# 25-26: a kill -9 leaves the table; the next start, with it off, removes it.
sd_stop 2 KILL
ktap_check "a kill -9 leaves the table behind" has_table 2
sd_config 2 "LanBroadcast = no"
lb_off_state() { rm -f "$tmp/state2/shoal2.lanbcast"; }
lb_off_state
sd_start 2 tap
ktap_check "the next start, off, removes it" sh -c "! ip netns exec $sd_ns2 nft list table ip shoal_lanbcast_shoal2"

sd_stop 1
sd_stop 2
ktap_check "no sanitizer reports" sd_no_sanitizer_reports
ktap_finish
