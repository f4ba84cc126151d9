// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "genl.h"
#include "uapi/linux/shoal.h"

/* One CTRL_ATTR_MCAST_GROUPS entry: keep the id of the events group. */
static void mcast_group(struct shoal_genl *g, const struct nlattr *grp)
{
	const char *name = NULL;
	uint32_t id = 0;
	struct nlattr *attr;

	if (mnl_attr_validate(grp, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(attr, grp) {
		if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(attr);
		else if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			id = mnl_attr_get_u32(attr);
	}
	if (name && !strcmp(name, SHOAL_GENL_MCGRP_EVENTS))
		g->mcgrp_events = id;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct shoal_genl *g = data;
	struct nlattr *attr, *grp;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				g->family = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
				break;
			mnl_attr_for_each_nested(grp, attr)
				mcast_group(g, grp);
			break;
		}
	}
	return MNL_CB_OK;
}

/* What mnl_cb_run2 hands to both the data and the control callbacks. */
struct talk {
	struct shoal_genl *g;
	mnl_cb_t cb;
	void *data;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

/*
 * libmnl stops at a message flagged NLM_F_DUMP_INTR with EINTR, leaving
 * the rest of the dump in the socket for the next request to trip over.
 * The flag is taken off here and kept in g->dump_intr instead, so the
 * dump is read to its end and the caller decides to retry it.
 */
static void take_dump_intr(struct shoal_genl *g, void *buf, size_t len)
{
	struct nlmsghdr *nlh = buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			g->dump_intr = true;
			nlh->nlmsg_flags &= (uint16_t)~NLM_F_DUMP_INTR;
		}
	}
}

/* NLMSG_ERROR: keep the extended-ack text, then stop with errno set. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct shoal_genl *g = ((struct talk *)data)->g;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	struct nlattr *attr;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		mnl_attr_for_each(attr, nlh, off) {
			if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(g->ext_msg, sizeof(g->ext_msg), "%s",
					 mnl_attr_get_str(attr));
		}
	}
	errno = -err->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; a negative value in it is the dump's error. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct shoal_genl *g = ((struct talk *)data)->g;
	struct nlattr *attr;

	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		int err = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (err < 0) {
			/* The extended ack, if any, follows the error. */
			if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
				mnl_attr_for_each(attr, nlh, sizeof(int)) {
					if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
					    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
						snprintf(g->ext_msg, sizeof(g->ext_msg),
							 "%s", mnl_attr_get_str(attr));
				}
			}
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static struct nlmsghdr *request(struct shoal_genl *g, void *buf,
				uint16_t type, uint8_t cmd, uint8_t version,
				uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++g->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct nlmsghdr *shoal_genl_request(struct shoal_genl *g, void *buf,
				    uint8_t cmd, uint16_t flags)
{
	return request(g, buf, g->family, cmd, SHOAL_GENL_VERSION, flags);
}

int shoal_genl_talk(struct shoal_genl *g, struct nlmsghdr *nlh, mnl_cb_t cb,
		    void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	struct talk t = { .g = g, .cb = cb, .data = data };
	/* Dumps fill up to a page-sized skb or 32 KiB, whichever is larger. */
	char buf[32768];
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	g->ext_msg[0] = '\0';
	g->dump_intr = false;
	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(g->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		take_dump_intr(g, buf, (size_t)n);
		ret = mnl_cb_run2(buf, (size_t)n, seq, g->portid, data_cb, &t,
				  ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			return -errno;
	} while (ret > MNL_CB_STOP);
	return 0;
}

int shoal_genl_open(struct shoal_genl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int one = 1, ret;

	memset(g, 0, sizeof(*g));
	g->seq = (uint32_t)time(NULL);
	g->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!g->nl)
		return -errno;
	if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto close_socket;
	g->portid = mnl_socket_get_portid(g->nl);
	mnl_socket_setsockopt(g->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(g->nl, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = request(g, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, SHOAL_GENL_NAME);
	ret = shoal_genl_talk(g, nlh, family_cb, g);
	if (ret == 0 && g->family == 0)
		ret = -ENOENT;
	if (ret < 0) {
		mnl_socket_close(g->nl);
		g->nl = NULL;
		return ret;
	}
	return 0;

close_socket:
	ret = -errno;
	mnl_socket_close(g->nl);
	g->nl = NULL;
	return ret;
}

/*
 * Events come in bursts (a flood of control packets is one): room for a
 * few thousand of them, so that a busy second costs delay, not the
 * genuine packets in it.  Beyond rmem_max only with CAP_NET_ADMIN, which
 * shoald has; without it the smaller buffer will do.
 */
#define EVENTS_RCVBUF (4 << 20)

int shoal_genl_subscribe_events(struct shoal_genl *g)
{
	int group = (int)g->mcgrp_events, size = EVENTS_RCVBUF;

	if (!g->mcgrp_events)
		return -EOPNOTSUPP;
	if (setsockopt(mnl_socket_get_fd(g->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(g->nl), SOL_SOCKET, SO_RCVBUF,
			   &size, sizeof(size));
	if (mnl_socket_setsockopt(g->nl, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0)
		return -errno;
	return 0;
}

/* What shoal_genl_read_events hands to mnl_cb_run. */
struct events {
	struct shoal_genl *g;
	mnl_cb_t cb;
	void *data;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct events *e = data;

	if (nlh->nlmsg_type != e->g->family ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return MNL_CB_OK;
	return e->cb(nlh, e->data);
}

int shoal_genl_read_events(struct shoal_genl *g, mnl_cb_t cb, void *data)
{
	struct events e = { .g = g, .cb = cb, .data = data };
	char buf[32768];
	ssize_t n;
	int ret;

	n = mnl_socket_recvfrom(g->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, (size_t)n, 0, 0, event_cb, &e);
	return ret == MNL_CB_ERROR ? -errno : 0;
}

void shoal_genl_close(struct shoal_genl *g)
{
	if (g->nl)
		mnl_socket_close(g->nl);
	g->nl = NULL;
}
