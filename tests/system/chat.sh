#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Chat (shoal msg, shoal chat; docs/protocol.md, "Chat") between three
# shoalds on the TAP datapath with the real shoal-mediator, on the NAT
# lab's internet with public addresses (tests/lab/lab.sh, kind none):
#
#   lab-inet: shoal-mediator 198.51.100.1:51800
#      |-- a 203.0.113.1  shoald "sha", alice, owns "lan" and "side"
#      |-- b 203.0.113.2  shoald "shb", bob, in "lan" (and "side" a while)
#      `-- c 203.0.113.3  shoald "shc", carol, in "lan"
#
# The edges: what the CLI refuses before asking (too long, not UTF-8,
# control characters) and what shoald refuses of a raw request; a
# network nobody else is online in; the listener's text form and its
# per-uid limit; a receiver that drops a message for a network it has
# left although the sender still thinks it is in it; a member offline
# (nothing queued).
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

PY=/usr/bin/python3
PORT=51800
CLIENTS="a b c"
declare -A NICK=([a]=alice [b]=bob [c]=carol)

tmp=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	lab_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
TMP_DIR=$tmp
. "$(dirname "$0")/../lab/shoal.sh"
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
   [ ! -c /dev/net/tun ]; then
	ktap_plan 1
	ktap_skip "needs root, nft and /dev/net/tun"
	ktap_finish
fi
ktap_plan 17

lab_internet || { echo "Bail out! cannot build the lab"; exit 1; }
for x in $CLIENTS; do
	lab_client "$x" none || { echo "Bail out! lab_client $x"; exit 1; }
done

# chat_field X FIELD: FIELD of X's status "chat".
chat_field() {
	lab_sh "$1" status --json 2>/dev/null | $PY -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["chat"][sys.argv[1]]))' "$2"
}

# raw X LINE: LINE to X's control socket as it is; prints the answer.
raw() {
	lab_exec "$1" $PY - "$tmp/$1.sock" "$2" "$TOP/tests/common" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[3])
import ctlsock
s = ctlsock.connect(sys.argv[1])
ctlsock.send(s, sys.argv[2].encode("utf-8", "surrogateescape") + b"\n")
sys.stdout.write(ctlsock.read_answer(s))
PYEOF
}


lab_mediator_start --listen "$LAB_MEDIATOR1:$PORT" --probe "$LAB_MEDIATOR2:$PORT"

# exited RC WANT PATTERN OUTPUT: RC is WANT ("!0": not 0) and OUTPUT
# says PATTERN.
exited() {
	if [ "$2" = '!0' ]; then [ "$1" != 0 ]; else [ "$1" = "$2" ]; fi &&
		grep -q -- "$3" <<<"$4"
}

ok=true
[ -n "${LAB_MED_KEY:-}" ] || ok=false
for x in $CLIENTS; do
	lab_shoald_start "$x" tap &&
		lab_sh "$x" login "$LAB_MEDIATOR1:$PORT" "${LAB_MED_KEY:-}" \
			--nick "${NICK[$x]}" >/dev/null || ok=false
done
lab_sh a create lan --no-password >/dev/null || ok=false
lab_sh a create side --no-password >/dev/null || ok=false
lab_sh b join lan --no-password >/dev/null || ok=false
lab_sh c join lan --no-password >/dev/null || ok=false
lab_sh b join side --no-password >/dev/null || ok=false
online() {
	[ "$(lab_peer_field a bob online)" = true ] &&
	[ "$(lab_peer_field a carol online)" = true ] &&
	[ "$(lab_peer_field b alice online)" = true ] &&
	[ "$(lab_peer_field c alice online)" = true ]
}
$ok && lab_until_true 20 online || ok=false
for x in $CLIENTS; do lab_sh "$x" networks >/dev/null; done
ktap_check "the mediator and three shoalds start; a, b and c are peers" $ok

# ---- what the CLI refuses itself (exit 2) ------------------------------

