// SPDX-License-Identifier: GPL-2.0
/*
 * The device's UDP sockets, created in the namespace the device was
 * created in: everything shoal sends leaves from them, and everything they
 * receive goes to shoal_receive() through the encapsulation hook.
 */

#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ipv6_stubs.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "receive.h"
#include "socket.h"

void shoal_socket_receive(struct shoal_device *sd, struct sk_buff *skb)
{
	/*
	 * The UDP layer hands over one datagram at a time (see take_gro());
	 * a run of them taken as one ESP packet would fail, or, authentic,
	 * be delivered as one frame with the run's GSO type.
	 */
	if (unlikely(skb_is_gso(skb))) {
		shoal_dstat_inc(sd, SHOAL_DSTAT_MALFORMED);
		kfree_skb(skb);
		return;
	}
	shoal_receive(sd, skb);
}

static int shoal_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct shoal_device *sd = rcu_dereference_sk_user_data(sk);

	if (unlikely(!sd)) {
		kfree_skb(skb);
		return 0;
	}
	shoal_socket_receive(sd, skb);
	return 0;
}

/*
 * A run of equal-size ESP datagrams of one flow that the underlay's
 * device receives is merged by UDP GRO and crosses IP, netfilter and the
 * socket lookup once; the UDP layer cuts it up again before the
 * encapsulation hook, which keeps seeing one datagram at a time.  Older
 * kernels hand a socket that asked for GRO the run whole, so there it is
 * not asked for (Kbuild).  Not having it costs only that, so a refusal
 * is not an error either.  The encapsulation type is not xfrm's
 * (UDP_ENCAP_ESPINUDP), whose GRO hook the option would install.
 */
static void take_gro(struct socket *sock)
{
#ifdef SHOAL_UDP_CUTS_ENCAP_GSO
	int on = 1;

	sock->ops->setsockopt(sock, SOL_UDP, UDP_GRO, KERNEL_SOCKPTR(&on),
			      sizeof(on));
#endif
}

static int create_socket(struct shoal_device *sd, int family, u16 port,
			 struct socket **out)
{
	struct udp_port_cfg cfg = {
		.family = family,
		.local_udp_port = htons(port),
	};
	struct udp_tunnel_sock_cfg tcfg = {
		.sk_user_data = sd,
		.encap_type = 1,
		.encap_rcv = shoal_encap_recv,
	};
	int ret;

	if (family == AF_INET6) {
		cfg.ipv6_v6only = true;
		cfg.local_ip6 = in6addr_any;
		/* IPv6 has no header checksum: a zero UDP checksum (RFC 6935)
		 * would leave control packets and their source unprotected.
		 */
		cfg.use_udp6_rx_checksums = true;
		cfg.use_udp6_tx_checksums = true;
	} else {
		cfg.local_ip.s_addr = htonl(INADDR_ANY);
	}
	ret = udp_sock_create(sd->creating_net, &cfg, out);
	if (ret < 0)
		return ret;
	setup_udp_tunnel_sock(sd->creating_net, *out, &tcfg);
	take_gro(*out);
	return 0;
}

int shoal_socket_open(struct shoal_device *sd, u16 port)
{
	struct socket *sock4 = NULL, *sock6 = NULL;
	int ret, tries = port ? 1 : 16;
	struct shoal_peer *peer;

	ASSERT_RTNL();
retry:
	ret = create_socket(sd, AF_INET, port, &sock4);
	if (ret < 0)
		return ret;
	if (!port)
		port = ntohs(inet_sk(sock4->sk)->inet_sport);
#if IS_ENABLED(CONFIG_IPV6)
	ret = create_socket(sd, AF_INET6, port, &sock6);
	if (ret == -EADDRINUSE && --tries > 0) {
		/* The random IPv4 port is taken for IPv6: try another. */
		udp_tunnel_sock_release(sock4);
		sock4 = NULL;
		port = 0;
		goto retry;
	}
	/* A namespace without IPv6 still gets an IPv4 socket. */
	if (ret < 0 && ret != -EAFNOSUPPORT)
		goto release_sock4;
	if (ret < 0)
		sock6 = NULL;
#endif

	shoal_socket_close(sd);
	rcu_assign_pointer(sd->sock4, sock4);
	rcu_assign_pointer(sd->sock6, sock6);
	sd->listen_port = port;
	/* Routes cached before were looked up from the old sockets' port. */
	list_for_each_entry(peer, &sd->peer_list, list)
		shoal_peer_reroute(peer);
	return 0;

#if IS_ENABLED(CONFIG_IPV6)
release_sock4:
	udp_tunnel_sock_release(sock4);
	return ret;
#endif
}

