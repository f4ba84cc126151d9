# SPDX-License-Identifier: GPL-2.0
# The NAT lab: an "internet" namespace holding the mediator's two public
# addresses, and per client a home router namespace doing one kind of NAT
# with nftables in front of a host namespace.  Source tests/common/lib.sh
# first (netns_add, netns_cleanup), then this file; README.md beside it has
# the nft rules of each kind.
#
#  ┌───────────────────────────────────────────────────────────────────────┐
#  │ $LAB_INET   bridge "internet": 203.0.113.254/24 (every router's gate) │
#  │             198.51.100.1/24, 198.51.100.2/24 (the mediator's two)     │
#  └───────────┬─ rtN ───────────────────────────────┬─ rtM ───────────────┘
#  ┌───────────┴───────────────────────┐ ┌───────────┴───────────────────────┐
#  │ lab-rt-NAME-$$ (KIND b, c or d)   │ │ lab-rt-NAME2-$$ (KIND none)       │
#  │ wan 203.0.113.N/24                │ │ br0 = wan + lan, no address:      │
#  │ nft table ip lab: the KIND's NAT  │ │ a plain switch, no NAT            │
#  │ lan 192.168.N.1/24                │ │                                   │
#  └───────────┬───────────────────────┘ └───────────┬───────────────────────┘
#  ┌───────────┴───────────────────────┐ ┌───────────┴───────────────────────┐
#  │ lab-NAME-$$                       │ │ lab-NAME2-$$                      │
#  │ eth0 192.168.N.2/24 via .N.1      │ │ eth0 203.0.113.M/24 via .254      │
#  └───────────────────────────────────┘ └───────────────────────────────────┘
#
# lab_internet, then lab_client NAME KIND [PORT] per client (N counts the
# clients from 1), then lab_cleanup.  A router's LAN side is a bridge
# "lan" (192.168.N.1/24) with one veth port per host behind it.  KIND,
# RFC 4787 terms (mapping / filtering):
#   none (a)           the host holds a public address itself
#   cone-filtered (b)  masquerade: endpoint-independent / address-and-port-dependent
#   full-cone (c)      fixed snat + dnat of PORT: endpoint-independent / endpoint-independent
#   symmetric (d)      masquerade fully-random (iptables: --random-fully):
#                      address-and-port-dependent / address-and-port-dependent
#   double-nat (g)     a home masquerade router behind a carrier-grade one
#                      (namespace lab-cgn-NAME-$$, 100.64.N.0/24 between
#                      the two): endpoint-independent / address-and-port-dependent
#   udp-blocked (h)    masquerade, and every forwarded UDP packet dropped
#                      (TCP passes): no UDP mapping at all
#   upnp (f)           symmetric, with miniupnpd offering UPnP IGD, NAT-PMP
#                      and PCP to the LAN; its WAN is in another block
#                      (lab_upnp.sh; lab_upnp_start starts miniupnpd)
#   same:OTHER         one more host behind client OTHER's router (which
#                      must do NAT), 192.168.N.K in OTHER's /24: two
#                      clients on one LAN, the router's kind.  With
#                      OTHER's PORT its mapping gets another, random port
#                      (the tuples clash), still endpoint-independent.
# lab_client sets, for the client and (without NAME) for the last one made:
#   LAB_<NAME>_NS      the host namespace (LAB_NS)
#   LAB_<NAME>_ADDR    the host's own address (LAB_ADDR)
#   LAB_<NAME>_PUBLIC  its router's public address (LAB_PUBLIC); for KIND
#                      none the host's address, as there is no router
#   LAB_<NAME>_RT, LAB_<NAME>_KIND, LAB_<NAME>_PORT
#   LAB_<NAME>_CGN     (double-nat only) the carrier-grade NAT's namespace
# with <NAME> in upper case.

LAB_INET=${LAB_INET:-lab-inet-$$}
LAB_MEDIATOR1=198.51.100.1
LAB_MEDIATOR2=198.51.100.2
LAB_GATEWAY=203.0.113.254
LAB_NETNS=()	# ours, for lab_cleanup
lab_n=0		# routers made so far: the N of the next one is lab_n + 1
declare -gA lab_rt_n=()		# router namespace -> its N
declare -gA lab_rt_hosts=()	# router namespace -> hosts behind it
. "$(dirname "${BASH_SOURCE[0]}")/lab_upnp.sh"

