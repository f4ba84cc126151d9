#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoald as shoald@.service runs it: an unprivileged user holding
# CAP_NET_ADMIN alone (setpriv: new uid and gid, no supplementary groups,
# the capability ambient, the bounding set nothing else).  Two such
# daemons (topology in shoald_lib.sh) bring a tunnel up and carry pings
# both ways; without CAP_NET_ADMIN shoald says what it lacks and exits 1.
# Then the control socket: a user in the socket's group who is not root
# gets `status` but is refused `login` and `logout` (code -204, exit 1);
# root logs the unprivileged daemon in to a real shoal-mediator (which
# has it add the assigned address to its device) and out again.
#
# On the host this runs the TAP datapath; shoald_unpriv_kernel.sh runs it
# in the VM on shoal.ko (SHOALD_UNPRIV_DP=kernel).
#
#   $sd_ns1: shoald 1 (uid $DUID), shoal-mediator on 192.168.77.1:$MPORT
#   $sd_ns2: shoald 2 (uid $DUID)
#   clients: root, and uid $CUID in the sockets' group $DGID
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../common/shoald_lib.sh"

DP=${SHOALD_UNPRIV_DP:-tap}
PLAN=23
PY=/usr/bin/python3
# Numeric ids: no account needs to exist for them.
DUID=64201 DGID=64202 CUID=64203
MPORT=51900

if [ "$DP" = kernel ]; then
	vm_test_begin $PLAN
else
	tmp=$(mktemp -d)
	trap vm_test_cleanup EXIT
	if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] ||
	   ! command -v setpriv >/dev/null; then
		ktap_plan 1
		ktap_skip "needs root, /dev/net/tun and setpriv (util-linux)"
		ktap_finish
	fi
	ktap_plan $PLAN
fi
# The unprivileged daemons reach their files through $tmp.
chmod 755 "$tmp"
mkdir -m 755 "$tmp/run"
chown "$DUID:$DGID" "$tmp/run"

sd_topology || { echo "Bail out! cannot build the namespaces"; exit 1; }

# setpriv's arguments: the daemon's identity with CAP_NET_ADMIN alone
# (what shoald@.service gives it), the same without any capability, and a
# member of the sockets' group who is not root.
AS_DAEMON=(setpriv --reuid="$DUID" --regid="$DGID" --clear-groups
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin
	--bounding-set=-all,+net_admin --)
AS_DAEMON_NOCAP=(setpriv --reuid="$DUID" --regid="$DGID" --clear-groups
	--inh-caps=-all --bounding-set=-all --)
AS_MEMBER=(setpriv --reuid="$CUID" --regid="$DGID" --clear-groups
	--inh-caps=-all --bounding-set=-all --)

# LeakSanitizer stops the world with ptrace, which a process that made
# itself undumpable (shoald, for its keys) refuses to a tracer without
# CAP_SYS_PTRACE: leak checking cannot work for these daemons.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# up_start I: shoald I as the daemon user; its configuration, state and
# socket are its own, and $tmp/sI.sock (where shoald_lib.sh's helpers
# look) links to the socket.
up_start() {
	local i=$1
	chown "$DUID:$DGID" "$tmp/shoal$i.conf"
	mkdir -p -m 700 "$tmp/state$i"
	chown "$DUID:$DGID" "$tmp/state$i"
	ln -sf "run/s$i.sock" "$tmp/s$i.sock"
	ip netns exec "$(sd_ns "$i")" "${AS_DAEMON[@]}" "$SHOALD" \
		--config "$tmp/shoal$i.conf" --foreground --verbose \
		--datapath "$DP" --state-dir "$tmp/state$i" \
		--socket "$tmp/run/s$i.sock" >>"$tmp/shoald$i.log" 2>&1 &
	eval "sd_pid$i=$!"
	sd_wait_started "$i" "$tmp/run/s$i.sock"
}

sd_config 1
sd_config 2

