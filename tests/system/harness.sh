#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The harness never hides a failure.  Fake suites in a scratch copy of the
# harness lose results on the way, exit non-zero without a "not ok", or
# leave a warning in the kernel's log, and each must come out failed:
# tests/run's checks on the host and in a VM, and scripts/vm's check of
# the guest's whole kernel log behind them.
set -u
. "$(dirname "$0")/../common/lib.sh"
ktap_plan 7

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tests/kernel" "$tmp/tests/system" "$tmp/scripts"
cp "$TOP/tests/run" "$tmp/tests/run"
cp "$TOP/scripts/klog-bad" "$tmp/scripts/klog-bad"
fake() {	# fake NAME WHERE BODY: a suite of the scratch tree
	printf '#!/bin/bash\n# where: %s\n%s\n' "$2" "$3" >"$tmp/tests/system/$1.sh"
	chmod +x "$tmp/tests/system/$1.sh"
}
fake short host 'echo "1..3"; echo "ok 1 one"; echo "ok 2 two"'
fake silent host 'echo "1..1"; echo "ok 1 fine"; exit 3'
fake honest host 'echo "1..2"; echo "ok 1 one"; echo "ok 2 two"'
fake todo host 'echo "1..2"; echo "ok 1 one"; echo "not ok 2 two # TODO not built yet"'
fake warns vm 'echo "1..1"; echo "<4>WARNING: CPU: 0 PID: 1 at fake.c:1 shoal_harness_test" >/dev/kmsg; echo "ok 1 passes"'
fake quiet vm 'echo "1..1"; echo "ok 1 passes"'

host_run() { "$tmp/tests/run" host "system/$1.sh" 2>/dev/null; }

ktap_check "a suite reporting fewer results than its plan fails" \
	sh -c "! out=\$($tmp/tests/run host system/short.sh 2>/dev/null) &&
		echo \"\$out\" | grep -q '^not ok - system/short.sh planned 3 tests and reported 2'"
ktap_check "a suite exiting non-zero without a 'not ok' fails" \
	sh -c "! out=\$($tmp/tests/run host system/silent.sh 2>/dev/null) &&
		echo \"\$out\" | grep -q '^not ok - system/silent.sh exited 3 without reporting a failure'"
ktap_check "an honest suite passes" host_run honest
ktap_check "a 'not ok' with a TODO directive fails no suite" host_run todo

# In a VM: the warning fails the suite it happened in, and scripts/vm
# fails a command that passed but left a report in the kernel's log.
vm_out=$tmp/vm.out
(cd "$tmp" && "$TOP/scripts/vm" --kernel 6.12 -q -- tests/run vm system/warns.sh system/quiet.sh) >"$vm_out" 2>&1
vm_rc=$?
sed 's/^/# /' "$vm_out" | grep -v '^# # klog: ' | head -n 20
ktap_check "a kernel warning fails the VM suite it happened in, not the next" \
	sh -c "[ $vm_rc != 0 ] && grep -q '^not ok - system/warns.sh: the kernel log reports a bug' '$vm_out' &&
		! grep -q '^not ok - system/quiet.sh' '$vm_out'"
"$TOP/scripts/vm" --kernel 6.12 -q -- sh -c 'echo "<4>WARNING: CPU: 0 PID: 1 at fake.c:2 shoal_harness_test" >/dev/kmsg' >"$vm_out" 2>&1
vm_rc=$?
ktap_check "scripts/vm fails a passing command that left a warning in the log" \
	sh -c "[ $vm_rc = 125 ] && grep -q 'kernel log reports a bug' '$vm_out'"
"$TOP/scripts/vm" --kernel 6.12 -q -- true >"$vm_out" 2>&1
vm_rc=$?
ktap_check "and passes one that left none" sh -c "[ $vm_rc = 0 ] || { cat '$vm_out'; false; }"
ktap_finish
