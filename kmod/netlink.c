// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "shoal": how userspace reads and configures
 * shoal devices, and how the datapath tells it what happened.  Every
 * command runs under the RTNL, which is what serialises configuration
 * against itself and against the device going up, down or away.
 *
 * The policies and the op table are generated from the family's spec,
 * docs/netlink/specs/shoal.yaml, into netlink-gen.c (scripts/ynl-gen).
 */

#include <crypto/algapi.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <uapi/linux/shoal.h>

#include "compat.h"
#include "device.h"
#include "fdb.h"
#include "netlink.h"
#include "netlink-gen.h"
#include "peer.h"
#include "peersock.h"
#include "send.h"
#include "socket.h"

static struct genl_family shoal_genl_family;

/* The parsers below size their tables by the uapi's maxima. */
static_assert(ARRAY_SIZE(shoal_sa_nl_policy) == SHOAL_A_SA_MAX + 1);
static_assert(ARRAY_SIZE(shoal_peer_nl_policy) == SHOAL_A_PEER_MAX + 1);
static_assert(ARRAY_SIZE(shoal_get_device_nl_policy) ==
	      SHOAL_A_DEVICE_IFNAME + 1);

/* Takes a reference on the device it returns.  RTNL held. */
static struct net_device *lookup_device(struct net *net, struct nlattr **attrs,
					struct netlink_ext_ack *extack)
{
	struct nlattr *ifindex = attrs[SHOAL_A_DEVICE_IFINDEX];
	struct nlattr *ifname = attrs[SHOAL_A_DEVICE_IFNAME];
	struct net_device *dev;

	if (!ifindex == !ifname) {
		NL_SET_ERR_MSG(extack,
			       "give exactly one of device ifindex and ifname");
		return ERR_PTR(-EINVAL);
	}

	if (ifindex)
		dev = dev_get_by_index(net, nla_get_u32(ifindex));
	else
		dev = dev_get_by_name(net, nla_data(ifname));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname, "no such device");
		return ERR_PTR(-ENODEV);
	}
	if (!shoal_is_device(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname,
				    "device is not a shoal device");
		dev_put(dev);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return dev;
}

static int parse_endpoint(const struct nlattr *attr, union shoal_endpoint *ep,
			  struct netlink_ext_ack *extack)
{
	const struct sockaddr *sa = nla_data(attr);
	int len = nla_len(attr);

	memset(ep, 0, sizeof(*ep));
	if (len == sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		memcpy(&ep->addr4, sa, sizeof(ep->addr4));
		/* A peer is one host: a group address would fan out. */
		if (ep->addr4.sin_port && ep->addr4.sin_addr.s_addr &&
		    !ipv4_is_multicast(ep->addr4.sin_addr.s_addr) &&
		    !ipv4_is_lbcast(ep->addr4.sin_addr.s_addr))
			return 0;
	} else if (IS_ENABLED(CONFIG_IPV6) &&
		   len == sizeof(struct sockaddr_in6) &&
		   sa->sa_family == AF_INET6) {
		memcpy(&ep->addr6, sa, sizeof(ep->addr6));
		if (ep->addr6.sin6_port &&
		    !ipv6_addr_any(&ep->addr6.sin6_addr) &&
		    !ipv6_addr_is_multicast(&ep->addr6.sin6_addr))
			return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "endpoint must be a sockaddr_in or sockaddr_in6 with a unicast address and port");
	return -EINVAL;
}

static int put_endpoint(struct sk_buff *skb, int type,
			const union shoal_endpoint *ep)
{
	if (ep->addr.sa_family == AF_INET)
		return nla_put(skb, type, sizeof(ep->addr4), &ep->addr4);
	if (ep->addr.sa_family == AF_INET6)
		return nla_put(skb, type, sizeof(ep->addr6), &ep->addr6);
	return 0;
}

/* A source for SEND_CONTROL: a unicast address of the endpoint's family. */
static int parse_local(const struct nlattr *attr, const union shoal_endpoint *ep,
		       union shoal_local_addr *local,
		       struct netlink_ext_ack *extack)
{
	memset(local, 0, sizeof(*local));
	if (!attr)
		return 0;
	if (ep->addr.sa_family == AF_INET &&
	    nla_len(attr) == sizeof(local->ip4)) {
		local->ip4 = nla_get_in_addr(attr);
		if (local->ip4 && !ipv4_is_multicast(local->ip4) &&
		    !ipv4_is_lbcast(local->ip4))
			return 0;
	} else if (ep->addr.sa_family == AF_INET6 &&
		   nla_len(attr) == sizeof(local->ip6)) {
		local->ip6 = nla_get_in6_addr(attr);
		if (!ipv6_addr_any(&local->ip6) &&
		    !ipv6_addr_is_multicast(&local->ip6))
			return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "the source must be a unicast address of the endpoint's family");
	return -EINVAL;
}

/*
 * The address a packet from ep was sent to, when one is known.  Not for a
 * device moved out of the namespace its sockets live in: that would tell
 * the new namespace (a container) the host's own addresses.
 */
static int put_local(struct sk_buff *skb, struct shoal_device *sd,
		     const union shoal_endpoint *ep,
		     const union shoal_local_addr *local)
{
	if (!net_eq(dev_net(sd->dev), sd->creating_net))
		return 0;
	if (ep->addr.sa_family == AF_INET)
		return local->ip4 ?
		       nla_put_in_addr(skb, SHOAL_A_CONTROL_LOCAL, local->ip4) : 0;
	if (ep->addr.sa_family == AF_INET6 && !ipv6_addr_any(&local->ip6))
		return nla_put_in6_addr(skb, SHOAL_A_CONTROL_LOCAL, &local->ip6);
	return 0;
}

