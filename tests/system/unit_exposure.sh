#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The systemd units' exposure scores (`systemd-analyze security
# --offline=true`, lower is better) must not rise above the ones recorded
# in docs/architecture.md, "Privileges and the systemd units": a change
# that loosens a unit fails here until the table says so too.  The units
# are checked as `make install` writes them (@SBINDIR@ filled in), staged
# in a scratch DESTDIR.  A copy of shoald@.service run as root shows that
# the check can fail.
set -u
. "$(dirname "$0")/../common/lib.sh"
. "$TOP/tests/common/exposure.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v systemd-analyze >/dev/null ||
   ! systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	ktap_plan 1
	ktap_skip "needs systemd-analyze with security --offline (systemd 250 or later)"
	ktap_finish
fi
ktap_plan 5

# score FILE: the overall exposure level systemd-analyze gives the unit.
score() {
	local out
	out=$(cd "$(dirname "$1")" && systemd-analyze security --offline=true \
		--no-pager "$1" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
	exposure_level <<<"$out"
}

# not_above UNIT FILE: FILE's score is at most UNIT's recorded one.
not_above() { exposure_not_above "$1" "$(score "$2")"; }

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP" --no-print-directory \
	install-systemd DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/make.log" 2>&1
units=$tmp/root/usr/lib/systemd/system
ktap_check "make install-systemd stages both units" \
	test -s "$units/shoald@.service" -a -s "$units/shoal-mediator.service"
# shoald(8) repeats them.
documented() {
	local d m
	d=$(exposure_recorded shoald@.service) m=$(exposure_recorded shoal-mediator.service)
	echo "recorded: shoald@.service ${d:-none}, shoal-mediator.service ${m:-none}"
	[ -n "$d" ] && [ -n "$m" ] &&
	grep -qF "is $d (shoal\\-mediator.service: $m)" "$TOP/man/shoald.8"
}
ktap_check "both scores are recorded in docs/architecture.md, and shoald(8) agrees" documented
# The template as its instance shoald@shoal0 (a copy under that name).
cp "$units/shoald@.service" "$tmp/shoald@shoal0.service"
ktap_check "shoald@.service: exposure not above the recorded score" \
	not_above shoald@.service "$tmp/shoald@shoal0.service"
ktap_check "shoal-mediator.service: exposure not above the recorded score" \
	not_above shoal-mediator.service "$units/shoal-mediator.service"

# The unit as it was before it had a user of its own: root, CAP_CHOWN.
mkdir "$tmp/loose"
sed -e '/^User=/d' -e '/^Group=/d' \
	-e 's/^CapabilityBoundingSet=.*/CapabilityBoundingSet=CAP_NET_ADMIN CAP_CHOWN CAP_NET_BIND_SERVICE/' \
	"$units/shoald@.service" >"$tmp/loose/shoald@shoal0.service"
loose_fails() {
	! not_above shoald@.service "$tmp/loose/shoald@shoal0.service"
}
ktap_check "the check fails for shoald@.service run as root" loose_fails
ktap_finish
