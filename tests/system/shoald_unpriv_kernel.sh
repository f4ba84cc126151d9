#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# shoald_unpriv.sh on the kernel datapath: two shoalds as an unprivileged
# user with CAP_NET_ADMIN alone drive shoal.ko (generic netlink, its
# events group, rtnetlink) and bring a tunnel up; the control socket's
# login and logout are root's.
SHOALD_UNPRIV_DP=kernel exec "$(dirname "$0")/shoald_unpriv.sh"
