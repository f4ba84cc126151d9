#!/bin/bash
# The part of scripts/bench that runs inside the VM (as root, in the
# checkout, build/bin first on PATH).  One namespace layout for every
# system: two namespaces joined by a veth underlay; the iperf3 server in
# the second; every test runs from the first.
#
#  ┌──────────────────────────────┐        ┌──────────────────────────────┐
#  │ bn1                          │        │ bn2          (iperf3 -s)     │
#  │ v1 192.168.90.1/24 ──────────┼────────┼── v2 192.168.90.2/24         │
#  │ wg1      10.90.1.1  :51801   │        │ wg2      10.90.1.2  :51802   │
#  │ xfrm lo  10.90.2.1  :4501    │        │ xfrm lo  10.90.2.2  :4502    │
#  │ shoal1   10.90.3.1  :51821   │ kernel │ shoal2   10.90.3.2  :51822   │
#  │ shoalt1  10.90.4.1  :51831   │  TAP   │ shoalt2  10.90.4.2  :51832   │
#  │ shoalk1  10.90.5.1  :51841   │ kernel │ shoalk2  10.90.5.2  :51842   │
#  │ shoalb1  10.90.6.1  :51851   │ kernel │ shoalb2  10.90.6.2  :51852   │
#  │ dummy0 192.168.91.1/24       │        │                              │
#  └──────────────────────────────┘        └──────────────────────────────┘
#
# shoal_1k and shoal_b64 are the kernel datapath with 999 or 63 more
# peers on shoalk1 or shoalb1 beside shoald's own (static SAs, set with
# `shoal set` once the first ping is answered), whose endpoints are on
# dummy0's subnet: they take their packets as a silent host would, and
# cost the sender all it costs to seal and send to them.  Both measure
# what shoal does, plus broadcasts received by the one real peer
# (bcast_pps): on shoal_b64 each one is sealed 64 times.
#
# Each run sets every system up (timed), measures it and tears it down
# again, systems interleaved so that drift in the host's load spreads over
# all of them.  Results go to stdout as lines
#	R SYSTEM METRIC RUN VALUE
# and progress to stderr.
#
# guest.sh RUNS SECONDS SYSTEMS PERF
#	SYSTEMS: comma-separated, from underlay,wireguard,xfrm,shoal,shoal_tap,
#	shoal_1k,shoal_b64
#	PERF: tcp to profile a one-stream TCP test of wireguard and shoal,
#	udp64 the UDP 64 B test of every system (perf record -a -g, report
#	to stderr), 0 not to
set -uo pipefail
umask 077

