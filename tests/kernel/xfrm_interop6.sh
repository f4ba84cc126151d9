#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: vm
#
# xfrm_interop.sh over an IPv6 underlay: shoal and Linux's own IPsec
# stack exchange ESP-in-UDP over IPv6 (veth fd93::1 and fd93::2).
XI_FAMILY=6 exec "$(dirname "$0")/xfrm_interop.sh" "$@"
