#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# Interoperability with Linux's own IPsec stack: a shoal peer marked
# layer3 is an xfrm tunnel-mode peer (ESP-in-UDP, RFC 3948; ESN;
# rfc7539esp(chacha20,poly1305)).  shoal0 is created in $ns1, so its UDP
# socket lives there; $ns2 holds the xfrm states and policies, an
# ESPINUDP encapsulation socket on UDP 14501 (held by a python3 process
# for the test's duration) and the inner addresses on lo:
#
#  ┌──────────────────────────────────┐   ┌──────────────────────────────────┐
#  │ $ns1 (shoal)                     │   │ $ns2 (Linux xfrm)                │
#  │ shoal0 10.92.0.1/24, fd92::1/64  │   │ lo 10.92.0.2/32, fd92::2/128     │
#  │   peer mac 02:00:00:00:92:02     │   │ xfrm out SPI 0x9201 (KA)         │
#  │   layer3, sa-out 0x9202 (KB)     │   │ xfrm in  SPI 0x9202 (KB)         │
#  │   sa-in 0x9201 (KA), UDP 14500   │   │ ESPINUDP socket, UDP 14501       │
#  │ veth1 192.168.92.1/24 ───────────┼───┼─ veth2 192.168.92.2/24           │
#  └──────────────────────────────────┘   └──────────────────────────────────┘
#
# With XI_FAMILY=6 (xfrm_interop6.sh) the underlay is IPv6 instead, veth1
# fd93::1/64 and veth2 fd93::2/64 (Linux's ESP-in-UDP over IPv6).
set -u
. "$(dirname "$0")/../common/lib.sh"

ns1=$(netns_name xi1) ns2=$(netns_name xi2)
vm_test_begin 14

PY=/usr/bin/python3
SHOAL=$BIN/shoal
SPI_A=0x9201		# xfrm ($ns2) -> shoal ($ns1)
SPI_B=0x9202		# shoal ($ns1) -> xfrm ($ns2)
PORT1=14500 PORT2=14501
PEERMAC=02:00:00:00:92:02 DEVMAC=02:00:00:00:92:01
# The underlay: each side's address, its prefix length, the wildcard
# address, and extra `ip addr` arguments.
if [ "${XI_FAMILY:-4}" = 6 ]; then
	OUT1=fd93::1 OUT2=fd93::2 OPLEN=64 ANY=:: ADDRARGS=nodad
	EP2="[$OUT2]:$PORT2"
else
	OUT1=192.168.92.1 OUT2=192.168.92.2 OPLEN=24 ANY=0.0.0.0 ADDRARGS=
	EP2="$OUT2:$PORT2"
fi
head -c 32 /dev/urandom | base64 >"$tmp/pub"
for k in A B; do
	head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$tmp/key$k"
done

netns_add "$ns1" "$ns2"

# The ESPINUDP socket: without one on the xfrm side's port, ESP-in-UDP
# arriving there is an ordinary datagram to a closed port.  Started here,
# not inside a ktap_check, so that cleanup's `jobs` sees it and no
# command substitution waits for it.
n "$ns2" $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 100, 2)	# UDP_ENCAP, UDP_ENCAP_ESPINUDP
s.bind((sys.argv[3], int(sys.argv[1])))
open(sys.argv[2], "w").close()
while True:
    time.sleep(3600)
' "$PORT2" "$tmp/encap-ready" "$ANY" >"$tmp/encap.log" 2>&1 &

