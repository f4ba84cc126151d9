// SPDX-License-Identifier: GPL-2.0
/*
 * Per-peer sockets: a UDP socket shoald made, handed over by its file
 * descriptor, from which one peer's ESP leaves instead of from the
 * device's socket.  After birthday probing against a symmetric NAT, that
 * socket's mapping is the only one the other side's filter lets in.
 *
 * The socket stays userspace's: shoald keeps its fd, reads that peer's
 * control packets from it and sends them on it.  The encapsulation hook
 * takes only what is ESP (or a NAT keepalive) into the device's receive
 * path and passes everything else up to the socket.  Closing the last fd
 * puts the peer back on the device's socket (encap_destroy): the module
 * holds the sock, not the file, so a socket no process can reach any more
 * neither stays bound nor keeps its namespace alive.
 *
 * Locking: peer->peersock is written under the RTNL and read by the
 * datapath under RCU (BH).  The socket's user data and encapsulation
 * hooks change under its socket lock (or, from encap_destroy, on a socket
 * nobody else can reach).  Whichever of the peer letting go and the
 * socket's destruction comes first sets ps->closed, unhooks the socket
 * and drops the sock; readers are waited out (synchronize_net or
 * call_rcu) before the sock and ps are put.
 */

#include <linux/file.h>
#include <linux/net.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/udp_tunnel.h>

#include "compat.h"
#include "esp.h"
#include "peersock.h"
#include "socket.h"

#define PEERSOCK_CLOSED	0

static void peersock_put(struct shoal_peersock *ps)
{
	/* The last holder comes after every reader was waited out. */
	if (refcount_dec_and_test(&ps->ref))
		kfree(ps);
}

static bool mc_loop_get(struct sock *sk)
{
#ifdef SHOAL_HAVE_INET_FLAGS
	return inet_test_bit(MC_LOOP, sk);
#else
	return inet_sk(sk)->mc_loop;
#endif
}

static void mc_loop_set(struct sock *sk, bool on)
{
#ifdef SHOAL_HAVE_INET_FLAGS
	inet_assign_bit(MC_LOOP, sk, on);
#else
	inet_sk(sk)->mc_loop = on;
#endif
}

/* Undoes setup_udp_tunnel_sock(): the socket is plain UDP again. */
static void unhook(struct shoal_peersock *ps)
{
	struct sock *sk = ps->sk;

	rcu_assign_sk_user_data(sk, NULL);
	WRITE_ONCE(udp_sk(sk)->encap_rcv, NULL);
	WRITE_ONCE(udp_sk(sk)->encap_destroy, NULL);
	WRITE_ONCE(udp_sk(sk)->encap_type, 0);
	mc_loop_set(sk, ps->mc_loop);
	inet_dec_convert_csum(sk);
}

/*
 * What the device's receive path takes from the socket: ESP (a non-zero
 * SPI outside the reserved range, long enough for a header, IV and ICV)
 * and the peer's NAT keepalives.  The rest (control packets behind the
 * zero marker, whatever else shoald speaks on it) is userspace's.
 */
static bool is_datapath(const struct sk_buff *skb)
{
	unsigned int len = skb->len - sizeof(struct udphdr);
	u8 head[4];

	if (len == 1)
		return !skb_copy_bits(skb, sizeof(struct udphdr), head, 1) &&
		       head[0] == 0xff;
	return len >= SHOAL_ESP_MIN_LEN &&
	       !skb_copy_bits(skb, sizeof(struct udphdr), head, 4) &&
	       get_unaligned_be32(head) >= SHOAL_SPI_MIN;
}

/* 0: the device took skb; > 0: the UDP layer queues it to the socket. */
static int peersock_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct shoal_peersock *ps = rcu_dereference_sk_user_data(sk);

	if (!ps || test_bit(PEERSOCK_CLOSED, &ps->closed) ||
	    !is_datapath(skb))
		return 1;
	shoal_socket_receive(ps->sd, skb);
	return 0;
}

static void drop_sock_rcu(struct rcu_head *rcu)
{
	struct shoal_peersock *ps = container_of(rcu, struct shoal_peersock,
						 rcu);

	sock_put(ps->sk);
	peersock_put(ps);
}

/*
 * Userspace closed the socket's last fd.  All in one RCU section, sleeping
 * nowhere: the peer letting go at the same time waits for it to finish
 * (synchronize_net), and so does rmmod; a removed peer is freed only
 * after it (call_rcu).  Nothing else can reach a socket being destroyed,
 * so its fields change without its lock.
 */
static void peersock_encap_destroy(struct sock *sk)
{
	struct shoal_peersock *ps;

	rcu_read_lock();
	ps = rcu_dereference_sk_user_data(sk);
	if (!ps || !refcount_inc_not_zero(&ps->ref))
		goto unlock;
	if (test_and_set_bit(PEERSOCK_CLOSED, &ps->closed)) {
		peersock_put(ps);
		goto unlock;
	}
	unhook(ps);
	/* Its routes were cached for this socket's port. */
	shoal_peer_reroute(ps->peer);
	call_rcu(&ps->rcu, drop_sock_rcu);
unlock:
	rcu_read_unlock();
}

/* RTNL, ps unpublished from its peer already. */
static void peersock_let_go(struct shoal_peersock *ps)
{
	struct sock *sk = ps->sk;
	bool mine = !test_and_set_bit(PEERSOCK_CLOSED, &ps->closed);

	if (mine) {
		lock_sock(sk);
		unhook(ps);
		release_sock(sk);
	}
	/* Senders that read the peer's socket, receivers its user data. */
	synchronize_net();
	if (mine)
		sock_put(sk);
	peersock_put(ps);
}