RUNS=${1:-1} T=${2:-3} SYSTEMS=${3:-underlay,wireguard,xfrm,shoal,shoal_tap}
PERF=${4:-0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=$top/build/bin
PY=/usr/bin/python3
PARSE="$PY $here/parse.py"
W=$(mktemp -d /tmp/bench.XXXXXX)
N1=bn1 N2=bn2
PINGS=$((T * 100))		# ping -i 0.01 for T seconds

say() { echo "bench: $*" >&2; }
# SHOAL_BENCH_DEBUG=1: timestamps of the set-up steps on stderr.
dbg() { [ "${SHOAL_BENCH_DEBUG:-0}" = 1 ] && echo "bench: debug $(now_us): $*" >&2; return 0; }
n1() { ip netns exec $N1 "$@"; }
n2() { ip netns exec $N2 "$@"; }
now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
result() { echo "R $1 $2 $3 $4"; }

cleanup() {
	kill $(jobs -p) 2>/dev/null
	[ -s "$W/iperf.pid" ] && kill "$(cat "$W/iperf.pid")" 2>/dev/null
	wait 2>/dev/null
	ip netns del $N1 2>/dev/null
	ip netns del $N2 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# ----- the underlay and what every run shares -----

topology() {
	ip netns add $N1 && ip netns add $N2 || return 1
	n1 ip link set lo up; n2 ip link set lo up
	ip link add v1 netns $N1 type veth peer name v2 netns $N2 || return 1
	n1 ip addr add 192.168.90.1/24 dev v1
	n1 ip link add dummy0 type dummy || return 1
	n1 ip addr add 192.168.91.1/24 dev dummy0
	n1 ip link set dummy0 up
	n2 ip addr add 192.168.90.2/24 dev v2
	n1 ip link set v1 up; n2 ip link set v2 up
	n2 iperf3 -s -D -I "$W/iperf.pid" >/dev/null || return 1
	modprobe shoal || return 1
	modprobe wireguard || return 1
	# The TAP datapath's /dev/net/tun: the guest's /dev has no node for it.
	modprobe tun 2>/dev/null
	[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; } || return 1
	# Keys made once, outside every timed set-up.
	wg genkey >"$W/wg1.key"; wg genkey >"$W/wg2.key"
	wg pubkey <"$W/wg1.key" >"$W/wg1.pub"; wg pubkey <"$W/wg2.key" >"$W/wg2.pub"
	local i
	for i in 1 2; do
		"$BIN/shoal" genkey >"$W/s$i.key"
		"$BIN/shoal" pubkey <"$W/s$i.key" >"$W/s$i.pub"
	done
	# Linux xfrm's ESP-in-UDP needs a UDP socket with UDP_ENCAP on the
	# receiving port: an IKE daemon's job, so one runs all along.
	# It also asks for SO_TIMESTAMP, which holds the kernel's
	# netstamp_needed static key on for the whole session: every ping
	# turns it on and, the last one gone, off again, and that code
	# patching while the other vCPU runs netif_rx once ended a run in a
	# guest oops under TCG (RIP inside the patched jump at
	# netif_rx_internal+0x1e, on both CPUs).
	for i in 1 2; do
		ip netns exec bn$i $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 100, 2)	# UDP_ENCAP, UDP_ENCAP_ESPINUDP
s.setsockopt(socket.SOL_SOCKET, 29, 1)	# SO_TIMESTAMP (x86)
s.bind(("0.0.0.0", int(sys.argv[1])))
open(sys.argv[2], "w").close()
while True:
    time.sleep(3600)
' "450$i" "$W/encap$i.ready" 2>"$W/encap$i.log" &
	done
	for i in $(seq 100); do
		[ -e "$W/encap1.ready" ] && [ -e "$W/encap2.ready" ] && break
		sleep 0.1
	done
	[ -e "$W/encap1.ready" ] && [ -e "$W/encap2.ready" ] ||
		{ say "the ESP-in-UDP sockets did not come up:"; cat "$W"/encap?.log >&2; return 1; }
	n2 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	n1 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	# Wait for the iperf3 server.
	for i in $(seq 50); do
		n1 bash -c '</dev/tcp/192.168.90.2/5201' 2>/dev/null && return 0
		sleep 0.1
	done
	say "the iperf3 server did not come up"
	return 1
}

# first_ping ADDR: pings from bn1 until one is answered (20 s at most).
first_ping() {
	local end=$(( $(now_us) + 20000000 )) n=0 rc
	while [ "$(now_us)" -lt $end ]; do
		n1 ping -n -q -c 1 -w 5 -i 0.01 "$1" >"$W/first" 2>&1 && rc=0 || rc=$?
		n=$((n + 1))
		dbg "ping attempt $n: exit $rc: $(tr '\n' ' ' <"$W/first" | cut -c1-160)"
		[ $rc = 0 ] && return 0
		sleep 0.01
	done
	return 1
}

# ----- each system: up (timed), its peer address, down -----

up_underlay() { ADDR=192.168.90.2; }
down_underlay() { :; }

up_wireguard() {
	local i j
	# The answering side first: a peer whose interface comes up sends
	# (IPv6 router solicitations, say) and would otherwise start a
	# handshake that nobody answers yet, retried only after 5 s.
	for i in 2 1; do
		j=$((3 - i))
		ip -n bn$i link add wg$i type wireguard || return 1
		ip netns exec bn$i wg set wg$i listen-port 5180$i \
			private-key "$W/wg$i.key" peer "$(cat "$W/wg$j.pub")" \
			endpoint 192.168.90.$j:5180$j allowed-ips 10.90.1.$j/32 || return 1
		ip -n bn$i -batch - <<-EOF || return 1
			addr add 10.90.1.$i/24 dev wg$i
			link set wg$i up
		EOF
		dbg "wg$i up"
	done
	ADDR=10.90.1.2
}
down_wireguard() { n1 ip link del wg1; n2 ip link del wg2; }

up_xfrm() {
	local i j ki kj
	# Fresh keys each time: a key must never be installed twice.
	head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$W/x1.key"
	head -c 36 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$W/x2.key"
	# One ip process per side, as a configuration daemon would do it
	# over one netlink socket.  SA i carries i -> j, SPI 0x900i.
	for i in 1 2; do
		j=$((3 - i))
		ki=0x$(cat "$W/x$i.key") kj=0x$(cat "$W/x$j.key")
		ip -n bn$i -batch - <<-EOF || return 1
			addr add 10.90.2.$i/32 dev lo
			route add 10.90.2.$j/32 dev v$i src 10.90.2.$i
			xfrm state add src 192.168.90.$i dst 192.168.90.$j proto esp spi 0x900$i mode tunnel reqid 900$i replay-window 128 flag esn aead rfc7539esp(chacha20,poly1305) $ki 128 encap espinudp 450$i 450$j 0.0.0.0
			xfrm state add src 192.168.90.$j dst 192.168.90.$i proto esp spi 0x900$j mode tunnel reqid 900$j replay-window 128 flag esn aead rfc7539esp(chacha20,poly1305) $kj 128 encap espinudp 450$j 450$i 0.0.0.0
			xfrm policy add src 10.90.2.$i/32 dst 10.90.2.$j/32 dir out tmpl src 192.168.90.$i dst 192.168.90.$j proto esp reqid 900$i mode tunnel
			xfrm policy add src 10.90.2.$j/32 dst 10.90.2.$i/32 dir in tmpl src 192.168.90.$j dst 192.168.90.$i proto esp reqid 900$j mode tunnel
		EOF
		dbg "xfrm side $i configured"
	done
	ADDR=10.90.2.2
}
down_xfrm() {
	local i
	for i in 1 2; do
		ip netns exec bn$i ip xfrm policy flush
		ip netns exec bn$i ip xfrm state flush
		ip netns exec bn$i ip route del 10.90.2.$((3 - i))/32 2>/dev/null
		ip netns exec bn$i ip addr del 10.90.2.$i/32 dev lo 2>/dev/null
	done
}

# shoal_conf I NET PORTBASE NAME: peer I's static configuration.
shoal_conf() {
	local i=$1 j=$((3 - $1))
	cat >"$W/$4$i.conf" <<EOF
[Interface]
Name = $4$i
PrivateKey = $(cat "$W/s$i.key")
ListenPort = $3$i
Address = 10.90.$2.$i/24

[Peer]
PublicKey = $(cat "$W/s$j.pub")
Endpoint = 192.168.90.$j:$3$j
Address = 10.90.$2.$j/32
EOF
	chmod 600 "$W/$4$i.conf"
}

# shoal_up DATAPATH NET PORTBASE NAME: both shoalds, started together.
shoal_up() {
	local i
	for i in 1 2; do
		ip netns exec bn$i "$BIN/shoald" --config "$W/$4$i.conf" --foreground \
			--datapath "$1" --socket "$W/$4$i.sock" >>"$W/$4$i.log" 2>&1 &
		eval "SHOALD_PID$i=\$!"
	done
	ADDR=10.90.$2.2
}
shoal_down() {
	kill "$SHOALD_PID1" "$SHOALD_PID2" 2>/dev/null
	wait "$SHOALD_PID1" "$SHOALD_PID2" 2>/dev/null
	if [ "$1" = kernel ]; then
		n1 ip link del "${2}1" 2>/dev/null
		n2 ip link del "${2}2" 2>/dev/null
	fi
	return 0
}
prep_shoal() { shoal_conf 1 3 5182 shoal; shoal_conf 2 3 5182 shoal; }
up_shoal() { shoal_up kernel 3 5182 shoal; }
down_shoal() { shoal_down kernel shoal; }
prep_shoal_tap() { shoal_conf 1 4 5183 shoalt; shoal_conf 2 4 5183 shoalt; }
up_shoal_tap() { shoal_up tap 4 5183 shoalt; }
down_shoal_tap() { shoal_down tap shoalt; }

# more_peers DEV N: N more peers on DEV in bn1, each with a MAC, an
# endpoint on dummy0's subnet and an outbound SA of its own key.
more_peers() {
	local args=()
	mapfile -t args < <($PY - "$W/more-key" "$2" <<'PY'
import base64, os, sys
out = []
for i in range(int(sys.argv[2])):
    key = "%s.%d" % (sys.argv[1], i)
    with open(key, "w") as f:
        f.write(os.urandom(36).hex())
    out += ["peer", base64.b64encode(os.urandom(32)).decode(),
            "mac", "02:01:00:00:%02x:%02x" % (i >> 8, i & 255),
            "endpoint", "192.168.91.%d:%d" % (2 + i % 250, 20000 + i),
            "sa-out", str(0x10000 + i), key]
print("\n".join(out))
PY
)
	n1 "$BIN/shoal" set "$1" "${args[@]}" || return 1
	rm -f "$W"/more-key.*
	say "$1: $(n1 "$BIN/shoal" show "$1" --json | $PY -c '
import json, sys
print(len(json.load(sys.stdin)[0]["peers"]))') peers"
}
prep_shoal_1k() { shoal_conf 1 5 5184 shoalk; shoal_conf 2 5 5184 shoalk; }
up_shoal_1k() { shoal_up kernel 5 5184 shoalk; }
after_ping_shoal_1k() { more_peers shoalk1 999; }
down_shoal_1k() { shoal_down kernel shoalk; }
prep_shoal_b64() { shoal_conf 1 6 5185 shoalb; shoal_conf 2 6 5185 shoalb; }
up_shoal_b64() { shoal_up kernel 6 5185 shoalb; }
after_ping_shoal_b64() { more_peers shoalb1 63; }
down_shoal_b64() { shoal_down kernel shoalb; }

# ----- the measurements -----

iperf() {	# iperf OUT ARGS...: the client in bn1, JSON to OUT
	local out=$1
	shift
	n1 iperf3 -J -c "$ADDR" "$@" >"$out" 2>&1
}

# cpu_stat N: the CPUs' time so far, in $W/statN (/proc/stat's first line).
cpu_stat() { head -n 1 /proc/stat >"$W/stat$1"; }

measure() {	# measure SYSTEM RUN
	local s=$1 r=$2 v load
	cpu_stat 0
	iperf "$W/tcp1.json" -t "$T"
	cpu_stat 1
	v=$($PARSE tcp "$W/tcp1.json") && result "$s" tcp_1 "$r" "$v"
	v=$($PARSE cost tcp "$W/tcp1.json" "$W/stat0" "$W/stat1") &&
		result "$s" tcp_1_ns_pkt "$r" "$v"
	iperf "$W/tcp4.json" -t "$T" -P 4
	v=$($PARSE tcp "$W/tcp4.json") && result "$s" tcp_4 "$r" "$v"
	cpu_stat 0
	iperf "$W/udp.json" -t "$T" -u -l 64 -b 0
	cpu_stat 1
	v=$($PARSE udp "$W/udp.json") && result "$s" udp64_pps "$r" "$v"
	v=$($PARSE cost udp "$W/udp.json" "$W/stat0" "$W/stat1") &&
		result "$s" udp64_ns_pkt "$r" "$v"
	sleep 0.5
	n1 ping -n -i 0.01 -c "$PINGS" -W 1 "$ADDR" >"$W/ping" 2>&1
	v=$($PARSE ping "$W/ping") && {
		result "$s" rtt_p50_us "$r" "${v% *}"
		result "$s" rtt_p99_us "$r" "${v#* }"
	}
	iperf "$W/load.json" -t $((T + 2)) &
	load=$!
	sleep 1
	n1 ping -n -i 0.01 -c "$PINGS" -W 1 "$ADDR" >"$W/ping" 2>&1
	wait $load
	v=$($PARSE ping "$W/ping") && {
		result "$s" rtt_load_p50_us "$r" "${v% *}"
		result "$s" rtt_load_p99_us "$r" "${v#* }"
	}
}

# bcast SYSTEM RUN: 64-byte UDP broadcasts on the overlay's subnet, sent
# by one socket in bn1 as fast as it can for T seconds; the packets per
# second that the peer in bn2 receives.
bcast() {
	local bc=${ADDR%.*}.255 v
	n2 $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("", 7100))
s.settimeout(1.5)
open(sys.argv[1], "w").close()
n, first, last = 0, None, None
while True:
    try:
        s.recv(64)
    except socket.timeout:
        if first is not None:
            break
        continue
    last = time.monotonic()
    first = first or last
    n += 1
print("%.0f" % (n / (last - first) if n > 1 and last > first else 0))
' "$W/bcast.ready" >"$W/bcast.out" 2>&1 &
	local rx=$!
	for _ in $(seq 50); do [ -e "$W/bcast.ready" ] && break; sleep 0.1; done
	n1 $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
end, b, dst = time.monotonic() + float(sys.argv[2]), bytes(64), (sys.argv[1], 7100)
while time.monotonic() < end:
    for _ in range(64):
        try:
            s.sendto(b, dst)
        except OSError:
            pass
' "$bc" "$T"
	wait $rx
	rm -f "$W/bcast.ready"
	v=$(cat "$W/bcast.out")
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" != 0 ] && result "$1" bcast_pps "$2" "$v"
}
extra_shoal() { bcast shoal "$1"; }
extra_shoal_b64() { bcast shoal_b64 "$1"; }

