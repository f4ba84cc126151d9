/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_LINK_H
#define SHOAL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Small rtnetlink (NETLINK_ROUTE) helpers for shoald.  Every call opens its
 * own socket, waits for the kernel's acknowledgment and returns 0 or
 * -errno.  Names the kernel would refuse are refused here with -EINVAL
 * before anything is sent; an ifindex of 0 is -ENODEV likewise.
 */

/*
 * What the kernel accepts as an interface name: 1 to IFNAMSIZ - 1 bytes,
 * neither "." nor "..", and no '/', ':' or white space.
 */
bool shoal_link_name_valid(const char *name);

/* The ifindex of name, or 0 if there is no such link (or name is bad). */
unsigned int shoal_link_index(const char *name);

/*
 * Copies the link kind of name ("shoal", "veth", "tun"...) into kind, or
 * "" when the link has none (lo, physical devices).  Returns 0, -ENOENT
 * when there is no such link, -ERANGE when kind is too small, or -errno.
 */
int shoal_link_kind(const char *name, char *kind, size_t size);

/*
 * Creates a link of the given kind, which must not exist yet.  Returns 0,
 * -EEXIST, -EOPNOTSUPP when the kernel knows no such kind (its module is
 * missing), or -errno.  err (if not NULL) gets the kernel's extended-ack
 * message, or "" when it gave none.
 */
int shoal_link_create(const char *name, const char *kind, char *err,
		      size_t err_size);

/* Returns 0, -ENOENT when there is no such link, or -errno. */
int shoal_link_delete(const char *name);

/* These return 0, -ENODEV when there is no such link, or -errno. */
int shoal_link_set_mac(unsigned int ifindex, const uint8_t mac[6]);
/* -ENODATA: the link has no Ethernet (6-byte) address. */
int shoal_link_get_mac(unsigned int ifindex, uint8_t mac[6]);
int shoal_link_set_up(unsigned int ifindex, bool up);
int shoal_link_set_mtu(unsigned int ifindex, unsigned int mtu);
/*
 * The link's IPv6 link-local address made from its MAC (EUI-64), whatever
 * the system's default: what its peers allow it to claim.  Takes effect
 * when the link next comes up.  -EAFNOSUPPORT without IPv6.
 */
int shoal_link_set_eui64(unsigned int ifindex);

/*
 * Adds addr/prefix_len (family AF_INET with 4 bytes, or AF_INET6 with 16)
 * to the link, replacing the same address if it is already there, so
 * adding twice is not an error.  IPv4 gets a broadcast address unless the
 * prefix is /31 or /32; IPv6 skips duplicate address detection so that
 * the address can be used at once.  Returns 0, -EINVAL for a bad prefix
 * length, -EAFNOSUPPORT for another family, -ENODEV, or -errno.
 */
int shoal_link_add_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len);
/* Takes an address add_addr gave back off: 0, -EADDRNOTAVAIL, or -errno. */
int shoal_link_del_addr(unsigned int ifindex, int family, const void *addr,
			unsigned int prefix_len);

/*
 * A permanent neighbour entry (ARP or NDP) on the device: addr is at mac,
 * without asking, or with add false, the entry gone.  0, or -errno.
 */
int shoal_link_set_neigh(unsigned int ifindex, int family, const void *addr,
			 const uint8_t mac[6], bool add);

#endif