static int check_socket(struct shoal_device *sd, struct socket *sock,
			struct netlink_ext_ack *extack)
{
	struct sock *sk = sock->sk;

	if (!sk || sk->sk_type != SOCK_DGRAM ||
	    sk->sk_protocol != IPPROTO_UDP ||
	    (sk->sk_family != AF_INET &&
	     !(IS_ENABLED(CONFIG_IPV6) && sk->sk_family == AF_INET6))) {
		NL_SET_ERR_MSG(extack, "the peer's socket must be UDP over IPv4 or IPv6");
		return -EPROTONOSUPPORT;
	}
	/* Sending from it acts where the device's own sockets are. */
	if (!net_eq(sock_net(sk), sd->creating_net)) {
		NL_SET_ERR_MSG(extack,
			       "the peer's socket must be in the namespace the device was created in");
		return -EINVAL;
	}
	if (!inet_sk(sk)->inet_sport) {
		NL_SET_ERR_MSG(extack, "the peer's socket must be bound to a port");
		return -EINVAL;
	}
	return 0;
}

/* Under the socket's lock: hooks it for the device, held by a new ps. */
static struct shoal_peersock *hook(struct shoal_peer *peer,
				   struct socket *sock,
				   struct netlink_ext_ack *extack)
{
	struct shoal_peersock *old = rtnl_dereference(peer->peersock);
	struct sock *sk = sock->sk;
	struct udp_tunnel_sock_cfg cfg = {
		.encap_type = 1,
		.encap_rcv = peersock_encap_recv,
		.encap_destroy = peersock_encap_destroy,
	};
	struct shoal_peersock *ps;

	if (old && old->sk == sk && !test_bit(PEERSOCK_CLOSED, &old->closed))
		return old;
	if (READ_ONCE(sk->sk_user_data) ||
	    READ_ONCE(udp_sk(sk)->encap_type)) {
		NL_SET_ERR_MSG(extack,
			       "the socket is in use by another peer or encapsulation");
		return ERR_PTR(-EBUSY);
	}
	ps = kzalloc(sizeof(*ps), GFP_KERNEL_ACCOUNT);
	if (!ps)
		return ERR_PTR(-ENOMEM);
	ps->sd = peer->sd;
	ps->peer = peer;
	ps->sk = sk;
	ps->port = ntohs(inet_sk(sk)->inet_sport);
	sock_hold(sk);
	refcount_set(&ps->ref, 1);
	ps->mc_loop = mc_loop_get(sk);
	cfg.sk_user_data = ps;
	setup_udp_tunnel_sock(sock_net(sk), sock, &cfg);
	return ps;
}

int shoal_peersock_set(struct shoal_peer *peer, u32 fd,
		       struct netlink_ext_ack *extack)
{
	struct shoal_peersock *old = rtnl_dereference(peer->peersock), *ps;
	struct socket *sock;
	int ret;

	ASSERT_RTNL();
	if (fd == SHOAL_PEER_SOCKET_NONE) {
		shoal_peersock_release(peer);
		return 0;
	}
	if (fd > INT_MAX) {
		NL_SET_ERR_MSG(extack, "no such file descriptor");
		return -EBADF;
	}
	sock = sockfd_lookup(fd, &ret);
	if (!sock) {
		NL_SET_ERR_MSG(extack, "the fd is not a socket of the caller's");
		return ret;
	}
	ret = check_socket(peer->sd, sock, extack);
	if (ret)
		goto put_file;
	lock_sock(sock->sk);
	ps = hook(peer, sock, extack);
	release_sock(sock->sk);
	if (IS_ERR(ps)) {
		ret = PTR_ERR(ps);
		goto put_file;
	}
	if (ps != old) {
		rcu_assign_pointer(peer->peersock, ps);
		/* Routes cached before were looked up from another port. */
		shoal_peer_reroute(peer);
		if (old)
			peersock_let_go(old);
	}
put_file:
	/* The file is userspace's: its last close ends our use. */
	sockfd_put(sock);
	return ret;
}

void shoal_peersock_release(struct shoal_peer *peer)
{
	struct shoal_peersock *ps = rtnl_dereference(peer->peersock);

	ASSERT_RTNL();
	if (!ps)
		return;
	RCU_INIT_POINTER(peer->peersock, NULL);
	shoal_peer_reroute(peer);
	peersock_let_go(ps);
}

u16 shoal_peersock_port(struct shoal_peer *peer)
{
	struct shoal_peersock *ps = rtnl_dereference(peer->peersock);

	if (!ps || test_bit(PEERSOCK_CLOSED, &ps->closed))
		return 0;
	return ps->port;
}

struct sock *shoal_peersock_sk(struct shoal_peer *peer, sa_family_t family)
{
	struct shoal_peersock *ps = rcu_dereference_bh(peer->peersock);
	struct sock *sk;

	if (!ps || test_bit(PEERSOCK_CLOSED, &ps->closed))
		return NULL;
	sk = ps->sk;
	if (sk->sk_family == AF_INET)
		return family == AF_INET ? sk : NULL;
#if IS_ENABLED(CONFIG_IPV6)
	/*
	 * An IPv6 socket bound to a v4-mapped address carries IPv4 only; a
	 * dual-stack one bound to no address carries both.
	 */
	if (ipv6_addr_v4mapped(&sk->sk_v6_rcv_saddr))
		return family == AF_INET ? sk : NULL;
	if (family == AF_INET6)
		return sk;
	if (family == AF_INET && !ipv6_only_sock(sk) &&
	    ipv6_addr_any(&sk->sk_v6_rcv_saddr))
		return sk;
#endif
	return NULL;
}