profile() {	# profile SYSTEM: perf during the test $PERF names
	local s=$1 pp load ack args=() what="TCP one stream" figure
	[ "$PERF" = udp64 ] && args=(-u -l 64 -b 0) what="UDP 64 B"
	say "perf: $s, $what"
	# Started disabled and switched on over its control FIFO only while
	# the test runs: perf's own start-up takes seconds under TCG.
	rm -f "$W/pctl" "$W/pack"
	mkfifo "$W/pctl" "$W/pack"
	perf record -a -g -D -1 --control "fifo:$W/pctl,$W/pack" \
		-o "$W/perf.data" -- sleep 600 >"$W/perf.log" 2>&1 &
	pp=$!
	exec 5>"$W/pctl" 6<"$W/pack"
	# perf answers a ping once it is past its start-up.
	echo ping >&5
	read -r -t 120 -u 6 ack
	iperf "$W/perf.json" -t $((T + 3)) ${args[@]+"${args[@]}"} &
	load=$!
	sleep 1.5
	echo enable >&5
	read -r -t 30 -u 6 ack
	cpu_stat 0
	sleep "$T"
	cpu_stat 1
	echo disable >&5
	read -r -t 30 -u 6 ack
	kill -INT $pp
	wait $pp $load
	exec 5>&- 6<&-
	{
		if [ "$PERF" = udp64 ]; then
			figure="$($PARSE udp "$W/perf.json") packets/s"
		else
			figure="$($PARSE tcp "$W/perf.json") Mbit/s"
		fi
		echo "---- perf: $s, $what ($figure)"
		# /proc/stat over the window: where the two CPUs' time went.
		paste -d' ' "$W/stat0" "$W/stat1" | awk '{
			split("user nice system idle iowait irq softirq steal", n, " ")
			t = 0; for (i = 2; i <= 9; i++) { d[i] = $(i + 11) - $i; t += d[i] }
			printf "CPU time over the window:"
			for (i = 2; i <= 9; i++) if (d[i]) printf " %s %.0f%%", n[i - 1], 100 * d[i] / t
			print ""
		}'
		echo "-- by symbol, both CPUs"
		perf report -i "$W/perf.data" --stdio --no-children --percent-limit 0.7 \
			--sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45
		echo "-- by CPU"
		perf report -i "$W/perf.data" --stdio --no-children --sort cpu -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -4
		echo "-- inclusive (children), the datapath's own functions and helpers"
		perf report -i "$W/perf.data" --stdio --children --sort sym -g none \
			2>/dev/null | grep -E '\] (shoal_|xmit_one|receive_esp|deliver|wg_|encrypt_packet|decrypt_packet|gro_cells|skb_linearize|pskb_expand_head|__kmalloc|kfree_sensitive|csum_partial|skb_checksum_help|__dev_queue_xmit|validate_xmit_skb|skb_segment|tcp_gso|__netif_receive_skb|net_rx_action|process_backlog|napi_gro|udp_tunnel_xmit_skb|ip_finish_output|chacha20poly1305|crypto_aead)' | head -30
	} >&2
}

