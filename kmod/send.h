/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_SEND_H
#define _SHOAL_SEND_H

#include <linux/netdevice.h>

#include "peer.h"

netdev_tx_t shoal_xmit(struct sk_buff *skb, struct net_device *dev);
/* ndo_init and ndo_uninit: the crypto workqueue and the seal ring. */
int shoal_send_init(struct shoal_device *sd);
void shoal_send_uninit(struct shoal_device *sd);
/* peer->tx_work: sends the peer's sealed frames in order. */
void shoal_tx_work(struct work_struct *work);
/* sd->bcast_work: fans the queued broadcast frames out to the peers. */
void shoal_bcast_work(struct work_struct *work);
/* Process context: ends the fan-out and drops what is queued; until
 * the device opens again (sd->bcast_stopping).
 */
void shoal_bcast_stop(struct shoal_device *sd);

/*
 * A control payload behind the non-ESP marker, from local (if not NULL
 * and still the host's: otherwise the route picks).
 */
int shoal_send_control(struct shoal_device *sd,
		       const union shoal_endpoint *ep,
		       const union shoal_local_addr *local, const u8 *payload,
		       size_t len, gfp_t gfp);

#endif /* _SHOAL_SEND_H */
