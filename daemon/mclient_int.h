/* SPDX-License-Identifier: MIT */
#ifndef SHOALD_MCLIENT_INT_H
#define SHOALD_MCLIENT_INT_H

/*
 * Inside the mediator client (daemon/mclient*.c): its state and the calls
 * its files make to one another.  Nothing outside them includes this.
 */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "channel.h"
#include "ctlmsg.h"
#include "endpoint.h"
#include "medmsg.h"
#include "mclient.h"
#include "ratelimit.h"
#include "tlv.h"

#define MAX_PENDING 32
/* Instances a cluster may tell us of, beside the configured ones. */
#define MC_MAX_LEARNED 16
#define MC_MAX_INSTANCES (SHOAL_CONFIG_MAX_MEDIATORS + MC_MAX_LEARNED)
/* Failing over: at once, then 1, 2, 4 .. FAILOVER_MAX s, +-25%. */
#define FAILOVER_MAX 30.0
/* MED_E_DATABASE: no instance can log us in; not sooner than this. */
#define DATABASE_RETRY 5.0
#define REQUEST_TIMEOUT 10.0
#define RECONNECT_MAX 60.0
#define BINDING_REFRESH 25.0	/* under the shortest NAT timeouts seen */
#define PUNCH_TIME 5.0
#define RELAY_BIND_RETRY 1.0
#define RELAY_BIND_REFRESH 25.0
#define NETCHECK_RESEND 0.3

/* Local results, beside the mediator's (docs/architecture.md). */
enum {
	E_NO_MEDIATOR = -200,
	E_UNREACHABLE = -201,
	E_TIMEOUT = -202,
	E_BAD_REQUEST = -203,
	E_AMBIGUOUS = -205,
};

/* The mediator's: nobody by that nickname is in the network. */
#define E_NO_MEMBER (-19)
#define NETWORK_NAME_MAX 64

/*
 * PK_RESOLVE: an owner's command that names its member by nickname, while
 * NETWORKS finds the member's key; the command itself follows as PK_PLAIN
 * in the same slot.
 */
enum pending_kind {
	PK_PLAIN, PK_NETWORKS, PK_LOGOUT, PK_NICK, PK_INTERNAL, PK_RESOLVE,
	PK_CHATNET,	/* chat's own NETWORKS (mclient_chat.c) */
	PK_NAMES	/* NETWORKS for the name server (mclient_names.c) */
};

struct pending {
	bool used;
	enum pending_kind kind;
	uint32_t id;
	int fd;
	double deadline;
	char nick[SHOAL_CONFIG_MAX_NICK + 1];	/* PK_NICK, PK_RESOLVE */
	uint8_t verb;				/* PK_RESOLVE */
	char network[NETWORK_NAME_MAX + 1];	/* PK_RESOLVE */
};

/*
 * NAT tests (RFC 5780), all from the tunnel port, whose NAT treatment is
 * what peers meet (a full-cone router may forward that port alone):
 * BINDINGs to the mediator's port asking for answers from elsewhere
 * (filtering; BASE is also the mapping seen at the port), then to the
 * alternate port and the probe address (mapping).
 */
enum nc_test {
	NC_FILTER_BASE, NC_FILTER_ADDR, NC_FILTER_PORT,
	NC_MAP_ALT, NC_MAP_PROBE, NC_COUNT
};

/*
 * One instance of the mediator: the configured ones first, in their
 * order, then those the cluster told us of (docs/protocol.md,
 * "Failover").  Every one is pinned to the one server key.
 */
struct mc_instance {
	char address[SHOAL_CONFIG_MAX_HOSTPORT + 1];
	char name[MED_INSTANCE_NAME_MAX + 1];	/* "": not told yet */
	uint32_t load;
	bool has_load, learned;
};

struct mclient {
	struct shoald *d;
	int epfd;
	struct shoald_bucket punches;	/* peer_up_may_punch() */
	char state_path[PATH_MAX];

