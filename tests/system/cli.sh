#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The shoal tool's contract without a kernel module or a shoald: version
# and help, key generation against RFC 7748's vector, the errors for bad
# input and for a kernel without shoal.ko (checked inside a fresh
# namespace, where no shoal device can exist); and the mediator commands'
# client side against a fake shoald: a one-shot Python server on a Unix
# socket that records the request line and answers a canned reply.  What
# is checked there is shoal's half of the control socket contract
# (man/shoald.8, CONTROL SOCKET): the exact request, the
# exit code for each answer, and the rendering of the JSON.  The password
# prompt is driven through a pseudo-terminal.
#
#   [ns: shoal-cli-PID]   shoal show -> "module not available" / exit 3
#   $tmp/ctl.sock         fake shoald: request -> $tmp/request, $tmp/reply back
#
# shoal runs under setsid, without a controlling terminal, except in the
# pseudo-terminal tests: so nothing here ever waits for someone to type.
set -u
. "$(dirname "$0")/../common/lib.sh"

ktap_plan 136
tmp=$(mktemp -d)
cleanup() {
	local pids
	mapfile -t pids < <(jobs -p)
	[ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT

PY=/usr/bin/python3
KEY=hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
SOCK=$tmp/ctl.sock

ver=$(cat "$TOP/VERSION")
ktap_check "shoal --version names $ver" \
	sh -c "'$BIN/shoal' --version | grep -qx 'shoal (shoal) $ver'"
for p in shoal shoald shoal-mediator; do
	ktap_check "$p --help exits 0 with usage" \
		sh -c "'$BIN/$p' --help | grep -q '^Usage: $p'"
done

# RFC 7748, 6.1: Alice's private and public keys.
ktap_check "shoal pubkey matches RFC 7748" sh -c \
	"echo dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo= | '$BIN/shoal' pubkey |
	 grep -qx 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo='"

ktap_check "shoal genkey | shoal pubkey gives a 32-byte key" sh -c \
	"'$BIN/shoal' genkey | '$BIN/shoal' pubkey | base64 -d | wc -c | grep -qx 32"

bad_key() {
	local out rc
	out=$(echo "not a key" | "$BIN/shoal" pubkey 2>&1) && rc=0 || rc=$?
	[ "$rc" = 1 ] && grep -q 'not a base64 32-byte key' <<<"$out"
}
ktap_check "shoal pubkey refuses a bad key with a reason" bad_key

unknown_cmd() {
	local out rc
	out=$("$BIN/shoal" frobnicate 2>&1) && rc=0 || rc=$?
	[ "$rc" = 2 ] && grep -q "unknown command 'frobnicate'" <<<"$out"
}
ktap_check "an unknown command exits 2 with its name" unknown_cmd

# no_module ARGS...: shoal ARGS in a fresh namespace, where no shoal
# device can be; with -j, the JSON of none is an empty list.
no_module() {
	local ns out rc
	ns=$(netns_name cli)
	netns_add "$ns" || return 1
	out=$(ip netns exec "$ns" "$BIN/shoal" "$@" 2>&1) && rc=0 || rc=$?
	ip netns del "$ns"
	if [ -e /sys/module/shoal ]; then
		# A host that has the module answers with no devices instead.
		[ "$rc" = 0 ] && { [ "${2:-}" != -j ] || [ "$out" = "[]" ]; }
	else
		[ "$rc" = 3 ] && grep -q 'shoal kernel module is not available' <<<"$out"
	fi
}
ktap_check "shoal show without shoal.ko says so and exits 3" no_module show
ktap_check "shoal show -j -p: the options taken, a list of none" \
	no_module show -j -p

# ---- the mediator commands: the command line ----------------------------

# run ARGS...: shoal without a terminal; $rc, and $tmp/out, $tmp/err.
run() {
	setsid -w "$BIN/shoal" "$@" >"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
}

# fails WANT_RC PATTERN ARGS...: shoal exits WANT_RC with PATTERN (grep -E)
# on stderr, and prints nothing on stdout.  No shoald is needed: it must
# not get as far as asking one.
fails() {
	local want=$1 pattern=$2
	shift 2
	SHOAL_SOCKET=$tmp/none.sock run "$@"
	if [ "$rc" != "$want" ] || ! grep -qE -- "$pattern" "$tmp/err" ||
	   [ -s "$tmp/out" ]; then
		echo "exit $rc (wanted $want); stderr:"
		cat "$tmp/err"
		echo "stdout:"
		cat "$tmp/out"
		return 1
	fi
}

printf '' >"$tmp/pw-empty"
printf '\nsecret\n' >"$tmp/pw-blank"
head -c 1025 /dev/zero | tr '\0' x >"$tmp/pw-1025"
{ head -c 1024 /dev/zero | tr '\0' y; echo; } >"$tmp/pw-1024"
printf 'hunter2\n' >"$tmp/pw"

ktap_check "login without arguments: usage, exit 2" \
	fails 2 "login: expected HOST:PORT PUBLICKEY" login
ktap_check "login with one argument too many: exit 2" \
	fails 2 "unexpected argument 'extra'" login 192.0.2.1:7000 "$KEY" extra
ktap_check "login HOST without a port: exit 2" \
	fails 2 "'192.0.2.1' is not HOST:PORT" login 192.0.2.1 "$KEY"
ktap_check "login port 70000: exit 2" \
	fails 2 "is not HOST:PORT" login mediator.example:70000 "$KEY"
ktap_check "login with a space in HOST: exit 2" \
	fails 2 "is not HOST:PORT" login "a b:7000" "$KEY"
ktap_check "login with a bad key: exit 2" \
	fails 2 "'AAAA' is not a base64 32-byte public key" login 192.0.2.1:7000 AAAA
ktap_check "login --nick with a bad nickname: exit 2" \
	fails 2 "'-bob' is not a nickname" login 192.0.2.1:7000 "$KEY" --nick=-bob
ktap_check "login --nick without its argument: exit 2" \
	fails 2 "'--nick' needs an argument" login 192.0.2.1:7000 "$KEY" --nick
ktap_check "logout with an argument: exit 2" \
	fails 2 "unexpected argument 'now'" logout now
ktap_check "nick with a 33-byte nickname: exit 2" \
	fails 2 "is not a nickname" nick "$(printf 'a%.0s' $(seq 33))"
ktap_check "create without NET: exit 2" \
	fails 2 "create: expected NET" create --no-password
ktap_check "create with a bad network name: exit 2" \
	fails 2 "'lan party' is not a network name" create "lan party" --no-password
ktap_check "join with one argument too many: exit 2" \
	fails 2 "unexpected argument 'more'" join lanparty more
ktap_check "join --approval (create's option): exit 2" \
	fails 2 "'--approval' is not an option of join" join lanparty --approval
ktap_check "approve without MEMBER: exit 2" \
	fails 2 "approve: expected NET MEMBER" approve lanparty
ktap_check "kick with a bad nickname: exit 2" \
	fails 2 "'bob;rm' is neither a nickname .* nor a base64 32-byte public key" kick lanparty 'bob;rm'
ktap_check "networks with an argument: exit 2" \
	fails 2 "unexpected argument 'all'" networks all
ktap_check "netcheck with an unknown option: exit 2" \
	fails 2 "unknown option '--frob'" netcheck --frob
t_bad_ifname() {
	SHOAL_SOCKET='' run logout -i a/b
	[ "$rc" = 2 ] && grep -q "'a/b' is not an interface name" "$tmp/err"
}
ktap_check "-i with a name that is no interface name: exit 2" t_bad_ifname
ktap_check "--password-file and --no-password together: exit 2" \
	fails 2 "exclude each other" create lanparty --no-password --password-file "$tmp/pw"
ktap_check "an empty password file: exit 2" \
	fails 2 "is empty" create lanparty --password-file "$tmp/pw-empty"
ktap_check "a password file whose first line is empty: exit 2" \
	fails 2 "is empty" join lanparty --password-file "$tmp/pw-blank"
ktap_check "a 1025-byte password: exit 2" \
	fails 2 "longer than 1024 bytes" set-password lanparty --password-file "$tmp/pw-1025"
ktap_check "a missing password file: exit 1" \
	fails 1 "pw-missing: No such file" create lanparty --password-file "$tmp/pw-missing"
ktap_check "create, no terminal, no password option: exit 2 naming both" \
	fails 2 "give --password-file FILE or --no-password" create lanparty
ktap_check "set-password, no terminal, no password option: exit 2" \
	fails 2 "give --password-file FILE or --no-password" set-password lanparty

# ---- the one parser, for the device commands -----------------------------
ktap_check "show with an unknown option: exit 2" \
	fails 2 "show: unknown option '-x'" show -x
ktap_check "show with two devices: exit 2" \
	fails 2 "show: unexpected argument 'b'" show a b
ktap_check "monitor --pretty with a bad name: the option taken, exit 2" \
	fails 2 "monitor: 'a/b' is not an interface name" monitor --pretty a/b
ktap_check "set --json (set prints nothing): exit 2" \
	fails 2 "'--json' is not an option of set" set --json shoal0
ktap_check "genkey with an argument: exit 2" \
	fails 2 "genkey: unexpected argument 'now'" genkey now
ktap_check "send with 'frm' for 'from': exit 2" \
	fails 2 "send: expected DEV HOST:PORT HEX \\[from ADDR\\]" \
	send shoal0 192.0.2.1:7000 00 frm 192.0.2.2
ktap_check "networks -x: the short option named: exit 2" \
	fails 2 "networks: unknown option '-x'" networks -x
ktap_check "logout --nick bob: the option named, not its argument" \
	fails 2 "'--nick' is not an option of logout" logout --nick bob
ktap_check "status with NAME and -i: exit 2" \
	fails 2 "status: both NAME and -i given" status shoal0 -i shoal1
ktap_check "status with two names: exit 2" \
	fails 2 "status: unexpected argument 'b'" status a b
ktap_check "status --nick: exit 2, the option named" \
	fails 2 "'--nick' is not an option of status" status --nick bob

helps() {
	local c
	for c in genkey pubkey set show monitor send status; do
		"$BIN/shoal" "$c" --help | grep -q "^Usage: shoal $c" ||
			{ echo "$c --help"; return 1; }
		"$BIN/shoal" "$c" -h | grep -q "^Usage: shoal $c" ||
			{ echo "$c -h"; return 1; }
	done
	for c in login logout nick create join leave delete approve kick ban \
		 set-password networks netcheck; do
		"$BIN/shoal" "$c" --help | grep -q "^Usage: shoal $c" ||
			{ echo "$c --help"; return 1; }
		"$BIN/shoal" "$c" -i x -h | grep -q "^Usage: shoal $c" ||
			{ echo "$c -h"; return 1; }
		"$BIN/shoal" --help | grep -q "^  $c" ||
			{ echo "shoal --help lacks $c"; return 1; }
	done
}
ktap_check "every command has --help, and shoal --help lists the mediator's" helps

# ---- against a fake shoald ---------------------------------------------

cat >"$tmp/fake.py" <<'EOF'
# One connection on argv[1]: the request line into argv[3], argv[2]'s
# bytes back.  The socket appears (renamed into place) only once it
# listens, so a client never finds it refusing.
import os, socket, sys
path, reply, log = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path + ".new")
s.listen(1)
os.rename(path + ".new", path)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(10)
data = b""
while b"\n" not in data:
    d = c.recv(8192)
    if not d:
        break
    data += d
with open(log, "wb") as f:
    f.write(data)
c.sendall(open(reply, "rb").read())
c.close()
os.unlink(path)
EOF

fake_start() {
	local _
	rm -f "$SOCK" "$tmp/request"
	"$PY" "$tmp/fake.py" "$SOCK" "$tmp/reply" "$tmp/request" &
	FAKE_PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		sleep 0.05
	done
	echo "the fake shoald did not start"
	return 1
}

fake_stop() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	rm -f "$SOCK"
	return 0
}

