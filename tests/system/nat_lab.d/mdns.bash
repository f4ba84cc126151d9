# shellcheck shell=bash
# Service discovery across the segment: multicast DNS (224.0.0.251 and
# ff02::fb, port 5353) is link-local multicast, which a layer-3 VPN does
# not carry; shoal's device is one Ethernet segment, so a DNS-SD browse on
# one member finds a responder on another, relayed pairs included.
# Sourced by nat_lab.sh (see there); client X's device is shX.
LAB_PART_TESTS=$((LAB_PART_TESTS + 3))
MDNS_PY="$(dirname "$0")/../common/mdns.py"

# mdns_browse FAMILY BROWSER:RESPONDER...: each responder answers as
# "NICK-lobby"; each browser's answers go to $tmp/mdns-FAMILY-BROWSER.
mdns_browse() {
	local fam=$1 pair pids=() r
	shift
	for pair in "$@"; do
		r=${pair#*:}
		lab_exec "$r" $PY "$MDNS_PY" respond "sh$r" "$fam" "${NICK[$r]}-lobby" 8 &
		pids+=($!)
	done
	sleep 0.5
	for pair in "$@"; do
		lab_exec "${pair%%:*}" $PY "$MDNS_PY" browse "sh${pair%%:*}" "$fam" - 5 \
			>"$tmp/mdns-$fam-${pair%%:*}" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# mdns_heard FAMILY BROWSER RESPONDER [ADDRESS]: the browser heard the
# responder's instance, from ADDRESS if given.
mdns_heard() {
	local line
	line=$(grep -F "${NICK[$3]}-lobby._shoal-lobby._udp.local from " \
		"$tmp/mdns-$1-$2" 2>/dev/null | head -n 1)
	echo "# $2 browsing over IPv$1: ${line:-heard nothing from $3}"
	[ -n "$line" ] && { [ -z "${4:-}" ] || [ "${line##* from }" = "$4" ]; }
}

mdns_up() {
	mdns_browse 4 a:b d:e
	ktap_check "mDNS over IPv4: a DNS-SD browse on a finds a responder on b" \
		mdns_heard 4 a b "${V4[b]}"
	ktap_check "mDNS over IPv4 across the relayed pair: d finds e's responder" \
		mdns_heard 4 d e "${V4[e]}"
	mdns_browse 6 a:b
	ktap_check "mDNS over IPv6 (ff02::fb): a finds b's responder" \
		mdns_heard 6 a b
}
