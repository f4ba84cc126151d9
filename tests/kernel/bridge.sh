#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# A peer that bridges a LAN into the segment: host H sits on a LAN behind
# peer A's bridge; peer B reaches H through A once B has learned H's MAC
# from frames A forwarded (A is marked `bridge` at B).  Devices are made in
# $ns0 (sockets on its loopback) and moved, as in datapath.sh.
#
#  ┌─ $nsh ──────────┐    ┌─ $nsa ─────────────────┐    ┌─ $nsb ────────────┐
#  │ vh 10.94.0.3/24 ├────┤ va ─ br0 ─ shoalA      │    │ shoalB 10.94.0.2/24│
#  └─────────────────┘    └────────────┬───────────┘    └────────┬──────────┘
#                         ┌─ $ns0 ─────┴─────────────────────────┴──┐
#                         │ lo 127.0.0.1: UDP 12001 (A), 12002 (B)   │
#                         └──────────────────────────────────────────┘
#
# With BR_FAMILY=6 (bridge6.sh) the sockets talk over [::1] instead.
set -u
. "$(dirname "$0")/../common/lib.sh"

ns0=$(netns_name br0) nsa=$(netns_name bra) nsb=$(netns_name brb) nsh=$(netns_name brh)
vm_test_begin 9

SHOAL=$BIN/shoal
PY=/usr/bin/python3
ep() {	# ep PORT: $ns0's loopback endpoint of the family under test
	if [ "${BR_FAMILY:-4}" = 6 ]; then echo "[::1]:$1"; else echo "127.0.0.1:$1"; fi
}
newkey() { head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$1"; }
peerstat() {	# peerstat NS DEV FIELD: FIELD of the device's only peer
	n "$1" "$SHOAL" show "$2" --json | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['$3'])"
}

setup() {
	netns_add "$ns0" "$nsa" "$nsb" "$nsh" || return 1
	newkey "$tmp/kab"; newkey "$tmp/kba"
	head -c 32 /dev/urandom | base64 >"$tmp/puba"
	head -c 32 /dev/urandom | base64 >"$tmp/pubb"
	n "$ns0" ip link add shoalA type shoal || return 1
	n "$ns0" ip link add shoalB type shoal || return 1
	ip -n "$ns0" link set shoalA netns "$nsa" || return 1
	ip -n "$ns0" link set shoalB netns "$nsb" || return 1
	n "$nsa" ip link set shoalA address 02:00:00:00:94:0a
	n "$nsb" ip link set shoalB address 02:00:00:00:94:0b
	n "$nsa" "$SHOAL" set shoalA listen-port 12001 peer "$(cat "$tmp/pubb")" \
		mac 02:00:00:00:94:0b endpoint "$(ep 12002)" \
		sa-out 0x9401 "$tmp/kab" sa-in 0x9402 "$tmp/kba" || return 1
	n "$nsb" "$SHOAL" set shoalB listen-port 12002 peer "$(cat "$tmp/puba")" \
		mac 02:00:00:00:94:0a endpoint "$(ep 12001)" bridge \
		sa-out 0x9402 "$tmp/kba" sa-in 0x9401 "$tmp/kab" || return 1
	# A bridges its LAN (one host, H) into the segment.
	n "$nsa" ip link add br0 type bridge || return 1
	n "$nsa" ip link add va type veth peer name vh netns "$nsh" || return 1
	n "$nsa" ip link set va master br0 || return 1
	n "$nsa" ip link set shoalA master br0 || return 1
	for d in va shoalA br0; do n "$nsa" ip link set "$d" up || return 1; done
	n "$nsh" ip addr add 10.94.0.3/24 dev vh || return 1
	n "$nsh" ip link set vh up || return 1
	n "$nsb" ip addr add 10.94.0.2/24 dev shoalB || return 1
	n "$nsb" ip link set shoalB up || return 1
	# Let the bridge ports reach forwarding.
	sleep 1
}
ktap_check "a LAN bridged in behind peer A" setup

ktap_check "peer B reaches host H behind A's bridge" \
	n "$nsb" ping -c 3 -i 0.3 -W 3 10.94.0.3

