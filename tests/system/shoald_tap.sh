#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald in static mode on the TAP datapath (userspace ESP), on the host:
# two daemons in two namespaces (topology in shoald_lib.sh) handshake,
# carry pings both ways, rekey every second under a 200 packets/s ping
# without losing one, shrug off 10,000 forged handshakes a second from
# one source and 5,000 from spoofed ones (cookies), and refuse a recorded
# INIT replayed after a kill -9 and restart.
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
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root and /dev/net/tun"
	ktap_finish
fi
ktap_plan 37
PY=/usr/bin/python3

sd_topology || { echo "Bail out! cannot build the namespaces"; exit 1; }

# 1-3: a bad file is refused with its line and reason; nothing is created.
printf '[Interface]\nName = shoal1\nListenPort = 99999\n' >"$tmp/bad.conf"
out=$(ip netns exec "$sd_ns1" "$SHOALD" --config "$tmp/bad.conf" --foreground \
	--state-dir "$tmp/state-bad" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
ktap_check "a bad config exits 2" test "$rc" = 2
ktap_check "the message gives file, line and reason" \
	grep -q "bad.conf:3: .*ListenPort" <<<"$out"
ktap_check "nothing was created" \
	sh -c "! ip -n $sd_ns1 link show shoal1 2>/dev/null"

sd_config 1
sd_config 2
# Daemon 1 on auto: the host has no shoal.ko, so it must say why, once,
# and run on the TAP datapath.
sd_start 1 auto && sd_start 2 tap
if modinfo shoal >/dev/null 2>&1; then
	ktap_skip "auto without the module: this host has shoal.ko"
else
	grep "warning" "$tmp/shoald1.log" | sed 's/^/# /'
	ktap_check "auto without the module: one warning with the reason, then TAP" \
		test "$(grep -c 'warning: no kernel datapath: there is no shoal.ko for kernel .*TAP datapath' "$tmp/shoald1.log")" = 1
fi
sd_tunnel_checks tap/tap tap tap
ktap_check "status (text) names the peer" sh -c \
	"'$BIN/shoal' status --socket '$tmp/s1.sock' | grep -q 'status: online, path direct'"
ktap_check "the underlay carries ESP, not the plaintext" sd_check_encrypted

# The TAP takes TCP trains (TSO, lib/vnet.c cuts them) and leaves
# checksums to shoald: 4 MiB cross intact, and the stack takes them;
# the receiving shoald merges the segments again (shoal_gro_add).
tap_tso_on() {
	ip netns exec "$sd_ns1" /usr/bin/python3 -c '
import array, fcntl, socket, struct, sys
value = array.array("I", [0x1e, 0])	# ETHTOOL_GTSO
ifr = struct.pack("16sP", b"shoal1", value.buffer_info()[0])
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, ifr)
sys.exit(0 if value[1] else 1)'
}
tcp_intact() {
	local got sent retrans bad writes
	tcp_sink "$sd_ns2" 10.77.0.2 5001 "$tmp/tcp-recv" || return 1
	writes=$(cat_rx_packets)
	sent=$(tcp_source "$sd_ns1" 10.77.0.2 5001 4)
	wait "$TCP_SINK_PID"
	# A segment cut wrong is dropped by the receiving stack and sent
	# again (often alone, uncut), so the stream alone proves little:
	# the receiver's namespace (fresh, no other TCP) counts every
	# segment refused for its checksum or IP header.
	bad=$(ip netns exec "$sd_ns2" nstat -asz TcpInCsumErrors IpInHdrErrors \
		IpInTruncatedPkts | awk '/^(Tcp|Ip)In/ { n += $2 } END { print n + 0 }')
	retrans=$(ip netns exec "$sd_ns1" nstat -asz TcpRetransSegs |
		awk '/TcpRetransSegs/ { print $2 }')
	got=$(grep -v ready "$tmp/tcp-recv")
	# Receive coalescing: shoald 2 wrote fewer frames to its TAP (each
	# counted there as received) than the 3,100 segments of 1,348 bytes
	# (MTU 1400) 4 MiB take.
	writes=$(($(cat_rx_packets) - writes))
	echo "# sent $sent; received $got; refused by the receiver $bad, retransmitted ${retrans:-?}; frames written to shoal2: $writes"
	# Where a retransmitted segment was lost: a full socket buffer, or
	# the TAP's queue towards a busy shoald.
	echo "# lost: UDP receive buffers $(for ns in "$sd_ns1" "$sd_ns2"; do
		ip netns exec "$ns" nstat -asz UdpRcvbufErrors | awk '/Udp/ { printf "%s ", $2 }'
	done)(1, 2); TAP tx_dropped $(ip netns exec "$sd_ns1" cat /sys/class/net/shoal1/statistics/tx_dropped) (1)"
	[ -n "$sent" ] && [ "$sent" = "$got" ] && [ "$bad" = 0 ] &&
		[ "$writes" -lt 2300 ]
}
cat_rx_packets() {
	ip netns exec "$sd_ns2" cat /sys/class/net/shoal2/statistics/rx_packets
}
ktap_check "the TAP takes TCP trains (TSO on)" tap_tso_on
ktap_check "4 MiB of TCP cross tap/tap intact, cut from trains and merged again" tcp_intact

