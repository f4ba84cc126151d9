#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# Per-peer sockets (SHOAL_A_PEER_SOCKET_FD): a UDP socket of userspace's,
# handed over by fd as shoald does after birthday probing, carries one
# peer's ESP while its other packets still reach userspace on it.
#
#  ┌──────────────────────────────┐        ┌──────────────────────────────┐
#  │ $ns1  shoal1 10.93.0.1/24    │        │ $ns2  shoal2 10.93.0.2/24    │
#  │       UDP 10001 (device's)   │        │       UDP 10002 (device's)   │
#  │       UDP 2000N (helper's)   │        │                              │
#  │ veth1 192.168.93.1/24 ───────┼────────┼─ veth2 192.168.93.2/24       │
#  └──────────────────────────────┘        └──────────────────────────────┘
#
# The helper (peersock_helper) holds the sockets in $ns1 and runs the SETs;
# $ns2 counts by source port what reaches its device's socket (nft).
set -u
. "$(dirname "$0")/../common/lib.sh"

ns1=$(netns_name ps1) ns2=$(netns_name ps2)
vm_test_begin 19

PY=/usr/bin/python3
SHOAL=$BIN/shoal
mac() { printf '02:00:00:00:00:%02x' "$1"; }
spi() { echo $((0x2000 + $1 * 16 + $2)); }
key() { echo "$tmp/key-$1-$2"; }

netns_add "$ns1" "$ns2"
for i in 1 2 3; do
	head -c 32 /dev/urandom | base64 >"$tmp/pub$i"
	for j in 1 2 3; do
		[ "$i" = "$j" ] || head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$(key "$i" "$j")"
	done
done
pub() { cat "$tmp/pub$1"; }

# peer_args I J: peer J as device I configures it.
peer_args() {
	echo peer "$(pub "$2")" mac "$(mac "$2")" \
		endpoint "192.168.93.$2:$((10000 + $2))" \
		sa-out "$(spi "$1" "$2")" "$(key "$1" "$2")" \
		sa-in "$(spi "$2" "$1")" "$(key "$2" "$1")"
}

setup() {
	local i ns
	ip link add veth1 netns "$ns1" type veth peer name veth2 netns "$ns2" || return 1
	for i in 1 2; do
		ns=$(eval echo \$ns$i)
		n "$ns" ip addr add "192.168.93.$i/24" dev "veth$i" || return 1
		n "$ns" ip link set "veth$i" up || return 1
		n "$ns" ip link add "shoal$i" type shoal || return 1
		n "$ns" ip link set "shoal$i" address "$(mac "$i")" || return 1
		# shellcheck disable=SC2046
		n "$ns" "$SHOAL" set "shoal$i" listen-port $((10000 + i)) \
			$(peer_args "$i" $((3 - i))) || return 1
		n "$ns" ip addr add "10.93.0.$i/24" dev "shoal$i" || return 1
		n "$ns" ip link set "shoal$i" up || return 1
	done
	# Peer 3 of shoal1 exists only as keys: another peer for -EBUSY.
	# shellcheck disable=SC2046
	n "$ns1" "$SHOAL" set shoal1 $(peer_args 1 3) || return 1
	n "$ns2" nft -f - <<NFT || return 1
table inet ps {
	chain input {
		type filter hook input priority 0;
		udp dport 10002 udp sport 20001 counter
		udp dport 10002 udp sport 20002 counter
		udp dport 10002 udp sport 10001 counter
	}
}
NFT
}
ktap_check "two devices, static SAs, over a veth" setup

# from_port PORT: the packets $ns2's device socket got from that port.
from_port() {
	n "$ns2" nft list chain inet ps input |
		awk -v port="$1" '$0 ~ "sport " port " " {
			for (i = 1; i < NF; i++) if ($i == "packets") n = $(i + 1) }
			END { print n + 0 }'
}

coproc HELPER { ip netns exec "$ns1" "$TESTBIN/peersock_helper" 2>>"$tmp/helper.err"; }
# h CMD...: one helper command; prints its answer.
h() {
	local answer
	echo "$*" >&"${HELPER[1]}"
	read -r -t 10 answer <&"${HELPER[0]}" || { echo "helper: no answer"; return 1; }
	echo "$answer"
}
# gets ID HEX: socket ID receives HEX within 2 s.  ESP the peer sent there
# before it roamed comes first, and is read past.
gets() {
	local got i
	for i in $(seq 20); do
		got=$(h recv "$1" 2000)
		[ "$got" = "got $2" ] && return 0
		[ "$got" = none ] && break
	done
	echo "socket $1: '$got', not 'got $2'"
	return 1
}
# expect ANSWER CMD...: the helper answers exactly that.
expect() {
	local want=$1 got
	shift
	got=$(h "$@")
	[ "$got" = "$want" ] || { echo "'$*': '$got', not '$want'"; return 1; }
}