# ask WANT_RC REQUEST REPLY ARGS...: shoal ARGS against a fake shoald
# answering REPLY (printf %b), sending exactly REQUEST and a newline and
# exiting WANT_RC; its stdout in $tmp/out, stderr in $tmp/err.
ask() {
	local want=$1 req=$2 reply=$3
	shift 3
	printf '%b' "$reply" >"$tmp/reply"
	fake_start || return 1
	SHOAL_SOCKET=$SOCK run "$@"
	fake_stop
	printf '%s\n' "$req" >"$tmp/want"
	if ! cmp -s "$tmp/want" "$tmp/request"; then
		echo "request: '$(cat -A "$tmp/request" 2>/dev/null)'"
		echo "wanted:  '$(cat -A "$tmp/want")'"
		cat "$tmp/err"
		return 1
	fi
	if [ "$rc" != "$want" ]; then
		echo "exit $rc (wanted $want); stderr:"
		cat "$tmp/err"
		return 1
	fi
}

# out_is TEXT: stdout was TEXT and a newline.
out_is() {
	printf '%s\n' "$1" >"$tmp/want-out"
	cmp -s "$tmp/want-out" "$tmp/out" ||
		{ diff -u "$tmp/want-out" "$tmp/out"; return 1; }
}

# err_is TEXT: stderr was TEXT and a newline.
err_is() {
	printf '%s\n' "$1" >"$tmp/want-err"
	cmp -s "$tmp/want-err" "$tmp/err" ||
		{ diff -u "$tmp/want-err" "$tmp/err"; return 1; }
}

