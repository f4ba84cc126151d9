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
#include <stdio.h>
#include <time.h>

#include "chatmsg.h"
#include "ctlmsg.h"
#include "datapath.h"
#include "medmsg.h"
#include "noise.h"
#include "ratelimit.h"
#include "stamps.h"

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
	/* Chat (chat.c): the last counter sent, those received. */
	uint64_t chat_tx;
	struct shoal_chat_replay chat_rx;
};

#define SHOALD_MAX_CANDIDATES 8
/* A port mapping's and PublicEndpoint. */
#define SHOALD_MAX_OWN_CANDIDATES 2

/* Where a handshake's INIT goes. */
enum shoald_targets {
	SHOALD_TO_ENDPOINT,	/* the peer's endpoint */
	SHOALD_TO_ALL,		/* and the bound relay and every candidate */
	SHOALD_TO_DIRECT,	/* the candidates alone: is there a way round
				 * the relay? */
};

struct shoald_peer {
	uint8_t public_key[32];
	uint8_t mac1_key[SHOAL_CTL_KEY_LEN];	/* for messages to this peer */
	uint8_t mac[6];
	char address[64];			/* "" when none configured */
	struct shoal_endpoint endpoint;		/* len 0: unknown */
	/*
	 * The sources its frames may claim; none: any.  Until it is set
	 * (from the configuration, or from what the mediator assigned),
	 * the datapath keeps what it holds: a restarted shoald does not
	 * lift the kernel's restriction on a peer it adopts.
	 */
	bool allowed_ips_set;
	unsigned int n_allowed_ips;
	struct shoal_prefix allowed_ips[SHOAL_MAX_ALLOWED_IPS];

	struct shoald_session sessions[SHOAL_MAX_SA_IN];
	uint32_t out_spi;			/* peer_spi of the SA out; 0 */

	/* The handshake this side started, waiting for a RESPONSE. */
	struct shoal_noise_handshake hs;
	bool hs_active;
	uint32_t hs_spi;
	double hs_sent;
	unsigned int failures;			/* in a row, for backoff */
	double next_attempt;

	double next_rekey, next_ping, last_alive;
	uint64_t ping_id;
	double ping_sent;
	double rtt_ms;				/* < 0: not measured */
	time_t last_handshake;			/* wall clock; 0: never */
	double last_established;		/* monotonic; 0: never */
	bool online;

	/* The datapath's counters as of the last poll. */
	uint64_t rx_bytes, tx_bytes, last_rx;

	/* Learned from the mediator (mediator mode; all zero otherwise). */
	bool from_mediator;
	char nickname[33];
	char address6[64];
	/* Its assigned addresses, in the device's neighbour table. */
	bool has_v4, has_v6;
	uint8_t v4[4], v6[16];
	/* Where to send handshakes while the peer is offline. */
	struct shoal_endpoint candidates[SHOALD_MAX_CANDIDATES];
	unsigned int n_candidates;
	double up_since;			/* its PEER_UP */
	double knock_until;			/* INITs every 0.5 s till then */
	double last_knock;
	/* The INIT of hs, to send again as it is (a knock), and where to. */
	uint8_t init_msg[SHOAL_CTL_INIT_LEN];
	/*
	 * The peer's cookie, from its COOKIE_REPLY while it was under load:
	 * the MAC2 key of our INITs until it expires.
	 */
	uint8_t cookie_key[SHOAL_CTL_KEY_LEN];	/* its replies' */
	uint8_t cookie[SHOAL_CTL_COOKIE_LEN];
	double cookie_time;			/* 0: none */
	double cookie_resent;			/* the INIT sent again for it */
	enum shoald_targets hs_targets;
	double pong_window;		/* PONGs sent since then: pongs */
	unsigned int pongs;
	double next_direct_try;			/* while on the relay */
	double relay_asked;			/* RELAY sent; 0: not */
	bool has_relay, relay_bound;
	struct shoal_endpoint relay;
	uint32_t relay_id;
	uint8_t relay_key[SHOAL_CTL_RELAY_KEY_LEN];
	uint64_t relay_counter;			/* of the last RELAY_BIND */
	double next_relay_bind, relay_last_bound;
	double relay_check;			/* a BOUND due by then */
	bool relay_switch;			/* move to it once bound */
	bool stale;				/* not re-announced since login */
	/* Its netcheck, from the mediator (unknown: an old client). */
	struct shoal_nat nat;
	/* Its first ENDPOINT: the public one, where birthday probes go. */
	struct shoal_endpoint public_ep;
	/* Its own socket, which the datapath sends its ESP from. */
	bool has_sock;
	int sock_fd;
	struct shoald_birthday *bd;		/* birthday.c; NULL: none */
	double bd_last;				/* the last run began */
	unsigned int bd_fails;			/* runs in a row that failed */
	/* Chat (chat.c): its messages' rate, the ids of the last ones. */
	struct shoald_bucket chat_rate;
	uint64_t chat_seen[8];
	unsigned int chat_seen_next;
};