ping_ok() {
	n "$ns1" ping -c 3 -i 0.2 -W 2 10.93.0.2 >"$tmp/ping" && return 0
	cat "$tmp/ping"
	n "$ns1" "$SHOAL" show shoal1
	n "$ns2" "$SHOAL" show shoal2
	n "$ns2" nft list chain inet ps input
	n "$ns1" ss -uanp
	return 1
}
local_port() {	# local_port PEER: shoal1's SHOAL_A_PEER_LOCAL_PORT of it, or none
	n "$ns1" "$SHOAL" show shoal1 --json | $PY -c "
import json, sys
for p in json.load(sys.stdin)[0]['peers']:
    if p['public_key'] == sys.argv[1]:
        print(p.get('local_port', 'none'))" "$(pub "$1")"
}
# send_to PORT HEX: one datagram from $ns2 to $ns1's helper port.
send_to() {
	n "$ns2" $PY -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex(sys.argv[2]), ("192.168.93.1", int(sys.argv[1])))' "$1" "$2"
}
# ESP-shaped to the eye of the hook (SPI 0x00ffeedd, 40 bytes), no SA's.
ESP=00ffeedd$(printf '%072d' 0)

ktap_check "the device's socket carries the peer at first" ping_ok

handed() {
	expect ok udp 0 20001 || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 0 || return 1
	[ "$(local_port 2)" = 20001 ] || { echo "local_port $(local_port 2)"; return 1; }
	n "$ns1" "$SHOAL" show shoal1 | grep -q "local port: 20001" || return 1
	# Peer 3 has none: no key in its JSON.
	[ "$(local_port 3)" = none ]
}
ktap_check "a UDP socket handed over by fd; shoal show tells its port" handed

sends_from_it() {
	local before after
	before=$(from_port 20001)
	ping_ok || return 1
	after=$(from_port 20001)
	echo "# ESP from port 20001: $before -> $after"
	[ "$after" -ge $((before + 3)) ]
}
ktap_check "ping works, and the peer's ESP leaves from the socket's port" sends_from_it

answers_to_it() {
	# shoal2 roamed to where the authenticated packets came from.
	n "$ns2" "$SHOAL" show shoal2 | grep -q "endpoint: 192.168.93.1:20001" || {
		n "$ns2" "$SHOAL" show shoal2; return 1; }
	ping_ok || return 1
	# ESP arriving on the socket went to the device, not to the helper.
	expect none recv 0 300
}
ktap_check "ESP arriving on the socket is decrypted, not queued to it" answers_to_it

control_up() {
	send_to 20001 0000000068656c6c6f || return 1
	expect "got 0000000068656c6c6f" recv 0 2000 || return 1
	send_to 20001 6869 || return 1
	expect "got 6869" recv 0 2000
}
ktap_check "a control packet (zero marker) and an unknown one reach the helper" control_up

refusals() {
	expect ok tcp 4 && expect "ret -93" set shoal1 "$(pub 3)" 4 || return 1
	expect ok file 5 && expect "ret -88" set shoal1 "$(pub 3)" 5 || return 1
	expect "ret -9" set shoal1 "$(pub 3)" fd:1000 || return 1
	expect ok unbound 6 && expect "ret -22" set shoal1 "$(pub 3)" 6 || return 1
	[ "$(local_port 3)" = none ]
}
ktap_check "refused: TCP, not a socket, a bad fd, an unbound socket" refusals
ktap_check "refused: the socket of another peer (-EBUSY)" \
	expect "ret -16" set shoal1 "$(pub 3)" 0
ktap_check "the same socket again changes nothing" \
	expect "ret 0" set shoal1 "$(pub 2)" 0

replaced() {
	expect ok udp 1 20002 || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 1 || return 1
	[ "$(local_port 2)" = 20002 ] || return 1
	ping_ok || return 1
	[ "$(from_port 20002)" -ge 3 ] || return 1
	# The old socket is plain UDP again: even ESP reaches the helper.
	send_to 20001 "$ESP" || return 1
	gets 0 "$ESP"
}
ktap_check "replaced: the new socket sends, the old one is userspace's again" replaced

back_to_device() {
	local before
	before=$(from_port 10001)
	expect "ret 0" set shoal1 "$(pub 2)" none || return 1
	[ "$(local_port 2)" = none ] || return 1
	ping_ok || return 1
	[ "$(from_port 10001)" -ge $((before + 3)) ] || return 1
	send_to 20002 "$ESP" || return 1
	gets 1 "$ESP"
}
ktap_check "back to the device's socket with -1; the socket is released" back_to_device

