#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel module's hygiene, as KTAP: checkpatch --strict over kmod/ and
# the uapi header, and for every kernel the harness knows a W=1 build with
# no warning and a sparse run with nothing to say; the newest kernel's
# again with SHOAL_DEBUG=y (the load-time self-tests, in a tree of its
# own under build/kcheck-debug so the VM's module is not rebuilt).
set -u
. "$(dirname "$0")/common/lib.sh"
cd "$TOP" || exit 1

series=$(scripts/kernels)
ktap_plan $((3 + 2 * $(echo "$series" | wc -w)))

checkpatch() {
	local out
	out=$(perl build/kernel/scripts/checkpatch.pl --no-tree --strict --terse \
		--show-types -f kmod/*.c kmod/*.h uapi/linux/shoal.h 2>&1)
	# Anything but a clean total per file is a complaint.
	out=$(grep -v '^total: 0 errors, 0 warnings, 0 checks' <<<"$out")
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
ktap_check "checkpatch --strict is clean" checkpatch

sparse_run() {	# sparse_run KVER BUILD [MAKE-ARGS...]
	local kver=$1 build=$2 out
	shift 2
	out=$(make -s -C "/lib/modules/$kver/build" M="$TOP/$build/kmod/$kver" \
		C=2 W=1 "$@" modules 2>&1 | grep -E 'warning|error' | grep -v 'Skipping BTF')
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
for s in $series; do
	kver=$(scripts/kernels "$s")
	# -Werror is in Kbuild, so a W=1 warning fails the build.
	ktap_check "W=1 build for $kver has no warnings" \
		make -s kmod KVER="$kver"
	ktap_check "sparse is clean for $kver" sparse_run "$kver" build
done
ktap_check "W=1 build for $kver with SHOAL_DEBUG=y has no warnings" \
	make -s kmod KVER="$kver" BUILD=build/kcheck-debug SHOAL_DEBUG=y
ktap_check "sparse is clean for $kver with SHOAL_DEBUG=y" \
	sparse_run "$kver" build/kcheck-debug SHOAL_DEBUG=y
ktap_finish
