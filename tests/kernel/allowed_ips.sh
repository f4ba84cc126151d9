#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# A peer's allowed IPs: with them set, A drops (and counts in spoofed_src)
# every frame from peer B that claims an address outside them, as an IPv4
# or IPv6 source, an ARP sender or a neighbour advertisement's target, and
# every VLAN-tagged frame, and every ARP or neighbour discovery message
# that names another MAC than the frame's; what B may claim still flows.  The forged
# frames are written by B's own stack (AF_PACKET on shoalB, B's MAC), as a
# member that wants another member's traffic would.
#
#  ┌─ $nsa ─────────────────────┐        ┌─ $nsb ─────────────────────┐
#  │ shoalA 10.95.0.1 fd95::1   │        │ shoalB 10.95.0.2 fd95::2   │
#  └────────────┬───────────────┘        └────────────┬───────────────┘
#               └──── $ns0: lo 127.0.0.1: UDP 12101 (A), 12102 (B) ──┘
set -u
. "$(dirname "$0")/../common/lib.sh"

ns0=$(netns_name ai0) nsa=$(netns_name aia) nsb=$(netns_name aib)
vm_test_begin 10

SHOAL=$BIN/shoal
PY=/usr/bin/python3
MACA=02:00:00:00:95:0a MACB=02:00:00:00:95:0b
newkey() { head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$1"; }
spoofed() {
	n "$nsa" "$SHOAL" show shoalA --json |
		$PY -c "import json,sys; print(json.load(sys.stdin)[0]['spoofed_src'])"
}

setup() {
	netns_add "$ns0" "$nsa" "$nsb" || return 1
	newkey "$tmp/kab"; newkey "$tmp/kba"
	head -c 32 /dev/urandom | base64 >"$tmp/puba"
	head -c 32 /dev/urandom | base64 >"$tmp/pubb"
	n "$ns0" ip link add shoalA type shoal || return 1
	n "$ns0" ip link add shoalB type shoal || return 1
	ip -n "$ns0" link set shoalA netns "$nsa" || return 1
	ip -n "$ns0" link set shoalB netns "$nsb" || return 1
	n "$nsa" ip link set shoalA address $MACA
	n "$nsb" ip link set shoalB address $MACB
	# B's own router solicitations, retried with backoff for as long as
	# it is up, leave from its link-local address, which ::/0 in test 9
	# does not allow: one landing in a count there would add to it
	# (test 9 also removes that address before it counts).
	n "$nsb" sysctl -qw net.ipv6.conf.shoalB.router_solicitations=0 || return 1
	n "$nsa" "$SHOAL" set shoalA listen-port 12101 peer "$(cat "$tmp/pubb")" \
		mac $MACB endpoint 127.0.0.1:12102 \
		allowed-ips 10.95.0.2/32,fd95::2/128,fe80::/10 \
		sa-out 0x9501 "$tmp/kab" sa-in 0x9502 "$tmp/kba" || return 1
	n "$nsb" "$SHOAL" set shoalB listen-port 12102 peer "$(cat "$tmp/puba")" \
		mac $MACA endpoint 127.0.0.1:12101 \
		sa-out 0x9502 "$tmp/kba" sa-in 0x9501 "$tmp/kab" || return 1
	n "$nsa" ip addr add 10.95.0.1/24 dev shoalA || return 1
	n "$nsb" ip addr add 10.95.0.2/24 dev shoalB || return 1
	n "$nsa" ip addr add fd95::1/64 dev shoalA nodad || return 1
	n "$nsb" ip addr add fd95::2/64 dev shoalB nodad || return 1
	n "$nsa" ip link set shoalA up || return 1
	n "$nsb" ip link set shoalB up || return 1
}
ktap_check "peer B of A restricted to 10.95.0.2/32, fd95::2/128, fe80::/10" setup

shows() {
	local json text
	text=$(n "$nsa" "$SHOAL" show shoalA) || return 1
	echo "$text" | grep -qx '  allowed ips: 10.95.0.2/32, fd95::2/128, fe80::/10' || {
		echo "$text"; return 1; }
	json=$(n "$nsa" "$SHOAL" show shoalA --json) || return 1
	[ "$(echo "$json" | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["peers"][0]["allowed_ips"])')" = \
		"['10.95.0.2/32', 'fd95::2/128', 'fe80::/10']" ] || { echo "$json"; return 1; }
	text=$(n "$nsb" "$SHOAL" show shoalB) || return 1
	echo "$text" | grep -qx '  allowed ips: any' || { echo "$text"; return 1; }
}
ktap_check "shoal show lists them, in text and JSON" shows

flows() {
	n "$nsb" ping -c 2 -i 0.3 -W 3 10.95.0.1 >/dev/null || return 1
	n "$nsb" ping -6 -c 2 -i 0.3 -W 3 fd95::1 >/dev/null || return 1
	echo "# spoofed_src after pings both ways: $(spoofed)"
	[ "$(spoofed)" = 0 ]
}
ktap_check "B's own IPv4, IPv6 and link-local traffic passes, none counted" flows

# frames KIND...: B writes one raw frame of each KIND into shoalB.
frames() {
	n "$nsb" $PY - "$@" <<'EOF'
import socket, struct, sys
mac = lambda m: bytes.fromhex(m.replace(":", ""))
v4 = socket.inet_aton
v6 = lambda a: socket.inet_pton(socket.AF_INET6, a)
A, B = mac("02:00:00:00:95:0a"), mac("02:00:00:00:95:0b")
def ip4(src):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                       v4(src), v4("10.95.0.1")) + bytes(8)
C = mac("02:00:00:00:95:0c")
def arp(sender, sha=B):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, sha, v4(sender),
                       A, v4("10.95.0.1"))