/*
 * A device's sockets stay in the namespace it was created in, wherever the
 * device has moved since: binding them to a port or sending from them acts
 * there.  So that does not go by CAP_NET_ADMIN over the device's current
 * namespace alone (GENL_UNS_ADMIN_PERM), which a container's root holds
 * over a device moved into it, but needs it over the creating one too.
 */
static bool creator_capable(const struct sk_buff *skb,
			    const struct shoal_device *sd,
			    const struct nlattr *attr,
			    struct netlink_ext_ack *extack)
{
	if (netlink_ns_capable(skb, sd->creating_net->user_ns, CAP_NET_ADMIN))
		return true;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "needs CAP_NET_ADMIN in the namespace the device was created in");
	return false;
}

/* ----- get ----- */

static int put_sa(struct sk_buff *skb, int type, struct shoal_sa *sa,
		  bool limits)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SHOAL_A_SA_SPI, sa->spi) ||
	    nla_put_u64_64bit(skb, SHOAL_A_SA_PACKETS,
			      atomic64_read(&sa->packets), SHOAL_A_SA_PAD) ||
	    (limits &&
	     (nla_put_u64_64bit(skb, SHOAL_A_SA_SOFT_PACKETS, sa->soft_packets,
				SHOAL_A_SA_PAD) ||
	      nla_put_u64_64bit(skb, SHOAL_A_SA_HARD_PACKETS, sa->hard_packets,
				SHOAL_A_SA_PAD) ||
	      (sa->soft_age &&
	       nla_put_u32(skb, SHOAL_A_SA_SOFT_SECONDS, sa->soft_age / HZ)) ||
	      (sa->hard_age &&
	       nla_put_u32(skb, SHOAL_A_SA_HARD_SECONDS, sa->hard_age / HZ))))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static const int pstat_attr[SHOAL_PSTAT_COUNT] = {
	[SHOAL_PSTAT_RX_BYTES]		= SHOAL_A_PEER_RX_BYTES,
	[SHOAL_PSTAT_TX_BYTES]		= SHOAL_A_PEER_TX_BYTES,
	[SHOAL_PSTAT_RX_PACKETS]	= SHOAL_A_PEER_RX_PACKETS,
	[SHOAL_PSTAT_TX_PACKETS]	= SHOAL_A_PEER_TX_PACKETS,
	[SHOAL_PSTAT_AUTH_FAILURES]	= SHOAL_A_PEER_AUTH_FAILURES,
	[SHOAL_PSTAT_REPLAYS]		= SHOAL_A_PEER_REPLAYS,
};

static int put_peer(struct sk_buff *skb, struct shoal_peer *peer)
{
	struct shoal_allowed_ips *allowed;
	u16 local_port = shoal_peersock_port(peer);
	struct nlattr *nest, *sa_in;
	u64 pstats[SHOAL_PSTAT_COUNT];
	union shoal_endpoint ep;
	struct shoal_sa *sa;
	int i;

	ASSERT_RTNL();
	nest = nla_nest_start(skb, SHOAL_A_PEER);
	if (!nest)
		return -EMSGSIZE;
	shoal_peer_get_endpoint(peer, &ep);
	shoal_pstats_read(peer, pstats);
	if (nla_put(skb, SHOAL_A_PEER_PUBLIC_KEY, SHOAL_KEY_LEN,
		    peer->public_key) ||
	    (peer->has_mac &&
	     nla_put(skb, SHOAL_A_PEER_MAC, ETH_ALEN, peer->mac)) ||
	    put_endpoint(skb, SHOAL_A_PEER_ENDPOINT, &ep) ||
	    nla_put_u8(skb, SHOAL_A_PEER_LAYER3, peer->layer3) ||
	    nla_put_u8(skb, SHOAL_A_PEER_BRIDGE, peer->bridge) ||
	    nla_put_u64_64bit(skb, SHOAL_A_PEER_LAST_RX,
			      atomic64_read(&peer->last_rx), SHOAL_A_PEER_PAD) ||
	    (local_port &&
	     nla_put_u16(skb, SHOAL_A_PEER_LOCAL_PORT, local_port)))
		goto cancel;
	for (i = 0; i < SHOAL_PSTAT_COUNT; i++)
		if (nla_put_u64_64bit(skb, pstat_attr[i],
				      pstats[i],
				      SHOAL_A_PEER_PAD))
			goto cancel;

	sa = rtnl_dereference(peer->sa_out);
	if (sa && put_sa(skb, SHOAL_A_PEER_SA_OUT, sa, true))
		goto cancel;
	sa_in = nla_nest_start(skb, SHOAL_A_PEER_SA_IN);
	if (!sa_in)
		goto cancel;
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		sa = rtnl_dereference(peer->sa_in[i]);
		if (sa && put_sa(skb, SHOAL_A_SA, sa, false))
			goto cancel;
	}
	nla_nest_end(skb, sa_in);
	allowed = rtnl_dereference(peer->allowed_ips);
	if (allowed &&
	    shoal_allowed_ips_put(skb, SHOAL_A_PEER_ALLOWED_IPS, allowed))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static const int dstat_attr[SHOAL_DSTAT_COUNT] = {
	[SHOAL_DSTAT_CONTROL_RX]	= SHOAL_A_DSTAT_CONTROL_RX,
	[SHOAL_DSTAT_KEEPALIVES_RX]	= SHOAL_A_DSTAT_KEEPALIVES_RX,
	[SHOAL_DSTAT_UNKNOWN_SPI]	= SHOAL_A_DSTAT_UNKNOWN_SPI,
	[SHOAL_DSTAT_MALFORMED]		= SHOAL_A_DSTAT_MALFORMED,
	[SHOAL_DSTAT_UNKNOWN_DEST]	= SHOAL_A_DSTAT_UNKNOWN_DEST,
	[SHOAL_DSTAT_SPOOFED_SRC]	= SHOAL_A_DSTAT_SPOOFED_SRC,
	[SHOAL_DSTAT_CONTROL_DROPS]	= SHOAL_A_DSTAT_CONTROL_DROPS,
	[SHOAL_DSTAT_COOKIE_REPLIES]	= SHOAL_A_DSTAT_COOKIE_REPLIES,
	[SHOAL_DSTAT_ECN_DROPS]		= SHOAL_A_DSTAT_ECN_DROPS,
};

