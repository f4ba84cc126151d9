// SPDX-License-Identifier: GPL-2.0
/*
 * The shoal generic netlink API, driven through libnl-genl: a second
 * netlink implementation, independent of the libmnl code the tools use.
 * Each test runs in a network namespace of its own.  Needs shoal.ko (VM).
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"

#include "uapi/linux/shoal.h"

struct reply {
	int count;
	char names[8][IFNAMSIZ];
	unsigned int ifindex[8];
	int port[8];
	int done;
	int error;	/* the kernel's errno for the request, 0 if none */
};

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[SHOAL_A_MAX + 1];
	struct reply *r = arg;
	int i = r->count;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHOAL_A_MAX, NULL) < 0 || i >= 8)
		return NL_SKIP;
	if (tb[SHOAL_A_DEVICE_IFNAME])
		snprintf(r->names[i], IFNAMSIZ, "%s",
			 nla_get_string(tb[SHOAL_A_DEVICE_IFNAME]));
	r->ifindex[i] = tb[SHOAL_A_DEVICE_IFINDEX] ?
		nla_get_u32(tb[SHOAL_A_DEVICE_IFINDEX]) : 0;
	r->port[i] = tb[SHOAL_A_DEVICE_LISTEN_PORT] ?
		nla_get_u16(tb[SHOAL_A_DEVICE_LISTEN_PORT]) : -1;
	r->count++;
	return NL_OK;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	((struct reply *)arg)->done = 1;
	return NL_STOP;
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct reply *r = arg;

	r->error = -err->error;
	r->done = 1;
	return NL_STOP;
}

/* GET_DEVICE: by ifindex if non-zero, by name if given, a dump if flags. */
static int get_device(struct nl_sock *sk, int family, int flags,
		      unsigned int ifindex, const char *name, struct reply *r)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!msg || !cb)
		goto out;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
			 SHOAL_CMD_GET_DEVICE, SHOAL_GENL_VERSION))
		goto out;
	if (ifindex && nla_put_u32(msg, SHOAL_A_DEVICE_IFINDEX, ifindex) < 0)
		goto out;
	if (name && nla_put_string(msg, SHOAL_A_DEVICE_IFNAME, name) < 0)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, finish_cb, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, r);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, r);
	if (nl_send_auto(sk, msg) < 0)
		goto out;
	while (!r->done)
		if (nl_recvmsgs(sk, cb) < 0 && !r->done)
			goto out;
	ret = 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

FIXTURE(genl) {
	struct nl_sock *sk;
	int family;
};

FIXTURE_SETUP(genl)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, system("ip link set lo up"));
	self->sk = nl_socket_alloc();
	ASSERT_NE(NULL, self->sk);
	ASSERT_EQ(0, genl_connect(self->sk));
	self->family = genl_ctrl_resolve(self->sk, SHOAL_GENL_NAME);
	ASSERT_LT(0, self->family) TH_LOG("family '%s' not found", SHOAL_GENL_NAME);
}

FIXTURE_TEARDOWN(genl)
{
	nl_socket_free(self->sk);
}

TEST_F(genl, get_by_name)
{
	struct reply r;

	ASSERT_EQ(0, system("ip link add sh-test0 type shoal"));
	ASSERT_EQ(0, get_device(self->sk, self->family, 0, 0, "sh-test0", &r));
	ASSERT_EQ(0, r.error);
	ASSERT_EQ(1, r.count);
	EXPECT_STREQ("sh-test0", r.names[0]);
	EXPECT_EQ(if_nametoindex("sh-test0"), r.ifindex[0]);
	EXPECT_EQ(0, r.port[0]);
}

TEST_F(genl, get_by_ifindex)
{
	struct reply r;

	ASSERT_EQ(0, system("ip link add sh-test1 type shoal"));
	ASSERT_EQ(0, get_device(self->sk, self->family, 0,
				if_nametoindex("sh-test1"), NULL, &r));
	ASSERT_EQ(0, r.error);
	ASSERT_EQ(1, r.count);
	EXPECT_STREQ("sh-test1", r.names[0]);
}

TEST_F(genl, dump_lists_only_shoal_devices)
{
	struct reply r;
	int i, seen = 0;

	ASSERT_EQ(0, system("ip link add sh-a type shoal && "
			    "ip link add sh-b type shoal && "
			    "ip link add sh-c type shoal && "
			    "ip link add ve-a type veth peer name ve-b"));
	ASSERT_EQ(0, get_device(self->sk, self->family, NLM_F_DUMP, 0, NULL, &r));
	ASSERT_EQ(0, r.error);
	ASSERT_EQ(3, r.count);
	for (i = 0; i < r.count; i++)
		seen |= !strcmp(r.names[i], "sh-a") << 0 |
			!strcmp(r.names[i], "sh-b") << 1 |
			!strcmp(r.names[i], "sh-c") << 2;
	EXPECT_EQ(7, seen);
}

TEST_F(genl, rejects_other_device_kinds)
{
	struct reply r;

	ASSERT_EQ(0, get_device(self->sk, self->family, 0, 0, "lo", &r));
	EXPECT_EQ(EOPNOTSUPP, r.error);
}

TEST_F(genl, rejects_unknown_device)
{
	struct reply r;

	ASSERT_EQ(0, get_device(self->sk, self->family, 0, 0, "nonexistent", &r));
	EXPECT_EQ(ENODEV, r.error);
}

TEST_F(genl, needs_exactly_one_selector)
{
	struct reply r;

	ASSERT_EQ(0, system("ip link add sh-test2 type shoal"));
	ASSERT_EQ(0, get_device(self->sk, self->family, 0, 0, NULL, &r));
	EXPECT_EQ(EINVAL, r.error);
	ASSERT_EQ(0, get_device(self->sk, self->family, 0,
				if_nametoindex("sh-test2"), "sh-test2", &r));
	EXPECT_EQ(EINVAL, r.error);
}

TEST_HARNESS_MAIN
