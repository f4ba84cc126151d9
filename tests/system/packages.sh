#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The Debian packages, built, installed, used, upgraded and purged on a
# root that has never seen shoal:
#
#   make deb ──> build/deb/{shoal,shoal-dkms,shoal-mediator}_*.deb, lintian
#   host root ──overlay (upper on /dev/shm)──> chroot: the headers of the
#     older series purged, apt-get install ./*.deb (DKMS builds shoal.ko
#     for the newer series), then apt-get install of the older series'
#     headers (DKMS's kernel hook builds it for that one too)
#   that overlay's upper layer ──scripts/vm --systemd --layer──> a guest
#     with systemd as PID 1 (tests/common/packages_guest.sh): the units
#     with their hardening, the static two-host example, shoal login,
#     stop and start, an upgrade under traffic, apt-get purge
#
# DKMS compiles on the host, natively: under TCG one build of shoal.ko
# takes about three minutes.  Nothing is installed on the host itself:
# every change lands in the overlay's upper directory, removed at the end.
# Needs root, dpkg-buildpackage, lintian, dkms and unshare (scripts/deps).
set -u
. "$(dirname "$0")/../common/lib.sh"

cd "$TOP" || exit 1
VERSION=$(cat VERSION)
NEW=$(scripts/kernels | sort -V | tail -n 1)
OLD=$(scripts/kernels | sort -V | head -n 1)
KNEW=$(scripts/kernels "$NEW")
KOLD=$(scripts/kernels "$OLD")
ARCH=$(dpkg --print-architecture)
# The guest's checks (tests/common/packages_guest.sh prints one
# "check: ok|FAIL: ..." line each).
GUEST_CHECKS=16
NTESTS=$((2 + 7 + GUEST_CHECKS))
VM_TIMEOUT=${SHOAL_PACKAGES_VM_TIMEOUT:-900}

if [ "$(id -u)" != 0 ] || ! command -v dpkg-buildpackage >/dev/null ||
   ! command -v lintian >/dev/null || ! command -v dkms >/dev/null; then
	ktap_plan 1
	ktap_skip "needs root, dpkg-buildpackage, lintian and dkms (scripts/deps)"
	ktap_finish
fi

ktap_plan "$NTESTS"

work=$(mktemp -d /dev/shm/shoal-packages.XXXXXX) || exit 1
cleanup() {
	# The overlay was mounted in a namespace of its own, gone by now.
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

DEBDIR=$TOP/build/deb
debs() {
	local p
	for p in shoal shoal-dkms shoal-mediator; do
		ls "$DEBDIR"/${p}_"$VERSION"-*_*.deb 2>/dev/null | tail -n 1
	done
}
built() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP" --no-print-directory \
		deb >"$work/make-deb.log" 2>&1 || { tail -n 40 "$work/make-deb.log"; return 1; }
	local n
	n=$(debs | grep -c .)
	debs | sed 's|^|# |'
	[ "$n" = 3 ]
}
ktap_check "make deb builds shoal, shoal-dkms and shoal-mediator" built

lint() {
	local out
	out=$(lintian --fail-on error,warning "$DEBDIR"/shoal_"$VERSION"-*_"$ARCH".changes 2>&1)
	local rc=$?
	echo "lintian: ${out:-no tags}" | sed 's/^/# /'
	[ "$rc" = 0 ] && ! grep -qE '^[EW]: ' <<<"$out"
}
ktap_check "lintian: no errors and no warnings" lint

# The older series' headers, as a package, for DKMS's kernel hook.
cache=${SHOAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shoal}/debs
mkdir -p "$cache"
hdeb=$(ls "$cache"/linux-headers-"$KOLD"_*.deb 2>/dev/null | tail -n 1)
if [ -z "$hdeb" ]; then
	(cd "$cache" && apt-get download -q "linux-headers-$KOLD" >/dev/null 2>&1)
	hdeb=$(ls "$cache"/linux-headers-"$KOLD"_*.deb 2>/dev/null | tail -n 1)
fi

# Everything inside the chroot, in a mount namespace of its own; each
# step that works prints a tag.
mkdir -p "$work"/{upper,work,root,in}
cp $(debs) "$work/in/"
[ -n "$hdeb" ] && cp "$hdeb" "$work/in/"
cat >"$work/in/chroot.sh" <<'EOF'
set -u
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
kold=$1 knew=$2 version=$3
cd /var/cache/shoal-test || exit 1
# The older series' headers go, so that they arrive later as a new kernel's.
dpkg --purge --force-depends "linux-headers-$kold" >/dev/null 2>&1
[ -e "/usr/src/linux-headers-$kold" ] || echo TAG-OLD-HEADERS-GONE
if apt-get install -y --no-install-recommends ./shoal_*.deb ./shoal-dkms_*.deb \
	./shoal-mediator_*.deb >install.log 2>&1; then
	echo TAG-INSTALLED
else
	tail -n 40 install.log
