#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# The shoal link type and module life cycle, on a real kernel:
#
#   [init ns]  shoal0, shoal1 ──(ip link set netns)──> [ns: shoal-link-PID] shoal1
#
# autoload through `ip link add` and through a generic netlink family
# lookup, `ip -d link show` naming kind shoal, the netlink API (libnl-genl,
# netlink_device), delete, and rmmod with devices in two namespaces.
set -u
. "$(dirname "$0")/../common/lib.sh"

ktap_plan 12
ns=$(netns_name link)
cleanup() {
	ip link del shoal0 2>/dev/null
	netns_cleanup
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! modinfo shoal >/dev/null 2>&1; then
	echo "# needs root and an installed shoal.ko (run under scripts/vm)"
	for _ in $(seq 12); do ktap_skip "no shoal.ko here"; done
	ktap_finish
fi

modprobe -r shoal 2>/dev/null
ktap_check "module starts unloaded" test ! -e /sys/module/shoal
ktap_check "ip link add type shoal autoloads the module" \
	sh -c 'ip link add shoal0 type shoal && test -e /sys/module/shoal'
ktap_check "ip -d link show names kind shoal" \
	sh -c 'ip -d link show shoal0 | grep -qE "^ +shoal( |$)"'
ktap_check "device is Ethernet with MTU 1400" \
	sh -c 'ip link show shoal0 | grep -q "mtu 1400" &&
	       ip link show shoal0 | grep -q "link/ether"'
ktap_check "device comes up" \
	sh -c 'ip link set shoal0 up && ip link show shoal0 | grep -q "UP"'
ktap_check "shoal show lists the device" \
	sh -c "'$BIN/shoal' show --json | grep -q '\"ifname\":\"shoal0\"'"
ktap_check "ip link del removes the device" \
	sh -c 'ip link del shoal0 && ! ip link show shoal0 2>/dev/null'

ktap_check "rmmod with no devices" modprobe -r shoal
ktap_check "generic netlink lookup autoloads the module" \
	sh -c 'genl ctrl get name shoal >/dev/null && test -e /sys/module/shoal'

# The libnl-genl tests print KTAP of their own; nest them as one test.
nl_out=$("$TESTBIN/netlink_device" 2>&1) && nl_rc=0 || nl_rc=$?
printf '%s\n' "$nl_out" | sed 's/^/    /'
if [ "$nl_rc" = 0 ]; then ktap_ok "netlink API (libnl-genl)"; else ktap_fail "netlink API (libnl-genl)"; fi

netns_add "$ns"
ktap_check "a device moves to another namespace" \
	sh -c "ip link add shoal0 type shoal && ip link add shoal1 type shoal &&
	       ip link set shoal1 netns '$ns' && ip -n '$ns' link show shoal1 >/dev/null"
ktap_check "rmmod removes devices in every namespace" \
	sh -c "modprobe -r shoal && ! ip link show shoal0 2>/dev/null &&
	       ! ip -n '$ns' link show shoal1 2>/dev/null &&
	       test ! -e /sys/module/shoal"

ktap_finish