static int put_device_attrs(struct sk_buff *skb, struct shoal_device *sd)
{
	struct net_device *dev = sd->dev;
	struct nlattr *stats;
	int i;

	if (nla_put_u32(skb, SHOAL_A_DEVICE_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, SHOAL_A_DEVICE_IFNAME, dev->name) ||
	    nla_put_u16(skb, SHOAL_A_DEVICE_LISTEN_PORT, sd->listen_port) ||
	    nla_put(skb, SHOAL_A_DEVICE_MAC, ETH_ALEN, dev->dev_addr))
		return -EMSGSIZE;
	stats = nla_nest_start(skb, SHOAL_A_DEVICE_STATS);
	if (!stats)
		return -EMSGSIZE;
	for (i = 0; i < SHOAL_DSTAT_COUNT; i++)
		if (nla_put_u64_64bit(skb, dstat_attr[i],
				      atomic64_read(&sd->dstats[i]),
				      SHOAL_A_DSTAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, stats);
	return 0;
}

/*
 * One message for sd: the device attributes and its peers from *pos on,
 * as many as fit.  Advances *pos; returns 0 when all peers are in, or
 * -EMSGSIZE when more are to come (nothing added if not even one fit).
 */
static int fill_device(struct sk_buff *skb, struct shoal_device *sd,
		       u32 portid, u32 seq, int flags, long *pos,
		       struct netlink_callback *cb)
{
	struct shoal_peer *peer;
	struct nlattr *peers;
	long i = 0, start = *pos;
	void *hdr;
	int ret = 0;

	ASSERT_RTNL();
	hdr = genlmsg_put(skb, portid, seq, &shoal_genl_family, flags,
			  SHOAL_CMD_GET_DEVICE);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (put_device_attrs(skb, sd))
		goto cancel;
	peers = nla_nest_start(skb, SHOAL_A_DEVICE_PEERS);
	if (!peers)
		goto cancel;
	list_for_each_entry(peer, &sd->peer_list, list) {
		if (i++ < start)
			continue;
		ret = put_peer(skb, peer);
		if (ret)
			break;
		(*pos)++;
	}
	if (ret && *pos == start)
		goto cancel;	/* not even one peer: again in a fresh skb */
	nla_nest_end(skb, peers);
	genlmsg_end(skb, hdr);
	return ret;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/*
 * Every doit runs between these two: under the RTNL, with the device its
 * selector names held in info->user_ptr[0].  The SAs a command retires are
 * put after the RTNL is dropped: waiting out the readers needs no lock.
 */
static void wipe_request_keys(struct genl_info *info);

int shoal_nl_pre_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		      struct genl_info *info)
{
	struct net_device *dev;

	rtnl_lock();
	dev = lookup_device(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev)) {
		rtnl_unlock();
		/* No doit will run to wipe them: the SET's keys go now. */
		if (info->genlhdr->cmd == SHOAL_CMD_SET_DEVICE)
			wipe_request_keys(info);
		return PTR_ERR(dev);
	}
	info->user_ptr[0] = dev;
	return 0;
}

void shoal_nl_post_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
			struct genl_info *info)
{
	struct net_device *dev = info->user_ptr[0];
	struct shoal_device *sd = netdev_priv(dev);
	LIST_HEAD(retire);

	list_splice_init(&sd->retire, &retire);
	rtnl_unlock();
	shoal_sa_retire_all(&retire);
	dev_put(dev);
}

int shoal_nl_get_device_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	long pos = 0;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = fill_device(msg, netdev_priv(info->user_ptr[0]), info->snd_portid,
			  info->snd_seq, 0, &pos, NULL);
	if (ret) {
		NL_SET_ERR_MSG(info->extack,
			       "too many peers for one reply; use a dump");
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * Dump state: args[0] the selected ifindex (0 = every shoal device) once
 * parsed, args[1] whether it was, args[2] shoal devices already complete,
 * args[3] peers of the current device already sent.
 */
int shoal_nl_get_device_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct nlattr *tb[ARRAY_SIZE(shoal_get_device_nl_policy)];
	struct net_device *dev;
	long idx = 0;
	int ret = 0;

	rtnl_lock();
	if (!cb->args[1]) {
		ret = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, ARRAY_SIZE(tb) - 1,
				  shoal_get_device_nl_policy, cb->extack);
		if (ret)
			goto unlock;
		if (tb[SHOAL_A_DEVICE_IFINDEX] || tb[SHOAL_A_DEVICE_IFNAME]) {
			dev = lookup_device(net, tb, cb->extack);
			if (IS_ERR(dev)) {
				ret = PTR_ERR(dev);
				goto unlock;
			}
			cb->args[0] = dev->ifindex;
			dev_put(dev);
		}
		cb->args[1] = 1;
	}

	/* One number for the state of everything this dump covers. */
	cb->seq = net->dev_base_seq;
	for_each_netdev(net, dev)
		if (shoal_is_device(dev) &&
		    (!cb->args[0] || dev->ifindex == cb->args[0]))
			cb->seq += ((struct shoal_device *)netdev_priv(dev))->generation;

	for_each_netdev(net, dev) {
		struct shoal_device *sd;

		if (!shoal_is_device(dev))
			continue;
		if (cb->args[0] && dev->ifindex != cb->args[0])
			continue;
		sd = netdev_priv(dev);
		if (idx++ < cb->args[2])
			continue;
		ret = fill_device(skb, sd, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, NLM_F_MULTI, &cb->args[3],
				  cb);
		if (ret)
			break;
		cb->args[2]++;
		cb->args[3] = 0;
	}
	/* The device vanished between passes, or never had peers: done. */
	ret = ret == -EMSGSIZE ? skb->len : ret ?: skb->len;
