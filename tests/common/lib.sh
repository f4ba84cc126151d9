# SPDX-License-Identifier: GPL-2.0
# Shared by the shell tests: KTAP output and network-namespace helpers.
# Source it, call ktap_plan N, then ktap_ok/ktap_fail/ktap_skip per test,
# and end with ktap_finish (exit 0, 1 on any failure, 4 if all skipped).

KSFT_SKIP=4
ktap_n=0
ktap_fails=0
ktap_skips=0
NETNS_CREATED=()

ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

ktap_ok() {
	ktap_n=$((ktap_n + 1))
	echo "ok $ktap_n $*"
}

ktap_fail() {
	ktap_n=$((ktap_n + 1))
	ktap_fails=$((ktap_fails + 1))
	echo "not ok $ktap_n $*"
}

ktap_skip() {
	ktap_n=$((ktap_n + 1))
	ktap_skips=$((ktap_skips + 1))
	echo "ok $ktap_n $* # SKIP"
}

# ktap_todo NAME WHY: a test that fails until WHY is done, with KTAP's
# TODO directive: reported, but no failure of the suite (tests/run agrees).
ktap_todo() {
	ktap_n=$((ktap_n + 1))
	echo "not ok $ktap_n $1 # TODO $2"
}

# ktap_check NAME CMD...: one test from a command's exit status.  Its
# output goes into the log as diagnostics when it fails; when it passes,
# only the lines it wrote as diagnostics ("# ..."), the figures it measured.
ktap_check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" = 0 ]; then
		printf '%s\n' "$out" | grep '^# ' || true
		ktap_ok "$name"
	else
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
		echo "# '$*' exited $rc"
		ktap_fail "$name"
	fi
}

ktap_finish() {
	if [ "$ktap_fails" -gt 0 ]; then
		echo "# FAILED: $ktap_fails of $ktap_n"
		exit 1
	fi
	[ "$ktap_n" -gt 0 ] && [ "$ktap_skips" = "$ktap_n" ] && exit $KSFT_SKIP
	exit 0
}

# netns_add NAME...: namespaces with lo up, removed by netns_cleanup.
netns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || return 1
		NETNS_CREATED+=("$ns")
		ip -n "$ns" link set lo up
	done
}

netns_cleanup() {
	local ns
	for ns in "${NETNS_CREATED[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_CREATED=()
}

# A name unique to this run, so parallel runs on one host never collide.
# n NS CMD...: CMD in network namespace NS.
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

netns_name() {
	echo "shoal-$1-$$"
}

# Runs from the repository root, where build/ is.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SHOAL_BIN:-$TOP/build/san/bin}
TESTBIN=${SHOAL_TESTBIN:-$TOP/build/san/tests}

# vm_test_begin N, for tests that need shoal.ko: a scratch directory $tmp,
# removed on exit with the test's background jobs and namespaces; a skip
# where the module is not there (the host); then the plan of N tests.
vm_test_begin() {
	tmp=$(mktemp -d)
	trap vm_test_cleanup EXIT
	if ! modinfo shoal >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
		ktap_plan 1
		ktap_skip "needs root and shoal.ko (run under scripts/vm)"
		ktap_finish
	fi
	ktap_plan "$1"
}

vm_test_cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}

# monitor_start NS PORT FILE [ARGS...]: `shoal monitor --json ARGS` in NS,
# in the background, writing to FILE; returns once it has seen a probe
# control packet sent to PORT on the loopback of $MONITOR_PROBE_NS (or NS),
# so no event after it is missed.  The probe's lines carry the payload
# 70726f6265 ("probe").  Stop it with monitor_stop.
monitor_start() {
	local ns=$1 port=$2 file=$3 i
	shift 3
	ip netns exec "$ns" timeout 60 "$BIN/shoal" monitor --json "$@" >"$file" 2>&1 &
	MONITOR_PID=$!
	for i in $(seq 60); do
		ip netns exec "${MONITOR_PROBE_NS:-$ns}" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"\0\0\0\0probe", ("127.0.0.1", int(sys.argv[1])))' "$port"
		grep -q '"payload":"70726f6265"' "$file" && return 0
		sleep 0.5
	done
	echo "# shoal monitor never saw its probe"
	return 1
}

monitor_stop() {
	kill "$MONITOR_PID" 2>/dev/null
	wait "$MONITOR_PID" 2>/dev/null
	return 0
}

# shoald_config FILE NAME ME PEER PORT ADDR/LEN PEER-ADDR [ENDPOINT [LINE...]]:
# a shoald.conf for device NAME with the private key $tmp/privME,
# listening on PORT, and one static peer ($tmp/pubPEER) at PEER-ADDR/32,
# reached at ENDPOINT if it is not empty; each LINE goes in [Interface].
shoald_config() {
	local file=$1 name=$2 me=$3 peer=$4 port=$5 addr=$6 peer_addr=$7
	local endpoint=${8:-}
	shift $(($# < 8 ? $# : 8))
	{
		echo "[Interface]"
		echo "Name = $name"
		echo "PrivateKey = $(cat "$tmp/priv$me")"
		echo "ListenPort = $port"
		echo "Address = $addr"
		for l in "$@"; do echo "$l"; done
		echo
		echo "[Peer]"
		echo "PublicKey = $(cat "$tmp/pub$peer")"
		[ -n "$endpoint" ] && echo "Endpoint = $endpoint"
		echo "Address = $peer_addr/32"
	} >"$file"
	chmod 600 "$file"
}

# tcp_sink NS ADDR PORT FILE: a TCP receiver in NS on ADDR:PORT, in the
# background (its PID in TCP_SINK_PID), that writes "BYTES SHA256" of one
# connection's stream to FILE; returns once it listens (1 if it never
# did).
tcp_sink() {
	local i
	ip netns exec "$1" timeout 60 /usr/bin/python3 -c '
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)' "$2" "$3" >"$4" 2>&1 &
	TCP_SINK_PID=$!
	for i in $(seq 300); do
		grep -q ready "$4" && return 0
		sleep 0.1
	done
	echo "# the TCP receiver never started"
	return 1
}

# tcp_source NS ADDR PORT MIB: sends MIB MiB (seeded, the same each time)
# from NS to ADDR:PORT and prints "BYTES SHA256".  Then `wait
# $TCP_SINK_PID`: the sink's FILE says the same if the stream arrived
# intact.
tcp_source() {
	ip netns exec "$1" timeout 60 /usr/bin/python3 -c '
import hashlib, random, socket, sys
data = random.Random(7).randbytes(int(sys.argv[3]) << 20)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(data); c.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$2" "$3" "$4"
}
