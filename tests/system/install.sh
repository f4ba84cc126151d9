#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# make install and make uninstall, staged in a scratch DESTDIR (so neither
# root nor dkms is involved): every file in its place with its mode, for
# PREFIX=/usr and the default /usr/local; nothing left after uninstall;
# units that systemd-analyze verify accepts without a word; installed man
# pages that render without warnings; the bash completion.
set -u
. "$(dirname "$0")/../common/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
VERSION=$(cat "$TOP/VERSION")

# make as if typed at a prompt: nothing inherited from a make running this
# test, nor install directories from the environment.
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR -u PREFIX \
		-u BINDIR -u SBINDIR -u MANDIR -u SYSTEMDUNITDIR -u SYSUSERSDIR \
		-u BASHCOMPDIR -u SHOAL_DKMS \
		make -C "$TOP" --no-print-directory "${makefiles[@]}" "$@"
}
# Until the top-level Makefile includes mk/install.mk, name both files.
makefiles=()
run_make -n install >/dev/null 2>&1 || makefiles=(-f Makefile -f mk/install.mk)

# What install lays out for PREFIX $1, as "MODE TYPE PATH" (find's %m %y).
expected() {
	local p=$1 f
	printf '755 f %s\n' "$p/bin/shoal" "$p/sbin/shoald" "$p/sbin/shoal-mediator" \
		"$p/sbin/shoal-relay"
	printf '644 f %s\n' "$p"/share/man/man8/{shoal,shoald,shoal-mediator,shoal-relay}.8 \
		"$p/share/man/man5/shoald.conf.5" \
		"$p"/lib/systemd/system/{shoald@,shoal-mediator}.service \
		"$p/lib/sysusers.d/shoal.conf" \
		"$p/share/bash-completion/completions/shoal"
	printf '777 l %s\n' "$p/share/bash-completion/completions/shoald"
	# The module's sources: under /usr/src whatever the PREFIX.
	for f in Kbuild VERSION dkms.conf "$TOP"/kmod/*.[ch] uapi/linux/shoal.h; do
		printf '644 f /usr/src/shoal-%s/%s\n' "$VERSION" "${f#"$TOP"/}"
	done
}

# Everything but directories under root $1, as expected() lists it.
installed() {
	(cd "$1" && find . ! -type d -printf '%m %y %P\n') |
		sed 's|^\([0-7]* [a-z]\) |\1 /|'
}

same_paths() {
	diff -u <(expected "$2" | cut -d' ' -f3 | sort) \
		<(installed "$1" | cut -d' ' -f3 | sort)
}

same_modes() {
	diff -u <(expected "$2" | sort -k3) <(installed "$1" | sort -k3)
}

# The units name the installed shoald and mediator; the link its target.
contents() {
	local root=$1 p=$2 units=$1$2/lib/systemd/system
	grep -qx "ExecStart=$p/sbin/shoald --interface %i --foreground" \
		"$units/shoald@.service" || { echo "shoald@.service: ExecStart"; return 1; }
	grep -qx "ExecStart=$p/sbin/shoal-mediator" "$units/shoal-mediator.service" ||
		{ echo "shoal-mediator.service: ExecStart"; return 1; }
	! grep -n @SBINDIR@ "$units"/* || return 1
	grep -qx 'g shoal -' "$root$p/lib/sysusers.d/shoal.conf" || return 1
	grep -q '^u shoal - ' "$root$p/lib/sysusers.d/shoal.conf" || return 1
	grep -qx 'User=shoal' "$units/shoald@.service" || return 1
	[ "$(readlink "$root$p/share/bash-completion/completions/shoald")" = shoal ]
}

nothing_left() {
	local left
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || { printf '%s\n' "$left"; return 1; }
}

# systemd-analyze verify with --root wants a whole systemd under the root
# (sysinit.target ...), so it checks copies whose ExecStart= names the
# staged binaries instead; MANPATH lets it find the staged man pages.
# It only warns, exit status 0, about unknown keys and bad values: any
# word about a shoal unit is a failure.  verify ROOT UNIT [SED]: SED
# edits the copy first.
verify() {
	local root=$1 unit=$2 edit=${3:-} file=${2/@*/@}.service out rc
	mkdir -p "$tmp/verify"
	sed -e "s|^ExecStart=/|ExecStart=$root/|" ${edit:+-e "$edit"} \
		"$root/usr/lib/systemd/system/$file" >"$tmp/verify/$file"
	out=$(cd "$tmp/verify" && MANPATH=$root/usr/share/man \
		systemd-analyze verify "$tmp/verify/$unit.service" 2>&1) && rc=0 || rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ "$rc" = 0 ] && ! grep -q shoal <<<"$out"
}