unlock:
	rtnl_unlock();
	return ret;
}

/* ----- set ----- */

/*
 * A lifetime in jiffies, kept within what time_after() can compare: a
 * u32 of seconds times HZ would wrap an unsigned long of 32 bits.
 */
static unsigned long seconds_to_age(const struct nlattr *attr)
{
	return min_t(u64, nla_get_u32(attr), MAX_JIFFY_OFFSET / HZ) * HZ;
}

static struct shoal_sa *parse_sa(const struct nlattr *attr,
				 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SHOAL_A_SA_MAX + 1];
	u64 soft = SHOAL_SA_DEFAULT_SOFT, hard = SHOAL_SA_DEFAULT_HARD;
	struct shoal_sa *sa;
	int ret;

	ret = nla_parse_nested(tb, SHOAL_A_SA_MAX, attr, shoal_sa_nl_policy,
			       extack);
	if (ret)
		return ERR_PTR(ret);
	if (!tb[SHOAL_A_SA_SPI] || !tb[SHOAL_A_SA_KEY]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "an SA needs an SPI and a key");
		return ERR_PTR(-EINVAL);
	}
	if (tb[SHOAL_A_SA_HARD_PACKETS])
		hard = min(nla_get_u64(tb[SHOAL_A_SA_HARD_PACKETS]), hard);
	if (tb[SHOAL_A_SA_SOFT_PACKETS])
		soft = nla_get_u64(tb[SHOAL_A_SA_SOFT_PACKETS]);
	soft = min(soft, hard);
	sa = shoal_sa_create(nla_get_u32(tb[SHOAL_A_SA_SPI]),
			     nla_data(tb[SHOAL_A_SA_KEY]), soft, hard);
	if (IS_ERR(sa))
		return sa;
	if (tb[SHOAL_A_SA_SOFT_SECONDS])
		sa->soft_age = seconds_to_age(tb[SHOAL_A_SA_SOFT_SECONDS]);
	if (tb[SHOAL_A_SA_HARD_SECONDS])
		sa->hard_age = seconds_to_age(tb[SHOAL_A_SA_HARD_SECONDS]);
	return sa;
}

static bool sa_same(const struct shoal_sa *a, const struct shoal_sa *b)
{
	return a && b && a->spi == b->spi &&
	       !crypto_memneq(a->key, b->key, SHOAL_SA_KEY_LEN);
}

static int set_sa_out(struct shoal_peer *peer, const struct nlattr *attr,
		      struct list_head *retire, struct netlink_ext_ack *extack)
{
	struct shoal_sa *old = rtnl_dereference(peer->sa_out), *sa;

	sa = parse_sa(attr, extack);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	/* The same SA again keeps its sequence number going. */
	if (sa_same(sa, old)) {
		shoal_sa_put(sa);
		return 0;
	}
	if (shoal_sa_out_key_used(peer->sd, sa->key)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "key already in use by an outbound SA: a new SA would reuse its nonces");
		shoal_sa_put(sa);
		return -EEXIST;
	}
	sa->peer = peer;
	shoal_sa_out_hash(peer->sd, sa);
	rcu_assign_pointer(peer->sa_out, sa);
	shoal_sa_out_unhash(old);
	shoal_sa_retire(old, retire);
	return 0;
}

/*
 * An inbound SA nest with an SPI and no key names an SA the peer already
 * holds: a restarted daemon, which cannot read keys back, keeps the
 * kernel's SAs this way.  Returns its index in old, -ENODATA when the nest
 * carries a key (a new SA), or -errno.
 */
static int keep_sa_in(struct shoal_sa *const old[SHOAL_MAX_SA_IN],
		      const struct nlattr *attr, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SHOAL_A_SA_MAX + 1];
	u32 spi;
	int i, ret;

	ret = nla_parse_nested(tb, SHOAL_A_SA_MAX, attr, shoal_sa_nl_policy,
			       extack);
	if (ret)
		return ret;
	if (tb[SHOAL_A_SA_KEY] || !tb[SHOAL_A_SA_SPI])
		return -ENODATA;
	spi = nla_get_u32(tb[SHOAL_A_SA_SPI]);
	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		if (old[i] && old[i]->spi == spi)
			return i;
	NL_SET_ERR_MSG_ATTR(extack, attr, "no inbound SA with this SPI to keep");
	return -ENOENT;
}

static int set_sa_in(struct shoal_peer *peer, const struct nlattr *list,
		     struct list_head *retire, struct netlink_ext_ack *extack)
{
	struct shoal_device *sd = peer->sd;
	struct shoal_sa *new[SHOAL_MAX_SA_IN] = {}, *old[SHOAL_MAX_SA_IN];
	bool reused[SHOAL_MAX_SA_IN] = {}, fresh[SHOAL_MAX_SA_IN] = {};
	const struct nlattr *attr;
	struct shoal_sa *other;
	int i, j, n = 0, rem, ret;

	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		old[i] = rtnl_dereference(peer->sa_in[i]);

