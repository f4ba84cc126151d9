/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_DP_TAP_INT_H
#define SHOALD_DP_TAP_INT_H

/*
 * Inside the TAP datapath (daemon/dp_tap*.c): its tables and buffers, and
 * the calls its files make to one another.  Nothing else includes this.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "crypt_pool.h"
#include "datapath.h"
#include "esp.h"
#include "util.h"
#include "vnet.h"

/* Work done per call of handle(): epoll (level-triggered) calls again. */
#define TAP_BATCH		64
/*
 * Datagrams per sendmmsg/recvmmsg: one system call where there were 16,
 * which at small packets is most of the TAP datapath's cost.
 */
#define TAP_MMSG		16
/* Largest frame read from the TAP; bigger than any UDP payload. */
#define TAP_FRAME_MAX		65536
/*
 * The TAP hands over TCP trains of up to 64 KiB (TSO), its header in
 * front; room beyond for the headers the stack puts before a train's
 * 64 KiB.
 */
#define TAP_TRAIN_MAX		(sizeof(struct virtio_net_hdr) + TAP_FRAME_MAX + 256)
#define TAP_PKT_MAX		(TAP_FRAME_MAX + SHOAL_ESP_MAX_OVERHEAD)
/* Largest UDP payload there is (IPv6 without jumbograms). */
#define TAP_RX_MAX		65536
/* As the kernel module: see kmod/netlink.c and kmod/device.c. */

/* Powers of two; chains stay short for a few thousand peers. */
#define TAP_KEY_BUCKETS		1024
#define TAP_MAC_BUCKETS		1024
#define TAP_SPI_BUCKETS		4096

struct tap_peer;

struct tap_sa {
	struct shoal_esp_sa esp;
	struct tap_peer *peer;
	struct tap_sa *spi_next;	/* inbound SAs: tap_dp.by_spi */
};

struct tap_peer {
	uint8_t public_key[SHOAL_KEY_LEN];
	bool has_mac;
	uint8_t mac[ETH_ALEN];
	struct shoal_endpoint endpoint;		/* len 0: none */
	struct tap_sa *sa_out;
	struct tap_sa *sa_in[SHOAL_MAX_SA_IN];
	unsigned int n_sa_in;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint64_t auth_failures, replays, last_rx;
	unsigned int n_allowed_ips;		/* 0: any source */
	struct shoal_prefix allowed_ips[SHOAL_MAX_ALLOWED_IPS];
	struct tap_peer *key_next, *mac_next;
	size_t index;				/* in tap_dp.peers */
	/* Its own socket (set_socket): our dup of shoald's, and family. */
	bool has_sock;
	int sock_fd, sock_family;
};

struct tap_rate {
	time_t second;
	unsigned int n;
};

struct tap_dp {
	struct shoal_dp dp;		/* first: shoald holds &dp */
	int tap_fd, udp_fd;
	int family;			/* of udp_fd: AF_INET6, or AF_INET without IPv6 */
	uint8_t hash_key[SHOAL_HASH_KEY_LEN];

	/* In the order they were added, as the kernel lists them. */
	struct tap_peer **peers;
	size_t n_peers, peers_cap;
	struct tap_peer *by_key[TAP_KEY_BUCKETS];
	struct tap_peer *by_mac[TAP_MAC_BUCKETS];
	struct tap_sa *by_spi[TAP_SPI_BUCKETS];

	uint64_t stats[SHOAL_A_DSTAT_MAX + 1];
	struct tap_rate control_rate, spi_rate;

	/*
	 * Events wait here until no pointer into the tables is held: the
	 * callback may well change peers and SAs.
	 */
	struct shoal_dp_event *pending;
	size_t n_pending, pending_cap;
	bool lost;

