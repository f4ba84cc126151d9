#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Port mapping in the NAT lab (tests/lab/lab.sh, KIND upnp: a symmetric
# router running miniupnpd): shoald behind it logs in to shoal-mediator
# and maps its tunnel port with each protocol alone (miniupnpd offering
# only UPnP IGD, then NAT-PMP, then PCP), shows it in status and netcheck,
# deletes it when stopped; a peer behind another symmetric router reaches
# it directly through the mapping (two symmetric NATs are otherwise
# relayed); PortMapping = no maps nothing; a hand-made forward
# (ForwardedPort, PublicEndpoint) gives a direct path too; where nothing
# answers, shoald says so once.  TAP datapath, ASan build.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

BIN=${SHOAL_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/san/bin}
PY=/usr/bin/python3
PORT=51800
FWD=40000		# gus's router forwards this port to its tunnel port

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   [ ! -c /dev/net/tun ] || ! command -v miniupnpd >/dev/null; then
	ktap_plan 1
	ktap_skip "needs root, nft, /dev/net/tun and miniupnpd (miniupnpd-nftables)"
	ktap_finish
fi
ktap_plan 22

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
lab_client fox upnp 51820 || { echo "Bail out! lab_client fox"; exit 1; }
lab_client sam symmetric 51820 || { echo "Bail out! lab_client sam"; exit 1; }
lab_client gus symmetric 51820 || { echo "Bail out! lab_client gus"; exit 1; }
lab_client hal symmetric 51820 || { echo "Bail out! lab_client hal"; exit 1; }
# forward RT ADDR PORT: the router forwards PORT to ADDR:51820 by hand,
# as its owner would.
forward() {
	ip netns exec "$1" nft -f - <<EOF
table ip lab {
	chain forwarded {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan" udp dport $3 dnat to $2:51820
	}
}
EOF
}
forward "$LAB_GUS_RT" "$LAB_GUS_ADDR" "$FWD" &&
	forward "$LAB_HAL_RT" "$LAB_HAL_ADDR" "$((FWD + 1))" ||
	{ echo "Bail out! the forwards"; exit 1; }

