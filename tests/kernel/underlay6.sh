#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# Two peers over an IPv6-only underlay (a veth between $ns1 and $ns2, the
# endpoints [fd00:92::1]:10001 and [fd00:92::2]:10002), then the same over
# IPv4.  shoal1 lives in the namespace it was created in; shoal2 was
# created in $ns2, where its sockets stay, and moved to $ns3:
#
#  ┌─────────────────────┐ ┌─────────────────────┐ ┌─────────────────────┐
#  │ $ns1                │ │ $ns2                │ │ $ns3                │
#  │ shoal1 10.92.0.1/24 │ │ (shoal2's sockets)  │ │ shoal2 10.92.0.2/24 │
#  │        fd92::1/64   │ │                     │ │        fd92::2/64   │
#  │ u1 fd00:92::1/64    ├─┤ u2 fd00:92::2/64    │ │                     │
#  └─────────────────────┘ └─────────────────────┘ └─────────────────────┘
#
# Last, a second link (v1 198.51.100.1, fd00:93::1 -- v2 .2, ::2) for an
# endpoint that moves from one link, and family, to another.
#
# Encapsulation must reset the skb: the inner packet's conntrack entry and
# mark, set by nftables where the device lives, must not ride on the outer
# ESP packet into the sockets' netfilter, for either underlay family.
set -u
. "$(dirname "$0")/../common/lib.sh"

ns1=$(netns_name u6a) ns2=$(netns_name u6b) ns3=$(netns_name u6c)
vm_test_begin 19

PY=/usr/bin/python3
SHOAL=$BIN/shoal
mac() { printf '02:00:00:00:00:%02x' "$1"; }
spi() { echo $((0x2000 + $1 * 16 + $2)); }	# SA from peer $1 to peer $2
key() { echo "$tmp/key-$1-$2"; }
dev_ns() { [ "$1" = 1 ] && echo "$ns1" || echo "$ns3"; }	# where shoal$1 is
sock_ns() { [ "$1" = 1 ] && echo "$ns1" || echo "$ns2"; }	# its sockets

netns_add "$ns1" "$ns2" "$ns3"
for i in 1 2; do
	head -c 32 /dev/urandom | base64 >"$tmp/pub$i"
	for j in 1 2; do
		[ "$i" = "$j" ] || head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$(key "$i" "$j")"
	done
done

# In each device's namespace the inner ICMP gets a conntrack entry and mark
# 0x5a on its way out; in each sockets' namespace, after a NAT chain, the
# outer packets to the peer's port are counted: all of them per family,
# and those with a conntrack entry not their own UDP one, or any mark.
nft_dev() {	# nft_dev I
	n "$(dev_ns "$1")" nft -f - <<EOF
table inet scrub {
	chain out {
		type filter hook output priority filter; policy accept;
		oifname "shoal$1" meta l4proto { icmp, ipv6-icmp } ct state new,established meta mark set 0x5a
	}
}
EOF
}
nft_sock() {	# nft_sock I PEER-PORT
	n "$(sock_ns "$1")" nft -f - <<EOF
table inet scrub {
	counter outer4 {}
	counter outer6 {}
	counter leak_ct {}
	counter leak_mark {}
	chain nat_post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "u$1" udp dport $2 masquerade
	}
	chain post {
		type filter hook postrouting priority 100; policy accept;
		udp dport $2 meta nfproto ipv4 counter name outer4
		udp dport $2 meta nfproto ipv6 counter name outer6
		udp dport $2 ct protocol != udp counter name leak_ct
		udp dport $2 meta mark != 0 counter name leak_mark
	}
}
EOF
}

setup() {
	n "$ns1" ip link add shoal1 type shoal || return 1
	n "$ns2" ip link add shoal2 type shoal || return 1
	ip -n "$ns2" link set shoal2 netns "$ns3" || return 1
	ip -n "$ns1" link add u1 type veth peer name u2 netns "$ns2" || return 1
	n "$ns1" ip addr add fd00:92::1/64 dev u1 nodad || return 1
	n "$ns2" ip addr add fd00:92::2/64 dev u2 nodad || return 1
	n "$ns1" ip link set u1 up && n "$ns2" ip link set u2 up || return 1
	local i j ns
	for i in 1 2; do
		j=$((3 - i))
		ns=$(dev_ns "$i")
		n "$ns" ip link set "shoal$i" address "$(mac "$i")" || return 1
		n "$ns" "$SHOAL" set "shoal$i" listen-port $((10000 + i)) \
			peer "$(cat "$tmp/pub$j")" mac "$(mac "$j")" \
			endpoint "[fd00:92::$j]:$((10000 + j))" \
			sa-out "$(spi "$i" "$j")" "$(key "$i" "$j")" \
			sa-in "$(spi "$j" "$i")" "$(key "$j" "$i")" || return 1
		n "$ns" ip addr add "10.92.0.$i/24" dev "shoal$i" || return 1
		n "$ns" ip addr add "fd92::$i/64" dev "shoal$i" nodad || return 1
		n "$ns" ip link set "shoal$i" up || return 1
		nft_dev "$i" || return 1
		nft_sock "$i" $((10000 + j)) || return 1
	done
}
ktap_check "two peers over an IPv6-only underlay (one device moved away)" setup

