// SPDX-License-Identifier: MIT
/*
 * The mediator's storage, on SQLite or PostgreSQL (db.h).  Every
 * statement is a constant string with bound parameters, prepared once per
 * connection, in SQL both databases run alike.  Changes of more than one
 * statement run in transactions: on SQLite BEGIN IMMEDIATE, which holds
 * the file's write lock throughout, so that two mediators on one file
 * never see each other's half-done work nor deadlock upgrading a read
 * lock.
 *
 * On PostgreSQL several instances write one database at once, in READ
 * COMMITTED transactions.  Row locks rather than SERIALIZABLE with
 * retries: each writing transaction first locks (SELECT ... FOR UPDATE)
 * the one row its decision rests on -- the network's row for anything
 * about a network's members, the ipv4_alloc row for a new client's
 * addresses, the client's row for expiry -- so that concurrent writers
 * take turns where they would conflict and never elsewhere, and nothing
 * needs redoing.  What no row lock covers (a name two writers create at
 * once) the unique indexes refuse; that transaction is then run once
 * more, and its own checks see the other's row (retry_conflict).
 *
 * Argon2id runs outside any transaction: it is slow on purpose, and a
 * writer holding a lock meanwhile would stall every other one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "db.h"
#include "mac.h"
#include "mschema.h"
#include "mstore.h"

#define DEFAULT_POOL 0x64400000u	/* 100.64.0.0 */
#define DEFAULT_POOL_PREFIX 10
#define DEFAULT_BUSY_MS 5000
#define ULA_LEN 6
#define IID_LEN 8
/* Candidates tried for a unique MAC or interface id before giving up. */
#define MAX_CANDIDATES 1000

/*
 * The schema is in mschema.c.  Member states are enum mstore_state.
 * members.since orders a network's members by when they became one
 * (approval, not the request): the longest-standing one inherits the
 * network.  ipv4 is in host order; the IPv6 address is the meta ULA
 * prefix, subnet 0, ipv6_iid.
 *
 * IPv4 allocation is O(1): ipv4_alloc.next is the lowest address of the
 * pool never handed out, free_ipv4 holds the ones given back when a
 * client expired, and ipv4_alloc.pool the pool (first << 32 | last)
 * these are about; a new pool starts them over (pool_sync).  Nothing of
 * it is cached in the process: another instance may allocate too.
 */
#define CLIENT_COLS "c.id, c.pubkey, c.nickname, c.ipv4, c.ipv6_iid, c.mac"
#define NETWORK_COLS							\
	"n.id, n.name, n.owner_id, o.nickname,"				\
	" n.password_hash IS NOT NULL, n.approval, n.member_limit,"	\
	" (SELECT count(*) FROM members WHERE network_id = n.id"	\
	"  AND state = 2),"						\
	" (SELECT count(*) FROM members WHERE network_id = n.id"	\
	"  AND state = 1)"

enum stmt {
	ST_META_GET,
	ST_META_PUT,
	ST_META_SET,
	ST_META_ADD,
	ST_ALLOC_GET,
	ST_ALLOC_PUT,
	ST_ALLOC_NEXT,
	ST_COUNTS,
	ST_CLIENT_BY_KEY,
	ST_CLIENT_BY_ID,
	ST_CLIENT_BY_NICK,
	ST_IPV4_TAKEN,
	ST_IPV4_GAP,
	ST_IPV4_MAX,
	ST_FREE_FIRST,
	ST_FREE_DELETE,
	ST_FREE_PUT,
	ST_FREE_OUTSIDE,
	ST_EXPIRED,
	ST_CLIENT_TOUCH,
	ST_CLIENT_DELETE,
	ST_CLIENT_SEEN,
	ST_OWNED,
	ST_MAC_TAKEN,
	ST_IID_TAKEN,
	ST_CLIENT_INSERT,
	ST_CLIENT_LOGIN,
	ST_CLIENT_NICK,
	ST_NET_BY_NAME,
	ST_NET_LOCK,
	ST_NET_INSERT,
	ST_NET_DELETE,
	ST_NET_OWNER,
	ST_NET_PASSWORD,
	ST_NET_APPROVAL,
	ST_NET_LIMIT,
	ST_NET_INFO,
	ST_NETS_OF,
	ST_MEMBER_STATE,
	ST_MEMBER_COUNT,
	ST_PENDING_COUNT,
	ST_MEMBER_INSERT,
	ST_MEMBER_APPROVE,
	ST_MEMBER_DELETE,
	ST_MEMBER_OLDEST,
	ST_MEMBERS,
	ST_BANNED,
	ST_BAN_INSERT,
	ST_BAN_DELETE,
	ST_PEERS_OF,
	ST_IS_PEER,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_PUT] = "INSERT INTO meta (key, value) VALUES (?1, ?2)",
	[ST_META_SET] =
		"INSERT INTO meta (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_META_ADD] =
		"INSERT INTO meta (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO NOTHING",
	[ST_ALLOC_GET] =
		"SELECT pool, next FROM ipv4_alloc WHERE id = 1 FOR UPDATE",
	[ST_ALLOC_PUT] =
		"INSERT INTO ipv4_alloc (id, pool, next) VALUES (1, ?1, ?2)"
		" ON CONFLICT (id) DO UPDATE SET pool = excluded.pool,"
		" next = excluded.next",
	[ST_ALLOC_NEXT] = "UPDATE ipv4_alloc SET next = ?1 WHERE id = 1",
	[ST_COUNTS] =
		"SELECT (SELECT count(*) FROM clients),"
		" (SELECT count(*) FROM networks)",
	[ST_CLIENT_BY_KEY] =
		"SELECT " CLIENT_COLS " FROM clients c WHERE c.pubkey = ?1",
	[ST_CLIENT_BY_ID] =
		"SELECT " CLIENT_COLS " FROM clients c WHERE c.id = ?1",
	[ST_CLIENT_BY_NICK] =
		"SELECT " CLIENT_COLS " FROM clients c"
		" WHERE lower(c.nickname) = lower(?1)",
	[ST_IPV4_TAKEN] = "SELECT 1 FROM clients WHERE ipv4 = ?1",
	/* The address after the lowest one in use whose successor is free. */
	[ST_IPV4_GAP] =
		"SELECT c.ipv4 + 1 FROM clients c"
		" WHERE c.ipv4 >= ?1 AND c.ipv4 < ?2 AND NOT EXISTS"
		" (SELECT 1 FROM clients d WHERE d.ipv4 = c.ipv4 + 1)"
		" ORDER BY c.ipv4 LIMIT 1",
	/* The index's last entry of the pool: one step. */
	[ST_IPV4_MAX] =
		"SELECT max(ipv4) FROM clients WHERE ipv4 >= ?1 AND ipv4 <= ?2",
	[ST_FREE_FIRST] = "SELECT addr FROM free_ipv4 ORDER BY addr LIMIT 1",
	[ST_FREE_DELETE] = "DELETE FROM free_ipv4 WHERE addr = ?1",
	[ST_FREE_PUT] =
		"INSERT INTO free_ipv4 (addr) VALUES (?1)"
		" ON CONFLICT DO NOTHING",
	[ST_FREE_OUTSIDE] =
		"DELETE FROM free_ipv4 WHERE addr < ?1 OR addr > ?2",
	[ST_EXPIRED] =
		"SELECT " CLIENT_COLS " FROM clients c WHERE c.last_login < ?1"
		" ORDER BY c.last_login LIMIT ?2",
	[ST_CLIENT_TOUCH] = "UPDATE clients SET last_login = ?2 WHERE id = ?1",
	[ST_CLIENT_DELETE] = "DELETE FROM clients WHERE id = ?1",
	[ST_CLIENT_SEEN] =
		"SELECT last_login, ipv4 FROM clients WHERE id = ?1 FOR UPDATE",
	[ST_OWNED] = "SELECT id FROM networks WHERE owner_id = ?1",
	[ST_MAC_TAKEN] = "SELECT 1 FROM clients WHERE mac = ?1",
	[ST_IID_TAKEN] = "SELECT 1 FROM clients WHERE ipv6_iid = ?1",
	[ST_CLIENT_INSERT] =
		"INSERT INTO clients (pubkey, nickname, ipv4, ipv6_iid, mac,"
		" created, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	[ST_CLIENT_LOGIN] =
		"UPDATE clients SET nickname = coalesce(?2, nickname),"
		" last_login = ?3 WHERE id = ?1",
	[ST_CLIENT_NICK] = "UPDATE clients SET nickname = ?2 WHERE id = ?1",
	[ST_NET_BY_NAME] =
		"SELECT id, owner_id, password_hash, approval, member_limit"
		" FROM networks WHERE lower(name) = lower(?1)",
	/* The same, in a write transaction: changes of it take turns. */
	[ST_NET_LOCK] =
		"SELECT id, owner_id, password_hash, approval, member_limit"
		" FROM networks WHERE lower(name) = lower(?1) FOR UPDATE",
	[ST_NET_INSERT] =
		"INSERT INTO networks (name, owner_id, password_hash, approval,"
		" member_limit, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" RETURNING id",
	[ST_NET_DELETE] = "DELETE FROM networks WHERE id = ?1",
	[ST_NET_OWNER] = "UPDATE networks SET owner_id = ?2 WHERE id = ?1",
	[ST_NET_PASSWORD] =
		"UPDATE networks SET password_hash = ?2 WHERE id = ?1",
	[ST_NET_APPROVAL] = "UPDATE networks SET approval = ?2 WHERE id = ?1",
	[ST_NET_LIMIT] = "UPDATE networks SET member_limit = ?2 WHERE id = ?1",
	[ST_NET_INFO] =
		"SELECT " NETWORK_COLS ", coalesce((SELECT state FROM members"
		" WHERE network_id = n.id AND client_id = ?2), 0)"
		" FROM networks n JOIN clients o ON o.id = n.owner_id"
		" WHERE lower(n.name) = lower(?1)",
	[ST_NETS_OF] =
		"SELECT " NETWORK_COLS ", me.state"
		" FROM members me JOIN networks n ON n.id = me.network_id"
		" JOIN clients o ON o.id = n.owner_id"
		" WHERE me.client_id = ?1 ORDER BY lower(n.name)",
	[ST_MEMBER_STATE] =
		"SELECT state FROM members"
		" WHERE network_id = ?1 AND client_id = ?2",
	[ST_MEMBER_COUNT] =
		"SELECT count(*) FROM members WHERE network_id = ?1"
		" AND state = 2",
	[ST_PENDING_COUNT] =
		"SELECT count(*) FROM members WHERE network_id = ?1"
		" AND state = 1",
	[ST_MEMBER_INSERT] =
		"INSERT INTO members (network_id, client_id, state, since)"
		" VALUES (?1, ?2, ?3, (SELECT coalesce(max(since), 0) + 1"
		" FROM members WHERE network_id = ?1))",
	[ST_MEMBER_APPROVE] =
		"UPDATE members SET state = 2, since = (SELECT max(since) + 1"
		" FROM members WHERE network_id = ?1)"
		" WHERE network_id = ?1 AND client_id = ?2",
	[ST_MEMBER_DELETE] =
		"DELETE FROM members WHERE network_id = ?1 AND client_id = ?2",
	[ST_MEMBER_OLDEST] =
		"SELECT client_id FROM members WHERE network_id = ?1"
		" AND state = 2 AND client_id != ?2 ORDER BY since LIMIT 1",
	[ST_MEMBERS] =
		"SELECT " CLIENT_COLS ", m.state, c.id = n.owner_id"
		" FROM networks n JOIN members m ON m.network_id = n.id"
		" JOIN clients c ON c.id = m.client_id"
		" WHERE n.id = ?1 ORDER BY m.state DESC, m.since",
	[ST_BANNED] =
		"SELECT 1 FROM bans WHERE network_id = ?1 AND client_id = ?2",
	[ST_BAN_INSERT] =
		"INSERT INTO bans (network_id, client_id, created)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	[ST_BAN_DELETE] =
		"DELETE FROM bans WHERE network_id = ?1 AND client_id = ?2",
	[ST_PEERS_OF] =
		"SELECT DISTINCT " CLIENT_COLS
		" FROM members me JOIN members m"
		" ON m.network_id = me.network_id"
		" AND m.client_id != me.client_id"
		" JOIN clients c ON c.id = m.client_id"
		" WHERE me.client_id = ?1 AND me.state = 2 AND m.state = 2"
		" ORDER BY c.id",
	[ST_IS_PEER] =
		"SELECT 1 FROM clients a"
		" JOIN members ma ON ma.client_id = a.id AND ma.state = 2"
		" JOIN members mb ON mb.network_id = ma.network_id"
		" AND mb.state = 2"
		" JOIN clients b ON b.id = mb.client_id"
		" WHERE a.pubkey = ?1 AND b.pubkey = ?2 AND a.id != b.id"
		" LIMIT 1",
};

