# SPDX-License-Identifier: GPL-2.0
# The NAT lab's KIND upnp (f), sourced by lab.sh: a symmetric router (as
# KIND symmetric) that runs Debian's miniupnpd (miniupnpd-nftables) on
# its LAN, offering UPnP IGD, NAT-PMP and PCP.
#
# miniupnpd 2.3 will not map on a WAN address in a reserved or
# documentation range, and the lab's internet is 203.0.113.0/24: this
# router's WAN is $LAB_UPNP_NET.N/24 instead, a block that exists only
# inside the lab's isolated namespaces (no namespace of the lab has a
# route out of it).  lab_internet puts $LAB_UPNP_GATEWAY on the internet
# bridge beside 203.0.113.254 and the internet namespace forwards
# between the two blocks.
#
# miniupnpd's rules live in a table of their own (inet $LAB_UPNP_TABLE,
# chains named in its configuration), beside the lab's "ip lab" table:
# the DNAT of a mapping happens there in prerouting, before the lab's
# input filter, and the replies go back through conntrack.
#
#   lab_upnp_start NAME [PROTOS]   (re)start miniupnpd on NAME's router,
#                                  offering PROTOS (default
#                                  "upnp natpmp pcp"); what is left out
#                                  is dropped on the router.
#   lab_upnp_stop NAME             stop it (lab_cleanup does too).
#   lab_upnp_list NAME             the router's mapping rules (nft).
# lab_client NAME upnp sets LAB_<NAME>_PUBLIC to $LAB_UPNP_NET.N.

LAB_UPNP_NET=192.0.3
LAB_UPNP_GATEWAY=$LAB_UPNP_NET.254
LAB_UPNP_TABLE=upnp

# On the internet bridge, with the others (lab_internet).
lab_upnp_internet() {
	ip -n "$LAB_INET" addr add "$LAB_UPNP_GATEWAY/24" dev internet
}

# lab_upnp_router RT HOST N PORT: KIND symmetric with the WAN in
# $LAB_UPNP_NET and miniupnpd's table; miniupnpd itself starts with
# lab_upnp_start.
lab_upnp_router() {
	local rt=$1 host=$2 n=$3 port=$4
	ip -n "$rt" addr add "$LAB_UPNP_NET.$n/24" dev wan || return 1
	ip -n "$rt" route add default via "$LAB_UPNP_GATEWAY" || return 1
	lab_router "$rt" "$host" "$n" symmetric "$port" || return 1
	lab_upnp_nft | ip netns exec "$rt" nft -f -
}

# The table miniupnpd fills: base chains jumping to the ones it owns.
lab_upnp_nft() {
	local t=$LAB_UPNP_TABLE
	cat <<EOF
table inet $t {
	chain forward {
		type filter hook forward priority filter; policy accept;
		jump ${t}_forward
	}
	chain ${t}_forward {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump ${t}_prerouting
	}
	chain ${t}_prerouting {
	}
	chain postrouting {
		type nat hook postrouting priority srcnat - 1; policy accept;
		jump ${t}_postrouting
	}
	chain ${t}_postrouting {
	}
	# lab_upnp_start's: the protocols left out.
	chain offered {
		type filter hook input priority filter - 1; policy accept;
	}
}
EOF
}

# lab_upnp_var NAME VAR: LAB_<NAME>_VAR's value.
lab_upnp_var() {
	local v
	v=LAB_$(echo "$1" | tr '[:lower:]' '[:upper:]')_$2
	echo "${!v:-}"
}

# lab_upnp_n NAME: the client's N, from its address 192.168.N.2.
lab_upnp_n() {
	local a
	a=$(lab_upnp_var "$1" ADDR)
	a=${a#192.168.}
	echo "${a%.2}"
}

lab_upnp_start() {
	local name=$1 protos=${2:-upnp natpmp pcp} rt n dir c t=$LAB_UPNP_TABLE
	local upnp=no natpmp=no
	rt=$(lab_upnp_var "$name" RT)
	n=$(lab_upnp_n "$name")
	[ -n "$rt" ] && [ "$(lab_upnp_var "$name" KIND)" = upnp ] || {
		echo "lab_upnp_start: no client '$name' of KIND upnp" >&2
		return 1
	}
	lab_upnp_stop "$name"
	dir=${LAB_UPNP_DIR:-/tmp}/lab-upnp-$name-$$
	mkdir -p "$dir" || return 1
	case " $protos " in *" upnp "*) upnp=yes ;; esac
	# One socket (5351) serves NAT-PMP and PCP: miniupnpd turns both on
	# or off together, so the one left out is dropped by its version
	# byte, the first of the UDP payload (NAT-PMP 0, PCP 2).
	case " $protos " in *" natpmp "* | *" pcp "*) natpmp=yes ;; esac
	# A fresh start: no mapping of an earlier run left behind.
	for c in offered "${t}_forward" "${t}_prerouting" "${t}_postrouting"; do
		ip netns exec "$rt" nft flush chain inet "$t" "$c" || return 1
	done
	case " $protos " in *" natpmp "*) ;; *)
		ip netns exec "$rt" nft add rule inet "$t" offered \
			udp dport 5351 @th,64,8 0 drop || return 1 ;;
	esac
	case " $protos " in *" pcp "*) ;; *)
		ip netns exec "$rt" nft add rule inet "$t" offered \
			udp dport 5351 @th,64,8 2 drop || return 1 ;;
	esac
	cat >"$dir/miniupnpd.conf" <<EOF
ext_ifname=wan
listening_ip=lan
http_port=0
enable_upnp=$upnp
enable_natpmp=$natpmp
secure_mode=yes
system_uptime=yes
notify_interval=60
uuid=7f1b5e62-0d3c-4c6e-9a2b-00000000000$((n % 10))
upnp_table_name=$t
upnp_nat_table_name=$t
upnp_forward_chain=${t}_forward
upnp_nat_chain=${t}_prerouting
upnp_nat_postrouting_chain=${t}_postrouting
allow 1024-65535 192.168.$n.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
	# -d: in the foreground, where lab_cleanup finds it.
	ip netns exec "$rt" miniupnpd -d -f "$dir/miniupnpd.conf" \
		-P "$dir/miniupnpd.pid" >"$dir/log" 2>&1 &
	printf -v "LAB_UPNP_PID_$n" '%s' "$!"
	# Up once its NAT-PMP/PCP socket or its SSDP socket is bound.
	for _ in $(seq 50); do
		if ip netns exec "$rt" ss -Hlun | grep -qE ':(5351|1900)\b'; then
			return 0
		fi
		kill -0 "$!" 2>/dev/null || break
		sleep 0.1
	done
	echo "lab_upnp_start: miniupnpd did not start:" >&2
	cat "$dir/log" >&2
	return 1
}

lab_upnp_stop() {
	local n pid v
	n=$(lab_upnp_n "$1")
	v=LAB_UPNP_PID_$n
	pid=${!v:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	printf -v "$v" '%s' ""
}

lab_upnp_list() {
	ip netns exec "$(lab_upnp_var "$1" RT)" nft list chain inet \
		"$LAB_UPNP_TABLE" "${LAB_UPNP_TABLE}_prerouting"
}

# lab_cleanup's: the configuration directories.
lab_upnp_cleanup() {
	rm -rf "${LAB_UPNP_DIR:-/tmp}"/lab-upnp-*-$$
}

# lab_upnp_log NAME: miniupnpd's output, for a failing test.
lab_upnp_log() {
	cat "${LAB_UPNP_DIR:-/tmp}/lab-upnp-$1-$$/log" 2>/dev/null
}