void shoal_socket_close(struct shoal_device *sd)
{
	struct socket *sock4 = rtnl_dereference(sd->sock4);
	struct socket *sock6 = rtnl_dereference(sd->sock6);

	RCU_INIT_POINTER(sd->sock4, NULL);
	RCU_INIT_POINTER(sd->sock6, NULL);
	if (!sock4 && !sock6)
		return;
	/*
	 * Receivers that start after this see no device, so once the grace
	 * period ends nothing reaches sd through these sockets, whether or
	 * not udp_tunnel_sock_release() waits for one itself.
	 */
	if (sock4)
		rcu_assign_sk_user_data(sock4->sk, NULL);
	if (sock6)
		rcu_assign_sk_user_data(sock6->sk, NULL);
	synchronize_net();
	if (sock4)
		udp_tunnel_sock_release(sock4);
	if (sock6)
		udp_tunnel_sock_release(sock6);
}

/* Whether the packet crosses from the device's namespace to the sockets'. */
static bool shoal_socket_xnet(struct shoal_device *sd)
{
	return !net_eq(sd->creating_net, dev_net(sd->dev));
}

static struct rtable *route4(struct sock *sk, const struct sockaddr_in *dst,
			     __be32 saddr, struct flowi4 *fl4)
{
	*fl4 = (struct flowi4) {
		.daddr = dst->sin_addr.s_addr,
		.saddr = saddr,
		.fl4_dport = dst->sin_port,
		.fl4_sport = inet_sk(sk)->inet_sport,
		.flowi4_proto = IPPROTO_UDP,
	};
	return ip_route_output_flow(sock_net(sk), fl4, sk);
}

/* The device's socket of the family, or none (down): under RCU (BH). */
static struct sock *device_sk(struct socket __rcu *const *sockp)
{
	struct socket *sock = rcu_dereference_bh(*sockp);

	return sock ? sock->sk : NULL;
}

static int send4(struct shoal_device *sd, struct sk_buff *skb,
		 const struct sockaddr_in *dst, union shoal_local_addr *local,
		 u8 tos, struct dst_cache *cache, bool cached_ok,
		 struct sock *via)
{
	struct sock *sk = via ?: device_sk(&sd->sock4);
	/* A peer's socket bound to an address sends from that one only. */
	__be32 bound = via ? inet_sk(via)->inet_rcv_saddr : 0;
	__be32 saddr = bound ?: local ? local->ip4 : 0;
	struct flowi4 fl4;
	struct rtable *rt;
	int ret = 0;

	if (unlikely(!sk))
		goto drop;
	rt = cache && cached_ok ? dst_cache_get_ip4(cache, &saddr) : NULL;
	if (rt)
		goto xmit;
	rt = route4(sk, dst, saddr, &fl4);
	if (IS_ERR(rt) && saddr && !bound) {
		/*
		 * The address is no longer this host's: let the route pick,
		 * and forget it.  With no route at all the address stays,
		 * for when the route comes back.
		 */
		rt = route4(sk, dst, 0, &fl4);
		if (!IS_ERR(rt))
			local->ip4 = 0;
	}
	if (IS_ERR(rt))
		goto drop;
	/*
	 * An endpoint reached through a shoal device would loop (through
	 * this one at once, through another via its broadcast worker, where
	 * the transmit recursion limit does not see it), and one that is a
	 * broadcast route would fan out.
	 */
	if (shoal_is_device(rt->dst.dev) ||
	    (rt->rt_type != RTN_UNICAST && rt->rt_type != RTN_LOCAL)) {
		ip_rt_put(rt);
		goto drop;
	}
	saddr = fl4.saddr;
	if (cache) {
		dst_cache_set_ip4(cache, &rt->dst, saddr);
		ret = SHOAL_SEND_ROUTE_CACHED;
	}
xmit:
	udp_tunnel_xmit_skb(rt, sk, skb, saddr, dst->sin_addr.s_addr,
			    tos, ip4_dst_hoplimit(&rt->dst), 0,
			    inet_sk(sk)->inet_sport, dst->sin_port,
			    shoal_socket_xnet(sd), false);
	return ret;
drop:
	kfree_skb(skb);
	return -ENETUNREACH;
}

