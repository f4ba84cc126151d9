# SPDX-License-Identifier: GPL-2.0
# Names (issue 18), a part of tests/system/nat_lab.sh: from a, with dig
# at a's own shoald (its overlay address, port 53), every member by
# NICK.shoal and NICK.lanparty.shoal, a PTR, NXDOMAIN and REFUSED; a
# nickname change answered within a second; ping NICK.shoal through
# glibc (ip netns exec binds /etc/netns/NS/resolv.conf); and the names
# still answered while the mediator is down.
LAB_PART_TESTS=$((LAB_PART_TESTS + 8))

# names_dig ARGS...: dig in a's namespace at a's server.
names_dig() {
	lab_exec a dig +time=2 +tries=2 @"${V4[a]}" "$@"
}

names_all_members() {
	local y ok=0 got
	for y in $CLIENTS; do
		got=$(names_dig +short "${NICK[$y]}.shoal" A)
		if [ "$got" != "${V4[$y]}" ]; then
			echo "# ${NICK[$y]}.shoal: '$got', not ${V4[$y]}"
			ok=1
		fi
	done
	return $ok
}

# names_answers NAME TYPE WANT: within SECONDS (default 5).
names_answers() {
	local end=$((SECONDS + ${4:-5}))
	while [ "$(names_dig +short "$1" "$2")" != "$3" ]; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

names_up() {
	local t0 rc new=${NICK[g]}2 ptr
	ktap_check "names: a's server answers, ${NICK[j]}.shoal within 10 s" \
		names_answers "${NICK[j]}.shoal" A "${V4[j]}" 10
	ktap_check "names: dig @a NICK.shoal A gives each of the $NCLIENTS members' overlay address" \
		names_all_members
	ktap_check "names: ${NICK[b]}.lanparty.shoal A is b's address" \
		names_answers "${NICK[b]}.lanparty.shoal" A "${V4[b]}" 1
	ptr=$(echo "${V4[c]}" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')
	ktap_check "names: PTR of c's address is ${NICK[c]}.shoal." \
		names_answers "$ptr" PTR "${NICK[c]}.shoal." 1
	ktap_check "names: nobody.shoal is NXDOMAIN, example.com REFUSED" \
		sh -c "[ \"\$(ip netns exec $LAB_A_NS dig +time=2 @${V4[a]} nobody.shoal A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')\" = NXDOMAIN ] &&
		       [ \"\$(ip netns exec $LAB_A_NS dig +time=2 @${V4[a]} example.com A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')\" = REFUSED ]"

	# g renames itself and back: a answers the new name within a second.
	sh_ g nick "$new" >/dev/null
	t0=$(now)
	names_answers "$new.shoal" A "${V4[g]}" 5
	rc=$?
	echo "# a answered $new.shoal $(since "$t0") s after g's nick"
	ktap_check "names: shoal nick $new on g: a answers it within a second" \
		sh -c "[ $rc = 0 ] && awk -v t=$(since "$t0") 'BEGIN { exit !(t < 1.0) }'"
	sh_ g nick "${NICK[g]}" >/dev/null
	names_answers "${NICK[g]}.shoal" A "${V4[g]}" 15 ||
		echo "# a does not answer ${NICK[g]}.shoal again"

	# glibc through the namespace's resolv.conf.
	mkdir -p "/etc/netns/$LAB_A_NS"
	echo "nameserver ${V4[a]}" >"/etc/netns/$LAB_A_NS/resolv.conf"
	ktap_check "names: ping -c1 ${NICK[b]}.shoal from a, through glibc" \
		lab_exec a ping -c1 -W3 -q "${NICK[b]}.shoal"
	rm -rf "/etc/netns/$LAB_A_NS"
}

names_mediator_down() {
	ktap_check "names: with the mediator down, ${NICK[d]}.shoal is still answered" \
		names_answers "${NICK[d]}.shoal" A "${V4[d]}" 2
}
