#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# kmod/netlink-gen.[ch] are what the kernel's ynl-gen-c.py makes of the
# family's spec today (scripts/ynl-gen --check): the policies and op table
# the module builds with never drift from docs/netlink/specs/shoal.yaml,
# and the spec passes the kernel's schema.
set -u
. "$(dirname "$0")/../common/lib.sh"
ktap_plan 1
ktap_check "kmod/netlink-gen.[ch] match docs/netlink/specs/shoal.yaml" \
	"$TOP/scripts/ynl-gen" --check
ktap_finish
