/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MSTORE_H
#define SHOAL_MSTORE_H

/*
 * The mediator's storage: clients (a static public key, a nickname and the
 * addresses the mediator gave them), networks, memberships and bans, kept in
 * SQLite file or a PostgreSQL database (which several shoal-mediator
 * instances may share).  Used by shoal-mediator only.  A struct mstore is one
 * database connection: no global state, and one struct per thread.
 *
 * Clients are named by the id mstore_login returns; networks by their
 * name.  Every function returns an enum mstore_result: 0 or a positive
 * "done, and note this", or a negative error.  mstore_strerror gives the
 * message for the user; for MSTORE_E_IO, mstore_last_error says what the
 * database said.
 *
 * Nicknames and network names are ASCII letters, digits, '.', '_' and '-',
 * starting with a letter or digit (so that neither looks like a command
 * line option), 1 to MSTORE_NICK_MAX or MSTORE_NAME_MAX characters.  Both
 * are unique on the server, ignoring case; the spelling given is kept.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSTORE_KEY_LEN 32
#define MSTORE_MAC_LEN 6
#define MSTORE_NICK_MAX 32
#define MSTORE_NAME_MAX 64
/* Longer passwords are refused rather than hashed: it bounds the work. */
#define MSTORE_PASSWORD_MAX 1024
/* An Argon2id hash string with its NUL (libsodium's crypto_pwhash_STRBYTES). */
#define MSTORE_HASH_SIZE 128
#define MSTORE_MEMBER_LIMIT_DEFAULT 256
#define MSTORE_MEMBER_LIMIT_MAX 65535
/*
 * Requests a network holds waiting for approval.  They count toward its
 * member limit too; this bounds them below it.
 */
#define MSTORE_PENDING_MAX 32
#define MSTORE_SCHEMA_VERSION 3

enum mstore_result {
	MSTORE_OK = 0,
	MSTORE_PENDING = 1,		/* join: waiting for the owner */
	MSTORE_DELETED = 2,		/* leave: the last member left */

	MSTORE_E_IO = -1,		/* database error: mstore_last_error */
	MSTORE_E_NOMEM = -2,
	MSTORE_E_INVALID = -3,		/* bad argument or option */
	MSTORE_E_SCHEMA = -4,		/* not ours, or too new */
	MSTORE_E_BAD_NICK = -5,
	MSTORE_E_NICK_TAKEN = -6,
	MSTORE_E_BAD_NAME = -7,
	MSTORE_E_NAME_TAKEN = -8,
	MSTORE_E_BAD_PASSWORD = -9,	/* empty or too long */
	MSTORE_E_POOL_FULL = -10,	/* no IPv4 address left */
	MSTORE_E_NO_CLIENT = -11,
	MSTORE_E_NO_NETWORK = -12,
	MSTORE_E_PASSWORD_REQUIRED = -13,
	MSTORE_E_PASSWORD = -14,	/* wrong password */
	MSTORE_E_FULL = -15,
	MSTORE_E_BANNED = -16,
	MSTORE_E_NOT_OWNER = -17,
	MSTORE_E_NOT_MEMBER = -18,	/* the caller is not in the network */
	MSTORE_E_NO_MEMBER = -19,	/* the nickname named is not in it */
	MSTORE_E_ALREADY_MEMBER = -20,
	MSTORE_E_NOT_PENDING = -21,	/* approve: not waiting */
	MSTORE_E_NOT_BANNED = -22,
	MSTORE_E_SELF = -23,		/* the owner kicking or banning self */
	MSTORE_E_TOO_MANY_PENDING = -24,	/* MSTORE_PENDING_MAX waiting */
	MSTORE_E_NO_PASSWORD = -25,	/* a password for a network without */
	/*
	 * The connection to the database broke (PostgreSQL restarted or
	 * down): nothing was done; later calls reconnect, at most once a
	 * second.
	 */
	MSTORE_E_UNAVAILABLE = -26,
};

/* A member's standing in a network; NONE only in mstore_network_info. */
enum mstore_state {
	MSTORE_STATE_NONE = 0,
	MSTORE_STATE_PENDING = 1,
	MSTORE_STATE_MEMBER = 2,
};

/*
 * Zero (or a NULL pointer to mstore_open) means the default of each field.
 * The pool may change between runs: clients keep the address they have.
 * The ULA prefix is chosen once, when the database is created.
 */