xfrm_side() {
	local ka kb
	ka=0x$(cat "$tmp/keyA") kb=0x$(cat "$tmp/keyB")
	n "$ns2" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	n "$ns2" ip addr add "$OUT2/$OPLEN" dev veth2 $ADDRARGS || return 1
	n "$ns2" ip link set veth2 up || return 1
	n "$ns2" ip addr add 10.92.0.2/32 dev lo || return 1
	n "$ns2" ip addr add fd92::2/128 dev lo || return 1
	# af-unspec leaves the states' selector family unset (iproute2 and
	# the kernel otherwise make it the outer one): one SA carries both
	# inner families.
	n "$ns2" ip xfrm state add src "$OUT2" dst "$OUT1" \
		proto esp spi "$SPI_A" mode tunnel reqid 9201 \
		replay-window 128 flag esn af-unspec \
		aead 'rfc7539esp(chacha20,poly1305)' "$ka" 128 \
		encap espinudp "$PORT2" "$PORT1" "$ANY" || return 1
	n "$ns2" ip xfrm state add src "$OUT1" dst "$OUT2" \
		proto esp spi "$SPI_B" mode tunnel reqid 9202 \
		replay-window 128 flag esn af-unspec \
		aead 'rfc7539esp(chacha20,poly1305)' "$kb" 128 \
		encap espinudp "$PORT1" "$PORT2" "$ANY" || return 1
	local fam src dst
	for fam in 4 6; do
		if [ $fam = 4 ]; then src=10.92.0.2/32 dst=10.92.0.0/24
		else src=fd92::2/128 dst=fd92::/64; fi
		n "$ns2" ip xfrm policy add src "$src" dst "$dst" dir out \
			tmpl src "$OUT2" dst "$OUT1" proto esp \
			reqid 9201 mode tunnel || return 1
		n "$ns2" ip xfrm policy add src "$dst" dst "$src" dir in \
			tmpl src "$OUT1" dst "$OUT2" proto esp \
			reqid 9202 mode tunnel || return 1
	done
	n "$ns2" ip route add 10.92.0.0/24 dev veth2 src 10.92.0.2 || return 1
	n "$ns2" ip -6 route add fd92::/64 dev veth2 src fd92::2 || return 1
	for _ in $(seq 50); do
		[ -e "$tmp/encap-ready" ] && return 0
		sleep 0.1
	done
	echo "the ESPINUDP socket did not come up:"
	cat "$tmp/encap.log"
	return 1
}

shoal_side() {
	n "$ns1" ip addr add "$OUT1/$OPLEN" dev veth1 $ADDRARGS || return 1
	n "$ns1" ip link set veth1 up || return 1
	n "$ns1" ip link add shoal0 type shoal || return 1
	n "$ns1" ip link set shoal0 address "$DEVMAC" || return 1
	n "$ns1" "$SHOAL" set shoal0 listen-port "$PORT1" \
		peer "$(cat "$tmp/pub")" mac "$PEERMAC" \
		endpoint "$EP2" layer3 \
		sa-out "$SPI_B" "$tmp/keyB" sa-in "$SPI_A" "$tmp/keyA" || return 1
	n "$ns1" ip addr add 10.92.0.1/24 dev shoal0 || return 1
	n "$ns1" ip addr add fd92::1/64 dev shoal0 nodad || return 1
	n "$ns1" ip link set shoal0 up || return 1
	# xfrm answers neither ARP nor neighbour solicitations.
	n "$ns1" ip neigh add 10.92.0.2 lladdr "$PEERMAC" dev shoal0 nud permanent || return 1
	n "$ns1" ip -6 neigh add fd92::2 lladdr "$PEERMAC" dev shoal0 nud permanent || return 1
}

setup() {
	ip link add veth1 netns "$ns1" type veth peer name veth2 netns "$ns2" || return 1
	xfrm_side && shoal_side
}
ktap_check "setup: shoal0 with a layer3 peer, xfrm states and policies" setup

