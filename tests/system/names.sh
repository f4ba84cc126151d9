#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Names (issue 18): shoald's DNS server and the default nickname, with
# the real shoal-mediator and dig, three players on the NAT lab's
# internet (tests/lab/lab.sh, kind none), TAP datapath:
#
#   lab-inet: shoal-mediator 198.51.100.1:51800
#      |-- a 203.0.113.1  shoald "sha", no nickname: the host name
#      |-- b 203.0.113.2  shoald "shb", no nickname: the host name, -2
#      `-- c 203.0.113.3  shoald "shc", asks for a's nickname (refused),
#                         then carol
#
# Checked: the default nickname and its uniqueness; A, AAAA and PTR of
# members from a's server; NICK.NETWORK.shoal; NXDOMAIN with the SOA;
# REFUSED outside shoal.; UDP and TCP; malformed queries (FORMERR, or
# dropped; the server lives on); queries from another member are not
# answered; a nickname change is answered within a second; ping
# NICK.shoal through glibc with the namespace's resolv.conf at the
# server; Names = no serves nothing; the status's "dns" object
# (resolved absent here).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

PY=/usr/bin/python3
PORT=51800
CLIENTS="a b c"

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	[ -n "${NETNS_ETC:-}" ] && rm -rf "$NETNS_ETC"
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
TMP_DIR=$tmp
. "$(dirname "$0")/../lab/shoal.sh"
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   ! command -v dig >/dev/null || [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft, dig (bind9-dnsutils) and /dev/net/tun"
	ktap_finish
fi
ktap_plan 18

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" none || { echo "Bail out! lab_client $x"; exit 1; }
done

declare -A V4 V6 NICK
# login X [--nick N]: logs X in; V4, V6, NICK from its answer.
login() {
	local x=$1 out
	shift
	out=$(lab_sh "$x" login "$LAB_MEDIATOR1:$PORT" "${LAB_MED_KEY:-}" "$@" --json 2>&1)
	echo "$out" >"$tmp/login-$x"
	eval "$(echo "$out" | $PY -c '
import json, sys
j = json.load(sys.stdin)
print("V4[%s]=%s V6[%s]=%s NICK[%s]=%s" % (sys.argv[1], j["ipv4"].split("/")[0],
      sys.argv[1], j["ipv6"].split("/")[0], sys.argv[1], j["nickname"]))' "$x" 2>/dev/null)"
	test -n "${V4[$x]:-}"
}

# The host name as shoal_config_default_nickname cleans it.
host_nick=$(hostname | cut -d. -f1 | tr 'A-Z' 'a-z' |
	sed 's/[^a-z0-9_-]/-/g; s/^[^a-z0-9]*//' | cut -c1-32)
[ -n "$host_nick" ] || host_nick=member

lab_mediator_start --listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT"
ok=true
lab_shoald_start a tap && login a && lab_shoald_start b tap && login b && lab_shoald_start c tap ||
	ok=false
echo "# a is '${NICK[a]:-}', b is '${NICK[b]:-}' (host name '$(hostname)')"
ktap_check "without a nickname: the host name, then made unique" \
	test "$ok" = true -a "${NICK[a]:-}" = "$host_nick" \
	     -a "${NICK[b]:-}" = "$host_nick-2"

lab_sh c login "$LAB_MEDIATOR1:$PORT" "${LAB_MED_KEY:-}" --nick "$host_nick" \
	>"$tmp/taken" 2>&1
rc=$?
sed 's/^/# /' "$tmp/taken"
ktap_check "a nickname asked for and taken stays an error" test $rc != 0
ok=true
login c --nick carol || ok=false
ktap_check "c logs in as carol" $ok

lab_sh a create lanparty --no-password >/dev/null &&
	lab_sh b join lanparty --no-password >/dev/null &&
	lab_sh c join lanparty --no-password >/dev/null

# q X ARGS...: dig in X's namespace at X's own server, short answers.
q() {
	local x=$1
	shift
	lab_exec "$x" dig +time=2 +tries=1 @"${V4[$x]}" "$@"
}
# status_of X QUESTION...: the status dig reports ("NOERROR", ...).
status_of() {
	local x=$1
	shift
	q "$x" "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
answers() { [ "$(q a +short "$1" "$2")" = "$3" ]; }
ktap_check "dig @a: carol.shoal A is c's overlay address" \
	lab_until_true 10 answers carol.shoal A "${V4[c]}"
ktap_check "and $host_nick-2.shoal A is b's, and a's own name a's" \
	sh -c "[ \"\$(ip netns exec $LAB_A_NS dig +short @${V4[a]} $host_nick-2.shoal A)\" = ${V4[b]} ] &&
	       [ \"\$(ip netns exec $LAB_A_NS dig +short @${V4[a]} $host_nick.shoal A)\" = ${V4[a]} ]"
ktap_check "over TCP too (dig +tcp); not for b, another member" \
	sh -c "[ \"\$(ip netns exec $LAB_A_NS dig +tcp +short @${V4[a]} carol.shoal A)\" = ${V4[c]} ] &&
	       ! ip netns exec $LAB_B_NS dig +tcp +time=1 +tries=1 @${V4[a]} carol.shoal A >/dev/null"
ktap_check "CaRoL.LanParty.shoal AAAA: c's IPv6, whatever the case" \
	answers CaRoL.LanParty.shoal AAAA "${V6[c]}"
ptr4=$(echo "${V4[c]}" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')
ktap_check "PTR of c's addresses: carol.shoal." \
	sh -c "[ \"\$(ip netns exec $LAB_A_NS dig +short @${V4[a]} $ptr4 PTR)\" = carol.shoal. ] &&
	       [ \"\$(ip netns exec $LAB_A_NS dig +short @${V4[a]} -x ${V6[c]})\" = carol.shoal. ]"
nx() {
	q a nobody.shoal A >"$tmp/nx"
	grep -q 'status: NXDOMAIN' "$tmp/nx" &&
		grep -q 'AUTHORITY: 1' "$tmp/nx" &&
		grep -qE '^shoal\.[[:space:]].*SOA' "$tmp/nx" &&
		[ "$(status_of a carol.otherparty.shoal A)" = NXDOMAIN ]
}
ktap_check "nobody.shoal: NXDOMAIN with shoal's SOA; a network she is not in too" nx
refused() {
	[ "$(status_of a example.com A)" = REFUSED ] &&
		[ "$(status_of a -x 192.0.2.1)" = REFUSED ] &&
		! q a example.com A | grep -q 'flags:.* ra'
}
ktap_check "example.com and reverse names off the overlay: REFUSED, no recursion" refused

# Malformed queries: a FORMERR back, or nothing; and the server goes on.
malformed() {
	lab_exec a $PY - "${V4[a]}" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(1)
def ask(pkt):
    s.sendto(pkt, (sys.argv[1], 53))
    try:
        return s.recv(2048)
    except socket.timeout:
        return None
hdr = lambda qd, flags=0x0100: struct.pack(">HHHHHH", 0x4242, flags, qd, 0, 0, 0)
ok = True
for pkt in [b"", b"\x00" * 5, hdr(1) + b"\xc0\x0c\x00\x01\x00\x01",
            hdr(2) + b"\x00\x00\x01\x00\x01", hdr(1) + b"\x3fabc",
            hdr(1) + b"\x00\x00\x01\x00\x01trailing"]:
    r = ask(pkt)
    if r is not None and (len(r) < 4 or r[3] & 0xf != 1):
        print("# not FORMERR:", pkt, r); ok = False
# A response is never answered.
if ask(hdr(1, 0x8400) + b"\x00\x00\x01\x00\x01") is not None:
    print("# answered a response"); ok = False
sys.exit(0 if ok else 1)
EOF
	[ "$(q a +short carol.shoal A)" = "${V4[c]}" ]
}
ktap_check "malformed queries: FORMERR or nothing, and the server still answers" malformed

# b is a member too, but its queries to a's server are not answered.
ktap_check "a query from another member (b) to a's server gets no answer" \
	sh -c "! ip netns exec $LAB_B_NS dig +time=1 +tries=1 @${V4[a]} carol.shoal A >/dev/null"

lab_sh c nick carla >/dev/null
t0=$(date +%s.%N)
renamed() { answers carla.shoal A "${V4[c]}" && answers carla.lanparty.shoal A "${V4[c]}"; }
lab_until_true 5 renamed
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
echo "# a answered carla.shoal $dt s after the nick"
ktap_check "shoal nick carla: a answers carla.shoal within a second" \
	sh -c "[ $rc = 0 ] && [ \$(echo '$dt < 1.0' | bc) = 1 ] &&
	       ip netns exec $LAB_A_NS dig @${V4[a]} carol.shoal A | grep -q NXDOMAIN"

# glibc: ip netns exec binds /etc/netns/NS/resolv.conf over resolv.conf.
NETNS_ETC=/etc/netns/$LAB_A_NS
mkdir -p "$NETNS_ETC"
echo "nameserver ${V4[a]}" >"$NETNS_ETC/resolv.conf"
ktap_check "ping -c1 carla.shoal from a's namespace, through glibc" \
	lab_exec a ping -c1 -W3 carla.shoal
ktap_check "getent hosts $host_nick-2.shoal: b's address" \
	sh -c "ip netns exec $LAB_A_NS getent ahostsv4 $host_nick-2.shoal | grep -q '^${V4[b]} '"

dns_json() {
	lab_sh "$1" status --json | $PY -c '
import json, sys
d = json.load(sys.stdin)["dns"]
print(json.dumps(d))
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
ktap_check "status: dns listening on a's address, resolved absent" \
	dns_json a "d['listening'] == ['${V4[a]}', '${V6[a]}'] and d['resolved'] == 'absent'"

# Names = no: nothing listens.
kill "${LAB_SD_PID[c]}" 2>/dev/null
wait "${LAB_SD_PID[c]}" 2>/dev/null
cat >"$tmp/c.conf" <<EOF
[Interface]
Name = shc
PrivateKey = $(cat "$tmp/state-c/shc.key" 2>/dev/null || "$BIN/shoal" genkey)
ListenPort = 51820
Names = no
EOF
# Older than the saved login, which is then used (mclient_choose).
touch -d '1 hour ago' "$tmp/c.conf"
c_logged_in() {
	lab_sh c status --json | $PY -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["mediator"]["logged_in"] else 1)'
}
no_names() {
	lab_shoald_start c tap --config "$tmp/c.conf" ||
		{ tail -n 5 "$tmp/shoald-c.log" | sed 's/^/# /'; return 1; }
	sleep 1
	lab_until_true 10 c_logged_in ||
		{ tail -n 5 "$tmp/shoald-c.log" | sed 's/^/# /'; return 1; }
	dns_json c "d['listening'] == [] and not d['enabled']" | sed 's/^/# /'
	dns_json c "d['listening'] == [] and not d['enabled']" >/dev/null ||
		return 1
	! ip netns exec "$LAB_C_NS" ss -uln | grep -q ':53 '
}
ktap_check "Names = no: no server" no_names

ktap_check "no sanitizer reports" \
	sh -c "! grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.log"
ktap_finish
