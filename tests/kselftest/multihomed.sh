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
. "$(dirname "$0")/lib.sh"

nsa=$(netns_name mha) nsb=$(netns_name mhb)
vm_test_begin 7

SHOAL=$BIN/shoal
PY=/usr/bin/python3
newkey() { head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$1"; }
endpoint_of_a() {	# what B believes A's endpoint is
	n "$nsb" "$SHOAL" show shoalB --json |
		$PY -c "import json,sys; print(json.load(sys.stdin)['peers'][0]['endpoint'])"
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

ktap_finish
