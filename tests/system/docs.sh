#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# Every man page renders with man -l and groff has nothing to warn about;
# no text file the project tracks keeps a merge's conflict markers.
set -u
. "$(dirname "$0")/../common/lib.sh"
pages=("$TOP"/man/*.[1-8])
ktap_plan $((${#pages[@]} + 1))
render() {
	local out
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
for p in "${pages[@]}"; do
	ktap_check "man -l $(basename "$p") renders without warnings" render "$p"
done
conflicts() {
	local hits
	hits=$(git -C "$TOP" grep -nE '^(<<<<<<< |>>>>>>> |=======$)' -- \
		':!*.png' 2>/dev/null)
	[ -z "$hits" ] || { printf '%s\n' "$hits" | sed 's/^/# /'; return 1; }
}
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	ktap_check "no file keeps a merge's conflict markers" conflicts
else
	ktap_skip "no git checkout to look for conflict markers in"
fi
ktap_finish