hex() { od -An -v -tx1 | tr -d ' \n'; }

LOGIN_JSON='{"nickname": "alice", "ipv4": "100.64.0.5/10", "ipv6": "fd5b:7a1c:3e09::5/64", "mac": "12:05:15:6a:3c:98", "udp_verified": true}'

t_login() {
	ask 0 "login 192.0.2.1:7000 $KEY alice" "ok\n$LOGIN_JSON\n" \
		login 192.0.2.1:7000 "$KEY" --nick alice || return 1
	out_is "nickname: alice
ipv4: 100.64.0.5/10
ipv6: fd5b:7a1c:3e09::5/64
mac: 12:05:15:6a:3c:98"
}
ktap_check "login: request with the nickname; prints the assignment" t_login

t_login_json() {
	ask 0 "login [2001:db8::1]:7000 $KEY" "ok\n$LOGIN_JSON\n" \
		login --json "[2001:db8::1]:7000" "$KEY" || return 1
	out_is '{"nickname":"alice","ipv4":"100.64.0.5/10","ipv6":"fd5b:7a1c:3e09::5/64","mac":"12:05:15:6a:3c:98","udp_verified":true}'
}
ktap_check "login --json, no --nick: the same fields as JSON" t_login_json

t_login_name() {
	ask 0 "login mediator.example.org:7000 $KEY" "ok\n$LOGIN_JSON\n" \
		login mediator.example.org:7000 "$KEY"
}
ktap_check "login takes a host name" t_login_name

