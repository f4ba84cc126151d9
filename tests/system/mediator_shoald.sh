#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald against the real shoal-mediator where the mediator or a member
# is not to be trusted (issue 12): three players on the NAT lab's
# internet with public addresses (tests/lab/lab.sh, kind none), each
# running shoald on the TAP datapath, and shoal-mediator in the middle.
#
#   lab-inet: shoal-mediator 198.51.100.1:51800 (probe .2)
#      |-- a 203.0.113.1  shoald "sha", alice, owns the network "lan"
#      |-- b 203.0.113.2  shoald "shb", bob
#      |-- c 203.0.113.3  shoald "shc", carol
#      `-- d 203.0.113.4  shoald "shd", dave, with a configuration file
#
# Checked: a member who cuts its own connection to the mediator is still
# evicted by a kick: the others drop its tunnel within 5 s and its
# traffic stops.  Owner commands name members by nickname (looked up)
# or key.  shoald installs only addresses inside [Mediator]
# AddressRanges, its own and its peers'.  A saved `shoal login` and a
# configuration's [Mediator]: the one written last is used, and shoald
# says which (issue 15).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

PY=/usr/bin/python3
PORT=51800
CLIENTS="a b c"
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
   ! command -v ss >/dev/null || [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft, ss and /dev/net/tun"
	ktap_finish
fi
ktap_plan 17

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS d; do
	lab_client "$x" none || { echo "Bail out! lab_client $x"; exit 1; }
done

# shoal as client x runs it.
sh_() {
	local x=$1
	shift
	SHOAL_SOCKET=$tmp/$x.sock lab_exec "$x" "$BIN/shoal" "$@"
}

# peer_field X NICK FIELD: FIELD of X's peer NICK ("" if there is none).
peer_field() {
	sh_ "$1" status --json 2>/dev/null | $PY -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["nickname"] == sys.argv[1]:
        v = p[sys.argv[2]]
        print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3" 2>/dev/null
}

# member_online X NET NICK: true or false, as X's `shoal networks` says.
member_online() {
	sh_ "$1" networks --json 2>/dev/null | $PY -c '
import json, sys
for n in json.load(sys.stdin):
    for m in n["members"]:
        if n["name"] == sys.argv[1] and m["nickname"] == sys.argv[2]:
            print("true" if m["online"] else "false")' "$2" "$3" 2>/dev/null
}

# until_true SECONDS CMD...: CMD succeeds within SECONDS (tried every 0.1 s).
until_true() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# mediator_start NAME ARGS...: shoal-mediator with ARGS, state and log
# $tmp/NAME and $tmp/NAME.log; its key in MEDKEY.
mediator_start() {
	local name=$1
	shift
	ip netns exec "$LAB_INET" "$BIN/shoal-mediator" \
		--state-dir "$tmp/$name" "$@" >>"$tmp/$name.log" 2>&1 &
	for _ in $(seq 50); do
		grep -q '^shoal login ' "$tmp/$name.log" 2>/dev/null && break
		sleep 0.1
	done
	MEDKEY=$(grep -m1 '^shoal login ' "$tmp/$name.log" | awk '{print $4}')
	[ -n "$MEDKEY" ]
}

declare -A SD_PID
# shoald_start X [CONFIG]: shoald for client X, mediator mode.
shoald_start() {
	local x=$1 ns conf=()
	ns=LAB_${x^^}_NS
	[ -n "${2:-}" ] && conf=(--config "$2")
	[ -z "${2:-}" ] && conf=(-i "sh$x" --port 51820)
	rm -f "$tmp/$x.sock"
	ip netns exec "${!ns}" "$BIN/shoald" "${conf[@]}" --datapath tap \
		--state-dir "$tmp/state-$x" --socket "$tmp/$x.sock" \
		--foreground --verbose >>"$tmp/shoald-$x.log" 2>&1 &
	SD_PID[$x]=$!
	for _ in $(seq 50); do
		[ -S "$tmp/$x.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

declare -A V4
login() {
	local x=$1 out
	out=$(sh_ "$x" login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick "${NICK[$x]}" --json 2>&1)
	echo "$out" >"$tmp/login-$x"
	V4[$x]=$(echo "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ipv4"].split("/")[0])' 2>/dev/null)
	test -n "${V4[$x]}"
}

both_online() {
	[ "$(peer_field "$1" "${NICK[$2]}" online)" = true ] &&
	[ "$(peer_field "$2" "${NICK[$1]}" online)" = true ]
}

mediator_start med --listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT"
ok=true
for x in $CLIENTS; do
	shoald_start "$x" && login "$x" || ok=false
done
ktap_check "the mediator and three shoalds start, and all log in" $ok

# ---- a kick reaches a member who cut its mediator connection -------------

sh_ a create lan --no-password >/dev/null &&
	sh_ b join lan --no-password >/dev/null &&
	sh_ c join lan --no-password >/dev/null
all_online() { both_online a b && both_online a c && both_online b c; }
ktap_check "b and c join; every pair is online" until_true 20 all_online

# carol keeps her tunnels but drops her mediator connection on purpose:
# no new connection to the mediator's TCP port, and the one there reset
# (ss -K sends the RST, which the rule lets pass).
lab_exec c nft -f - <<EOF
table inet cut {
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr $LAB_MEDIATOR1 tcp dport $PORT ct state new drop
	}
}
EOF
lab_exec c ss -t -K dst "$LAB_MEDIATOR1" dport = ":$PORT" >/dev/null
offline() { [ "$(member_online a lan carol)" = false ]; }
ktap_check "carol cut her connection: the mediator has her offline" \
	until_true 10 offline
lab_exec c ping -c1 -W2 -q "${V4[a]}" >/dev/null 2>&1
ktap_check "carol's tunnel to alice still carries traffic" \
	lab_exec c ping -c2 -i0.2 -W2 -q "${V4[a]}"

t0=$(date +%s.%N)
sh_ a kick lan carol
gone() {
	[ -z "$(peer_field a carol online)" ] &&
	[ -z "$(peer_field b carol online)" ]
}
until_true 5 gone
rc=$?
echo "# alice and bob dropped carol $(echo "$(date +%s.%N) - $t0" | bc) s after the kick"
ktap_check "kicked while offline: alice and bob drop carol within 5 s" test $rc = 0
ktap_check "and carol's traffic no longer gets through" \
	sh -c "! ip netns exec $LAB_C_NS ping -c3 -i0.2 -W1 -q ${V4[a]} &&
	       ! ip netns exec $LAB_C_NS ping -c3 -i0.2 -W1 -q ${V4[b]}"

# ---- owner commands: a nickname is looked up, a key taken as it is ------

# kick_unknown: exit 16 (man/shoal.8) with shoald's words.
kick_unknown() {
	local rc
	sh_ a kick lan nobody 2>"$tmp/err"
	rc=$?
	sed 's/^/# /' "$tmp/err"
	[ $rc = 16 ] && grep -q "nobody by that nickname" "$tmp/err"
}
ktap_check "kick of a nickname nobody in the network has: exit 16" kick_unknown
bob_key=$(sh_ a networks --json | $PY -c '
import json, sys
for n in json.load(sys.stdin):
    for m in n["members"]:
        if m["nickname"] == "bob":
            print(m["public_key"])')
sh_ b nick robert >/dev/null
ktap_check "ban by public key, after bob renamed himself" \
	sh_ a ban lan "$bob_key"
robert_gone() { [ -z "$(peer_field a robert online)" ]; }
ktap_check "and alice drops him" until_true 5 robert_gone

# ---- the addresses a mediator assigns must lie in AddressRanges ---------

# d_config RANGES [LINE]: dave's configuration, a [Mediator] of
# AddressRanges only, LINE added to [Interface].
d_config() {
	{
		echo "[Interface]"
		echo "Name = shd"
		echo "PrivateKey = $(cat "$tmp/d.key")"
		echo "ListenPort = 51820"
		[ -n "${2:-}" ] && echo "$2"
		echo "[Mediator]"
		echo "AddressRanges = $1"
	} >"$tmp/d.conf"
	chmod 600 "$tmp/d.conf"
}
"$BIN/shoal" genkey >"$tmp/d.key"
# The mediator gives 100.64.0.x/10: a route wider than this range.
d_config 100.64.0.0/16
shoald_start d "$tmp/d.conf"
d_login=$(sh_ d login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick dave --json 2>&1)
echo "# d: $d_login"
no_addresses() {
	$PY -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["ipv4"] is None and r["ipv6"] is None, r' "$d_login" &&
	! lab_exec d ip addr show dev shd | grep -E "inet 100\.|inet6 fd" &&
	grep -q "outside \[Mediator\] AddressRanges: not used" "$tmp/shoald-d.log"
}
ktap_check "AddressRanges 100.64.0.0/16: the mediator's /10 and its IPv6 are not installed" \
	no_addresses
sh_ d join lan --no-password >/dev/null
alice_known() { [ -n "$(peer_field d alice public_key)" ]; }
no_neighbour() {
	until_true 10 alice_known || { echo "dave never heard of alice"; sh_ d status --json; return 1; }
	[ "$(peer_field d alice address)" = null ] &&
	! lab_exec d ip neigh show dev shd | grep -q "${V4[a]} " && return 0
	sh_ d status --json
	lab_exec d ip neigh show dev shd
	return 1
}
ktap_check "nor a peer's address outside them into the neighbour table" no_neighbour

kill "${SD_PID[d]}"
wait "${SD_PID[d]}" 2>/dev/null
# A MAC of its own in the configuration: the mediator's at login replaces
# it, and the link-local address must follow (peers allow only the one
# the mediator's MAC makes).
d_config "100.64.0.0/10, fd00::/8" "MAC = 02:00:00:00:0d:0d"
shoald_start d "$tmp/d.conf"
installed() {
	lab_exec d ip addr show dev shd | grep -q "inet 100\.64\.[0-9.]*/10 " &&
	lab_exec d ip addr show dev shd | grep -q "inet6 fd[0-9a-f:]*/64 " &&
	lab_exec d ip neigh show dev shd | grep -q "${V4[a]} "
}
ktap_check "AddressRanges 100.64.0.0/10, fd00::/8: all of them installed" \
	until_true 15 installed
linklocal_follows() {
	local mac ll
	mac=$(lab_exec d cat /sys/class/net/shd/address)
	ll=$(lab_lladdr "$mac")
	echo "# dave's MAC after login: $mac; link-local addresses:" \
		$(lab_exec d ip -6 addr show dev shd scope link | grep -o "fe80::[0-9a-f:]*/64")
	[ "$mac" != 02:00:00:00:0d:0d ] &&
		lab_exec d ip -6 addr show dev shd scope link | grep -q "inet6 $ll/64" &&
		! lab_exec d ip -6 addr show dev shd | grep -q "fe80::ff:fe00:d0d/"
}
ktap_check "the mediator's MAC replaced the configured one; the link-local followed" \
	linklocal_follows

# ---- a saved login and a configured [Mediator]: the newer is used -------

# A second mediator, B; dave's saved login is to the first, A.
PORT_B=52800
MEDKEY_A=$MEDKEY
mediator_start med-b --listen "$LAB_MEDIATOR1:$PORT_B" \
	--relay-ports 52810-52999
MEDKEY_B=$MEDKEY
MEDKEY=$MEDKEY_A

# d_restart: shoald for dave again, on $tmp/d.conf.
d_restart() {
	kill "${SD_PID[d]}"
	wait "${SD_PID[d]}" 2>/dev/null
	shoald_start d "$tmp/d.conf"
}
# logged_in_to HOSTPORT: dave's shoald is logged in to that mediator.
logged_in_to() {
	sh_ d status --json 2>/dev/null | $PY -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if v.get("address") == sys.argv[1] and v.get("logged_in") is True:
            return True
        v = list(v.values())
    return isinstance(v, list) and any(find(x) for x in v)
sys.exit(0 if find(json.load(sys.stdin)) else 1)' "$1"
}
# After the login to A (saved in shd.mediator), the configuration names B.
d_config "100.64.0.0/10, fd00::/8"
printf 'Address = %s\nPublicKey = %s\nNickname = dave\n' \
	"$LAB_MEDIATOR1:$PORT_B" "$MEDKEY_B" >>"$tmp/d.conf"
d_restart
ktap_check "config newer than the saved login: shoald says it uses B, from the config" \
	grep -qF "shoald: mediator $LAB_MEDIATOR1:$PORT_B from $tmp/d.conf (newer than the saved login $tmp/state-d/shd.mediator, which is not used)" \
	"$tmp/shoald-d.log"
ktap_check "and logs in to B" until_true 10 logged_in_to "$LAB_MEDIATOR1:$PORT_B"
# A `shoal login` to A after that is the newer word: used at the next start.
sh_ d login "$LAB_MEDIATOR1:$PORT" "$MEDKEY" --nick dave >/dev/null 2>&1
d_restart
saved_wins() {
	grep -qF "shoald: mediator $LAB_MEDIATOR1:$PORT from saved login $tmp/state-d/shd.mediator (newer than $tmp/d.conf)" \
		"$tmp/shoald-d.log" &&
		until_true 10 logged_in_to "$LAB_MEDIATOR1:$PORT"
}
ktap_check "a later shoal login to A: used at the next start, and said" saved_wins

ktap_check "no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
ktap_finish