long=$(printf 'x%.0s' $(seq 1001))
out=$(lab_sh a msg bob "$long" 2>&1) && rc=0 || rc=$?
ktap_check "1001 bytes of text are refused before sending (exit 2)" \
	exited "$rc" 2 'longer than 1000' "$out"
out=$(lab_sh a msg bob "$(printf 'bad \xff utf8')" 2>&1) && rc=0 || rc=$?
ktap_check "text that is not UTF-8 is refused (exit 2)" \
	exited "$rc" 2 'UTF-8' "$out"
out=$(lab_sh a msg bob "$(printf 'a\033[2Jb')" 2>&1) && rc=0 || rc=$?
ktap_check "a control character (ESC) in the text is refused (exit 2)" \
	exited "$rc" 2 'control' "$out"
out=$(raw a "$(printf 'msg bob x\001y')")
echo "# shoald to a raw 'msg bob x^Ay': $out"
ktap_check "shoald refuses a raw request with a control character" \
	grep -q '^error -301 ' <<<"$out"

# ---- delivery, and the listener ---------------------------------------

lab_sh b chat </dev/null >"$tmp/chat-b" 2>&1 &
lab_sh b chat --json </dev/null >"$tmp/chat-b.json" 2>&1 &
sleep 0.3
out=$(raw b chat-listen)
ktap_check "a third listener of the same uid is refused" \
	grep -q 'too many chat listeners' <<<"$out"
ktap_check "shoal msg bob: exit 0 once acknowledged" \
	lab_sh a msg bob 'hi bob <b>' with "two  spaces"
got() { grep -q "$@"; }
ktap_check "bob's shoal chat prints HH:MM:SS alice@lan (direct): text" \
	lab_until_true 3 got -E '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9] alice@(lan|side) \(direct\): hi bob <b> with two  spaces$' "$tmp/chat-b"
ktap_check "shoal msg lan reaches b and c (exit 0)" \
	lab_sh a msg lan 'to the lan'
json_ok() {
	$PY - "$tmp/chat-b.json" <<'PYEOF'
import json, sys
ms = [json.loads(l) for l in open(sys.argv[1])]
assert any(m["text"] == "to the lan" and m["network"] == "lan" and
           m["from"] == "alice" and m["direct"] is False and
           isinstance(m["time"], int) for m in ms), ms
PYEOF
}
ktap_check "bob's shoal chat --json: one object per message with time, from, network, text, direct" \
	lab_until_true 3 json_ok

# shoal chat sends each line of its standard input to the network.
(printf 'typed by carol\n'; sleep 4) | lab_sh c chat lan >/dev/null 2>"$tmp/chat-c.err" &
typed_ok() {
	$PY - "$tmp/chat-b.json" <<'PYEOF'
import json, sys
ms = [json.loads(l) for l in open(sys.argv[1])]
assert any(m["text"] == "typed by carol" and m["from"] == "carol" and
           m["network"] == "lan" and not m["direct"] for m in ms), ms
PYEOF
}
ktap_check "a line typed into shoal chat lan reaches the network's members" \
	lab_until_true 4 typed_ok