	nla_for_each_nested(attr, list, rem) {
		if (n == SHOAL_MAX_SA_IN) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "at most 3 inbound SAs");
			ret = -E2BIG;
			goto free_new;
		}
		if (nla_type(attr) != SHOAL_A_SA) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "inbound SAs are SHOAL_A_SA nests");
			ret = -EINVAL;
			goto free_new;
		}
		j = keep_sa_in(old, attr, extack);
		if (j >= 0) {
			new[n] = old[j];
		} else if (j != -ENODATA) {
			ret = j;
			goto free_new;
		} else {
			new[n] = parse_sa(attr, extack);
			if (IS_ERR(new[n])) {
				ret = PTR_ERR(new[n]);
				new[n] = NULL;
				goto free_new;
			}
			fresh[n] = true;
		}
		for (i = 0; i < n; i++)
			if (new[i]->spi == new[n]->spi) {
				NL_SET_ERR_MSG_ATTR(extack, attr,
						    "duplicate inbound SPI");
				n++;
				ret = -EINVAL;
				goto free_new;
			}
		/* An unchanged SA keeps its object and its replay window. */
		for (j = 0; j < SHOAL_MAX_SA_IN; j++)
			if (new[n] == old[j] || sa_same(new[n], old[j])) {
				if (fresh[n])
					shoal_sa_put(new[n]);
				new[n] = old[j];
				reused[j] = true;
				fresh[n] = false;
			}
		/* An SPI is the device's: no other peer's SA may hold it. */
		other = shoal_sa_by_spi(sd, new[n]->spi);
		if (fresh[n] && other && other->peer != peer) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "inbound SPI already used by another peer");
			n++;
			ret = -EEXIST;
			goto free_new;
		}
		n++;
	}

	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		if (!old[i] || reused[i])
			continue;
		shoal_sa_retire(old[i], retire);
	}
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		if (i < n && fresh[i]) {
			new[i]->peer = peer;
			hash_add_rcu(sd->spi_table, &new[i]->spi_node,
				     new[i]->spi);
		}
		rcu_assign_pointer(peer->sa_in[i], i < n ? new[i] : NULL);
	}
	return 0;

free_new:
	for (i = 0; i < n; i++)
		if (fresh[i])
			shoal_sa_put(new[i]);
	return ret;
}

static int set_peer(const struct sk_buff *skb, struct shoal_device *sd,
		    const struct nlattr *attr, struct list_head *retire,
		    struct netlink_ext_ack *extack)
{
	struct shoal_allowed_ips *allowed = NULL;
	struct nlattr *tb[SHOAL_A_PEER_MAX + 1];
	union shoal_endpoint ep;
	struct shoal_peer *peer;
	bool created = false;
	u32 flags = 0;
	int ret;

	if (nla_type(attr) != SHOAL_A_PEER) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "peers are SHOAL_A_PEER nests");
		return -EINVAL;
	}
	ret = nla_parse_nested(tb, SHOAL_A_PEER_MAX, attr, shoal_peer_nl_policy,
			       extack);
	if (ret)
		return ret;
	if (!tb[SHOAL_A_PEER_PUBLIC_KEY]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "a peer needs a public key");
		return -EINVAL;
	}
	if (tb[SHOAL_A_PEER_FLAGS])
		flags = nla_get_u32(tb[SHOAL_A_PEER_FLAGS]);

	peer = shoal_peer_by_key(sd, nla_data(tb[SHOAL_A_PEER_PUBLIC_KEY]));
	if (flags & SHOAL_PEER_F_REMOVE) {
		if (peer)
			shoal_peer_remove(peer, retire);
		return 0;
	}

	/* Check what can be refused before anything changes. */
	if (tb[SHOAL_A_PEER_MAC] &&
	    !is_valid_ether_addr(nla_data(tb[SHOAL_A_PEER_MAC]))) {
		NL_SET_ERR_MSG_ATTR(extack, tb[SHOAL_A_PEER_MAC],
				    "peer MAC must be unicast and non-zero");
		return -EINVAL;
	}
	if (tb[SHOAL_A_PEER_ENDPOINT]) {
		ret = parse_endpoint(tb[SHOAL_A_PEER_ENDPOINT], &ep, extack);
		if (ret)
			return ret;
	}
	/* Sending from it acts in the namespace of the device's sockets. */
	if (tb[SHOAL_A_PEER_SOCKET_FD] &&
	    !creator_capable(skb, sd, tb[SHOAL_A_PEER_SOCKET_FD], extack))
		return -EPERM;
	if (tb[SHOAL_A_PEER_ALLOWED_IPS]) {
		allowed = shoal_allowed_ips_parse(tb[SHOAL_A_PEER_ALLOWED_IPS],
						  extack);
		if (IS_ERR(allowed))
			return PTR_ERR(allowed);
	}

	if (!peer) {
		if (sd->peer_count >= SHOAL_MAX_PEERS) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "too many peers");
			ret = -ENOSPC;
			goto free_allowed;
		}
		peer = shoal_peer_create(sd, nla_data(tb[SHOAL_A_PEER_PUBLIC_KEY]));
		if (!peer) {
			ret = -ENOMEM;
			goto free_allowed;
		}
		created = true;
	}
	if (tb[SHOAL_A_PEER_MAC] &&
	    ether_addr_equal(nla_data(tb[SHOAL_A_PEER_MAC]), sd->dev->dev_addr)) {
		/* Frames to it would never leave, and its frames would be ours. */
		NL_SET_ERR_MSG_ATTR(extack, tb[SHOAL_A_PEER_MAC],
				    "this is the device's own MAC");
		ret = -EINVAL;
		goto remove_created;
	}
	if (tb[SHOAL_A_PEER_MAC]) {
		ret = shoal_peer_set_mac(peer, nla_data(tb[SHOAL_A_PEER_MAC]));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, tb[SHOAL_A_PEER_MAC],
					    "another peer has this MAC");
			goto remove_created;
		}
	}
	if (tb[SHOAL_A_PEER_ENDPOINT])
		shoal_peer_set_endpoint(peer, &ep);
	if (tb[SHOAL_A_PEER_LAYER3])
		WRITE_ONCE(peer->layer3, nla_get_u8(tb[SHOAL_A_PEER_LAYER3]));
	if (tb[SHOAL_A_PEER_BRIDGE]) {
		WRITE_ONCE(peer->bridge, nla_get_u8(tb[SHOAL_A_PEER_BRIDGE]));
		/* Hosts behind a peer that no longer bridges are not there. */
		if (!peer->bridge)
			shoal_fdb_flush_peer(sd, peer, false);
	}
	/*
	 * Before the SAs: a new peer's first packets are held to its list,
	 * not let through in the moment before it is set.  Like the MAC and
	 * endpoint above, the list stays if an SA below is refused: a set
	 * on an existing peer is not all-or-nothing.
	 */
	if (tb[SHOAL_A_PEER_ALLOWED_IPS]) {
		allowed = rcu_replace_pointer(peer->allowed_ips, allowed,
					      lockdep_rtnl_is_held());
		if (allowed)
			kfree_rcu(allowed, rcu);
		allowed = NULL;
	}
	if (tb[SHOAL_A_PEER_SOCKET_FD]) {
		ret = shoal_peersock_set(peer,
					 nla_get_u32(tb[SHOAL_A_PEER_SOCKET_FD]),
					 extack);
		if (ret) {
			NL_SET_BAD_ATTR(extack, tb[SHOAL_A_PEER_SOCKET_FD]);
			goto remove_created;
		}
	}
	/*
	 * Inbound first: its refusals (an SA to keep that is gone, an SPI
	 * taken) then leave the outbound SA as it was, and a peer never
	 * sends on keys whose answer it could not accept.
	 */
	if (tb[SHOAL_A_PEER_SA_IN]) {
		ret = set_sa_in(peer, tb[SHOAL_A_PEER_SA_IN], retire, extack);
		if (ret)
			goto remove_created;
	}
	if (tb[SHOAL_A_PEER_SA_OUT]) {
		ret = set_sa_out(peer, tb[SHOAL_A_PEER_SA_OUT], retire, extack);
		if (ret)
			goto remove_created;
	}
	return 0;

