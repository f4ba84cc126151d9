/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_H
#define SHOAL_MEDIATOR_H

/*
 * shoal-mediator's pieces: server.c runs the epoll loop and owns the
 * connections, requests.c answers the requests of docs/protocol.md
 * ("Mediator messages"), presence.c sends PEER_UP and PEER_DOWN, udp.c
 * answers BINDINGs ("NAT discovery and relaying"), relay.c runs the
 * relay ports, pwhash.c runs Argon2id in a process of its own and
 * sources.c keeps what each source address may cost and the deny list.
 * All the mutable state is in one struct server; the process is
 * single-threaded.
 */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "channel.h"
#include "medmsg.h"
#include "mstore.h"
#include "tlv.h"

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

/* family 4 or 6, as on the wire (ENDPOINT). */
struct med_endpoint {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

/*
 * What an epoll event points at: the first member of a connection, a UDP
 * socket or a relay, so that one pointer says which it is.
 */
enum med_kind {
	MED_K_CONN = 1,
	MED_K_UDP,
	MED_K_RELAY,
};

struct med_handle {
	uint8_t kind;
};

/* The local address a datagram reached: where an answer must come from. */
struct med_local {
	bool valid;
	int family;			/* AF_INET or AF_INET6 (v4-mapped) */
	struct in_addr v4;
	struct in6_addr v6;
};

struct pw_job;

struct conn {
	struct med_handle h;		/* MED_K_CONN */
	struct conn *prev, *next;	/* every connection */
	struct conn *hnext;		/* online chain, by client id */
	struct conn *dead_next;
	struct conn *tnext;		/* token chain */
	struct conn *pprev, *pnext;	/* waiting to be announced */
	int fd;
	bool dead, want_out, logged_in, spoke;
	struct med_source *source;	/* counted there while it lives */
	uint32_t events;		/* what epoll watches for: conn_arm */
	/*
	 * The password request with the worker.  Until it is answered
	 * the connection's later requests wait unread (no EPOLLIN), so that
	 * its requests still take effect, and are answered, in order.
	 */
	struct pw_job *pw;
	/*
	 * announced: it counts as online (present) for its peers' requests
	 * and events.  told: its peers have been told it is online (by this
	 * connection, or by the one it replaced), so they hear when it goes;
	 * not yet while its announcement waits for its rate (announce_due).
	 * pending: waiting for a BINDING, at most until announce_at.
	 */
	bool announced, told, pending, has_token, has_public;
	uint8_t down_reason;		/* what to tell peers when reaped */
	int64_t deadline;		/* CLOCK_MONOTONIC seconds */
	struct sockaddr_storage addr;
	struct shoal_channel ch;
	int64_t announce_at;		/* ms, while pending */
	uint8_t token[MED_TOKEN_LEN];	/* from the first LOGIN on */
	/* Its BINDINGs' MAC key (shoal_ctl_token_key), and last counter. */
	uint8_t token_key[32];
	uint64_t token_counter;
	/* What the peers were last told about it (PEER_UP, hashed). */
	uint8_t view[16];
	/* Valid while logged_in. */
	struct mstore_client client;
	uint16_t tunnel_port;
	/*
	 * The first candidate: where its BINDING came from (public), else
	 * the TCP source with its tunnel port (tcp_ep, if it gave one).
	 */
	struct med_endpoint public_ep, tcp_ep;
	bool has_tcp_ep;
	unsigned int n_endpoints;	/* LAN candidates */
	struct med_endpoint ep[MED_MAX_ENDPOINTS];
	/*
	 * Its peers are to hear of it then (ms; 0: not waiting): a
	 * client's announcements are rate-limited (presence.c).
	 */
	int64_t announce_due;
};

enum med_udp_role {
	MED_UDP_MAIN,			/* port P */
	MED_UDP_ALT,			/* port P + 1, same address */
	MED_UDP_PROBE,			/* --probe */
	MED_UDP_N
};

struct med_udp {
	struct med_handle h;		/* MED_K_UDP */
	int fd;
	int family;
	bool dual;			/* [::]: IPv4 arrives v4-mapped */
	enum med_udp_role role;
};

struct relay_side {
	int64_t client;
	uint8_t pubkey[32];
	uint32_t id;
	uint8_t key[MED_RELAY_KEY_LEN];
	uint64_t counter;		/* of the last RELAY_BIND accepted */
	uint64_t challenged;		/* of the last one challenged */
	int64_t challenged_at;		/* ms */
	bool bound;
	struct sockaddr_storage ep;	/* where its RELAY_BIND came from */
	socklen_t ep_len;
	struct med_local local;		/* and the address it reached */
};

/* One relay port, forwarding between the two sides of a pair. */
struct relay {
	struct med_handle h;		/* MED_K_RELAY */
	struct relay *lprev, *lnext;	/* every live one */
	struct relay *dead_next;
	int fd;
	bool dead;
	uint16_t port;
	int64_t last_active;		/* ms: allocation or last forward */
	int64_t requested_by;		/* the client it counts against */
	/* Bytes it may still forward (--relay-rate), as of tokens_at (ms). */
	double tokens;
	int64_t tokens_at;
	/* Keys the cookies of its RELAY_CHALLENGEs: see relay_bind. */
	uint8_t cookie_key[32];
	struct relay_side side[2];
};

/* A sliding window: when each of the last cap events happened (ms). */
struct med_rate {
	unsigned int n, next;
	int64_t t[MED_RATE_MAX];
};

struct pw_client {
	struct pw_client *next;
	int64_t id;
	struct med_rate rate;
};

/*
 * A network's (and a source's) password budget counts the checks that
 * failed and the hashes made, not JOINs with the right password: a LAN
 * party joining at once spends none of it, a crowd guessing spends it at
 * once.  inflight: its jobs with the worker, counted until they are done.
 */
struct pw_network {
	struct pw_network *next;
	char name[MSTORE_NAME_MAX + 1];	/* lower case */
	struct med_rate rate;
	unsigned int inflight;
};

/* A client's announcements: a token bucket (presence.c). */
struct med_announce {
	struct med_announce *next;
	int64_t id;
	double tokens;
	int64_t at;			/* ms: tokens as of then */
};

/* A source: an IPv4 address, or an IPv6 /64 (the rest zero). */
struct med_source_key {
	uint8_t family;			/* 4 or 6 */
	uint8_t addr[16];
};

struct med_source {
	struct med_source *next;
	struct med_source_key key;
	unsigned int conns;
	double new_tokens;		/* new clients it may still make */
	int64_t new_at;			/* ms: new_tokens as of then */
	struct med_rate pw;		/* password work: see pw_network */
	unsigned int pw_inflight;
};

struct med_sources {
	struct med_source *bucket[MED_SOURCE_BUCKETS];
	uint8_t hash_key[16];
	size_t n;
	unsigned int sweep;
};

/* A deny list range, both ends included (IPv4: the first 4 bytes). */
struct med_range {
	uint8_t family;
	uint8_t lo[16], hi[16];
};

struct med_denylist {
	struct med_range *range;	/* sorted, disjoint */
	size_t n;
};

/* The operator's limits (shoal-mediator's options); 0: none. */
struct med_limits {
	unsigned int source_conns;
	unsigned int source_new_clients;	/* an hour */
	int64_t expire_after;		/* s */
	const char *deny_path;		/* NULL: no deny list */
	unsigned int relays_per_client;
	uint64_t relay_rate;		/* bytes a second a pair */
};

/*
 * What the worker gets and gives back: the password (wiped once used),
 * and the hash to match (verify) or the cost of the one to make; result
 * is mstore_verify's or mstore_hash's, and hash the one made.
 */
struct pw_work {
	bool verify;
	int result;
	struct mstore_hash_cost cost;
	char password[MSTORE_PASSWORD_MAX + 1];
	char hash[MSTORE_HASH_SIZE];
};

/*
 * One job's half in the memory shared with the worker.  state says who
 * owns work: the event loop while PW_FREE or PW_DONE, the worker while
 * PW_QUEUED.  Its index goes through the socket with each handover.
 */
enum { PW_FREE, PW_QUEUED, PW_DONE };

struct pw_slot {
	_Atomic unsigned int state;
	struct pw_work work;
};

/* The event loop's side of a job, never seen by the worker. */
struct pw_job {
	bool used;
	struct conn *c;			/* NULL once it is freed */
	int64_t client;
	uint8_t type;			/* JOIN, CREATE, SET_PASSWORD */
	uint32_t request_id;
	bool approval;			/* CREATE */
	char name[MSTORE_NAME_MAX + 1];
	struct mstore_join_ticket ticket;	/* JOIN */
	/* Counted there as in flight until request_settle. */
	bool counted;
	struct pw_network *net;
	struct med_source *source;
};

/* The worker process; job[i] goes with slot[i]. */
struct pw_queue {
	int fd;				/* to the worker, -1: none */
	int slots_fd;			/* the memfd behind slot, -1: none */
	int exe_fd;			/* this program, for the worker */
	pid_t pid;			/* the worker's, 0: none */
	struct pw_slot *slot;		/* MED_PW_QUEUE, shared with it */
	int busy;			/* the job the worker has, -1: none */
	/* Queued for the worker, oldest first. */
	unsigned int todo[MED_PW_QUEUE], todo_head, todo_n;
	unsigned int n_used;		/* jobs queued, with it, or done */
	struct pw_job job[MED_PW_QUEUE];
};

struct med_stats {
	uint64_t denied, source_full, expired;
	uint64_t bindings, bindings_known, udp_dropped;
	uint64_t relayed, relay_dropped, relay_binds, relay_challenges;
	uint64_t relay_over_budget;
};

struct server {
	int epfd, listen_fd, timer_fd, signal_fd;
	uint8_t priv[32], pub[32];
	struct mstore *store;
	struct in_addr pool_base;	/* the IPv4 pool, for candidates */
	unsigned int pool_prefix;
	struct conn *conns;
	unsigned int n_conns, max_conns;
	struct conn *online[MED_ONLINE_BUCKETS];
	struct conn *dead;		/* closed after the current batch */
	/* Login waiting for a BINDING, oldest (soonest deadline) first. */
	struct conn *pending_head, *pending_tail;
	/* Connections by UDP token; the bucket is a keyed hash of it. */
	struct conn *tokens[MED_TOKEN_BUCKETS];
	uint8_t token_key[16];

