#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# The family as its spec, docs/netlink/specs/shoal.yaml, describes it,
# driven by the kernel's own generic client (tools/net/ynl/cli.py from
# Debian's linux-source-6.12, scripts/ynl-tree) with nothing of shoal's:
# the spec passes the kernel's schema; a dump lists the devices; a peer set
# from the spec's names reads back the same, keys left out; what the spec's
# checks refuse the kernel refuses; the SA and cookie keys are wiped from
# the request once used (seen by a netlink monitor reading it afterwards);
# a peer removed is gone.
set -u
. "$(dirname "$0")/../common/lib.sh"

ns=$(netns_name ynl)
vm_test_begin 9

PY=/usr/bin/python3
SPEC=$TOP/docs/netlink/specs/shoal.yaml
PUB=$(printf '5a%.0s' $(seq 32))
SAKEY=$(printf '%02x' $(seq 101 136))
SECRET=$(printf 'c1%.0s' $(seq 32))
# struct sockaddr_in for 127.0.0.1:12301: family 2 (host order), port and
# address in network order, 8 bytes of zero.
EP=02000fcd7f000001$(printf '00%.0s' $(seq 8))

ynl=$("$TOP/scripts/ynl-tree" 2>"$tmp/ynl-tree.err") || ynl=
ynl_cli() {
	n "$ns" $PY "$ynl/tools/net/ynl/cli.py" --spec "$SPEC" \
		--schema "$ynl/Documentation/netlink/genetlink-legacy.yaml" \
		--output-json "$@"
}
# jq-less checks: python on the reply given on stdin.
reply_has() { $PY -c "import json, sys; r = json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }

setup() {
	[ -n "$ynl" ] || { cat "$tmp/ynl-tree.err"; return 1; }
	netns_add "$ns" || return 1
	n "$ns" ip link add shoalY type shoal || return 1
	n "$ns" ip link add shoalZ type shoal
}
ktap_check "setup: the kernel's YNL tree and two devices" setup

list_ops() { ynl_cli --list-ops | grep -q '^set-device'; }
ktap_check "the spec passes the kernel's schema and lists the operations" list_ops

dump_devices() {
	ynl_cli --dump get-device >"$tmp/dump" || return 1
	reply_has 'sorted(d["device-ifname"] for d in r) == ["shoalY", "shoalZ"]' <"$tmp/dump"
}
ktap_check "dump get-device lists both devices" dump_devices

set_peer() {
	local peer
	peer=$(cat <<JSON
{"public-key": "$PUB", "endpoint": "$EP", "layer3": 0, "bridge": 1,
 "sa-out": {"spi": 4096, "key": "$SAKEY", "soft-seconds": 60},
 "sa-in": {"sa": [{"spi": 4097, "key": "$SAKEY"}]},
 "allowed-ips": {"allowed-ip": [{"addr": "0a600000", "prefix-len": 16}]}}
JSON
)
	ynl_cli --do set-device --json "{\"device-ifname\": \"${1:-shoalY}\",
		\"device-cookie-secret\": \"$SECRET\", \"device-mac1-key\": \"$SECRET\",
		\"device-cookie-key\": \"$SECRET\",
		\"device-peers\": {\"peer\": [$peer]}}"
}

# A netlink monitor's copy of a request shares its data, and a plain packet
# socket reads it only when asked: after the command has run.
cat >"$tmp/capture.py" <<'PY'
import socket, sys
pub, sakey, secret = (bytes.fromhex(a) for a in sys.argv[1:4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("nlmon0", 0))
print("ready", flush=True)
sys.stdin.readline()
s.setblocking(False)
seen = []
try:
    while True:
        seen.append(s.recv(65536))
except BlockingIOError:
    pass
req = [m for m in seen if pub in m]
left = [m for m in req if sakey in m or secret in m]
print(f"# {len(seen)} messages captured, {len(req)} with the peer's public "
      f"key, {len(left)} of them with a key", flush=True)
sys.exit(0 if req and not left else 1)
PY
# set_and_capture [IFNAME]: with a device that does not exist the set must
# fail, and its keys must still be gone (wiped before the lookup's error).
set_and_capture() {
	local line pid rc=0
	if ! n "$ns" ip link show nlmon0 >/dev/null 2>&1 &&
	   ! n "$ns" ip link add nlmon0 type nlmon 2>/dev/null; then
		echo "# no nlmon in this kernel: the set alone"
		[ $# = 0 ] && set_peer
		return
	fi
	n "$ns" ip link set nlmon0 up || return 1
	coproc capture { n "$ns" $PY -u "$tmp/capture.py" "$PUB" "$SAKEY" "$SECRET"; }
	pid=$capture_PID
	read -r line <&"${capture[0]}"
	[ "$line" = ready ] || return 1
	if [ $# = 0 ]; then
		set_peer || rc=1
	else
		set_peer "$1" 2>/dev/null && rc=1
	fi
	echo done >&"${capture[1]}"
	cat <&"${capture[0]}"
	wait "$pid" || rc=1
	return $rc
}
ktap_check "set-device sets a peer; its SA and cookie keys are wiped from the request" \
	set_and_capture
ktap_check "a set-device for no such device is refused, its keys wiped all the same" \
	set_and_capture shoalX

read_back() {
	ynl_cli --do get-device --json '{"device-ifname": "shoalY"}' >"$tmp/get" || return 1
	cat "$tmp/get" | sed 's/^/# /'
	reply_has "len(r['device-peers']['peer']) == 1 and \
		(lambda p: p['public-key'] == '$PUB' and p['endpoint'] == '$EP' and
		 p['bridge'] == 1 and p['layer3'] == 0 and
		 p['sa-out']['spi'] == 4096 and p['sa-out']['soft-seconds'] == 60 and
		 [s['spi'] for s in p['sa-in']['sa']] == [4097] and
		 p['allowed-ips']['allowed-ip'] == [{'addr': '0a600000', 'prefix-len': 16}] and
		 'key' not in p['sa-out'] and all('key' not in s for s in p['sa-in']['sa']))
		(r['device-peers']['peer'][0])" <"$tmp/get"
}
ktap_check "get-device reads the peer back as set, without its keys" read_back

cli_agrees() {
	local b64
	b64=$($PY -c "import base64; print(base64.b64encode(bytes.fromhex('$PUB')).decode())")
	n "$ns" "$BIN/shoal" show shoalY | grep -qF "$b64"
}
ktap_check "shoal show sees the peer the spec's client set" cli_agrees

refused() {
	! ynl_cli --do set-device --json "{\"device-ifname\": \"shoalY\",
		\"device-peers\": {\"peer\": [{\"public-key\": \"$PUB\",
		\"sa-out\": {\"spi\": 255, \"key\": \"$SAKEY\"}}]}}" >"$tmp/err" 2>&1 &&
		grep -q 'Invalid argument\|EINVAL\|error' "$tmp/err"
}
ktap_check "an SPI below the spec's minimum is refused" refused

remove_peer() {
	ynl_cli --do set-device --json "{\"device-ifname\": \"shoalY\",
		\"device-peers\": {\"peer\": [{\"public-key\": \"$PUB\",
		\"flags\": [\"remove\"]}]}}" || return 1
	ynl_cli --do get-device --json '{"device-ifname": "shoalY"}' |
		reply_has "not r.get('device-peers', {}).get('peer')"
}
ktap_check "a peer removed with the remove flag is gone" remove_peer

ktap_finish