	/*
	 * Sealed datagrams waiting for one sendmmsg.  They hold peers, so
	 * they go out before any event callback (which may remove a peer)
	 * and before handle() returns.
	 */
	struct {
		struct mmsghdr msg[TAP_MMSG];
		struct iovec iov[TAP_MMSG];
		struct sockaddr_in6 to[TAP_MMSG];
		struct tap_peer *peer[TAP_MMSG];
		int fd[TAP_MMSG];		/* the socket it leaves from */
		size_t inner_len[TAP_MMSG];
		struct shoal_esp_crypt job[TAP_MMSG];	/* sealed in tap_tx_flush() */
		int result[TAP_MMSG];
		unsigned int n;
	} tx;
	struct {
		struct mmsghdr msg[TAP_MMSG];
		struct iovec iov[TAP_MMSG];
		struct sockaddr_storage from[TAP_MMSG];
	} rxq;
	/*
	 * ESP datagrams of the receive batch waiting to be opened (in place,
	 * in t->rx) and delivered, in their order, by tap_rx_flush().  They hold
	 * SAs, so they are done before any event callback.
	 */
	struct {
		struct tap_sa *sa[TAP_MMSG];
		uint64_t seq[TAP_MMSG];
		struct shoal_endpoint from[TAP_MMSG];
		struct shoal_esp_crypt job[TAP_MMSG];
		int result[TAP_MMSG];
		unsigned int n;
	} rxp;
	/* Started at the first batch, once shoald has detached. */
	struct shoald_crypt_pool *pool;
	bool pool_tried;

	uint8_t frame[TAP_TRAIN_MAX];
	uint8_t segment[TAP_FRAME_MAX];		/* one cut from a train */
	uint8_t pkt[TAP_MMSG][TAP_PKT_MAX];
	uint8_t rx[TAP_MMSG][TAP_RX_MAX];
	/* A flow's TCP segments of one receive batch, written as one frame. */
	struct shoal_gro gro;
};

static inline struct tap_dp *tap_of(struct shoal_dp *dp)
{
	return (struct tap_dp *)dp;
}

/* dp_tap.c */
time_t tap_mono_now(void);
void tap_queue_event(struct tap_dp *t, const struct shoal_dp_event *ev);
void tap_queue_peer_event(struct tap_dp *t, enum shoal_dp_event_type type,
			  const struct tap_peer *peer, uint32_t spi,
			  bool outbound);
void tap_flush_events(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx);
bool tap_rate_ok(struct tap_rate *r, time_t now, unsigned int per_second);
struct shoald_crypt_pool *tap_crypt_pool(struct tap_dp *t);

/* dp_tap_peer.c */
struct tap_peer *tap_peer_by_mac(const struct tap_dp *t,
				 const uint8_t *mac);
struct tap_sa *tap_sa_by_spi(const struct tap_dp *t, uint32_t spi);
int tap_endpoint_normalize(struct shoal_endpoint *out,
			   const struct shoal_endpoint *in);
void tap_peer_free(struct tap_dp *t, struct tap_peer *peer);
int tap_remove_peer(struct shoal_dp *dp,
		    const uint8_t public_key[SHOAL_KEY_LEN]);
int tap_set_peer(struct shoal_dp *dp, const struct shoal_dp_peer *p);

/* dp_tap_send.c */
void tap_tx_flush(struct tap_dp *t);
int tap_handle_tap(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx);
int tap_send_control(struct shoal_dp *dp,
		     const struct shoal_endpoint *to,
		     const void *payload, size_t len);

/* dp_tap_receive.c */
void tap_rx_flush(struct tap_dp *t, time_t now, time_t wall);
void tap_receive(struct tap_dp *t, uint8_t *buf, size_t len,
		 const struct shoal_endpoint *from, time_t now);
void tap_receive_esp(struct shoal_dp *dp, uint8_t *buf, size_t len,
		     const struct shoal_endpoint *from, shoal_dp_event_fn fn,
		     void *ctx);
int tap_handle_udp(struct tap_dp *t, shoal_dp_event_fn fn, void *ctx);

#endif
