# SPDX-License-Identifier: GPL-2.0
# The shoal programs in the NAT lab: source after tests/lab/lab.sh, with
# BIN (the programs' directory), TMP_DIR (sockets, state and logs) and PY
# (python3) set.  nat_lab.sh, mediator_shoald.sh and tcp_fallback.sh
# started them alike; new suites use these.

# lab_sh X ARGS...: shoal as client X runs it.
lab_sh() {
	local x=$1
	shift
	SHOAL_SOCKET=$TMP_DIR/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

# lab_peer_field X NICK FIELD: FIELD of X's peer NICK ("" if none).
lab_peer_field() {
	lab_sh "$1" status --json 2>/dev/null | $PY -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["nickname"] == sys.argv[1]:
        v = p.get(sys.argv[2])
        print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3" 2>/dev/null
}

# lab_member_online X NET NICK: true or false, as X's `shoal networks`
# says (the mediator's word), "" if NICK is not in NET.
lab_member_online() {
	lab_sh "$1" networks --json 2>/dev/null | $PY -c '
import json, sys
for n in json.load(sys.stdin):
    for m in n["members"]:
        if n["name"] == sys.argv[1] and m["nickname"] == sys.argv[2]:
            print("true" if m["online"] else "false")' "$2" "$3" 2>/dev/null
}

# lab_until_true SECONDS CMD...: CMD succeeds within SECONDS (tried
# every 0.2 s).
lab_until_true() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# lab_mediator_start ARGS...: shoal-mediator in the internet, logging to
# $TMP_DIR/mediator.log; LAB_MED_PID and LAB_MED_KEY once it is up.
lab_mediator_start() {
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" \
		--state-dir "$TMP_DIR/med" "$@" >>"$TMP_DIR/mediator.log" 2>&1 &
	LAB_MED_PID=$!
	for _ in $(seq 50); do
		if grep -q '^shoal login ' "$TMP_DIR/mediator.log" 2>/dev/null; then
			LAB_MED_KEY=$(grep -m1 '^shoal login ' \
				"$TMP_DIR/mediator.log" | awk '{print $4}')
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# lab_shoald_start X DATAPATH [ARGS...]: shoald in client X's namespace,
# with ARGS (--config FILE, say) or else device shX on port 51820,
# logging to $TMP_DIR/shoald-X.log; LAB_SD_PID[X].  Fails if its socket
# did not come within 5 s.
declare -A LAB_SD_PID
lab_shoald_start() {
	local x=$1 dp=$2 ns
	shift 2
	ns=LAB_${x^^}_NS
	[ $# = 0 ] && set -- -i "sh$x" --port 51820
	rm -f "$TMP_DIR/$x.sock"
	# Not through lab_exec, a function: $! must be shoald itself.
	ip netns exec "${!ns}" "$BIN/shoald" "$@" \
		--datapath "$dp" --state-dir "$TMP_DIR/state-$x" \
		--socket "$TMP_DIR/$x.sock" --foreground --verbose \
		>>"$TMP_DIR/shoald-$x.log" 2>&1 &
	LAB_SD_PID[$x]=$!
	for _ in $(seq 50); do
		[ -S "$TMP_DIR/$x.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

# lab_first_ping FROM TO ADDR T0: appends "FROM-TO SECONDS" (since T0,
# date +%s.%N) to $TMP_DIR/timings once FROM pings ADDR, or "FROM-TO
# never" after about 20 s.
lab_first_ping() {
	local from=$1 to=$2 addr=$3 t0=$4 t
	for _ in $(seq 400); do
		if lab_exec "$from" ping -c1 -W0.2 -q "$addr" >/dev/null 2>&1; then
			t=$(date +%s.%N)
			printf '%s-%s %.2f\n' "$from" "$to" \
				"$(echo "$t - $t0" | bc)" >>"$TMP_DIR/timings"
			return 0
		fi
		sleep 0.05
	done
	echo "$from-$to never" >>"$TMP_DIR/timings"
}
