/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_LANBCAST_H
#define SHOALD_LANBCAST_H

/*
 * LAN broadcasts from any interface (docs/architecture.md, "LAN
 * broadcasts"): limited broadcasts (255.255.255.255) that local programs
 * send out of another interface are copied onto the shoal device by an
 * nftables table of shoald's own, "ip shoal_lanbcast_DEV", with their
 * source rewritten to the device's IPv4 address.  The setting comes from
 * [Interface] LanBroadcast and LanBroadcastPorts, or from `shoal
 * lan-broadcast`, which keeps it in STATE/DEV.lanbcast: whichever of that
 * file and the configuration was written last wins.
 */

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

struct shoald;

/*
 * Reads the setting (c, the file at config_path if any, the saved one at
 * state_path) and installs the table if it is on, or removes one a
 * crashed shoald left behind.  The device must exist.  Failing to install
 * is no error of shoald's: status says why.  0, or -ENOMEM.
 */
int shoald_lanbcast_open(struct shoald *d, const struct shoal_config *c,
			 const char *config_path, const char *state_path);

/* Follows the device's address and puts back a table someone removed. */
void shoald_lanbcast_tick(struct shoald *d, double now);

/* Status's "lan_broadcast" object ("null" before open). */
void shoald_lanbcast_json(struct shoald *d, FILE *f);

/*
 * A control request "lan-broadcast [on [PORTS]|off]": true if req is one,
 * with the answer written to f.  Changes need root (the peer's uid 0).
 */
bool shoald_lanbcast_request(struct shoald *d, FILE *f, const char *req,
			     bool root);

/* Removes the table, and forgets everything. */
void shoald_lanbcast_close(struct shoald *d);

#endif
