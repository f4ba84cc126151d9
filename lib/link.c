// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "link.h"

/* No real kind comes near this; it keeps requests a fixed small size. */
#define KIND_MAX 64

/*
 * Each request gets a socket of its own, so no stale reply can be waiting
 * on it and any sequence number will do.
 */
#define SEQ 1

bool shoal_link_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, IFNAMSIZ);
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;

		/* The kernel's isspace() also counts Latin-1 NBSP (0xa0). */
		if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') ||
		    c == 0xa0)
			return false;
	}
	return true;
}

/* ifi_index is an int; 0 means "by name" to the kernel, never a link. */
static bool index_valid(unsigned int ifindex)
{
	return ifindex > 0 && ifindex <= INT_MAX;
}

/* What mnl_cb_run2 hands to both the data and the control callbacks. */
struct talk {
	mnl_cb_t cb;
	void *data;
	char *err;
	size_t err_size;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

/* NLMSG_ERROR: keep the extended-ack text, then stop with errno set. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	struct nlattr *attr;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)) ||
	    err->error > 0 || err->error == INT_MIN) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	/* Without NETLINK_CAP_ACK (old kernels) our request is echoed whole. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(err->msg) ||
		    err->msg.nlmsg_len > nlh->nlmsg_len)
			goto out;
		off += MNL_ALIGN(err->msg.nlmsg_len - sizeof(err->msg));
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && t->err &&
	    mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
		mnl_attr_for_each(attr, nlh, off) {
			if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(t->err, t->err_size, "%s",
					 mnl_attr_get_str(attr));
		}
	}
out:
	errno = -err->error;
	return MNL_CB_ERROR;
}

/*
 * Sends the request on a socket of its own and runs cb on every reply
 * until the kernel acknowledges it.  Returns 0 or the kernel's -errno; err
 * (if not NULL) gets its extended-ack message.
 */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char *err,
		size_t err_size)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = error_cb };
	struct talk t = {
		.cb = cb, .data = data, .err = err, .err_size = err_size,
	};
	/* One link with all its attributes can exceed a page. */
	char buf[32768];
	struct mnl_socket *nl;
	uint32_t portid;
	int one = 1, ret;
	ssize_t n;

	if (err && err_size)
		err[0] = '\0';
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	portid = mnl_socket_get_portid(nl);
	/* Both are best effort: kernels before 4.12 / 4.3 lack them. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = SEQ;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			goto fail;
		ret = mnl_cb_run2(buf, (size_t)n, SEQ, portid, data_cb, &t,
				  ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			goto fail;
	} while (ret > MNL_CB_STOP);
	mnl_socket_close(nl);
	return 0;

fail:
	ret = errno ? -errno : -EIO;
	mnl_socket_close(nl);
	return ret;
}

/* Starts a link request; ifindex 0 means the name attribute picks it. */
static struct nlmsghdr *link_request(void *buf, uint16_t type, uint16_t flags,
				     unsigned int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	return nlh;
}

/* What a RTM_GETLINK reply tells, as far as these helpers care. */
struct link_info {
	unsigned int index;
	bool has_mac;
	uint8_t mac[6];
	/* The caller's buffer for IFLA_INFO_KIND, or NULL. */
	char *kind;
	size_t kind_size;
	bool kind_too_long;
};

static void link_info_kind(struct link_info *li, const struct nlattr *linkinfo)
{
	struct nlattr *attr;

	if (mnl_attr_validate(linkinfo, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(attr, linkinfo) {
		if (mnl_attr_get_type(attr) != IFLA_INFO_KIND ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if (strlen(mnl_attr_get_str(attr)) >= li->kind_size)
			li->kind_too_long = true;
		else
			strcpy(li->kind, mnl_attr_get_str(attr));
	}
}

static int link_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifm;
	struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifm))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	ifm = mnl_nlmsg_get_payload(nlh);
	if (ifm->ifi_index <= 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	li->index = (unsigned int)ifm->ifi_index;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(attr) == sizeof(li->mac)) {
				memcpy(li->mac, mnl_attr_get_payload(attr),
				       sizeof(li->mac));
				li->has_mac = true;
			}
			break;
		case IFLA_LINKINFO:
			if (li->kind)
				link_info_kind(li, attr);
			break;
		}
	}
	return MNL_CB_OK;
}

/* RTM_GETLINK by name (ifindex 0) or by ifindex. */
static int get_link(const char *name, unsigned int ifindex,
		    struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = link_request(buf, RTM_GETLINK, 0, ifindex);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Statistics are most of a link's message and of no use here. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (li->kind && li->kind_size)
		li->kind[0] = '\0';
	ret = talk(nlh, link_info_cb, li, NULL, 0);
	if (ret < 0)
		return ret;
	if (!li->index || (ifindex && li->index != ifindex))
		return -EPROTO;
	return 0;
}

unsigned int shoal_link_index(const char *name)
{
	struct link_info li = { 0 };

	if (!shoal_link_name_valid(name) || get_link(name, 0, &li) < 0)
		return 0;
	return li.index;
}