remove_created:
	/* A refused new peer is not left half made. */
	if (created)
		shoal_peer_remove(peer, retire);
free_allowed:
	kfree(allowed);
	return ret;
}

static void wipe_attr(struct nlattr *attr)
{
	if (attr)
		memzero_explicit(nla_data(attr), nla_len(attr));
}

static void wipe_sa_key(const struct nlattr *sa)
{
	struct nlattr *attr;
	int rem;

	nla_for_each_nested(attr, sa, rem)
		if (nla_type(attr) == SHOAL_A_SA_KEY)
			wipe_attr(attr);
}

/*
 * The keys a SET_DEVICE request carried, wiped from it once the SAs and
 * the cookie state hold their copies: the request lives on in the
 * socket's buffers and in netlink taps' clones until it is freed, and
 * freeing does not clear it.  The policy has checked every nest here.
 */
static void wipe_request_keys(struct genl_info *info)
{
	const struct nlattr *peer, *attr, *sa;
	int rem, rem_peer, rem_sa;

	wipe_attr(info->attrs[SHOAL_A_DEVICE_COOKIE_SECRET]);
	wipe_attr(info->attrs[SHOAL_A_DEVICE_MAC1_KEY]);
	wipe_attr(info->attrs[SHOAL_A_DEVICE_COOKIE_KEY]);
	if (!info->attrs[SHOAL_A_DEVICE_PEERS])
		return;
	nla_for_each_nested(peer, info->attrs[SHOAL_A_DEVICE_PEERS], rem) {
		nla_for_each_nested(attr, peer, rem_peer) {
			if (nla_type(attr) == SHOAL_A_PEER_SA_OUT)
				wipe_sa_key(attr);
			if (nla_type(attr) != SHOAL_A_PEER_SA_IN)
				continue;
			nla_for_each_nested(sa, attr, rem_sa)
				wipe_sa_key(sa);
		}
	}
}

static int set_device(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *secret = info->attrs[SHOAL_A_DEVICE_COOKIE_SECRET];
	struct nlattr *mac1_key = info->attrs[SHOAL_A_DEVICE_MAC1_KEY];
	struct nlattr *cookie_key = info->attrs[SHOAL_A_DEVICE_COOKIE_KEY];
	struct nlattr *port_attr = info->attrs[SHOAL_A_DEVICE_LISTEN_PORT];
	struct net_device *dev = info->user_ptr[0];
	struct shoal_device *sd = netdev_priv(dev);
	struct nlattr *attr;
	int ret = 0, rem;

	if (port_attr) {
		u16 port = nla_get_u16(port_attr);

		if (!creator_capable(skb, sd, port_attr, info->extack))
			return -EPERM;
		if (!(dev->flags & IFF_UP)) {
			sd->listen_port = port;
		} else if (port != sd->listen_port || !port) {
			ret = shoal_socket_open(sd, port);
			if (ret) {
				NL_SET_ERR_MSG_ATTR(info->extack, port_attr,
						    "cannot bind the listen port");
				goto bump;
			}
		}
	}

	if (secret || mac1_key || cookie_key) {
		if (!secret || !mac1_key || !cookie_key) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    secret ?: mac1_key ?: cookie_key,
					    "the cookie secret and both keys go together");
			return -EINVAL;
		}
		/* With them the device's socket answers strangers. */
		if (!creator_capable(skb, sd, secret, info->extack))
			return -EPERM;
		shoal_cookie_set(&sd->cookie, nla_data(secret),
				 nla_data(mac1_key), nla_data(cookie_key));
		/* Nothing a dump shows has changed. */
		if (!port_attr && !info->attrs[SHOAL_A_DEVICE_PEERS])
			return 0;
	}

	if (info->attrs[SHOAL_A_DEVICE_PEERS]) {
		nla_for_each_nested(attr, info->attrs[SHOAL_A_DEVICE_PEERS], rem) {
			ret = set_peer(skb, sd, attr, &sd->retire,
				       info->extack);
			if (ret)
				break;
		}
	}
