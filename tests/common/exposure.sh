# SPDX-License-Identifier: GPL-2.0
# Sourced by tests/system/unit_exposure.sh (the units offline) and
# tests/common/packages_guest.sh (the packaged units running under
# systemd): the exposure scores recorded in docs/architecture.md,
# "Privileges and the systemd units", and systemd-analyze's.
EXPOSURE_DOC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/docs/architecture.md

# exposure_recorded UNIT: the score the table gives UNIT ("| `UNIT` | N.N |").
exposure_recorded() {
	sed -n "s/^| \`$1\` | \([0-9]*\.[0-9]\) |.*/\1/p" "$EXPOSURE_DOC"
}

# exposure_level: the overall exposure level in the output of
# `systemd-analyze security` on stdin.
exposure_level() {
	sed -n 's/^→ Overall exposure level for .*: \([0-9]*\.[0-9]\).*/\1/p'
}

# exposure_not_above UNIT SCORE: SCORE is at most UNIT's recorded one.
exposure_not_above() {
	local want
	want=$(exposure_recorded "$1")
	echo "# $1: exposure $2, recorded $want"
	[ -n "$want" ] && [ -n "$2" ] &&
		awk -v got="$2" -v want="$want" 'BEGIN { exit !(got <= want) }'
}