struct mstore_options {
	/*
	 * IPv4 pool, inside 100.64.0.0/10, prefix length 10 to 30, host
	 * bits clear; its network and broadcast addresses are never given
	 * out.  pool_prefix 0: 100.64.0.0/10.
	 */
	struct in_addr pool_base;
	unsigned int pool_prefix;
	/*
	 * fdXX:XXXX:XXXX::/48 for a new database; all zeros: random (RFC
	 * 4193).  For an existing one it must be zero or the stored prefix.
	 */
	struct in6_addr ula_prefix;
	/* Argon2id cost; 0: crypto_pwhash_{OPS,MEM}LIMIT_INTERACTIVE. */
	unsigned long long opslimit;
	size_t memlimit;
	/* Of networks created without one; 0: MSTORE_MEMBER_LIMIT_DEFAULT. */
	unsigned int member_limit;
	/* How long to wait for another connection's lock; 0: 5000 ms. */
	int busy_timeout_ms;
};

struct mstore_client {
	int64_t id;
	uint8_t pubkey[MSTORE_KEY_LEN];
	char nickname[MSTORE_NICK_MAX + 1];
	struct in_addr ipv4;
	struct in6_addr ipv6;		/* ULA prefix, subnet 0, /64 */
	uint8_t mac[MSTORE_MAC_LEN];
};

struct mstore_member {
	struct mstore_client client;
	enum mstore_state state;
	bool is_owner;
};

struct mstore_network {
	int64_t id;
	char name[MSTORE_NAME_MAX + 1];
	int64_t owner;			/* client id */
	char owner_nick[MSTORE_NICK_MAX + 1];
	bool has_password, approval;
	unsigned int member_limit;
	unsigned int members;		/* active ones, owner included */
	unsigned int pending;
	enum mstore_state state;	/* of the client asking */
};

/* The Argon2id cost of a store's hashes: see mstore_hash. */
struct mstore_hash_cost {
	unsigned long long opslimit;
	size_t memlimit;
};

/*
 * What mstore_join_check found, for mstore_join_commit: the network and
 * the password hash the caller must check the password against.  It
 * holds a hash: sodium_memzero it after use, as mstore does its own.
 */
struct mstore_join_ticket {
	int64_t network;
	bool has_hash;
	char hash[MSTORE_HASH_SIZE];	/* "" without one */
};

struct mstore;

/*
 * Opens the database url names: "sqlite:PATH" or a plain path (the file
 * is created, mode 0600, if need be), or "postgresql://..." or
 * "postgres://..." (a libpq URI).  Creates its schema if it is new and
 * migrates an older one.  Refuses a database that is not a
 * shoal-mediator one or whose schema is newer than
 * MSTORE_SCHEMA_VERSION, and bad options; err then says why (never with
 * a password of the URL).  Returns MSTORE_OK, E_IO, E_NOMEM, E_INVALID,
 * E_SCHEMA or E_UNAVAILABLE.
 */
int mstore_open(struct mstore **s, const char *url,
		const struct mstore_options *o, char *err, size_t err_size);
void mstore_close(struct mstore *s);

/*
 * For the operator's commands: migrate (true) applies the migrations as
 * mstore_open would; *from is the version found (0: it was empty) and
 * *to the version after.  migrate false only reads the version (*from ==
 * *to).  OK, E_SCHEMA (not ours, or newer than MSTORE_SCHEMA_VERSION
 * when migrating), E_UNAVAILABLE, E_IO with err.
 */
int mstore_schema(const char *url, bool migrate, int *from, int *to,
		  char *err, size_t err_size);

/* Known clients and networks, for the metrics. */
int mstore_counts(struct mstore *s, int64_t *clients, int64_t *networks);
/*
 * Statements the store executed, their total and longest time in
 * nanoseconds (CLOCK_MONOTONIC), for the metrics.
 */
void mstore_db_time(const struct mstore *s, uint64_t *count,
		    uint64_t *total_ns, uint64_t *max_ns);
/*
 * The cluster's server public key kept in the database (meta
 * "server_public_key"): *present false if none is.  set stores key
 * unless one is there already: OK if the stored one is key, E_INVALID if
 * another instance stored a different one first.
 */
int mstore_server_public_key(struct mstore *s, uint8_t key[MSTORE_KEY_LEN],
			     bool *present);
int mstore_set_server_public_key(struct mstore *s,
				 const uint8_t key[MSTORE_KEY_LEN]);