	bool configured;
	/* Where the connection goes or went: inst[cur]'s, or a REDIRECT's. */
	char address[SHOAL_CONFIG_MAX_HOSTPORT + 1];
	struct mc_instance inst[MC_MAX_INSTANCES];
	unsigned int n_inst, n_configured, cur;
	/*
	 * redirected: address is the instance a REDIRECT named (one per
	 * login attempt); no_redirect: the next LOGIN carries NO_REDIRECT
	 * (redirected, or failed over: no ping-pong between instances).
	 */
	bool redirected, no_redirect;
	char instance[MED_INSTANCE_NAME_MAX + 1];	/* the LOGIN reply's */
	char last_error[320];		/* why the last login failed; "" */
	char learned_path[PATH_MAX];
	uint8_t server_key[32];
	char nickname[SHOAL_CONFIG_MAX_NICK + 1];
	/*
	 * [Mediator] AddressRanges: where the addresses a mediator assigns,
	 * ours and our peers', must lie.  A mediator is trusted with whom
	 * we meet, not with our routing table.
	 */
	struct shoal_prefix ranges[SHOAL_CONFIG_MAX_ADDRS];
	unsigned int n_ranges;

	int fd;
	bool connecting, login_sent, logged_in;
	uint32_t events;
	struct shoal_channel ch;
	struct shoal_endpoint server;	/* TCP, and UDP on the same port */
	double next_connect, last_rx, next_keepalive, login_time;
	unsigned int failures;
	uint32_t next_id, login_id;
	int login_fd;			/* a `shoal login` waiting */
	double login_deadline;
	bool swept;

	/* From the LOGIN reply. */
	char my_nick[SHOAL_CONFIG_MAX_NICK + 1];
	bool has_v4, has_v6;
	uint8_t v4[4], v4_len, v6[16], v6_len;
	uint8_t token[SHOAL_CTL_TOKEN_LEN];
	bool has_token;
	/* The token's MAC key (from our key and the mediator's), counter. */
	uint8_t token_key[SHOAL_CTL_KEY_LEN];
	uint64_t token_counter;
	struct shoal_endpoint probe;	/* len 0: none */
	bool udp_ok;
	struct shoal_endpoint public_ep;
	/* ForwardedPort's candidate as the last LOGIN sent it; len 0: none. */
	struct shoal_endpoint forwarded_ep;
	double next_binding;
	uint8_t bind_txid[SHOAL_CTL_TXID_LEN];

	struct pending pending[MAX_PENDING];

	bool nc_running;
	int nc_client;
	double nc_mapping_from, nc_end, nc_next_send, nc_done;
	char *nc_result;		/* the last one's JSON */
	uint8_t nc_txid[NC_COUNT][SHOAL_CTL_TXID_LEN];
	bool nc_got[NC_COUNT];
	uint8_t nc_flags[NC_COUNT];
	struct shoal_endpoint nc_mapped[NC_COUNT];
	/*
	 * Our NAT as the last netcheck found it, and as the mediator was
	 * told (LOGIN, NAT): peers plan with it (docs/protocol.md, "No
	 * waiting for what cannot work").  nc_auto: this login's own
	 * netcheck has been started.
	 */
	struct shoal_nat nat, nat_told;
	bool nc_auto;

	struct mc_tcp *tcp;		/* relays over TCP (mclient_tcp.c) */

	/*
	 * mclient_names.c: the members as the last NETWORKS listed them,
	 * by key; a NETWORKS owed, when one is due (0: none), and when one
	 * is due anyway.
	 */
	struct mc_name *names;
	size_t n_names;
	bool names_again;
	double names_due, names_next;
};

static inline struct mclient *mc(struct shoald *d)
{
	return d->mediator;
}

/*
 * A PEER_UP for a peer not online starts a handshake to every candidate
 * and five seconds of knocks: at most once a second per peer, and
 * PEERUP_RATE a second in all, however fast a mediator sends them (the
 * others start on the peer's retry timer).
 */
#define PEERUP_RATE 20.0

/* mclient.c */
void mc_answer(int fd, int code, const char *message, const char *body);
void mc_ep_json(FILE *f, const struct shoal_endpoint *ep);
int mc_ep_from_attr(struct shoal_endpoint *ep, const uint8_t *v,
		    size_t len);
size_t mc_ep_to_attr(uint8_t *v, const struct shoal_endpoint *ep);
void mc_with_port(struct shoal_endpoint *ep, uint16_t port);
uint16_t mc_port_of(const struct shoal_endpoint *ep);
/* Closes the connection (pending requests fail), and fails over. */
void mc_disconnect(struct mclient *m, const char *why);
/* Closes the connection, nothing more. */
void mc_close(struct mclient *m, const char *why);
void mc_start_connect(struct mclient *m);
bool mc_send_msg(struct mclient *m, struct shoal_tlv_writer *w);

