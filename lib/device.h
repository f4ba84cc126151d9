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
	/* Of the socket its ESP leaves from (SHOAL_A_PEER_LOCAL_PORT). */
	uint16_t local_port;			/* 0: the device's socket */
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

/*
 * One peer of a SHOAL_CMD_SET_DEVICE request: what is set, and where the
 * keys are (the request is built from them, never a copy kept).
 */
struct shoal_set_peer {
	const uint8_t *public_key;		/* SHOAL_KEY_LEN bytes */
	bool remove;				/* SHOAL_PEER_F_REMOVE */
	const uint8_t *mac;			/* 6 bytes; NULL: leave as is */
	const struct shoal_endpoint *endpoint;	/* NULL or len 0: leave */
	bool set_layer3, layer3;
	bool set_bridge, bridge;
	const struct shoal_sa_attrs *sa_out;	/* NULL: leave as it is */
	bool set_sa_in;				/* replaces the inbound set */
	unsigned int n_sa_in;			/* 0..SHOAL_MAX_SA_IN */
	const struct shoal_sa_attrs *sa_in;
	bool set_allowed_ips;			/* none: any source again */
	unsigned int n_allowed_ips;		/* 0..SHOAL_MAX_ALLOWED_IPS */
	const struct shoal_prefix *allowed_ips;
	/*
	 * With set_socket, the peer's ESP leaves from the UDP socket
	 * socket_fd (the caller's, kept open while the peer uses it), or
	 * with -1 from the device's socket again (SHOAL_A_PEER_SOCKET_FD).
	 */
	bool set_socket;
	int socket_fd;
};

/* A whole SHOAL_CMD_SET_DEVICE request. */
struct shoal_set_device {
	uint32_t ifindex;			/* the selector, else ifname */
	const char *ifname;
	bool set_listen_port;
	uint16_t listen_port;			/* 0: a random port */
	/* SHOAL_COOKIE_SECRET_LEN bytes each, all three or none. */
	const uint8_t *cookie_secret, *mac1_key, *cookie_key;
	const struct shoal_set_peer *peers;
	size_t n_peers;
};

/*
 * The one SHOAL_CMD_SET_DEVICE encoder: fills the request nlh (started
 * by shoal_genl_request in a buffer of size bytes) with the selector, the
 * device's settings when *next is 0, and the peers from *next on that
 * fit.  A request too big for one message goes out in several: *next
 * becomes the first peer left for the next one.  Returns 0, -EINVAL for
 * a request the API forbids (no selector, more SAs or prefixes than its
 * limits), or -EMSGSIZE when not even the peer at *next fits.  The buffer
 * holds keys: the caller wipes it once sent.
 */
int shoal_set_encode(struct nlmsghdr *nlh, size_t size,
		     const struct shoal_set_device *d, size_t *next);

/* One event of the multicast group; pointers into the message. */
struct shoal_event {
	uint8_t cmd;			/* SHOAL_CMD_EVENT_*, or newer */
	uint32_t ifindex;		/* 0: not given */
	const char *ifname;		/* NULL: not given */
	struct shoal_endpoint source;	/* SHOAL_A_CONTROL_ENDPOINT; len 0: none */
	const uint8_t *payload;		/* SHOAL_A_CONTROL_PAYLOAD */
	size_t payload_len;
	const uint8_t *local;		/* SHOAL_A_CONTROL_LOCAL: 4 or 16 bytes */
	size_t local_len;
	const uint8_t *public_key;	/* the peer's, SHOAL_KEY_LEN bytes */
	struct shoal_endpoint endpoint;	/* the peer's new one (ENDPOINT) */
	bool has_spi;			/* UNKNOWN_SPI's, or the SA's */
	uint32_t spi;
	bool outbound;			/* SOFT_EXPIRE: of SHOAL_A_PEER_SA_OUT */
};

/*
 * The one event parser: fills e with what the message holds, whatever
 * its command (malformed attributes are left out).  Returns 0 when the
 * event carries all that uapi/linux/shoal.h promises for its command,
 * -EOPNOTSUPP for a command this parser does not know, -EBADMSG
 * otherwise.
 */
int shoal_event_parse(struct shoal_event *e, const struct nlmsghdr *nlh);

#endif