# 1-3: without CAP_NET_ADMIN: a clear refusal, before touching anything.
chown "$DUID:$DGID" "$tmp/shoal1.conf"
nocap_out=$(ip netns exec "$sd_ns1" "${AS_DAEMON_NOCAP[@]}" "$SHOALD" \
	--config "$tmp/shoal1.conf" --foreground --datapath "$DP" \
	--socket "$tmp/run/s1.sock" 2>&1)
rc=$?
echo "$nocap_out" | sed 's/^/# /'
ktap_check "without CAP_NET_ADMIN: exit 1" test "$rc" = 1
says_why() {
	grep -q 'does not have CAP_NET_ADMIN' <<<"$nocap_out" &&
	! grep -qE 'Sanitizer|runtime error' <<<"$nocap_out"
}
ktap_check "without CAP_NET_ADMIN: it says it lacks CAP_NET_ADMIN, no crash" says_why
nothing_made() {
	! ip -n "$sd_ns1" link show shoal1 2>/dev/null && [ ! -e "$tmp/run/s1.sock" ]
}
ktap_check "without CAP_NET_ADMIN: no device, no socket" nothing_made

# 4-10: with CAP_NET_ADMIN alone the tunnel comes up.
up_start 1 && up_start 2
# Ids and capabilities as the kernel sees them: CAP_NET_ADMIN is bit 12.
creds() {
	local s
	s=$(cat "/proc/$(sd_pid 1)/status") || return 1
	grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' <<<"$s"
	grep -qP "^Uid:\t$DUID\t$DUID\t$DUID\t$DUID$" <<<"$s" &&
	grep -qP '^Groups:\s*$' <<<"$s" &&
	grep -qP '^CapEff:\t0000000000001000$' <<<"$s" &&
	grep -qP '^CapBnd:\t0000000000001000$' <<<"$s"
}
ktap_check "shoald runs as uid $DUID, no groups, CAP_NET_ADMIN its only capability" creds
sd_tunnel_checks "unprivileged $DP/$DP" "$DP" "$DP"
ktap_check "its socket is $DUID:$DGID, mode 0660" \
	test "$(stat -c '%u:%g %a' "$tmp/run/s1.sock")" = "$DUID:$DGID 660"

# 11-12: a daemon without a configuration, on --datapath auto, makes its
# state directory and key, the daemon user's.  Without shoal.ko it says
# why once (modprobe --dry-run: without CAP_SYS_MODULE a real modprobe
# could only fail for that lack) and runs on TAP.
ip netns exec "$sd_ns1" "${AS_DAEMON[@]}" timeout -s INT 3 "$SHOALD" -i shoalk \
	--foreground --state-dir "$tmp/state1/k" --socket "$tmp/run/k.sock" \
	>"$tmp/shoaldk.log" 2>&1
ip -n "$sd_ns1" link del shoalk 2>/dev/null
sed 's/^/# shoald -i shoalk: /' "$tmp/shoaldk.log"
own_key() {
	test "$(stat -c '%u %a' "$tmp/state1/k")" = "$DUID 700" &&
	test "$(stat -c '%u %a' "$tmp/state1/k/shoalk.key")" = "$DUID 600"
}
ktap_check "no configuration: state directory and key made, the daemon user's, 0700 and 0600" own_key
auto_datapath() {
	if modinfo shoal >/dev/null 2>&1; then
		grep -q 'shoalk up, kernel datapath' "$tmp/shoaldk.log"
	else
		test "$(grep -c 'warning: no kernel datapath: there is no shoal.ko for kernel .*TAP datapath' "$tmp/shoaldk.log")" = 1 &&
		grep -q 'shoalk up, tap datapath' "$tmp/shoaldk.log"
	fi
}
ktap_check "--datapath auto: shoal.ko, else the reason (no shoal.ko) and TAP" auto_datapath

# 13-21: login and logout are root's; the group gets the rest.
ip netns exec "$sd_ns1" "$BIN/shoal-mediator" --state-dir "$tmp/med" \
	--listen "192.168.77.1:$MPORT" --relay-ports 52010-52020 \
	>>"$tmp/mediator.log" 2>&1 &
