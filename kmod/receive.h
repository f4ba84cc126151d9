/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_RECEIVE_H
#define _SHOAL_RECEIVE_H

#include <linux/skbuff.h>
#include <linux/workqueue.h>

#include "device.h"

/* A datagram from the device's socket, skb->data at its UDP header; in
 * softirq, under RCU.  Consumes skb.
 */
void shoal_receive(struct shoal_device *sd, struct sk_buff *skb);
/* ndo_init, and ndo_uninit after shoal_send_uninit: the open ring. */
int shoal_receive_init(struct shoal_device *sd);
void shoal_receive_uninit(struct shoal_device *sd);
/* peer->rx_work: delivers the peer's opened packets in order. */
void shoal_rx_work(struct work_struct *work);

#endif /* _SHOAL_RECEIVE_H */