bump:
	sd->generation++;
	return ret;
}

int shoal_nl_set_device_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret = set_device(skb, info);

	wipe_request_keys(info);
	return ret;
}

/* ----- send ----- */

int shoal_nl_send_control_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *ep_attr = info->attrs[SHOAL_A_CONTROL_ENDPOINT];
	struct nlattr *payload = info->attrs[SHOAL_A_CONTROL_PAYLOAD];
	struct net_device *dev = info->user_ptr[0];
	union shoal_local_addr local;
	union shoal_endpoint ep;
	int ret;

	if (!ep_attr || !payload || !nla_len(payload)) {
		NL_SET_ERR_MSG(info->extack,
			       "sending needs an endpoint and a non-empty payload");
		return -EINVAL;
	}
	/* The spec's policy has no maximum: 6.12's generator cannot say one. */
	if (nla_len(payload) > SHOAL_MAX_CONTROL) {
		NL_SET_ERR_MSG_ATTR(info->extack, payload,
				    "a control payload is at most 1400 bytes");
		return -EINVAL;
	}
	ret = parse_endpoint(ep_attr, &ep, info->extack);
	if (!ret)
		ret = parse_local(info->attrs[SHOAL_A_CONTROL_LOCAL], &ep, &local,
				  info->extack);
	if (ret)
		return ret;

	if (!creator_capable(skb, netdev_priv(dev), NULL, info->extack))
		return -EPERM;
	if (!(dev->flags & IFF_UP)) {
		NL_SET_ERR_MSG(info->extack, "device is down: no socket to send from");
		return -ENETDOWN;
	}
	ret = shoal_send_control(netdev_priv(dev), &ep, &local,
				 nla_data(payload), nla_len(payload), GFP_KERNEL);
	if (ret)
		NL_SET_ERR_MSG(info->extack, "no route to the endpoint");
	return ret;
}

/* ----- events ----- */

static struct sk_buff *event_new(struct shoal_device *sd, u8 cmd,
				 size_t payload, void **hdr)
{
	struct sk_buff *skb = genlmsg_new(payload + 256, GFP_ATOMIC);

	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &shoal_genl_family, 0, cmd);
	if (!*hdr ||
	    nla_put_u32(skb, SHOAL_A_DEVICE_IFINDEX, sd->dev->ifindex) ||
	    nla_put_string(skb, SHOAL_A_DEVICE_IFNAME, sd->dev->name)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static int event_send(struct shoal_device *sd, struct sk_buff *skb, void *hdr)
{
	int ret;

	genlmsg_end(skb, hdr);
	ret = genlmsg_multicast_netns(&shoal_genl_family, dev_net(sd->dev), skb,
				      0, SHOAL_NLGRP_EVENTS, GFP_ATOMIC);
	/* Nobody listening is not a lost event. */
	return ret == -ESRCH ? 0 : ret;
}

/*
 * Past a budget: true for an INIT whose MAC2 proves its source, within
 * its source's share of the proven strangers' budget.  Any other INIT
 * with a good MAC1 gets a COOKIE_REPLY.
 */
static bool proven_stranger(struct shoal_device *sd,
			    const union shoal_endpoint *src,
			    const union shoal_local_addr *local,
			    const u8 *payload, size_t len)
{
	u8 reply[SHOAL_COOKIE_REPLY_LEN];

	switch (shoal_cookie_check(&sd->cookie, src, payload, len, reply)) {
	case SHOAL_COOKIE_PROVEN:
		return shoal_src_limit_take(&sd->proven_limit, src) &&
		       shoal_bucket_take(&sd->proven_budget);
	case SHOAL_COOKIE_ASK:
		/* From where the INIT went: the sender's NAT expects it. */
		if (!shoal_send_control(sd, src, local, reply, sizeof(reply),
					GFP_ATOMIC))
			shoal_dstat_inc(sd, SHOAL_DSTAT_COOKIE_REPLIES);
		return false;
	default:
		return false;
	}
}

int shoal_genl_event_control(struct shoal_device *sd,
			     const union shoal_endpoint *src,
			     const union shoal_local_addr *local,
			     const u8 *payload, size_t len)
{
	struct sk_buff *skb;
	void *hdr;

	/* Nobody to tell: no message to allocate, and nothing lost. */
	if (!genl_has_listeners(&shoal_genl_family, dev_net(sd->dev),
				SHOAL_NLGRP_EVENTS))
		return 0;
	/*
	 * Within its source's own share and the strangers' budget, a packet
	 * passes without the walk over the peers.  Past its source's share,
	 * only one from a peer's known endpoint does, or an INIT whose MAC2
	 * proves its source, so a flood from one address is held to its
	 * share, and one spoofing a peer's or a newcomer's address cannot
	 * spend theirs.  Past either (a flood from many addresses, spoofed
	 * as a rule, or from the newcomer's own), an INIT without that
	 * proof is answered here with a cookie (cookie.c), smaller than the
	 * INIT: first contacts are not lost among forgeries.  Proven INITs
	 * from strangers have a budget of their own, and each source a share
	 * of it, so senders at many real addresses cannot spend what the
	 * peers' packets need, nor one host all of it.
	 */
	if (!shoal_src_limit_take(&sd->src_limit, src)) {
		if (!shoal_peer_endpoint_known(sd, src) &&
		    !proven_stranger(sd, src, local, payload, len))
			return -EBUSY;
	} else if (!shoal_bucket_take(&sd->stranger_budget) &&
		   !shoal_peer_endpoint_known(sd, src) &&
		   !proven_stranger(sd, src, local, payload, len)) {
		return -EBUSY;
	}
	if (!shoal_bucket_take(&sd->control_budget))
		return -EBUSY;
	skb = event_new(sd, SHOAL_CMD_EVENT_CONTROL, len, &hdr);
	if (!skb)
		return -ENOMEM;
	if (put_endpoint(skb, SHOAL_A_CONTROL_ENDPOINT, src) ||
	    put_local(skb, sd, src, local) ||
	    nla_put(skb, SHOAL_A_CONTROL_PAYLOAD, len, payload)) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	return event_send(sd, skb, hdr);
}

void shoal_genl_event_unknown_spi(struct shoal_device *sd, u32 spi,
				  const union shoal_endpoint *src,
				  const union shoal_local_addr *local)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&shoal_genl_family, dev_net(sd->dev),
				SHOAL_NLGRP_EVENTS) ||
	    !shoal_src_limit_take(&sd->src_limit, src) ||
	    !shoal_bucket_take(&sd->spi_budget))
		return;
	skb = event_new(sd, SHOAL_CMD_EVENT_UNKNOWN_SPI, 64, &hdr);
	if (!skb)
		return;
	if (nla_put_u32(skb, SHOAL_A_UNKNOWN_SPI, spi) ||
	    put_endpoint(skb, SHOAL_A_CONTROL_ENDPOINT, src) ||
	    put_local(skb, sd, src, local)) {
		nlmsg_free(skb);
		return;
	}
	event_send(sd, skb, hdr);
}