t_login_cluster() {
	ask 0 "login 192.0.2.1:7000,[2001:db8::2]:7000,m.example:7 $KEY" \
		"ok\n$LOGIN_JSON\n" \
		login "192.0.2.1:7000,[2001:db8::2]:7000,m.example:7" "$KEY"
}
ktap_check "login takes a cluster's instances, a list with commas" t_login_cluster
ktap_check "login with an instance twice: exit 2" \
	fails 2 "none twice" login "192.0.2.1:7000,192.0.2.1:7000" "$KEY"
ktap_check "login with an empty entry in the list: exit 2" \
	fails 2 "is not HOST:PORT" login "192.0.2.1:7000," "$KEY"

t_simple() {
	local req=$1
	shift
	ask 0 "$req" "ok\n" "$@" || return 1
	if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then
		cat "$tmp/out" "$tmp/err"
		return 1
	fi
}
ktap_check "logout: 'logout', silent" t_simple "logout" logout
ktap_check "nick: 'nick bob_2.x-y'" t_simple "nick bob_2.x-y" nick bob_2.x-y
ktap_check "leave: 'leave lanparty'" t_simple "leave lanparty" leave lanparty
ktap_check "delete: 'delete lanparty'" t_simple "delete lanparty" delete lanparty
ktap_check "approve: 'approve lanparty bob'" t_simple "approve lanparty bob" approve lanparty bob
ktap_check "kick: 'kick lanparty bob'" t_simple "kick lanparty bob" kick lanparty bob
ktap_check "ban: 'ban lanparty bob'" t_simple "ban lanparty bob" ban lanparty bob
ktap_check "kick by key: 'kick lanparty KEY'" t_simple "kick lanparty $KEY" kick lanparty "$KEY"
ktap_check "create --no-password: 'create lanparty'" \
	t_simple "create lanparty" create lanparty --no-password
ktap_check "create --approval --password-file: approval, password=HEX" \
	t_simple "create lanparty approval password=$(printf hunter2 | hex)" \
	create --approval lanparty --password-file "$tmp/pw"
ktap_check "set-password --no-password: 'set-password lanparty'" \
	t_simple "set-password lanparty" set-password lanparty --no-password
ktap_check "set-password --password-file: password=HEX" \
	t_simple "set-password lanparty password=$(printf hunter2 | hex)" \
	set-password lanparty --password-file "$tmp/pw"
ktap_check "-i NAME does not beat SHOAL_SOCKET" t_simple "logout" logout -i shoalx9

t_pw_first_line() {
	printf 'pa ss\r\nsecond line\n' >"$tmp/pw-2"
	t_simple "create lanparty password=$(printf 'pa ss\r' | hex)" \
		create lanparty --password-file "$tmp/pw-2"
}
ktap_check "password file: the first line, only its newline taken off" t_pw_first_line

t_pw_no_newline() {
	printf 'last' >"$tmp/pw-3"
	ask 0 "join lanparty password=$(printf last | hex)" "ok\n" \
		join lanparty --password-file "$tmp/pw-3"
}
ktap_check "password file without a newline" t_pw_no_newline

t_pw_1024() {
	t_simple "create lanparty password=$(head -c 1024 "$tmp/pw-1024" | hex)" \
		create lanparty --password-file "$tmp/pw-1024"
}
ktap_check "a 1024-byte password is taken (2048 hex digits)" t_pw_1024

t_pw_stdin() {
	printf '\x00\xff\t="x\n' >"$tmp/pw-bin"
	ask 0 "create lanparty password=00ff093d2278" "ok\n" \
		create lanparty --password-file - <"$tmp/pw-bin"
}
ktap_check "--password-file -: standard input, any bytes, lower-case hex" t_pw_stdin

t_join() {
	ask 0 "join lanparty" "ok\n" join lanparty && out_is "joined lanparty"
}
ktap_check "join without a terminal sends no password, says joined" t_join

t_join_pending() {
	ask 0 "join lanparty password=$(printf hunter2 | hex)" "ok pending\n" \
		join lanparty --password-file "$tmp/pw" &&
		out_is "asked to join lanparty: waiting for the owner's approval"
}
ktap_check "join: 'ok pending' says so and exits 0" t_join_pending

t_socket_opt() {
	printf 'ok\n' >"$tmp/reply"
	fake_start || return 1
	SHOAL_SOCKET=$tmp/none.sock run leave lanparty --socket "$SOCK"
	fake_stop
	[ "$rc" = 0 ] && grep -qx "leave lanparty" "$tmp/request"
}
ktap_check "--socket beats SHOAL_SOCKET" t_socket_opt