lab_ns_add() {
	local ns
	for ns in "$@"; do
		netns_add "$ns" || return 1
		LAB_NETNS+=("$ns")
	done
}

lab_internet() {
	lab_ns_add "$LAB_INET" || return 1
	ip -n "$LAB_INET" link add internet type bridge || return 1
	# The mediator's addresses sit on the bridge itself: this kernel may
	# have no dummy device, and local delivery is all they need.
	ip -n "$LAB_INET" addr add "$LAB_GATEWAY/24" dev internet
	ip -n "$LAB_INET" addr add "$LAB_MEDIATOR1/24" dev internet
	ip -n "$LAB_INET" addr add "$LAB_MEDIATOR2/24" dev internet
	lab_upnp_internet
	ip -n "$LAB_INET" link set internet up || return 1
	# Routers reach each other on the bridge directly; forwarding only
	# matters if a test adds routed networks behind $LAB_INET.
	ip netns exec "$LAB_INET" sysctl -qw net.ipv4.ip_forward=1
}

# lab_uplink RT N: the router's wan, plugged into the internet bridge.
lab_uplink() {
	ip link add wan netns "$1" type veth peer "rt$2" netns "$LAB_INET" || return 1
	ip -n "$LAB_INET" link set "rt$2" master internet up || return 1
	ip -n "$1" link set wan up
}

# lab_nft KIND N PORT: the router's ruleset for KIND, on stdout.
lab_nft() {
	local kind=$1 n=$2 port=$3
	echo "table ip lab {"
	case $kind in
	cone-filtered | double-nat)
		# Linux keeps the source port when the resulting tuple is
		# unique, so one host's port maps alike to every destination.
		# (double-nat: the home router and the carrier-grade one both.)
		lab_chain postrouting "type nat hook postrouting priority srcnat" \
			'oifname "wan" masquerade'
		;;
	udp-blocked)
		# A network that lets only TCP out: a masquerade as (b) whose
		# forwarding drops UDP both ways.
		lab_chain postrouting "type nat hook postrouting priority srcnat" \
			'oifname "wan" masquerade'
		lab_chain forward "type filter hook forward priority filter" \
			'meta l4proto udp drop'
		;;
	full-cone)
		# The mapping is fixed ahead, as the lab knows the port; the
		# dnat lets anyone in through it, conntrack entry or not.
		lab_chain prerouting "type nat hook prerouting priority dstnat" \
			"iifname \"wan\" ip daddr 203.0.113.$n udp dport $port dnat to 192.168.$n.2:$port"
		lab_chain postrouting "type nat hook postrouting priority srcnat" \
			"oifname \"wan\" ip saddr 192.168.$n.2 udp sport $port snat to 203.0.113.$n:$port" \
			'oifname "wan" masquerade'
		;;
	symmetric)
		# A random port for every new conntrack entry, that is every
		# new destination address and port.
		lab_chain postrouting "type nat hook postrouting priority srcnat" \
			'oifname "wan" masquerade fully-random'
		;;
	esac
	# Unsolicited packets for the router itself are dropped before
	# conntrack confirms their entry.  An accepted one would leave an
	# entry (peer -> public:port) behind, and the host's own first packet
	# to that peer would then clash with it and be masqueraded to another
	# port: a simultaneous hole punch through (b) would fail.  Real
	# routers drop or reject them too.
	lab_chain input "type filter hook input priority filter" \
		'iifname "wan" meta l4proto { tcp, udp } ct state new drop'
	echo "}"
}

# lab_chain NAME "HOOK SPEC" RULE...: one base chain, policy accept.
lab_chain() {
	local name=$1 spec=$2 rule
	shift 2
	echo "	chain $name {"
	echo "		$spec; policy accept;"
	for rule in "$@"; do echo "		$rule"; done
	echo "	}"
}

# lab_export NAME VAR VALUE: LAB_<NAME>_VAR and LAB_VAR.
lab_export() {
	local up
	up=$(echo "$1" | tr '[:lower:]' '[:upper:]')
	printf -v "LAB_${up}_$2" '%s' "$3"
	printf -v "LAB_$2" '%s' "$3"
	export "LAB_${up}_$2" "LAB_$2"
}