#if IS_ENABLED(CONFIG_IPV6)
static int send6(struct shoal_device *sd, struct sk_buff *skb,
		 const struct sockaddr_in6 *dst, union shoal_local_addr *local,
		 u8 tos, struct dst_cache *cache, bool cached_ok,
		 struct sock *via)
{
	struct sock *sk = via ?: device_sk(&sd->sock6);
	struct flowi6 fl6 = {
		.daddr = dst->sin6_addr,
		.fl6_dport = dst->sin6_port,
		.flowi6_oif = dst->sin6_scope_id,
		.flowi6_proto = IPPROTO_UDP,
	};
	struct dst_entry *dst_e;
	int ret = 0;

	if (unlikely(!sk))
		goto drop;
	fl6.fl6_sport = inet_sk(sk)->inet_sport;
	dst_e = cache && cached_ok ? dst_cache_get_ip6(cache, &fl6.saddr) : NULL;
	if (dst_e)
		goto xmit;
	if (via && !ipv6_addr_any(&via->sk_v6_rcv_saddr)) {
		/* A peer's socket bound to an address sends from that one. */
		fl6.saddr = via->sk_v6_rcv_saddr;
	} else if (local && !ipv6_addr_any(&local->ip6)) {
		/* Unlike IPv4's, the lookup does not refuse a stale source. */
		if (ipv6_chk_addr(sock_net(sk), &local->ip6, NULL, 0))
			fl6.saddr = local->ip6;
		else
			local->ip6 = in6addr_any;
	}
	dst_e = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sk), sk, &fl6, NULL);
	if (IS_ERR(dst_e))
		goto drop;
	if (shoal_is_device(dst_e->dev)) {
		dst_release(dst_e);
		goto drop;
	}
	if (cache) {
		dst_cache_set_ip6(cache, dst_e, &fl6.saddr);
		ret = SHOAL_SEND_ROUTE_CACHED;
	}
xmit:
	/*
	 * An outer packet longer than the path's MTU is fragmented here, as
	 * IPv4's is (df 0 above): IPv6 refuses that unless told, and a
	 * 1,280-byte underlay could then carry no full-size inner packet.
	 */
	skb->ignore_df = 1;
	udp_tunnel6_xmit_skb(dst_e, sk, skb, sd->dev, &fl6.saddr,
			     &fl6.daddr, tos, ip6_dst_hoplimit(dst_e), 0,
			     fl6.fl6_sport, fl6.fl6_dport, false);
	return ret;
drop:
	kfree_skb(skb);
	return -ENETUNREACH;
}
#endif

int shoal_socket_send(struct shoal_device *sd, struct sk_buff *skb,
		      const union shoal_endpoint *ep,
		      union shoal_local_addr *local, u8 tos,
		      struct dst_cache *cache, bool cached_ok, struct sock *via)
{
	/*
	 * What the inner frame carried means nothing outside the tunnel: its
	 * conntrack entry, secpath and other extensions, dst and, leaving the
	 * device's namespace, its timestamp.  udp_tunnel_xmit_skb() scrubs
	 * too, udp_tunnel6_xmit_skb() does not, so both families are reset
	 * here, before the outer packet meets the sockets' netfilter.
	 */
	skb_scrub_packet(skb, shoal_socket_xnet(sd));
	if (skb_is_gso(skb)) {
		/*
		 * A train: UDP's segmentation finishes each packet's
		 * checksum from the one the tunnel code seeds in the UDP
		 * header it puts in front of the data.
		 */
		skb->ip_summed = CHECKSUM_PARTIAL;
		skb->csum_start = skb_headroom(skb) - sizeof(struct udphdr);
		skb->csum_offset = offsetof(struct udphdr, check);
	} else {
		skb->ip_summed = CHECKSUM_NONE;
	}
	skb->encapsulation = 0;
	skb_reset_inner_headers(skb);
	skb->mark = 0;
	/* The tunnel code counts what it sends against skb->dev. */
	skb->dev = sd->dev;

	if (ep->addr.sa_family == AF_INET)
		return send4(sd, skb, &ep->addr4, local, tos, cache, cached_ok,
			     via);
#if IS_ENABLED(CONFIG_IPV6)
	if (ep->addr.sa_family == AF_INET6)
		return send6(sd, skb, &ep->addr6, local, tos, cache,
			     cached_ok, via);
#endif
	kfree_skb(skb);
	return -EAFNOSUPPORT;
}
