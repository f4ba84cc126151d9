/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_FDB_H
#define _SHOAL_FDB_H

#include <linux/types.h>

struct shoal_device;
struct shoal_peer;

/* MACs learned behind bridge peers, so unicast to them finds the peer. */
#define SHOAL_FDB_MAX		4096
#define SHOAL_FDB_AGE		(300 * HZ)
#define SHOAL_FDB_GC		(30 * HZ)

void shoal_fdb_init(struct shoal_device *sd);
/*
 * Stops the ageing work for good: after the sockets are closed, when no
 * frame can be learned any more.
 */
void shoal_fdb_stop(struct shoal_device *sd);
/*
 * From receive (softirq, RCU): mac was seen coming from peer.  False if
 * no host behind a peer may use it (a group, ours, another peer's).
 */
bool shoal_fdb_learn(struct shoal_device *sd, struct shoal_peer *peer,
		     const u8 *mac);
/* RCU: the peer a learned, unexpired mac is behind, or NULL. */
struct shoal_peer *shoal_fdb_lookup(struct shoal_device *sd, const u8 *mac);
/*
 * RTNL: forgets what was learned behind peer.  With dying, nothing more
 * will be, so no entry can outlive the peer it points at.
 */
void shoal_fdb_flush_peer(struct shoal_device *sd, struct shoal_peer *peer,
			  bool dying);

#endif /* _SHOAL_FDB_H */
