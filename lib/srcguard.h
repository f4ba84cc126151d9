/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_SRCGUARD_H
#define SHOAL_SRCGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Whether the Ethernet frame (len bytes from its destination MAC on)
 * claims only source addresses inside the n allowed prefixes: the rules
 * of SHOAL_A_PEER_ALLOWED_IPS in uapi/linux/shoal.h, which shoal.ko
 * applies too.  The IPv4 or IPv6 source, an ARP sender and an IPv6
 * neighbour advertisement's (or DAD probe's) target must lie inside (the
 * unspecified address passes; a link-local address lies only inside a
 * prefix within fe80::/10); an ARP sender MAC and the link-layer address
 * options of neighbour and router solicitations and neighbour
 * advertisements must be the frame's source MAC; a router advertisement,
 * a redirect, neighbour discovery in fragments and a VLAN-tagged frame
 * never pass; other EtherTypes always do.  A frame too short for the
 * header it names does not pass.
 */
bool shoal_frame_sources_allowed(const uint8_t *frame, size_t len,
				 const struct shoal_prefix *allowed, size_t n);

#endif