for _ in $(seq 50); do
	grep -q '^shoal login ' "$tmp/mediator.log" 2>/dev/null && break
	sleep 0.1
done
MEDKEY=$(grep -m1 '^shoal login ' "$tmp/mediator.log" | awk '{print $4}')
[ -n "$MEDKEY" ] || sed 's/^/# mediator: /' "$tmp/mediator.log"

# member_run WANT_RC PATTERN ARGS...: shoal ARGS as the group member exits
# WANT_RC and says PATTERN (grep -E).
member_run() {
	local want=$1 pattern=$2 out rc
	shift 2
	out=$("${AS_MEMBER[@]}" setsid -w "$BIN/shoal" "$@" \
		--socket "$tmp/s1.sock" 2>&1) && rc=0 || rc=$?
	echo "exit $rc: $out"
	[ "$rc" = "$want" ] && grep -qE -- "$pattern" <<<"$out"
}
# mediator_field KEY: status json's mediator.KEY as JSON, or null when
# there is no mediator.
mediator_field() {
	sd_status 1 | $PY -c '
import json, sys
m = json.load(sys.stdin)["mediator"]
print("null" if m is None else json.dumps(m[sys.argv[1]]))' "$1"
}

ktap_check "a group member's status works" \
	member_run 0 "interface: shoal1 \($DP datapath\)" status
ktap_check "a group member's login is refused with -204's words, exit 1" \
	member_run 1 "^shoal: login [^ ]*: only root may log in or out of a mediator$" \
	login "192.168.77.1:$MPORT" "$MEDKEY" --nick mallory
ktap_check "... and shoald has no mediator after it" \
	test "$(mediator_field address)" = null
# The request as it crosses the socket, its word after leading spaces.
wire_refusal() {
	local answer
	answer=$(printf '  login 192.168.77.1:%s %s\n' "$MPORT" "$MEDKEY" |
		"${AS_MEMBER[@]}" $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
print(s.makefile().read(), end="")' "$tmp/s1.sock")
	echo "$answer"
	grep -qx 'error -204 .*' <<<"$answer"
}
ktap_check "on the wire: error -204, also after leading spaces" wire_refusal

login_out=$(setsid -w "$BIN/shoal" login "192.168.77.1:$MPORT" "$MEDKEY" \
	--nick alice --json --socket "$tmp/s1.sock" 2>&1)
echo "# root's login: $login_out"
ktap_check "root's login works, with a daemon that is not root" \
	$PY -c 'import json, sys; assert json.loads(sys.argv[1])["ipv4"].startswith("100.64.")' \
	"$login_out"
ipv4=$($PY -c 'import json, sys; print(json.loads(sys.argv[1])["ipv4"])' "$login_out" 2>/dev/null)
ktap_check "the assigned address is on the device" \
	sh -c "ip -n $sd_ns1 -4 addr show dev shoal1 | grep -q 'inet ${ipv4:-none} '"
ktap_check "the login's state file is the daemon user's, 0600" \
	test "$(stat -c '%u %a' "$tmp/state1/shoal1.mediator" 2>&1)" = "$DUID 600"
member_logout_refused() {
	member_run 1 'only root may log in or out' logout &&
	[ -e "$tmp/state1/shoal1.mediator" ] &&
	[ "$(mediator_field logged_in)" = true ]
}
ktap_check "a group member's logout is refused, and the login stays" member_logout_refused
root_logout() {
	setsid -w "$BIN/shoal" logout --socket "$tmp/s1.sock" &&
	[ ! -e "$tmp/state1/shoal1.mediator" ] &&
	[ "$(mediator_field address)" = null ]
}
ktap_check "root's logout works" root_logout

# 22-23
sd_stop 1; rc1=$?
sd_stop 2; rc2=$?
ktap_check "both unprivileged daemons exit 0 on SIGTERM" test "$rc1$rc2" = 00
ktap_check "no sanitizer report in the daemons' logs" sd_no_sanitizer_reports
ktap_finish
