#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The NAT lab with the real programs (tests/lab/lab.sh builds the
# namespaces): shoal-mediator in the "internet" with a probe address, and
# five clients, each running shoald behind its own kind of home router:
#   a  no NAT
#   b  masquerade: endpoint-independent mapping, filtering by address and port
#   c  full cone: the tunnel port forwarded
#   d  symmetric (random ports per destination)
#   e  symmetric too
# netcheck must classify each; a network joined with a password must give
# every pair a tunnel: direct where hole punching can work (b-d and b-e
# through birthday probing), relayed, at once, for the one pair where
# nothing can (d-e, symmetric against symmetric); a LAN-game broadcast
# must reach everyone; the mediator going down must leave the tunnels
# alone; a kick must cut the member off.  The time from `shoal join` to
# the first ping answered is printed per pair.
#
# NAT_LAB_DATAPATH picks the datapath (tap here; nat_lab_kernel.sh runs
# this in the VM with the kernel's).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
DP=${NAT_LAB_DATAPATH:-tap}
PY=/usr/bin/python3
PORT=51800
CLIENTS="a b c d e"
declare -A KIND=([a]=none [b]=cone-filtered [c]=full-cone [d]=symmetric
		 [e]=symmetric)
declare -A NICK=([a]=alice [b]=bob [c]=carol [d]=dave [e]=erin)
declare -A MAPPING=([a]=endpoint-independent [b]=endpoint-independent
		    [c]=endpoint-independent [d]=address-and-port-dependent
		    [e]=address-and-port-dependent)
declare -A FILTERING=([a]=endpoint-independent
		      [b]=address-and-port-dependent
		      [c]=endpoint-independent
		      [d]=address-and-port-dependent
		      [e]=address-and-port-dependent)
RELAYED=" d-e "

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   { [ "$DP" = tap ] && [ ! -c /dev/net/tun ]; }; then
	ktap_plan 1
	ktap_skip "needs root, nft and (for the tap datapath) /dev/net/tun"
	ktap_finish
fi
ktap_plan 34

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" "${KIND[$x]}" 51820 || { echo "Bail out! lab_client $x"; exit 1; }
done