# 14-15: rekey every second under 200 pings a second, for 20 s.
sd_rekey_checks tap

# 16-18: 10,000 forged INITs a second for 10 s at daemon 1, from .3.
sd_stop 1; sd_stop 2
sd_config 1
sd_config 2
: >"$tmp/shoald1.log"; : >"$tmp/shoald2.log"
sd_start 1 tap
pid=$(sd_pid 1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(ticks "$pid")
ip netns exec "$sd_ns2" $PY "$TOP/tests/common/forge_handshake.py" \
	--to 192.168.77.1:51821 --pub "$(cat "$tmp/pub1")" --src 192.168.77.3 \
	--rate 10000 --seconds 10 >"$tmp/forged" &
forger=$!
sleep 2
# A genuine peer turns up in the middle of the flood.
sd_start 2 tap
start=$(date +%s.%N)
ok=0
sd_wait_online 2 8 && ok=1
echo "# genuine handshake under the flood took $(awk "BEGIN {print $(date +%s.%N) - $start}") s"
wait $forger
t1=$(ticks "$pid")
hz=$(getconf CLK_TCK)
cpu=$(awk "BEGIN {printf \"%.1f\", ($t1 - $t0) * 100 / $hz / 10}")
echo "# forged packets sent: $(cat "$tmp/forged") in 10 s; shoald CPU: $cpu% of one core (ASan build)"
ktap_check "a genuine handshake completes under the flood" test "$ok" = 1
ktap_check "shoald CPU under the flood stays below 50% of a core" \
	awk "BEGIN {exit !($cpu < 50)}"
# Under load, INITs without a cookie get a cookie reply: turned away too;
# so are those the datapath drops past its rate limit.
sleep 2	# the datapath's counter is shoald's as of its last poll
rejected=$(sd_status 1 | $PY -c 'import json, sys; s = json.load(sys.stdin); print(s["control_rejected"], s["cookie_replies_sent"], s["datapath_control_drops"])')
echo "# forged packets shoald 1 turned away, answered with a cookie, dropped in the datapath: $rejected"
rejected=$(echo "$rejected" | awk '{print $1 + $2 + $3}')
ktap_check "the flood reached shoald and was turned away" test "$rejected" -ge 50000

# 19-21: ten first contacts and 100 genuine handshakes under 5,000
# spoofed INITs a second.
sd_cookie_checks tap
# 22-23: a captured INIT replayed after kill -9 and a restart.
sd_replay_checks tap
# 24: a configured peer's AllowedIPs gain its own link-local address.
sd_linklocal_checks tap

# 25-26: a COOKIE_REPLY anyone who saw the INIT can seal (the responder's
# public key is all it takes) is taken only from where the INIT went.
sd_stop 1; sd_stop 2
sd_config 1
ip netns exec "$sd_ns2" $PY "$TOP/tests/common/forge_replies.py" cookie \
	--listen 192.168.77.2:51822 --pub "$(cat "$tmp/pub2")" \
	--elsewhere 192.168.77.3 >"$tmp/cookie-forged" 2>&1 &
forger=$!
sleep 0.5
sd_start 1 tap
wait $forger
read -r _ elsewhere _ here <"$tmp/cookie-forged"
echo "# $(cat "$tmp/cookie-forged"): INITs drawn to a third address, and with MAC2 to the peer's"
ktap_check "a COOKIE_REPLY from elsewhere draws no INIT there" \
	test "${elsewhere:-1}" = 0
ktap_check "the same from where the INIT went gets the INIT again with MAC2" \
	test "${here:-0}" -ge 1

# 27: a recorded PING replayed 100 times gets at most 10 PONGs a second.
sd_stop 1
sd_config 1 "KeepaliveSeconds = 1"
sd_config 2 "KeepaliveSeconds = 1"
ip netns exec "$sd_ns2" tcpdump -i veth2 -U -w "$tmp/pings.pcap" \
	src 192.168.77.1 and udp dst port 51822 2>/dev/null &
dump=$!
sleep 1
sd_start 1 tap && sd_start 2 tap && sd_wait_both
sleep 3
kill $dump; wait $dump 2>/dev/null
out=$(ip netns exec "$sd_ns2" $PY "$TOP/tests/common/forge_replies.py" ping \
	--pcap "$tmp/pings.pcap" --to 192.168.77.2:51822 --from 192.168.77.3)
echo "# $out"
set -- $out
ktap_check "a replayed PING is answered at most 10 times a second" \
	test "${2:-0}" = 100 -a "${4:-100}" -le 10

# 28-29: clients of the control socket that connect and say nothing,
# over and over, cost shoald (which reads them as their bytes come) no
# time: the TAP tunnel's pings stay fast, and status answers after them.
$PY - "$tmp/s2.sock" <<'IDLE' &
import socket, sys, time
end = time.monotonic() + 6
while time.monotonic() < end:
    held = []
    for _ in range(8):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sys.argv[1])
        except OSError:
            pass
        held.append(s)
    time.sleep(0.3)
    for s in held:
        s.close()
