/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_MEDIATOR_H
#define SHOAL_MEDIATOR_MEDIATOR_H

/*
 * shoal-mediator's pieces, each with a header of its own: server.c runs
 * the epoll loop and owns the connections, requests.c answers the
 * requests of docs/protocol.md ("Mediator messages"), presence.c sends
 * PEER_UP and PEER_DOWN, udp.c answers BINDINGs ("NAT discovery and
 * relaying"), relay.c runs the relay ports, pwhash.c runs Argon2id in a
 * process of its own, sources.c keeps what each source address may cost
 * and the deny list, mstore.c is the SQLite store, and cluster.c joins
 * the instances of a cluster on PostgreSQL (clusterbus.c: its messages).
 * All the mutable state is in one struct server (server.h); the process
 * is single-threaded.  This header holds what they all share: the
 * tunables, and what an epoll event points at.
 */

#include <stdint.h>

#define MED_MAX_CONNS 20000
/* LAN candidates kept of a LOGIN's: the first ones, the client's best. */
#define MED_MAX_ENDPOINTS 8
/*
 * A client's peers hear it come (again) at most so often: a burst of
 * MED_ANNOUNCE_BURST, then one each MED_ANNOUNCE_EVERY_MS.  Logging in
 * again and again with new candidates cannot make every peer punch
 * towards them again and again.
 */
#define MED_ANNOUNCE_BURST 4
#define MED_ANNOUNCE_EVERY_MS 5000
#define MED_ANNOUNCE_BUCKETS 1024
/* Requests are small; a bigger frame is refused from its length alone. */
#define MED_RECV_LIMIT 8192
/*
 * From accept to a successful LOGIN, whatever is said meanwhile (and
 * again after a LOGOUT): only a logged-in client's messages keep a
 * connection for longer.
 */
#define MED_HELLO_TIMEOUT 10	/* s */
#define MED_IDLE_TIMEOUT 270	/* three missed KEEPALIVEs, s */
/* The defaults of --source-conns, --source-new-clients, --expire-after. */
#define MED_SOURCE_CONNS 64
#define MED_SOURCE_NEW_CLIENTS 32	/* an hour */
#define MED_EXPIRE_DAYS 180
#define MED_SOURCE_BUCKETS 4096
/* Clients looked at for expiry per tick. */
#define MED_EXPIRE_BATCH 64
#define MED_IPV6_PREFIX 64
#define MED_ONLINE_BUCKETS 4096
#define MED_TOKEN_BUCKETS 4096
#define MED_TOKEN_LEN 16
#define MED_RELAY_KEY_LEN 32
/* The defaults of --relays-per-client and --relay-rate (KiB/s a pair). */
#define MED_RELAYS_PER_CLIENT 32
#define MED_RELAY_RATE_KIB 1024
/* The TCP fallback (tcpbridge.c): streams at once, and from one address. */
#define MED_TCP_STREAMS 256
#define MED_TCP_STREAMS_PER_SOURCE 64
/* A relay's RELAY_CHALLENGEs to one side: at most one this often. */
#define MED_RELAY_CHALLENGE_MS 200
/* A cookie is good for this long, and the one before it too. */
#define MED_RELAY_COOKIE_EPOCH_MS 60000
/* Without a BINDING, a client is announced this long after LOGIN. */
#define MED_ANNOUNCE_WAIT_MS 3000
/* A relay allocation that forwarded nothing for this long is freed. */
#define MED_RELAY_IDLE_MS (10 * 60 * 1000)
#define MED_RELAY_PORTS_LO 51810
#define MED_RELAY_PORTS_HI 51999
/*
 * Argon2id (a JOIN's password check, a CREATE's or SET_PASSWORD's hash)
 * takes tens of milliseconds and 64 MiB each.  It runs in one worker
 * process, so it no longer stalls the event loop, but it is still CPU an
 * attacker can spend: at most this many per client and over the whole
 * server, in sliding windows.  The server's 8 a second keep the worker
 * about half busy, so an honest request waits for at most a few others.
 */
#define MED_PW_CLIENT_MAX 5
#define MED_PW_CLIENT_WINDOW_MS 10000
#define MED_PW_SERVER_MAX 8
#define MED_PW_SERVER_WINDOW_MS 1000
/*
 * And per source address and per network (failed checks and hashes, see
 * struct pw_network), so that a crowd of sybil clients, from one address
 * or aimed at one network, spends that address's or that network's
 * share and not everyone's.  A share is smaller than the server's second
 * even in a burst: others always find room.
 */
#define MED_PW_SOURCE_MAX 5
#define MED_PW_SOURCE_WINDOW_MS 2000
#define MED_PW_NETWORK_MAX 5
#define MED_PW_NETWORK_WINDOW_MS 2000
#define MED_PW_BUCKETS 256
/* The biggest of the caps above: a sliding window's size. */
#define MED_RATE_MAX 8
/*
 * Password jobs queued or running at once, at most one per connection:
 * two seconds' worth at the server's rate.  More would not be hashed
 * sooner, only answered later; beyond it a request gets -104 at once.
 */
#define MED_PW_QUEUE 16

/*
 * What an epoll event points at: the first member of a connection, a UDP
 * socket or a relay, so that one pointer says which it is.
 */
enum med_kind {
	MED_K_CONN = 1,
	MED_K_UDP,
	MED_K_RELAY,
	MED_K_CLUSTER,		/* the cluster's database connection */
};

struct med_handle {
	uint8_t kind;
};

#endif
