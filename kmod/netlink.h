/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_NETLINK_H
#define _SHOAL_NETLINK_H

#include "peer.h"

int shoal_genl_init(void);
void shoal_genl_uninit(void);

/* Events to the device's namespace; callable in atomic context.  Return
 * 0, or a negative errno if the event was dropped (rate limit, memory).
 */
int shoal_genl_event_control(struct shoal_device *sd,
			     const union shoal_endpoint *src,
			     const union shoal_local_addr *local,
			     const u8 *payload, size_t len);
void shoal_genl_event_unknown_spi(struct shoal_device *sd, u32 spi,
				  const union shoal_endpoint *src,
				  const union shoal_local_addr *local);
void shoal_genl_event_endpoint(struct shoal_peer *peer,
			       const union shoal_endpoint *ep);
void shoal_genl_event_soft_expire(struct shoal_peer *peer, u32 spi,
				  bool outbound);

#endif /* _SHOAL_NETLINK_H */
