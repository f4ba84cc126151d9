#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# bridge.sh over an IPv6 underlay: the bridging peer's frames and the
# learning they drive, with the devices' sockets talking over [::1].
BR_FAMILY=6 exec "$(dirname "$0")/bridge.sh" "$@"
