#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest half of tests/system/packages.sh: runs in a VM booted with
# systemd as PID 1 on a root where the three packages are installed (a
# layer of scripts/vm), and prints one "check: ok: WHAT" or
# "check: FAIL: WHAT" line for each of its 16 checks, in order, whatever
# fails on the way.  DEBDIR ($1) holds upgrade/shoal_*.deb, the newer
# shoal, and host-shoal-paths, the paths named after shoal on the host's
# own root.
set -u
DEBDIR=${1:?usage: packages_guest.sh DEBDIR}
# The packaged programs, not the checkout's build/bin that scripts/vm
# puts first.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
EX=/usr/share/doc/shoal/examples/two-hosts
. "$(dirname "$0")/packages_paths.sh"
. "$(dirname "$0")/exposure.sh"

check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		printf '%s\n' "$out" | grep '^# ' || true
		echo "check: ok: $what"
	else
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
		echo "check: FAIL: $what"
	fi
}

# retry SECONDS CMD...: CMD until it succeeds, a try every 0.5 s.
retry() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}

main_pid() { systemctl show -P MainPID "$1"; }
cap_eff() { sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$1/status"; }
# exposure UNIT RECORDED-AS: systemd-analyze's score of the running unit
# is at most the one docs/architecture.md records for RECORDED-AS.
exposure() {
	exposure_not_above "$2" \
		"$(systemd-analyze security --no-pager "$1" 2>&1 | exposure_level)"
}

installed() {
	local p s
	for p in shoal shoal-dkms shoal-mediator; do
		s=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>&1)
		echo "# $p: $s"
		case "$s" in "install ok installed "*) ;; *) return 1 ;; esac
	done
}
check "the three packages are installed" installed

dkms_module() {
	local want have f
	modprobe shoal || return 1
	f=$(modinfo -n shoal)
	want=$(modinfo -F srcversion shoal)
	have=$(cat /sys/module/shoal/srcversion)
	echo "# loaded $f (srcversion $have)"
	case "$f" in */updates/dkms/shoal.ko*) ;; *) return 1 ;; esac
	[ "$want" = "$have" ]
}
check "modprobe shoal loads the module DKMS built" dkms_module

mediator_up() {
	systemctl start shoal-mediator || return 1
	retry 20 sh -c 'journalctl -u shoal-mediator -o cat | grep -q "^shoal login "'
	systemctl is-active shoal-mediator
}
check "systemctl start shoal-mediator: active, its login line in the journal" mediator_up

mediator_confined() {
	local pid user caps
	pid=$(main_pid shoal-mediator)
	[ "$pid" -gt 0 ] 2>/dev/null || return 1
	user=$(ps -o user= -p "$pid")
	caps=$(cap_eff "$pid")
	echo "# shoal-mediator runs as $user, CapEff $caps"
	[ "$user" != root ] && [ "$caps" = 0000000000000000 ]
}
check "shoal-mediator runs as a dynamic user without capabilities" mediator_confined
check "shoal-mediator's exposure is not above the recorded one" \
	exposure shoal-mediator.service shoal-mediator.service

# The shipped example, first.conf here and second.conf in the namespace
# "second" (shoald started by hand there: one host's unit is enough).
k1=$(shoal genkey) k2=$(shoal genkey)
p1=$(shoal pubkey <<<"$k1") p2=$(shoal pubkey <<<"$k2")
ip netns add second
ip link add veth1 type veth peer name veth2 netns second
ip addr add 192.0.2.1/24 dev veth1
ip link set veth1 up
ip -n second addr add 192.0.2.2/24 dev veth2
ip -n second link set veth2 up
ip -n second link set lo up
mkdir -p /etc/shoal
umask 077
sed "s|PRIVATE-KEY-OF-FIRST|$k1|; s|PUBLIC-KEY-OF-SECOND|$p2|" "$EX/first.conf" \
	>/etc/shoal/shoal0.conf
chown shoal:shoal /etc/shoal/shoal0.conf
mkdir -p /root/second
sed "s|PRIVATE-KEY-OF-SECOND|$k2|; s|PUBLIC-KEY-OF-FIRST|$p1|" "$EX/second.conf" \
	>/root/second/shoal0.conf
umask 022
ip netns exec second shoald --config /root/second/shoal0.conf --foreground \
	--state-dir /root/second --socket /root/second/shoal0.sock \
	>/root/second/shoald.log 2>&1 &
second_pid=$!

shoald_up() {
	local pid user caps
	systemctl start shoald@shoal0 || return 1
	retry 10 test -S /run/shoal/shoal0.sock || return 1
	pid=$(main_pid shoald@shoal0)
	user=$(ps -o user= -p "$pid")
	caps=$(cap_eff "$pid")
	echo "# shoald@shoal0 runs as $user, CapEff $caps"
	# CAP_NET_ADMIN (12) and CAP_NET_BIND_SERVICE (10), nothing else.
	[ "$user" = shoal ] && [ "$caps" = 0000000000001400 ]
}
check "shoald@shoal0 with the shipped example: user shoal, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only" \
	shoald_up
check "shoald@.service's exposure is not above the recorded one" \
	exposure shoald@shoal0.service shoald@.service