# Eight at once from a: b takes 5 a second from a peer, so some first
# copies are dropped, and their copies sent again get through.  One
# process sends the eight requests on eight connections before reading
# any answer: eight `shoal msg` started apart on a loaded machine may
# reach b slower than its rate, and none would be dropped.  shoald keeps
# at most four unread connections of one uid: one it says it is too busy
# for (-206, its request unread) is sent again, as shoal would, after the
# others are answered, still within b's first second.
burst_answers=$(lab_exec a $PY - "$tmp/a.sock" "$TOP/tests/common" 2>&1 <<'PYEOF'
import sys, time
sys.path.insert(0, sys.argv[2])
import ctlsock
pending, answers = list(range(1, 9)), {}
for attempt in range(20):
    socks = []
    for i in pending:
        s = ctlsock.connect(sys.argv[1])
        ctlsock.send(s, b"msg bob burst %d\n" % i)
        socks.append((i, s))
    pending = []
    for i, s in socks:
        line = ctlsock.read_answer(s).split("\n")[0]
        if ctlsock.busy(line):
            pending.append(i)
        else:
            answers[i] = line or "no answer"
    if not pending:
        break
    time.sleep(0.02)
for i in range(1, 9):
    print("%d %s" % (i, answers.get(i, "busy every time")))
PYEOF
)
echo "$burst_answers" | sed 's/^/# burst: /'
burst_ok=false
[ "$(echo "$burst_answers" | grep -c '^[1-8] ok')" = 8 ] && burst_ok=true
dropped=$(chat_field b rate_dropped)
echo "# b dropped $dropped over the rate; every msg answered ok: $burst_ok"
burst_all() {
	$burst_ok && [ "$dropped" -gt 0 ] &&
		[ "$(grep -c '"text": "burst' "$tmp/chat-b.json")" = 8 ]
}
ktap_check "a burst over a peer's rate: dropped, sent again, each shown once" \
	lab_until_true 3 burst_all

# ---- refusals -----------------------------------------------------------

lab_sh a create solo --no-password >/dev/null
lab_sh a networks >/dev/null
out=$(lab_sh a msg solo 'anyone?' 2>&1) && rc=0 || rc=$?
echo "# a msg solo: exit $rc, $out"
ktap_check "a network with no other member online: said so, non-zero exit" \
	exited "$rc" '!0' 'no member of solo is online' "$out"
out=$(lab_sh a msg nobody 'hello?' 2>&1) && rc=0 || rc=$?
ktap_check "an unknown nickname: a clear error, non-zero exit" \
	exited "$rc" '!0' 'no network or member called nobody' "$out"

# b leaves "side" while a cannot hear the mediator, which would tell it
# at once (a PEER_UP of b anew): a still counts b in "side", b must drop
# the message, and a's msg must fail.  a and b speak directly; only the
# mediator's TCP to a is held back, and TCP delivers it afterwards.
lab_exec a nft -f - <<NFT
table inet chat_deaf {
	chain input {
		type filter hook input priority 0;
		ip saddr $LAB_MEDIATOR1 tcp sport $PORT drop
	}
}
NFT
lab_sh b leave side >/dev/null
lab_sh b networks >/dev/null
before=$(chat_field b refused)
side_out=$(lab_sh a msg side 'for side members' 2>&1) && side_rc=0 || side_rc=$?
after=$(chat_field b refused)
lab_exec a nft delete table inet chat_deaf
echo "# a msg side after b left: exit $side_rc, $side_out; b refused $before -> $after"
# Once it hears the mediator again, a knows nobody else is in "side".
side_told() {
	lab_sh a msg side 'side again' 2>&1 | grep -q 'no member of side is online'
}
side_told_ok=false
lab_until_true 15 side_told && side_told_ok=true
echo "# a told that b left side, once it hears the mediator: $side_told_ok"
side_dropped() {
	exited "$side_rc" '!0' 'not acknowledged' "$side_out" &&
		[ "$after" -gt "$before" ] &&
		! grep -q 'for side members' "$tmp/chat-b.json" &&
		$side_told_ok
}
ktap_check "a receiver drops a message for a network it is not in; the sender is told" \
	side_dropped

# c goes offline (logs out): a message to it is refused, nothing queued.
lab_sh c logout >/dev/null
gone() { [ "$(lab_peer_field a carol online)" != true ]; }
lab_until_true 10 gone
lab_sh a networks >/dev/null
out=$(lab_sh a msg carol 'are you there' 2>&1) && rc=0 || rc=$?
echo "# a msg carol (logged out): exit $rc, $out"
ktap_check "a member offline: a clear error, non-zero exit, nothing queued" \
	exited "$rc" '!0' 'carol is offline' "$out"
counts_ok() {
	[ "$(chat_field a delivered)" -ge 3 ] &&
		[ "$(chat_field b received)" -ge 2 ] &&
		lab_sh a status | grep -q '^  chat: [0-9]* sent, [0-9]* received$'
}
ktap_check "status counts what was sent and delivered" counts_ok

ktap_finish