struct mstore {
	struct db *db;
	bool conflict;			/* the last error: DB_E_CONFLICT */
	bool writing;			/* in begin's transaction */
	uint32_t pool_first, pool_last;	/* host order, inclusive */
	uint8_t ula[ULA_LEN];
	unsigned long long opslimit;
	size_t memlimit;
	unsigned int member_limit;
	char error[256];
};

_Static_assert(ST_COUNT <= MSCHEMA_STMT_FIRST, "statement ids");

/* A network row as the commands need it. */
struct net {
	int64_t id, owner;
	bool approval;
	unsigned int limit;
	bool has_hash;
	char hash[MSTORE_HASH_SIZE];	/* wiped by net_wipe */
};

_Static_assert(MSTORE_HASH_SIZE == crypto_pwhash_STRBYTES,
	       "mstore.h's hash size is libsodium's");

static void net_wipe(struct net *n)
{
	sodium_memzero(n->hash, sizeof(n->hash));
}

/* A db.h error as an mstore one, with the database's message kept. */
static int db_result(struct mstore *s, int rc)
{
	snprintf(s->error, sizeof(s->error), "%s", db_errmsg(s->db));
	s->conflict = rc == DB_E_CONFLICT;
	switch (rc) {
	case DB_E_UNAVAILABLE:
		return MSTORE_E_UNAVAILABLE;
	case DB_E_NOMEM:
		return MSTORE_E_NOMEM;
	default:
		return MSTORE_E_IO;
	}
}

static int fail_msg(struct mstore *s, const char *msg)
{
	snprintf(s->error, sizeof(s->error), "%s", msg);
	s->conflict = false;
	return MSTORE_E_IO;
}

/* The statement, reset and cleared; NULL after an error. */
static struct db_stmt *prep(struct mstore *s, enum stmt id)
{
	struct db_stmt *st = db_prepare(s->db, id, stmt_sql[id]);

	if (!st)
		db_result(s, DB_E_IO);
	return st;
}

/*
 * Steps st: 1 for a row, 0 when done (st reset), or an error (reset).
 * Callers reset after the last row they read, so that no statement keeps
 * a read snapshot open between calls.
 */
static int step(struct mstore *s, struct db_stmt *st)
{
	int rc = db_step(st);

	if (rc == DB_ROW || rc == DB_DONE)
		return rc;
	return db_result(s, rc);
}

/* Runs a statement that returns no rows. */
static int run(struct mstore *s, struct db_stmt *st)
{
	int rc = step(s, st);

	if (rc == 1) {
		db_reset(st);
		return 0;
	}
	return rc;
}

static int bind_i64(struct mstore *s, struct db_stmt *st, int i, int64_t v)
{
	return db_bind_i64(st, i, v) ? db_result(s, DB_E_IO) : 0;
}

/* The caller keeps text and blobs alive until the statement is reset. */
static int bind_text(struct mstore *s, struct db_stmt *st, int i,
		     const char *v)
{
	return db_bind_text(st, i, v) ? db_result(s, DB_E_IO) : 0;
}

static int bind_blob(struct mstore *s, struct db_stmt *st, int i,
		     const void *v, int len)
{
	return db_bind_blob(st, i, v, (size_t)len) ?
	       db_result(s, DB_E_IO) : 0;
}

/* A write transaction: OK, or E_IO, E_UNAVAILABLE. */
static int begin(struct mstore *s)
{
	int rc = db_begin(s->db);

	s->writing = rc == DB_DONE;
	return rc ? db_result(s, rc) : MSTORE_OK;
}

/* Commits if rc is a success, else rolls back; returns the outcome. */
static int finish(struct mstore *s, int rc)
{
	s->writing = false;
	if (rc >= 0) {
		int crc = db_commit(s->db);

		if (crc == DB_DONE)
			return rc;
		rc = db_result(s, crc);
	}
	db_rollback(s->db);
	return rc;
}

/*
 * A transaction that failed on a unique index (a concurrent writer made
 * the same name or client first) or a deadlock: run once more, its
 * checks see the other's row.
 */
static bool retry_conflict(struct mstore *s, int rc, int *tries)
{
	return rc == MSTORE_E_IO && s->conflict && (*tries)++ == 0;
}

/* One integer column of one row: 1 and *v, 0 for no row, or an error. */
static int query_i64(struct mstore *s, struct db_stmt *st, int64_t *v)
{
	int rc = step(s, st);

	if (rc == 1) {
		if (v)
			*v = db_column_i64(st, 0);
		db_reset(st);
	}
	return rc;
}

/*
 * Letters and digits, and '.', '_', '-' after the first: nothing that
 * needs quoting in a shell, a log line or a table, nor that looks like
 * an option.
 */
static bool name_ok(const char *name, size_t max)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; name[i]; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') ||
			     (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');

		if (i >= max)
			return false;
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return false;
	}
	return i > 0;
}

static bool password_ok(const char *pw)
{
	return pw && pw[0] && strnlen(pw, MSTORE_PASSWORD_MAX + 1) <=
			      MSTORE_PASSWORD_MAX;
}

void mstore_hash_cost(const struct mstore *s, struct mstore_hash_cost *cost)
{
	cost->opslimit = s->opslimit;
	cost->memlimit = s->memlimit;
}

int mstore_hash(const struct mstore_hash_cost *cost, const char *password,
		char hash[MSTORE_HASH_SIZE])
{
	if (!password_ok(password))
		return MSTORE_E_BAD_PASSWORD;
	if (crypto_pwhash_str(hash, password, strlen(password),
			      cost->opslimit, cost->memlimit) != 0)
		return MSTORE_E_NOMEM;
	return MSTORE_OK;
}