# Every failing ping leaves both sides' view in the log.
diag() {
	echo "--- $ns2: ip -s xfrm state"; n "$ns2" ip -s xfrm state
	echo "--- $ns2: /proc/net/xfrm_stat"; n "$ns2" awk '$2 != 0' /proc/net/xfrm_stat
	echo "--- $ns1: shoal show"; n "$ns1" "$SHOAL" show shoal0
	echo "--- $ns1: ip -s link show shoal0"; n "$ns1" ip -s link show shoal0
}
ping_check() {	# ping_check NS ARGS...
	local ns=$1
	shift
	n "$ns" ping -c 3 -i 0.2 -W 2 "$@" || { diag; return 1; }
}
ktap_check "ping IPv4 shoal -> xfrm (10.92.0.2)" ping_check "$ns1" 10.92.0.2
ktap_check "ping IPv4 xfrm -> shoal (10.92.0.1)" ping_check "$ns2" -I 10.92.0.2 10.92.0.1
ktap_check "ping IPv6 shoal -> xfrm (fd92::2)" ping_check "$ns1" -6 fd92::2
ktap_check "ping IPv6 xfrm -> shoal (fd92::1)" ping_check "$ns2" -6 -I fd92::2 fd92::1

# Payloads of every length mod 4 take every pad length (0..3) both ways:
# Linux checks shoal's padding and shoal checks Linux's.
sizes() {
	local s
	for s in 56 57 58 59 1000 1001 1002 1003; do
		n "$ns1" ping -c 1 -W 2 -s "$s" 10.92.0.2 >/dev/null ||
			{ echo "shoal -> xfrm, -s $s failed"; diag; return 1; }
		n "$ns2" ping -c 1 -W 2 -s "$s" -I 10.92.0.2 10.92.0.1 >/dev/null ||
			{ echo "xfrm -> shoal, -s $s failed"; diag; return 1; }
	done
}
ktap_check "ping with every pad length (sizes 56..59, 1000..1003) both ways" sizes

# TCP from shoal leaves in trains (UDP GSO packets of ESP packets, cut
# by the stack before xfrm's socket): xfrm opens each packet of them.
# Checked with the counters below and /proc/net/xfrm_stat after.
tcp_trains() {
	local sent got skbs
	tcp_sink "$ns2" 10.92.0.2 7002 "$tmp/tcp-rx" || return 1
	skbs=$(n "$ns1" cat /sys/class/net/veth1/statistics/tx_packets)
	sent=$(tcp_source "$ns1" 10.92.0.2 7002 2)
	wait "$TCP_SINK_PID"
	skbs=$(($(n "$ns1" cat /sys/class/net/veth1/statistics/tx_packets) - skbs))
	got=$(grep -v ready "$tmp/tcp-rx")
	echo "# 2 MiB shoal -> xfrm: sent $sent, received $got; veth1 sent $skbs packets (trains count once)"
	[ -n "$sent" ] && [ "$sent" = "$got" ]
}
ktap_check "2 MiB of TCP from shoal (sent in trains) arrive intact at xfrm" tcp_trains

# `ip -s xfrm state` prints "lifetime current:" and then
# "  N(bytes), M(packets)"; both SAs must have carried packets.
xfrm_counts() {
	n "$ns2" ip -s xfrm state >"$tmp/xstate" || return 1
	$PY - "$tmp/xstate" "$SPI_A" "$SPI_B" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ok = True
for spi in sys.argv[2:]:
    # One block per state, from its "src ... dst ..." line to the next.
    blocks = re.split(r'\n(?=src )', text)
    b = [b for b in blocks if re.search(r'spi 0x%08x\b' % int(spi, 0), b)]
    if len(b) != 1:
        print("# no state with spi %s" % spi); ok = False; continue
    m = re.search(r'lifetime current:\s*\n\s*(\d+)\(bytes\), (\d+)\(packets\)', b[0])
    if not m or int(m.group(2)) == 0:
        print("# spi %s carried no packets" % spi); ok = False
    else:
        print("# spi %s: %s bytes, %s packets" % (spi, m.group(1), m.group(2)))
    st = re.search(r'stats:\s*\n\s*replay-window \d+ replay (\d+) failed (\d+)', b[0])
    if st and (int(st.group(1)) or int(st.group(2))):
        print("# spi %s: replay %s failed %s" % (spi, st.group(1), st.group(2))); ok = False
if not ok:
    print(text)
sys.exit(0 if ok else 1)
PY
}
ktap_check "ip -s xfrm state: both SAs carried packets, no replay or auth failure" xfrm_counts