const char *mstore_strerror(int result);
/* The database's message for the last MSTORE_E_IO, or "". */
const char *mstore_last_error(const struct mstore *s);

/* The /48 every client's IPv6 address is in (the rest zero). */
void mstore_ula_prefix(const struct mstore *s, struct in6_addr *prefix);
/* The IPv4 pool: its network address and prefix length. */
void mstore_pool(const struct mstore *s, struct in_addr *base,
		 unsigned int *prefix_len);

/*
 * Logs in the holder of pubkey.  A new client gets a free IPv4 address of
 * the pool (one an expired client gave back, else the lowest never given
 * out: O(1) either way), an IPv6 address and a MAC, all unique and kept
 * until it expires (mstore_expire); nickname is required.  A known client may pass NULL to keep
 * its nickname, or a new one.  Fills out (if not NULL).
 * E_BAD_NICK, E_NICK_TAKEN, E_POOL_FULL, E_INVALID (pubkey NULL).
 */
int mstore_login(struct mstore *s, const uint8_t pubkey[MSTORE_KEY_LEN],
		 const char *nickname, struct mstore_client *out);
int mstore_set_nick(struct mstore *s, int64_t client, const char *nickname);
/* Looks a client up without logging it in: E_NO_CLIENT. */
int mstore_client_by_key(struct mstore *s,
			 const uint8_t pubkey[MSTORE_KEY_LEN],
			 struct mstore_client *out);

/*
 * Expiry of clients that never come back.  mstore_expired lists up to
 * max clients whose last login was before `before` (Unix time), the
 * longest gone first (an array to free()).  mstore_expire forgets one of
 * them, if it still has not logged in since: its memberships and bans
 * go, each network it owns passes to the member that has been in it
 * longest (or is deleted when nobody else is in it), and its IPv4
 * address goes back to the pool for the next new client.  OK, or
 * E_NO_CLIENT (gone already, or back).  mstore_touch counts as a login
 * now, for a client that is online all along.
 */
int mstore_expired(struct mstore *s, int64_t before, size_t max,
		   struct mstore_client **out, size_t *count);
int mstore_expire(struct mstore *s, int64_t client, int64_t before);
int mstore_touch(struct mstore *s, int64_t client);

/*
 * Creates a network owned by (and with the one member) client.  password
 * NULL: none; approval: joins wait for the owner; member_limit 0: the
 * store's default.
 */
int mstore_create(struct mstore *s, int64_t client, const char *name,
		  const char *password, bool approval,
		  unsigned int member_limit);
/*
 * Joins client to a network: MSTORE_OK, or MSTORE_PENDING if the owner
 * must approve (also when already waiting).  Errors in the order they are
 * checked: E_NO_NETWORK, E_BANNED, E_ALREADY_MEMBER, E_PASSWORD_REQUIRED,
 * E_NO_PASSWORD (a password given to a network without one), E_PASSWORD,
 * E_FULL (members and waiting requests together at the limit),
 * E_TOO_MANY_PENDING (MSTORE_PENDING_MAX waiting already).
 */
int mstore_join(struct mstore *s, int64_t client, const char *name,
		const char *password);
/*
 * Leaves a network, or withdraws a pending request.  When the owner leaves,
 * the member who has been in longest owns it, and *new_owner (if not NULL)
 * is its client id, else 0; when nobody is left the network is deleted and
 * the result is MSTORE_DELETED.
 */
int mstore_leave(struct mstore *s, int64_t client, const char *name,
		 int64_t *new_owner);

/*
 * The owner's commands; others get E_NOT_OWNER.  The member is named by
 * its public key, never by a nickname it could change meanwhile.  approve
 * and kick (which also turns a request down) and transfer_owner take a
 * client in the network (E_NO_MEMBER); ban and unban any known one
 * (E_NO_CLIENT).  A ban also removes the member.
 */
int mstore_approve(struct mstore *s, int64_t owner, const char *name,
		   const uint8_t member[MSTORE_KEY_LEN]);
int mstore_kick(struct mstore *s, int64_t owner, const char *name,
		const uint8_t member[MSTORE_KEY_LEN]);
int mstore_ban(struct mstore *s, int64_t owner, const char *name,
	       const uint8_t member[MSTORE_KEY_LEN]);
int mstore_unban(struct mstore *s, int64_t owner, const char *name,
		 const uint8_t member[MSTORE_KEY_LEN]);
int mstore_transfer_owner(struct mstore *s, int64_t owner, const char *name,
			  const uint8_t member[MSTORE_KEY_LEN]);