int mstore_verify(const char *hash, const char *password)
{
	if (!password_ok(password) ||
	    crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
		return MSTORE_E_PASSWORD;
	return MSTORE_OK;
}

static int hash_password(const struct mstore *s, char out[MSTORE_HASH_SIZE],
			 const char *pw)
{
	struct mstore_hash_cost cost;

	mstore_hash_cost(s, &cost);
	return mstore_hash(&cost, pw, out);
}

/* What mstore_hash made: never empty, and it fits. */
static bool hash_ok(const char *hash)
{
	return hash[0] && strnlen(hash, MSTORE_HASH_SIZE) < MSTORE_HASH_SIZE;
}

/* Reads CLIENT_COLS starting at column col. */
static int read_client(struct mstore *s, struct db_stmt *st, int col,
		       struct mstore_client *c)
{
	size_t key_len, nick_len, iid_len, mac_len;
	const void *key = db_column_blob(st, col + 1, &key_len);
	const char *nick = db_column_text(st, col + 2, &nick_len);
	const void *iid = db_column_blob(st, col + 4, &iid_len);
	const void *mac = db_column_blob(st, col + 5, &mac_len);

	if (!key || key_len != MSTORE_KEY_LEN || !nick ||
	    nick_len > MSTORE_NICK_MAX || !iid || iid_len != IID_LEN ||
	    !mac || mac_len != MSTORE_MAC_LEN)
		return fail_msg(s, "corrupt client record");
	memset(c, 0, sizeof(*c));
	c->id = db_column_i64(st, col);
	memcpy(c->pubkey, key, MSTORE_KEY_LEN);
	memcpy(c->nickname, nick, nick_len);
	c->ipv4.s_addr = htonl((uint32_t)db_column_i64(st, col + 3));
	memcpy(c->ipv6.s6_addr, s->ula, ULA_LEN);
	memcpy(c->ipv6.s6_addr + 16 - IID_LEN, iid, IID_LEN);
	memcpy(c->mac, mac, MSTORE_MAC_LEN);
	return MSTORE_OK;
}

/* One client by a prepared, bound lookup: OK, E_NO_CLIENT or an error. */
static int get_client(struct mstore *s, struct db_stmt *st,
		      struct mstore_client *out)
{
	struct mstore_client tmp;
	int rc = step(s, st);

	if (rc == 0)
		return MSTORE_E_NO_CLIENT;
	if (rc < 0)
		return rc;
	rc = read_client(s, st, 0, out ? out : &tmp);
	db_reset(st);
	return rc;
}

static int client_by_id(struct mstore *s, int64_t id,
			struct mstore_client *out)
{
	struct db_stmt *st = prep(s, ST_CLIENT_BY_ID);

	if (!st || bind_i64(s, st, 1, id))
		return MSTORE_E_IO;
	return get_client(s, st, out);
}

static int client_by_nick(struct mstore *s, const char *nick,
			  struct mstore_client *out)
{
	struct db_stmt *st;

	/* A name that breaks the rules cannot be anyone's. */
	if (!name_ok(nick, MSTORE_NICK_MAX))
		return MSTORE_E_NO_CLIENT;
	st = prep(s, ST_CLIENT_BY_NICK);
	if (!st || bind_text(s, st, 1, nick))
		return MSTORE_E_IO;
	return get_client(s, st, out);
}

static int client_by_key(struct mstore *s, const uint8_t *key,
			 struct mstore_client *out)
{
	struct db_stmt *st = prep(s, ST_CLIENT_BY_KEY);

	if (!st || bind_blob(s, st, 1, key, MSTORE_KEY_LEN))
		return MSTORE_E_IO;
	return get_client(s, st, out);
}

/* E_NICK_TAKEN if another client than self (0: any) has nick. */
static int nick_free(struct mstore *s, const char *nick, int64_t self)
{
	struct mstore_client other;
	int rc = client_by_nick(s, nick, &other);

	if (rc == MSTORE_E_NO_CLIENT)
		return MSTORE_OK;
	if (rc < 0)
		return rc;
	return other.id == self ? MSTORE_OK : MSTORE_E_NICK_TAKEN;
}

/* OK and *n, E_NO_NETWORK, or an error.  *n needs net_wipe. */
static int net_by_name(struct mstore *s, const char *name, struct net *n)
{
	const char *hash;
	size_t hash_len;
	struct db_stmt *st;
	int rc;

	memset(n, 0, sizeof(*n));
	if (!name_ok(name, MSTORE_NAME_MAX))
		return MSTORE_E_NO_NETWORK;
	st = prep(s, s->writing ? ST_NET_LOCK : ST_NET_BY_NAME);
	if (!st || bind_text(s, st, 1, name))
		return MSTORE_E_IO;
	rc = step(s, st);
	if (rc <= 0)
		return rc == 0 ? MSTORE_E_NO_NETWORK : rc;
	n->id = db_column_i64(st, 0);
	n->owner = db_column_i64(st, 1);
	hash = db_column_text(st, 2, &hash_len);
	if (hash) {
		if (hash_len >= sizeof(n->hash)) {
			db_reset(st);
			return fail_msg(s, "corrupt network record");
		}
		n->has_hash = true;
		memcpy(n->hash, hash, hash_len);
		n->hash[hash_len] = '\0';
	}
	n->approval = db_column_i64(st, 3) != 0;
	n->limit = (unsigned int)db_column_i64(st, 4);
	db_reset(st);
	return MSTORE_OK;
}

/* The network, if owner owns it: OK, E_NO_NETWORK or E_NOT_OWNER. */
static int owned_net(struct mstore *s, int64_t owner, const char *name,
		     struct net *n)
{
	int rc = net_by_name(s, name, n);

	if (rc == MSTORE_OK && n->owner != owner)
		rc = MSTORE_E_NOT_OWNER;
	return rc;
}

/* The enum mstore_state of client in network net. */
static int member_state(struct mstore *s, int64_t net, int64_t client,
			enum mstore_state *state)
{
	struct db_stmt *st = prep(s, ST_MEMBER_STATE);
	int64_t v = MSTORE_STATE_NONE;
	int rc;

	if (!st || bind_i64(s, st, 1, net) || bind_i64(s, st, 2, client))
		return MSTORE_E_IO;
	rc = query_i64(s, st, &v);
	if (rc < 0)
		return rc;
	*state = rc ? (enum mstore_state)v : MSTORE_STATE_NONE;
	return MSTORE_OK;
}

/* One count(*) of a network's members rows. */
static int count_of(struct mstore *s, enum stmt id, int64_t net,
		    int64_t *count)
{
	struct db_stmt *st = prep(s, id);
	int rc;

	if (!st || bind_i64(s, st, 1, net))
		return MSTORE_E_IO;
	rc = query_i64(s, st, count);
	return rc < 0 ? rc : MSTORE_OK;
}

/* Active members. */
static int member_count(struct mstore *s, int64_t net, int64_t *count)
{
	return count_of(s, ST_MEMBER_COUNT, net, count);
}

/* Requests waiting for the owner's approval. */
static int pending_count(struct mstore *s, int64_t net, int64_t *count)
{
	return count_of(s, ST_PENDING_COUNT, net, count);
}

static int is_banned(struct mstore *s, int64_t net, int64_t client,
		     bool *banned)
{
	struct db_stmt *st = prep(s, ST_BANNED);
	int rc;

	if (!st || bind_i64(s, st, 1, net) || bind_i64(s, st, 2, client))
		return MSTORE_E_IO;
	rc = query_i64(s, st, NULL);
	if (rc < 0)
		return rc;
	*banned = rc == 1;
	return MSTORE_OK;
}

/* Runs a statement taking (id, integer or text or NULL). */
static int update_net(struct mstore *s, enum stmt id, int64_t net,
		      int64_t v, const char *text, bool use_text)
{
	struct db_stmt *st = prep(s, id);

	if (!st || bind_i64(s, st, 1, net))
		return MSTORE_E_IO;
	if (use_text ? bind_text(s, st, 2, text) : bind_i64(s, st, 2, v))
		return MSTORE_E_IO;
	return run(s, st);
}

static int delete_net(struct mstore *s, int64_t net)
{
	struct db_stmt *st = prep(s, ST_NET_DELETE);

	if (!st || bind_i64(s, st, 1, net))
		return MSTORE_E_IO;
	return run(s, st);
}

static int member_insert(struct mstore *s, int64_t net, int64_t client,
			 enum mstore_state state)
{
	struct db_stmt *st = prep(s, ST_MEMBER_INSERT);

	if (!st || bind_i64(s, st, 1, net) || bind_i64(s, st, 2, client) ||
	    bind_i64(s, st, 3, state))
		return MSTORE_E_IO;
	return run(s, st);
}

static int member_delete(struct mstore *s, int64_t net, int64_t client)
{
	struct db_stmt *st = prep(s, ST_MEMBER_DELETE);

	if (!st || bind_i64(s, st, 1, net) || bind_i64(s, st, 2, client))
		return MSTORE_E_IO;
	return run(s, st);
}

/* --- opening ------------------------------------------------------- */

static int resolve_options(struct mstore *s, const struct mstore_options *o,
			   char *err, size_t err_size)
{
	static const struct mstore_options defaults;
	uint32_t base = DEFAULT_POOL, size;
	unsigned int prefix = DEFAULT_POOL_PREFIX;

	if (!o)
		o = &defaults;
	if (o->pool_prefix) {
		prefix = o->pool_prefix;
		base = ntohl(o->pool_base.s_addr);
		if (prefix < DEFAULT_POOL_PREFIX || prefix > 30 ||
		    (base & 0xffc00000u) != DEFAULT_POOL) {
			snprintf(err, err_size, "the address pool must lie "
				 "inside 100.64.0.0/10 and be /10 to /30");
			return MSTORE_E_INVALID;
		}
		if (base & ((1u << (32 - prefix)) - 1)) {
			snprintf(err, err_size, "the address pool's base "
				 "address has host bits set");
			return MSTORE_E_INVALID;
		}
	}
	size = 1u << (32 - prefix);
	/* Neither the network's own address nor its broadcast one. */
	s->pool_first = base + 1;
	s->pool_last = base + size - 2;

	s->opslimit = o->opslimit ? o->opslimit :
				    crypto_pwhash_OPSLIMIT_INTERACTIVE;
	s->memlimit = o->memlimit ? o->memlimit :
				    crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (s->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    s->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
	    s->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    s->memlimit > crypto_pwhash_MEMLIMIT_MAX) {
		snprintf(err, err_size, "Argon2id limits out of range");
		return MSTORE_E_INVALID;
	}
	s->member_limit = o->member_limit ? o->member_limit :
					    MSTORE_MEMBER_LIMIT_DEFAULT;
	if (s->member_limit > MSTORE_MEMBER_LIMIT_MAX) {
		snprintf(err, err_size, "the member limit is at most %u",
			 MSTORE_MEMBER_LIMIT_MAX);
		return MSTORE_E_INVALID;
	}
	return MSTORE_OK;
}

static bool ula_ok(const uint8_t *a)
{
	static const uint8_t zero[16 - ULA_LEN];

	return a[0] == 0xfd && !memcmp(a + ULA_LEN, zero, sizeof(zero));
}

/* A blob in meta: 1 and its bytes (exactly len of them), 0, or an error. */
static int meta_get(struct mstore *s, const char *key, void *v, size_t len)
{
	struct db_stmt *st = prep(s, ST_META_GET);
	const void *have;
	size_t have_len;
	int rc;

	if (!st || bind_text(s, st, 1, key))
		return MSTORE_E_IO;
	rc = step(s, st);
	if (rc != 1)
		return rc;
	have = db_column_blob(st, 0, &have_len);
	if (!have || have_len != len) {
		db_reset(st);
		return fail_msg(s, "corrupt database: a meta value");
	}
	memcpy(v, have, len);
	db_reset(st);
	return 1;
}

/* Stores a blob in meta; add_only: unless the key has a value already. */
static int meta_put(struct mstore *s, const char *key, const void *v,
		    size_t len, bool add_only)
{
	struct db_stmt *st = prep(s, add_only ? ST_META_ADD : ST_META_SET);

	if (!st || bind_text(s, st, 1, key) || bind_blob(s, st, 2, v, (int)len))
		return MSTORE_E_IO;
	return run(s, st);
}

/*
 * The ULA prefix: chosen for a new database (want, or random as RFC 4193
 * says: fd and a 40-bit Global ID), checked against want for an old one.
 */
static int load_ula(struct mstore *s, bool created,
		    const struct in6_addr *want, char *err, size_t err_size)
{
	uint8_t ula[ULA_LEN];
	int rc;

	if (created) {
		if (want) {
			memcpy(ula, want->s6_addr, ULA_LEN);
		} else {
			ula[0] = 0xfd;
			randombytes_buf(ula + 1, ULA_LEN - 1);
		}
		rc = meta_put(s, "ula_prefix", ula, ULA_LEN, false);
		if (rc)
			return rc;
	}
	rc = meta_get(s, "ula_prefix", s->ula, ULA_LEN);
	if (rc < 0 && rc != MSTORE_E_IO)
		return rc;
	if (rc != 1 || s->ula[0] != 0xfd) {
		snprintf(err, err_size, "corrupt database: no ULA prefix");
		return MSTORE_E_SCHEMA;
	}
	if (want && memcmp(want->s6_addr, s->ula, ULA_LEN)) {
		char have[INET6_ADDRSTRLEN];
		struct in6_addr a = { 0 };

		memcpy(a.s6_addr, s->ula, ULA_LEN);
		inet_ntop(AF_INET6, &a, have, sizeof(have));
		snprintf(err, err_size, "the database's ULA prefix is %s/48: "
			 "it cannot change once clients have addresses",
			 have);
		return MSTORE_E_INVALID;
	}
	return MSTORE_OK;
}

/* Two integers of one row: 1 and *a, *b; 0 for no row; or an error. */
static int query_pair(struct mstore *s, enum stmt id, int64_t *a, int64_t *b)
{
	struct db_stmt *st = prep(s, id);
	int rc;

	if (!st)
		return MSTORE_E_IO;
	rc = step(s, st);
	if (rc == 1) {
		*a = db_column_i64(st, 0);
		*b = db_column_i64(st, 1);
		db_reset(st);
	}
	return rc;
}

/* The allocation row, locked: 1 and pool, next; 0 if none; or an error. */
static int alloc_get(struct mstore *s, int64_t *pool, int64_t *next)
{
	return query_pair(s, ST_ALLOC_GET, pool, next);
}

/*
 * The allocation state must be about this pool.  For another one (the
 * pool changed, or a database from before version 2): the next address
 * is the one after the highest in use in the pool (so a database that
 * only ever grew goes on without a gap), and given-back addresses
 * outside it are dropped.  Addresses below that may be free after a
 * change of pool; alloc_ipv4 finds them once the top is reached.
 */
static int pool_sync(struct mstore *s)
{
	int64_t pool = (int64_t)s->pool_first << 32 | s->pool_last;
	int64_t have = -1, next = 0, top = 0;
	struct db_stmt *st;
	int rc;

	rc = begin(s);
	if (rc)
		return rc;
	rc = alloc_get(s, &have, &next);
	if (rc >= 0 && (rc == 0 || have != pool)) {
		st = prep(s, ST_IPV4_MAX);
		if (!st || bind_i64(s, st, 1, s->pool_first) ||
		    bind_i64(s, st, 2, s->pool_last))
			rc = MSTORE_E_IO;
		else
			rc = query_i64(s, st, &top);
		st = rc < 0 ? NULL : prep(s, ST_ALLOC_PUT);
		if (rc >= 0 && (!st || bind_i64(s, st, 1, pool) ||
				bind_i64(s, st, 2, top ? top + 1 :
					 (int64_t)s->pool_first)))
			rc = MSTORE_E_IO;
		else if (rc >= 0)
			rc = run(s, st);
		st = rc ? NULL : prep(s, ST_FREE_OUTSIDE);
		if (!rc && (!st || bind_i64(s, st, 1, s->pool_first) ||
			    bind_i64(s, st, 2, s->pool_last)))
			rc = MSTORE_E_IO;
		if (!rc)
			rc = run(s, st);
	}
	return finish(s, rc < 0 ? rc : MSTORE_OK);
}

/*
 * Creates the schema of a new database, or migrates or checks an existing
 * one, in one transaction: two mediators starting at once on a new
 * database then cannot both create it.
 */
static int check_schema(struct mstore *s, const struct in6_addr *want,
			int *from, char *err, size_t err_size)
{
	int rc = begin(s);

	if (!rc)
		rc = mschema_apply(s->db, from, err, err_size);
	if (!rc)
		rc = load_ula(s, *from == 0, want, err, err_size);
	rc = finish(s, rc);
	if ((rc == MSTORE_E_IO || rc == MSTORE_E_UNAVAILABLE) && !err[0])
		snprintf(err, err_size, "%s", db_errmsg(s->db));
	return rc;
}

static int open_fail(char *err, size_t err_size, int rc, const char *url,
		     const char *msg)
{
	char masked[256];

	db_url_masked(url, masked, sizeof(masked));
	if (err && err_size)
		snprintf(err, err_size, "%s: %s", masked, msg);
	return rc;
}

/* Connects and checks the options; no schema yet. */
static int open_db(struct mstore **sp, const char *url,
		   const struct mstore_options *o, const struct in6_addr **want,
		   char *msg, size_t msg_size)
{
	struct mstore *s;
	int rc;

	*sp = NULL;
	if (sodium_init() < 0) {
		snprintf(msg, msg_size, "libsodium failed to initialise");
		return MSTORE_E_IO;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(msg, msg_size, "out of memory");
		return MSTORE_E_NOMEM;
	}
	*sp = s;
	rc = resolve_options(s, o, msg, msg_size);
	if (rc)
		return rc;
	*want = NULL;
	if (o) {
		static const uint8_t zero[16];

		if (memcmp(o->ula_prefix.s6_addr, zero, sizeof(zero)))
			*want = &o->ula_prefix;
		if (*want && !ula_ok((*want)->s6_addr)) {
			snprintf(msg, msg_size, "the ULA prefix must be a "
				 "/48 inside fd00::/8");
			return MSTORE_E_INVALID;
		}
	}
	rc = db_open(&s->db, url, o && o->busy_timeout_ms > 0 ?
		     o->busy_timeout_ms : DEFAULT_BUSY_MS, msg, msg_size);
	if (rc == DB_E_UNAVAILABLE)
		return MSTORE_E_UNAVAILABLE;
	if (rc)
		return rc == DB_E_NOMEM ? MSTORE_E_NOMEM : MSTORE_E_IO;
	return MSTORE_OK;
}

int mstore_open(struct mstore **sp, const char *url,
		const struct mstore_options *o, char *err, size_t err_size)
{
	const struct in6_addr *want = NULL;
	char msg[256] = "";
	int rc, from = 0;

	*sp = NULL;
	if (!url)
		return open_fail(err, err_size, MSTORE_E_INVALID, "(null)",
				 "no database path");
	rc = open_db(sp, url, o, &want, msg, sizeof(msg));
	if (!rc)
		rc = check_schema(*sp, want, &from, msg, sizeof(msg));
	if (!rc && pool_sync(*sp)) {
		snprintf(msg, sizeof(msg), "%s", (*sp)->error);
		rc = MSTORE_E_IO;
	}
	if (rc) {
		mstore_close(*sp);
		*sp = NULL;
		return open_fail(err, err_size, rc, url, msg);
	}
	return MSTORE_OK;
}

int mstore_schema(const char *url, bool migrate, int *from, int *to,
		  char *err, size_t err_size)
{
	const struct in6_addr *want = NULL;
	struct mstore *s = NULL;
	char msg[256] = "";
	int rc;

	*from = *to = -1;
	if (!url)
		return open_fail(err, err_size, MSTORE_E_INVALID, "(null)",
				 "no database path");
	rc = open_db(&s, url, NULL, &want, msg, sizeof(msg));
	if (!rc && migrate) {
		rc = check_schema(s, NULL, from, msg, sizeof(msg));
		if (!rc)
			rc = pool_sync(s);
		if (!rc)
			*to = MSTORE_SCHEMA_VERSION;
		else if (!msg[0])
			snprintf(msg, sizeof(msg), "%s", s->error);
	} else if (!rc) {
		rc = db_begin_read(s->db);
		if (rc) {
			rc = db_result(s, rc);
			snprintf(msg, sizeof(msg), "%s", s->error);
		} else {
			rc = mschema_version(s->db, from, msg, sizeof(msg));
			if (rc && !msg[0])
				snprintf(msg, sizeof(msg), "%s",
					 db_errmsg(s->db));
			*to = *from;
			db_rollback(s->db);
		}
	}
	mstore_close(s);
	if (rc)
		return open_fail(err, err_size, rc, url, msg);
	return MSTORE_OK;
}

void mstore_close(struct mstore *s)
{
	if (!s)
		return;
	db_close(s->db);
	free(s);
}

int mstore_counts(struct mstore *s, int64_t *clients, int64_t *networks)
{
	int rc = query_pair(s, ST_COUNTS, clients, networks);

	if (rc == 1)
		return MSTORE_OK;
	return rc ? rc : fail_msg(s, "no counts");
}

void mstore_db_time(const struct mstore *s, uint64_t *count,
		    uint64_t *total_ns, uint64_t *max_ns)
{
	db_time(s->db, count, total_ns, max_ns);
}

int mstore_server_public_key(struct mstore *s, uint8_t key[MSTORE_KEY_LEN],
			     bool *present)
{
	int rc = meta_get(s, "server_public_key", key, MSTORE_KEY_LEN);

	if (rc < 0)
		return rc;
	*present = rc == 1;
	return MSTORE_OK;
}

int mstore_set_server_public_key(struct mstore *s,
				 const uint8_t key[MSTORE_KEY_LEN])
{
	uint8_t have[MSTORE_KEY_LEN];
	int rc = begin(s);

	if (rc)
		return rc;
	rc = meta_put(s, "server_public_key", key, MSTORE_KEY_LEN, true);
	if (!rc)
		rc = meta_get(s, "server_public_key", have, MSTORE_KEY_LEN);
	if (rc == 1)
		rc = memcmp(have, key, MSTORE_KEY_LEN) ? MSTORE_E_INVALID :
							 MSTORE_OK;
	else if (rc == 0)
		rc = fail_msg(s, "the server key vanished");
	return finish(s, rc);
}

const char *mstore_strerror(int result)
{
	switch (result) {
	case MSTORE_OK:
		return "done";
	case MSTORE_PENDING:
		return "waiting for the owner's approval";
	case MSTORE_DELETED:
		return "the network was deleted: nobody is left in it";
	case MSTORE_E_IO:
		return "database error";
	case MSTORE_E_NOMEM:
		return "out of memory";
	case MSTORE_E_INVALID:
		return "invalid argument";
	case MSTORE_E_SCHEMA:
		return "the database is not one this server can use";
	case MSTORE_E_BAD_NICK:
		return "a nickname is 1 to 32 letters, digits, '.', '_' or "
		       "'-', starting with a letter or digit";
	case MSTORE_E_NICK_TAKEN:
		return "that nickname is taken";
	case MSTORE_E_BAD_NAME:
		return "a network name is 1 to 64 letters, digits, '.', '_' "
		       "or '-', starting with a letter or digit";
	case MSTORE_E_NAME_TAKEN:
		return "a network with that name exists";
	case MSTORE_E_BAD_PASSWORD:
		return "a password is 1 to 1024 bytes";
	case MSTORE_E_POOL_FULL:
		return "the server has no address left to give";
	case MSTORE_E_NO_CLIENT:
		return "no such user";
	case MSTORE_E_NO_NETWORK:
		return "no such network";
	case MSTORE_E_PASSWORD_REQUIRED:
		return "the network needs a password";
	case MSTORE_E_PASSWORD:
		return "wrong password";
	case MSTORE_E_FULL:
		return "the network is full";
	case MSTORE_E_BANNED:
		return "you are banned from this network";
	case MSTORE_E_NOT_OWNER:
		return "only the network's owner can do that";
	case MSTORE_E_NOT_MEMBER:
		return "you are not in this network";
	case MSTORE_E_NO_MEMBER:
		return "nobody by that nickname is in this network";
	case MSTORE_E_ALREADY_MEMBER:
		return "you are already in this network";
	case MSTORE_E_NOT_PENDING:
		return "that member is not waiting for approval";
	case MSTORE_E_NOT_BANNED:
		return "that user is not banned";
	case MSTORE_E_SELF:
		return "the owner cannot do that to itself";
	case MSTORE_E_TOO_MANY_PENDING:
		return "too many requests are waiting for the owner's approval";
	case MSTORE_E_NO_PASSWORD:
		return "the network has no password: join it without one";
	case MSTORE_E_UNAVAILABLE:
		return "the database is unavailable; try again later";
	}
	return "unknown error";
}

const char *mstore_last_error(const struct mstore *s)
{
	return s->error;
}

void mstore_ula_prefix(const struct mstore *s, struct in6_addr *prefix)
{
	memset(prefix, 0, sizeof(*prefix));
	memcpy(prefix->s6_addr, s->ula, ULA_LEN);
}

void mstore_pool(const struct mstore *s, struct in_addr *base,
		 unsigned int *prefix_len)
{
	/* pool_first and pool_last leave out the network and broadcast. */
	uint32_t size = s->pool_last - s->pool_first + 3;

	base->s_addr = htonl(s->pool_first - 1);
	for (*prefix_len = 32; size > 1; size >>= 1)
		(*prefix_len)--;
}

/* --- clients ------------------------------------------------------- */

/* Candidate n of a value derived from the public key. */
static void derive(uint8_t *out, size_t len, const char *label,
		   const uint8_t key[MSTORE_KEY_LEN], uint32_t n)
{
	uint8_t h[16], le[4] = { (uint8_t)n, (uint8_t)(n >> 8),
				 (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, key, MSTORE_KEY_LEN);
	if (n)
		crypto_generichash_update(&st, le, sizeof(le));
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, len);
}

/* Interface ids RFC 4291 and 5453 keep for other uses. */
static bool iid_ok(const uint8_t iid[IID_LEN])
{
	static const uint8_t zero[IID_LEN];
	static const uint8_t anycast[IID_LEN - 1] = {
		0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
	};

	if (!memcmp(iid, zero, IID_LEN))
		return false;
	return memcmp(iid, anycast, sizeof(anycast)) || iid[7] < 0x80;
}

static int taken(struct mstore *s, enum stmt id, const void *v, int len,
		 bool *yes)
{
	struct db_stmt *st = prep(s, id);
	int rc;

	if (!st || bind_blob(s, st, 1, v, len))
		return MSTORE_E_IO;
	rc = query_i64(s, st, NULL);
	if (rc < 0)
		return rc;
	*yes = rc == 1;
	return MSTORE_OK;
}

static int alloc_mac(struct mstore *s, const uint8_t *key,
		     uint8_t mac[MSTORE_MAC_LEN])
{
	bool used;
	uint32_t n;
	int rc;

	for (n = 0; n < MAX_CANDIDATES; n++) {
		shoal_mac_from_key(mac, key, n);
		rc = taken(s, ST_MAC_TAKEN, mac, MSTORE_MAC_LEN, &used);
		if (rc || !used)
			return rc;
	}
	return fail_msg(s, "no free MAC address found");
}

static int alloc_iid(struct mstore *s, const uint8_t *key,
		     uint8_t iid[IID_LEN])
{
	bool used;
	uint32_t n;
	int rc;

	for (n = 0; n < MAX_CANDIDATES; n++) {
		derive(iid, IID_LEN, "shoal ipv6 iid", key, n);
		if (!iid_ok(iid))
			continue;
		rc = taken(s, ST_IID_TAKEN, iid, IID_LEN, &used);
		if (rc || !used)
			return rc;
	}
	return fail_msg(s, "no free IPv6 interface id found");
}

static int ipv4_taken(struct mstore *s, int64_t addr, bool *yes)
{
	struct db_stmt *st = prep(s, ST_IPV4_TAKEN);
	int rc;

	if (!st || bind_i64(s, st, 1, addr))
		return MSTORE_E_IO;
	rc = query_i64(s, st, NULL);
	if (rc < 0)
		return rc;
	*yes = rc == 1;
	return MSTORE_OK;
}

/*
 * The lowest address of the pool after the lowest one in use whose
 * successor is free, or the pool's first: a walk over every address in
 * use, O(n).  Only for a pool whose top has been reached after a change
 * of pool left holes below it.
 */
static int alloc_ipv4_scan(struct mstore *s, uint32_t *addr)
{
	struct db_stmt *st;
	bool used;
	int64_t v = 0;
	int rc;

	rc = ipv4_taken(s, s->pool_first, &used);
	if (rc || !used) {
		*addr = s->pool_first;
		return rc;
	}
	st = prep(s, ST_IPV4_GAP);
	if (!st || bind_i64(s, st, 1, s->pool_first) ||
	    bind_i64(s, st, 2, s->pool_last))
		return MSTORE_E_IO;
	rc = query_i64(s, st, &v);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return MSTORE_E_POOL_FULL;
	*addr = (uint32_t)v;
	return MSTORE_OK;
}

/*
 * An address for a new client, in its transaction: one given back by an
 * expired client (the lowest), else the next never handed out.  Both are
 * a few index steps whatever the number of clients.  An address taken
 * anyway (only after a change of pool: pool_sync) is stepped over once
 * and for all.
 */
static int alloc_ipv4(struct mstore *s, uint32_t *addr)
{
	struct db_stmt *st;
	int64_t v, pool, next = 0;
	bool used = true;
	int rc;

	/*
	 * The allocation row's lock first: every new client of every
	 * instance takes its turn here, so that neither a given-back
	 * address nor the next one goes to two.
	 */
	rc = alloc_get(s, &pool, &next);
	if (rc < 0)
		return rc;
	if (rc == 0)
		next = 0;
	st = prep(s, ST_FREE_FIRST);
	if (!st)
		return MSTORE_E_IO;
	rc = query_i64(s, st, &v);
	if (rc == 1) {
		st = prep(s, ST_FREE_DELETE);
		if (!st || bind_i64(s, st, 1, v))
			return MSTORE_E_IO;
		rc = run(s, st);
		if (!rc)
			rc = ipv4_taken(s, v, &used);
		if (rc || !used) {
			*addr = (uint32_t)v;
			return rc;
		}
		/* Taken after all: a broken row, gone now.  The next one. */
		return alloc_ipv4(s, addr);
	}
	if (rc < 0)
		return rc;
	if (next < s->pool_first)
		next = s->pool_first;
	for (; next <= s->pool_last && used; next++) {
		rc = ipv4_taken(s, next, &used);
		if (rc)
			return rc;
	}
	if (used)
		return alloc_ipv4_scan(s, addr);
	*addr = (uint32_t)(next - 1);
	st = prep(s, ST_ALLOC_NEXT);
	if (!st || bind_i64(s, st, 1, next))
		return MSTORE_E_IO;
	return run(s, st);
}

static int create_client(struct mstore *s, const uint8_t *key,
			 const char *nick, int64_t now)
{
	uint8_t mac[MSTORE_MAC_LEN], iid[IID_LEN];
	struct db_stmt *st;
	uint32_t addr;
	int rc;

	rc = nick_free(s, nick, 0);
	if (!rc)
		rc = alloc_ipv4(s, &addr);
	if (!rc)
		rc = alloc_mac(s, key, mac);
	if (!rc)
		rc = alloc_iid(s, key, iid);
	if (rc)
		return rc;
	st = prep(s, ST_CLIENT_INSERT);
	if (!st || bind_blob(s, st, 1, key, MSTORE_KEY_LEN) ||
	    bind_text(s, st, 2, nick) || bind_i64(s, st, 3, addr) ||
	    bind_blob(s, st, 4, iid, IID_LEN) ||
	    bind_blob(s, st, 5, mac, MSTORE_MAC_LEN) ||
	    bind_i64(s, st, 6, now))
		return MSTORE_E_IO;
	return run(s, st);
}

static int login_once(struct mstore *s, const uint8_t *pubkey,
		      const char *nickname, struct mstore_client *out)
{
	struct mstore_client c;
	int64_t now = (int64_t)time(NULL);
	struct db_stmt *st;
	int rc;

	if (!pubkey)
		return MSTORE_E_INVALID;
	if (nickname && !name_ok(nickname, MSTORE_NICK_MAX))
		return MSTORE_E_BAD_NICK;
	rc = begin(s);
		if (rc)
			return rc;
	st = prep(s, ST_CLIENT_BY_KEY);
	if (!st || bind_blob(s, st, 1, pubkey, MSTORE_KEY_LEN)) {
		rc = MSTORE_E_IO;
		goto out;
	}
	rc = get_client(s, st, &c);
	if (rc == MSTORE_E_NO_CLIENT) {
		rc = nickname ? create_client(s, pubkey, nickname, now) :
				MSTORE_E_BAD_NICK;
	} else if (rc == MSTORE_OK) {
		/* A change of case only is a change too. */
		if (nickname && !strcmp(nickname, c.nickname))
			nickname = NULL;
		if (nickname)
			rc = nick_free(s, nickname, c.id);
		st = rc ? NULL : prep(s, ST_CLIENT_LOGIN);
		if (!rc && (!st || bind_i64(s, st, 1, c.id) ||
			    bind_text(s, st, 2, nickname) ||
			    bind_i64(s, st, 3, now)))
			rc = MSTORE_E_IO;
		if (!rc)
			rc = run(s, st);
	}
	if (!rc && out) {
		st = prep(s, ST_CLIENT_BY_KEY);
		if (!st || bind_blob(s, st, 1, pubkey, MSTORE_KEY_LEN))
			rc = MSTORE_E_IO;
		else
			rc = get_client(s, st, out);
	}
out:
	return finish(s, rc);
}

int mstore_login(struct mstore *s, const uint8_t pubkey[MSTORE_KEY_LEN],
		 const char *nickname, struct mstore_client *out)
{
	int rc, tries = 0;

	do
		rc = login_once(s, pubkey, nickname, out);
	while (retry_conflict(s, rc, &tries));
	return rc;
}

static int set_nick_once(struct mstore *s, int64_t client,
			 const char *nickname)
{
	struct db_stmt *st;
	int rc;

	if (!name_ok(nickname, MSTORE_NICK_MAX))
		return MSTORE_E_BAD_NICK;
	rc = begin(s);
		if (rc)
			return rc;
	rc = client_by_id(s, client, NULL);
	if (!rc)
		rc = nick_free(s, nickname, client);
	if (!rc) {
		st = prep(s, ST_CLIENT_NICK);
		if (!st || bind_i64(s, st, 1, client) ||
		    bind_text(s, st, 2, nickname))
			rc = MSTORE_E_IO;
		else
			rc = run(s, st);
	}
	return finish(s, rc);
}

int mstore_set_nick(struct mstore *s, int64_t client, const char *nickname)
{
	int rc, tries = 0;

	do
		rc = set_nick_once(s, client, nickname);
	while (retry_conflict(s, rc, &tries));
	return rc;
}

int mstore_client_by_key(struct mstore *s,
			 const uint8_t pubkey[MSTORE_KEY_LEN],
			 struct mstore_client *out)
{
	if (!pubkey)
		return MSTORE_E_INVALID;
	return client_by_key(s, pubkey, out);
}

/* --- networks ------------------------------------------------------ */

static int limit_ok(const struct mstore *s, unsigned int *limit)
{
	if (*limit == 0)
		*limit = s->member_limit;
	return *limit <= MSTORE_MEMBER_LIMIT_MAX ? MSTORE_OK :
						   MSTORE_E_INVALID;
}

/* Cheap refusals first: hashing is the expensive part. */
int mstore_create_check(struct mstore *s, int64_t client, const char *name,
			const char *password, unsigned int member_limit)
{
	struct net n;
	int rc;

	if (!name_ok(name, MSTORE_NAME_MAX))
		return MSTORE_E_BAD_NAME;
	if (password && !password_ok(password))
		return MSTORE_E_BAD_PASSWORD;
	if (limit_ok(s, &member_limit))
		return MSTORE_E_INVALID;
	rc = client_by_id(s, client, NULL);
	if (rc)
		return rc;
	rc = net_by_name(s, name, &n);
	net_wipe(&n);
	return rc == MSTORE_OK ? MSTORE_E_NAME_TAKEN :
	       rc == MSTORE_E_NO_NETWORK ? MSTORE_OK : rc;
}

static int create_once(struct mstore *s, int64_t client, const char *name,
		       const char *hash, bool approval,
		       unsigned int member_limit)
{
	struct net n;
	struct db_stmt *st;
	int64_t id = 0;
	int rc;

	if (!name_ok(name, MSTORE_NAME_MAX))
		return MSTORE_E_BAD_NAME;
	if ((hash && !hash_ok(hash)) || limit_ok(s, &member_limit))
		return MSTORE_E_INVALID;
	rc = begin(s);
		if (rc)
			return rc;
	rc = client_by_id(s, client, NULL);
	if (!rc) {
		rc = net_by_name(s, name, &n);
		net_wipe(&n);
		rc = rc == MSTORE_OK ? MSTORE_E_NAME_TAKEN :
		     rc == MSTORE_E_NO_NETWORK ? MSTORE_OK : rc;
	}
	if (!rc) {
		st = prep(s, ST_NET_INSERT);
		if (!st || bind_text(s, st, 1, name) ||
		    bind_i64(s, st, 2, client) ||
		    bind_text(s, st, 3, hash) ||
		    bind_i64(s, st, 4, approval) ||
		    bind_i64(s, st, 5, member_limit) ||
		    bind_i64(s, st, 6, (int64_t)time(NULL)))
			rc = MSTORE_E_IO;
		else
			rc = query_i64(s, st, &id);
		if (rc == 0)
			rc = fail_msg(s, "no network id");
		else if (rc == 1)
			rc = MSTORE_OK;
	}
	if (!rc)
		rc = member_insert(s, id, client, MSTORE_STATE_MEMBER);
	return finish(s, rc);
}

int mstore_create_hashed(struct mstore *s, int64_t client, const char *name,
			 const char *hash, bool approval,
			 unsigned int member_limit)
{
	int rc, tries = 0;

	do
		rc = create_once(s, client, name, hash, approval,
				 member_limit);
	while (retry_conflict(s, rc, &tries));
	return rc;
}

int mstore_create(struct mstore *s, int64_t client, const char *name,
		  const char *password, bool approval,
		  unsigned int member_limit)
{
	char hash[MSTORE_HASH_SIZE];
	int rc;

	rc = mstore_create_check(s, client, name, password, member_limit);
	if (rc)
		return rc;
	if (!password)
		return mstore_create_hashed(s, client, name, NULL, approval,
					    member_limit);
	rc = hash_password(s, hash, password);
	if (!rc)
		rc = mstore_create_hashed(s, client, name, hash, approval,
					  member_limit);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* Ban and standing: E_BANNED, E_ALREADY_MEMBER, PENDING or OK. */
static int join_standing(struct mstore *s, int64_t client, const struct net *n)
{
	enum mstore_state state;
	bool banned;
	int rc;

	rc = is_banned(s, n->id, client, &banned);
	if (rc)
		return rc;
	if (banned)
		return MSTORE_E_BANNED;
	rc = member_state(s, n->id, client, &state);
	if (rc)
		return rc;
	if (state == MSTORE_STATE_MEMBER)
		return MSTORE_E_ALREADY_MEMBER;
	return state == MSTORE_STATE_PENDING ? MSTORE_PENDING : MSTORE_OK;
}

int mstore_join_check(struct mstore *s, int64_t client, const char *name,
		      bool has_password, struct mstore_join_ticket *t)
{
	struct net n;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = client_by_id(s, client, NULL);
	if (rc)
		return rc;
	rc = net_by_name(s, name, &n);
	if (!rc)
		rc = join_standing(s, client, &n);
	if (!rc && n.has_hash && !has_password)
		rc = MSTORE_E_PASSWORD_REQUIRED;
	/*
	 * A password for a network that has none is refused, not ignored:
	 * whoever typed one meant another network, one that a squatter may
	 * have taken the name of.
	 */
	if (!rc && !n.has_hash && has_password)
		rc = MSTORE_E_NO_PASSWORD;
	if (!rc) {
		t->network = n.id;
		t->has_hash = n.has_hash;
		memcpy(t->hash, n.hash, sizeof(t->hash));
	}
	net_wipe(&n);
	return rc;
}

int mstore_join_commit(struct mstore *s, int64_t client, const char *name,
		       const struct mstore_join_ticket *t)
{
	struct net again;
	int64_t count, waiting;
	int rc;

	rc = begin(s);
		if (rc)
			return rc;
	rc = net_by_name(s, name, &again);
	/*
	 * The password checked must still be the network's: one the owner
	 * changed meanwhile counts as wrong.
	 */
	if (!rc && (again.id != t->network || again.has_hash != t->has_hash ||
		    strcmp(again.hash, t->hash)))
		rc = again.id != t->network ? MSTORE_E_NO_NETWORK :
					      MSTORE_E_PASSWORD;
	if (!rc)
		rc = join_standing(s, client, &again);
	/*
	 * Requests waiting for approval count toward the member limit, and
	 * only so many may wait: a flood of requests can neither grow the
	 * member list without bound nor take all of it.
	 */
	if (!rc)
		rc = member_count(s, again.id, &count);
	if (!rc)
		rc = pending_count(s, again.id, &waiting);
	if (!rc && count + waiting >= again.limit)
		rc = MSTORE_E_FULL;
	if (!rc && again.approval && waiting >= MSTORE_PENDING_MAX)
		rc = MSTORE_E_TOO_MANY_PENDING;
	if (!rc)
		rc = member_insert(s, again.id, client, again.approval ?
				   MSTORE_STATE_PENDING : MSTORE_STATE_MEMBER);
	if (!rc && again.approval)
		rc = MSTORE_PENDING;
	net_wipe(&again);
	return finish(s, rc);
}

int mstore_join(struct mstore *s, int64_t client, const char *name,
		const char *password)
{
	struct mstore_join_ticket t;
	int rc;

	rc = mstore_join_check(s, client, name, password != NULL, &t);
	if (!rc && t.has_hash)
		rc = mstore_verify(t.hash, password);
	if (!rc)
		rc = mstore_join_commit(s, client, name, &t);
	sodium_memzero(&t, sizeof(t));
	return rc;
}

int mstore_leave(struct mstore *s, int64_t client, const char *name,
		 int64_t *new_owner)
{
	enum mstore_state state;
	int64_t heir = 0;
	struct net n;
	struct db_stmt *st;
	int rc;

	if (new_owner)
		*new_owner = 0;
	rc = begin(s);
		if (rc)
			return rc;
	rc = net_by_name(s, name, &n);
	if (!rc)
		rc = member_state(s, n.id, client, &state);
	if (!rc && state == MSTORE_STATE_NONE)
		rc = MSTORE_E_NOT_MEMBER;
	if (!rc)
		rc = member_delete(s, n.id, client);
	if (!rc && n.owner == client) {
		st = prep(s, ST_MEMBER_OLDEST);
		if (!st || bind_i64(s, st, 1, n.id) ||
		    bind_i64(s, st, 2, client))
			rc = MSTORE_E_IO;
		else
			rc = query_i64(s, st, &heir);
		if (rc == 1) {
			rc = update_net(s, ST_NET_OWNER, n.id, heir, NULL,
					false);
		} else if (rc == 0) {
			rc = delete_net(s, n.id);
			if (!rc)
				rc = MSTORE_DELETED;
		}
	}
	net_wipe(&n);
	rc = finish(s, rc);
	if (rc == MSTORE_OK && new_owner)
		*new_owner = heir;
	return rc;
}

/*
 * The owner's commands on a client named by its public key, in one
 * transaction.  Never by nickname: a target can change that between the
 * owner's look and the command, and another can take the old one.
 * need_member: the client must be in the network (else any client).
 */
enum owner_op { OP_APPROVE, OP_KICK, OP_BAN, OP_UNBAN, OP_TRANSFER };

static int owner_op(struct mstore *s, int64_t owner, const char *name,
		    const uint8_t member[MSTORE_KEY_LEN], enum owner_op op)
{
	struct mstore_client t;
	enum mstore_state state = MSTORE_STATE_NONE;
	bool need_member = op != OP_BAN && op != OP_UNBAN;
	int64_t count;
	struct net n;
	struct db_stmt *st;
	int rc;

	if (!member)
		return MSTORE_E_INVALID;
	rc = begin(s);
		if (rc)
			return rc;
	rc = owned_net(s, owner, name, &n);
	if (!rc)
		rc = client_by_key(s, member, &t);
	if (rc == MSTORE_E_NO_CLIENT && need_member)
		rc = MSTORE_E_NO_MEMBER;
	if (!rc)
		rc = member_state(s, n.id, t.id, &state);
	if (!rc && need_member && state == MSTORE_STATE_NONE)
		rc = MSTORE_E_NO_MEMBER;
	if (rc)
		goto out;

	switch (op) {
	case OP_APPROVE:
		if (state != MSTORE_STATE_PENDING) {
			rc = MSTORE_E_NOT_PENDING;
			break;
		}
		rc = member_count(s, n.id, &count);
		if (!rc && count >= n.limit)
			rc = MSTORE_E_FULL;
		if (!rc) {
			st = prep(s, ST_MEMBER_APPROVE);
			if (!st || bind_i64(s, st, 1, n.id) ||
			    bind_i64(s, st, 2, t.id))
				rc = MSTORE_E_IO;
			else
				rc = run(s, st);
		}
		break;
	case OP_KICK:
		rc = t.id == owner ? MSTORE_E_SELF :
				     member_delete(s, n.id, t.id);
		break;
	case OP_BAN:
		if (t.id == owner) {
			rc = MSTORE_E_SELF;
			break;
		}
		rc = member_delete(s, n.id, t.id);
		st = rc ? NULL : prep(s, ST_BAN_INSERT);
		if (!rc && (!st || bind_i64(s, st, 1, n.id) ||
			    bind_i64(s, st, 2, t.id) ||
			    bind_i64(s, st, 3, (int64_t)time(NULL))))
			rc = MSTORE_E_IO;
		if (!rc)
			rc = run(s, st);
		break;
	case OP_UNBAN:
		st = prep(s, ST_BAN_DELETE);
		if (!st || bind_i64(s, st, 1, n.id) || bind_i64(s, st, 2, t.id))
			rc = MSTORE_E_IO;
		else
			rc = run(s, st);
		if (!rc && db_changes(s->db) == 0)
			rc = MSTORE_E_NOT_BANNED;
		break;
	case OP_TRANSFER:
		if (state != MSTORE_STATE_MEMBER)
			rc = MSTORE_E_NO_MEMBER;
		else
			rc = update_net(s, ST_NET_OWNER, n.id, t.id, NULL,
					false);
		break;
	}
out:
	net_wipe(&n);
	return finish(s, rc);
}

int mstore_approve(struct mstore *s, int64_t owner, const char *name,
		   const uint8_t member[MSTORE_KEY_LEN])
{
	return owner_op(s, owner, name, member, OP_APPROVE);
}

int mstore_kick(struct mstore *s, int64_t owner, const char *name,
		const uint8_t member[MSTORE_KEY_LEN])
{
	return owner_op(s, owner, name, member, OP_KICK);
}

int mstore_ban(struct mstore *s, int64_t owner, const char *name,
	       const uint8_t member[MSTORE_KEY_LEN])
{
	return owner_op(s, owner, name, member, OP_BAN);
}

int mstore_unban(struct mstore *s, int64_t owner, const char *name,
		 const uint8_t member[MSTORE_KEY_LEN])
{
	return owner_op(s, owner, name, member, OP_UNBAN);
}

int mstore_transfer_owner(struct mstore *s, int64_t owner, const char *name,
			  const uint8_t member[MSTORE_KEY_LEN])
{
	return owner_op(s, owner, name, member, OP_TRANSFER);
}

/* A one-statement change of a network its owner asks for. */
static int owner_update(struct mstore *s, int64_t owner, const char *name,
			enum stmt id, int64_t v, const char *text,
			bool use_text)
{
	struct net n;
	int rc;

	rc = begin(s);
		if (rc)
			return rc;
	rc = owned_net(s, owner, name, &n);
	if (!rc)
		rc = update_net(s, id, n.id, v, text, use_text);
	net_wipe(&n);
	return finish(s, rc);
}

/* Nobody but the owner gets to make the server hash. */
int mstore_set_password_check(struct mstore *s, int64_t owner,
			      const char *name, const char *password)
{
	struct net n;
	int rc;

	if (password && !password_ok(password))
		return MSTORE_E_BAD_PASSWORD;
	rc = owned_net(s, owner, name, &n);
	net_wipe(&n);
	return rc;
}

int mstore_set_password_hashed(struct mstore *s, int64_t owner,
			       const char *name, const char *hash)
{
	if (hash && !hash_ok(hash))
		return MSTORE_E_INVALID;
	return owner_update(s, owner, name, ST_NET_PASSWORD, 0, hash, true);
}

int mstore_set_password(struct mstore *s, int64_t owner, const char *name,
			const char *password)
{
	char hash[MSTORE_HASH_SIZE];
	int rc;

	rc = mstore_set_password_check(s, owner, name, password);
	if (rc)
		return rc;
	if (!password)
		return mstore_set_password_hashed(s, owner, name, NULL);
	rc = hash_password(s, hash, password);
	if (!rc)
		rc = mstore_set_password_hashed(s, owner, name, hash);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int mstore_set_approval(struct mstore *s, int64_t owner, const char *name,
			bool approval)
{
	return owner_update(s, owner, name, ST_NET_APPROVAL, approval, NULL,
			    false);
}

int mstore_set_limit(struct mstore *s, int64_t owner, const char *name,
		     unsigned int member_limit)
{
	if (member_limit == 0 || member_limit > MSTORE_MEMBER_LIMIT_MAX)
		return MSTORE_E_INVALID;
	return owner_update(s, owner, name, ST_NET_LIMIT, member_limit, NULL,
			    false);
}

int mstore_delete(struct mstore *s, int64_t owner, const char *name)
{
	struct net n;
	int rc;

	rc = begin(s);
		if (rc)
			return rc;
	rc = owned_net(s, owner, name, &n);
	if (!rc)
		rc = delete_net(s, n.id);
	net_wipe(&n);
	return finish(s, rc);
}

/* --- lookups ------------------------------------------------------- */

/* NETWORK_COLS and then the asking client's state. */
static int read_network(struct mstore *s, struct db_stmt *st,
			struct mstore_network *n)
{
	size_t name_len, nick_len;
	const char *name = db_column_text(st, 1, &name_len);
	const char *nick = db_column_text(st, 3, &nick_len);

	if (!name || name_len > MSTORE_NAME_MAX || !nick ||
	    nick_len > MSTORE_NICK_MAX)
		return fail_msg(s, "corrupt network record");
	memset(n, 0, sizeof(*n));
	n->id = db_column_i64(st, 0);
	memcpy(n->name, name, name_len);
	n->owner = db_column_i64(st, 2);
	memcpy(n->owner_nick, nick, nick_len);
	n->has_password = db_column_i64(st, 4) != 0;
	n->approval = db_column_i64(st, 5) != 0;
	n->member_limit = (unsigned int)db_column_i64(st, 6);
	n->members = (unsigned int)db_column_i64(st, 7);
	n->pending = (unsigned int)db_column_i64(st, 8);
	n->state = (enum mstore_state)db_column_i64(st, 9);
	return MSTORE_OK;
}

int mstore_network_info(struct mstore *s, int64_t client, const char *name,
			struct mstore_network *out)
{
	struct db_stmt *st;
	int rc;

	if (!name_ok(name, MSTORE_NAME_MAX))
		return MSTORE_E_NO_NETWORK;
	st = prep(s, ST_NET_INFO);
	if (!st || bind_text(s, st, 1, name) || bind_i64(s, st, 2, client))
		return MSTORE_E_IO;
	rc = step(s, st);
	if (rc <= 0)
		return rc == 0 ? MSTORE_E_NO_NETWORK : rc;
	rc = read_network(s, st, out);
	db_reset(st);
	return rc;
}

/*
 * Collects the rows of a bound statement into a new array of elements of
 * size bytes, each filled by read(s, st, element).
 */
static int collect(struct mstore *s, struct db_stmt *st, size_t size,
		   int (*fill)(struct mstore *, struct db_stmt *, void *),
		   void **out, size_t *count)
{
	size_t n = 0, cap = 0;
	char *arr = NULL, *bigger;
	int rc;

	while ((rc = step(s, st)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			bigger = reallocarray(arr, cap, size);
			if (!bigger) {
				rc = MSTORE_E_NOMEM;
				break;
			}
			arr = bigger;
		}
		rc = fill(s, st, arr + n * size);
		if (rc)
			break;
		n++;
	}
	db_reset(st);
	if (rc) {
		free(arr);
		return rc;
	}
	*out = arr;
	*count = n;
	return MSTORE_OK;
}

static int read_network_el(struct mstore *s, struct db_stmt *st, void *el)
{
	return read_network(s, st, el);
}

static int read_client_el(struct mstore *s, struct db_stmt *st, void *el)
{
	return read_client(s, st, 0, el);
}

static int read_member_el(struct mstore *s, struct db_stmt *st, void *el)
{
	struct mstore_member *m = el;
	int rc = read_client(s, st, 0, &m->client);

	m->state = (enum mstore_state)db_column_i64(st, 6);
	m->is_owner = db_column_i64(st, 7) != 0;
	return rc;
}

/* The rows of a statement that takes one client id, as an array. */
static int collect_for_client(struct mstore *s, int stmt, int64_t client,
			      size_t size,
			      int (*read)(struct mstore *, struct db_stmt *,
					  void *),
			      void **out, size_t *count)
{
	struct db_stmt *st = prep(s, stmt);
	int rc;

	*out = NULL;
	*count = 0;
	if (!st || bind_i64(s, st, 1, client))
		rc = MSTORE_E_IO;
	else
		rc = collect(s, st, size, read, out, count);
	return rc;
}

int mstore_networks_of(struct mstore *s, int64_t client,
		       struct mstore_network **out, size_t *count)
{
	void *arr;
	int rc = collect_for_client(s, ST_NETS_OF, client, sizeof(**out),
				    read_network_el, &arr, count);

	*out = arr;
	return rc;
}

int mstore_members(struct mstore *s, const char *name,
		   struct mstore_member **out, size_t *count)
{
	void *arr = NULL;
	struct db_stmt *st;
	struct net n;
	int rc;

	*out = NULL;
	*count = 0;
	/* One snapshot: the network and the rows of that network. */
	rc = db_begin_read(s->db);
	if (rc)
		return db_result(s, rc);
	rc = net_by_name(s, name, &n);
	net_wipe(&n);
	if (!rc) {
		st = prep(s, ST_MEMBERS);
		if (!st || bind_i64(s, st, 1, n.id))
			rc = MSTORE_E_IO;
		else
			rc = collect(s, st, sizeof(**out), read_member_el,
				     &arr, count);
	}
	rc = finish(s, rc);
	if (rc) {
		free(arr);
		*count = 0;
		return rc;
	}
	*out = arr;
	return MSTORE_OK;
}

int mstore_peers_of(struct mstore *s, int64_t client,
		    struct mstore_client **out, size_t *count)
{
	void *arr;
	int rc = collect_for_client(s, ST_PEERS_OF, client, sizeof(**out),
				    read_client_el, &arr, count);

	*out = arr;
	return rc;
}

int mstore_is_peer(struct mstore *s, const uint8_t a[MSTORE_KEY_LEN],
		   const uint8_t b[MSTORE_KEY_LEN], bool *peer)
{
	struct db_stmt *st;
	int rc;

	*peer = false;
	if (!a || !b)
		return MSTORE_E_INVALID;
	st = prep(s, ST_IS_PEER);
	if (!st || bind_blob(s, st, 1, a, MSTORE_KEY_LEN) ||
	    bind_blob(s, st, 2, b, MSTORE_KEY_LEN))
		return MSTORE_E_IO;
	rc = query_i64(s, st, NULL);
	if (rc < 0)
		return rc;
	*peer = rc == 1;
	return MSTORE_OK;
}

/* --- expiry -------------------------------------------------------- */

int mstore_expired(struct mstore *s, int64_t before, size_t max,
		   struct mstore_client **out, size_t *count)
{
	struct db_stmt *st = prep(s, ST_EXPIRED);
	void *arr = NULL;
	int rc;

	*out = NULL;
	*count = 0;
	if (!st || bind_i64(s, st, 1, before) ||
	    bind_i64(s, st, 2, (int64_t)(max < INT32_MAX ? max : INT32_MAX)))
		return MSTORE_E_IO;
	rc = collect(s, st, sizeof(**out), read_client_el, &arr, count);
	*out = arr;
	return rc;
}

static int read_i64_el(struct mstore *s, struct db_stmt *st, void *el)
{
	(void)s;
	*(int64_t *)el = db_column_i64(st, 0);
	return MSTORE_OK;
}

/* The network goes to its longest-standing other member, or away. */
static int disown(struct mstore *s, int64_t net, int64_t owner)
{
	struct db_stmt *st = prep(s, ST_MEMBER_OLDEST);
	int64_t heir;
	int rc;

	if (!st || bind_i64(s, st, 1, net) || bind_i64(s, st, 2, owner))
		return MSTORE_E_IO;
	rc = query_i64(s, st, &heir);
	if (rc == 1)
		return update_net(s, ST_NET_OWNER, net, heir, NULL, false);
	return rc ? rc : delete_net(s, net);
}

int mstore_expire(struct mstore *s, int64_t client, int64_t before)
{
	int64_t last, ipv4, *owned = NULL;
	struct db_stmt *st;
	size_t n = 0, i;
	void *arr = NULL;
	int rc;

	rc = begin(s);
		if (rc)
			return rc;
	st = prep(s, ST_CLIENT_SEEN);
	if (!st || bind_i64(s, st, 1, client)) {
		rc = MSTORE_E_IO;
		goto out;
	}
	rc = step(s, st);
	if (rc == 1) {
		last = db_column_i64(st, 0);
		ipv4 = db_column_i64(st, 1);
		db_reset(st);
		/* Back meanwhile: it stays. */
		rc = last < before ? MSTORE_OK : MSTORE_E_NO_CLIENT;
	} else if (rc == 0) {
		rc = MSTORE_E_NO_CLIENT;
	}
	st = rc ? NULL : prep(s, ST_OWNED);
	if (!rc && (!st || bind_i64(s, st, 1, client)))
		rc = MSTORE_E_IO;
	if (!rc)
		rc = collect(s, st, sizeof(int64_t), read_i64_el, &arr, &n);
	owned = arr;
	for (i = 0; !rc && i < n; i++)
		rc = disown(s, owned[i], client);
	/* Its memberships and bans go with it (ON DELETE CASCADE). */
	st = rc ? NULL : prep(s, ST_CLIENT_DELETE);
	if (!rc && (!st || bind_i64(s, st, 1, client)))
		rc = MSTORE_E_IO;
	if (!rc)
		rc = run(s, st);
	/* Its address is for the next new client: see alloc_ipv4. */
	st = rc || ipv4 < s->pool_first || ipv4 > s->pool_last ? NULL :
	     prep(s, ST_FREE_PUT);
	if (st && bind_i64(s, st, 1, ipv4))
		rc = MSTORE_E_IO;
	else if (st)
		rc = run(s, st);
out:
	free(owned);
	return finish(s, rc);
}

int mstore_touch(struct mstore *s, int64_t client)
{
	struct db_stmt *st = prep(s, ST_CLIENT_TOUCH);

	if (!st || bind_i64(s, st, 1, client) ||
	    bind_i64(s, st, 2, (int64_t)time(NULL)))
		return MSTORE_E_IO;
	return run(s, st);
}
