# shellcheck shell=bash
# Chat (shoal msg, shoal chat) in the NAT lab: over a direct pair and the
# relayed pair d-e, to a network (every member online gets it, nobody
# else), a refusal for a nickname nobody has, and a message while the
# mediator is down (docs/protocol.md, "Chat").  Every check holds on
# both datapaths: nothing here depends on TAP.
LAB_PART_TESTS=$((LAB_PART_TESTS + 7))

CHAT_PIDS=()

# chat_listen X: `shoal chat --json` of client X, into $tmp/chat-X.
chat_listen() {
	sh_ "$1" chat --json </dev/null >"$tmp/chat-$1" 2>"$tmp/chat-$1.err" &
	CHAT_PIDS+=($!)
}

# chat_got X FROM TEXT [DIRECT]: X's listener printed that message
# (within 3 s), from FROM's nickname, with direct true or false.
chat_got() {
	local x=$1 from=$2 text=$3 direct=${4:-}
	for _ in $(seq 30); do
		$PY - "$tmp/chat-$x" "$from" "$text" "$direct" <<'PYEOF' && return 0
import json, sys
path, frm, text, direct = sys.argv[1:]
for line in open(path):
    m = json.loads(line)
    assert set(m) == {"time", "from", "network", "text", "direct"}, m
    if m["from"] == frm and m["text"] == text and \
       (not direct or str(m["direct"]).lower() == direct):
        sys.exit(0)
sys.exit(1)
PYEOF
		sleep 0.1
	done
	echo "# $x's listener: $(tr '\n' ' ' <"$tmp/chat-$x") $(cat "$tmp/chat-$x.err")"
	return 1
}

# chat_not X TEXT: X's listener never printed TEXT.
chat_not() { ! grep -qF "$2" "$tmp/chat-$1"; }

chat_up() {
	local out rc
	for x in b c e; do chat_listen "$x"; done
	# A second network of a and b only; c stays out of it.
	sh_ a create chatroom --no-password >/dev/null
	sh_ b join chatroom --no-password >/dev/null
	# What the members learn from NETWORKS (the CLI's feeds chat too).
	for x in a b c; do sh_ "$x" networks >/dev/null; done
	sleep 0.5

	ktap_check "shoal msg NICK over a direct pair (a to b) is acknowledged" \
		sh_ a msg "${NICK[b]}" 'hello bob, ça va?'
	ktap_check "b's shoal chat --json shows a's direct message" \
		chat_got b "${NICK[a]}" 'hello bob, ça va?' true
	ktap_check "shoal msg across the relayed pair d-e: acknowledged and shown" \
		eval "sh_ d msg ${NICK[e]} relayed hello >/dev/null && chat_got e ${NICK[d]} 'relayed hello' true"
	ktap_check "a message to a network reaches its members online and only them" \
		eval "sh_ a msg chatroom room only >/dev/null && chat_got b ${NICK[a]} 'room only' false && sleep 0.5 && chat_not c 'room only'"
	sh_ a msg lanparty everyone --json >"$tmp/chat-all.json" 2>&1
	echo "# a msg lanparty: $(cat "$tmp/chat-all.json")"
	ktap_check "a message to lanparty is acknowledged by every other member (relayed and over TCP too)" \
		$PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert sorted(r["delivered"]) == sorted(sys.argv[2:]), r
assert not r["failed"] and not r["offline"], r' "$tmp/chat-all.json" \
		$(for x in $CLIENTS; do [ "$x" = a ] || echo "${NICK[$x]}"; done)
	out=$(sh_ a msg nosuchnick hi 2>&1) && rc=0 || rc=$?
	echo "# a msg nosuchnick: exit $rc, $out"
	ktap_check "a message to a nickname nobody has is refused with a clear error" \
		eval "[ $rc != 0 ] && grep -q 'no network or member called nosuchnick' <<<'$out'"
}

chat_mediator_down() {
	ktap_check "shoal msg goes through with the mediator down (a to c)" \
		eval "sh_ a msg ${NICK[c]} mediator is down >/dev/null && chat_got c ${NICK[a]} 'mediator is down' true"
	kill "${CHAT_PIDS[@]}" 2>/dev/null
	wait "${CHAT_PIDS[@]}" 2>/dev/null
	CHAT_PIDS=()
}