endpoint_of() {	# endpoint_of I: shoal$I's peer's endpoint, as shown
	n "$(dev_ns "$1")" "$SHOAL" show "shoal$1" --json |
		$PY -c 'import json,sys; print(json.load(sys.stdin)[0]["peers"][0]["endpoint"])'
}
endpoints6() {
	local e1 e2
	e1=$(endpoint_of 1) e2=$(endpoint_of 2)
	echo "# $e1 $e2"
	[ "$e1" = "[fd00:92::2]:10002" ] && [ "$e2" = "[fd00:92::1]:10001" ]
}
ktap_check "the peers' endpoints are [address]:port" endpoints6

ktap_check "ping IPv4 1 -> 2 over the IPv6 underlay" n "$ns1" ping -c 2 -W 2 -i 0.2 10.92.0.2
ktap_check "ping IPv6 2 -> 1 over the IPv6 underlay" n "$ns3" ping -6 -c 2 -W 2 -i 0.2 fd92::1

udp_overlay() {	# udp_overlay: one datagram each over IPv4 and IPv6, 1 -> 2
	local dst
	for dst in UDP4-DATAGRAM:10.92.0.2 "UDP6-DATAGRAM:[fd92::2]"; do
		n "$ns3" timeout 5 socat -u UDP6-RECV:5001,reuseaddr,ipv6only=0 "OPEN:$tmp/udp,creat,trunc" &
		sleep 1
		echo "hello $dst" | n "$ns1" socat -u - "$dst:5001"
		wait %% 2>/dev/null
		grep -qF "hello $dst" "$tmp/udp" || { echo "# nothing from $dst"; return 1; }
	done
}
ktap_check "UDP datagrams over the IPv6 underlay, IPv4 and IPv6 inside" udp_overlay

counter() {	# counter I NAME: packets counted in shoal$I's sockets' namespace
	n "$(sock_ns "$1")" nft list counter inet scrub "$2" |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
# scrubbed FAMILY: pings both ways, each peer's inner ICMP tracked and
# marked; the outer packets must all be FAMILY and carry neither.  The
# counts go to $tmp/scrubFAMILY, printed after the test.
scrubbed() {
	local fam=$1 other i c bad=0
	[ "$fam" = 6 ] && other=4 || other=6
	for i in 1 2; do n "$(sock_ns "$i")" nft reset counters table inet scrub >/dev/null; done
	n "$ns1" ping -c 3 -W 2 -i 0.2 10.92.0.2 >/dev/null || { echo "# no ping 1 -> 2"; return 1; }
	n "$ns3" ping -6 -c 3 -W 2 -i 0.2 fd92::1 >/dev/null || { echo "# no ping 2 -> 1"; return 1; }
	for i in 1 2; do
		echo "# shoal$i's sockets: outer$fam $(counter "$i" "outer$fam")" \
			"outer$other $(counter "$i" "outer$other")" \
			"leak_ct $(counter "$i" leak_ct) leak_mark $(counter "$i" leak_mark)" \
			>>"$tmp/scrub$fam"
		c=$(counter "$i" "outer$fam")
		[ "${c:-0}" -ge 6 ] || { echo "# shoal$i: too few outer IPv$fam packets seen"; bad=1; }
		for c in "outer$other" leak_ct leak_mark; do
			[ "$(counter "$i" "$c")" = 0 ] || { echo "# shoal$i: $c"; bad=1; }
		done
	done
	return $bad
}
ktap_check "IPv6 underlay: no inner conntrack entry or mark on outer packets" scrubbed 6
cat "$tmp/scrub6" 2>/dev/null

# IPv6 has no header checksum: a UDP datagram with a zero checksum (here a
# 0xFF keepalive) is refused by the device's socket, one with a right
# checksum is counted.
keepalives() {
	n "$ns1" "$SHOAL" show shoal1 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["keepalives_rx"])'
}
zero_csum() {
	local before mid after
	before=$(keepalives)
	n "$ns2" $PY -c '
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack("!HHHH", 4000, 10001, 9, 0) + b"\xff", ("fd00:92::1", 0))' || return 1
	sleep 0.5
	mid=$(keepalives)
	n "$ns2" $PY -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"\xff", ("fd00:92::1", 10001))' || return 1
	sleep 0.5
	after=$(keepalives)
	echo "# keepalives_rx: $before, after a zero checksum $mid, after a right one $after"
	[ "$mid" = "$before" ] && [ "$after" = $((before + 1)) ]
}
ktap_check "IPv6 underlay: a zero UDP checksum is refused" zero_csum

