# SPDX-License-Identifier: GPL-2.0
# Shared by the shoald tests: two peers in namespaces $sd_ns1 and $sd_ns2
# over a veth underlay, each with a static configuration, run with
# sd_start.  Source lib.sh first; $tmp must exist.
#
#  ┌─────────────────────────┐          ┌─────────────────────────┐
#  │ $sd_ns1                 │          │ $sd_ns2                 │
#  │ shoal1 10.77.0.1/24     │          │ shoal2 10.77.0.2/24     │
#  │ veth1 192.168.77.1/24 ──┼──────────┼── veth2 192.168.77.2/24 │
#  │ UDP 51821               │          │ UDP 51822  (.3: forger) │
#  └─────────────────────────┘          └─────────────────────────┘

SHOALD=$BIN/shoald
sd_pids=()

sd_topology() {
	sd_ns1=$(netns_name sd1) sd_ns2=$(netns_name sd2)
	netns_add "$sd_ns1" "$sd_ns2" || return 1
	ip link add veth1 netns "$sd_ns1" type veth peer veth2 netns "$sd_ns2" || return 1
	ip -n "$sd_ns1" addr add 192.168.77.1/24 dev veth1
	ip -n "$sd_ns2" addr add 192.168.77.2/24 dev veth2
	ip -n "$sd_ns2" addr add 192.168.77.3/24 dev veth2
	ip -n "$sd_ns1" link set veth1 up
	ip -n "$sd_ns2" link set veth2 up
	local i
	for i in 1 2; do
		"$BIN/shoal" genkey >"$tmp/priv$i"
		"$BIN/shoal" pubkey <"$tmp/priv$i" >"$tmp/pub$i"
	done
}

sd_ns() { eval echo "\$sd_ns$1"; }

# sd_config I [INTERFACE-LINES...]: the configuration of peer I.
sd_config() {
	local i=$1 j=$((3 - $1))
	shift
	{
		echo "[Interface]"
		echo "Name = shoal$i"
		echo "PrivateKey = $(cat "$tmp/priv$i")"
		echo "ListenPort = 5182$i"
		echo "Address = 10.77.0.$i/24"
		for l in "$@"; do echo "$l"; done
		echo
		echo "[Peer]"
		echo "PublicKey = $(cat "$tmp/pub$j")"
		echo "Endpoint = 192.168.77.$j:5182$j"
		echo "Address = 10.77.0.$j/32"
	} >"$tmp/shoal$i.conf"
	chmod 600 "$tmp/shoal$i.conf"
}

# sd_start I DATAPATH: shoald for peer I in the background; waits for its
# control socket.  Its pid is sd_pid[I], its log $tmp/shoald$i.log.
sd_start() {
	local i=$1 dp=$2 n
	ip netns exec "$(sd_ns "$i")" "$SHOALD" --config "$tmp/shoal$i.conf" \
		--foreground --verbose --datapath "$dp" \
		--socket "$tmp/s$i.sock" >>"$tmp/shoald$i.log" 2>&1 &
	eval "sd_pid$i=$!"
	for n in $(seq 100); do
		[ -S "$tmp/s$i.sock" ] && sd_status "$i" >/dev/null 2>&1 && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	echo "# shoald $i did not start; the end of its log:"
	tail -5 "$tmp/shoald$i.log" | sed 's/^/#   /'
	return 1
}

sd_pid() { eval echo "\$sd_pid$1"; }

# sd_stop I [SIGNAL]: stops shoald I; returns its exit status.
sd_stop() {
	local pid
	pid=$(sd_pid "$1")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid"
}

sd_status() { "$BIN/shoal" status --json --socket "$tmp/s$1.sock"; }

# sd_peer_field I FIELD: FIELD of peer I's one peer, as JSON.
sd_peer_field() {
	sd_status "$1" | /usr/bin/python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["peers"][0][sys.argv[1]]))' "$2"
}