# Result codes to exit codes (man/shoal.8, EXIT STATUS).
t_code() {
	ask "$1" "join lanparty" "error $2 the words\n" join lanparty &&
		err_is "shoal: join lanparty: the words" && [ ! -s "$tmp/out" ]
}
for pair in -100:5 -200:5 -201:5 -202:5 -14:10 -13:11 -12:12 -15:13 -16:14 \
	    -17:15 -18:16 -19:16 -21:16 -22:16 -23:16 -20:17 -5:18 -6:18 \
	    -7:18 -8:18 -104:19 -102:20 -3:20 -999:20 -203:1 -204:1 7:1 \
	    -24:13 -25:10 -205:16 -106:19; do
	ktap_check "'error ${pair%:*}': exit ${pair#*:}, the message on stderr" \
		t_code "${pair#*:}" "${pair%:*}"
done

t_default_text() {
	ask 12 "leave nowhere" "error -12\n" leave nowhere &&
		err_is "shoal: leave nowhere: no such network"
}
ktap_check "'error -12' without a message: shoal's own words" t_default_text
t_not_root_text() {
	ask 1 "logout" "error -204\n" logout &&
		err_is "shoal: logout: only root may log in or out of a mediator"
}
ktap_check "'error -204' without a message: shoal's own words, exit 1" t_not_root_text

t_sanitized() {
	ask 10 "join lanparty" 'error -14 bad\x1b]0;pwned\x07\xc2\x9b31m word\xff\n' \
		join lanparty || return 1
	err_is "shoal: join lanparty: bad?]0;pwned??31m word?"
}
ktap_check "a message's control characters and bad UTF-8 become '?'" t_sanitized

t_empty() {
	ask 1 "logout" "" logout && grep -q "no answer" "$tmp/err"
}
ktap_check "an empty answer: exit 1" t_empty

t_garbled() {
	ask 1 "logout" "okay\n" logout &&
		grep -q "answer is not understood: 'okay'" "$tmp/err"
}
ktap_check "an answer that is not ok or error: exit 1" t_garbled

t_old_daemon() {
	ask 1 "nick bob" "error: unknown request\n" nick bob &&
		grep -q "shoald says: unknown request" "$tmp/err"
}
ktap_check "a shoald without the request ('error: ...'): exit 1" t_old_daemon

t_unreachable() {
	SHOAL_SOCKET=$tmp/none.sock run logout
	[ "$rc" = 4 ] && grep -q "cannot reach shoald at $tmp/none.sock" "$tmp/err"
}
ktap_check "no socket: exit 4" t_unreachable

t_not_socket() {
	: >"$tmp/plain"
	SHOAL_SOCKET=$tmp/plain run networks
	[ "$rc" = 4 ] && grep -q "cannot reach shoald" "$tmp/err"
}
ktap_check "a file that is no socket: exit 4" t_not_socket

t_status_unreachable() {
	SHOAL_SOCKET=$tmp/none.sock run status
	[ "$rc" = 4 ]
}
ktap_check "status, no socket: exit 4" t_status_unreachable

# What shoald answers to status: data only, the CLI renders it.
STATUS_JSON='{"ifname": "shoal0", "datapath": "kernel", "public_key": "'$KEY'", "mac": "12:05:15:6a:3c:99", "listen_port": 51820, "control_rejected": 0, "handshakes": 2, "handshakes_initiated": 1, "handshakes_initiated_ok": 1, "cookie_replies_sent": 0, "cookie_replies_taken": 0, "datapath_control_drops": 0, "mediator": {"address": "203.0.113.5:51800", "logged_in": true, "nickname": "alice", "ipv4": "100.64.0.5/10", "ipv6": null, "udp_verified": true, "public_endpoint": "198.51.100.7:40000"}, "port_mapping": {"protocol": "pcp", "external": "198.51.100.7:51820", "expires": 3599}, "lan_broadcast": {"enabled": true, "ports": ["7777-7779", "27015"], "installed": true, "from": "runtime", "table": "ip shoal_lanbcast_shoal0", "address": "100.64.0.5"}, "peers": [{"public_key": "'$KEY'", "nickname": "bob", "mac": "12:05:15:6a:3c:98", "address": "100.64.0.6", "address6": null, "online": true, "path": "direct", "transport": "udp", "endpoint": "192.0.2.2:51820", "rtt_ms": 0.412, "last_handshake": 0, "rx_bytes": 1536, "tx_bytes": 1023}]}'

t_status() {
	ask 0 "status" "$STATUS_JSON\n" status || return 1
	out_is "interface: shoal0 (kernel datapath)
  public key: $KEY
  listening port: 51820
  mediator: 203.0.113.5:51800, logged in as alice
  ipv4: 100.64.0.5/10
  public endpoint: 198.51.100.7:40000
  tunnel port: verified
  port mapping: pcp 198.51.100.7:51820, 3599 s left
  lan broadcast: on, UDP ports 7777-7779,27015, copies leave from 100.64.0.5 (set by shoal lan-broadcast)

peer: $KEY (bob)
  status: online, path direct, rtt 0.4 ms
  mac: 12:05:15:6a:3c:98, address 100.64.0.6
  endpoint: 192.0.2.2:51820
  transfer: 1.50 KiB received, 1023 B sent"
}
ktap_check "status: the text view of shoald's data, byte counts in KiB" t_status