# That the check above fails on a broken unit: a misspelt key.
verify_catches() {
	! verify "$1" shoal-mediator 's/^ProtectSystem=/ProtectSytsem=/'
}

render() {
	local out
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}

# complete FILE WORD...: what the completion in FILE offers for the last
# WORD, one a line, as bash would ask it of `complete -F`'s function.
complete_words() {
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		f=$(complete -p "$1") || exit
		f=${f#*-F }; f=${f%% *}
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}

offers() {
	local want=$1 got
	shift
	got=$(complete_words "$@") || return 1
	grep -qx -- "$want" <<<"$got" || { echo "offered: $got"; return 1; }
}

ktap_plan 26

# PREFIX=/usr, as a package would: installed and checked in depth.
root=$tmp/usr-root
ktap_check "make install DESTDIR PREFIX=/usr" run_make install DESTDIR="$root" PREFIX=/usr
ktap_check "PREFIX=/usr: every file in its place, no other" same_paths "$root" /usr
ktap_check "PREFIX=/usr: modes (programs 0755, the rest 0644)" same_modes "$root" /usr
ktap_check "PREFIX=/usr: units name /usr/sbin, sysusers, link" contents "$root" /usr

if command -v systemd-analyze >/dev/null; then
	ktap_check "systemd-analyze verify shoald@shoal0.service" verify "$root" shoald@shoal0
	ktap_check "systemd-analyze verify shoal-mediator.service" verify "$root" shoal-mediator
	ktap_check "systemd-analyze verify fails on a misspelt key" verify_catches "$root"
else
	for _ in 1 2 3; do ktap_skip "systemd-analyze verify: not installed"; done
fi

for m in man8/shoal.8 man8/shoald.8 man8/shoal-mediator.8 man8/shoal-relay.8 \
	man5/shoald.conf.5; do
	ktap_check "installed ${m#*/} renders without warnings" render "$root/usr/share/man/$m"
done

comp=$root/usr/share/bash-completion/completions/shoal
ktap_check "completion: complete -p shoal" bash -c '. "$1" && complete -p shoal' bash "$comp"
ktap_check "completion: complete -p shoald (through the link)" \
	bash -c '. "$1" && complete -p shoald' bash "${comp}d"
ktap_check "completion: shoal st -> status" offers status "$comp" shoal st
ktap_check "completion: shoal set dev0 peer K '' -> endpoint" \
	offers endpoint "$comp" shoal set dev0 peer K ''
ktap_check "completion: shoal set dev0 peer K sa-out 256 k '' -> soft-packets" \
	offers soft-packets "$comp" shoal set dev0 peer K sa-out 256 k ''
ktap_check "completion: shoal status - -> --json" offers --json "$comp" shoal status -
ktap_check "completion: shoald --datapath '' -> tap" offers tap "$comp" shoald --datapath ''

ktap_check "make uninstall DESTDIR PREFIX=/usr" run_make uninstall DESTDIR="$root" PREFIX=/usr
ktap_check "PREFIX=/usr: nothing left after uninstall" nothing_left "$root"

# The default PREFIX, /usr/local.
root=$tmp/local-root
ktap_check "make install DESTDIR (PREFIX=/usr/local)" run_make install DESTDIR="$root"
ktap_check "PREFIX=/usr/local: every file in its place, with its mode" same_modes "$root" /usr/local
ktap_check "PREFIX=/usr/local: units name /usr/local/sbin, sysusers, link" contents "$root" /usr/local
ktap_check "make uninstall DESTDIR (PREFIX=/usr/local)" run_make uninstall DESTDIR="$root"
ktap_check "PREFIX=/usr/local: nothing left after uninstall" nothing_left "$root"

ktap_finish
