#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The NAT lab with the real programs (tests/lab/lab.sh builds the
# namespaces), issue 16's acceptance test: shoal-mediator in the
# "internet" with a probe address, and clients each running shoald behind
# its own kind of home router:
#   a  no NAT
#   b  masquerade: endpoint-independent mapping, filtering by address and port
#   c  full cone: the tunnel port forwarded
#   d  symmetric (random ports per destination)
#   e  symmetric too
#   f  symmetric with miniupnpd (UPnP IGD, NAT-PMP, PCP); only where
#      lab.sh has the kind (tests/lab/lab_upnp.sh) and miniupnpd is
#      installed, else left out (its netcheck check says so, skipped)
#   g  double NAT: a home masquerade behind a carrier-grade masquerade
#   h  a router that drops every forwarded UDP packet (TCP passes)
#   i  masquerade, like b ...
#   j  ... on the same LAN as i, behind the same router, same port
# netcheck must classify each; a network joined with a password must give
# every pair a tunnel that pings: direct where hole punching, birthday
# probing (b, g, i and j against d and e, within 20 s of the join), a port
# mapping (f) or the LAN (i-j) can work, relayed for d-e, and relayed over
# TCP for h with anyone.  The matrix of pairs is printed (pair, path,
# transport, seconds from `shoal join` returning to the first answered
# ping) with the median of that time over direct pairs, which must be at
# most 0.5 s (not checked under qemu's emulation, in the VM).  A LAN-game broadcast must reach everyone; members cannot
# spoof each other; the mediator going down must leave direct tunnels
# alone, and, where build/san/bin/shoal-relay exists, a pair relayed
# through a separate shoal-relay loses no ping while the mediator is down
# for 30 s; everyone logs in again when it is back; a relayed pair goes
# direct once a router allows; a kick and a logout cut a member off.
#
# FEATURES_PENDING names parts of issue 16 built in other branches: a
# check that waits for one reports "not ok ... # TODO waits for X" when it
# fails (KTAP's known failure: no failure of the suite).  Empty it (or run
# with FEATURES_PENDING= in the environment) to require everything.
#
# NAT_LAB_DATAPATH picks the datapath (tap here; nat_lab_kernel.sh runs
# this in the VM with the kernel's).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

FEATURES_PENDING=${FEATURES_PENDING-}

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
DP=${NAT_LAB_DATAPATH:-tap}
PY=/usr/bin/python3
PORT=51800
LAB_RELAY=198.51.100.3	# the separate relay's address, in the internet
EIM=endpoint-independent
APD=address-and-port-dependent

# The clients, in the order they join; f only where its kind exists.
CLIENTS="a b c d e"
if declare -F lab_upnp_start >/dev/null &&
   { [ -x /usr/sbin/miniupnpd ] || command -v miniupnpd >/dev/null; }; then
	HAVE_UPNP=true
	CLIENTS="$CLIENTS f"
else
	HAVE_UPNP=false
fi
CLIENTS="$CLIENTS g h i j"
HAVE_RELAY=false
[ -x "$BIN/shoal-relay" ] && HAVE_RELAY=true
declare -A KIND=([a]=none [b]=cone-filtered [c]=full-cone [d]=symmetric
		 [e]=symmetric [f]=upnp [g]=double-nat [h]=udp-blocked
		 [i]=cone-filtered [j]=same:i)
declare -A NICK=([a]=alice [b]=bob [c]=carol [d]=dave [e]=erin [f]=frank
		 [g]=grace [h]=heidi [i]=ivan [j]=judy)
# What netcheck must say: mapping / filtering ("" for f: its router is
# symmetric, what its port mapping makes of that is not checked here).
declare -A MAPPING=([a]=$EIM [b]=$EIM [c]=$EIM [d]=$APD [e]=$APD [f]=
		    [g]=$EIM [h]=unknown [i]=$EIM [j]=$EIM)
declare -A FILTERING=([a]=$EIM [b]=$APD [c]=$EIM [d]=$APD [e]=$APD [f]=
		      [g]=$APD [h]=unknown [i]=$APD [j]=$APD)

# want_path X Y: the path the matrix says for the pair, and the
# transport: symmetric against symmetric (no mapping) is relayed, h is
# relayed over TCP with anyone, everything else is direct.
want_path() {
	case "$1$2" in
	*h*) echo "relay tcp" ;;
	de) echo "relay udp" ;;
	*) echo "direct udp" ;;
	esac
}