# The address a control packet came to is the host's business: a device
# moved to another namespace (shoal2, in $ns3) does not tell it; one in
# the namespace of its sockets (shoal1) does.
moved_local() {
	local l1 l2
	monitor_start "$ns1" 10001 "$tmp/mon-l1" shoal1 || return 1
	monitor_stop
	MONITOR_PROBE_NS=$ns2 monitor_start "$ns3" 10002 "$tmp/mon-l2" shoal2 || return 1
	monitor_stop
	l1=$(grep -m1 -o '"local":[^,]*' "$tmp/mon-l1")
	l2=$(grep -m1 -o '"local":[^,]*' "$tmp/mon-l2")
	echo "# shoal1's probe event: $l1; moved shoal2's: $l2"
	[ "$l1" = '"local":"127.0.0.1"' ] && [ "$l2" = '"local":null' ]
}
ktap_check "a moved device's events do not name the host's addresses" moved_local

# ECN through the tunnel (RFC 6040), shoal1 -> shoal2, for inner IPv4 and
# IPv6: an ECT(0) inner packet leaves in an ECT(0) outer one; a CE mark
# the underlay puts on the outer header (nftables in shoal2's sockets'
# namespace plays the congested router) reaches the inner packet; an
# inner packet that is not ECN-capable is dropped instead, as congestion
# would have, and counted in ecn_drops; and an outer ECT(1) over an inner
# ECT(0) turns the inner packet ECT(1), as L4S needs.
ecn_drops() {
	n "$ns3" "$SHOAL" show shoal2 --json |
		$PY -c "import json,sys; print(json.load(sys.stdin)[0]['ecn_drops'])"
}
congest() {	# congest UNDERLAY-FAMILY MARK
	n "$ns2" nft -f - <<EOF
table inet congestion {
	counter outer_ect0 {}
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		udp dport 10002 $1 ecn ect0 counter name outer_ect0
		udp dport 10002 $1 ecn set $2
	}
}
EOF
}
ecn() {
	local ip=ip ect0 ce6 ce4 ect1 lost4 lost6 drops
	[ "$1" = 6 ] && ip=ip6
	# Neighbour discovery is not ECN-capable: under CE it would be dropped.
	n "$ns1" ip -6 neigh replace fd92::2 lladdr "$(mac 2)" dev shoal1 nud permanent || return 1
	n "$ns3" ip -6 neigh replace fd92::1 lladdr "$(mac 1)" dev shoal2 nud permanent || return 1
	congest "$ip" ce || return 1
	n "$ns3" nft -f - <<EOF || return 1
table inet congestion {
	counter inner_ce4 {}
	counter inner_ce6 {}
	counter inner_ect1 {}
	chain in {
		type filter hook input priority filter; policy accept;
		icmp type echo-request ip ecn ce counter name inner_ce4
		icmpv6 type echo-request ip6 ecn ce counter name inner_ce6
		icmp type echo-request ip ecn ect1 counter name inner_ect1
		icmpv6 type echo-request ip6 ecn ect1 counter name inner_ect1
	}
}
EOF
	drops=$(ecn_drops)
	n "$ns1" ping -Q 2 -c 3 -W 2 -i 0.2 10.92.0.2 >/dev/null || echo "# no ECT(0) IPv4 ping 1 -> 2"
	n "$ns1" ping -6 -Q 2 -c 3 -W 2 -i 0.2 fd92::2 >/dev/null || echo "# no ECT(0) IPv6 ping 1 -> 2"
	lost4=$(n "$ns1" ping -c 3 -W 1 -i 0.2 10.92.0.2 2>&1 | grep -o '[0-9]*% packet loss')
	lost6=$(n "$ns1" ping -6 -c 3 -W 1 -i 0.2 fd92::2 2>&1 | grep -o '[0-9]*% packet loss')
	drops=$(($(ecn_drops) - drops))
	ect0=$(n "$ns2" nft list counter inet congestion outer_ect0 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
	n "$ns2" nft delete table inet congestion
	congest "$ip" ect1 || return 1
	n "$ns1" ping -Q 2 -c 3 -W 2 -i 0.2 10.92.0.2 >/dev/null || echo "# no IPv4 ping under ECT(1)"
	n "$ns1" ping -6 -Q 2 -c 3 -W 2 -i 0.2 fd92::2 >/dev/null || echo "# no IPv6 ping under ECT(1)"
	ce4=$(n "$ns3" nft list counter inet congestion inner_ce4 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
	ce6=$(n "$ns3" nft list counter inet congestion inner_ce6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
	ect1=$(n "$ns3" nft list counter inet congestion inner_ect1 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
	n "$ns2" nft delete table inet congestion
	n "$ns3" nft delete table inet congestion
	echo "# outer ECT(0) $ect0; inner CE: IPv4 $ce4, IPv6 $ce6; not-ECT under CE: IPv4 $lost4, IPv6 $lost6, ecn_drops +$drops; inner ECT(1) under outer ECT(1): $ect1"
	[ "${ect0:-0}" -ge 6 ] && [ "${ce4:-0}" -ge 3 ] && [ "${ce6:-0}" -ge 3 ] &&
		[ "$lost4" = "100% packet loss" ] && [ "$lost6" = "100% packet loss" ] &&
		[ "$drops" -ge 6 ] && [ "${ect1:-0}" -ge 6 ]
}
ktap_check "IPv6 underlay: ECN reaches the outer header and CE comes back in" ecn 6

# A 1,280-byte underlay (IPv6's minimum MTU): full-size inner packets
# (1,400 bytes, the device's MTU, DF set) make outer packets of about
# 1,480 bytes, which the sockets' namespaces must fragment and reassemble.
small_underlay() {
	local ret=0
	n "$ns1" ip link set u1 mtu 1280 && n "$ns2" ip link set u2 mtu 1280 || return 1
	n "$ns1" ping -c 3 -W 2 -i 0.2 -M do -s 1372 10.92.0.2 >/dev/null ||
		{ echo "# no full-size IPv4 ping 1 -> 2"; ret=1; }
	n "$ns3" ping -6 -c 3 -W 2 -i 0.2 -M do -s 1352 fd92::1 >/dev/null ||
		{ echo "# no full-size IPv6 ping 2 -> 1"; ret=1; }
	n "$ns1" ip link set u1 mtu 1500 && n "$ns2" ip link set u2 mtu 1500
	return $ret
}
ktap_check "IPv6 underlay of 1,280 bytes: full-size inner packets cross, fragmented" small_underlay

# UDP GRO on shoal's sockets: trains cut into datagrams at u1 (its UDP
# segmentation offload off, and TSO, without which veth hands u2 no
# packet for GRO) are merged again by GRO at u2 (NAPI and GRO on), so $ns2's IP layer takes fewer packets than its UDP layer, which
# cuts them up for the encapsulation hook.  A socket that did not ask
# for GRO gets no merging: both counts would be equal.
underlay_counts() {	# underlay_counts 4|6: $ns2's IP and UDP packets in
	local v=; [ "$1" = 6 ] && v=6
	n "$ns2" nstat -asz "Ip${v}InReceives" "Udp${v}InDatagrams" |
		awk '/InReceives/ { ip = $2 } /InDatagrams/ { udp = $2 }
			END { print ip + 0, udp + 0 }'
}
gro_merges() {	# gro_merges 4|6
	local before after sent got ret=0
	n "$ns1" ethtool -K u1 tso off tx-udp-segmentation off || return 1
	n "$ns2" ethtool -K u2 gro on || return 1
	tcp_sink "$ns3" 10.92.0.2 7002 "$tmp/gro-rx" || ret=1
	before=$(underlay_counts "$1")
	[ $ret = 0 ] && sent=$(tcp_source "$ns1" 10.92.0.2 7002 4)
	[ $ret = 0 ] && wait "$TCP_SINK_PID"
	after=$(underlay_counts "$1")
	n "$ns1" ethtool -K u1 tso on tx-udp-segmentation on
	n "$ns2" ethtool -K u2 gro off
	got=$(grep -v ready "$tmp/gro-rx")
	set -- $before $after
	echo "# 4 MiB: sent ${sent:-}, received $got; $ns2 took $(($3 - $1)) IP packets carrying $(($4 - $2)) ESP packets"
	[ $ret = 0 ] && [ -n "${sent:-}" ] && [ "$sent" = "$got" ] &&
		[ $(($3 - $1)) -gt 0 ] && [ $((($3 - $1) * 4)) -lt $((($4 - $2) * 3)) ]
}
ktap_check "IPv6 underlay: datagrams cut at the sender are merged by UDP GRO at the receiver" gro_merges 6

to_ipv4() {
	n "$ns1" ip addr add 192.0.2.1/24 dev u1 || return 1
	n "$ns2" ip addr add 192.0.2.2/24 dev u2 || return 1
	# With the IPv6 underlay gone, no authenticated packet still on its
	# way over it can roam an endpoint back once it is set to IPv4.
	n "$ns1" ip addr del fd00:92::1/64 dev u1 || return 1
	n "$ns2" ip addr del fd00:92::2/64 dev u2 || return 1
	n "$ns1" "$SHOAL" set shoal1 peer "$(cat "$tmp/pub2")" endpoint 192.0.2.2:10002 || return 1
	n "$ns3" "$SHOAL" set shoal2 peer "$(cat "$tmp/pub1")" endpoint 192.0.2.1:10001 || return 1
	n "$ns1" ping -c 2 -W 2 -i 0.2 10.92.0.2
}
ktap_check "the same peers moved to an IPv4 underlay: ping" to_ipv4
ktap_check "IPv4 underlay: UDP datagrams, IPv4 and IPv6 inside" udp_overlay
ktap_check "IPv4 underlay: no inner conntrack entry or mark on outer packets" scrubbed 4
cat "$tmp/scrub4" 2>/dev/null

ktap_check "IPv4 underlay of 1,280 bytes: full-size inner packets cross, fragmented" small_underlay

ktap_check "IPv4 underlay: ECN reaches the outer header and CE comes back in" ecn 4

ktap_check "IPv4 underlay: datagrams cut at the sender are merged by UDP GRO at the receiver" gro_merges 4

# shoal1 caches its route to shoal2 per CPU (a dst_cache): an endpoint
# set to an address on another link must take that link's route, not
# the one cached for the old address.  A second veth, v1 -- v2, and the
# packets to shoal2's port that arrive on each of $ns2's links are counted
# (not all packets: neighbour discovery on the new link would count too).
rx_on() {	# rx_on IF: packets to shoal2's port $ns2 received on IF
	n "$ns2" nft list counter inet arrived "$1" |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
# shoal2 is moved to shoal1's address on the same link first: a packet
# of its own (an ARP probe, say) from the old link would roam shoal1 back
# there, as an authenticated packet should.
moved_by() {	# moved_by ENDPOINT IF BACK: pings to shoal2 there arrive on IF
	local before after
	n "$ns1" ping -c 3 -W 2 -i 0.2 10.92.0.2 >/dev/null || return 1
	before=$(rx_on "$2")
	n "$ns3" "$SHOAL" set shoal2 peer "$(cat "$tmp/pub1")" endpoint "$3" || return 1
	n "$ns1" "$SHOAL" set shoal1 peer "$(cat "$tmp/pub2")" endpoint "$1" || return 1
	n "$ns1" ping -c 5 -W 2 -i 0.2 10.92.0.2 >/dev/null || return 1
	after=$(rx_on "$2")
	echo "# to $1: $2 received $((after - before)) packets"
	[ $((after - before)) -ge 5 ]
}
other_link() {
	ip -n "$ns1" link add v1 type veth peer name v2 netns "$ns2" || return 1
	n "$ns1" ip addr add 198.51.100.1/24 dev v1 || return 1
	n "$ns2" ip addr add 198.51.100.2/24 dev v2 || return 1
	n "$ns1" ip addr add fd00:93::1/64 dev v1 nodad || return 1
	n "$ns2" ip addr add fd00:93::2/64 dev v2 nodad || return 1
	n "$ns1" ip link set v1 up && n "$ns2" ip link set v2 up || return 1
	n "$ns2" nft -f - <<EOF || return 1
table inet arrived {
	counter u2 {}
	counter v2 {}
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		iifname "u2" udp dport 10002 counter name u2
		iifname "v2" udp dport 10002 counter name v2
	}
}
EOF
	moved_by 198.51.100.2:10002 v2 198.51.100.1:10001
}
ktap_check "an endpoint moved to another link takes its route, not the cached one" other_link

# From IPv4 to IPv6 (the cache holds routes of either family), and from
# one IPv6 link to another.
other_family() {
	moved_by "[fd00:93::2]:10002" v2 "[fd00:93::1]:10001" || return 1
	n "$ns1" ip addr add fd00:92::1/64 dev u1 nodad || return 1
	n "$ns2" ip addr add fd00:92::2/64 dev u2 nodad || return 1
	moved_by "[fd00:92::2]:10002" u2 "[fd00:92::1]:10001"
}
ktap_check "and to IPv6, then another IPv6 link: each time the new route" other_family

ktap_finish