shoal_counts() {
	n "$ns1" "$SHOAL" show shoal0 --json >"$tmp/show.json" || return 1
	$PY - "$tmp/show.json" "$PEERMAC" "$SPI_A" "$SPI_B" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))[0]
mac, spi_in, spi_out = sys.argv[2], int(sys.argv[3], 0), int(sys.argv[4], 0)
p = [p for p in d["peers"] if p["mac"] == mac]
assert len(p) == 1, d
p = p[0]
print("# %s" % json.dumps(p))
assert p["layer3"] is True, p
assert p["sa_out_spi"] == spi_out and p["sa_in_spis"] == [spi_in], p
assert p["rx_packets"] > 0 and p["tx_packets"] > 0, p
assert p["rx_bytes"] > 0 and p["tx_bytes"] > 0 and p["last_rx"] > 0, p
assert p["auth_failures"] == 0 and p["replays"] == 0, p
assert d["malformed"] == 0 and d["spoofed_src"] == 0, d
PY
}
ktap_check "shoal show --json: the layer3 peer counts rx and tx, no errors" shoal_counts

tx_dropped() {
	n "$ns1" ip -j -s link show shoal0 | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}
peer_tx() {
	n "$ns1" "$SHOAL" show shoal0 --json |
		$PY -c 'import json,sys; print(json.load(sys.stdin)[0]["peers"][0]["tx_packets"])'
}
send_ipx() {	# send_ipx DSTMAC COUNT: IPX-ethertype frames out of shoal0
	n "$ns1" $PY -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shoal0", 0))
dst, src = bytes.fromhex(sys.argv[1].replace(":", "")), bytes.fromhex(sys.argv[2].replace(":", ""))
for _ in range(int(sys.argv[3])):
    s.send(dst + src + b"\x81\x37" + b"IPX!!" + bytes(41))
' "$1" "$DEVMAC" "$2"
}