int shoal_link_kind(const char *name, char *kind, size_t size)
{
	struct link_info li = { .kind = kind, .kind_size = size };
	int ret;

	if (!shoal_link_name_valid(name) || !kind)
		return -EINVAL;
	if (!size)
		return -ERANGE;
	ret = get_link(name, 0, &li);
	if (ret == -ENODEV)
		return -ENOENT;
	if (ret < 0)
		return ret;
	if (li.kind_too_long) {
		kind[0] = '\0';
		return -ERANGE;
	}
	return 0;
}

int shoal_link_create(const char *name, const char *kind, char *err,
		      size_t err_size)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *linkinfo;

	if (err && err_size)
		err[0] = '\0';
	if (!shoal_link_name_valid(name) || !kind || !kind[0] ||
	    strnlen(kind, KIND_MAX) >= KIND_MAX)
		return -EINVAL;
	nlh = link_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, linkinfo);
	return talk(nlh, NULL, NULL, err, err_size);
}

int shoal_link_delete(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	if (!shoal_link_name_valid(name))
		return -EINVAL;
	nlh = link_request(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = talk(nlh, NULL, NULL, NULL, 0);
	return ret == -ENODEV ? -ENOENT : ret;
}

int shoal_link_set_mac(unsigned int ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!index_valid(ifindex))
		return -ENODEV;
	if (!mac)
		return -EINVAL;
	nlh = link_request(buf, RTM_SETLINK, 0, ifindex);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return talk(nlh, NULL, NULL, NULL, 0);
}

int shoal_link_get_mac(unsigned int ifindex, uint8_t mac[6])
{
	struct link_info li = { 0 };
	int ret;

	if (!index_valid(ifindex))
		return -ENODEV;
	if (!mac)
		return -EINVAL;
	ret = get_link(NULL, ifindex, &li);
	if (ret < 0)
		return ret;
	if (!li.has_mac)
		return -ENODATA;
	memcpy(mac, li.mac, sizeof(li.mac));
	return 0;
}

int shoal_link_set_up(unsigned int ifindex, bool up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!index_valid(ifindex))
		return -ENODEV;
	nlh = link_request(buf, RTM_SETLINK, 0, ifindex);
	ifm = mnl_nlmsg_get_payload(nlh);
	/* ifi_change limits the change to IFF_UP, leaving other flags be. */
	ifm->ifi_flags = up ? IFF_UP : 0;
	ifm->ifi_change = IFF_UP;
	return talk(nlh, NULL, NULL, NULL, 0);
}

int shoal_link_set_mtu(unsigned int ifindex, unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!index_valid(ifindex))
		return -ENODEV;
	nlh = link_request(buf, RTM_SETLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return talk(nlh, NULL, NULL, NULL, 0);
}

int shoal_link_set_eui64(unsigned int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *af, *in6;
	struct nlmsghdr *nlh;

	if (!index_valid(ifindex))
		return -ENODEV;
	nlh = link_request(buf, RTM_SETLINK, 0, ifindex);
	af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_EUI64);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, af);
	return talk(nlh, NULL, NULL, NULL, 0);
}

static int change_addr(unsigned int ifindex, int family, const void *addr,
		       unsigned int prefix_len, bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t a, mask;

	if (!index_valid(ifindex))
		return -ENODEV;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!addr || prefix_len > (family == AF_INET ? 32u : 128u))
		return -EINVAL;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	/* REPLACE: an address that is already there is updated, not EEXIST. */
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix_len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;

	if (family == AF_INET) {
		/*
		 * IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on
		 * point-to-point links and must equal it elsewhere.
		 */
		mnl_attr_put(nlh, IFA_LOCAL, 4, addr);
		mnl_attr_put(nlh, IFA_ADDRESS, 4, addr);
		/* /31 and /32 have no room for a broadcast address (RFC 3021). */
		if (prefix_len < 31) {
			memcpy(&a, addr, sizeof(a));
			mask = prefix_len ? ~0u << (32 - prefix_len) : 0;
			a = htonl(ntohl(a) | ~mask);
			mnl_attr_put(nlh, IFA_BROADCAST, sizeof(a), &a);
		}
	} else {
		mnl_attr_put(nlh, IFA_ADDRESS, 16, addr);
		/*
		 * Without DAD the address is not "tentative" for a second or
		 * so, and shoald can bind to it right away.  The u8 field is
		 * for kernels older than IFA_FLAGS (3.14).
		 */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return talk(nlh, NULL, NULL, NULL, 0);
}

int shoal_link_add_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len)
{
	return change_addr(ifindex, family, addr, prefix_len, true);
}

int shoal_link_del_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len)
{
	return change_addr(ifindex, family, addr, prefix_len, false);
}

int shoal_link_set_neigh(unsigned int ifindex, int family, const void *addr,
			 const uint8_t mac[6], bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *nd;

	if (!index_valid(ifindex))
		return -ENODEV;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWNEIGH : RTM_DELNEIGH;
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = (int)ifindex;
	nd->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, addr);
	if (add)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return talk(nlh, NULL, NULL, NULL, 0);
}
