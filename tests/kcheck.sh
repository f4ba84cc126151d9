#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel module's hygiene, as KTAP: checkpatch --strict over kmod/ and
# the uapi header, and for every kernel the harness knows a W=1 build with
# no warning and a sparse run with nothing to say.
set -u
. "$(dirname "$0")/kselftest/lib.sh"
cd "$TOP" || exit 1

series=$(scripts/kernels)
ktap_plan $((1 + 2 * $(echo "$series" | wc -w)))

checkpatch() {
	local out
	out=$(perl build/kernel/scripts/checkpatch.pl --no-tree --strict --terse \
		--show-types -f kmod/*.c kmod/*.h uapi/linux/shoal.h 2>&1)
	# Anything but a clean total per file is a complaint.
	out=$(grep -v '^total: 0 errors, 0 warnings, 0 checks' <<<"$out")
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
ktap_check "checkpatch --strict is clean" checkpatch

for s in $series; do
	kver=$(scripts/kernels "$s")
	# -Werror is in Kbuild, so a W=1 warning fails the build.
	ktap_check "W=1 build for $kver has no warnings" \
		make -s kmod KVER="$kver"
	sparse_run() {
		local out
		out=$(make -s -C "/lib/modules/$kver/build" M="$TOP/build/kmod/$kver" \
			C=2 W=1 modules 2>&1 | grep -E 'warning|error' | grep -v 'Skipping BTF')
		[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
	}
	ktap_check "sparse is clean for $kver" sparse_run
done
ktap_finish
