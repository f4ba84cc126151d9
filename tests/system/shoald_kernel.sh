#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# shoald in static mode on the kernel datapath (topology in
# shoald_lib.sh): two kernel daemons, then a kernel daemon against a TAP
# one; rekeying every second under a 200 packets/s ping without a loss;
# kill -9 of a daemon while pings go on, and its restart taking over the
# kernel's state without the tunnel ever dropping; cookies under a
# spoofed flood, and a recorded INIT replayed after a restart.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$(dirname "$0")/../common/shoald_lib.sh"

vm_test_begin 29

sd_topology || { echo "Bail out! cannot build the namespaces"; exit 1; }

# 1-5: kernel against kernel.
sd_config 1
sd_config 2
sd_start 1 kernel && sd_start 2 kernel
sd_tunnel_checks kernel/kernel kernel kernel

# 6-8: rekey every second under 200 pings a second for 20 s.
sd_rekey_checks kernel
ktap_check "kernel: no auth failures or replays counted" sh -c \
	"! ip netns exec $sd_ns1 $BIN/shoal show shoal1 --json | grep -Eq '\"(auth_failures|replays)\": *[1-9]'"

# 9-12: kill -9 of daemon 1; the kernel keeps carrying traffic; a new
# daemon takes over.
sd_stop 1; sd_stop 2
sd_config 1
sd_config 2
sd_start 1 kernel && sd_start 2 kernel && sd_wait_both
ip netns exec "$sd_ns2" ping -q -i 0.2 -c 200 -W 1 10.77.0.1 >"$tmp/ping-kill" 2>&1 &
pinger=$!
sleep 1
before=$(sd_peer_field 2 last_handshake)
sd_stop 1 KILL
sleep 30
ktap_check "daemon 1 is gone, its device stays" \
	sh -c "! kill -0 $(sd_pid 1) 2>/dev/null && ip -n $sd_ns1 link show shoal1 >/dev/null"
sd_start 1 kernel
ktap_check "the restarted daemon reports its peer online at once" \
	test "$(sd_peer_field 1 online)" = true
sleep 3
after=$(sd_peer_field 2 last_handshake)
echo "# peer 2's last handshake: before $before, after the restart $after"
ktap_check "the restarted daemon handshakes anew" test "$after" -gt "$before"
wait $pinger
sed 's/^/# /' "$tmp/ping-kill"
ktap_check "40 s of pings across kill -9 and restart: none lost" \
	grep -q " 0% packet loss" "$tmp/ping-kill"

# 13-18: the kernel against the TAP datapath (same wire format), on a
# system without /dev/net/tun (no udev here) and, unless an earlier suite
# left it in use, without tun loaded: shoald loads it and makes the node.
sd_stop 2
ip -n "$sd_ns2" link del shoal2
rm -f /dev/net/tun
modprobe -r tun 2>/dev/null
echo "# before: tun $([ -e /sys/module/tun ] && echo loaded || echo not loaded), no /dev/net/tun"
sd_start 2 tap
ktap_check "shoald loads tun and makes /dev/net/tun where they are missing" \
	test -c /dev/net/tun -a -e /sys/module/tun
sd_tunnel_checks kernel/tap kernel tap

# 19-21: ten first contacts and 100 genuine handshakes under 5,000
# spoofed INITs a second.
sd_cookie_checks kernel
# 22: a first contact through a flood from the newcomer's own address.
sd_newcomer_checks kernel
# 23-24: a captured INIT replayed after kill -9 and a restart.
sd_replay_checks kernel
# 25: a configured peer's AllowedIPs gain its own link-local address.
sd_linklocal_checks kernel

sd_stop 1; rc1=$?
sd_stop 2; rc2=$?
ktap_check "both daemons exit 0 on SIGTERM" test "$rc1$rc2" = 00

# 28: tun loaded, but its node gone (no devtmpfs would bring it back):
# shoald makes it, mode 0666 as udev does, whatever its umask.
rm -f /dev/net/tun
tap_node_made() {
	local made=0
	ip -n "$sd_ns2" link del shoal2 2>/dev/null
	sd_start 2 tap || return 1
	[ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" = 666 ] && made=1
	sd_stop 2 && [ "$made" = 1 ]
}
ktap_check "with tun loaded and no /dev/net/tun, shoald makes the node (0666)" tap_node_made

# 29: without a ListenPort shoal.ko binds a port of its choosing when
# the device comes up; shoald reports that port (and would tell the
# mediator and the router it), never 0.
chosen_port() {
	local st kp
	printf '[Interface]\nName = shoal9\nPrivateKey = %s\n' \
		"$(cat "$tmp/priv1")" >"$tmp/shoal9.conf"
	chmod 600 "$tmp/shoal9.conf"
	sd_ns9=$sd_ns1
	sd_start 9 kernel || return 1
	st=$(sd_status 9 | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["listen_port"])')
	kp=$(ip netns exec "$sd_ns1" "$BIN/shoal" show shoal9 --json |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["listen_port"])')
	sd_stop 9
	ip -n "$sd_ns1" link del shoal9
	echo "# without ListenPort: shoald says port $st, shoal.ko $kp"
	[ -n "$st" ] && [ "$st" != 0 ] && [ "$st" = "$kp" ]
}
ktap_check "without ListenPort, shoald reports the port shoal.ko chose" chosen_port
ktap_check "no sanitizer report in the daemons' logs" sd_no_sanitizer_reports
ktap_finish
