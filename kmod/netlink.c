// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "shoal": how userspace reads and configures
 * shoal devices.  Every handler runs under the RTNL, which is what keeps a
 * device from going away or being renamed while it is described.
 */

#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <uapi/linux/shoal.h>

#include "device.h"
#include "netlink.h"

static struct genl_family shoal_genl_family;

static const struct nla_policy shoal_genl_policy[SHOAL_A_MAX + 1] = {
	[SHOAL_A_DEVICE_IFINDEX]	= NLA_POLICY_MIN(NLA_U32, 1),
	[SHOAL_A_DEVICE_IFNAME]		= { .type = NLA_NUL_STRING,
					    .len = IFNAMSIZ - 1 },
	[SHOAL_A_DEVICE_LISTEN_PORT]	= { .type = NLA_U16 },
};

/* Takes a reference on the device it returns. */
static struct net_device *shoal_genl_lookup(struct net *net,
					    struct nlattr **attrs,
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
	if (dev->rtnl_link_ops != &shoal_link_ops) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname,
				    "device is not a shoal device");
		dev_put(dev);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return dev;
}

static int shoal_genl_fill_device(struct sk_buff *skb, struct net_device *dev,
				  u32 portid, u32 seq, int flags)
{
	struct shoal_device *sd = netdev_priv(dev);
	void *hdr;

	ASSERT_RTNL();

	hdr = genlmsg_put(skb, portid, seq, &shoal_genl_family, flags,
			  SHOAL_CMD_GET_DEVICE);
	if (!hdr)
		return -EMSGSIZE;

	if (nla_put_u32(skb, SHOAL_A_DEVICE_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, SHOAL_A_DEVICE_IFNAME, dev->name) ||
	    nla_put_u16(skb, SHOAL_A_DEVICE_LISTEN_PORT, sd->listen_port))
		goto cancel_msg;

	genlmsg_end(skb, hdr);
	return 0;

cancel_msg:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int shoal_genl_get_device_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct net_device *dev;
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	rtnl_lock();
	dev = shoal_genl_lookup(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto unlock;
	}
	ret = shoal_genl_fill_device(msg, dev, info->snd_portid, info->snd_seq,
				     0);
	dev_put(dev);
unlock:
	rtnl_unlock();
	if (ret < 0) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: how many shoal devices earlier passes have sent. */
static int shoal_genl_get_device_dumpit(struct sk_buff *skb,
					struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	long idx = 0;
	int ret = 0;

	rtnl_lock();
	cb->seq = net->dev_base_seq;
	for_each_netdev(net, dev) {
		if (dev->rtnl_link_ops != &shoal_link_ops)
			continue;
		if (idx++ < cb->args[0])
			continue;
		ret = shoal_genl_fill_device(skb, dev,
					     NETLINK_CB(cb->skb).portid,
					     cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (ret < 0) {
			idx--;
			break;
		}
		genl_dump_check_consistent(cb, nlmsg_data(nlmsg_hdr(skb)));
	}
	rtnl_unlock();
	cb->args[0] = idx;
	/* A full skb ends this pass; the next one resumes after it. */
	return ret == -EMSGSIZE ? skb->len : ret ?: skb->len;
}

static const struct genl_ops shoal_genl_ops[] = {
	{
		.cmd	= SHOAL_CMD_GET_DEVICE,
		.doit	= shoal_genl_get_device_doit,
		.dumpit	= shoal_genl_get_device_dumpit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group shoal_genl_mcgrps[] = {
	{ .name = SHOAL_GENL_MCGRP_EVENTS },
};

static struct genl_family shoal_genl_family __ro_after_init = {
	.name		= SHOAL_GENL_NAME,
	.version	= SHOAL_GENL_VERSION,
	.maxattr	= SHOAL_A_MAX,
	.policy		= shoal_genl_policy,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= shoal_genl_ops,
	.n_ops		= ARRAY_SIZE(shoal_genl_ops),
	.resv_start_op	= SHOAL_CMD_GET_DEVICE,
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