struct shoald_closing {
	int fd;
	double at;
};

struct shoald {
	struct shoal_dp *dp;
	uint8_t private_key[32], public_key[32];
	uint8_t mac1_key[SHOAL_CTL_KEY_LEN];	/* for messages to us */
	uint8_t cookie_key[SHOAL_CTL_KEY_LEN];	/* our COOKIE_REPLYs' */
	uint8_t cookie_secret[SHOAL_CTL_KEY_LEN];	/* our cookies' */
	double cookie_secret_born;
	bool cookie_unsynced;	/* the datapath refused the last one */
	/* The newest INIT timestamp of each peer: replays are refused. */
	struct shoald_stamps stamps;
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
	/*
	 * Keep peers the datapath holds that no configuration names (a
	 * restarted mediator-mode shoald: the mediator announces them again).
	 */
	bool adopt_peers;
	/* Counters for the status and the tests. */
	uint64_t ctl_rejected, handshakes_done;
	uint64_t dp_control_drops;	/* the datapath's, at the last poll */
	/* Handshakes this side started afresh, and those answered. */
	uint64_t initiated, initiated_ok;
	uint64_t cookies_sent, cookies_taken;
	/*
	 * Candidates of our own that LOGIN sends before the LAN's (len 0:
	 * none): a port mapping's external endpoint (portmap.c), then
	 * PublicEndpoint; with
	 * forwarded_port (ForwardedPort), the public address the mediator
	 * sees with that port too.  mclient_candidates_changed() after a
	 * change.
	 */
	struct shoal_endpoint own_candidates[SHOALD_MAX_OWN_CANDIDATES];
	uint16_t forwarded_port;
	/* The "port_mapping" value of status and netcheck (portmap.c). */
	void (*port_mapping_json)(struct shoald *d, FILE *f);
	void *portmap;
	/* The loop's epoll: per-peer sockets are read there (birthday.c). */
	int epfd;
	/*
	 * While a control packet read on a peer's socket is handled: that
	 * socket and where the packet came from; answers leave from it.
	 */
	bool rx_sock;
	int rx_fd;
	struct shoal_endpoint rx_from;
	bool no_peer_sockets;		/* the datapath cannot */
	struct shoald_closing *closing;	/* sockets closed on a later tick */
	size_t n_closing;
	unsigned int bd_running;
	uint64_t bd_runs, bd_wins, bd_probes;
	void *lanbcast;			/* lanbcast.c; NULL: not open */
	/*
	 * Chat (chat.c): its state, and its handler of CHAT and CHAT_ACK
	 * packets (NULL: dropped).
	 */
	struct shoald_chat *chat;
	void (*on_chat)(struct shoald *d, const struct shoal_dp_event *ev);
	void *dns;			/* the name server (dns.c); NULL */
};

double shoald_now(void);

static inline void shoald_port_mapping_json(struct shoald *d, FILE *f)
{
	if (d->port_mapping_json)
		d->port_mapping_json(d, f);
	else
		fputs("null", f);
}