# shoal as client x would run it.
sh_() {
	local x=$1
	shift
	SHOAL_SOCKET=$tmp/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

status_json() { sh_ "$1" status --json; }

# peer_field X NICK FIELD: FIELD of X's peer NICK ("" if none).
peer_field() {
	status_json "$1" 2>/dev/null | $PY -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["nickname"] == sys.argv[1]:
        v = p[sys.argv[2]]
        print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3" 2>/dev/null
}

mediator_start() {
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
		--listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
		>>"$tmp/mediator.log" 2>&1 &
	med_pid=$!
	for _ in $(seq 50); do
		grep -q '^shoal login ' "$tmp/mediator.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1: the mediator starts with no configuration and says how to log in.
mediator_start
ktap_check "the mediator starts and prints the login line" \
	grep -q '^shoal login ' "$tmp/mediator.log"
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator.log" | awk '{print $4}')

declare -A SD_PID
shoald_start() {
	local x=$1 ns
	ns=LAB_${x^^}_NS
	rm -f "$tmp/$x.sock"
	# Not through lab_exec, a function: $! must be shoald itself (ip
	# netns exec execs it).
	ip netns exec "${!ns}" "$BIN/shoald" -i "sh$x" --port 51820 --datapath "$DP" \
		--state-dir "$tmp/state-$x" --socket "$tmp/$x.sock" \
		--foreground --verbose >>"$tmp/shoald-$x.log" 2>&1 &
	SD_PID[$x]=$!
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && break
		sleep 0.1
	done
}

# 2-6: each client's shoald starts and logs in.
declare -A V4
for x in $CLIENTS; do
	shoald_start "$x"
	out=$(sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" \
		--nick "${NICK[$x]}" --json 2>&1)
	echo "# $x: $out"
	echo "$out" >"$tmp/login-$x"
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
	ktap_check "$x (${KIND[$x]}) logs in and gets an address" \
		test -n "${V4[$x]}"
done

# 7-11: netcheck tells the NATs apart.
for x in $CLIENTS; do
	out=$(sh_ "$x" netcheck --json 2>&1)
	echo "# $x netcheck: $out"
	ktap_check "netcheck: $x is ${MAPPING[$x]} / ${FILTERING[$x]}" \
		$PY -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["mapping"] == sys.argv[2], r
assert r["filtering"] == sys.argv[3], r
assert r["public_endpoint"].startswith(sys.argv[4] + ":"), r' \
		"$out" "${MAPPING[$x]}" "${FILTERING[$x]}" \
		"$(eval echo "\$LAB_${x^^}_PUBLIC")"
done

# 12: passwords.
printf 'lan party 2026\n' >"$tmp/pw"
printf 'not it\n' >"$tmp/wrong"
sh_ a create lanparty --password-file "$tmp/pw" >/dev/null
sh_ b join lanparty --password-file "$tmp/wrong" 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
ktap_check "a wrong password is refused with exit 10" test "$rc" = 10

# 13: everyone joins; per pair, the time from the join to the first
# answered ping.
first_ping() {
	local from=$1 to=$2 t0=$3 t
	for _ in $(seq 300); do
		if lab_exec "$from" ping -c1 -W0.2 -q "${V4[$to]}" >/dev/null 2>&1; then
			t=$(date +%s.%N)
			printf '%s-%s %.2f\n' "$from" "$to" \
				"$(echo "$t - $t0" | bc)" >>"$tmp/timings"
			return 0
		fi
		sleep 0.05
	done
	echo "$from-$to never" >>"$tmp/timings"
}
: >"$tmp/timings"
joined="a"
ok=true
pids=()
declare -A JOINED_AT
for x in b c d e; do
	t0=$(date +%s.%N)
	JOINED_AT[$x]=$t0
	sh_ "$x" join lanparty --password-file "$tmp/pw" >/dev/null || ok=false
	for y in $joined; do
		first_ping "$x" "$y" "$t0" &
		pids+=($!)
	done
	joined="$joined $x"
done
wait "${pids[@]}"
sort "$tmp/timings" | while read -r pair t; do
	echo "# join to first ping, $pair: $t s"
done
ktap_check "b, c, d and e join, and every pair pings" \
	sh -c "$ok && ! grep -q never '$tmp/timings' && test \$(wc -l <'$tmp/timings') = 10"

# A datapath that takes no per-peer sockets (shoal.ko before it can)
# leaves birthday probing alone: b-d and b-e are relayed then.
if grep -q 'takes no per-peer sockets' "$tmp"/shoald-*.log; then
	RELAYED=" b-d b-e d-e "
	echo "# the $DP datapath takes no per-peer sockets: b-d and b-e relayed"
fi

# 14-23: every pair has the path it should, seen from both sides.
pair_path() {
	local x=$1 y=$2 want=$3 end=$((SECONDS + ${4:-20}))
	while [ $SECONDS -lt $end ]; do
		if [ "$(peer_field "$x" "${NICK[$y]}" online)" = true ] &&
		   [ "$(peer_field "$x" "${NICK[$y]}" path)" = "$want" ] &&
		   [ "$(peer_field "$y" "${NICK[$x]}" online)" = true ] &&
		   [ "$(peer_field "$y" "${NICK[$x]}" path)" = "$want" ] &&
		   lab_exec "$x" ping -c1 -W0.5 -q "${V4[$y]}" >/dev/null; then
			echo "# $x-$y: $want, rtt $(peer_field "$x" "${NICK[$y]}" rtt_ms) ms"
			lab_exec "$x" ping -c3 -i0.2 -W1 -q "${V4[$y]}" >/dev/null
			return
		fi
		sleep 0.1
	done
	echo "# $x-$y: $(peer_field "$x" "${NICK[$y]}" path) / $(peer_field "$y" "${NICK[$x]}" path), wanted $want"
	tail -n 8 "$tmp/shoald-$x.log" "$tmp/shoald-$y.log" | sed 's/^/#   /'
	return 1
}
for x in $CLIENTS; do
	for y in $CLIENTS; do
		[[ $x < $y ]] || continue
		want=direct
		[[ $RELAYED == *" $x-$y "* ]] && want=relay
		ktap_check "$x-$y (${KIND[$x]} / ${KIND[$y]}): $want, pings" \
			pair_path "$x" "$y" "$want"
	done
done
# The hard side's log says when birthday probing found its way.
for x in d e; do
	grep -h 'birthday probing for bob ends' "$tmp/shoald-$x.log" |
		sed "s/^/# b-$x: /"
	printf '# b-%s seen direct %.1f s after %s joined (an upper bound: checked in turn)\n' \
		"$x" "$(echo "$(date +%s.%N) - ${JOINED_AT[$x]}" | bc)" "$x"
done

# 24: a LAN game's broadcast from a reaches everyone.
for x in b c d e; do
	lab_exec "$x" $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 47777)); s.settimeout(5)
try:
    d, a = s.recvfrom(100)
    open(sys.argv[1], "w").write(d.decode() + " from " + a[0] + "\n")
except socket.timeout:
    pass' "$tmp/bcast-$x" &
	pids+=($!)
done
sleep 0.5
lab_exec a $PY -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"sha")
for _ in range(5):
    s.sendto(b"lobby: alice hosts a game", ("255.255.255.255", 47777))
    time.sleep(0.2)'
