#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald failing over between the instances of one mediator (issue 17):
# two shoal-mediator processes sharing one state directory (one key, one
# SQLite database in WAL mode) on two ports of the NAT lab's internet,
# and two shoalds with public addresses configured with both instances.
#
#   lab-inet: shoal-mediator m1 198.51.100.1:51800  } one state directory
#             shoal-mediator m2 198.51.100.1:51803  }
#             shoal-mediator m3 198.51.100.1:51806  another key
#      |-- a 203.0.113.1  shoald "sha", alice
#      |-- b 203.0.113.2  shoald "shb", bob
#      |-- c 203.0.113.3  shoald "shc", carol: m3 first in its list
#      `-- d 203.0.113.4  shoald "shd", dave: m2 alone configured, m1
#                         in the instances its state says it learned
#
# Checked: both log in to m1; kill -9 of m1: each is logged in to m2
# within 10 s (the time printed), `shoal status --json` shows the new
# address, and a ping through the direct tunnel every 0.2 s loses
# nothing meanwhile; m1 back and m2 killed: back on m1.  An instance
# whose key is not the pinned one is never used, and the log says why.
# The instances learned before a restart are tried after the configured
# ones, but only under the key they were learned with.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

PY=/usr/bin/python3
M=$LAB_MEDIATOR1
P1=51800 P2=51803 P3=51806
declare -A NICK=([a]=alice [b]=bob [c]=carol [d]=dave)

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 12

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in a b c d; do
	lab_client "$x" none || { echo "Bail out! lab_client $x"; exit 1; }
done

sh_() {
	local x=$1
	shift
	SHOAL_SOCKET=$tmp/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

# med X FIELD: FIELD of X's status's mediator object, as JSON text.
med() {
	sh_ "$1" status --json 2>/dev/null | $PY -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["mediator"][sys.argv[1]]))' "$2" 2>/dev/null
}

# on X PORT: X is logged in to the instance at M:PORT.
on() {
	[ "$(med "$1" address)" = "\"$M:$2\"" ] &&
	[ "$(med "$1" logged_in)" = true ]
}

peer_field() {
	sh_ "$1" status --json 2>/dev/null | $PY -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["nickname"] == sys.argv[1]:
        v = p[sys.argv[2]]
        print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3" 2>/dev/null
}

until_true() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

declare -A MPID
# mediator_start NAME STATE PORT RELAYS: its key in MEDKEY.
mediator_start() {
	local name=$1 log=$tmp/$1.log
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$2" \
		--listen "$M:$3" --relay-ports "$4" >>"$log" 2>&1 &
	MPID[$name]=$!
	for _ in $(seq 50); do
		grep -q '^shoal login ' "$log" 2>/dev/null && break
		sleep 0.1
	done
	MEDKEY=$(grep -m1 '^shoal login ' "$log" | awk '{print $4}')
	[ -n "$MEDKEY" ]
}

