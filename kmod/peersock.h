/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_PEERSOCK_H
#define _SHOAL_PEERSOCK_H

#include <linux/netlink.h>
#include <net/sock.h>

#include "peer.h"

/*
 * A UDP socket of shoald's that carries one peer's ESP: after birthday
 * probing, its NAT mapping is the one the other side lets through.
 * Userspace owns it (it keeps its fd, and reads and sends that peer's
 * control packets on it); the module holds a reference to the sock while
 * the peer uses it.
 */
struct shoal_peersock {
	struct sock *sk;		/* held (sock_hold) until released */
	struct shoal_device *sd;
	struct shoal_peer *peer;	/* whose it is; outlives it (RCU) */
	/* The peer's (dropped when it lets go), and one for the RCU
	 * callback that drops the sock after userspace closed it.
	 */
	refcount_t ref;
	/*
	 * Set once, by the first of: the peer letting go (RTNL) and the
	 * socket's destruction (encap_destroy, on userspace's last close).
	 * Whoever sets it restores the socket's state and drops the sock.
	 */
	unsigned long closed;
	bool mc_loop;			/* as userspace had it */
	/*
	 * The bound port, read at hook time: a dump holds RTNL only, and
	 * the sock may go after an RCU grace period once userspace closed
	 * it.
	 */
	u16 port;
	struct rcu_head rcu;
};

/*
 * RTNL: the peer sends from the UDP socket behind fd (of the caller) from
 * now on, or, with fd SHOAL_PEER_SOCKET_NONE, from the device's again.
 * Refuses -EBADF (no such fd), -ENOTSOCK, -EPROTONOSUPPORT (not UDP over
 * IPv4 or IPv6), -EINVAL (not bound to a port, or of another namespace
 * than the device's sockets), -EBUSY (in use by another peer or another
 * encapsulation).  The same socket again changes nothing.
 */
int shoal_peersock_set(struct shoal_peer *peer, u32 fd,
		       struct netlink_ext_ack *extack);
/* RTNL: the peer lets go of its socket, if it has one; may sleep. */
void shoal_peersock_release(struct shoal_peer *peer);
/* RTNL: the local port of the peer's socket, 0 when it has none. */
u16 shoal_peersock_port(struct shoal_peer *peer);
/*
 * Under rcu_read_lock_bh(): the peer's socket if it can carry a packet to
 * an endpoint of family, else NULL (then the device's socket sends).
 */
struct sock *shoal_peersock_sk(struct shoal_peer *peer, sa_family_t family);

#endif /* _SHOAL_PEERSOCK_H */