lab_client() {
	local name=$1 kind=$2 port=${3:-51820} n rt host addr public
	case $kind in
	a) kind=none ;;
	b) kind=cone-filtered ;;
	c) kind=full-cone ;;
	d) kind=symmetric ;;
	g) kind=double-nat ;;
	h) kind=udp-blocked ;;
	none | cone-filtered | full-cone | symmetric | double-nat | udp-blocked) ;;
	# Kinds with a file of their own add their names here.
	f) kind=upnp ;;
	upnp) ;;
	same:*) ;;
	*) echo "lab_client: unknown kind '$kind'" >&2; return 1 ;;
	esac
	if ! [[ $name =~ ^[A-Za-z0-9_]+$ ]]; then
		echo "lab_client: NAME must be letters, digits and _" >&2
		return 1
	fi
	if [[ $kind == same:* ]]; then
		lab_beside "$name" "${kind#same:}" "$port"
		return
	fi
	n=$((lab_n + 1))
	[ "$n" -le 250 ] || { echo "lab_client: too many clients" >&2; return 1; }
	lab_n=$n
	rt=lab-rt-$name-$$ host=lab-$name-$$
	lab_ns_add "$rt" "$host" || return 1
	lab_rt_n[$rt]=$n
	lab_rt_hosts[$rt]=1
	case $kind in
	none)
		lab_uplink "$rt" "$n" || return 1
		lab_switch "$rt" "$host" "$n" || return 1
		addr=203.0.113.$n public=$addr
		;;
	double-nat)
		lab_ns_add "lab-cgn-$name-$$" || return 1
		lab_export "$name" CGN "lab-cgn-$name-$$"
		lab_cgn "lab-cgn-$name-$$" "$rt" "$n" || return 1
		lab_router "$rt" "$host" "$n" "$kind" "$port" || return 1
		addr=192.168.$n.2 public=203.0.113.$n
		;;
	# Kinds with a file of their own add their lines here.
	upnp)
		lab_uplink "$rt" "$n" || return 1
		lab_upnp_router "$rt" "$host" "$n" "$port" || return 1
		addr=192.168.$n.2 public=$LAB_UPNP_NET.$n
		;;
	*)
		lab_uplink "$rt" "$n" || return 1
		ip -n "$rt" addr add "203.0.113.$n/24" dev wan || return 1
		ip -n "$rt" route add default via "$LAB_GATEWAY" || return 1
		lab_router "$rt" "$host" "$n" "$kind" "$port" || return 1
		addr=192.168.$n.2 public=203.0.113.$n
		;;
	esac
	lab_export "$name" NS "$host"
	lab_export "$name" RT "$rt"
	lab_export "$name" ADDR "$addr"
	lab_export "$name" PUBLIC "$public"
	lab_export "$name" KIND "$kind"
	lab_export "$name" PORT "$port"
}

# lab_beside NAME OTHER PORT: host NAME on the LAN of OTHER's router.
lab_beside() {
	local name=$1 other=$2 port=$3 up rt kind n k host
	up=$(echo "$other" | tr '[:lower:]' '[:upper:]')
	rt=LAB_${up}_RT kind=LAB_${up}_KIND
	rt=${!rt:-} kind=${!kind:-}
	if [ -z "$rt" ] || [ "$kind" = none ]; then
		echo "lab_client: same:$other needs a client behind a NAT router" >&2
		return 1
	fi
	n=${lab_rt_n[$rt]} k=$((lab_rt_hosts[$rt] + 1))
	[ "$k" -le 250 ] || { echo "lab_client: too many hosts on $rt" >&2; return 1; }
	lab_rt_hosts[$rt]=$k
	host=lab-$name-$$
	lab_ns_add "$host" || return 1
	lab_lan_host "$rt" "$host" "$n" "$k" || return 1
	lab_export "$name" NS "$host"
	lab_export "$name" RT "$rt"
	lab_export "$name" ADDR "192.168.$n.$((k + 1))"
	lab_export "$name" PUBLIC "203.0.113.$n"
	lab_export "$name" KIND "$kind"
	lab_export "$name" PORT "$port"
	if [ "$kind" = double-nat ]; then
		local cgn=LAB_${up}_CGN
		lab_export "$name" CGN "${!cgn}"
	fi
}

