/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_GENL_H
#define SHOAL_GENL_H

#include <stdbool.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* A generic netlink socket bound to the shoal family (libmnl). */
struct shoal_genl {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
	/* The id of the multicast group SHOAL_GENL_MCGRP_EVENTS, or 0. */
	uint32_t mcgrp_events;
	/* The last shoal_genl_talk saw NLM_F_DUMP_INTR: redo the dump. */
	bool dump_intr;
	/* The kernel's extended-ack message for the last error, or "". */
	char ext_msg[256];
};

/*
 * Opens the socket and resolves the family, which loads shoal.ko where the
 * kernel can.  Returns 0, or -ENOENT when no shoal module is available, or
 * another -errno.
 */
int shoal_genl_open(struct shoal_genl *g);
void shoal_genl_close(struct shoal_genl *g);

/* Starts a request of the shoal family in buf (MNL_SOCKET_BUFFER_SIZE). */
struct nlmsghdr *shoal_genl_request(struct shoal_genl *g, void *buf,
				    uint8_t cmd, uint16_t flags);

/*
 * Sends the request and runs cb on every reply until the kernel is done.
 * Returns 0 or -errno; on a kernel error, ext_msg tells why where it said.
 */
int shoal_genl_talk(struct shoal_genl *g, struct nlmsghdr *nlh, mnl_cb_t cb,
		    void *data);

/*
 * Joins the events multicast group.  Returns 0, -EOPNOTSUPP when the
 * module has no such group, or another -errno.
 */
int shoal_genl_subscribe_events(struct shoal_genl *g);

/*
 * Receives once (blocking unless data is waiting) and runs cb on every
 * message of the shoal family in what came.  Returns 0 or -errno; -ENOBUFS
 * means events were lost and the socket can still be used.
 */
int shoal_genl_read_events(struct shoal_genl *g, mnl_cb_t cb, void *data);

#endif
