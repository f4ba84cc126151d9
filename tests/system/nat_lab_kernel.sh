#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# nat_lab.sh again, with shoal.ko for every client's datapath: the NAT
# lab's one pass in the VM.  It runs on the newest kernel series only
# (under TCG the five daemons and their NATs take a while; the other
# series runs every kernel datapath test already).
case $(uname -r) in
6.12*) ;;
*)
	echo "TAP version 13"
	echo "1..1"
	echo "ok 1 nat_lab_kernel # SKIP runs on the 6.12 series only"
	exit 0
	;;
esac
NAT_LAB_DATAPATH=kernel exec "$(dirname "$0")/nat_lab.sh"
