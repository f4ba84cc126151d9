/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_SESSION_H
#define SHOALD_SESSION_H

/*
 * Peer sessions: the Noise IK handshake in control packets (lib/ctlmsg.c),
 * the SAs it yields programmed into the datapath, rekeying, pings for
 * liveness and round-trip time.  All times are CLOCK_MONOTONIC seconds.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ctlmsg.h"
#include "datapath.h"
#include "noise.h"
#include "ratelimit.h"

/*
 * One handshake's result.  The datapath holds up to SHOAL_MAX_SA_IN
 * inbound SAs per peer, one per session: the newest first.
 */
struct shoald_session {
	bool used;
	/*
	 * The peer is known to hold the keys: this side initiated, or the
	 * peer confirmed.  Only a confirmed session carries traffic out.
	 */
	bool confirmed;
	bool initiator;
	/* Taken over from the kernel after a restart: SPIs only, no keys. */
	bool resumed;
	/* The inbound SA is in the datapath (re-set it by SPI only). */
	bool installed;
	uint32_t my_spi, peer_spi;
	uint8_t in_key[SHOAL_SA_KEY_LEN];	/* until installed */
	uint8_t out_key[SHOAL_SA_KEY_LEN];	/* until used outbound */
	bool has_out_key;
	uint8_t ctl_key[SHOAL_CTL_KEY_LEN];	/* CONFIRM, PING, PONG */
	double established;
};

struct shoald_peer {
	uint8_t public_key[32];
	uint8_t mac1_key[SHOAL_CTL_KEY_LEN];	/* for messages to this peer */
	uint8_t mac[6];
	char address[64];			/* "" when none configured */
	struct shoal_endpoint endpoint;		/* len 0: unknown */

	struct shoald_session sessions[SHOAL_MAX_SA_IN];
	uint32_t out_spi;			/* peer_spi of the SA out; 0 */

	/* The handshake this side started, waiting for a RESPONSE. */
	struct shoal_noise_handshake hs;
	bool hs_active;
	uint32_t hs_spi;
	double hs_sent;
	unsigned int failures;			/* in a row, for backoff */
	double next_attempt;

	uint8_t last_timestamp[SHOAL_TAI64N_LEN];	/* newest INIT seen */
	double next_rekey, next_ping, last_alive;
	uint64_t ping_id;
	double ping_sent;
	double rtt_ms;				/* < 0: not measured */
	time_t last_handshake;			/* wall clock; 0: never */
	double last_established;		/* monotonic; 0: never */
	bool online;

	/* The datapath's counters as of the last poll. */
	uint64_t rx_bytes, tx_bytes, last_rx;
};

struct shoald {
	struct shoal_dp *dp;
	uint8_t private_key[32], public_key[32];
	uint8_t mac1_key[SHOAL_CTL_KEY_LEN];	/* for messages to us */
	struct shoald_peer *peers;
	size_t n_peers;
	unsigned int rekey_seconds, keepalive_seconds;
	struct shoald_ratelimit limiter;
	double next_poll;
	bool verbose;
	/* The mediator client's handler of BINDING_REPLY and RELAY_BOUND. */
	int (*on_mediator_udp)(struct shoald *d,
			       const struct shoal_dp_event *ev);
	void *mediator;
	/* Counters for the status and the tests. */
	uint64_t ctl_rejected, handshakes_done;
};

double shoald_now(void);

/*
 * Takes over what the datapath holds (a restart: SAs stay, known by SPI),
 * programs the peers in and starts handshakes.  Returns 0 or -errno.
 */
int shoald_sessions_start(struct shoald *d);

/* The datapath's event callback (ctx is the struct shoald). */
void shoald_on_event(void *ctx, const struct shoal_dp_event *ev);

/* Timers: handshake retries, rekeying, pings, liveness.  Often (50 ms). */
void shoald_tick(struct shoald *d, double now);

/* Refreshes the peers' counters from the datapath. */
void shoald_poll(struct shoald *d);

/* "direct" or "none" today; "relay" comes with the mediator. */
const char *shoald_peer_path(const struct shoald_peer *p);

void shoald_sessions_wipe(struct shoald *d);

#endif