t_status_json() {
	ask 0 "status" "$STATUS_JSON\n" status -j || return 1
	out_is '{"ifname":"shoal0","datapath":"kernel","public_key":"'$KEY'","mac":"12:05:15:6a:3c:99","listen_port":51820,"control_rejected":0,"handshakes":2,"handshakes_initiated":1,"handshakes_initiated_ok":1,"cookie_replies_sent":0,"cookie_replies_taken":0,"datapath_control_drops":0,"mediator":{"address":"203.0.113.5:51800","logged_in":true,"nickname":"alice","ipv4":"100.64.0.5/10","ipv6":null,"public_endpoint":"198.51.100.7:40000","udp_verified":true},"port_mapping":{"protocol":"pcp","external":"198.51.100.7:51820","expires":3599},"lan_broadcast":{"enabled":true,"ports":["7777-7779","27015"],"installed":true,"from":"runtime","table":"ip shoal_lanbcast_shoal0","address":"100.64.0.5"},"peers":[{"public_key":"'$KEY'","nickname":"bob","online":true,"path":"direct","transport":"udp","rtt_ms":0.412,"mac":"12:05:15:6a:3c:98","address":"100.64.0.6","address6":null,"endpoint":"192.0.2.2:51820","last_handshake":0,"rx_bytes":1536,"tx_bytes":1023}]}'
}
ktap_check "status -j: the CLI's JSON, ifname and byte counts as numbers" t_status_json

# A cluster: the instance's name, the list, the last login's error.
CLUSTER_JSON='{"ifname": "shoal0", "mediator": {"address": "192.0.2.2:51800", "instance": "med-b", "instances": [{"name": "med-a", "address": "192.0.2.1:51800", "load": null, "learned": false}, {"name": "med-b", "address": "192.0.2.2:51800", "load": 3, "learned": true}], "error": "the database is unavailable (-109)", "logged_in": true, "nickname": "alice", "ipv4": null, "ipv6": null, "udp_verified": false, "public_endpoint": null}, "peers": []}'

t_status_cluster() {
	ask 0 "status" "$CLUSTER_JSON\n" status || return 1
	out_is "interface: shoal0
  mediator: med-b at 192.0.2.2:51800, logged in as alice
  instances: med-a at 192.0.2.1:51800, med-b at 192.0.2.2:51800 (3 online) (learned)
  login failed: the database is unavailable (-109)
  port mapping: none"
}
ktap_check "status of a cluster: the instance by name, the instances, the error" t_status_cluster

t_status_cluster_json() {
	ask 0 "status" "$CLUSTER_JSON\n" status -j || return 1
	$PY -c '
import json, sys
m = json.load(open(sys.argv[1]))["mediator"]
assert m["instance"] == "med-b" and m["address"] == "192.0.2.2:51800", m
assert m["instances"] == [
    {"name": "med-a", "address": "192.0.2.1:51800", "load": None, "learned": False},
    {"name": "med-b", "address": "192.0.2.2:51800", "load": 3, "learned": True}], m
assert m["error"] == "the database is unavailable (-109)", m' "$tmp/out"
}
ktap_check "status -j of a cluster: instance, instances and error as shoald says" t_status_cluster_json

# The name server's object (daemon/dns.c): a line in text, as is in JSON.
DNS_JSON='{"ifname": "shoal0", "mediator": null, "peers": [], "dns": {"enabled": true, "listening": ["100.64.0.5", "fd00::5"], "port": 53, "error": null, "resolved": "absent", "names": 3, "queries": 7, "answered": 5, "refused": 1, "limited": 0, "ignored": 1}}'
t_status_dns() {
	ask 0 "status" "$DNS_JSON\n" status || return 1
	grep -qx '  names: served on 100.64.0.5, fd00::5, systemd-resolved: absent' "$tmp/out" || return 1
	ask 0 "status" "$DNS_JSON\n" status -j || return 1
	$PY -c '
import json, sys
d = json.load(open(sys.argv[1]))["dns"]
assert d == {"enabled": True, "listening": ["100.64.0.5", "fd00::5"], "error": None,
             "resolved": "absent", "port": 53, "names": 3, "queries": 7,
             "answered": 5, "refused": 1, "limited": 0, "ignored": 1}, d' "$tmp/out"
}
ktap_check "status: the names line, and the dns object as shoald says" t_status_dns

t_status_pretty() {
	ask 0 "status" '{"ifname": "shoal0", "mediator": null, "peers": []}\n' \
		status -j -p || return 1
	head -n 2 "$tmp/out" | cmp -s - <(printf '{\n  "ifname": "shoal0",\n') &&
		$PY -c 'import json, sys; v = json.load(open(sys.argv[1])); assert v["peers"] == [] and v["mediator"] is None, v' "$tmp/out"
}
ktap_check "status -j -p: indented, the same data" t_status_pretty