ktap_check "H reaches B" n "$nsh" ping -c 2 -i 0.3 -W 3 10.94.0.2

ktap_check "frames from H's MAC are not spoofing for a bridge peer" \
	sh -c "[ \"\$(ip netns exec $nsb $SHOAL show shoalB --json |
		$PY -c 'import json,sys; print(json.load(sys.stdin)[0][\"spoofed_src\"])')\" = 0 ]"

# A host behind a bridge peer may not speak as B itself, as another of
# B's peers or as a group: each such frame is dropped as spoofed, while
# one from an ordinary new MAC is not.
devstat() {
	n "$nsb" "$SHOAL" show shoalB --json | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['$1'])"
}
# A's own bridge would not pass such frames (it drops group sources and
# learns the others on H's port): they are sent straight into shoalA, as
# a bridge that let them through would.
frame_from() {	# frame_from SRC-MAC: one frame across A to B with that source
	n "$nsa" $PY -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shoalA", 0))
mac = lambda m: bytes.fromhex(m.replace(":", ""))
s.send(mac("02:00:00:00:94:0b") + mac(sys.argv[1]) + b"\x88\xb5" + b"x" * 46)' "$1"
}
claims() {
	local before after src
	newkey "$tmp/kcb"; newkey "$tmp/kbc"
	head -c 32 /dev/urandom | base64 >"$tmp/pubc"
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/pubc")" mac 02:00:00:00:94:0c \
		endpoint "$(ep 12003)" sa-out 0x9403 "$tmp/kbc" sa-in 0x9404 "$tmp/kcb" || return 1
	before=$(devstat spoofed_src)
	for src in 02:00:00:00:94:0b 02:00:00:00:94:0c 03:00:00:00:00:01; do
		frame_from "$src" || return 1
	done
	sleep 0.5
	after=$(devstat spoofed_src)
	echo "# spoofed_src: $before -> $after after frames from B's, C's and a group MAC"
	[ "$after" = $((before + 3)) ] || return 1
	frame_from 02:00:00:00:94:33 || return 1
	sleep 0.5
	[ "$(devstat spoofed_src)" = "$after" ] || { echo "# an ordinary MAC counted as spoofed"; return 1; }
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/pubc")" remove
}
ktap_check "a bridged host cannot claim B's MAC, another peer's or a group's" claims

# More hosts behind the bridge than the FDB holds (4,096): each frame
# still arrives, whether its source was learned or not, and the table is
# aged by a work item, never walked per frame (the walk, with BH off, was
# what a flood of new MACs would make every frame pay once it was full).
# The frames go in batches of 250, each awaited at B before the next:
# one burst of 6,000 overran the loopback's backlog and the peers' queues
# (1,000, 1,024, 512) on a loaded machine, which says nothing of the FDB.
many_hosts() {
	local t0 took
	t0=$(date +%s.%N)
	n "$nsa" $PY -c '
import json, socket, subprocess, sys, time
nsb, shoal = sys.argv[1], sys.argv[2]
def rx():
    out = subprocess.run(["ip", "netns", "exec", nsb, shoal, "show", "shoalB", "--json"],
                         check=True, capture_output=True).stdout
    return json.loads(out)[0]["peers"][0]["rx_packets"]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shoalA", 0))
dst = bytes.fromhex("02000000940b")
base = rx()
for start in range(0, 6000, 250):
    for i in range(start, start + 250):
        s.send(dst + bytes([0x02, 0x95, 0, i >> 8, i & 0xff, 1]) + b"\x88\xb5" + b"y" * 46)
    deadline = time.monotonic() + 10
    while (got := rx() - base) < start + 250 and time.monotonic() < deadline:
        time.sleep(0.05)
    if got < start + 250:
        print(f"# frames {start}..{start + 249}: {got} of {start + 250} arrived within 10 s")
        sys.exit(1)
print(f"# 6,000 frames from 6,000 new MACs: {got} arrived")' "$nsb" "$SHOAL" || return 1
	took=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "# in ${took} s"
}
ktap_check "6,000 hosts behind a bridge peer, more than the FDB holds: every frame arrives" many_hosts