# KIND none: the router namespace is a switch, so the host is plugged
# into the internet bridge with a public address and no NAT, while every
# client still has a router namespace for a test to capture on.
lab_switch() {
	local rt=$1 host=$2 n=$3
	ip link add lan netns "$rt" type veth peer eth0 netns "$host" || return 1
	ip -n "$rt" link add br0 type bridge || return 1
	ip -n "$rt" link set wan master br0 || return 1
	ip -n "$rt" link set lan master br0 up || return 1
	ip -n "$rt" link set br0 up
	ip -n "$host" link set eth0 up
	ip -n "$host" addr add "203.0.113.$n/24" dev eth0 || return 1
	ip -n "$host" route add default via "$LAB_GATEWAY"
}

# lab_cgn CGN RT N: a carrier-grade NAT between the internet and router
# RT's wan.  It holds the public address; RT's wan gets 100.64.N.2
# (shared address space, RFC 6598, as carriers use it; inside the lab
# only).  It is a cone-filtered masquerade itself.
lab_cgn() {
	local cgn=$1 rt=$2 n=$3
	lab_uplink "$cgn" "$n" || return 1
	ip -n "$cgn" addr add "203.0.113.$n/24" dev wan || return 1
	ip -n "$cgn" route add default via "$LAB_GATEWAY" || return 1
	ip link add lan netns "$cgn" type veth peer wan netns "$rt" || return 1
	ip -n "$cgn" addr add "100.64.$n.1/24" dev lan || return 1
	ip -n "$cgn" link set lan up || return 1
	ip netns exec "$cgn" sysctl -qw net.ipv4.ip_forward=1 || return 1
	lab_nft double-nat "$n" 0 | ip netns exec "$cgn" nft -f - || return 1
	ip -n "$rt" addr add "100.64.$n.2/24" dev wan || return 1
	ip -n "$rt" link set wan up || return 1
	ip -n "$rt" route add default via "100.64.$n.1"
}

# lab_router RT HOST N KIND PORT: RT, its wan up and addressed already,
# forwards and NATs for the LAN bridge it gets, with HOST on it.
lab_router() {
	local rt=$1 host=$2 n=$3 kind=$4 port=$5
	ip -n "$rt" link add lan type bridge || return 1
	ip -n "$rt" addr add "192.168.$n.1/24" dev lan || return 1
	ip -n "$rt" link set lan up || return 1
	ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1 || return 1
	lab_nft "$kind" "$n" "$port" | ip netns exec "$rt" nft -f - || return 1
	lab_lan_host "$rt" "$host" "$n" 1
}

# lab_lan_host RT HOST N K: HOST, the K-th on RT's LAN, at 192.168.N.(K+1)
# through the bridge port lanK.
lab_lan_host() {
	local rt=$1 host=$2 n=$3 k=$4
	ip link add "lan$k" netns "$rt" type veth peer eth0 netns "$host" || return 1
	ip -n "$rt" link set "lan$k" master lan up || return 1
	ip -n "$host" link set eth0 up || return 1
	ip -n "$host" addr add "192.168.$n.$((k + 1))/24" dev eth0 || return 1
	ip -n "$host" route add default via "192.168.$n.1"
}

# lab_exec NAME CMD...: CMD in the client's host namespace.
lab_exec() {
	local name=$1 ns
	ns=LAB_$(echo "$name" | tr '[:lower:]' '[:upper:]')_NS
	shift
	[ -n "${!ns:-}" ] || { echo "lab_exec: no client '$name'" >&2; return 1; }
	ip netns exec "${!ns}" "$@"
}

# lab_lladdr MAC: the EUI-64 link-local address that MAC makes.
lab_lladdr() {
	/usr/bin/python3 -c 'import sys, ipaddress
m = bytes.fromhex(sys.argv[1].replace(":", ""))
iid = bytes([m[0] ^ 2]) + m[1:3] + b"\xff\xfe" + m[3:]
print(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))' "$1"
}

# lab_cleanup: stops what still runs in the lab's namespaces (started by
# this test, as no one else knows their names) and removes them.
lab_cleanup() {
	local ns pid
	for ns in "${LAB_NETNS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NETNS=()
	lab_n=0
	lab_upnp_cleanup
	lab_rt_n=()
	lab_rt_hosts=()
}
