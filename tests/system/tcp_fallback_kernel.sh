#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# tcp_fallback.sh again, with shoal.ko for every client's datapath: its
# socket, bound to the tunnel port on every address, sends the relayed
# peer's packets to shoald's loopback socket and takes them back from
# there, as the TAP datapath's does.  The newest kernel series only, as
# nat_lab_kernel.sh.
case $(uname -r) in
6.12*) ;;
*)
	echo "TAP version 13"
	echo "1..1"
	echo "ok 1 tcp_fallback_kernel # SKIP runs on the 6.12 series only"
	exit 0
	;;
esac
TCP_FALLBACK_DATAPATH=kernel exec "$(dirname "$0")/tcp_fallback.sh"
