#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# datapath.sh over an IPv6 underlay: every test of the ESP-in-UDP
# datapath that runs over IPv4 runs again with [::1] as the devices'
# endpoints and fd7f:0:0:N::1 as the other sources.
DP_FAMILY=6 exec "$(dirname "$0")/datapath.sh" "$@"