/* mclient_msg.c */
void mc_send_login(struct mclient *m);
void mc_addrs_json(const struct mclient *m, FILE *f);
void mc_answer_login(struct mclient *m);
void mc_forget_peer(struct mclient *m, struct shoald_peer *p);
bool mc_same_host(const struct shoal_endpoint *host,
		  const struct shoal_endpoint *ep);
bool mc_at_server(const struct mclient *m, const struct shoal_endpoint *ep);
void mc_on_message(struct mclient *m, const uint8_t *buf, size_t len);

/* mclient_udp.c */
void mc_send_binding(struct mclient *m, const struct shoal_endpoint *to,
		     uint8_t flags, const uint8_t *txid, bool with_token);
void mc_send_relay_bind(struct mclient *m, struct shoald_peer *p,
			double now, const uint8_t *cookie);
int mc_on_udp(struct shoald *d, const struct shoal_dp_event *ev);
void mc_ask_relay(struct mclient *m, struct shoald_peer *p, double now);

/* mclient_netcheck.c */
void mc_nc_send(struct mclient *m, double now);
/* What to do about a peer not online, given both NATs: relay, birthday. */
void mc_nat_plan(struct mclient *m, struct shoald_peer *p, double now);
void mc_nc_start(struct mclient *m, int client_fd);
void mc_nc_auto(struct mclient *m, double now);
void mc_nc_finish(struct mclient *m);

/* mclient_tcp.c */
/* Logged in, and no BINDING answered for a while: UDP does not get out. */
bool mc_udp_blocked(const struct mclient *m, double now);
/*
 * The relay at relay reached over TCP: p->relay becomes the loopback
 * endpoint that stands for it.  False if that cannot be set up.
 */
bool mc_tcp_relay(struct mclient *m, struct shoald_peer *p,
		  const struct shoal_endpoint *relay);
/* p's relay is reached over TCP. */
bool mc_tcp_is(const struct mclient *m, const struct shoald_peer *p);
bool mc_tcp_handle(struct mclient *m, int fd, uint32_t events);
void mc_tcp_tick(struct mclient *m, double now);
void mc_tcp_close_all(struct mclient *m);

/* mclient_state.c */
int mc_save_state(struct mclient *m);
/* The learned instances, kept beside the saved login (or removed). */
void mc_save_learned(struct mclient *m);
void mc_load_learned(struct mclient *m);

/* mclient_cluster.c */
/* The configured instances (learned ones dropped), the first current. */
void mc_set_configured(struct mclient *m, const char *const *addrs,
		       unsigned int n);
/* Adds a learned instance (no name yet): false if known or no room. */
bool mc_add_learned(struct mclient *m, const char *address);
/* The INSTANCEs of a LOGIN reply or an INSTANCES event. */
void mc_learn(struct mclient *m, const struct shoal_tlv_msg *msg);
/*
 * The connection to m->address failed or was lost: the next instance
 * and when to connect to it (backoff and jitter), logging in there with
 * NO_REDIRECT.
 */
void mc_failover(struct mclient *m);
/* A LOGIN reply of MED_E_REDIRECT: where to go instead, or failover. */
void mc_redirect(struct mclient *m, const struct shoal_tlv_msg *msg);
void mc_instances_json(const struct mclient *m, FILE *f);

/* mclient_names.c */
/* Our nickname and addresses to the name server (none: logged out). */
void mc_names_self(struct mclient *m);
/* The members changed (or may have): NETWORKS again, soon. */
void mc_names_refresh(struct mclient *m);
/*
 * A PEER_UP's key, nickname and addresses (NULL: none): a member we
 * know is renamed in place; one we do not know asks for NETWORKS.
 */
void mc_names_peer(struct mclient *m, const uint8_t *key, const char *nick,
		   const uint8_t *v4, const uint8_t *v6);
void mc_names_free(struct mclient *m);
void mc_names_tick(struct mclient *m, double now);
/* The answer to the NETWORKS of mc_names_refresh (rc < 0: failed). */
void mc_names_reply(struct mclient *m, const struct shoal_tlv_msg *msg,
		    int rc);

#endif