t_status_garbled() {
	ask 1 "status" 'interface: shoal0\n' status &&
		grep -q "not a JSON object" "$tmp/err" && [ ! -s "$tmp/out" ]
}
ktap_check "status, an answer that is not JSON: exit 1, nothing printed" t_status_garbled

t_status_error() {
	ask 1 "status" 'error -203 unknown \033]0;x\n' status &&
		err_is "shoal: shoald says: -203 unknown ?]0;x" && [ ! -s "$tmp/out" ]
}
ktap_check "status, an error line: its words on stderr, made safe, exit 1" t_status_error

NETWORKS_JSON='{"logged_in": true, "mediator": "198.51.100.1:7000", "nickname": "alice", "networks": [{"name": "lanparty", "approval": true, "members": [{"nickname": "alice", "public_key": "'$KEY'", "ipv4": "100.64.0.5/10", "ipv6": "fd00::5/64", "online": true, "state": "member", "owner": true}, {"nickname": "bob_the_builder", "public_key": "'$KEY'", "ipv4": "100.64.0.6/10", "ipv6": "fd00::6/64", "online": false, "state": "member", "owner": false}, {"nickname": "carol", "public_key": "'$KEY'", "ipv4": "100.64.0.7/10", "ipv6": "fd00::7/64", "online": false, "state": "pending", "owner": false}]}, {"name": "quiet", "approval": false, "members": []}]}'

t_networks() {
	ask 0 "networks" "ok\n$NETWORKS_JSON\n" networks || return 1
	out_is "mediator: 198.51.100.1:7000, logged in as alice

network: lanparty, approval required
  nickname         ipv4        status
  alice            100.64.0.5  online   owner, you
  bob_the_builder  100.64.0.6  offline
  carol            100.64.0.7  offline  pending

network: quiet
  no members"
}
ktap_check "networks: the text view of a canned answer" t_networks

t_networks_json() {
	ask 0 "networks" "ok\n$NETWORKS_JSON\n" networks --json &&
		out_is '[{"name":"lanparty","approval":true,"members":[{"nickname":"alice","public_key":"'$KEY'","ipv4":"100.64.0.5/10","ipv6":"fd00::5/64","online":true,"state":"member","owner":true},{"nickname":"bob_the_builder","public_key":"'$KEY'","ipv4":"100.64.0.6/10","ipv6":"fd00::6/64","online":false,"state":"member","owner":false},{"nickname":"carol","public_key":"'$KEY'","ipv4":"100.64.0.7/10","ipv6":"fd00::7/64","online":false,"state":"pending","owner":false}]},{"name":"quiet","approval":false,"members":[]}]'
}
ktap_check "networks --json: a list of the networks" t_networks_json

t_networks_truncated() {
	ask 0 "networks" 'ok\n{"logged_in": true, "networks": [], "truncated": true}\n' \
		networks -j && out_is '[]' && grep -q "cut short" "$tmp/err"
}
ktap_check "networks -j, cut short by the mediator: an empty list, said on stderr" t_networks_truncated

t_networks_out() {
	ask 0 "networks" 'ok\n{"logged_in": false, "mediator": null, "nickname": null, "networks": []}' \
		networks || return 1
	out_is "mediator: none (shoal login HOST:PORT PUBLICKEY)

no networks"
}
ktap_check "networks, logged out: says so" t_networks_out

t_networks_bad() {
	ask 1 "networks" 'ok\n{"logged_in": true, "networks": [' networks -j &&
		grep -q "not valid JSON" "$tmp/err" && [ ! -s "$tmp/out" ]
}
ktap_check "networks --json, truncated JSON: exit 1, nothing printed" t_networks_bad

t_networks_none() {
	ask 1 "networks" 'ok\n' networks && grep -q "not valid JSON" "$tmp/err"
}
ktap_check "networks: 'ok' and no JSON: exit 1" t_networks_none

NETCHECK_JSON='{"public_endpoint": "198.51.100.7:40000", "mapping": "endpoint-independent", "filtering": "address-and-port-dependent", "udp": true}'

t_netcheck() {
	ask 0 "netcheck" "ok\n$NETCHECK_JSON\n" netcheck || return 1
	out_is "public endpoint: 198.51.100.7:40000
mapping: endpoint-independent
filtering: address-and-port-dependent
udp: yes
port mapping: none
your NAT lets peers reach you directly by hole punching; peers behind symmetric NATs by birthday probing"
}
ktap_check "netcheck: the text view and its verdict" t_netcheck

t_netcheck_blocked() {
	ask 0 "netcheck" 'ok\n{"public_endpoint": null, "mapping": "unknown", "filtering": "unknown", "udp": false}\n' \
		netcheck || return 1
	grep -qx "public endpoint: none" "$tmp/out" &&
		grep -q "no UDP got through" "$tmp/out"
}
ktap_check "netcheck: no UDP" t_netcheck_blocked

t_netcheck_json() {
	ask 0 "netcheck" "ok\n$NETCHECK_JSON\n" netcheck --json &&
		out_is '{"public_endpoint":"198.51.100.7:40000","mapping":"endpoint-independent","filtering":"address-and-port-dependent","udp":true,"probe":null,"port_mapping":null}'
}
ktap_check "netcheck --json: the same fields as JSON" t_netcheck_json