	struct sockaddr_storage listen_addr;
	socklen_t listen_len;
	struct med_udp udp[MED_UDP_N];	/* fd -1: absent */
	bool has_probe;
	struct med_endpoint probe_ep;	/* as the LOGIN reply gives it */

	uint16_t relay_lo, relay_hi;
	struct relay **relays;		/* by port - relay_lo */
	struct relay *relay_live;
	struct relay *dead_relays;	/* freed after the current batch */

	struct med_rate pw_server;
	struct pw_client *pw_clients[MED_PW_BUCKETS];
	struct pw_network *pw_networks[MED_PW_BUCKETS];
	struct pw_queue pw;

	struct med_announce *announce[MED_ANNOUNCE_BUCKETS];

	struct med_limits lim;
	struct med_sources sources;
	struct med_denylist deny;

	struct med_stats stats;
	/* One datagram, received or forwarded. */
	uint8_t dgram[65536];
	/* Replies and events apart: an event never clobbers a reply. */
	uint8_t reply[SHOAL_TLV_MAX_MSG];
	uint8_t event[SHOAL_TLV_MAX_MSG];
};

/* server.c */
/* probe may be NULL; relay_lo..relay_hi the relay ports. */
int server_open(struct server *srv, const struct sockaddr *addr,
		socklen_t addr_len, const struct sockaddr *probe,
		socklen_t probe_len, uint16_t relay_lo, uint16_t relay_hi);
int server_run(struct server *srv);
void server_close(struct server *srv);
int64_t server_now(void);
int64_t server_now_ms(void);
/* Queues a message built in buf and writes what the socket takes. */
void conn_send(struct server *srv, struct conn *c, const uint8_t *buf,
	       int len);
/* Closes c after the current batch, telling its peers reason. */
void conn_kill(struct server *srv, struct conn *c, uint8_t reason);
/* Tells epoll what c waits for now: see struct conn's pw. */
void conn_arm(struct server *srv, struct conn *c);
/* c's password request was answered: its waiting requests are next. */
void conn_resume(struct server *srv, struct conn *c);
/* The live logged-in connection of a client, or NULL. */
struct conn *online_find(struct server *srv, int64_t id);
void online_add(struct server *srv, struct conn *c);
void online_remove(struct server *srv, struct conn *c);
/* Logged in and announced: the peers know it, it takes part in presence. */
struct conn *present_find(struct server *srv, int64_t id);
/* Waiting to be announced: from LOGIN until a BINDING or announce_at. */
void pending_add(struct server *srv, struct conn *c);
void pending_remove(struct server *srv, struct conn *c);

/* udp.c */
/* Opens port P and P + 1 of the listen address, and the probe address. */
int udp_open(struct server *srv, const struct sockaddr *probe,
	     socklen_t probe_len);
void udp_close(struct server *srv);
void udp_readable(struct server *srv, struct med_udp *u);
/* The connection's token: made at its first LOGIN, hashed for lookup. */
void token_assign(struct server *srv, struct conn *c);
void token_remove(struct server *srv, struct conn *c);
/* Receives one datagram with the local address it reached: len or -1. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t size,
		 struct sockaddr_storage *from, socklen_t *from_len,
		 struct med_local *local);
/* Sends from fd (of family), from local's address if valid: 0 or -1. */
int udp_send(int fd, int family, const uint8_t *buf, size_t len,
	     const struct sockaddr_storage *to, socklen_t to_len,
	     const struct med_local *local);
/* Sets the options udp_recv needs (PKTINFO) on a new socket. */
int udp_prepare(int fd, int family, bool dual);
/* A sockaddr as an ENDPOINT (v4-mapped shown as IPv4): 0 or -1. */
int med_endpoint_from(struct med_endpoint *e, const struct sockaddr *sa);
/* ENDPOINT's wire form (19 bytes at most): its length. */
size_t med_endpoint_put(uint8_t *out, const struct med_endpoint *e);

/* relay.c */
int relay_open(struct server *srv, uint16_t lo, uint16_t hi);
void relay_close(struct server *srv);
void relay_readable(struct server *srv, struct relay *r);
/*
 * The RELAY request: 0 with the pair's allocation (made now, or the one
 * it has) in *out, or a result code.  relay_tell then sends both sides
 * their RELAY event.
 */
int relay_request(struct server *srv, struct conn *c,
		  const uint8_t peer_key[32], struct relay **out);
void relay_tell(struct server *srv, struct relay *r);
/* Frees the allocations of a client, or of one pair. */
void relay_free_client(struct server *srv, int64_t id);
void relay_free_pair(struct server *srv, int64_t a, int64_t b);
bool relay_of_client(struct server *srv, int64_t id);
/* Frees the idle ones; then the freed ones are closed by relay_reap. */
void relay_tick(struct server *srv, int64_t now_ms);
void relay_reap(struct server *srv);

/* sources.c */
void sources_init(struct server *srv);
void sources_free(struct server *srv);
/* A source address as a key (v4-mapped as IPv4): 0, or -1. */
int source_key_of(struct med_source_key *k, const struct sockaddr *sa);
/* Counts c against its source: false if that is at --source-conns. */
bool source_conn_open(struct server *srv, struct conn *c);
void source_conn_close(struct server *srv, struct conn *c);
/* Whether c's source may make a new client now; then count it. */
bool source_new_client_ok(struct server *srv, struct conn *c);
void source_new_client_made(struct server *srv, struct conn *c);
/* Frees the entries nothing counts any more, a part each tick. */
void sources_tick(struct server *srv, int64_t now_ms);
/* Reads a deny list: 0, or -1 with err ("FILE:LINE: reason"). */
int deny_load(const char *path, struct med_denylist *out, char *err,
	      size_t err_size);
void deny_free(struct med_denylist *d);
bool deny_has(const struct med_denylist *d, const struct sockaddr *sa);

/* requests.c: one decrypted message from c. */
void request_handle(struct server *srv, struct conn *c, const uint8_t *msg,
		    size_t len);
/*
 * Every job the worker is done with, its connection gone or not: the
 * budgets it was counted in are settled (a failed check counts).
 */
void request_settle(struct server *srv, struct pw_job *j,
		    const struct pw_work *w);
/* The worker's answer to c's job: the change is made and answered. */
void request_done(struct server *srv, struct conn *c, struct pw_job *j,
		  const struct pw_work *w);
/* Forgets password attempts older than their window; pw_free: all. */
void pw_tick(struct server *srv, int64_t now_ms);
void pw_free(struct server *srv);
/*
 * Sliding windows of at most cap events (cap <= MED_RATE_MAX): whether
 * one more fits now, counting one, and whether any is still inside.
 */
bool med_rate_allows(const struct med_rate *rt, unsigned int cap,
		     int64_t window, int64_t now);
void med_rate_add(struct med_rate *rt, unsigned int cap, int64_t now);
bool med_rate_busy(const struct med_rate *rt, unsigned int cap,
		   int64_t window, int64_t now);

/* pwhash.c */
/* argv[0] of the worker's process: main() runs pwhash_worker_main. */
#define PWHASH_WORKER_ARGV0 "shoal-mediator-pwhash"
/* The worker, after its exec; returns an exit status on a bad set-up. */
int pwhash_worker_main(void);
/* Starts the worker (server_open). */
int pwhash_open(struct server *srv);
/* Stops the worker and waits for it; every password copy is wiped. */
void pwhash_close(struct server *srv);
/* Once a second: a new worker if the last one died, and its work. */
void pwhash_tick(struct server *srv);
/*
 * A free job to fill (pwhash_work: its work), or NULL when MED_PW_QUEUE
 * are in use or there is no worker.
 */
struct pw_job *pwhash_job(struct server *srv);
struct pw_work *pwhash_work(struct server *srv, struct pw_job *j);
/*
 * Queues j and its work (filled by the caller) for c: c's later
 * requests wait until request_done has answered it.
 */
void pwhash_submit(struct server *srv, struct conn *c, struct pw_job *j);
/* The worker's socket is readable: answers the jobs done. */
void pwhash_readable(struct server *srv);
/* c is being freed: its job's answer will go nowhere. */
void pwhash_forget(struct server *srv, struct conn *c);

/* presence.c */
/* IPV4, IPV6 (with their prefix lengths) and MAC of a client. */
void med_put_addrs(struct shoal_tlv_writer *w,
		   const struct mstore_client *cl, unsigned int pool_prefix);

struct peerset {
	struct mstore_client *v;
	size_t n;
};

/* The active peers of client id: 0, or -1 (then empty). */
int peerset_get(struct server *srv, int64_t id, struct peerset *ps);
void peerset_free(struct peerset *ps);
/*
 * c came online (or reconnected): c gets PEER_UP for each online peer, and
 * with announce, each online peer gets PEER_UP for c.
 */
void presence_login(struct server *srv, struct conn *c, bool announce);
/*
 * Login completes (a BINDING, or the wait is over): c is announced, to
 * the peers too if it is new to them or what they know of it changed,
 * now or, past its rate, at c->announce_due.
 */
void presence_complete(struct server *srv, struct conn *c);
/* c->announce_due has come: its peers hear of it, if its rate allows. */
void presence_due(struct server *srv, struct conn *c);
/* Forgets the rates of clients that have not announced for long. */
void presence_tick(struct server *srv, int64_t now_ms);
void presence_free(struct server *srv);
/* Each online peer of c gets PEER_DOWN for c. */
void presence_down(struct server *srv, struct conn *c, uint8_t reason);
/*
 * who's peers went from before to after: PEER_UP for new pairs, to who
 * and (with both) to the other side, where both are present; PEER_DOWN
 * reason 3 for lost ones, to who and (with both) to the other side,
 * wherever that one is present.
 */
void presence_changed(struct server *srv, const struct mstore_client *who,
		      const struct peerset *before,
		      const struct peerset *after, bool both);

#endif
