#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The shoal tool's contract without a kernel module: version and help, key
# generation against RFC 7748's vector, and the errors for bad input and
# for a kernel without shoal.ko (checked inside a fresh namespace, where no
# shoal device can exist).
#
#   [ns: shoal-cli-PID]   shoal show -> "module not available" / exit 3
set -u
. "$(dirname "$0")/lib.sh"

ktap_plan 9
cleanup() { netns_cleanup; }
trap cleanup EXIT

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

no_module() {
	local ns out rc
	ns=$(netns_name cli)
	netns_add "$ns" || return 1
	out=$(ip netns exec "$ns" "$BIN/shoal" show 2>&1) && rc=0 || rc=$?
	if [ -e /sys/module/shoal ]; then
		# A host that has the module answers with no devices instead.
		[ "$rc" = 0 ]
	else
		[ "$rc" = 3 ] && grep -q 'shoal kernel module is not available' <<<"$out"
	fi
}
ktap_check "shoal show without shoal.ko says so and exits 3" no_module

ktap_finish