sh_() {
	local x=$1
	shift
	SHOAL_SOCKET=$tmp/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

# json_get X CMD EXPR: EXPR (Python, on v) of `shoal CMD --json` at X.
json_get() {
	sh_ "$1" "$2" --json 2>/dev/null | $PY -c '
import json, sys
v = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$3" 2>/dev/null
}

ip netns exec "$LAB_INET" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
	--listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT" \
	>>"$tmp/mediator.log" 2>&1 &
for _ in $(seq 50); do
	grep -q '^shoal login ' "$tmp/mediator.log" 2>/dev/null && break
	sleep 0.1
done
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator.log" | awk '{print $4}')
[ -n "$MEDKEY" ] || { echo "Bail out! no mediator"; exit 1; }

# conf X [LINE...]: X's shoald.conf, each LINE in [Interface].
conf() {
	local x=$1 l
	shift
	[ -f "$tmp/priv-$x" ] || "$BIN/shoal" genkey >"$tmp/priv-$x"
	{
		echo "[Interface]"
		echo "Name = sh$x"
		echo "PrivateKey = $(cat "$tmp/priv-$x")"
		echo "ListenPort = 51820"
		for l in "$@"; do echo "$l"; done
	} >"$tmp/$x.conf"
	chmod 600 "$tmp/$x.conf"
}

declare -A SD_PID SD_T0
# start X: shoald with $tmp/X.conf; logs in (the login is kept).
start() {
	local x=$1 ns=LAB_${1^^}_NS
	rm -f "$tmp/$x.sock"
	SD_T0[$x]=$(date +%s.%N)
	ip netns exec "${!ns}" "$BIN/shoald" -c "$tmp/$x.conf" --datapath tap \
		--state-dir "$tmp/state-$x" --socket "$tmp/$x.sock" \
		--foreground --verbose >>"$tmp/shoald-$x.log" 2>&1 &
	SD_PID[$x]=$!
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && break
		sleep 0.1
	done
	[ -f "$tmp/state-$x/sh$x.mediator" ] && return 0
	sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick "$x" \
		>/dev/null 2>&1
}

# stop X: a clean stop (SIGTERM), waited for.
stop() {
	kill "${SD_PID[$1]}" 2>/dev/null
	wait "${SD_PID[$1]}" 2>/dev/null
}

# mapping_is X PROTO: within 15 s, status says X has a mapping by PROTO
# at its router's public address; netcheck says the same.
mapping_is() {
	local x=$1 proto=$2 end=$((SECONDS + 15)) got
	while [ $SECONDS -lt $end ]; do
		got=$(json_get "$x" status 'v["port_mapping"]')
		[ -n "$got" ] && [ "$got" != null ] && break
		sleep 0.2
	done
	echo "# $x status port_mapping: $got"
	printf '# %s: mapped %.2f s after shoald started\n' "$x" \
		"$(echo "$(date +%s.%N) - ${SD_T0[$x]}" | bc)"
	$PY -c '
import json, sys
m = json.loads(sys.argv[1])
assert m["protocol"] == sys.argv[2], m
assert m["external"] == sys.argv[3] + ":51820", m
assert 60 <= m["expires"] <= 86400, m' "$got" "$proto" "$LAB_FOX_PUBLIC"
}

# rule_for X PORT: miniupnpd's nft rule mapping PORT to X's tunnel port.
rule_for() {
	lab_upnp_list fox | grep -q "dport $2 dnat ip to $LAB_FOX_ADDR:51820"
}

no_rule_for() {
	! rule_for "$@" || { lab_upnp_list fox; tail -n 20 "$tmp/shoald-fox.log"; return 1; }
}

# 1-12: each protocol alone maps the port, and a clean stop deletes it.
conf fox
for proto in upnp natpmp pcp; do
	lab_upnp_start fox "$proto" || { echo "Bail out! miniupnpd"; exit 1; }
	start fox
	ktap_check "$proto alone: fox gets a mapping, status shows it" \
		mapping_is fox "$proto"
	ktap_check "$proto: the mapping is in miniupnpd's rules" \
		rule_for fox 51820
	out=$(sh_ fox netcheck --json 2>&1)
	echo "# fox netcheck: $out"
	ktap_check "$proto: netcheck --json shows port_mapping" $PY -c '
import json, sys
m = json.loads(sys.argv[1])["port_mapping"]
assert m["protocol"] == sys.argv[2], m' "$out" "$proto"
	stop fox
	ktap_check "$proto: a clean stop deletes the mapping" \
		no_rule_for fox 51820
done

# 13-15: everything offered (the first to answer wins); sam, behind a
# symmetric router too, reaches fox directly through the mapping.
lab_upnp_start fox || { echo "Bail out! miniupnpd"; exit 1; }
start fox
conf sam
start sam
V4_FOX=$(json_get fox status 'v["mediator"]["ipv4"].split("/")[0]')
got=$(json_get fox status 'v["port_mapping"]["protocol"]')
for _ in $(seq 75); do
	[ -n "$got" ] && break
	sleep 0.2
	got=$(json_get fox status 'v["port_mapping"]["protocol"]')
done
echo "# all offered: fox mapped by $got"
ktap_check "all three offered: one of them maps the port" \
	test -n "$got"
printf 'portmap party\n' >"$tmp/pw"
sh_ fox create mapped --password-file "$tmp/pw" >/dev/null
t0=$(date +%s.%N)
sh_ sam join mapped --password-file "$tmp/pw" >/dev/null

# direct X Y NICK-Y NICK-X V4-Y: within 20 s, both see each other online
# on a direct path, and X pings Y.
direct() {
	local x=$1 y=$2 end=$((SECONDS + 20)) px py
	while [ $SECONDS -lt $end ]; do
		px=$(json_get "$x" status "[p['path'] for p in v['peers'] if p['nickname'] == '$y' and p['online']]")
		py=$(json_get "$y" status "[p['path'] for p in v['peers'] if p['nickname'] == '$x' and p['online']]")
		if [ "$px" = '["direct"]' ] && [ "$py" = '["direct"]' ] &&
		   lab_exec "$x" ping -c1 -W0.5 -q "$3" >/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "# $x-$y: $px / $py"
	tail -n 10 "$tmp/shoald-$x.log" "$tmp/shoald-$y.log" | sed 's/^/#   /'
	return 1
}
ktap_check "sam (symmetric) reaches fox (upnp) directly through its mapping" \
	direct sam fox "$V4_FOX"
echo "# join to direct ping, sam-fox: $(echo "$(date +%s.%N) - $t0" | bc) s"
ep=$(json_get sam status "[p['endpoint'] for p in v['peers'] if p['nickname'] == 'fox'][0]")
ktap_check "sam's endpoint of fox is the mapping ($ep)" \
	test "$ep" = "$LAB_FOX_PUBLIC:51820"

# 16-17: PortMapping = no: nothing asked, nothing in miniupnpd.
stop fox
lab_upnp_start fox || { echo "Bail out! miniupnpd"; exit 1; }
conf fox "PortMapping = no"
start fox
sleep 5
ktap_check "PortMapping = no: status says null" \
	test "$(json_get fox status 'v["port_mapping"]')" = null
ktap_check "PortMapping = no: nothing in miniupnpd's rules" \
	no_rule_for fox 51820
stop fox

# by_hand X KEY ENDPOINT LINE: X, configured with LINE, joins; sam
# (symmetric) reaches it directly, at ENDPOINT.  Two tests.
by_hand() {
	local x=$1 key=$2 want=$3 v4 ep
	conf "$x" "$4"
	start "$x"
	sh_ "$x" join mapped --password-file "$tmp/pw" >/dev/null
	v4=$(json_get "$x" status 'v["mediator"]["ipv4"].split("/")[0]')
	ktap_check "$key: sam (symmetric) reaches $x (symmetric) directly" \
		direct sam "$x" "$v4"
	ep=$(json_get sam status "[p['endpoint'] for p in v['peers'] if p['nickname'] == '$x'][0]")
	ktap_check "$key: sam's endpoint of $x is $want ($ep)" \
		test "$ep" = "$want"
}

# 18-19: ForwardedPort: gus's router forwards $FWD; sam reaches gus
# directly at gus's public address (as the mediator sees it) and that
# port.
by_hand gus ForwardedPort "$LAB_GUS_PUBLIC:$FWD" "ForwardedPort = $FWD"
# 20-21: PublicEndpoint: hal's router forwards $FWD + 1, and hal says
# where that is itself.
by_hand hal PublicEndpoint "$LAB_HAL_PUBLIC:$((FWD + 1))" \
	"PublicEndpoint = $LAB_HAL_PUBLIC:$((FWD + 1))"

# 22: sam's router offers nothing: said once (with -v), null in status.
quiet() {
	local n i
	# The three protocols give up after their retries (NAT-PMP's take
	# longest); on a loaded machine that may be after the tests above.
	for i in $(seq 300); do
		grep -q 'port mapping: nothing answered' "$tmp/shoald-sam.log" && break
		sleep 0.1
	done
	n=$(grep -c 'port mapping: nothing answered' "$tmp/shoald-sam.log")
	echo "# sam: $(grep -m1 'port mapping' "$tmp/shoald-sam.log")"
	[ "$n" = 1 ] && [ "$(json_get sam status 'v["port_mapping"]')" = null ]
}
ktap_check "nothing answers sam's requests: logged once, status null" quiet

ktap_finish