IDLE
idlers=$!
sleep 0.5
out=$(ip netns exec "$sd_ns1" ping -q -i 0.02 -c 200 -W 1 10.77.0.2 2>&1)
wait $idlers
echo "$out" | sed 's/^/# /'
rtt_max=$(echo "$out" | awk -F/ '/^rtt/ {print int($6)}')
ktap_check "idle control clients do not stall the tunnel (max RTT < 100 ms)" \
	test "${rtt_max:-1000}" -lt 100 -a -n "$(echo "$out" | grep ' 0% packet loss')"
ktap_check "... and status answers once they are gone" sd_status 2

# 30: a client beyond four of one uid is told at once that shoald is busy
# (-206: its request unread, nothing done); shoal, told so, asks again
# and is answered once shoald drops the idle four (1 s); shoal chat, too,
# listens then (until timeout ends it).
busy_out=$($PY - "$tmp/s2.sock" "$BIN/shoal" "$TOP/tests/common" <<'BUSY'
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[3])
import ctlsock
held = [ctlsock.connect(sys.argv[1]) for _ in range(4)]
time.sleep(0.2)
s = ctlsock.connect(sys.argv[1])
ctlsock.send(s, b"status\n")
print("fifth:", ctlsock.read_answer(s).strip())
t = time.monotonic()
r = subprocess.run([sys.argv[2], "status", "--json", "--socket", sys.argv[1]],
                   capture_output=True, text=True)
ok = r.returncode == 0 and "peers" in json.loads(r.stdout)
print("shoal status: exit %d after %.1f s, peers %s" %
      (r.returncode, time.monotonic() - t, ok))
held = [ctlsock.connect(sys.argv[1]) for _ in range(4)]
time.sleep(0.2)
r = subprocess.run(["timeout", "3", sys.argv[2], "chat", "--socket", sys.argv[1]],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
print("shoal chat: exit %d %s" % (r.returncode, r.stderr.strip()))
BUSY
)
echo "$busy_out" | sed 's/^/# /'
busy_ok() {
	echo "$busy_out" | grep -q '^fifth: error -206 busy' &&
		echo "$busy_out" | grep -q '^shoal status: exit 0 .* peers True$' &&
		echo "$busy_out" | grep -q '^shoal chat: exit 124 *$'
}
ktap_check "a fifth client of one uid is told -206 busy; shoal status and chat ask again" busy_ok

# 31-34: the control socket's permissions; a peer that dies is torn down
# after 3 keepalives + 5 s and comes back by itself when it returns.
ktap_check "control socket is mode 0660" \
	test "$(stat -c %a "$tmp/s1.sock")" = 660
sd_stop 1; sd_stop 2
sd_config 1 "KeepaliveSeconds = 1"
sd_config 2 "KeepaliveSeconds = 1"
sd_start 1 tap && sd_start 2 tap && sd_wait_both
sd_stop 2 KILL
went=0
for n in $(seq 150); do
	[ "$(sd_peer_field 1 online)" = false ] && { went=1; break; }
	sleep 0.1
done
echo "# a killed peer was declared offline after $((n / 10)) s (limit: 3 x 1 + 5 s)"
ktap_check "a silent peer is torn down" test "$went" = 1
ktap_check "its path is none and its round-trip time unknown" \
	test "$(sd_peer_field 1 path) $(sd_peer_field 1 rtt_ms)" = '"none" null'
sd_start 2 tap
ktap_check "it comes back online when the peer returns" sd_wait_both

sd_stop 1; rc1=$?
sd_stop 2; rc2=$?
ktap_check "both daemons exit 0 on SIGTERM" test "$rc1$rc2" = 00

# Without --foreground: detaches, and still stops on SIGTERM.
sd_background_stops() {
	local n
	cp "$tmp/shoal1.conf" "$tmp/bg.conf"
	ip netns exec "$sd_ns1" "$SHOALD" --config "$tmp/bg.conf" --datapath tap \
		--state-dir "$tmp/state-bg" --socket "$tmp/sbg.sock" 2>/dev/null || return 1
	sd_status bg >/dev/null || return 1
	pkill -TERM -f -- "--config $tmp/bg.conf" || return 1
	for n in $(seq 50); do
		pgrep -f -- "--config $tmp/bg.conf" >/dev/null || return 0
		sleep 0.1
	done
	pkill -KILL -f -- "--config $tmp/bg.conf"
	return 1
}
ktap_check "in the background it detaches and stops on SIGTERM" sd_background_stops
ktap_check "no sanitizer report in the daemons' logs" sd_no_sanitizer_reports
ktap_finish
