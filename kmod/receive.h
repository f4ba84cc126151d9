/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_RECEIVE_H
#define _SHOAL_RECEIVE_H

#include <linux/skbuff.h>

#include "device.h"

/* A datagram from the device's socket, skb->data at its UDP header; in
 * softirq, under RCU.  Consumes skb.
 */
void shoal_receive(struct shoal_device *sd, struct sk_buff *skb);

#endif /* _SHOAL_RECEIVE_H */
