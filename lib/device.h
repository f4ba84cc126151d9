/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_DEVICE_H
#define SHOAL_DEVICE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "config.h"
#include "endpoint.h"
#include "uapi/linux/shoal.h"

/* One peer as SHOAL_CMD_GET_DEVICE describes it (keys are never sent). */
struct shoal_peer_info {
	uint8_t public_key[SHOAL_KEY_LEN];
	uint8_t mac[6];
	bool has_mac;
	struct shoal_endpoint endpoint;		/* len 0: none */
	bool layer3, bridge;
	bool has_sa_out;
	uint32_t sa_out_spi;
	unsigned int n_sa_in;
	uint32_t sa_in_spis[SHOAL_MAX_SA_IN];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint64_t auth_failures, replays, last_rx;
	/* Sources its frames may claim; none: any (SHOAL_A_PEER_ALLOWED_IPS). */
	unsigned int n_allowed_ips;
	struct shoal_prefix allowed_ips[SHOAL_MAX_ALLOWED_IPS];
};

struct shoal_device_info {
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
	uint16_t listen_port;
	uint8_t mac[6];
	bool has_mac;
	uint64_t stats[SHOAL_A_DSTAT_MAX + 1];	/* by SHOAL_A_DSTAT_* */
	struct shoal_peer_info *peers;
	size_t n_peers, peers_cap;
};

/* The devices of a dump, in the order they first appeared. */
struct shoal_device_list {
	struct shoal_device_info *devs;
	size_t n, cap;
};

/*
 * Adds one SHOAL_CMD_GET_DEVICE reply to the list, merging it into the
 * device of the same ifindex (and peers of the same public key) that
 * earlier messages of the dump described.  With only_ifname, messages
 * about other devices are skipped.  Malformed attributes are ignored.
 * Returns 0, or -ENOMEM.
 */
int shoal_device_list_add(struct shoal_device_list *l,
			  const struct nlmsghdr *nlh, const char *only_ifname);
void shoal_device_list_free(struct shoal_device_list *l);

/* What one SA nest of SHOAL_CMD_SET_DEVICE says. */
struct shoal_sa_attrs {
	uint32_t spi;
	const uint8_t *key;	/* SHOAL_SA_KEY_LEN bytes; NULL: keep (SA_IN) */
	uint64_t soft_packets, hard_packets;	/* 0: not sent */
	uint32_t soft_seconds, hard_seconds;	/* 0: not sent */
};

/* Adds an SA nest of the given type; false (nothing added) if no room. */
bool shoal_device_put_sa(struct nlmsghdr *nlh, size_t size, uint16_t type,
			 const struct shoal_sa_attrs *sa);

/*
 * Adds SHOAL_A_PEER_ALLOWED_IPS with the n prefixes (none: the empty nest
 * that lifts the restriction); false (nothing added) if no room.
 */
bool shoal_device_put_allowed_ips(struct nlmsghdr *nlh, size_t size,
				  const struct shoal_prefix *prefixes,
				  size_t n);

#endif
