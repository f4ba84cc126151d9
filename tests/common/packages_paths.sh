# SPDX-License-Identifier: GPL-2.0
# Sourced by tests/system/packages.sh on the host and by
# tests/common/packages_guest.sh in the VM: shoal_paths prints, sorted,
# the paths named after shoal wherever a package of ours or its scripts
# may write (a walk of the whole root over 9p under TCG would take
# minutes).  The host's list before any install is what the guest's after
# the purge must not exceed.
shoal_paths() {
	{
		find /etc /var /lib/systemd /usr/lib/systemd /usr/bin /usr/sbin \
			/usr/share/bash-completion /usr/lib/sysusers.d /lib/modules \
			-xdev -iname '*shoal*' -print 2>/dev/null
		find /usr/src /usr/share/doc /usr/share/man/man5 /usr/share/man/man8 \
			-maxdepth 1 -iname '*shoal*' -print 2>/dev/null
		ls -d /run/shoal /lib/modules/*/updates/dkms/shoal.ko* 2>/dev/null
	} | sort -u
}