ping1() { ping -c 1 -W 1 -q 100.64.0.2 >/dev/null; }
status_peer() {
	local s
	s=$(shoal status shoal0 --json) || return 1
	python3 -c 'import json, sys
s = json.loads(sys.argv[1])
print("# datapath", s["datapath"], "peers", [p["address"] for p in s["peers"]])
sys.exit(not (s["datapath"] == "kernel" and
              any(p["address"] == "100.64.0.2" for p in s["peers"])))' "$s"
}
static_ping() {
	retry 30 ping1 || { journalctl -u shoald@shoal0 -o cat | tail -n 20; \
		tail -n 20 /root/second/shoald.log; return 1; }
}
check "the shipped two-host example: ping 100.64.0.2 over shoal.ko" static_ping
check "shoal status through the unit's socket: the peer, on the kernel datapath" status_peer

# A second instance, without a configuration (a key of its own), logs
# in: the static shoal0 keeps the example's addresses to itself.
login() {
	local key
	key=$(journalctl -u shoal-mediator -o cat |
		sed -n 's/^shoal login [^ ]* \([A-Za-z0-9+/=]\{44\}\).*/\1/p' | tail -n 1)
	[ -n "$key" ] || return 1
	systemctl start shoald@shoal1 || return 1
	retry 10 test -S /run/shoal/shoal1.sock || return 1
	shoal login 127.0.0.1:51800 "$key" --nick first -i shoal1 || return 1
	shoal status -i shoal1 | sed 's/^/# /' | head -n 5
}
check "shoald@shoal1 without a configuration: shoal login to the local mediator" login

ifindex() { cat /sys/class/net/shoal0/ifindex 2>/dev/null; }
idx=$(ifindex)
stopped() {
	systemctl stop shoald@shoal0 || return 1
	systemctl is-active -q shoald@shoal0 && return 1
	[ "$(ifindex)" = "$idx" ] || return 1
	shoal show shoal0 | grep -q "$p2" || return 1
	ping1
}
check "systemctl stop leaves shoal0 and its peer in the kernel, and they carry traffic" stopped

adopted() {
	systemctl start shoald@shoal0 || return 1
	retry 10 status_peer || return 1
	echo "# shoal0 ifindex $idx before, $(ifindex) after"
	[ "$(ifindex)" = "$idx" ] && ping1
}
check "systemctl start adopts the device and its peer" adopted

upgraded() {
	local before after ver got
	before=$(main_pid shoald@shoal0)
	ping -i 0.2 -c 40 -W 1 100.64.0.2 >/root/ping.log 2>&1 &
	local ping_pid=$!
	sleep 1
	apt-get install -y --no-install-recommends "$DEBDIR"/upgrade/shoal_*.deb \
		>/root/upgrade.log 2>&1 || { tail -n 20 /root/upgrade.log; return 1; }
	wait "$ping_pid"
	retry 10 systemctl is-active -q shoald@shoal0 || return 1
	after=$(main_pid shoald@shoal0)
	ver=$(dpkg-query -W -f='${Version}' shoal)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' /root/ping.log)
	echo "# shoal $ver; shoald pid $before before, $after after; $got of 40 pings answered; ifindex $idx, $(ifindex)"
	case "$ver" in *+upgrade1) ;; *) return 1 ;; esac
	[ "$before" != "$after" ] && [ "$(ifindex)" = "$idx" ] &&
		[ "${got:-0}" -ge 38 ] && retry 10 status_peer
}
check "upgrading shoal restarts shoald@shoal0 and the tunnel carries on" upgraded

kill "$second_pid" 2>/dev/null
wait "$second_pid" 2>/dev/null
purged() {
	apt-get purge -y shoal shoal-dkms shoal-mediator >/root/purge.log 2>&1 ||
		{ tail -n 20 /root/purge.log; return 1; }
}
check "apt-get purge shoal shoal-dkms shoal-mediator" purged

nothing_registered() {
	local bad=0 p s
	for p in shoal shoal-dkms shoal-mediator; do
		s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
		case "$s" in ''|not-installed) ;; *) echo "# dpkg: $p $s"; bad=1 ;; esac
	done
	getent passwd shoal && bad=1
	getent group shoal && bad=1
	s=$(dkms status shoal 2>&1)
	[ -n "$s" ] && { echo "# dkms: $s"; bad=1; }
	# The removal deleted the instances' devices: no tunnel outlives it.
	s=$(ip -o link show 2>&1 | grep -E '^[0-9]+: shoal[01][:@]')
	[ -n "$s" ] && { echo "# devices: $s"; bad=1; }
	# (shoal-vm.* are the harness's own.)
	s=$(systemctl list-unit-files --no-legend 'shoal-mediator*' 'shoald*' 2>&1)
	[ -n "$s" ] && { echo "# unit files: $s"; bad=1; }
	s=$(systemctl list-units --all --no-legend 'shoal-mediator*' 'shoald*' 2>&1)
	[ -n "$s" ] && { echo "# units: $s"; bad=1; }
	return $bad
}
check "after the purge: no package, user, group, DKMS entry, unit or device" nothing_registered

nothing_left() {
	local left
	# (shoal-vm.* are the harness's own: scripts/vm --systemd.)
	left=$(shoal_paths | grep -v '/shoal-vm\.[a-z]*$' |
		comm -23 - "$DEBDIR/host-shoal-paths")
	[ -z "$left" ] || { printf '# left: %s\n' $left; return 1; }
}
check "after the purge: no file named after shoal beyond the host's own" nothing_left
exit 0
