/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_DATAPATH_H
#define SHOAL_DATAPATH_H

/*
 * The one interface between shoald and a datapath.  Two implementations:
 * "kernel" (shoal.ko over generic netlink, dp_kernel.c) and "tap" (the same
 * ESP-in-UDP wire format in userspace on a TAP device, dp_tap.c).  Kernel
 * and TAP peers interoperate: both follow docs/protocol.md.
 *
 * Single-threaded: every call comes from shoald's epoll loop.  Events are
 * delivered only from shoal_dp_ops.handle(), never re-entrantly from
 * another call.
 */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "endpoint.h"
#include "uapi/linux/shoal.h"

#define SHOAL_DP_MAX_FDS 4

struct shoal_dp_sa {
	uint32_t spi;
	uint8_t key[SHOAL_SA_KEY_LEN];	/* ChaCha20 key || salt */
	/*
	 * keep: only the SPI is given; the datapath keeps the SA it already
	 * holds under that SPI for this peer (how a restarted shoald leaves
	 * the kernel's SAs alone).  Fails with -ENOENT if there is none.
	 */
	bool keep;
	uint64_t soft_packets, hard_packets;	/* 0: the datapath's default */
	uint32_t soft_seconds, hard_seconds;	/* 0: none */
};

/* Add a peer, or change the parts of it that are set here. */
struct shoal_dp_peer {
	uint8_t public_key[SHOAL_KEY_LEN];
	bool has_mac;
	uint8_t mac[6];
	struct shoal_endpoint endpoint;		/* len 0: leave as it is */
	bool set_sa_out;
	struct shoal_dp_sa sa_out;
	bool set_sa_in;				/* replaces the whole set */
	unsigned int n_sa_in;			/* 0..SHOAL_MAX_SA_IN */
	struct shoal_dp_sa sa_in[SHOAL_MAX_SA_IN];
	/*
	 * The sources its frames may claim (SHOAL_A_PEER_ALLOWED_IPS):
	 * replaces the set; none lifts the restriction.
	 */
	bool set_allowed_ips;
	unsigned int n_allowed_ips;
	struct shoal_prefix allowed_ips[SHOAL_MAX_ALLOWED_IPS];
	/*
	 * A socket of the peer's own (docs/architecture.md, "Per-peer
	 * sockets"): socket_fd >= 0 is a UDP socket of shoald's that the
	 * datapath takes a reference to, sends this peer's ESP from, and
	 * takes ESP arriving on from; -1 puts the peer back on the
	 * device's socket.  shoald keeps its own fd open while the peer
	 * uses it (shoal.ko holds the socket, not the file: the last close
	 * puts the peer back on the device's socket) and reads and sends
	 * the peer's control packets on it itself.  -EOPNOTSUPP: this
	 * datapath cannot.
	 */
	bool set_socket;
	int socket_fd;
};

enum shoal_dp_event_type {
	/* A control packet: from, payload/len (what followed the marker). */
	SHOAL_DP_EV_CONTROL,
	/* A peer roamed: public_key, from (the new endpoint). */
	SHOAL_DP_EV_ENDPOINT,
	/* An SA passed its soft limit: public_key, spi, outbound. */
	SHOAL_DP_EV_SOFT_EXPIRE,
	/* ESP for an SPI nobody holds: spi, from. */
	SHOAL_DP_EV_UNKNOWN_SPI,
	/* Events were lost (socket overrun): re-read the state with get(). */
	SHOAL_DP_EV_LOST,
};

struct shoal_dp_event {
	enum shoal_dp_event_type type;
	struct shoal_endpoint from;
	const uint8_t *payload;
	size_t len;
	uint8_t public_key[SHOAL_KEY_LEN];
	uint32_t spi;
	bool outbound;
};

typedef void (*shoal_dp_event_fn)(void *ctx, const struct shoal_dp_event *ev);

struct shoal_dp;

