/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_SOCKET_H
#define _SHOAL_SOCKET_H

#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/udp.h>

#include "peer.h"

/* Binds the device's UDP sockets (IPv4 and, where available, IPv6) to
 * port, 0 for a random one; on success sd->listen_port is the bound port.
 */
int shoal_socket_open(struct shoal_device *sd, u16 port);
void shoal_socket_close(struct shoal_device *sd);

/* What arrived on one of the device's sockets, or ESP on a peer's:
 * consumes skb, its data at the UDP header.  Under RCU (BH).
 */
void shoal_socket_receive(struct shoal_device *sd, struct sk_buff *skb);

/* Sends a finished UDP payload (or a UDP GSO train of them) to ep, from
 * via (a peer's socket that can carry ep's family) or else the device's
 * socket, from the local address if one is given and still this host's (else it is
 * zeroed, and the route picks), with tos as the outer IPv4 TOS or IPv6
 * traffic class; consumes skb.
 * With a cache (a peer's), the route is taken from it if cached_ok (it
 * holds one for this ep and local), else looked up and put there.
 * Caller holds rcu_read_lock_bh().  Returns 0 if sent,
 * SHOAL_SEND_ROUTE_CACHED if sent by a route it put in the cache, or
 * -errno if dropped.
 */
int shoal_socket_send(struct shoal_device *sd, struct sk_buff *skb,
		      const union shoal_endpoint *ep,
		      union shoal_local_addr *local, u8 tos,
		      struct dst_cache *cache, bool cached_ok, struct sock *via);
#define SHOAL_SEND_ROUTE_CACHED	1

/* Headroom a payload needs for what shoal_socket_send() puts in front. */
#define SHOAL_SEND_HEADROOM (LL_MAX_HEADER + sizeof(struct ipv6hdr) + \
			     sizeof(struct udphdr))

#endif /* _SHOAL_SOCKET_H */