# pending_for X Y: the feature the pair's check waits for, if any.
pending_for() {
	local f=
	case "$1$2" in
	*h*) f=tcp ;;
	[bgij][de] | [de][bgij]) f=birthday ;;
	esac
	[ -n "$f" ] && [[ " $FEATURES_PENDING " == *" $f "* ]] && echo "$f"
}

# Birthday-probed pairs must be direct within this many seconds of the join.
# Under qemu's emulation (TCG: no kvm-clock in the guest) a client probing
# three birthday pairs at once sends far fewer probes than its 200 a
# second, and the first run for a pair behind i's and j's shared NAT has
# ended with nothing (d-j and e-j in 2 of 3 VM runs, never on the host);
# the next run begins 60 s after (BIRTHDAY_AGAIN).  A time there is no
# measure of shoal: the limit allows that second run, and the path is
# still checked.
BIRTHDAY_LIMIT=20
if [ "$DP" = kernel ] &&
   ! grep -qw kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null; then
	BIRTHDAY_LIMIT=90
fi

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
set -- $CLIENTS
NCLIENTS=$#
NPAIRS=$((NCLIENTS * (NCLIENTS - 1) / 2))

# Checks of one feature each live in tests/system/nat_lab.d/NAME.bash,
# sourced here: one adds its number of checks to LAB_PART_TESTS and may
# define NAME_up (run once every pair pings, the mediator up) and
# NAME_mediator_down (run while the mediator is down).
LAB_PARTS=()
LAB_PART_TESTS=0
for part in "$(dirname "$0")"/nat_lab.d/*.bash; do
	[ -e "$part" ] || continue
	. "$part"
	LAB_PARTS+=("$(basename "$part" .bash)")
done
lab_parts() {
	local p
	for p in ${LAB_PARTS[@]+"${LAB_PARTS[@]}"}; do
		if declare -F "${p}_$1" >/dev/null; then "${p}_$1"; fi
	done
}
ktap_plan $((2 * NCLIENTS + NPAIRS + 19 + LAB_PART_TESTS))

# ktap_check_for FEATURE NAME CMD...: ktap_check, but while FEATURE is
# pending a failure is a TODO.
ktap_check_for() {
	local feature=$1 name=$2 out
	shift 2
	if [ -z "$feature" ]; then
		ktap_check "$name" "$@"
	elif out=$("$@" 2>&1); then
		printf '%s\n' "$out" | grep '^# '
		ktap_ok "$name # TODO waits for $feature, but passes already"
	else
		[ -n "$out" ] && printf '%s\n' "$out" | sed '/^# /!s/^/# /'
		ktap_todo "$name" "waits for $feature"
	fi
}
pending() { [[ " $FEATURES_PENDING " == *" $1 "* ]] && echo "$1"; }

# now, since: seconds (with fractions) since the epoch, and since $1.
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" "${KIND[$x]}" 51820 || { echo "Bail out! lab_client $x"; exit 1; }
done
if $HAVE_UPNP; then
	lab_upnp_start f || { echo "Bail out! miniupnpd on f's router"; exit 1; }
fi
ip -n "$LAB_INET" addr add "$LAB_RELAY/24" dev internet

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

RELAY_KEY=
med_n=0
# mediator_start: one more run of the mediator, on the same state (so
# the same key), its output in $tmp/mediator-N.log.
mediator_start() {
	local relay=() log
	[ -n "$RELAY_KEY" ] && relay=(--relay-key "$RELAY_KEY")
	med_n=$((med_n + 1))
	log=$tmp/mediator-$med_n.log
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
		--listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
		"${relay[@]}" >>"$log" 2>&1 &
	med_pid=$!
	for _ in $(seq 50); do
		grep -q '^shoal login ' "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
mediator_stop() {
	kill -9 "$med_pid"
	wait "$med_pid" 2>/dev/null
}

# 1: the mediator starts with no configuration and says how to log in.
mediator_start
ktap_check "the mediator starts and prints the login line" \
	grep -q '^shoal login ' "$tmp/mediator-1.log"
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator-1.log" | awk '{print $4}')

# 2: a relay of its own, which the mediator must know by its key.  The
# relay makes its key on the first start and prints it ("shoal-relay key
# KEY": the first base64 key in its first lines); it stops, the mediator
# starts again with --relay-key (same state, same key), and the relay
# starts again (same state, same key) and registers.
relay_run() {
	ip netns exec "$LAB_INET" "$BIN/shoal-relay" \
		--mediator "$LAB_MEDIATOR1:$PORT" --mediator-key "$MEDKEY" \
		--listen "$LAB_RELAY:$PORT" --state-dir "$tmp/relay" \
		>"$tmp/relay-$1.log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 50); do
		key=$(head -n5 "$tmp/relay-$1.log" 2>/dev/null |
		      grep -oE '[A-Za-z0-9+/]{43}=' | head -n1)
		[ -n "$key" ] && return 0
		sleep 0.1
	done
	return 1
}
relay_start() {
	local key
	relay_run 1 || { cat "$tmp/relay-1.log"; return 1; }
	RELAY_KEY=$key
	echo "# relay key $RELAY_KEY"
	kill "$relay_pid"
	wait "$relay_pid" 2>/dev/null
	mediator_stop
	mediator_start || return 1
	relay_run 2 || { cat "$tmp/relay-2.log"; return 1; }
	[ "$key" = "$RELAY_KEY" ] || { echo "# a new key after a restart: $key"; return 1; }
}
if $HAVE_RELAY; then
	# In this shell, not ktap_check's: the pids and the key must stay.
	relay_start >"$tmp/relay-start" 2>&1
	relay_rc=$?
	relay_said() { cat "$tmp/relay-start"; return "$relay_rc"; }
	ktap_check "shoal-relay starts and prints its key; the mediator takes it" relay_said
else
	ktap_skip "a separate relay: no build/san/bin/shoal-relay here"
fi

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

# Each client's shoald starts and logs in, all at once (h waits out the
# UDP check the others pass at once).
declare -A SD_PID V4
for x in $CLIENTS; do shoald_start "$x"; done
bg=()
for x in $CLIENTS; do
	sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick "${NICK[$x]}" \
		--json >"$tmp/login-$x" 2>&1 &
	bg+=($!)
done
wait "${bg[@]}"
for x in $CLIENTS; do
	echo "# $x: $(cat "$tmp/login-$x")"
	V4[$x]=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["ipv4"].split("/")[0])' \
		"$tmp/login-$x" 2>/dev/null)
	ktap_check "$x (${KIND[$x]}) logs in and gets an address" \
		test -n "${V4[$x]}"
done

# netcheck tells the NATs apart (all at once too).
bg=()
for x in $CLIENTS; do
	sh_ "$x" netcheck --json >"$tmp/netcheck-$x" 2>&1 &
	bg+=($!)
done
wait "${bg[@]}"
netcheck_ok() {
	$PY - "$tmp/netcheck-$1" "${MAPPING[$1]}" "${FILTERING[$1]}" \
		"$(eval echo "\$LAB_${1^^}_PUBLIC")" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
mapping, filtering, public, x = sys.argv[2:]
if x == "h":
    # No UDP answer at all: nothing is known about the NAT.
    assert r["udp"] is False, r
    assert r["mapping"] == "unknown" and r["filtering"] == "unknown", r
    sys.exit()
if mapping:
    assert r["mapping"] == mapping, r
if filtering:
    assert r["filtering"] == filtering, r
assert r["public_endpoint"].startswith(public + ":"), r
if x == "f":
    assert r.get("port_mapping"), r
EOF
}
for x in $CLIENTS; do
	echo "# $x netcheck: $(cat "$tmp/netcheck-$x")"
	case $x in
	h) what="UDP blocked: udp false, mapping and filtering unknown" ;;
	f) what="a port mapping" ;;
	*) what="${MAPPING[$x]} / ${FILTERING[$x]}" ;;
	esac
	ktap_check "netcheck: $x is $what" netcheck_ok "$x"
done

# Passwords.
printf 'lan party 2026\n' >"$tmp/pw"
printf 'not it\n' >"$tmp/wrong"
sh_ a create lanparty --password-file "$tmp/pw" >/dev/null
sh_ b join lanparty --password-file "$tmp/wrong" 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
ktap_check "a wrong password is refused with exit 10" test "$rc" = 10

# Everyone joins.  Per pair, from the moment the later one's join
# returns: the first answered ping (one ping process a pair, which sends
# every PING_INTERVAL until an answer or 30 s), and the path both sides
# see, until it is the one the matrix wants or the time is up
# (BIRTHDAY_LIMIT for birthday probing, 30 s for the rest).  The paths
# come from one poller that reads every client's status once a round:
# little load while the mediator hashes the joins' passwords (under TCG
# in the VM, a poller per pair starved it).
# $tmp/first-X-Y: FIRST-PING-S; $tmp/pair-X-Y (pair_poll):
# "PATH-X TRANSPORT-X PATH-Y TRANSPORT-Y PATH-S".
PING_INTERVAL=0.05
[ "$DP" = kernel ] && PING_INTERVAL=0.1
first_ping() {
	local x=$1 y=$2 t0=$3 first=never left
	while left=$(awk -v s="$(since "$t0")" 'BEGIN { l = 30 - s; if (l >= 1) printf "%d", l }') &&
	      [ -n "$left" ]; do
		if lab_exec "$x" ping -c1 -i "$PING_INTERVAL" -w "$left" -q "${V4[$y]}" >/dev/null 2>&1; then
			first=$(since "$t0")
			break
		fi
		sleep 0.1
	done
	echo "$first" >"$tmp/first-$x-$y"
}
cat >"$tmp/pair_poll.py" <<'EOF'
# pair_poll.py DIR NOW: one round.  DIR/pairs has "X Y NICK-X NICK-Y WANT
# T0 LIMIT" a line, DIR/status-X each client's status; a pair whose
# DIR/pair-X-Y exists is settled.  Prints how many are not.
import json, os, sys
d, now = sys.argv[1], float(sys.argv[2])
def state(x, nick):
    try:
        peers = json.load(open(os.path.join(d, "status-" + x)))["peers"]
    except (OSError, ValueError, KeyError):
        return "offline", "-"
    for p in peers:
        if p.get("nickname") == nick and p.get("online"):
            return p.get("path") or "-", p.get("transport") or "-"
    return "offline", "-"
left = 0
for line in open(os.path.join(d, "pairs")):
    x, y, nx, ny, want, t0, limit = line.split()
    out = os.path.join(d, "pair-%s-%s" % (x, y))
    if os.path.exists(out):
        continue
    px, tx = state(x, ny)
    py, ty = state(y, nx)
    at = now - float(t0)
    if (px == py == want) or at >= float(limit):
        with open(out, "w") as f:
            f.write("%s %s %s %s %.2f\n" % (px, tx, py, ty, at))
    else:
        left += 1
print(left)
EOF
pair_poll() {
	local x bg left
	while :; do
		bg=()
		for x in $CLIENTS; do
			status_json "$x" >"$tmp/status-$x" 2>/dev/null &
			bg+=($!)
		done
		wait "${bg[@]}"
		left=$($PY "$tmp/pair_poll.py" "$tmp" "$(now)")
		[ "$left" = 0 ] && return
		sleep 0.5
	done
}
joined="a"
ok=true
pingers=()
: >"$tmp/pairs"
for x in ${CLIENTS#a }; do
	# The mediator runs Argon2id at most 8 times a second in all (-104,
	# "try again later", past that): ten joins in a row meet it, and a
	# user would try again.
	for try in 1 2 3 4 5; do
		sh_ "$x" join lanparty --password-file "$tmp/pw" \
			>/dev/null 2>"$tmp/join-err" && break
		grep -q 'try again later' "$tmp/join-err" || { ok=false; break; }
		[ "$try" = 5 ] && ok=false
		sleep 1
	done
	t0=$(now)
	for y in $joined; do
		first_ping "$y" "$x" "$t0" &
		pingers+=($!)
		read -r want _ <<<"$(want_path "$y" "$x")"
		limit=30
		case "$y$x" in [bgij][de] | [de][bgij]) limit=$BIRTHDAY_LIMIT ;; esac
		echo "$y $x ${NICK[$y]} ${NICK[$x]} $want $t0 $limit" >>"$tmp/pairs"
	done
	joined="$joined $x"
done
pair_poll
wait "${pingers[@]}"
ktap_check "every client joins with the password" $ok

# The matrix: one line a pair, and a check a pair.
echo "# pair path transport join-to-first-ping(s)"
: >"$tmp/direct-times"
for x in $CLIENTS; do
	for y in $CLIENTS; do
		[[ $x < $y ]] || continue
		read -r first <"$tmp/first-$x-$y"
		read -r px tx py ty at <"$tmp/pair-$x-$y"
		path=$px transport=$tx
		[ "$px" = "$py" ] || path=$px/$py
		[ "$tx" = "$ty" ] || transport=$tx/$ty
		echo "# $x-$y $path $transport $first"
		[ "$px$py" = directdirect ] && [ "$first" != never ] &&
			echo "$first" >>"$tmp/direct-times"
	done
done
p50=$(sort -n "$tmp/direct-times" | awk '{ t[NR] = $1 } END {
	if (NR) printf "%.2f", NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }')
echo "# join to first ping, median over $(wc -l <"$tmp/direct-times") direct pairs: ${p50:-none} s (target 0.5 s)"

# pair_ok X Y: the pair pinged, and both sides see the path and (where
# status gives it) the transport the matrix wants, in time.
pair_ok() {
	local x=$1 y=$2 want wt first px tx py ty at
	read -r want wt <<<"$(want_path "$x" "$y")"
	read -r first <"$tmp/first-$x-$y"
	read -r px tx py ty at <"$tmp/pair-$x-$y"
	echo "# $x-$y: first ping ${first} s, paths $px/$py, transport $tx/$ty, at ${at} s"
	[ "$first" != never ] && [ "$px" = "$want" ] && [ "$py" = "$want" ] || return 1
	# No transport field yet: what the TCP fallback adds.
	if [ "$tx$ty" = -- ] && [ -n "$(pending tcp)" ]; then return 0; fi
	# The transport is each side's own leg: tcp only on h's.
	local wx=udp wy=udp
	[ "$x" = h ] && wx=$wt
	[ "$y" = h ] && wy=$wt
	[ "$tx" = "$wx" ] && [ "$ty" = "$wy" ]
}
for x in $CLIENTS; do
	for y in $CLIENTS; do
		[[ $x < $y ]] || continue
		read -r want wt <<<"$(want_path "$x" "$y")"
		how=$want
		[ "$wt" = tcp ] && how="$want over tcp"
		case "$x$y" in
		[bgij][de] | [de][bgij]) how="$how (birthday probing, within $BIRTHDAY_LIMIT s)" ;;
		ij) how="$how (LAN)" ;;
		*f*) how="$how (port mapping)" ;;
		esac
		ktap_check_for "$(pending_for "$x" "$y")" \
			"$x-$y (${KIND[$x]} / ${KIND[$y]}): pings, $how" pair_ok "$x" "$y"
	done
done
p50_ok() { [ -n "$p50" ] && awk -v p="$p50" 'BEGIN { exit !(p <= 0.5) }'; }
# Under qemu's emulation (TCG: the VM of nat_lab_kernel.sh where the host
# has no KVM, so the guest has no kvm-clock) everything runs many times
# slower, and a time is no measure of shoal.
if [ "$DP" = kernel ] &&
   ! grep -qw kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null; then
	ktap_skip "join to first ping: median over direct pairs ${p50:-none} s (the 0.5 s target is not checked under emulation)"
else
	ktap_check "join to first ping: median over direct pairs ${p50:-none} s, at most 0.5 s" p50_ok
fi

# pair_path X Y WANT [SECONDS]: both sides see path WANT and ping.
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
	echo "# $x-$y: $(peer_field "$x" "${NICK[$y]}" path) / $(peer_field "$y" "${NICK[$x]}" path), wanted $want;" \
		"endpoints $(peer_field "$x" "${NICK[$y]}" endpoint) / $(peer_field "$y" "${NICK[$x]}" endpoint)"
	tail -n 8 "$tmp/shoald-$x.log" "$tmp/shoald-$y.log" | sed 's/^/#   /'
	return 1
}

# A LAN game's broadcast from a reaches everyone (h over the TCP relay).
receivers=()
for x in ${CLIENTS#a }; do
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
	receivers+=($!)
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
wait "${receivers[@]}" 2>/dev/null
for x in ${CLIENTS#a }; do
	sed "s/^/# $x received: /" "$tmp/bcast-$x" 2>/dev/null
done
bcast_reached() {
	local x
	for x in "$@"; do grep -q 'alice hosts' "$tmp/bcast-$x" 2>/dev/null || return 1; done
}
others=$(echo ${CLIENTS#a } | sed 's/ h//')
ktap_check "a broadcast from a reaches $others" bcast_reached $others
ktap_check_for "$(pending tcp)" "a broadcast from a reaches h" bcast_reached h

# A member's frames may claim only its own addresses.  b writes two
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

lab_parts up

# The mediator dies: direct tunnels carry on, and so does d-e, relayed
# through the separate relay if there is one (for 30 s then, as d pings
# e all along).  It comes back and everyone logs in again.
if $HAVE_RELAY; then
	lab_exec d ping -c 150 -i 0.2 -W1 -q "${V4[e]}" >"$tmp/relayed-ping" 2>&1 &
	relayed_ping=$!
fi
mediator_stop
lab_parts mediator_down
out=$(lab_exec a ping -c 25 -i 0.2 -W1 -q "${V4[d]}" 2>&1 | grep 'packet loss')
echo "# a-d with the mediator down: $out"
ktap_check "with the mediator down, a direct tunnel loses nothing" \
	grep -q ' 0% packet loss' <<<"$out"
if $HAVE_RELAY; then
	wait "$relayed_ping"
	out=$(grep 'packet loss' "$tmp/relayed-ping")
	echo "# d-e through shoal-relay, the mediator down for 30 s: $out"
	ktap_check "d-e relayed through shoal-relay loses no ping while the mediator is down 30 s" \
		grep -q ' 0% packet loss' <<<"$out"
else
	ktap_skip "a relayed pair outliving the mediator: no shoal-relay here"
fi
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
ktap_check "relayed d-e works after the restart" pair_path d e relay
echo "# d-e relayed $((SECONDS - t0)) s after everyone was back"

# shoald restarts (kill -9 and start again, as after a crash): with the
# kernel datapath the tunnel carries on through it; with TAP, whose
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

# A relayed pair goes direct once it can: e's router starts forwarding
# the public port its NAT maps e's tunnel port to (what netcheck said),
# so e is a full cone now, and d's next direct try gets through.  (The
# router keeps its conntrack entries, so the mapping stays what the
# mediator saw.)
e_public=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["public_endpoint"])' \
	"$tmp/netcheck-e")
# The port to forward is the one e's router maps e's tunnel port to
# towards the mediator's main address (its conntrack table says which):
# that is the candidate the mediator hands d.  netcheck's public
# endpoint is the mapping towards the probe address, and e's NAT maps
# each destination to a port of its own, so forwarding that one (as this
# test did) left the candidate closed in most runs (issue 16's TODO).
e_mapped=$(ip netns exec "$LAB_E_RT" cat /proc/net/nf_conntrack 2>/dev/null |
	awk -v e="$LAB_E_ADDR" -v m="$LAB_MEDIATOR1" -v p="$PORT" '$3 == "udp" &&
		index($0, "src=" e " dst=" m " sport=51820 dport=" p " ") {
		for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) d = $i
		sub("dport=", "", d); print d; exit }')
echo "# e's public endpoint: $e_public at the netcheck, port ${e_mapped:-?} in its router's conntrack now"
[ -n "$e_mapped" ] && e_public=${e_public%:*}:$e_mapped
ip netns exec "$LAB_E_RT" nft -f - <<EOF
table ip lab {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan" ip daddr ${e_public%:*} udp dport ${e_public##*:} dnat to $LAB_E_ADDR:51820
	}
}
EOF
echo "# e's router forwards $e_public to $LAB_E_ADDR:51820"
t0=$SECONDS
ktap_check "relayed d-e goes direct within 75 s once NAT allows" \
	pair_path d e direct 75
echo "# d-e went direct $((SECONDS - t0)) s after e's router changed"
if [ "$(peer_field d erin path)" != direct ]; then
	echo "# d's view of e: path $(peer_field d erin path), endpoint $(peer_field d erin endpoint)"
	echo "# e's router's conntrack for ${e_public%:*}:"
	ip netns exec "$LAB_E_RT" grep -F "${e_public%:*}" /proc/net/nf_conntrack |
		sed 's/^/#   /' | head -n 20
fi

# A kick cuts e off within 5 s.
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

# A clean logout takes d's tunnels down at once.
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

# shoal login answered only once UDP on the tunnel port went through.
ktap_check "login waited for the tunnel port's UDP round trip" \
	$PY -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["udp_verified"] is not True)' "$tmp/login-a"

# No sanitizer reports anywhere.
ktap_check "no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
for x in $CLIENTS; do
	grep -E 'relay|refused|cannot' "$tmp/shoald-$x.log" | head -5 | sed "s/^/# $x: /"
done
ktap_finish