def ll(kind, m):
    return struct.pack("!BB6s", kind, 1, m)
def ip6(src, nh, payload, hop=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hop,
                       v6(src), v6("fd95::1")) + payload
def na(src, target, opt=b""):
    return ip6(src, 58, struct.pack("!BBHI16s", 136, 0, 0, 0x60000000,
                                     v6(target)) + opt, 255)
def ns(src, target, opt=b""):
    return ip6(src, 58, struct.pack("!BBHI16s", 135, 0, 0, 0, v6(target)) + opt,
               255)
kinds = {
    "ip4-other": (0x0800, ip4("10.95.0.3")),
    "arp-other": (0x0806, arp("10.95.0.3")),
    "ip6-other": (0x86dd, ip6("fd95::3", 17, bytes(8))),
    "na-other": (0x86dd, na("fd95::2", "fd95::3")),
    "dad-other": (0x86dd, ns("::", "fd95::3")),
    "vlan": (0x8100, struct.pack("!HH", 7, 0x0800) + ip4("10.95.0.2")),
    "ra": (0x86dd, ip6("fe80::95:b", 58, struct.pack("!BBHBBHII", 134, 0, 0,
                                                    64, 0, 1800, 0, 0), 255)),
    "redirect": (0x86dd, ip6("fe80::95:b", 58, struct.pack("!BBHI16s16s", 137,
                 0, 0, 0, v6("fd95::2"), v6("fd95::1")), 255)),
    "na-fragment": (0x86dd, ip6("fd95::2", 44, struct.pack("!BBHI", 58, 0, 1, 7)
                    + na("fd95::2", "fd95::3")[40:], 255)),
    "ip4-own": (0x0800, ip4("10.95.0.2")),
    "ip4-zero": (0x0800, ip4("0.0.0.0")),
    "arp-own": (0x0806, arp("10.95.0.2")),
    "arp-probe": (0x0806, arp("0.0.0.0")),
    "na-own": (0x86dd, na("fe80::95:b", "fd95::2")),
    "dad-own": (0x86dd, ns("::", "fd95::2")),
    "ns-other": (0x86dd, ns("fd95::2", "fd95::3")),
    "ipx": (0x8137, bytes(46)),
    "arp-mac-other": (0x0806, arp("10.95.0.2", C)),
    "na-ll-other": (0x86dd, na("fd95::2", "fd95::2", ll(2, C))),
    "ns-ll-other": (0x86dd, ns("fd95::2", "fd95::1", ll(1, C))),
    "na-ll-own": (0x86dd, na("fd95::2", "fd95::2", ll(2, B))),
    "ns-ll-own": (0x86dd, ns("fd95::2", "fd95::1", ll(1, B))),
    "rs-ll-other": (0x86dd, ip6("fd95::2", 58, struct.pack("!BBHI", 133, 0, 0, 0)
                                + ll(1, C), 255)),
    "rs-ll-own": (0x86dd, ip6("fd95::2", 58, struct.pack("!BBHI", 133, 0, 0, 0)
                              + ll(1, B), 255)),
    "ns-ll-frag": (0x86dd, ip6("fd95::2", 44, struct.pack("!BBHI", 58, 0, 1, 9)
                   + ns("fd95::2", "fd95::1", ll(1, B))[40:], 255)),
    "na-ll-local": (0x86dd, na("fe80::ff:fe00:950b", "fe80::ff:fe00:950b",
                               ll(2, B))),
}
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shoalB", 0))
for k in sys.argv[1:]:
    t, body = kinds[k]
    s.send(A + B + struct.pack("!H", t) + body.ljust(46, b"\0"))
EOF
}

# counted N KIND...: sending the frames raises spoofed_src by N.
counted() {
	local want=$1 before after
	shift
	before=$(spoofed)
	frames "$@" || return 1
	sleep 0.5
	after=$(spoofed)
	echo "# spoofed_src $before -> $after after $*"
	[ "$after" = $((before + want)) ]
}