/*
 * Takes over what the datapath holds (a restart: SAs stay, known by SPI),
 * programs the peers in and starts handshakes.  stamps_path is where the
 * peers' handshake timestamps are kept (stamps.h).  Returns 0 or -errno.
 */
int shoald_sessions_start(struct shoald *d, const char *stamps_path);

/* The datapath's event callback (ctx is the struct shoald). */
void shoald_on_event(void *ctx, const struct shoal_dp_event *ev);

/* Timers: handshake retries, rekeying, pings, liveness.  Often (50 ms). */
void shoald_tick(struct shoald *d, double now);

/* Refreshes the peers' counters from the datapath. */
void shoald_poll(struct shoald *d);

/* "direct", "relay" or "none". */
const char *shoald_peer_path(const struct shoald_peer *p);

/*
 * Peers that come and go (mediator mode).  Adding a known key returns the
 * peer it has.  Pointers into d->peers last until the next add or remove.
 */
struct shoald_peer *shoald_peer_add(struct shoald *d, const uint8_t key[32],
				    const uint8_t mac[6]);
struct shoald_peer *shoald_peer_find(struct shoald *d, const uint8_t key[32]);
void shoald_peer_remove(struct shoald *d, struct shoald_peer *p);
/* Sets the sources the peer's frames may claim, in the datapath too. */
void shoald_peer_set_allowed_ips(struct shoald *d, struct shoald_peer *p,
				 const struct shoal_prefix *allowed, size_t n);

/* Starts a handshake now (hole punching: SHOALD_TO_ALL). */
void shoald_initiate(struct shoald *d, struct shoald_peer *p, double now,
		     enum shoald_targets to);
/*
 * Sends the handshake in progress again, to every candidate: an INIT that
 * arrived before the peer knew us was dropped, and a new handshake each
 * time would throw away answers still on their way.  Starts one if none
 * is in progress.
 */
void shoald_knock(struct shoald *d, struct shoald_peer *p, double now);

void shoald_sessions_wipe(struct shoald *d);

/*
 * For chat.c: the session whose inbound SPI is spi (and its peer), the
 * one a peer's packets go out on (NULL: none with keys), and a control
 * packet sent to `to` as the session code sends its own.
 */
struct shoald_session *shoald_session_by_spi(struct shoald *d, uint32_t spi,
					     struct shoald_peer **peer);
struct shoald_session *shoald_session_out(struct shoald_peer *p);
void shoald_send_ctl(struct shoald *d, const struct shoal_endpoint *to,
		     const uint8_t *msg, int len);

/*
 * birthday.c: per-peer sockets and birthday probing (docs/protocol.md,
 * "Birthday probing").  start: as the hard side (sockets) or the easy
 * one (probes); tick: often; handle: true if fd is one of its sockets.
 */
/*
 * A peer that never had a run while every run was taken: its plan is
 * looked at again as soon as one ends (not at the next direct try).
 */
bool shoald_birthday_queued(const struct shoald *d,
			    const struct shoald_peer *p);
void shoald_birthday_start(struct shoald *d, struct shoald_peer *p,
			   bool hard, double now);
void shoald_birthday_tick(struct shoald *d, double now);
bool shoald_sock_handle(struct shoald *d, int fd);
/* The socket the packet being handled came in on, if it is p's; else -1. */
int shoald_sock_want(struct shoald *d, const struct shoald_peer *p);
/* The datapath took fd (-1: the device's socket) for p. */
void shoald_sock_attached(struct shoald *d, struct shoald_peer *p, int fd,
			  double now);
/* p goes (or starts over): its birthday and its socket too. */
void shoald_sock_drop(struct shoald *d, struct shoald_peer *p, double now);
/* The peer socket a control packet to `to` leaves from, or -1. */
int shoald_sock_for(struct shoald *d, const struct shoal_endpoint *to);
int shoald_sock_send(int fd, const struct shoal_endpoint *to,
		     const void *payload, size_t len);
void shoald_socks_close(struct shoald *d);

#endif
