// SPDX-License-Identifier: MIT
/*
 * The rtnetlink helpers against the running kernel, each test in a network
 * namespace of its own so that nothing on the host is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "kselftest_harness.h"

#include "link.h"

#define DEV "shl0"

/* One address as an RTM_GETADDR dump shows it. */
struct addr_seen {
	/* What to look for. */
	int family;
	unsigned int ifindex;
	uint8_t addr[16];
	unsigned int prefix_len;
	/* What was found. */
	int count;
	bool has_brd;
	uint8_t brd[4];
	uint32_t flags;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_seen *s = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	size_t len = s->family == AF_INET ? 4 : 16;
	/* IPv4 keeps the address itself in IFA_LOCAL, IPv6 in IFA_ADDRESS. */
	int addr_type = s->family == AF_INET ? IFA_LOCAL : IFA_ADDRESS;
	bool match = false, has_brd = false;
	uint32_t flags;
	struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) ||
	    ifa->ifa_family != s->family || ifa->ifa_index != s->ifindex ||
	    ifa->ifa_prefixlen != s->prefix_len)
		return MNL_CB_OK;
	flags = ifa->ifa_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		uint16_t type = mnl_attr_get_type(attr);

		if (type == addr_type && mnl_attr_get_payload_len(attr) == len) {
			match = !memcmp(mnl_attr_get_payload(attr), s->addr, len);
		} else if (type == IFA_BROADCAST &&
			   mnl_attr_get_payload_len(attr) == 4) {
			memcpy(s->brd, mnl_attr_get_payload(attr), 4);
			has_brd = true;
		} else if (type == IFA_FLAGS &&
			   mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
			flags = mnl_attr_get_u32(attr);
		}
	}
	if (match) {
		s->count++;
		s->has_brd = has_brd;
		s->flags = flags;
	}
	return MNL_CB_OK;
}

/* Dumps the addresses of s->family and counts those equal to s's. */
static int dump_addrs(struct addr_seen *s)
{
	char buf[32768];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t portid;
	ssize_t n;
	int ret;

	s->count = 0;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)s->family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			goto fail;
		ret = mnl_cb_run(buf, (size_t)n, 1, portid, addr_cb, s);
		if (ret == MNL_CB_ERROR)
			goto fail;
	} while (ret > MNL_CB_STOP);
	mnl_socket_close(nl);
	return 0;
fail:
	ret = -errno;
	mnl_socket_close(nl);
	return ret;
}

/* SIOCGIFFLAGS or SIOCGIFMTU of DEV, or -1. */
static int dev_ioctl(unsigned long req)
{
	struct ifreq ifr = { 0 };
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, DEV);
	ret = ioctl(fd, req, &ifr);
	close(fd);
	if (ret < 0)
		return -1;
	return req == SIOCGIFMTU ? ifr.ifr_mtu : ifr.ifr_flags;
}

FIXTURE(link) {
	char kind[16];		/* what DEV was created as */
	unsigned int ifindex;
	bool ready;		/* false: setup skipped the test */
};

FIXTURE_SETUP(link)
{
	/*
	 * Not every kernel has dummy (some CI hosts lack the module); veth
	 * needs no attributes beyond its kind: the kernel names the peer.
	 */
	static const char *const kinds[] = { "dummy", "veth" };
	char err[256] = "";
	int ret = -EOPNOTSUPP;
	size_t i;

	if (unshare(CLONE_NEWNET) < 0) {
		if (errno == EPERM)
			SKIP(return, "no permission to unshare the network namespace");
		ASSERT_EQ(0, -errno);
	}
	for (i = 0; i < ARRAY_SIZE(kinds) && ret == -EOPNOTSUPP; i++) {
		ret = shoal_link_create(DEV, kinds[i], err, sizeof(err));
		if (ret == 0)
			strcpy(self->kind, kinds[i]);
	}
	if (ret == -EOPNOTSUPP)
		SKIP(return, "the kernel has neither dummy nor veth links");
	ASSERT_EQ(0, ret) TH_LOG("create: %s (%s)", strerror(-ret), err);
	self->ifindex = shoal_link_index(DEV);
	ASSERT_NE(0u, self->ifindex);
	self->ready = true;
}

/* The namespace, and every link in it, goes with the test's process. */
FIXTURE_TEARDOWN(link)
{
}