# shoald_start X ADDRESSES KEY: X's configuration logs it in to the
# mediator at ADDRESSES (a list) with KEY.
shoald_start() {
	local x=$1 ns=LAB_${1^^}_NS
	# One key per client, whatever its configuration: its nickname.
	[ -s "$tmp/$x.key" ] || "$BIN/shoal" genkey >"$tmp/$x.key"
	cat >"$tmp/$x.conf" <<EOF
[Interface]
Name = sh$x
PrivateKey = $(cat "$tmp/$x.key")
ListenPort = 51820
[Mediator]
Address = $2
PublicKey = $3
Nickname = ${NICK[$x]}
EOF
	chmod 600 "$tmp/$x.conf"
	ip netns exec "${!ns}" "$BIN/shoald" --config "$tmp/$x.conf" \
		--datapath tap --state-dir "$tmp/state-$x" \
		--socket "$tmp/$x.sock" --foreground \
		>>"$tmp/shoald-$x.log" 2>&1 &
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

show_logs() {
	local f
	for f in "$tmp"/*.log; do
		echo "# ---- $(basename "$f")"
		tail -n 25 "$f" | sed 's/^/# /'
	done
}

ok=true
mediator_start m1 "$tmp/cluster" $P1 52000-52009 || ok=false
mediator_start m2 "$tmp/cluster" $P2 52010-52019 || ok=false
for x in a b; do
	shoald_start "$x" "$M:$P1, $M:$P2" "$MEDKEY" || ok=false
done
# Meanwhile dave logs in to m2: both processes take logins at once on
# the one SQLite database (WAL).
shoald_start d "$M:$P2" "$MEDKEY" || ok=false
MPID[d]=$!
until_true 15 on a $P1 && until_true 5 on b $P1 && until_true 5 on d $P2 ||
	ok=false
$ok || show_logs
ktap_check "two instances on one state directory: a and b logged in to the first, d to the second" $ok
kill "${MPID[d]}"
wait "${MPID[d]}" 2>/dev/null
MPID[d]=

V4B=
online() {
	V4B=$(peer_field a bob address)
	[ "$(peer_field a bob online)" = true ] &&
	[ "$(peer_field b alice online)" = true ] &&
	[ "$(peer_field a bob path)" = direct ]
}
sh_ a create lan --no-password >/dev/null &&
	sh_ b join lan --no-password >/dev/null &&
	until_true 20 online
ktap_check "a network of both; a direct tunnel" online

# a pings b through the tunnel every 0.2 s, until the end (its own pid:
# SIGINT makes it print its statistics).
lab_exec a sh -c 'echo $$ >"$1"; exec ping -i 0.2 -W 1 "$2"' sh \
	"$tmp/ping.pid" "$V4B" >"$tmp/ping" 2>&1 &
PING=$!
sleep 1

# failover_to PORT: seconds until both are logged in at M:PORT.
failover_to() {
	local t0=$1 port=$2 x
	for x in a b; do
		until_true 10 on "$x" "$port" || return 1
	done
	echo "# logged in to $M:$port $(echo "$(date +%s.%N) - $t0" | bc) s after the kill"
}

t0=$(date +%s.%N)
kill -9 "${MPID[m1]}"
wait "${MPID[m1]}" 2>/dev/null
failover_to "$t0" $P2 || show_logs
ktap_check "m1 killed: both logged in to m2 within 10 s" on a $P2
ktap_check "status --json's mediator: the new address, both instances configured" \
	$PY -c '
import json, sys
m = json.loads(sys.argv[1])["mediator"]
assert m["address"] == sys.argv[2] and m["logged_in"], m
assert [i["address"] for i in m["instances"]] == sys.argv[3:], m
assert not any(i["learned"] for i in m["instances"]), m
assert "instance" in m and "error" in m, m' \
	"$(sh_ a status --json)" "$M:$P2" "$M:$P1" "$M:$P2"
# The two shoalds meet again on m2 (each one's peers come back).
until_true 10 online
sleep 2
mediator_start m1 "$tmp/cluster" $P1 52000-52009 || echo "# m1 did not restart"
sleep 1
t0=$(date +%s.%N)
kill -9 "${MPID[m2]}"
wait "${MPID[m2]}" 2>/dev/null
failover_to "$t0" $P1 || show_logs
ktap_check "m1 back, m2 killed: both back on m1 within 10 s" on a $P1
ktap_check "and bob is still a's peer, online" until_true 10 online
sleep 1
kill -INT "$(cat "$tmp/ping.pid")"
wait $PING 2>/dev/null
sed -n '/statistics/,$p' "$tmp/ping" | sed 's/^/# /'
no_loss() {
	grep -qE ' 0(\.0+)?% packet loss' "$tmp/ping" &&
	[ "$(grep -oE '^[0-9]+ packets transmitted' "$tmp/ping" | cut -d' ' -f1)" -ge 20 ]
}
ktap_check "the direct tunnel lost no ping (every 0.2 s) through both failovers" no_loss
grep -E "trying|logged in to|redirect" "$tmp/shoald-a.log" | sed 's/^/# a: /'

# ---- an instance with another key is not used ----------------------------

mediator_start m3 "$tmp/other" $P3 52020-52029
OTHERKEY=$MEDKEY
CLUSTERKEY=$(grep -m1 '^shoal login ' "$tmp/m1.log" | awk '{print $4}')
ktap_check "m3 has a key of its own" test "$OTHERKEY" != "$CLUSTERKEY"
shoald_start c "$M:$P3,$M:$P1" "$CLUSTERKEY"
until_true 15 on c $P1 || show_logs
ktap_check "c, m3 first in its list, logs in to m1 (the pinned key)" on c $P1
ktap_check "and its log says why not m3" \
	grep -q "mediator $M:$P3: .*not the key pinned" \
	"$tmp/shoald-c.log"

# ---- the instances learned before a restart ------------------------------

# learned_start KEY: dave, configured with m2 (dead now) alone, with m1
# among the instances his state says the cluster named under KEY.
learned_start() {
	[ -n "${MPID[d]:-}" ] && kill "${MPID[d]}" && wait "${MPID[d]}" 2>/dev/null
	mkdir -p "$tmp/state-d"
	printf '[Mediator]\nAddress = %s\nPublicKey = %s\n' "$M:$P1" "$1" \
		>"$tmp/state-d/shd.instances"
	: >"$tmp/shoald-d.log"
	shoald_start d "$M:$P2" "$CLUSTERKEY"
	MPID[d]=$!
}
learned_start "$OTHERKEY"
sleep 4
unused() {
	! grep -q "$M:$P1" "$tmp/shoald-d.log" &&
	[ "$(med d instances | $PY -c 'import json, sys; print(len(json.load(sys.stdin)))')" = 1 ] &&
	[ "$(med d logged_in)" = false ]
}
ktap_check "learned under another key: not used (dave stays logged out)" unused
learned_start "$CLUSTERKEY"
until_true 10 on d $P1 || show_logs
ktap_check "learned under the cluster's key: m2 dead, dave logs in to m1" on d $P1
ktap_finish