keepalive() {
	local before after
	expect "ret 0" set shoal1 "$(pub 2)" 1 || return 1
	before=$(n "$ns1" "$SHOAL" show shoal1 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["keepalives_rx"])')
	send_to 20002 ff || return 1
	sleep 0.5
	after=$(n "$ns1" "$SHOAL" show shoal1 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["keepalives_rx"])')
	[ "$after" = $((before + 1)) ] || { echo "keepalives $before -> $after"; return 1; }
	expect none recv 1 300
}
ktap_check "a NAT keepalive on the socket is the device's" keepalive

removed() {
	local k
	# shellcheck disable=SC2046
	n "$ns1" "$SHOAL" set shoal1 peer "$(pub 2)" remove || return 1
	send_to 20002 "$ESP" || return 1
	gets 1 "$ESP" || return 1
	# Back with new keys: a new SA with an old key would start its
	# sequence numbers again, under the other side's replay window.
	for k in 1-2 2-1; do
		head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$tmp/key-$k"
	done
	# shellcheck disable=SC2046
	n "$ns1" "$SHOAL" set shoal1 $(peer_args 1 2) || return 1
	# shellcheck disable=SC2046
	n "$ns2" "$SHOAL" set shoal2 $(peer_args 2 1) || return 1
	[ "$(local_port 2)" = none ] && ping_ok
}
ktap_check "peer removal releases the socket" removed

closed() {
	expect ok udp 2 20003 || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 2 || return 1
	[ "$(local_port 2)" = 20003 ] || { n "$ns1" "$SHOAL" show shoal1; return 1; }
	expect ok close 2 || return 1
	# Userspace's last close: the peer is back on the device's socket.
	[ "$(local_port 2)" = none ] || { echo "local_port $(local_port 2)"; return 1; }
	ping_ok
}
ktap_check "closing the socket's last fd puts the peer back on the device's" closed

reused_after_close() {
	# Port 20003 is free again: nothing holds the closed socket.
	expect ok udp 2 20003 || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 2 || return 1
	ping_ok
}
ktap_check "a closed socket's port is free again, and taken anew" reused_after_close

dual_stack() {
	local before
	expect ok udp6 3 20004 || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 3 || return 1
	[ "$(local_port 2)" = 20004 ] || return 1
	n "$ns2" nft add rule inet ps input udp dport 10002 udp sport 20004 counter || return 1
	ping_ok || return 1
	[ "$(from_port 20004)" -ge 3 ] || { echo "from 20004: $(from_port 20004)"; return 1; }
	send_to 20004 0000000068656c6c6f || return 1
	gets 3 0000000068656c6c6f || return 1
	expect "ret 0" set shoal1 "$(pub 2)" 2
}
ktap_check "a dual-stack IPv6 socket carries an IPv4 endpoint" dual_stack

deleted() {
	n "$ns1" ip link del shoal1 || return 1
	send_to 20003 "$ESP" || return 1
	gets 2 "$ESP" || return 1
	send_to 20001 "$ESP" || return 1
	gets 0 "$ESP"
}
ktap_check "device deletion releases the socket" deleted

closes_clean() {
	local i
	for i in 0 1 2 3 4 5 6; do expect ok close $i || return 1; done
}
ktap_check "the helper closes every socket" closes_clean

# The socket holds its namespace: it goes once the helper has closed it,
# and the device with it (the peer lets go of a socket already closed).
netns_exit() {
	local ns3
	ns3=$(netns_name ps3)
	netns_add "$ns3" || return 1
	n "$ns3" ip link add shoal3 type shoal || return 1
	# shellcheck disable=SC2046
	n "$ns3" "$SHOAL" set shoal3 $(peer_args 1 2) || return 1
	n "$ns3" $PY - "$TESTBIN/peersock_helper" "$(pub 2)" <<'PYEOF' || return 1
import subprocess, sys
p = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
out, _ = p.communicate("udp 0 20009\nset shoal3 %s 0\n" % sys.argv[2], timeout=20)
sys.exit(0 if out.split("\n")[:2] == ["ok", "ret 0"] else 1)
PYEOF
	ip netns del "$ns3"
}
ktap_check "a namespace goes, with a device whose peer's socket was closed" netns_exit

# bash unsets HELPER_PID once the coprocess has ended and been reaped
# (under the debug kernel it may be by now).
if [ -n "${HELPER_PID:-}" ]; then
	kill "$HELPER_PID" 2>/dev/null
	wait "$HELPER_PID" 2>/dev/null
fi
ktap_finish