# A bridge peer removed with the hosts learned behind it (H and a full
# table): their entries go with it, so frames B sends to those MACs find
# no peer (on the debug kernel, KASAN would see an entry left pointing at
# the freed peer).  Then A is back, under new keys, and H reaches B.
removed_with_hosts() {
	local hmac
	hmac=$(n "$nsh" cat /sys/class/net/vh/address)
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" remove || return 1
	n "$nsb" $PY -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shoalB", 0))
src = bytes.fromhex("02000000940b")
for dst in (bytes.fromhex(sys.argv[1].replace(":", "")), bytes([2, 0x95, 0, 0, 5, 1])):
    for _ in range(10):
        s.send(dst + src + b"\x88\xb5" + b"z" * 46)' "$hmac" || return 1
	newkey "$tmp/kab2"; newkey "$tmp/kba2"
	n "$nsa" "$SHOAL" set shoalA peer "$(cat "$tmp/pubb")" \
		sa-out 0x9411 "$tmp/kab2" sa-in 0x9412 "$tmp/kba2" || return 1
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" \
		mac 02:00:00:00:94:0a endpoint "$(ep 12001)" bridge \
		sa-out 0x9412 "$tmp/kba2" sa-in 0x9411 "$tmp/kab2" || return 1
	n "$nsh" ping -c 2 -i 0.3 -W 3 10.94.0.2 >/dev/null
}
ktap_check "a bridge peer removed takes its learned hosts with it; back, it learns again" \
	removed_with_hosts

# B's stack takes no checksum of what a bridge peer passes on from its
# LAN as checked: H sends B a UDP datagram with a wrong checksum, then
# one with a right one, as raw frames; only the second arrives.
bad_checksum() {
	local i
	rm -f "$tmp/udp-bound"
	n "$nsb" timeout 15 $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.94.0.2", 9999))
open(sys.argv[1], "w").close()
s.settimeout(5)
try:
    while True:
        print(s.recv(100).decode(), flush=True)
except socket.timeout:
    pass' "$tmp/udp-bound" >"$tmp/udp-got" &
	for i in $(seq 100); do [ -e "$tmp/udp-bound" ] && break; sleep 0.1; done
	n "$nsh" $PY -c '
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton("10.94.0.3"), socket.inet_aton("10.94.0.2")
def frame(payload, wrong):
    udp = struct.pack("!HHHH", 4444, 9999, 8 + len(payload), 0) + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xffff
    if wrong: c = c ^ 0x0101
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    mac = lambda m: bytes.fromhex(m.replace(":", ""))
    own = open("/sys/class/net/vh/address").read().strip()
    return mac("02:00:00:00:94:0b") + mac(own) + b"\x08\x00" + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vh", 0))
s.send(frame(b"wrong-checksum", True))
s.send(frame(b"right-checksum", False))' || return 1
	wait %% 2>/dev/null
	sed 's/^/# received: /' "$tmp/udp-got"
	grep -qx right-checksum "$tmp/udp-got" && ! grep -q wrong "$tmp/udp-got"
}
ktap_check "a datagram with a wrong checksum from behind the bridge is dropped, a right one arrives" \
	bad_checksum

# Take the bridge flag away: H's frames are now spoofed and dropped, and
# the learned entry goes with the peer when it is removed.
not_bridge() {
	local before
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" no-bridge || return 1
	before=$(peerstat "$nsb" shoalB spoofed_src)
	n "$nsh" ping -c 2 -i 0.3 -W 1 10.94.0.2 >/dev/null 2>&1
	[ "$(peerstat "$nsb" shoalB spoofed_src)" -gt "$before" ] || return 1
	n "$nsb" "$SHOAL" set shoalB peer "$(cat "$tmp/puba")" remove || return 1
	! n "$nsb" ping -c 1 -W 1 10.94.0.3 >/dev/null 2>&1
}
ktap_check "without the bridge flag H's frames count as spoofed" not_bridge

ktap_finish