/* password NULL removes it. */
int mstore_set_password(struct mstore *s, int64_t owner, const char *name,
			const char *password);
int mstore_set_approval(struct mstore *s, int64_t owner, const char *name,
			bool approval);
/* Applies to later joins: nobody is removed when it drops below the count. */
int mstore_set_limit(struct mstore *s, int64_t owner, const char *name,
		     unsigned int member_limit);
int mstore_delete(struct mstore *s, int64_t owner, const char *name);

/*
 * The same three in steps, for a caller that runs Argon2id away from the
 * database (shoal-mediator: on a worker thread, so that its event loop
 * never waits for a hash).  Each *_check makes the refusals of its
 * function that need no hash, in the same order and with the same
 * results; the password is then hashed (mstore_hash) or checked
 * (mstore_verify) elsewhere; and *_hashed or mstore_join_commit applies
 * the change, checking everything again in its transaction since any of
 * it may have changed meanwhile.  mstore_create etc. are these steps in
 * a row.
 *
 * mstore_hash and mstore_verify use no store and no global state: they
 * are safe on any thread, with the cost mstore_hash_cost copied out.
 * mstore_hash: E_BAD_PASSWORD, E_NOMEM.  mstore_verify: OK, or
 * E_PASSWORD for a password that is not the one hashed (or not 1 to
 * MSTORE_PASSWORD_MAX bytes).
 */
void mstore_hash_cost(const struct mstore *s, struct mstore_hash_cost *cost);
int mstore_hash(const struct mstore_hash_cost *cost, const char *password,
		char hash[MSTORE_HASH_SIZE]);
int mstore_verify(const char *hash, const char *password);

int mstore_create_check(struct mstore *s, int64_t client, const char *name,
			const char *password, unsigned int member_limit);
/* hash: from mstore_hash, or NULL for no password. */
int mstore_create_hashed(struct mstore *s, int64_t client, const char *name,
			 const char *hash, bool approval,
			 unsigned int member_limit);
/*
 * Up to the password: E_PASSWORD_REQUIRED if the network has one and
 * has_password is false, E_NO_PASSWORD if it has none and has_password is
 * true; OK with *t (its hash, if t->has_hash, is what
 * the password must match), or MSTORE_PENDING if already waiting.
 * commit: E_NO_NETWORK if the network is not t's any more (deleted, even
 * if made again), E_PASSWORD if its password changed, then as mstore_join.
 */
int mstore_join_check(struct mstore *s, int64_t client, const char *name,
		      bool has_password, struct mstore_join_ticket *t);
int mstore_join_commit(struct mstore *s, int64_t client, const char *name,
		       const struct mstore_join_ticket *t);
/* hash: from mstore_hash, or NULL to remove the password. */
int mstore_set_password_check(struct mstore *s, int64_t owner,
			      const char *name, const char *password);
int mstore_set_password_hashed(struct mstore *s, int64_t owner,
			       const char *name, const char *hash);

/*
 * Lookups.  The arrays are allocated (NULL when empty); free() them.
 * network_info: state is client's (client 0: MSTORE_STATE_NONE).
 * networks_of: the networks client is in or waiting for, by name.
 * members: members then pending requests, each in order of joining.
 * peers_of: the clients that are active members of at least one network
 * in which client is one too, by id; not client itself.
 */
int mstore_network_info(struct mstore *s, int64_t client, const char *name,
			struct mstore_network *out);
int mstore_networks_of(struct mstore *s, int64_t client,
		       struct mstore_network **out, size_t *count);
int mstore_members(struct mstore *s, const char *name,
		   struct mstore_member **out, size_t *count);
int mstore_peers_of(struct mstore *s, int64_t client,
		    struct mstore_client **out, size_t *count);
/* *peer: a and b are two clients sharing a network as active members. */
int mstore_is_peer(struct mstore *s, const uint8_t a[MSTORE_KEY_LEN],
		   const uint8_t b[MSTORE_KEY_LEN], bool *peer);

/* counts */

/* For the operator's metrics: the clients and networks there are. */
int mstore_counts(struct mstore *s, int64_t *clients, int64_t *networks);
/*
 * The time spent in the database since mstore_open: calls (statements
 * stepped, transactions begun and ended), their total and the longest.
 */
void mstore_db_time(const struct mstore *s, uint64_t *count,
		    uint64_t *total_ns, uint64_t *max_ns);

#endif