/* SHOAL_A_DEVICE_PEERS { SHOAL_A_PEER { public key ... } }: the caller
 * adds what the event says and closes both nests.
 */
static int event_peer_start(struct sk_buff *skb, struct shoal_peer *peer,
			    struct nlattr **peers, struct nlattr **nest)
{
	*peers = nla_nest_start(skb, SHOAL_A_DEVICE_PEERS);
	if (!*peers)
		return -EMSGSIZE;
	*nest = nla_nest_start(skb, SHOAL_A_PEER);
	if (!*nest)
		return -EMSGSIZE;
	return nla_put(skb, SHOAL_A_PEER_PUBLIC_KEY, SHOAL_KEY_LEN,
		       peer->public_key);
}

void shoal_genl_event_endpoint(struct shoal_peer *peer,
			       const union shoal_endpoint *ep)
{
	struct nlattr *peers, *nest;
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(peer->sd, SHOAL_CMD_EVENT_ENDPOINT, 128, &hdr);
	if (!skb)
		return;
	if (event_peer_start(skb, peer, &peers, &nest) ||
	    put_endpoint(skb, SHOAL_A_PEER_ENDPOINT, ep)) {
		nlmsg_free(skb);
		return;
	}
	nla_nest_end(skb, nest);
	nla_nest_end(skb, peers);
	event_send(peer->sd, skb, hdr);
}

void shoal_genl_event_soft_expire(struct shoal_peer *peer, u32 spi,
				  bool outbound)
{
	struct nlattr *peers, *nest, *sas, *sa;
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(peer->sd, SHOAL_CMD_EVENT_SOFT_EXPIRE, 128, &hdr);
	if (!skb)
		return;
	if (event_peer_start(skb, peer, &peers, &nest))
		goto free_msg;
	sas = nla_nest_start(skb, outbound ? SHOAL_A_PEER_SA_OUT :
					     SHOAL_A_PEER_SA_IN);
	sa = outbound ? sas : nla_nest_start(skb, SHOAL_A_SA);
	if (!sas || !sa || nla_put_u32(skb, SHOAL_A_SA_SPI, spi))
		goto free_msg;
	if (!outbound)
		nla_nest_end(skb, sa);
	nla_nest_end(skb, sas);
	nla_nest_end(skb, nest);
	nla_nest_end(skb, peers);
	event_send(peer->sd, skb, hdr);
	return;

free_msg:
	nlmsg_free(skb);
}

static const struct genl_multicast_group shoal_genl_mcgrps[] = {
	/*
	 * Events carry peers' keys, endpoints and control payloads.  The
	 * generated table of the spec's groups cannot say so: this one is
	 * registered instead, in the same order.
	 */
	[SHOAL_NLGRP_EVENTS] = {
		.name	= SHOAL_GENL_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family shoal_genl_family __ro_after_init = {
	.name		= SHOAL_GENL_NAME,
	.version	= SHOAL_GENL_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= shoal_nl_ops,
	.n_ops		= ARRAY_SIZE(shoal_nl_ops),
	.resv_start_op	= SHOAL_CMD_GET_DEVICE,
	.pre_doit	= shoal_nl_pre_doit,
	.post_doit	= shoal_nl_post_doit,
	.mcgrps		= shoal_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(shoal_genl_mcgrps),
};

int __init shoal_genl_init(void)
{
	return genl_register_family(&shoal_genl_family);
}

void shoal_genl_uninit(void)
{
	genl_unregister_family(&shoal_genl_family);
}