fi
# built KVER WHICH: DKMS says shoal is installed for KVER, and the module
# it put under /lib/modules/KVER is that kernel's.
built() {
	local st ko
	st=$(dkms status shoal 2>/dev/null)
	echo "dkms status ($2): $st"
	grep -q "^shoal/$version, $1, .*: installed" <<<"$st" && echo "TAG-DKMS-$2"
	ko=$(find "/lib/modules/$1/updates/dkms" -name 'shoal.ko*' 2>/dev/null | head -n 1)
	[ -n "$ko" ] && [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$1" ] &&
		echo "TAG-VERMAGIC-$2"
}
built "$knew" NEW
getent passwd shoal >/dev/null && getent group shoal >/dev/null && echo TAG-USER
if apt-get install -y --no-install-recommends ./linux-headers-"$kold"_*.deb \
	>headers.log 2>&1; then
	built "$kold" OLD
else
	tail -n 40 headers.log
fi
EOF

chroot_run() {
	# policy-rc.d: nothing a package ships may start in the chroot.
	unshare -m --propagation private bash -c '
		set -e
		w=$1
		mount -t overlay overlay -o lowerdir=/,upperdir=$w/upper,workdir=$w/work $w/root
		for d in proc sys dev; do mount --rbind /$d $w/root/$d; done
		mount -t tmpfs tmpfs $w/root/tmp
		mount -t tmpfs tmpfs $w/root/run
		mkdir -p $w/root/var/cache/shoal-test
		mount --bind $w/in $w/root/var/cache/shoal-test
		printf "#!/bin/sh\nexit 101\n" >$w/root/usr/sbin/policy-rc.d
		chmod 755 $w/root/usr/sbin/policy-rc.d
		chroot $w/root bash /var/cache/shoal-test/chroot.sh "$2" "$3" "$4" || true
		rm -f $w/root/usr/sbin/policy-rc.d
		umount $w/root/var/cache/shoal-test
		rmdir $w/root/var/cache/shoal-test
	' sh "$work" "$KOLD" "$KNEW" "$VERSION"
}
log=$work/chroot.log
chroot_run >"$log" 2>&1
grep -E '^(dkms status|shoal/)' "$log" | sed 's/^/# /'
tagged() {
	grep -qx "$1" "$log" || { sed 's/^/chroot: /' "$log" | tail -n 40; return 1; }
}
ktap_check "chroot: the older series' headers purged ($KOLD)" tagged TAG-OLD-HEADERS-GONE
ktap_check "chroot: apt-get install ./shoal*.deb on a clean root" tagged TAG-INSTALLED
ktap_check "chroot: DKMS built and installed shoal.ko for $KNEW at install" tagged TAG-DKMS-NEW
ktap_check "chroot: that shoal.ko is $KNEW's (vermagic)" tagged TAG-VERMAGIC-NEW
ktap_check "chroot: the user and group shoal exist (sysusers)" tagged TAG-USER
ktap_check "chroot: installing $KOLD's headers has DKMS build shoal.ko for it" tagged TAG-DKMS-OLD
ktap_check "chroot: that shoal.ko is $KOLD's (vermagic)" tagged TAG-VERMAGIC-OLD

# The upgrade: the same shoal as a newer version, repacked.
up=$DEBDIR/upgrade
rm -rf "$up"
mkdir -p "$up"
newer() {
	local src=$1 d=$work/repack
	rm -rf "$d"
	dpkg-deb -R "$src" "$d" &&
		sed -i "s/^Version: .*/&+upgrade1/" "$d/DEBIAN/control" &&
		dpkg-deb -b -Zxz "$d" "$up/" >/dev/null
}
newer "$(debs | head -n 1)" || echo "# repacking the newer shoal failed"

# Paths named after shoal on the host's root before any install: the
# guest reports only what is left beyond them after the purge.
. "$TOP/tests/common/packages_paths.sh"
shoal_paths >"$DEBDIR/host-shoal-paths"

out=$work/guest.log
if grep -qx TAG-INSTALLED "$log"; then
	scripts/vm --kernel "$NEW" --systemd --layer "$work/upper" --timeout "$VM_TIMEOUT" -q -- \
		bash tests/common/packages_guest.sh "$DEBDIR" >"$out" 2>&1
	echo "# vm exit $?" >>"$out"
else
	echo "check: FAIL: the packages did not install: nothing to boot" >"$out"
fi
grep -vE '^check: ' "$out" | sed 's/^/# /' | tail -n 150
n=0
while IFS= read -r line; do
	n=$((n + 1))
	case "$line" in
	"check: ok: "*) ktap_ok "guest: ${line#check: ok: }" ;;
	*) ktap_fail "guest: ${line#check: FAIL: }" ;;
	esac
done < <(grep -E '^check: (ok|FAIL): ' "$out" | head -n "$GUEST_CHECKS")
while [ "$n" -lt "$GUEST_CHECKS" ]; do
	n=$((n + 1))
	ktap_fail "guest: check $n never ran"
done
ktap_finish