# ----- the run -----

topology || { say "setting up the namespaces failed"; exit 1; }
say "kernel $(uname -r), $(nproc) CPUs, $RUNS run(s) of ${T} s, systems $SYSTEMS"
IFS=, read -r -a systems <<<"$SYSTEMS"
for s in "${systems[@]}"; do
	declare -F "prep_$s" >/dev/null && "prep_$s"
done

# One untimed round first: modules load (esp4, xfrm_user, tun...) and
# the kernel instantiates and self-tests each AEAD template on first use,
# seconds under TCG, which would otherwise land on whichever system
# happens to come first.
for s in "${systems[@]}"; do
	say "warm-up: $s"
	if "up_$s" && first_ping "$ADDR"; then
		n1 ping -n -q -c 20 -i 0.01 "$ADDR" >/dev/null 2>&1
	else
		say "warm-up: $s: no ping answered"
	fi
	"down_$s"
done

rc=0
for r in $(seq "$RUNS"); do
	for s in "${systems[@]}"; do
		say "run $r/$RUNS: $s"
		t0=$(now_us)
		dbg "$s: set-up starts"
		if ! "up_$s"; then
			say "$s: set-up failed"; rc=1; "down_$s"; continue
		fi
		dbg "$s: configured"
		if ! first_ping "$ADDR"; then
			say "$s: no ping answered within 20 s"
			tail -n 5 "$W"/shoal*.log 2>/dev/null | sed 's/^/bench:   /' >&2
			rc=1; "down_$s"; continue
		fi
		t1=$(now_us)
		[ "$s" != underlay ] && result "$s" setup_ms "$r" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
		if declare -F "after_ping_$s" >/dev/null && ! "after_ping_$s"; then
			say "$s: adding peers failed"; rc=1; "down_$s"; continue
		fi
		measure "$s" "$r"
		declare -F "extra_$s" >/dev/null && "extra_$s" "$r"
		if [ "$r" = "$RUNS" ] && { [ "$PERF" = udp64 ] ||
		   { [ "$PERF" = tcp ] && { [ "$s" = wireguard ] || [ "$s" = shoal ]; }; }; }; then
			profile "$s"
		fi
		"down_$s"
	done
done
exit $rc