TEST_F(link, index_kind_delete)
{
	char kind[16], err[256];

	if (!self->ready)
		return;
	TH_LOG("created " DEV " as %s", self->kind);
	/* A new namespace has only lo, always ifindex 1 and kindless. */
	EXPECT_EQ(1u, shoal_link_index("lo"));
	ASSERT_EQ(0, shoal_link_kind("lo", kind, sizeof(kind)));
	EXPECT_STREQ("", kind);

	ASSERT_EQ(0, shoal_link_kind(DEV, kind, sizeof(kind)));
	EXPECT_STREQ(self->kind, kind);
	EXPECT_EQ(-ERANGE, shoal_link_kind(DEV, kind, 3));
	EXPECT_EQ(-EEXIST, shoal_link_create(DEV, self->kind, err, sizeof(err)));

	ASSERT_EQ(0, shoal_link_delete(DEV));
	EXPECT_EQ(0u, shoal_link_index(DEV));
	EXPECT_EQ(-ENOENT, shoal_link_kind(DEV, kind, sizeof(kind)));
	EXPECT_EQ(-ENOENT, shoal_link_delete(DEV));
	EXPECT_EQ(-ENODEV, shoal_link_set_up(self->ifindex, true));
}

TEST_F(link, mac)
{
	static const uint8_t want[6] = { 0x02, 0x53, 0x48, 0x4f, 0x41, 0x4c };
	static const uint8_t multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t mac[6];

	if (!self->ready)
		return;
	ASSERT_EQ(0, shoal_link_set_mac(self->ifindex, want));
	ASSERT_EQ(0, shoal_link_get_mac(self->ifindex, mac));
	EXPECT_EQ(0, memcmp(want, mac, sizeof(mac)));
	/* The kernel's own checks come back as they are. */
	EXPECT_EQ(-EADDRNOTAVAIL, shoal_link_set_mac(self->ifindex, multicast));
	ASSERT_EQ(0, shoal_link_get_mac(self->ifindex, mac));
	EXPECT_EQ(0, memcmp(want, mac, sizeof(mac)));
}

TEST_F(link, up_and_mtu)
{
	if (!self->ready)
		return;
	EXPECT_EQ(0, dev_ioctl(SIOCGIFFLAGS) & IFF_UP);
	ASSERT_EQ(0, shoal_link_set_up(self->ifindex, true));
	EXPECT_EQ(IFF_UP, dev_ioctl(SIOCGIFFLAGS) & IFF_UP);

	ASSERT_EQ(0, shoal_link_set_mtu(self->ifindex, 1400));
	EXPECT_EQ(1400, dev_ioctl(SIOCGIFMTU));
	EXPECT_EQ(-EINVAL, shoal_link_set_mtu(self->ifindex, 0));
	EXPECT_EQ(1400, dev_ioctl(SIOCGIFMTU));

	ASSERT_EQ(0, shoal_link_set_up(self->ifindex, false));
	EXPECT_EQ(0, dev_ioctl(SIOCGIFFLAGS) & IFF_UP);
}

TEST_F(link, addresses)
{
	struct addr_seen v4 = {
		.family = AF_INET, .ifindex = self->ifindex,
		.addr = { 10, 83, 72, 7 }, .prefix_len = 24,
	};
	struct addr_seen v4_31 = {
		.family = AF_INET, .ifindex = self->ifindex,
		.addr = { 10, 84, 0, 0 }, .prefix_len = 31,
	};
	struct addr_seen v6 = {
		.family = AF_INET6, .ifindex = self->ifindex,
		.addr = { 0xfd, 0x00, 0x53, 0x48, [15] = 1 }, .prefix_len = 64,
	};
	static const uint8_t brd[4] = { 10, 83, 72, 255 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int i, fd;

	if (!self->ready)
		return;
	ASSERT_EQ(0, shoal_link_set_up(self->ifindex, true));
	/* The second round is the "already there" case. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, shoal_link_add_addr(self->ifindex, AF_INET,
						 v4.addr, v4.prefix_len));
		ASSERT_EQ(0, shoal_link_add_addr(self->ifindex, AF_INET,
						 v4_31.addr, v4_31.prefix_len));
		ASSERT_EQ(0, shoal_link_add_addr(self->ifindex, AF_INET6,
						 v6.addr, v6.prefix_len));
		ASSERT_EQ(0, dump_addrs(&v4));
		ASSERT_EQ(0, dump_addrs(&v4_31));
		ASSERT_EQ(0, dump_addrs(&v6));
		EXPECT_EQ(1, v4.count);
		EXPECT_EQ(1, v4_31.count);
		EXPECT_EQ(1, v6.count);
	}
	ASSERT_TRUE(v4.has_brd);
	EXPECT_EQ(0, memcmp(brd, v4.brd, sizeof(brd)));
	EXPECT_FALSE(v4_31.has_brd);
	EXPECT_EQ((uint32_t)IFA_F_NODAD, v6.flags & (IFA_F_NODAD | IFA_F_TENTATIVE));

	/* Not tentative: a socket can bind to it at once. */
	memcpy(&sin6.sin6_addr, v6.addr, sizeof(sin6.sin6_addr));
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)))
		TH_LOG("bind: %s", strerror(errno));
	close(fd);
}