# The wire as an independent decoder reads it: what shoal sends a layer3
# peer is bare IP (next header 4 or 41), what xfrm sends decodes with the
# same AAD (SPI || seq_hi || seq_lo), and a non-IP frame never leaves.
wire() {
	local drop0 tx0 drop1 tx1
	n "$ns1" timeout 20 tcpdump -i veth1 -U -w "$tmp/wire.pcap" udp port "$PORT1" 2>/dev/null &
	# tcpdump writes the file once capturing.
	for _ in $(seq 100); do
		[ -s "$tmp/wire.pcap" ] && break
		sleep 0.1
	done
	sleep 0.5
	n "$ns1" ping -c 2 -i 0.2 -W 2 10.92.0.2 >/dev/null || { echo "ping 10.92.0.2 failed"; return 1; }
	n "$ns1" ping -6 -c 2 -i 0.2 -W 2 fd92::2 >/dev/null || { echo "ping fd92::2 failed"; return 1; }
	drop0=$(tx_dropped) tx0=$(peer_tx)
	send_ipx "$PEERMAC" 3 || { echo "sending IPX frames failed"; return 1; }
	send_ipx ff:ff:ff:ff:ff:ff 2 || { echo "sending IPX frames failed"; return 1; }
	sleep 0.5
	drop1=$(tx_dropped) tx1=$(peer_tx)
	n "$ns2" ping -c 2 -i 0.2 -W 2 -I 10.92.0.2 10.92.0.1 >/dev/null || { echo "ping 10.92.0.1 failed"; return 1; }
	sleep 1
	kill %% 2>/dev/null; wait %% 2>/dev/null
	echo "# tx_dropped $drop0 -> $drop1, peer tx_packets $tx0 -> $tx1"
	$PY "$TOP/tests/common/esp_decode.py" "$tmp/wire.pcap" --json \
		--sa "$SPI_A=$(cat "$tmp/keyA")" --sa "$SPI_B=$(cat "$tmp/keyB")" \
		>"$tmp/wire.json" || { cat "$tmp/wire.json"; return 1; }
	$PY - "$tmp/wire.json" "$SPI_A" "$SPI_B" <<'PY' || return 1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
spi_a, spi_b = int(sys.argv[2], 0), int(sys.argv[3], 0)
esp = [r for r in recs if r["kind"] == "esp"]
bad = [r for r in recs if r["kind"] not in ("esp",)]
assert not bad, "not ESP or not decodable: %s" % bad
out = [r for r in esp if r["spi"] == spi_b]	# shoal -> xfrm
inn = [r for r in esp if r["spi"] == spi_a]	# xfrm -> shoal
for r in esp:
    p = bytes.fromhex(r["payload"])
    assert r["next_header"] in (4, 41), "next header %d: %s" % (r["next_header"], r)
    assert p[0] >> 4 == (4 if r["next_header"] == 4 else 6), r
    assert b"IPX!!" not in p, "a non-IP frame was sent: %s" % r
# shoal's echo requests: IPv4 ICMP type 8 and ICMPv6 type 128.
assert any(r["next_header"] == 4 and bytes.fromhex(r["payload"])[20] == 8 for r in out), "no IPv4 echo request from shoal"
assert any(r["next_header"] == 41 and bytes.fromhex(r["payload"])[40] == 128 for r in out), "no IPv6 echo request from shoal"
assert any(r["next_header"] == 4 and bytes.fromhex(r["payload"])[20] == 8 for r in inn), "no IPv4 echo request from xfrm"
print("# %d ESP packets from shoal, %d from xfrm, all next header 4/41" % (len(out), len(inn)))
PY
	# Five non-IP frames (three unicast, two broadcast) to the only
	# peer, a layer3 one: each dropped and counted, and the capture above
	# holds none of them.  (The peer's tx_packets may still rise: the
	# device's own IPv6 chatter goes to it as next header 41.)
	[ "$((drop1 - drop0))" -ge 5 ] || { echo "tx_dropped rose by $((drop1 - drop0)), not 5"; return 1; }
	echo "# peer tx_packets $tx0 -> $tx1 meanwhile"
}
ktap_check "wire: shoal sends bare IP (nh 4/41), xfrm's packets decode, non-IP never sent" wire

# Still working after all that, and the xfrm side saw no errors.
after() {
	n "$ns1" ping -c 1 -W 2 10.92.0.2 >/dev/null || { diag; return 1; }
	n "$ns2" cat /proc/net/xfrm_stat | awk '$2 != 0 && $1 !~ /^XfrmOutNoStates|^XfrmInNoPols|^XfrmInTmplMismatch|^XfrmInPolBlock/ { print; bad = 1 } END { exit bad }'
}
ktap_check "no xfrm error counters after the run (/proc/net/xfrm_stat)" after

# A changed key on one side only: xfrm must reject shoal's packets
# (XfrmInStateProtoError) and shoal must count xfrm's as auth failures.
rekey_mismatch() {
	local af0 af1
	head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$tmp/keyC"
	af0=$(n "$ns1" "$SHOAL" show shoal0 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["peers"][0]["auth_failures"])')
	n "$ns1" "$SHOAL" set shoal0 peer "$(cat "$tmp/pub")" sa-in "$SPI_A" "$tmp/keyC" || return 1
	n "$ns2" ping -c 2 -i 0.2 -W 1 -I 10.92.0.2 10.92.0.1 >/dev/null && { echo "ping passed with a wrong key"; return 1; }
	af1=$(n "$ns1" "$SHOAL" show shoal0 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["peers"][0]["auth_failures"])')
	[ "$af1" -ge $((af0 + 2)) ] || { echo "auth_failures $af0 -> $af1"; return 1; }
	# Back to the right key: traffic flows again.
	n "$ns1" "$SHOAL" set shoal0 peer "$(cat "$tmp/pub")" sa-in "$SPI_A" "$tmp/keyA" || return 1
	ping_check "$ns2" -I 10.92.0.2 10.92.0.1 >/dev/null
}
ktap_check "a wrong inbound key counts auth failures; the right one restores traffic" rekey_mismatch