# ---- the password prompt, on a pseudo-terminal -------------------------

cat >"$tmp/pty.py" <<'EOF'
# pty.py SCRIPT COMMAND...: runs COMMAND with a pseudo-terminal as its
# controlling terminal.  SCRIPT: "type:A|B" answers each prompt (text
# ending in ": ") with A, then B...; "sigint" sends SIGINT at the first.
# At every prompt echo must be off.  Prints what the terminal showed,
# then "echo on" or "echo off" after the command ended, then "exit N" or
# "signal N".
import fcntl, os, select, signal, sys, termios, time
script, argv = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    # As in a terminal session: a shell without job control running us in
    # the background would have SIGINT and SIGQUIT ignored, and shoal
    # rightly leaves them so.
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.close(slave)
    os.execv(argv[0], argv)
shown = b""
def wait_for_prompt():
    global shown
    end = time.time() + 10
    while time.time() < end:
        if shown.endswith(b": "):
            return True
        if select.select([master], [], [], 0.1)[0]:
            try:
                shown += os.read(master, 4096)
            except OSError:
                return False
    return False
def echo_on():
    return bool(termios.tcgetattr(slave)[3] & termios.ECHO)
ok = True
answers = script[5:].split("|") if script.startswith("type:") else [None]
for a in answers:
    if not wait_for_prompt():
        print("no prompt")
        ok = False
        break
    if echo_on():
        print("echo is on at the prompt")
        ok = False
    if a is None:
        os.kill(pid, signal.SIGINT)
        break
    os.write(master, a.encode() + b"\n")
    time.sleep(0.2)
    shown += b"|"
# Never hang: a shoal still there after 10 s is killed and fails.
end = time.time() + 10
while True:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > end:
        print("still running after 10 s: killed")
        ok = False
        os.kill(pid, signal.SIGKILL)
        _, st = os.waitpid(pid, 0)
        break
    time.sleep(0.05)
while select.select([master], [], [], 0.2)[0]:
    try:
        shown += os.read(master, 4096)
    except OSError:
        break
sys.stdout.write(shown.decode(errors="replace").replace("\r", "") + "\n")
print("echo on" if echo_on() else "echo off")
print("signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else
      "exit %d" % os.WEXITSTATUS(st))
sys.exit(0 if ok else 1)
EOF

# on_tty SCRIPT ARGS...: shoal ARGS on a pseudo-terminal, fake shoald
# answering "ok"; what the terminal showed in $tmp/tty.
on_tty() {
	local script=$1
	shift
	printf 'ok\n' >"$tmp/reply"
	fake_start || return 1
	SHOAL_SOCKET=$SOCK "$PY" "$tmp/pty.py" "$script" "$BIN/shoal" "$@" \
		>"$tmp/tty" 2>&1 && rc=0 || rc=$?
	fake_stop
	cat "$tmp/tty"
	return "$rc"
}

t_tty_create() {
	on_tty "type:s3cr3t|s3cr3t" create lanparty || return 1
	grep -q "password for the new network lanparty: " "$tmp/tty" &&
		grep -q "again: " "$tmp/tty" && ! grep -q s3cr3t "$tmp/tty" &&
		grep -qx "echo on" "$tmp/tty" && grep -qx "exit 0" "$tmp/tty" &&
		grep -qx "create lanparty password=$(printf s3cr3t | hex)" "$tmp/request"
}
ktap_check "create on a terminal: asked twice, echo off, not shown, sent" t_tty_create

t_tty_mismatch() {
	on_tty "type:one|two" set-password lanparty || return 1
	grep -q "the passwords do not match" "$tmp/tty" &&
		grep -qx "exit 1" "$tmp/tty" && grep -qx "echo on" "$tmp/tty" &&
		[ ! -e "$tmp/request" ]
}
ktap_check "set-password on a terminal, two different answers: exit 1" t_tty_mismatch

t_tty_sigint() {
	on_tty sigint create lanparty || return 1
	grep -qx "signal 2" "$tmp/tty" && grep -qx "echo on" "$tmp/tty" &&
		[ ! -e "$tmp/request" ]
}
ktap_check "SIGINT at the prompt: echo back on, dies of SIGINT" t_tty_sigint

t_tty_join_empty() {
	on_tty "type:" join lanparty || return 1
	grep -q "password for lanparty (empty for none): " "$tmp/tty" &&
		grep -qx "exit 0" "$tmp/tty" && grep -qx "join lanparty" "$tmp/request"
}
ktap_check "join on a terminal, empty answer: no password sent" t_tty_join_empty

t_tty_join() {
	on_tty "type:pw" join lanparty || return 1
	grep -qx "join lanparty password=7077" "$tmp/request" &&
		! grep -q "again" "$tmp/tty"
}
ktap_check "join on a terminal: asked once" t_tty_join

ktap_finish
