#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [SECONDS [TARGET...]]
# tests/fuzz/run.sh --list
#
# Fuzzes each TARGET (default: all of them; a target is a
# tests/fuzz/NAME.c with a seed corpus tests/fuzz/corpus/NAME/, built by
# mk/fuzz.mk) with libFuzzer for SECONDS (default 30) and prints one KTAP
# test per target.  --list prints the targets' names.
# Each target's seed corpus (tests/fuzz/corpus/NAME) is copied into a
# temporary directory, which also takes what libFuzzer adds and any
# crash, so the repository is never written to.  Exit status: 0 no crash,
# 1 a crash or no build, 4 skipped (no clang or no libFuzzer: Debian's
# clang-14 and libclang-rt-14-dev).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
all=()
for f in "$top"/tests/fuzz/*.c; do
	t=$(basename "$f" .c)
	[ -d "$top/tests/fuzz/corpus/$t" ] && all+=("$t")
done
if [ "${1:-}" = --list ]; then
	printf '%s\n' "${all[@]}"
	exit 0
fi
secs=${1:-30}
case $secs in
'' | *[!0-9]* | 0)
	echo "usage: $0 [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac
shift $(($# > 0 ? 1 : 0))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	if [ ! -f "$top/tests/fuzz/$t.c" ] || [ ! -d "$top/tests/fuzz/corpus/$t" ]; then
		echo "$0: no target '$t' (tests/fuzz/$t.c and tests/fuzz/corpus/$t/)" >&2
		exit 2
	fi
done

echo "TAP version 13"
echo "1..${#targets[@]}"

skip_all() {
	local i=0 t
	for t in "${targets[@]}"; do
		i=$((i + 1))
		echo "ok $i $t # SKIP $*"
	done
	exit 4
}

cc=$(command -v clang || command -v clang-14) || skip_all "clang is not installed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shoal-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# libFuzzer comes in its own package (libclang-rt-N-dev), so a working
# clang proves nothing: link a trivial target to find out.
cat >"$tmp/probe.c" <<'PROBE'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	return d && n ? 0 : 0;
}
PROBE
"$cc" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" \
	>/dev/null 2>&1 || skip_all "$cc cannot link libFuzzer (libclang-rt-dev missing)"

cd "$top" || exit 1
if grep -qE '^-?include .*mk/fuzz\.mk' Makefile; then
	mk=(make)
else
	mk=(make -f Makefile -f mk/fuzz.mk)
fi

# fuzz N TARGET: test N, one target, SECONDS long.
fuzz() {
	local n=$1 t=$2 out rc took start runs crash size kept
	local dir=$tmp/$t
	if ! out=$("${mk[@]}" --no-print-directory FUZZ_CC="$cc" "build/fuzz/$t" 2>&1); then
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
		echo "not ok $n $t: build/fuzz/$t does not build"
		return 1
	fi
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp "tests/fuzz/corpus/$t"/* "$dir/corpus/"
	start=$(date +%s)
	# -timeout catches a hang in one input well before SECONDS are up.
	(cd "$dir" && exec "$top/build/fuzz/$t" -max_total_time="$secs" \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus") >"$dir/log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	# A crash may come before the final statistics: take libFuzzer's last count.
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$dir/log" | tail -n 1)
	[ -n "$runs" ] || runs=0

	if [ "$rc" = 0 ] && grep -q '^Done [0-9]* runs' "$dir/log"; then
		echo "ok $n $t fuzzed $took s, $runs runs, no crash"
		return 0
	fi

	# The sanitizer's or libFuzzer's report, then the input that caused it.
	# libFuzzer's own frames and ASan's shadow map say nothing about the bug.
	awk '/^==[0-9]+==|runtime error|deadly signal|ERROR: libFuzzer|^fuzz check failed/ { on = 1 }
		on { print } on && /^SUMMARY/ { exit }' "$dir/log" |
		grep -v 'fuzzer::\|__libc_start\| in _start \| in main \|operator new\|^=*$' |
		head -n 30 | sed 's/^/# /'
	crash=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' | head -n 1)
	if [ -n "$crash" ]; then
		size=$(stat -c %s "$crash")
		echo "# crash input, $size bytes$([ "$size" -gt 64 ] && echo ", first 64"):"
		head -c 64 "$crash" | od -An -tx1 -v | sed 's/^ */# /'
		kept=$(mktemp "${TMPDIR:-/tmp}/shoal-fuzz-$t-crash.XXXXXX")
		cp "$crash" "$kept"
		echo "# kept as $kept; reproduce with: build/fuzz/$t $kept"
	else
		tail -n 20 "$dir/log" | sed 's/^/# /'
	fi
	echo "not ok $n $t crashed after $runs runs, $took s (exit $rc)"
	return 1
}

failed=0
i=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	fuzz "$i" "$t" || failed=1
	# A run's corpus can grow large; the next target needs none of it.
	rm -rf "${tmp:?}/$t"
done
exit $failed
