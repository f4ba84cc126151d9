#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# shoal.ko packaged with DKMS (dkms.conf): the module sources, laid out as
# in /usr/src/shoal-VERSION, are added to DKMS, built and installed for the
# headers of each kernel the VM harness boots (scripts/kernels), and the
# module DKMS built is loaded in a VM of that kernel and makes a shoal link;
# then `dkms remove --all` takes it all away again.
#
#   repo sources ──cp──> $tmp/src ──dkms add──> /usr/src/shoal-VERSION
#     ──dkms build/install -k KVER──> /var/lib/dkms/shoal/VERSION/KVER/...
#                                     /lib/modules/KVER/updates/dkms/shoal.ko
#     ──scripts/vm --kernel SERIES──> insmod of that .ko, ip link add
#
# Needs root and dkms (scripts/deps); skips otherwise.  Whatever the test
# registers or writes on the host is removed again on exit, and a shoal of
# the same version already registered is removed first, so a run starts
# clean.
set -u
. "$(dirname "$0")/../common/lib.sh"

SERIES=(6.1 6.12)
# Under TCG, with a test run next to us, a boot takes a while.
VM_TIMEOUT=${SHOAL_DKMS_VM_TIMEOUT:-600}
NTESTS=$((2 + 6 * ${#SERIES[@]} + 2 + ${#SERIES[@]}))

if [ "$(id -u)" != 0 ] || ! command -v dkms >/dev/null 2>&1; then
	ktap_plan 1
	ktap_skip "needs root and dkms (scripts/deps)"
	ktap_finish
fi

cd "$TOP" || exit 1
VERSION=$(cat VERSION)
SRCDIR=/usr/src/shoal-$VERSION
DKMSDIR=/var/lib/dkms/shoal/$VERSION
ARCH=$(uname -m)
MOK_KEY=/var/lib/dkms/mok.key
MOK_PUB=/var/lib/dkms/mok.pub

# Two runs of this test would fight over /usr/src/shoal-VERSION.
exec 9>/run/lock/shoal-dkms-test.lock
flock -w 1800 9 || { echo "# another dkms.sh run holds the lock" >&2; exit 1; }

# dkms signs what it builds, generating a key pair on first use: one that
# was not there before the test goes with it.
mok_existed=0
[ -e "$MOK_KEY" ] || [ -e "$MOK_PUB" ] && mok_existed=1

dkms_purge() {
	if [ -d "$DKMSDIR" ] || dkms status -m shoal -v "$VERSION" 2>/dev/null | grep -q .; then
		dkms remove -m shoal -v "$VERSION" --all >/dev/null 2>&1
	fi
	rm -rf "$DKMSDIR" "$SRCDIR"
	rmdir /var/lib/dkms/shoal 2>/dev/null
	return 0
}

tmp=$(mktemp -d)
cleanup() {
	dkms_purge
	if [ "$mok_existed" = 0 ]; then
		rm -f "$MOK_KEY" "$MOK_PUB"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
dkms_purge

ktap_plan "$NTESTS"

# The module sources exactly as dkms.conf expects them under /usr/src.
src=$tmp/shoal-$VERSION
mkdir -p "$src"
cp --parents Kbuild VERSION dkms.conf kmod/*.c kmod/*.h uapi/linux/shoal.h "$src/"

conf_version() {
	local v
	v=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
	echo "dkms.conf PACKAGE_VERSION=$v, VERSION=$VERSION"
	[ "$v" = "$VERSION" ]
}
ktap_check "dkms.conf PACKAGE_VERSION matches VERSION" conf_version

ktap_check "dkms add of the module sources" dkms add "$src"

# dkms status says installed for KVER.
installed() {
	local st
	st=$(dkms status -m shoal -v "$VERSION" -k "$1" 2>&1)
	echo "$st"
	grep -q "^shoal/$VERSION, $1, $ARCH: installed" <<<"$st"
}

# The module DKMS built for KVER (perhaps compressed).
dkms_ko() {
	find "$DKMSDIR/$1/$ARCH/module" -maxdepth 1 -name 'shoal.ko*' 2>/dev/null | head -n1
}

# The copy of it dkms installed under /lib/modules/KVER, printed; kept in
# installed_ko[KVER] for the checks after dkms remove.
declare -A installed_ko
find_installed() {
	local kver=$1 ko f
	ko=$(dkms_ko "$kver")
	[ -n "$ko" ] || return 1
	while read -r f; do
		cmp -s "$f" "$ko" && { echo "$f"; return 0; }
	done < <(find "/lib/modules/$kver" -name "$(basename "$ko")" -type f 2>/dev/null)
	return 1
}
is_installed_copy() {
	local kver=$1 f=${installed_ko[$1]:-}
	if [ -z "$f" ]; then
		echo "no copy of $(dkms_ko "$kver" || true) under /lib/modules/$kver" \
			"(DKMS built: $(ls "$DKMSDIR/$kver/$ARCH/module" 2>&1 | tr '\n' ' '))"
		return 1
	fi
	echo "installed: $f"
}

# The build id of a module file, as hex.
build_id() {
	local f=$1 t
	case "$f" in
	*.xz) t=$tmp/bid.ko; xz -dc "$f" >"$t" ;;
	*.zst) t=$tmp/bid.ko; zstd -qdc "$f" >"$t" ;;
	*.gz) t=$tmp/bid.ko; gzip -dc "$f" >"$t" ;;
	*) t=$f ;;
	esac
	readelf -n "$t" 2>/dev/null | awk '/Build ID:/ { print $3; exit }'
}

# In the guest: load the given .ko (after the modules it depends on),
# check that the module the kernel has is that file (srcversion, and the
# build id when there is one: the repository's own build, which scripts/vm
# installs, has the same srcversion), make a shoal link and delete it.
# Each step that works prints a tag.
GUEST='
ko=$1 bid=$2
rmmod shoal 2>/dev/null
# insmod does not load what the module depends on: modprobe does.
for dep in $(modinfo -F depends "$ko" | tr , " "); do
	modprobe "$dep" || { echo "modprobe $dep failed"; exit 1; }
done
insmod "$ko" || { echo "insmod $ko failed"; dmesg | tail -n 20; exit 1; }
want=$(modinfo -F srcversion "$ko")
have=$(cat /sys/module/shoal/srcversion)
echo "srcversion: file $want, loaded $have"
ok=1
[ -n "$want" ] && [ "$want" = "$have" ] || ok=0
note=/sys/module/shoal/notes/.note.gnu.build-id
if [ -n "$bid" ] && [ -r "$note" ]; then
	got=$(od -An -v -tx1 "$note" | tr -d " \n" | tail -c ${#bid})
	echo "build id: file $bid, loaded $got"
	[ "$got" = "$bid" ] || ok=0
fi
[ "$ok" = 1 ] && echo TAG-DKMS-MODULE-LOADED
ip link add shoaltest type shoal || exit 1
ip -d link show shoaltest
ip -d link show shoaltest | grep -qw shoal && echo TAG-LINK-KIND-SHOAL
ip link del shoaltest && echo TAG-LINK-DELETED
rmmod shoal
exit 0
'

has_tag() {
	grep -qx "$2" "$1" || { sed 's/^/vm: /' "$1"; return 1; }
}

kvers=()
for s in "${SERIES[@]}"; do
	kver=$(scripts/kernels "$s" 2>&1) || kver="unknown-$s"
	kvers+=("$kver")

	ktap_check "$kver: dkms build" dkms build -m shoal -v "$VERSION" -k "$kver"
	ktap_check "$kver: dkms install" dkms install -m shoal -v "$VERSION" -k "$kver"
	ktap_check "$kver: dkms status says installed" installed "$kver"
	installed_ko[$kver]=$(find_installed "$kver")
	ktap_check "$kver: the DKMS-built shoal.ko is under /lib/modules/$kver" \
		is_installed_copy "$kver"

	ko=$(dkms_ko "$kver")
	if [ -z "$ko" ]; then
		echo "# no shoal.ko was built for $kver: nothing to load"
		ktap_fail "$kver: the DKMS-built shoal.ko loads in the VM"
		ktap_fail "$kver: it makes a shoal link in the VM (ip -d link: shoal)"
		continue
	fi
	log=$tmp/vm-$s.log
	scripts/vm --kernel "$s" --timeout "$VM_TIMEOUT" -- \
		sh -c "$GUEST" sh "$ko" "$(build_id "$ko")" >"$log" 2>&1
	echo "# vm exit $? ($kver)" >>"$log"
	grep -E '^(srcversion|build id):' "$log" | sed "s/^/# $kver: /"
	ktap_check "$kver: the DKMS-built shoal.ko loads in the VM" \
		has_tag "$log" TAG-DKMS-MODULE-LOADED
	link_ok() { has_tag "$1" TAG-LINK-KIND-SHOAL && has_tag "$1" TAG-LINK-DELETED; }
	ktap_check "$kver: it makes a shoal link in the VM (ip -d link: shoal)" link_ok "$log"
done

ktap_check "dkms remove --all" dkms remove -m shoal -v "$VERSION" --all

gone() {
	local kver=$1 f=${installed_ko[$1]:-}
	if [ -z "$f" ]; then
		# Never found: at least nothing of dkms' must be left.
		f=/lib/modules/$kver/updates/dkms/shoal.ko
	fi
	if compgen -G "$f*" >/dev/null; then
		ls -l "$f"*
		return 1
	fi
	echo "$f: gone"
}
for kver in "${kvers[@]}"; do
	echo "# $kver: dkms had installed ${installed_ko[$kver]:-nothing found}"
	ktap_check "$kver: shoal.ko removed from /lib/modules/$kver" gone "$kver"
done

status_empty() {
	local st
	st=$(dkms status -m shoal 2>&1)
	[ -z "$st" ] || { echo "$st"; return 1; }
}
ktap_check "dkms status knows no shoal" status_empty

ktap_finish
