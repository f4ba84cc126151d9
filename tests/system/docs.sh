#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Every man page renders with man -l and groff has nothing to warn about.
set -u
. "$(dirname "$0")/../common/lib.sh"
pages=("$TOP"/man/*.[1-8])
ktap_plan ${#pages[@]}
render() {
	local out
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
for p in "${pages[@]}"; do
	ktap_check "man -l $(basename "$p") renders without warnings" render "$p"
done
ktap_finish
