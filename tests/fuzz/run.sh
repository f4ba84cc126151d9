#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [SECONDS]
#
# Fuzzes the control channel's TLV codec (build/fuzz/tlv, tests/fuzz/tlv.c)
# with libFuzzer for SECONDS (default 30) and prints one KTAP test.  The
# seed corpus is copied into a temporary directory, which also takes what
# libFuzzer adds and any crash, so the repository is never written to.
# Exit status: 0 no crash, 1 a crash or no build, 4 skipped (no clang or
# no libFuzzer: Debian's clang-14 and libclang-rt-14-dev).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-30}
case $secs in
'' | *[!0-9]* | 0)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

echo "TAP version 13"
echo "1..1"

skip() {
	echo "ok 1 tlv # SKIP $*"
	exit 4
}

cc=$(command -v clang || command -v clang-14) || skip "clang is not installed"
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
	>/dev/null 2>&1 || skip "$cc cannot link libFuzzer (libclang-rt-dev missing)"

cd "$top" || exit 1
if grep -qE '^-?include .*mk/fuzz\.mk' Makefile; then
	mk=(make)
else
	mk=(make -f Makefile -f mk/fuzz.mk)
fi
if ! out=$("${mk[@]}" --no-print-directory FUZZ_CC="$cc" fuzz 2>&1); then
	printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
	echo "not ok 1 tlv: build/fuzz/tlv does not build"
	exit 1
fi

mkdir "$tmp/corpus" "$tmp/artifacts"
cp tests/fuzz/corpus/tlv/* "$tmp/corpus/"
start=$(date +%s)
# -timeout catches a hang in one input well before SECONDS are up.
(cd "$tmp" && exec "$top/build/fuzz/tlv" -max_total_time="$secs" \
	-timeout=10 -print_final_stats=1 -artifact_prefix="$tmp/artifacts/" \
	"$tmp/corpus") >"$tmp/log" 2>&1
rc=$?
took=$(($(date +%s) - start))

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log" | tail -n 1)
# A crash may come before the final statistics: take libFuzzer's last count.
[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$tmp/log" | tail -n 1)
[ -n "$runs" ] || runs=0

if [ "$rc" = 0 ] && grep -q '^Done [0-9]* runs' "$tmp/log"; then
	echo "ok 1 tlv fuzzed $took s, $runs runs, no crash"
	exit 0
fi

# The sanitizer's or libFuzzer's report, then the input that caused it.
# libFuzzer's own frames and ASan's shadow map say nothing about the bug.
awk '/^==[0-9]+==|runtime error|deadly signal|ERROR: libFuzzer|^fuzz check failed/ { on = 1 }
	on { print } on && /^SUMMARY/ { exit }' "$tmp/log" |
	grep -v 'fuzzer::\|__libc_start\| in _start \| in main \|operator new\|^=*$' |
	head -n 30 | sed 's/^/# /'
crash=$(find "$tmp/artifacts" -type f ! -name 'slow-unit-*' | head -n 1)
if [ -n "$crash" ]; then
	size=$(stat -c %s "$crash")
	echo "# crash input, $size bytes$([ "$size" -gt 64 ] && echo ", first 64"):"
	head -c 64 "$crash" | od -An -tx1 -v | sed 's/^ */# /'
	kept=$(mktemp "${TMPDIR:-/tmp}/shoal-fuzz-crash.XXXXXX")
	cp "$crash" "$kept"
	echo "# kept as $kept; reproduce with: build/fuzz/tlv $kept"
else
	tail -n 20 "$tmp/log" | sed 's/^/# /'
fi
echo "not ok 1 tlv crashed after $runs runs, $took s (exit $rc)"
exit 1