ktap_check "claims of another address are dropped and counted: IPv4, ARP, IPv6, NA target, DAD probe, VLAN" \
	counted 6 ip4-other arp-other ip6-other na-other dad-other vlan

ktap_check "so are router advertisements, redirects and an NA in a first fragment" \
	counted 3 ra redirect na-fragment

ktap_check "B's own addresses, 0.0.0.0 probes, its DAD and solicitations, other EtherTypes pass" \
	counted 0 ip4-own ip4-zero arp-own arp-probe na-own dad-own ns-other ipx \
	na-ll-own ns-ll-own rs-ll-own

# Its own address, but another member's MAC (C's) as the ARP sender or in
# a neighbour discovery link-layer option (solicitation, advertisement,
# router solicitation): A would send B's traffic to C.  Neighbour
# discovery in fragments, whose options a later fragment could carry
# unread, is refused too (RFC 6980).
steered() {
	counted 5 arp-mac-other na-ll-other ns-ll-other rs-ll-other ns-ll-frag ||
		return 1
	! n "$nsa" ip neigh show dev shoalA | grep -q 02:00:00:00:95:0c
}
ktap_check "B's own address with another member's MAC (ARP sender, ND options, RS), or ND in fragments, is dropped and counted" \
	steered

poisoned() {
	frames arp-other na-other || return 1
	sleep 0.3
	# A never learned a neighbour entry for what B does not own.
	[ -z "$(n "$nsa" ip neigh show 10.95.0.3 dev shoalA)" ] &&
		[ -z "$(n "$nsa" ip -6 neigh show fd95::3 dev shoalA)" ]
}
ktap_check "A's neighbour table learns nothing from the forged ARP and NA" poisoned

lifted() {
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" allowed-ips any || return 1
	n "$nsa" "$SHOAL" show shoalA | grep -qx '  allowed ips: any' || return 1
	counted 0 ip4-other ip6-other || return 1
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		allowed-ips 10.95.0.0/30,fd95::2/128,fe80::/10 || return 1
	counted 1 ip6-other || return 1
	counted 0 ip4-other || return 1
	# ::/0 is every routable address, not every link-local one.  B's
	# own link-local address goes first: the kernel's traffic from it
	# (MLD reports, neighbour probes) would land in the counts below.
	n "$nsb" ip -6 addr flush dev shoalB scope link || return 1
	sleep 0.3
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		allowed-ips 10.95.0.0/30,::/0 || return 1
	counted 0 ip6-other || return 1
	counted 1 na-ll-local || return 1
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		allowed-ips 10.95.0.0/30,fd95::2/128,fe80::/10 || return 1
	counted 0 na-ll-local
}
ktap_check "'allowed-ips any' lifts the restriction, a new set replaces the old; ::/0 allows no link-local" lifted

# Refusals by the command line, before anything is sent, and by the kernel.
refusals() {
	local out pub
	pub=$(cat "$tmp/pubb")
	n "$nsa" "$SHOAL" set shoalA peer "$pub" \
		allowed-ips 10.95.0.0/30,fd95::2/128,fe80::/10 || return 1
	out=$(n "$nsa" "$SHOAL" set shoalA peer "$pub" allowed-ips 10.95.0.2/24 2>&1) && return 1
	echo "$out" | grep -q "has host bits set (the network is 10.95.0.0/24)" || { echo "$out"; return 1; }
	out=$(n "$nsa" "$SHOAL" set shoalA peer "$pub" allowed-ips 10.95.0.300 2>&1) && return 1
	echo "$out" | grep -q "is not an IP address" || { echo "$out"; return 1; }
	out=$(n "$nsa" "$SHOAL" set shoalA peer "$pub" allowed-ips 10.0.0.0/8, 2>&1) && return 1
	echo "$out" | grep -q "is not a prefix" || { echo "$out"; return 1; }
	out=$(n "$nsa" "$SHOAL" set shoalA peer "$pub" allowed-ips any allowed-ips any 2>&1) && return 1
	echo "$out" | grep -q "given twice" || { echo "$out"; return 1; }
	out=$(n "$nsa" "$SHOAL" set shoalA peer "$pub" allowed-ips \
		"$(seq -s, -f '10.96.%g.0/24' 0 32)" 2>&1) && return 1
	echo "$out" | grep -q "at most 32 allowed IPs" || { echo "$out"; return 1; }
	# What was set stays set.
	n "$nsa" "$SHOAL" show shoalA | grep -qx '  allowed ips: 10.95.0.0/30, fd95::2/128, fe80::/10'
}
ktap_check "bad lists are refused with a reason and change nothing" refusals

ktap_finish
