/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_GENL_H
#define SHOAL_GENL_H

#include <stdint.h>

#include <libmnl/libmnl.h>

/* A generic netlink socket bound to the shoal family (libmnl). */
struct shoal_genl {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
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

#endif