# Received packets carry the peer's MAC as source and shoal0's as
# destination: a packet socket on shoal0 sees the Ethernet header shoal
# built for the layer3 peer.
eth_header() {
	local ok=
	n "$ns1" timeout 10 $PY -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("shoal0", 0))
open(sys.argv[1], "w").close()
while True:
    f, a = s.recvfrom(2000)
    if a[2] == socket.PACKET_HOST and f[12:14] == b"\x08\x00" and f[14 + 9] == 1 and f[14 + 20] == 8:
        print(f[0:6].hex(":"), f[6:12].hex(":")); break
' "$tmp/eth-ready" >"$tmp/eth" 2>&1 &
	for _ in $(seq 50); do
		[ -e "$tmp/eth-ready" ] && break
		sleep 0.1
	done
	n "$ns2" ping -c 2 -i 0.3 -W 2 -I 10.92.0.2 10.92.0.1 >/dev/null && ok=1
	wait %% 2>/dev/null
	[ -n "$ok" ] || { echo "ping 10.92.0.1 failed"; diag; return 1; }
	[ "$(cat "$tmp/eth")" = "$DEVMAC $PEERMAC" ] || { echo "got '$(cat "$tmp/eth")'"; return 1; }
}
ktap_check "received IP gets an Ethernet header from the peer's MAC to shoal0's" eth_header


# Extended sequence numbers across 2^32 (RFC 4303 A.2): xfrm's outbound
# SA restarts 8,192 packets below the boundary, under a fresh key, and
# floods shoal past it.  shoal infers the high half from its window and
# authenticates it (it is in the AAD), so nothing is lost to the wrap.
esn_rollover() {
	local ke out a0 a1 r0 r1 oseq
	head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$tmp/keyE"
	ke=0x$(cat "$tmp/keyE")
	peer_field() {
		n "$ns1" "$SHOAL" show shoal0 --json |
			$PY -c "import json,sys; print(json.load(sys.stdin)[0]['peers'][0]['$1'])"
	}
	n "$ns2" ip xfrm state delete src "$OUT2" dst "$OUT1" \
		proto esp spi "$SPI_A" || return 1
	n "$ns2" ip xfrm state add src "$OUT2" dst "$OUT1" \
		proto esp spi "$SPI_A" mode tunnel reqid 9201 \
		replay-window 128 replay-oseq 0xffffe000 flag esn af-unspec \
		aead 'rfc7539esp(chacha20,poly1305)' "$ke" 128 \
		encap espinudp "$PORT2" "$PORT1" "$ANY" || return 1
	n "$ns1" "$SHOAL" set shoal0 peer "$(cat "$tmp/pub")" sa-in "$SPI_A" "$tmp/keyE" || return 1
	a0=$(peer_field auth_failures) r0=$(peer_field replays)
	out=$(n "$ns2" ping -f -c 8400 -W 2 -q -I 10.92.0.2 10.92.0.1 2>&1 | grep 'packet loss')
	echo "# 8,400 pings from 2^32 - 8,192 on: $out"
	oseq=$(n "$ns2" ip -s xfrm state get src "$OUT2" dst "$OUT1" \
		proto esp spi "$SPI_A" | grep -o 'oseq-hi 0x[0-9a-f]*, oseq 0x[0-9a-f]*')
	echo "# xfrm's outbound SA now at $oseq"
	a1=$(peer_field auth_failures) r1=$(peer_field replays)
	echo "# shoal: auth failures $a0 -> $a1, replays $r0 -> $r1"
	[[ $oseq == "oseq-hi 0x1, "* ]] || return 1
	[ "$a1" = "$a0" ] && [ "$r1" = "$r0" ] || return 1
	ping_check "$ns2" -I 10.92.0.2 10.92.0.1 >/dev/null
}
ktap_check "ESN: xfrm's sequence numbers cross 2^32 into shoal without a loss" esn_rollover

ktap_finish