wait "${pids[@]}" 2>/dev/null
cat "$tmp"/bcast-* 2>/dev/null | sed 's/^/# received: /'
ktap_check "a broadcast from a reaches b, c, d and e" \
	sh -c "cat '$tmp'/bcast-b '$tmp'/bcast-c '$tmp'/bcast-d '$tmp'/bcast-e 2>/dev/null | grep -c 'alice hosts' | grep -qx 4"

# 25-26: a member's frames may claim only its own addresses.  b writes two
# datagrams to a's port 47778 into its device, from its own MAC: one
# from c's address, then one from its own; a receives the second only.
lab_exec a $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 47778)); s.settimeout(4)
with open(sys.argv[1], "w") as f:
    try:
        while True:
            d, a = s.recvfrom(100)
            f.write(d.decode() + " from " + a[0] + "\n"); f.flush()
    except socket.timeout:
        pass' "$tmp/spoof-a" &
spoof_pid=$!
sleep 0.5
lab_exec b $PY - "$(lab_exec a cat /sys/class/net/sha/address)" \
	"$(lab_exec b cat /sys/class/net/shb/address)" \
	"${V4[a]}" "${V4[c]}" "${V4[b]}" <<'EOF'
import socket, struct, sys, time
dst_mac, src_mac, a, c, b = sys.argv[1:]
def sum16(h):
    s = sum(struct.unpack("!10H", h))
    s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff
def datagram(src, text):
    udp = struct.pack("!HHHH", 47778, 47778, 8 + len(text), 0) + text
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64,
                     17, 0, socket.inet_aton(src), socket.inet_aton(a))
    return ip[:10] + struct.pack("!H", sum16(ip)) + ip[12:] + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("shb", 0))
eth = bytes.fromhex(dst_mac.replace(":", "") + src_mac.replace(":", "")) + b"\x08\x00"
for _ in range(3):
    s.send(eth + datagram(c, b"forged by bob"))
    time.sleep(0.1)
s.send(eth + datagram(b, b"sent by bob"))
EOF
wait "$spoof_pid"
sed 's/^/# a received: /' "$tmp/spoof-a"
claims_own() {
	grep -qx "sent by bob from ${V4[b]}" "$tmp/spoof-a" &&
		! grep -q forged "$tmp/spoof-a" || return 1
	[ "$DP" = kernel ] || return 0
	# The kernel holds what shoald set: each peer's /32 and /128 and
	# its EUI-64 link-local /128.
	lab_exec a "$BIN/shoal" show sha --json | $PY -c '
import json, sys
lists = [p["allowed_ips"] for p in json.load(sys.stdin)[0]["peers"]]
print("# allowed ips of the peers of a:", lists)
ok = all(l and len(l) == 3 and any(p.startswith("fe80::") and p.endswith("/128") for p in l)
         for l in lists)
sys.exit(not ok or not any(sys.argv[1] + "/32" in l for l in lists))' "${V4[b]}"
}
ktap_check "a member's frames claiming another member's address never arrive" claims_own

# ... nor another member's IPv6 link-local address: a knows c's at c's
# MAC; b advertises it (an NA with the override flag and b's MAC), and
# a's entry still says c.
mac_a=$(lab_exec a cat /sys/class/net/sha/address)
mac_b=$(lab_exec b cat /sys/class/net/shb/address)
mac_c=$(lab_exec c cat /sys/class/net/shc/address)
ll_c=$(lab_lladdr "$mac_c")
lab_exec a ping -c 1 -W 2 "$ll_c%sha" >/dev/null 2>&1
lab_exec b $PY - "$mac_b" "$(lab_lladdr "$mac_b")" "$ll_c" <<'EOF'
import socket, struct, sys
mac_b, ll_b, ll_c = sys.argv[1:]
mac = bytes.fromhex(mac_b.replace(":", ""))
src, dst = socket.inet_pton(socket.AF_INET6, ll_b), socket.inet_pton(socket.AF_INET6, "ff02::1")
na = struct.pack("!BBHI16sBB6s", 136, 0, 0, 0x20000000,
                 socket.inet_pton(socket.AF_INET6, ll_c), 2, 1, mac)