struct shoal_dp_ops {
	const char *name;		/* "kernel" or "tap" */
	/* Tears the datapath down (for tap: the device goes with it). */
	void (*destroy)(struct shoal_dp *dp);
	/*
	 * Called when one of dp->fds is readable: does the work behind it
	 * and calls fn for every event.  Returns 0 or -errno (fatal).
	 */
	int (*handle)(struct shoal_dp *dp, int fd, shoal_dp_event_fn fn,
		      void *ctx);
	int (*set_peer)(struct shoal_dp *dp, const struct shoal_dp_peer *p);
	int (*remove_peer)(struct shoal_dp *dp,
			   const uint8_t public_key[SHOAL_KEY_LEN]);
	/* Sends 00 00 00 00 || payload (1..SHOAL_MAX_CONTROL bytes). */
	int (*send_control)(struct shoal_dp *dp, const struct shoal_endpoint *to,
			    const void *payload, size_t len);
	/*
	 * The device and its peers as a GET_DEVICE reply gives them
	 * (counters, endpoints, SPIs).  The caller frees it with
	 * shoal_device_list_free() semantics: shoal_dp_info_free().
	 */
	int (*get)(struct shoal_dp *dp, struct shoal_device_info *info);
	/*
	 * Optional: the cookie secret and the MAC1 and cookie-sealing keys,
	 * for a datapath that checks INITs and answers cookies itself when
	 * a flood from many sources has spent its budget (shoal.ko).
	 */
	int (*set_cookie)(struct shoal_dp *dp,
			  const uint8_t secret[SHOAL_COOKIE_SECRET_LEN],
			  const uint8_t mac1_key[SHOAL_COOKIE_SECRET_LEN],
			  const uint8_t cookie_key[SHOAL_COOKIE_SECRET_LEN]);
	/*
	 * Optional, called while a control event is handled: the message
	 * was fresh and authenticated, so what goes to from later may leave
	 * from the local address it arrived at (answers to the event being
	 * handled do anyway).  Never for what a replay or spoof can produce.
	 */
	void (*path_proven)(struct shoal_dp *dp,
			    const struct shoal_endpoint *from);
	/*
	 * Optional: an ESP datagram shoald read on a peer's own socket
	 * (set_socket), for a datapath that does not read those itself
	 * (TAP; shoal.ko takes ESP off them in the kernel).  Events of it
	 * (roaming, soft expiry) go to fn.
	 */
	void (*receive)(struct shoal_dp *dp, uint8_t *buf, size_t len,
			const struct shoal_endpoint *from,
			shoal_dp_event_fn fn, void *ctx);
};

struct shoal_dp {
	const struct shoal_dp_ops *ops;
	char ifname[IF_NAMESIZE];
	unsigned int ifindex;
	uint16_t listen_port;
	uint8_t mac[6];
	int fds[SHOAL_DP_MAX_FDS];	/* what the loop polls for reading */
	unsigned int n_fds;
};

struct shoal_dp_config {
	const char *ifname;
	uint16_t listen_port;		/* 0: random */
	bool has_mac;
	uint8_t mac[6];
};

/*
 * Opens the kernel datapath: the shoal device ifname, created if it does
 * not exist (an existing one is taken over as it is, peers and SAs
 * included).  Returns 0, -ENOENT when shoal.ko cannot be loaded, or
 * another -errno with a reason in err.
 */
int shoal_dp_kernel_open(struct shoal_dp **dp,
			 const struct shoal_dp_config *cfg,
			 char *err, size_t err_size);

/*
 * Opens the TAP datapath: creates TAP device ifname and a UDP socket
 * (IPv4 and IPv6) on listen_port.  Returns 0 or -errno with err set.
 */
int shoal_dp_tap_open(struct shoal_dp **dp, const struct shoal_dp_config *cfg,
		      char *err, size_t err_size);

/* Frees what get() put into info. */
void shoal_dp_info_free(struct shoal_device_info *info);

#endif