# sd_wait_online I [SECONDS]: until peer I sees its peer online.
sd_wait_online() {
	local n
	for n in $(seq $((${2:-10} * 10))); do
		[ "$(sd_peer_field "$1" online 2>/dev/null)" = true ] && return 0
		sleep 0.1
	done
	echo "# peer $1 never saw its peer online; status:"
	sd_status "$1" | sed 's/^/#   /'
	return 1
}

# sd_check_status I DATAPATH: the status both a script and the issue want.
sd_check_status() {
	sd_status "$1" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["datapath"] == sys.argv[1], s["datapath"]
p = s["peers"][0]
for k in ("public_key", "nickname", "mac", "address", "online", "path",
          "endpoint", "rtt_ms", "last_handshake", "rx_bytes", "tx_bytes"):
    assert k in p, k
assert p["online"] is True and p["path"] == "direct", p
assert p["nickname"] == "" and p["address"].startswith("10.77.0."), p
assert p["endpoint"].startswith("192.168.77."), p
assert p["last_handshake"] > 0, p
print("# status:", json.dumps(p))' "$2"
}

# sd_no_sanitizer_reports: no ASan/UBSan report in any shoald log.
sd_no_sanitizer_reports() {
	! grep -E "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$tmp"/shoald*.log
}

sd_wait_both() { sd_wait_online 1 && sd_wait_online 2; }

# sd_check_encrypted: a ping with a recognisable pattern crosses the
# underlay, and the pattern is nowhere in what veth2 sees.
sd_check_encrypted() {
	ip netns exec "$sd_ns2" timeout 5 tcpdump -i veth2 -c 2 -w "$tmp/cap.pcap" \
		udp port 51822 and greater 200 2>/dev/null &
	local dump=$!
	sleep 1
	ip netns exec "$sd_ns1" ping -c 2 -s 200 -p 73686f616c21 10.77.0.2 >/dev/null
	wait $dump
	[ -s "$tmp/cap.pcap" ] && ! grep -q "shoal!" "$tmp/cap.pcap"
}

# sd_tunnel_checks LABEL DP1 DP2: five tests of a running pair: both
# online, pings both ways, each one's status.
sd_tunnel_checks() {
	ktap_check "$1: both online" sd_wait_both
	ktap_check "$1: ping 1 -> 2" \
		ip netns exec "$sd_ns1" ping -c 3 -i 0.2 -W 2 10.77.0.2
	ktap_check "$1: ping 2 -> 1" \
		ip netns exec "$sd_ns2" ping -c 3 -i 0.2 -W 2 10.77.0.1
	ktap_check "$1: status --json of 1 (online, direct, $2)" sd_check_status 1 "$2"
	ktap_check "$1: status --json of 2 (online, direct, $3)" sd_check_status 2 "$3"
}

# sd_rekey_checks DP: restarts both daemons on DP with RekeySeconds = 1;
# two tests: 20 s of 200 pings a second lose none, and at least 15
# handshakes completed meanwhile.
sd_rekey_checks() {
	local out rekeys
	sd_stop 1; sd_stop 2
	if [ "$1" = kernel ]; then
		ip -n "$sd_ns1" link del shoal1; ip -n "$sd_ns2" link del shoal2
	fi
	sd_config 1 "RekeySeconds = 1"
	sd_config 2 "RekeySeconds = 1"
	: >"$tmp/shoald1.log"; : >"$tmp/shoald2.log"
	sd_start 1 "$1" && sd_start 2 "$1" && sd_wait_both
	out=$(ip netns exec "$sd_ns1" ping -q -i 0.005 -c 4000 -W 1 10.77.0.2 2>&1)
	echo "$out" | sed 's/^/# /'
	ktap_check "$1: rekey every 1 s under 200 pings/s for 20 s, none lost" \
		grep -q " 0% packet loss" <<<"$out"
	rekeys=$(cat "$tmp/shoald1.log" "$tmp/shoald2.log" | grep -c "handshake complete")
	echo "# handshakes completed in those 20 s: $rekeys"
	ktap_check "$1: at least 15 rekeys happened" test "$rekeys" -ge 15
}