pseudo = src + dst + struct.pack("!I3xB", len(na), 58)
s = sum(struct.unpack("!%dH" % ((len(pseudo) + len(na)) // 2), pseudo + na))
while s >> 16:
    s = (s & 0xffff) + (s >> 16)
na = na[:2] + struct.pack("!H", ~s & 0xffff) + na[4:]
ip = struct.pack("!IHBB16s16s", 6 << 28, len(na), 58, 255, src, dst)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
p.bind(("shb", 0))
for _ in range(3):
    p.send(bytes.fromhex("333300000001") + mac + b"\x86\xdd" + ip + na)
EOF
sleep 0.5
neigh_c=$(lab_exec a ip -6 neigh show "$ll_c" dev sha)
echo "# a's entry for c's link-local $ll_c after b's NA: $neigh_c"
ktap_check "nor another member's link-local address (neighbour advertisement)" \
	sh -c "echo '$neigh_c' | grep -q 'lladdr $mac_c' && ! echo '$neigh_c' | grep -q '$mac_b'"

# 27-29: the mediator dies; direct tunnels carry on; it comes back and
# everyone logs in again, relayed pairs included.
kill -9 "$med_pid"
wait "$med_pid" 2>/dev/null
out=$(lab_exec a ping -c 25 -i 0.2 -W1 -q "${V4[d]}" 2>&1 | grep 'packet loss')
echo "# a-d with the mediator down: $out"
ktap_check "with the mediator down, a direct tunnel loses nothing" \
	grep -q ' 0% packet loss' <<<"$out"
t0=$(date +%s)
mediator_start
logged_in_all() {
	local x
	for x in $CLIENTS; do
		status_json "$x" | $PY -c '
import json, sys
assert json.load(sys.stdin)["mediator"]["logged_in"]' || return 1
	done
}
back=false
for _ in $(seq 600); do
	logged_in_all 2>/dev/null && { back=true; break; }
	sleep 0.1
done
echo "# everyone logged in again $(( $(date +%s) - t0 )) s after the restart"
ktap_check "every shoald logs in again after the mediator restarts" $back
t0=$SECONDS
ktap_check "relayed d-e works again after the restart" pair_path d e relay
echo "# d-e was relayed again $((SECONDS - t0)) s after everyone was back"

# 30: shoald restarts (kill -9 and start again, as after a crash): with
# the kernel datapath the tunnel carries on through it; with TAP, whose
# device dies with the process, it is back within seconds.
lab_exec a ping -c 50 -i 0.1 -W1 -q "${V4[c]}" >"$tmp/restart-ping" 2>&1 &
ping_pid=$!
sleep 1
kill -9 "${SD_PID[c]}"
wait "${SD_PID[c]}" 2>/dev/null
shoald_start c
wait "$ping_pid"
out=$(grep 'packet loss' "$tmp/restart-ping")
echo "# a-c through c's shoald restart: $out"
if [ "$DP" = kernel ]; then
	ktap_check "a shoald restart drops nothing (kernel datapath)" \
		grep -q ' 0% packet loss' <<<"$out"
else
	t0=$SECONDS
	ktap_check "after a shoald restart the tunnel is back (TAP datapath)" \
		pair_path a c direct 15
	echo "# a-c back $((SECONDS - t0)) s after the pings ended"
fi

# 31: a kick cuts e off within 5 s.
sh_ a kick lanparty erin >/dev/null
gone=false
for _ in $(seq 50); do
	if [ -z "$(peer_field a erin online)" ] &&
	   [ -z "$(peer_field e alice online)" ] &&
	   ! lab_exec e ping -c1 -W0.3 -q "${V4[a]}" >/dev/null 2>&1; then
		gone=true
		break
	fi
	sleep 0.1
done
ktap_check "a kicked member loses its tunnels within 5 s" $gone

# (A relayed pair going direct once its NAT allows was checked here with
# b-d; b-d is direct from the start now, through birthday probing, and
# the one relayed pair, d-e, lost e to the kick above: tests/system/
# birthday.sh checks a relayed b-d going direct once d's router lets b
# in again.)

# 32: a clean logout takes d's tunnels down at once.
sh_ d logout >/dev/null
gone=false
for _ in $(seq 30); do
	if [ -z "$(peer_field a dave online)" ] &&
	   [ -z "$(peer_field c dave online)" ]; then
		gone=true
		break
	fi
	sleep 0.1
done
ktap_check "a logout takes the member's tunnels down within 3 s" $gone

# 33: shoal login answered only once UDP on the tunnel port went through.
ktap_check "login waited for the tunnel port's UDP round trip" \
	$PY -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["udp_verified"] is not True)' "$tmp/login-a"

# 34: no sanitizer reports anywhere.
ktap_check "no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
for x in $CLIENTS; do
	grep -E 'relay|refused|cannot' "$tmp/shoald-$x.log" | head -5 | sed "s/^/# $x: /"
done
ktap_finish
