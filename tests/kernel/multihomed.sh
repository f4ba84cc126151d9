#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# A multihomed host answers from the address its peer sent to: A has two
# addresses on one link, B knows A by the second, and the route would
# pick the first.  Replies from the first would reach B from an endpoint
# B never sent to (behind a NAT, one with no mapping); B's view of A's
# endpoint shows which address A used.  When that address goes away, A
# falls back to the route's choice and the tunnel carries on.  Both
# families.
#
#  ┌─ $nsa ─────────────────────────────┐      ┌─ $nsb ─────────────────┐
#  │ shoalA 10.98.0.1 (overlay)         │      │ shoalB 10.98.0.2       │
#  │ va 10.97.0.1, 10.97.0.11 (second)  ├──────┤ vb 10.97.0.2           │
#  │    fd97::1, fd97::11               │      │    fd97::2             │
#  └────────────────────────────────────┘      └────────────────────────┘
set -u
. "$(dirname "$0")/../common/lib.sh"

nsa=$(netns_name mha) nsb=$(netns_name mhb)
vm_test_begin 11

SHOAL=$BIN/shoal
PY=/usr/bin/python3
newkey() { head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$1"; }
endpoint_of_a() {	# what B believes A's endpoint is
	n "$nsb" "$SHOAL" show shoalB --json |
		$PY -c "import json,sys; print(json.load(sys.stdin)[0]['peers'][0]['endpoint'])"
}

setup() {
	local x
	netns_add "$nsa" "$nsb" || return 1
	n "$nsa" ip link add va type veth peer name vb netns "$nsb" || return 1
	n "$nsa" ip addr add 10.97.0.1/24 dev va || return 1
	n "$nsa" ip addr add 10.97.0.11/24 dev va || return 1
	n "$nsa" ip addr add fd97::1/64 dev va nodad || return 1
	# Deprecated: the route never picks it as a source (for IPv4, the
	# first address is the route's).
	n "$nsa" ip addr add fd97::11/64 dev va nodad preferred_lft 0 || return 1
	n "$nsb" ip addr add 10.97.0.2/24 dev vb || return 1
	n "$nsb" ip addr add fd97::2/64 dev vb nodad || return 1
	n "$nsa" ip link set va up && n "$nsb" ip link set vb up || return 1
	newkey "$tmp/kab"; newkey "$tmp/kba"
	head -c 32 /dev/urandom | base64 >"$tmp/puba"
	head -c 32 /dev/urandom | base64 >"$tmp/pubb"
	for x in a b; do
		local X=${x^^} ns=nsa
		[ $x = b ] && ns=nsb
		n "${!ns}" ip link add "shoal$X" type shoal || return 1
		# No IPv6 on the overlay: nothing leaves A before B speaks.
		n "${!ns}" sysctl -qw "net.ipv6.conf.shoal$X.disable_ipv6=1" || return 1
	done
	n "$nsa" ip link set shoalA address 02:00:00:00:98:0a
	n "$nsb" ip link set shoalB address 02:00:00:00:98:0b
	# A knows no endpoint for B: it learns B's from B's first packet,
	# as behind a NAT.
	n "$nsa" "$SHOAL" set shoalA listen-port 12201 peer "$(cat "$tmp/pubb")" \
		mac 02:00:00:00:98:0b \
		sa-out 0x9801 "$tmp/kab" sa-in 0x9802 "$tmp/kba" || return 1
	n "$nsb" "$SHOAL" set shoalB listen-port 12202 peer "$(cat "$tmp/puba")" \
		mac 02:00:00:00:98:0a endpoint 10.97.0.11:12201 \
		sa-out 0x9802 "$tmp/kba" sa-in 0x9801 "$tmp/kab" || return 1
	n "$nsa" ip addr add 10.98.0.1/24 dev shoalA || return 1
	n "$nsb" ip addr add 10.98.0.2/24 dev shoalB || return 1
	n "$nsa" ip link set shoalA up && n "$nsb" ip link set shoalB up
}
ktap_check "A with two addresses on one link, B knowing the second" setup

# pinned ADDR: B pings A across the tunnel; B still sees A at ADDR.
pinned() {
	local ep
	n "$nsb" ping -c 3 -i 0.2 -W 2 10.98.0.1 >/dev/null || return 1
	n "$nsa" ping -c 3 -i 0.2 -W 2 10.98.0.2 >/dev/null || return 1
	ep=$(endpoint_of_a)
	echo "# B sees A at $ep"
	[ "$ep" = "$1" ]
}
ktap_check "IPv4: A answers from 10.97.0.11, the address B sent to, not the route's" \
	pinned 10.97.0.11:12201

# A moment without any route to B: A's packets are dropped, but the
# address stays pinned for when the route is back.  A speaks first after
# that, so B sees where A's own packets come from.
no_route() {
	n "$nsa" ip route add unreachable 10.97.0.2/32 || return 1
	n "$nsa" ping -c 2 -i 0.2 -W 1 10.98.0.2 >/dev/null 2>&1
	n "$nsa" ip route del unreachable 10.97.0.2/32 || return 1
	n "$nsa" ping -c 2 -i 0.2 -W 2 10.98.0.2 >/dev/null || return 1
	echo "# B sees A at $(endpoint_of_a)"
	[ "$(endpoint_of_a)" = 10.97.0.11:12201 ]
}
ktap_check "IPv4: a moment without a route does not forget 10.97.0.11" no_route

gone() {	# gone ADDR/LEN WANT: A loses ADDR; the tunnel carries on
	local ep
	n "$nsa" ip addr del "$1" dev va || return 1
	n "$nsa" ping -c 3 -i 0.2 -W 2 10.98.0.2 >/dev/null || return 1
	n "$nsb" ping -c 2 -i 0.2 -W 2 10.98.0.1 >/dev/null || return 1
	ep=$(endpoint_of_a)
	echo "# B sees A at $ep"
	[ "$ep" = "$2" ]
}
ktap_check "IPv4: once 10.97.0.11 is gone, A sends from the route's address" \
	gone 10.97.0.11/24 10.97.0.1:12201

to_v6() {
	n "$nsa" ip addr add 10.97.0.11/24 dev va || return 1
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" \
		endpoint '[fd97::11]:12201' || return 1
	# A forgets B's endpoint: it learns B's IPv6 one from B.  New keys:
	# an SA's key is never used twice.
	newkey "$tmp/kab6"; newkey "$tmp/kba6"
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" remove || return 1
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		mac 02:00:00:00:98:0b \
		sa-out 0x9803 "$tmp/kab6" sa-in 0x9804 "$tmp/kba6" || return 1
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" \
		sa-out 0x9804 "$tmp/kba6" sa-in 0x9803 "$tmp/kab6"
}
ktap_check "B knows A by fd97::11 now, A knows nothing of B" to_v6

ktap_check "IPv6: A answers from fd97::11, the address B sent to, not the route's" \
	pinned '[fd97::11]:12201'

ktap_check "IPv6: once fd97::11 is gone, A sends from the route's address" \
	gone fd97::11/64 '[fd97::1]:12201'

# A new endpoint set by hand forgets the address: the path is new.  A
# answers B from 10.97.0.11; then A is told B is at 10.97.0.22 instead,
# and sends from the route's address.
by_hand() {
	n "$nsb" ip addr add 10.97.0.22/24 dev vb || return 1
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" \
		endpoint 10.97.0.11:12201 || return 1
	pinned 10.97.0.11:12201 || return 1
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		endpoint 10.97.0.22:12202 || return 1
	n "$nsa" ping -c 2 -i 0.2 -W 2 10.98.0.2 >/dev/null || return 1
	echo "# B sees A at $(endpoint_of_a)"
	[ "$(endpoint_of_a)" = 10.97.0.1:12201 ]
}
ktap_check "an endpoint set by hand starts from the route's address again" by_hand

# Control packets: the event says which address a packet was sent to, and
# a send may name its source; one that is not the host's falls back to
# the route's choice.  B's monitor shows where each of A's packets came
# from.
monitor() {	# monitor NS DEV FILE: events into FILE until the test ends
	n "$1" timeout 10 "$SHOAL" monitor "$2" --json >"$3" 2>&1 &
	sleep 0.5
}
came_from() {	# came_from FILE HEX: the source of the event carrying HEX
	$PY -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("payload") == sys.argv[2]:
        print(e["source"], e.get("local"))' "$1" "$2"
}
control_source() {
	local a b
	monitor "$nsa" shoalA "$tmp/mon_a"
	monitor "$nsb" shoalB "$tmp/mon_b"
	n "$nsb" "$SHOAL" send shoalB 10.97.0.11:12201 c0de01 || return 1
	sleep 0.3
	a=$(came_from "$tmp/mon_a" c0de01)
	n "$nsa" "$SHOAL" send shoalA 10.97.0.2:12202 c0de02 from 10.97.0.11 || return 1
	n "$nsa" "$SHOAL" send shoalA 10.97.0.2:12202 c0de03 || return 1
	n "$nsa" "$SHOAL" send shoalA 10.97.0.2:12202 c0de04 from 10.97.0.99 || return 1
	sleep 0.3
	b="$(came_from "$tmp/mon_b" c0de02), $(came_from "$tmp/mon_b" c0de03), $(came_from "$tmp/mon_b" c0de04)"
	echo "# A's event: $a; B's: $b"
	[ "$a" = "10.97.0.2:12202 10.97.0.11" ] &&
		[ "$b" = "10.97.0.11:12201 10.97.0.2, 10.97.0.1:12201 10.97.0.2, 10.97.0.1:12201 10.97.0.2" ]
}
ktap_check "control: events name the address sent to; a send from it leaves from it, else from the route's" \
	control_source

# shoald over a multihomed host behind a NAT-like filter: D knows C by
# C's second address, and D's side drops what comes from C's first (as
# a NAT would, having no mapping for it).  C knows no endpoint for D:
# the handshake completes only if C's answers leave from the address
# D's INIT went to.
shoald_conf() {	# shoald_conf ME PEER PORT ADDR PEER-ADDR [ENDPOINT [LINE]]
	shoald_config "$tmp/shoal$1.conf" "shoal$1" "$1" "$2" "$3" "$4/24" \
		"$5" "${6:-}" ${7:+"$7"}
}
shoald_online() {	# shoald_online X: X's one peer is online
	"$SHOAL" status --json --socket "$tmp/s$1.sock" 2>/dev/null |
		$PY -c 'import json,sys; sys.exit(not json.load(sys.stdin)["peers"][0]["online"])' 2>/dev/null
}
shoald_handshake() {
	local x i
	for x in C D; do
		"$SHOAL" genkey >"$tmp/priv$x" && "$SHOAL" pubkey <"$tmp/priv$x" >"$tmp/pub$x" || return 1
	done
	# C rekeys every second: its INITs go to D unprompted.
	shoald_conf C D 12301 10.99.0.1 10.99.0.2 "" "RekeySeconds = 1"
	shoald_conf D C 12302 10.99.0.2 10.99.0.1 10.97.0.11:12301
	n "$nsb" nft -f - <<EOF || return 1
table inet nat_like {
	chain in {
		type filter hook input priority filter; policy accept;
		ip saddr 10.97.0.1 udp sport 12301 counter drop
	}
}
EOF
	for x in C D; do
		local ns=nsa
		[ $x = D ] && ns=nsb
		n "${!ns}" "$BIN/shoald" --config "$tmp/shoal$x.conf" --foreground \
			--verbose --datapath kernel --state-dir "$tmp/state$x" \
			--socket "$tmp/s$x.sock" >>"$tmp/shoald$x.log" 2>&1 &
		echo $! >"$tmp/pid$x"
	done
	# Beside another VM under TCG, two sanitizer-built daemons took
	# over 10 s to come up: 30 s, and a ping that may be sent again.
	for i in $(seq 300); do
		shoald_online C && shoald_online D && break
		sleep 0.1
	done
	local pinged=no
	for i in $(seq 5); do
		n "$nsa" ping -c 1 -W 2 10.99.0.2 >/dev/null && { pinged=yes; break; }
	done
	echo "# C online: $(shoald_online C && echo yes || echo no), D online: $(shoald_online D && echo yes || echo no);" \
		"ping: $pinged after $i; dropped from C's first address: $(nat_dropped)"
	[ $pinged = yes ]
}
nat_dropped() { n "$nsb" nft list table inet nat_like | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
ktap_check "shoald: a handshake to the second address is answered from it" shoald_handshake

# One packet spoofed from D's endpoint to C's first address (anyone who
# knows the endpoint can send it) must not move the source of what C
# sends D later: only fresh, authenticated messages do.  C rekeys every
# second; none of its INITs may leave from the first address.
spoofed_path() {
	local d0 d1 h0 h1 ok=0
	d0=$(nat_dropped) h0=$(grep -c ': handshake complete$' "$tmp/shoaldC.log")
	n "$nsb" $PY -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
body = b"\0\0\0\0\xde\xad\xbe\xef"
udp = struct.pack("!HHHH", 12302, 12301, 8 + len(body), 0) + body
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("10.97.0.2"), socket.inet_aton("10.97.0.1"))
for _ in range(3):
    s.sendto(ip + udp, ("10.97.0.1", 0))' || ok=1
	sleep 4
	d1=$(nat_dropped) h1=$(grep -c ': handshake complete$' "$tmp/shoaldC.log")
	echo "# after the spoofed packets: C completed $((h1 - h0)) handshakes in 4 s; dropped from C's first address: $d0 -> $d1"
	n "$nsa" ping -c 2 -i 0.2 -W 2 10.99.0.2 >/dev/null || ok=1
	kill "$(cat "$tmp/pidC")" "$(cat "$tmp/pidD")" 2>/dev/null
	sleep 1
	n "$nsb" nft delete table inet nat_like
	grep -E "ERROR: AddressSanitizer|runtime error:" "$tmp"/shoald[CD].log && ok=1
	[ $ok = 0 ] && [ "$d1" = "$d0" ] && [ $((h1 - h0)) -ge 2 ]
}
ktap_check "shoald: a packet spoofed from D's endpoint does not move where C's handshakes leave from" \
	spoofed_path

ktap_finish
