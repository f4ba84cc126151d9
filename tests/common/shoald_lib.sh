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
	shoald_config "$tmp/shoal$i.conf" "shoal$i" "$i" "$j" "5182$i" \
		"10.77.0.$i/24" "10.77.0.$j" "192.168.77.$j:5182$j" "$@"
}

# sd_start I DATAPATH: shoald for peer I in the background; waits for its
# control socket.  Its pid is sd_pid[I], its log $tmp/shoald$i.log.
sd_start() {
	local i=$1 dp=$2
	ip netns exec "$(sd_ns "$i")" "$SHOALD" --config "$tmp/shoal$i.conf" \
		--foreground --verbose --datapath "$dp" --state-dir "$tmp/state$i" \
		--socket "$tmp/s$i.sock" >>"$tmp/shoald$i.log" 2>&1 &
	eval "sd_pid$i=$!"
	sd_wait_started "$i" "$tmp/s$i.sock"
}

# sd_wait_started I SOCKET: until shoald I (pid sd_pid[I]) answers status
# on SOCKET; if it dies or 10 s pass, the end of its log and 1.
sd_wait_started() {
	local i=$1 sock=$2 n
	for n in $(seq 100); do
		[ -S "$sock" ] && sd_status "$i" >/dev/null 2>&1 && return 0
		kill -0 "$(sd_pid "$i")" 2>/dev/null || break
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

# sd_newcomer_checks DP: one test.  A newcomer whose own address floods
# daemon 1 past its share (a noisy host behind the same NAT, or a forger
# spoofing it) still makes its first contact: past the share, its INIT is
# answered with a cookie, and the INIT that carries the cookie's MAC2
# passes.
sd_newcomer_checks() {
	local dp=$1 fpid i done=no
	sd_stop 1; sd_stop 2
	[ "$dp" = kernel ] && ip -n "$sd_ns1" link del shoal1 2>/dev/null
	"$BIN/shoal" genkey >"$tmp/npriv" && "$BIN/shoal" pubkey <"$tmp/npriv" >"$tmp/npub"
	printf '[Interface]\nName = shoal1\nPrivateKey = %s\nListenPort = 51821\n\n[Peer]\nPublicKey = %s\n' \
		"$(cat "$tmp/priv1")" "$(cat "$tmp/npub")" >"$tmp/shoal1.conf"
	printf '[Interface]\nName = shn\nPrivateKey = %s\nListenPort = 51960\n\n[Peer]\nPublicKey = %s\nEndpoint = 192.168.77.1:51821\n' \
		"$(cat "$tmp/npriv")" "$(cat "$tmp/pub1")" >"$tmp/n.conf"
	chmod 600 "$tmp/shoal1.conf" "$tmp/n.conf"
	sd_start 1 "$dp" || return 1
	ip netns exec "$sd_ns2" "$TESTBIN/udpflood" 192.168.77.2 192.168.77.1 51821 40 >"$tmp/nflood" &
	fpid=$!
	sleep 2
	ip netns exec "$sd_ns2" "$SHOALD" --config "$tmp/n.conf" --foreground \
		--verbose --datapath "$dp" --state-dir "$tmp/nstate" \
		--socket "$tmp/n.sock" >"$tmp/shoald-n.log" 2>&1 &
	for i in $(seq 60); do
		grep -q ': handshake complete$' "$tmp/shoald-n.log" && { done=yes; break; }
		sleep 0.5
	done
	pkill -TERM -f -- "--config $tmp/n.conf"
	kill $fpid 2>/dev/null; wait $fpid 2>/dev/null
	echo "# newcomer's first handshake under a flood from its own address: $done, after about $((i / 2)) s and $(grep -c ': handshake sent$' "$tmp/shoald-n.log") INITs"
	[ "$dp" = kernel ] && ip -n "$sd_ns2" link del shn 2>/dev/null
	ktap_check "$dp: a newcomer makes first contact through a flood from its own address" \
		test $done = yes
}

# sd_linklocal_checks DP: one test.  Peer 2 configured with AllowedIPs
# (its overlay address only) still reaches peer 1's link-local address:
# shoald adds the one peer 2's MAC makes to the list, and nothing wider.
# (ktap_check runs its command in a subshell: sd_start is called here.)
sd_linklocal_checks() {
	local dp=$1 ll i
	sd_stop 1; sd_stop 2
	if [ "$dp" = kernel ]; then
		ip -n "$sd_ns1" link del shoal1 2>/dev/null
		ip -n "$sd_ns2" link del shoal2 2>/dev/null
	fi
	sd_config 1
	echo "AllowedIPs = 10.77.0.2/32" >>"$tmp/shoal1.conf"
	sd_config 2
	sd_start 1 "$dp" && sd_start 2 "$dp" && sd_wait_both
	# Until both link-local addresses have passed duplicate detection.
	for i in $(seq 50); do
		ip -n "$sd_ns1" -6 addr show dev shoal1 | grep -q tentative ||
			ip -n "$sd_ns2" -6 addr show dev shoal2 | grep -q tentative || break
		sleep 0.1
	done
	ll=$(ip -n "$sd_ns1" -6 addr show dev shoal1 scope link |
		sed -n 's|.*inet6 \(fe80::[0-9a-f:]*\)/64.*|\1|p' | head -1)
	echo "# peer 1's link-local address: $ll"
	ktap_check "$dp: a peer held to AllowedIPs reaches our link-local address" \
		ip netns exec "$sd_ns2" ping -6 -c 2 -i 0.2 -W 2 "$ll%shoal2"
}

# sd_replay_checks DP: two tests.  INITs from 2 to 1 are captured on
# the underlay; daemon 2 is stopped, daemon 1 killed (-9) and restarted;
# replayed from elsewhere, the captured INITs get no RESPONSE and are
# counted as turned away.  The newest timestamp each peer sent outlives
# the process (STATE/NAME.stamps).
sd_replay_checks() {
	local dump before after out
	sd_stop 1; sd_stop 2
	if [ "$1" = kernel ]; then
		ip -n "$sd_ns1" link del shoal1; ip -n "$sd_ns2" link del shoal2
	fi
	sd_config 1
	sd_config 2
	ip netns exec "$sd_ns1" tcpdump -i veth1 -U -w "$tmp/inits.pcap" \
		src 192.168.77.2 and udp dst port 51821 2>/dev/null &
	dump=$!
	sleep 1
	# 1 first: every INIT 2 sends reaches a daemon 1 that takes it.
	sd_start 1 "$1" && sd_start 2 "$1" && sd_wait_both
	sleep 1
	kill $dump; wait $dump 2>/dev/null
	sd_stop 2
	sd_stop 1 KILL
	sd_start 1 "$1"
	before=$(sd_status 1 | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["control_rejected"])')
	out=$(ip netns exec "$sd_ns2" /usr/bin/python3 - "$tmp/inits.pcap" <<'PY'
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
pos, inits = 24, []
while pos + 16 <= len(data):
    incl = struct.unpack(endian + "IIII", data[pos:pos + 16])[2]
    frame = data[pos + 16:pos + 16 + incl]
    pos += 16 + incl
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        continue
    ihl = (frame[14] & 15) * 4
    payload = frame[14 + ihl + 8:]
    if payload[:5] == b"\0\0\0\0\x01" and payload not in inits:
        inits.append(payload)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.77.3", 0))
s.settimeout(2.0)
for p in inits:
    s.sendto(p, ("192.168.77.1", 51821))
answers = 0
try:
    while True:
        s.recvfrom(2048)
        answers += 1
except socket.timeout:
    pass
print(len(inits), answers)
PY
)
	after=$(sd_status 1 | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["control_rejected"])')
	set -- $out
	echo "# INITs captured and replayed after kill -9 and restart: $1; answers: $2; turned away: $((after - before))"
	ktap_check "a replayed INIT after kill -9 and restart gets no answer" \
		test "${1:-0}" -ge 1 -a "${2:-1}" = 0
	ktap_check "... and each is counted as turned away" \
		test "$((after - before))" -ge "${1:-1}"
}

# sd_cookie_checks DP: three tests.  Daemon 1 answers ten initiators in
# $sd_ns2 (shc1..shc10, rekeying every second) while 5,000 forged INITs a
# second arrive from 4,096 spoofed sources in 10.99.0.0/16 (answers to
# them are routed back to $sd_ns2 and die there).  Each initiator makes
# its first contact within 30 s, although the flood has spent the
# strangers' budgets (its INIT proves its source with the cookie's MAC2,
# which shoal.ko checks too).  Then at least
# 100 genuine handshakes are started and 95% of those complete (each
# followed to its end, the flood still on), because under load INITs
# need a cookie that spoofed sources never see.
sd_cookie_checks() {
	local dp=$1 i n=10 fpid t0 t1 s0 s1 c0 c1 m0 m1 out first
	sd_stop 1; sd_stop 2
	if [ "$dp" = kernel ]; then
		ip -n "$sd_ns1" link del shoal1; ip -n "$sd_ns2" link del shoal2
	fi
	ip -n "$sd_ns1" route replace 10.99.0.0/16 via 192.168.77.2
	{
		echo "[Interface]"
		echo "Name = shoal1"
		echo "PrivateKey = $(cat "$tmp/priv1")"
		echo "ListenPort = 51821"
	} >"$tmp/shoal1.conf"
	for i in $(seq $n); do
		"$BIN/shoal" genkey >"$tmp/cpriv$i"
		"$BIN/shoal" pubkey <"$tmp/cpriv$i" >"$tmp/cpub$i"
		printf '\n[Peer]\nPublicKey = %s\n' "$(cat "$tmp/cpub$i")" \
			>>"$tmp/shoal1.conf"
		printf '[Interface]\nName = shc%s\nPrivateKey = %s\nListenPort = %s\nRekeySeconds = 1\n\n[Peer]\nPublicKey = %s\nEndpoint = 192.168.77.1:51821\n' \
			"$i" "$(cat "$tmp/cpriv$i")" $((51900 + i)) \
			"$(cat "$tmp/pub1")" >"$tmp/c$i.conf"
		chmod 600 "$tmp/c$i.conf"
	done
	: >"$tmp/shoald1.log"
	sd_start 1 "$dp" || return 1
	ip netns exec "$sd_ns2" /usr/bin/python3 "$TOP/tests/common/forge_handshake.py" \
		--to 192.168.77.1:51821 --pub "$(cat "$tmp/pub1")" \
		--spoof 10.99.0.0/16 --rate 5000 --seconds 90 >"$tmp/forged" &
	fpid=$!
	sleep 2
	for i in $(seq $n); do
		ip netns exec "$sd_ns2" "$SHOALD" --config "$tmp/c$i.conf" \
			--foreground --verbose --datapath "$dp" \
			--state-dir "$tmp/cstate$i" --socket "$tmp/c$i.sock" \
			>"$tmp/shoald-c$i.log" 2>&1 &
	done
	# First contacts, under the flood: each initiator's first handshake
	# competes with it for the strangers' budgets (docs/security.md).
	t0=$(date +%s)
	for i in $(seq 120); do
		[ "$(grep -l ': handshake complete$' "$tmp"/shoald-c*.log | wc -l)" = $n ] && break
		sleep 0.5
	done
	first=$(grep -l ': handshake complete$' "$tmp"/shoald-c*.log | wc -l)
	echo "# initiators with their first handshake after $(($(date +%s) - t0)) s: $first of $n"
	ktap_check "$dp: $n first contacts under a spoofed flood, within 30 s" \
		test "$first" = $n -a $(($(date +%s) - t0)) -le 30
	# Handshakes started in the window, from the initiators' logs: each
	# log's line count at its start and at its end.
	marks() {
		for i in $(seq $n); do wc -l <"$tmp/shoald-c$i.log"; done | xargs
	}
	started() {
		cat "$tmp"/shoald-c*.log | grep -c ': handshake sent$'
	}
	m0=$(marks) s0=$(started)
	t0=$(date +%s)
	for i in $(seq 60); do
		[ $(($(started) - s0)) -ge 100 ] && break
		sleep 0.5
	done
	m1=$(marks)
	t1=$(date +%s)
	# Under the flood still, the last ones get their 3 s to finish.
	sleep 3
	out=$(sd_status 1)
	# Of those started in the window, the ones that completed before
	# their initiator started another.
	read -r s1 c1 <<<"$(/usr/bin/python3 - "$tmp" "$m0" "$m1" <<'PY'
import sys
tmp, m0, m1 = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
started = completed = 0
lost = {}
for i, (a, b) in enumerate(zip(m0, m1), 1):
    lines = open("%s/shoald-c%d.log" % (tmp, i)).read().splitlines()
    for j in range(int(a), int(b)):
        if not lines[j].endswith(": handshake sent"):
            continue
        started += 1
        between = []
        for line in lines[j + 1:]:
            if line.endswith(": handshake sent"):
                break
            if line.endswith(": handshake complete"):
                completed += 1
                between = None
                break
            between.append(line.split(": ")[-1])
        if between is not None:
            what = ", ".join(sorted(set(between))) or "nothing"
            lost[what] = lost.get(what, 0) + 1
for what, n in sorted(lost.items()):
    print("# not completed, %d followed by: %s" % (n, what), file=sys.stderr)
print(started, completed)
PY
)"
	s0=0 c0=0
	kill $fpid 2>/dev/null; wait $fpid 2>/dev/null
	for i in $(seq $n); do
		pkill -TERM -f -- "--config $tmp/c$i.conf"
	done
	echo "# $((s1 - s0)) genuine handshakes started in $((t1 - t0)) s under 5,000 forged INITs/s from spoofed sources, $((c1 - c0)) completed"
	echo "# daemon 1 answered $(grep -c ': answered a handshake$' "$tmp/shoald1.log") handshakes in all; the initiators sent $(cat "$tmp"/shoald-c*.log | grep -c ': handshake sent$')"
	echo "$out" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print("# daemon 1: %s cookie replies sent, %s control packets turned away, %s dropped in the datapath" %
      (s.get("cookie_replies_sent"), s["control_rejected"], s["datapath_control_drops"]))'
	[ "$dp" = kernel ] && echo "# shoal.ko sent $(ip netns exec "$sd_ns1" "$BIN/shoal" show shoal1 --json |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["cookie_replies"])') cookie replies itself"
	ktap_check "$dp: 100 genuine handshakes start under a spoofed flood" \
		test $((s1 - s0)) -ge 100
	ktap_check "$dp: and 95% of them complete" \
		test $((100 * (c1 - c0))) -ge $((95 * (s1 - s0)))
	ip -n "$sd_ns1" route del 10.99.0.0/16 2>/dev/null
	if [ "$dp" = kernel ]; then
		for i in $(seq $n); do ip -n "$sd_ns2" link del "shc$i" 2>/dev/null; done
	fi
	return 0
}