/*
 * The kernel answers an unknown kind with EOPNOTSUPP and the extended ack
 * "Unknown device type", after failing to load module rtnl-link-KIND.
 */
TEST_F(link, unknown_kind)
{
	char err[256];

	if (!self->ready)
		return;
	EXPECT_EQ(-EOPNOTSUPP, shoal_link_create("shl1", "nosuchkind", err,
						 sizeof(err)));
	TH_LOG("the kernel says: \"%s\"", err);
	EXPECT_STRNE("", err);
	EXPECT_EQ(0u, shoal_link_index("shl1"));
}

/*
 * Run with no file descriptors to be had: any call that opened a socket
 * would fail with EMFILE instead of the error it returns here.
 */
TEST(refused_locally)
{
	static const char *const bad[] = {
		"", "sixteen-chars-xx", "a-name-much-longer-than-ifnamsiz",
		".", "..", "a/b", "a:b", "a b", "a\tb", "a\nb", "a\xa0z",
	};
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t addr[16] = { 10, 0, 0, 1 };
	uint8_t mac_out[6];
	struct rlimit old, none = { 0 };
	char kind[16], err[16];
	size_t i;

	EXPECT_TRUE(shoal_link_name_valid("shl0"));
	EXPECT_TRUE(shoal_link_name_valid("fifteen-chars-x"));
	EXPECT_FALSE(shoal_link_name_valid(NULL));

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	none.rlim_max = old.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &none));
	/* Proof that the limit bites. */
	EXPECT_EQ(-EMFILE, shoal_link_delete("shl0"));

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_FALSE(shoal_link_name_valid(bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(0u, shoal_link_index(bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(-EINVAL, shoal_link_kind(bad[i], kind, sizeof(kind)))
			TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(-EINVAL, shoal_link_create(bad[i], "dummy", err,
						     sizeof(err)))
			TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(-EINVAL, shoal_link_delete(bad[i])) TH_LOG("'%s'", bad[i]);
	}
	EXPECT_EQ(0u, shoal_link_index(NULL));
	EXPECT_EQ(-EINVAL, shoal_link_create("shl0", "", err, sizeof(err)));
	EXPECT_EQ(-EINVAL, shoal_link_create("shl0", NULL, err, sizeof(err)));
	EXPECT_STREQ("", err);

	EXPECT_EQ(-ENODEV, shoal_link_set_mac(0, mac));
	EXPECT_EQ(-ENODEV, shoal_link_get_mac(0, mac_out));
	EXPECT_EQ(-ENODEV, shoal_link_set_up(0, true));
	EXPECT_EQ(-ENODEV, shoal_link_set_mtu(0, 1400));
	EXPECT_EQ(-ENODEV, shoal_link_add_addr(0, AF_INET, addr, 24));
	EXPECT_EQ(-ENODEV, shoal_link_set_up(1u << 31, true));
	EXPECT_EQ(-EAFNOSUPPORT, shoal_link_add_addr(1, AF_PACKET, addr, 24));
	EXPECT_EQ(-EINVAL, shoal_link_add_addr(1, AF_INET, addr, 33));
	EXPECT_EQ(-EINVAL, shoal_link_add_addr(1, AF_INET6, addr, 129));
	EXPECT_EQ(-EINVAL, shoal_link_add_addr(1, AF_INET6, NULL, 64));

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

TEST_HARNESS_MAIN
