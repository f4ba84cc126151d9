// SPDX-License-Identifier: MIT
/*
 * The mediator's storage, each test on a fresh database in a directory of
 * its own.  Argon2id runs at its minimum cost: the tests are about what
 * is stored and refused, not about the hash's strength.
 *
 * With $SHOAL_TEST_DATABASE set (system/mstore_pg.sh), the same tests run
 * on that PostgreSQL database instead, emptied before each test by the
 * shell command $SHOAL_TEST_DB_RESET; those about SQLite's file skip.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "kselftest_harness.h"

#include "mediator/mstore.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum { ALICE, BOB, CAROL, DAVE, ERIN, USERS };

static const char *const nicks[USERS] = {
	"alice", "bob", "carol", "dave", "erin",
};

static void test_options(struct mstore_options *o)
{
	memset(o, 0, sizeof(*o));
	o->opslimit = crypto_pwhash_OPSLIMIT_MIN;
	o->memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

static int open_store(struct mstore **s, const char *path,
		      const struct mstore_options *o, char *err,
		      size_t err_size)
{
	struct mstore_options def;

	if (!o) {
		test_options(&def);
		o = &def;
	}
	return mstore_open(s, path, o, err, err_size);
}

/* The PostgreSQL database the tests run on, or NULL: SQLite files. */
static const char *pg_url(void)
{
	const char *url = getenv("SHOAL_TEST_DATABASE");

	return url && *url ? url : NULL;
}

static bool is_pg(const char *path)
{
	return !strncmp(path, "postgres", 8);
}

/*
 * raw_exec and raw_text on PostgreSQL: ?N become $N; $1 is a bytea and
 * $2 a bigint, typed so that a statement may use either alone.
 */
static int pg_raw(const char *url, const char *sql, const void *blob,
		  int blob_len, int64_t id, char *out, size_t size)
{
	static const Oid types[2] = { 17, 20 };
	char *q = strdup(sql), idtext[24], *p;
	const char *values[2] = { blob, idtext };
	int lengths[2] = { blob_len, 0 }, formats[2] = { 1, 0 };
	PGconn *conn = PQconnectdb(url);
	PGresult *res = NULL;
	int rc = -1;

	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	for (p = q; p && (p = strchr(p, '?')); p++)
		*p = '$';
	if (q && PQstatus(conn) == CONNECTION_OK)
		res = PQexecParams(conn, q, 2, types, values, lengths, formats,
				   0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK) {
		rc = 0;
		if (out && PQntuples(res) > 0)
			snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	PQfinish(conn);
	free(q);
	return rc;
}

/* A statement on the file behind the store's back; text binds ?1. */
static int raw_exec(const char *path, const char *sql, const void *blob,
		    int blob_len, int64_t id)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc;

	if (is_pg(path))
		return pg_raw(path, sql, blob, blob_len, id, NULL, 0);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL))
		return -1;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && blob)
		rc = sqlite3_bind_blob(st, 1, blob, blob_len, SQLITE_STATIC);
	if (rc == SQLITE_OK && id)
		rc = sqlite3_bind_int64(st, 2, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* The first column of the first row as text, "" if none. */
static int raw_text(const char *path, const char *sql, char *out,
		    size_t size)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc;

	out[0] = 0;
	if (is_pg(path))
		return pg_raw(path, sql, NULL, 0, 0, out, size);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL))
		return -1;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, size, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool same_client(const struct mstore_client *a,
			const struct mstore_client *b)
{
	return a->id == b->id && !memcmp(a->pubkey, b->pubkey, 32) &&
	       !strcmp(a->nickname, b->nickname) &&
	       a->ipv4.s_addr == b->ipv4.s_addr &&
	       !memcmp(&a->ipv6, &b->ipv6, sizeof(a->ipv6)) &&
	       !memcmp(a->mac, b->mac, MSTORE_MAC_LEN);
}

FIXTURE(store) {
	char dir[64], path[512];
	struct mstore *s;
	uint8_t key[USERS][32];
	struct mstore_client user[USERS];
	int64_t id[USERS];
};

FIXTURE_SETUP(store)
{
	char err[256] = "";
	int i;

	ASSERT_LE(0, sodium_init());
	strcpy(self->dir, "/tmp/shoal-mstore-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/mediator.db", self->dir);
	if (pg_url()) {
		snprintf(self->path, sizeof(self->path), "%s", pg_url());
		if (getenv("SHOAL_TEST_DB_RESET"))
			ASSERT_EQ(0, system(getenv("SHOAL_TEST_DB_RESET")));
	}
	ASSERT_EQ(MSTORE_OK, open_store(&self->s, self->path, NULL, err,
					sizeof(err))) TH_LOG("%s", err);
	for (i = 0; i < USERS; i++) {
		randombytes_buf(self->key[i], 32);
		ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[i],
						  nicks[i], &self->user[i]));
		self->id[i] = self->user[i].id;
	}
}

FIXTURE_TEARDOWN(store)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[600];
	size_t i;

	mstore_close(self->s);
	for (i = 0; i < ARRAY_LEN(suffix) && !pg_url(); i++) {
		snprintf(path, sizeof(path), "%s%s", self->path, suffix[i]);
		unlink(path);
	}
	rmdir(self->dir);
}

static int reopen(struct mstore **s, const char *path)
{
	char err[256];

	mstore_close(*s);
	*s = NULL;
	return open_store(s, path, NULL, err, sizeof(err));
}

static const struct mstore_member *find_member(const struct mstore_member *m,
					       size_t n, const char *nick)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].client.nickname, nick))
			return &m[i];
	return NULL;
}

TEST_F(store, login_creates_and_is_stable)
{
	struct mstore_client c, again;
	struct in6_addr ula;
	char text[INET6_ADDRSTRLEN];

	c = self->user[ALICE];
	EXPECT_LT(0, c.id);
	EXPECT_STREQ("alice", c.nickname);
	EXPECT_EQ(0, memcmp(c.pubkey, self->key[ALICE], 32));
	/* The lowest address of the default pool, then the next. */
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.1", text);
	inet_ntop(AF_INET, &self->user[BOB].ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.2", text);
	mstore_ula_prefix(self->s, &ula);
	EXPECT_EQ(0xfd, ula.s6_addr[0]);
	EXPECT_EQ(0, memcmp(c.ipv6.s6_addr, ula.s6_addr, 8));
	EXPECT_EQ(0, c.mac[0] & 1);
	EXPECT_EQ(2, c.mac[0] & 2);

	/* Again, keeping the nickname, then changing it. */
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[ALICE], NULL,
					  &again));
	EXPECT_TRUE(same_client(&c, &again));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[ALICE],
					  "Alice_2", &again));
	EXPECT_STREQ("Alice_2", again.nickname);
	strcpy(c.nickname, "Alice_2");
	EXPECT_TRUE(same_client(&c, &again));

	/* And after a restart: same prefix, same addresses, same MAC. */
	ASSERT_EQ(MSTORE_OK, reopen(&self->s, self->path));
	mstore_ula_prefix(self->s, &again.ipv6);
	EXPECT_EQ(0, memcmp(&ula, &again.ipv6, sizeof(ula)));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[ALICE], NULL,
					  &again));
	EXPECT_TRUE(same_client(&c, &again));
	ASSERT_EQ(MSTORE_OK, mstore_client_by_key(self->s, self->key[BOB],
						  &again));
	EXPECT_TRUE(same_client(&self->user[BOB], &again));

	/* A new key without a nickname cannot log in. */
	randombytes_buf(again.pubkey, 32);
	EXPECT_EQ(MSTORE_E_BAD_NICK, mstore_login(self->s, again.pubkey, NULL,
						  NULL));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_client_by_key(self->s,
							   again.pubkey,
							   NULL));
}

TEST_F(store, addresses_unique_across_1000_clients)
{
	enum { N = 1000 };
	uint32_t *v4 = calloc(N + USERS, sizeof(*v4));
	uint64_t *iid = calloc(N + USERS, sizeof(*iid));
	uint64_t *mac = calloc(N + USERS, sizeof(*mac));
	struct mstore_client c;
	uint8_t key[32];
	char nick[16];
	size_t i, n = 0;

	ASSERT_NE(NULL, v4);
	ASSERT_NE(NULL, iid);
	ASSERT_NE(NULL, mac);
	for (i = 0; i < N + USERS; i++) {
		if (i < USERS) {
			c = self->user[i];
		} else {
			randombytes_buf(key, sizeof(key));
			snprintf(nick, sizeof(nick), "client%zu", i);
			ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, nick,
							  &c));
		}
		v4[n] = ntohl(c.ipv4.s_addr);
		memcpy(&iid[n], c.ipv6.s6_addr + 8, 8);
		memcpy(&mac[n], c.mac, MSTORE_MAC_LEN);
		n++;
	}
	qsort(v4, n, sizeof(*v4), cmp_u32);
	qsort(iid, n, sizeof(*iid), cmp_u64);
	qsort(mac, n, sizeof(*mac), cmp_u64);
	/* Dense from the pool's first address: nothing skipped or reused. */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0x64400001u + i, v4[i]);
	for (i = 1; i < n; i++) {
		ASSERT_NE(iid[i - 1], iid[i]);
		ASSERT_NE(mac[i - 1], mac[i]);
	}
	free(v4);
	free(iid);
	free(mac);
}

TEST_F(store, mac_and_iid_collisions_pick_others)
{
	struct mstore_client c;
	uint8_t other[32];

	/*
	 * Hand alice's row another key: her MAC and interface id are the
	 * first candidates of her old key, so its next holder collides.
	 */
	randombytes_buf(other, sizeof(other));
	ASSERT_EQ(0, raw_exec(self->path,
			      "UPDATE clients SET pubkey = ?1 WHERE id = ?2",
			      other, 32, self->id[ALICE]));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[ALICE],
					  "alice2", &c));
	EXPECT_NE(self->id[ALICE], c.id);
	EXPECT_NE(0, memcmp(c.mac, self->user[ALICE].mac, MSTORE_MAC_LEN));
	EXPECT_NE(0, memcmp(&c.ipv6, &self->user[ALICE].ipv6, 16));
	EXPECT_EQ(0, c.mac[0] & 1);
	EXPECT_EQ(2, c.mac[0] & 2);
}

TEST_F(store, small_pool_exhausts_cleanly)
{
	struct mstore_options o;
	struct mstore_client c;
	struct mstore *s;
	char err[256], path[128], text[INET_ADDRSTRLEN];
	uint8_t key[3][32];
	int i;

	snprintf(path, sizeof(path), "%s/small.db", self->dir);
	test_options(&o);
	inet_pton(AF_INET, "100.100.7.0", &o.pool_base);
	o.pool_prefix = 30;
	ASSERT_EQ(MSTORE_OK, open_store(&s, path, &o, err, sizeof(err)))
		TH_LOG("%s", err);
	for (i = 0; i < 3; i++)
		randombytes_buf(key[i], 32);
	/* .0 and .3 are the network and broadcast addresses. */
	ASSERT_EQ(MSTORE_OK, mstore_login(s, key[0], "a", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.100.7.1", text);
	ASSERT_EQ(MSTORE_OK, mstore_login(s, key[1], "b", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.100.7.2", text);
	EXPECT_EQ(MSTORE_E_POOL_FULL, mstore_login(s, key[2], "c", &c));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_client_by_key(s, key[2], NULL));
	/* Those who have an address still log in. */
	EXPECT_EQ(MSTORE_OK, mstore_login(s, key[0], NULL, &c));
	mstore_close(s);
	snprintf(err, sizeof(err), "%s-wal", path);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", path);
	unlink(err);
	unlink(path);
}

/* Backdates a client's last login to the epoch's first second. */
static int backdate(const char *path, int64_t id)
{
	return raw_exec(path, "UPDATE clients SET last_login = 1 WHERE id = ?2",
			NULL, 0, id);
}

/*
 * Clients that never come back expire: what they owned passes on, and
 * their addresses go to the next new clients; everyone else keeps theirs.
 */
TEST_F(store, expiry)
{
	struct mstore_client *gone, c, again;
	struct mstore_network info;
	uint8_t key[32];
	uint32_t a_v4, c_v4, top = 0;
	size_t n, i;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", NULL));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[DAVE], "lan",
					 NULL));
	ASSERT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[ERIN]));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[CAROL], "solo",
					   NULL, false, 0));
	ASSERT_EQ(0, backdate(self->path, self->id[ALICE]));
	ASSERT_EQ(0, backdate(self->path, self->id[CAROL]));
	ASSERT_EQ(0, backdate(self->path, self->id[DAVE]));
	/* dave is online all along: that counts. */
	ASSERT_EQ(MSTORE_OK, mstore_touch(self->s, self->id[DAVE]));

	ASSERT_EQ(MSTORE_OK, mstore_expired(self->s, 100, 10, &gone, &n));
	ASSERT_EQ(2u, n);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(gone[i].id == self->id[ALICE] ||
			    gone[i].id == self->id[CAROL]);
	free(gone);
	ASSERT_EQ(MSTORE_OK, mstore_expired(self->s, 100, 1, &gone, &n));
	EXPECT_EQ(1u, n);
	free(gone);

	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_expire(self->s, self->id[BOB],
						    100));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_expire(self->s, self->id[DAVE],
						    100));
	ASSERT_EQ(MSTORE_OK, mstore_expire(self->s, self->id[ALICE], 100));
	ASSERT_EQ(MSTORE_OK, mstore_expire(self->s, self->id[CAROL], 100));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_expire(self->s, self->id[ALICE],
						    100));
	EXPECT_EQ(MSTORE_E_NO_CLIENT,
		  mstore_client_by_key(self->s, self->key[ALICE], NULL));
	/* lan is bob's, who has been in it longest; solo had only carol. */
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "lan", &info));
	EXPECT_EQ(self->id[BOB], info.owner);
	EXPECT_EQ(2u, info.members);
	EXPECT_EQ(MSTORE_E_NO_NETWORK,
		  mstore_network_info(self->s, 0, "solo", &info));
	/* erin's ban is the network's: it stays. */
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join(self->s, self->id[ERIN], "lan",
					       NULL));

	/* Their addresses go to the next new clients, lowest first. */
	a_v4 = ntohl(self->user[ALICE].ipv4.s_addr);
	c_v4 = ntohl(self->user[CAROL].ipv4.s_addr);
	for (i = 0; i < USERS; i++)
		if (ntohl(self->user[i].ipv4.s_addr) > top)
			top = ntohl(self->user[i].ipv4.s_addr);
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[ALICE], "alice",
					  &again));
	EXPECT_NE(self->id[ALICE], again.id);
	EXPECT_EQ(a_v4 < c_v4 ? a_v4 : c_v4, ntohl(again.ipv4.s_addr));
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, "fresh", &c));
	EXPECT_EQ(a_v4 < c_v4 ? c_v4 : a_v4, ntohl(c.ipv4.s_addr));
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, "newer", &c));
	EXPECT_EQ(top + 1, ntohl(c.ipv4.s_addr));
	/* The others keep theirs. */
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, self->key[BOB], NULL, &c));
	EXPECT_TRUE(same_client(&self->user[BOB], &c));
}

/*
 * A new pool: the allocation starts over in it, steps over the addresses
 * clients of the old one hold, and drops given-back addresses outside it.
 */
TEST_F(store, allocation_after_pool_change)
{
	struct mstore_options o;
	struct mstore_client c;
	struct mstore *s;
	char err[256], text[INET_ADDRSTRLEN];
	uint8_t key[32];

	/* alice .1, bob .2, carol .3, dave .4, erin .5 of 100.64.0.0/10. */
	ASSERT_EQ(0, backdate(self->path, self->id[BOB]));
	ASSERT_EQ(MSTORE_OK, mstore_expire(self->s, self->id[BOB], 100));
	mstore_close(self->s);
	self->s = NULL;
	test_options(&o);
	inet_pton(AF_INET, "100.64.0.0", &o.pool_base);
	o.pool_prefix = 29;
	ASSERT_EQ(MSTORE_OK, open_store(&s, self->path, &o, err, sizeof(err)))
		TH_LOG("%s", err);
	/* .2 came back in the old pool and is in the new one; then .6. */
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(s, key, "x1", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.2", text);
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(s, key, "x2", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.6", text);
	randombytes_buf(key, sizeof(key));
	EXPECT_EQ(MSTORE_E_POOL_FULL, mstore_login(s, key, "x3", &c));
	mstore_close(s);
	ASSERT_EQ(MSTORE_OK, reopen(&self->s, self->path));
	/* Back to the default pool: after the highest in use, .7. */
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, "x4", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.7", text);
}

/*
 * Takes the store's file back to schema version 2 as shoal-mediator
 * made it before version 3: the allocation state in meta, names unique
 * by COLLATE NOCASE only, no instances, no online.
 */
static int make_schema_2(const char *path, int64_t next)
{
	static const char *const sql[] = {
		"DROP TABLE instances",
		"DROP TABLE online",
		"DROP INDEX clients_nick_lower",
		"DROP INDEX networks_name_lower",
		"INSERT INTO meta (key, value) SELECT 'ipv4_pool', pool"
		" FROM ipv4_alloc",
		"DROP TABLE ipv4_alloc",
		"PRAGMA user_version = 2",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(sql); i++)
		if (raw_exec(path, sql[i], NULL, 0, 0))
			return -1;
	/* next 0: none, as version 1 had. */
	return next ? raw_exec(path, "INSERT INTO meta (key, value)"
			       " VALUES ('ipv4_next', ?2)", NULL, 0, next) : 0;
}

/*
 * A version 2 database is brought to version 3 keeping where allocation
 * was: a gap left below ipv4_next stays a gap.
 */
TEST_F(store, schema_2_migrated)
{
	struct mstore_client c;
	char text[INET_ADDRSTRLEN], v[32];
	uint8_t key[32];

	if (pg_url())
		SKIP(return, "about SQLite's file");
	mstore_close(self->s);
	self->s = NULL;
	/* .1 to .5 are in use: next was .9 in this history. */
	ASSERT_EQ(0, make_schema_2(self->path, 0x64400009));
	ASSERT_EQ(MSTORE_OK, reopen(&self->s, self->path));
	ASSERT_EQ(0, raw_text(self->path, "PRAGMA user_version", v,
			      sizeof(v)));
	EXPECT_STREQ("3", v);
	ASSERT_EQ(0, raw_text(self->path, "SELECT count(*) FROM meta"
			      " WHERE key LIKE 'ipv4_%'", v, sizeof(v)));
	EXPECT_STREQ("0", v);
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, "later", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.9", text);
	/* Names are unique ignoring case still, through the new index. */
	randombytes_buf(key, sizeof(key));
	EXPECT_EQ(MSTORE_E_NICK_TAKEN, mstore_login(self->s, key, "LATER",
						    &c));
}

/*
 * A version 1 database (before expiry) is brought to version 3, and new
 * clients go on after the highest address in use.
 */
TEST_F(store, schema_1_migrated)
{
	struct mstore_client c;
	char text[INET_ADDRSTRLEN], v[32];
	uint8_t key[32];

	if (pg_url())
		SKIP(return, "about SQLite's file");
	mstore_close(self->s);
	self->s = NULL;
	ASSERT_EQ(0, make_schema_2(self->path, 0));
	ASSERT_EQ(0, raw_exec(self->path, "DROP INDEX clients_by_last_login",
			      NULL, 0, 0));
	ASSERT_EQ(0, raw_exec(self->path, "DROP TABLE free_ipv4", NULL, 0, 0));
	ASSERT_EQ(0, raw_exec(self->path,
			      "DELETE FROM meta WHERE key LIKE 'ipv4_%'", NULL,
			      0, 0));
	ASSERT_EQ(0, raw_exec(self->path, "PRAGMA user_version = 1", NULL, 0,
			      0));
	ASSERT_EQ(MSTORE_OK, reopen(&self->s, self->path));
	ASSERT_EQ(0, raw_text(self->path, "PRAGMA user_version", v,
			      sizeof(v)));
	EXPECT_STREQ("3", v);
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, "later", &c));
	inet_ntop(AF_INET, &c.ipv4, text, sizeof(text));
	EXPECT_STREQ("100.64.0.6", text);
	ASSERT_EQ(0, backdate(self->path, self->id[ALICE]));
	EXPECT_EQ(MSTORE_OK, mstore_expire(self->s, self->id[ALICE], 100));
}

TEST_F(store, bad_options_refused)
{
	static const struct {
		const char *base;
		unsigned int prefix;
	} pools[] = {
		{ "10.0.0.0", 8 },		/* outside 100.64.0.0/10 */
		{ "100.128.0.0", 16 },		/* just past it */
		{ "100.0.0.0", 8 },		/* bigger than it */
		{ "100.64.0.1", 24 },		/* host bits */
		{ "100.64.0.0", 31 },		/* no room */
	};
	struct mstore_options o;
	struct mstore *s;
	char err[256], path[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/bad.db", self->dir);
	for (i = 0; i < ARRAY_LEN(pools); i++) {
		test_options(&o);
		inet_pton(AF_INET, pools[i].base, &o.pool_base);
		o.pool_prefix = pools[i].prefix;
		err[0] = 0;
		EXPECT_EQ(MSTORE_E_INVALID, open_store(&s, path, &o, err,
						       sizeof(err)))
			TH_LOG("%s/%u", pools[i].base, pools[i].prefix);
		EXPECT_EQ(NULL, s);
		EXPECT_NE(NULL, strstr(err, "pool")) TH_LOG("%s", err);
	}
	test_options(&o);
	o.opslimit = 1ULL << 40;
	EXPECT_EQ(MSTORE_E_INVALID, open_store(&s, path, &o, err,
					       sizeof(err)));
	test_options(&o);
	inet_pton(AF_INET6, "fc00:1:2::", &o.ula_prefix);
	EXPECT_EQ(MSTORE_E_INVALID, open_store(&s, path, &o, err,
					       sizeof(err)));
	test_options(&o);
	inet_pton(AF_INET6, "fd00:1:2:3::", &o.ula_prefix);
	EXPECT_EQ(MSTORE_E_INVALID, open_store(&s, path, &o, err,
					       sizeof(err)));
	unlink(path);
}

TEST_F(store, ula_prefix_chosen_once)
{
	struct mstore_options o;
	struct mstore_client c;
	struct mstore *s;
	char err[256], path[128], text[INET6_ADDRSTRLEN];
	uint8_t key[32];

	snprintf(path, sizeof(path), "%s/ula.db", self->dir);
	test_options(&o);
	inet_pton(AF_INET6, "fd12:3456:789a::", &o.ula_prefix);
	ASSERT_EQ(MSTORE_OK, open_store(&s, path, &o, err, sizeof(err)))
		TH_LOG("%s", err);
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(s, key, "a", &c));
	inet_ntop(AF_INET6, &c.ipv6, text, sizeof(text));
	EXPECT_EQ(0, strncmp(text, "fd12:3456:789a:0:", 17)) TH_LOG("%s", text);
	mstore_close(s);

	/* The same prefix or none is fine; another one is refused. */
	ASSERT_EQ(MSTORE_OK, open_store(&s, path, &o, err, sizeof(err)));
	mstore_close(s);
	ASSERT_EQ(MSTORE_OK, open_store(&s, path, NULL, err, sizeof(err)));
	mstore_close(s);
	inet_pton(AF_INET6, "fd12:3456:789b::", &o.ula_prefix);
	EXPECT_EQ(MSTORE_E_INVALID, open_store(&s, path, &o, err,
					       sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "fd12:3456:789a::/48")) TH_LOG("%s", err);
	snprintf(err, sizeof(err), "%s-wal", path);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", path);
	unlink(err);
	unlink(path);
}

TEST_F(store, nickname_rules_and_uniqueness)
{
	static const char *const good[] = {
		"x", "X9", "a.b_c-d", "0day",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 */
	};
	static const char *const bad[] = {
		"", "-x", ".x", "_x", "a b", "a'b", "a\"b", "a;b", "caf\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33 */
		"tab\t", "a/b", "a%b",
	};
	uint8_t key[32];
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++) {
		randombytes_buf(key, sizeof(key));
		EXPECT_EQ(MSTORE_OK, mstore_login(self->s, key, good[i], NULL))
			TH_LOG("'%s'", good[i]);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		randombytes_buf(key, sizeof(key));
		EXPECT_EQ(MSTORE_E_BAD_NICK, mstore_login(self->s, key, bad[i],
							  NULL))
			TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(MSTORE_E_BAD_NICK,
			  mstore_set_nick(self->s, self->id[BOB], bad[i]));
	}

	/* Unique ignoring case, at login and when renamed. */
	randombytes_buf(key, sizeof(key));
	EXPECT_EQ(MSTORE_E_NICK_TAKEN, mstore_login(self->s, key, "BOB", NULL));
	EXPECT_EQ(MSTORE_E_NICK_TAKEN, mstore_login(self->s, self->key[CAROL],
						    "Bob", NULL));
	EXPECT_EQ(MSTORE_E_NICK_TAKEN,
		  mstore_set_nick(self->s, self->id[CAROL], "ALICE"));
	/* One's own nickname in another case is a rename, not a clash. */
	EXPECT_EQ(MSTORE_OK, mstore_set_nick(self->s, self->id[BOB], "BoB"));
	EXPECT_EQ(MSTORE_OK, mstore_login(self->s, self->key[BOB], "bob",
					  NULL));
	/* A freed nickname can be taken. */
	EXPECT_EQ(MSTORE_OK, mstore_set_nick(self->s, self->id[CAROL],
					     "caroline"));
	EXPECT_EQ(MSTORE_OK, mstore_set_nick(self->s, self->id[DAVE],
					     "Carol"));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_set_nick(self->s, 12345, "zed"));
}

TEST_F(store, create_join_leave_open_network)
{
	struct mstore_member *m;
	struct mstore_network *nets;
	struct mstore_network info;
	size_t n;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	EXPECT_EQ(MSTORE_E_NAME_TAKEN, mstore_create(self->s, self->id[BOB],
						     "LAN", NULL, false, 0));
	EXPECT_EQ(MSTORE_E_BAD_NAME, mstore_create(self->s, self->id[BOB],
						   "my lan", NULL, false, 0));
	EXPECT_EQ(MSTORE_E_BAD_NAME, mstore_create(self->s, self->id[BOB], "",
						   NULL, false, 0));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_create(self->s, 9999, "x", NULL,
						    false, 0));
	EXPECT_EQ(MSTORE_E_INVALID, mstore_create(self->s, self->id[BOB], "x",
						  NULL, false, 70000));

	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_join(self->s, self->id[BOB],
						   "wan", NULL));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "Lan", NULL));
	EXPECT_EQ(MSTORE_E_ALREADY_MEMBER, mstore_join(self->s, self->id[BOB],
						       "lan", NULL));
	EXPECT_EQ(MSTORE_E_ALREADY_MEMBER,
		  mstore_join(self->s, self->id[ALICE], "lan", NULL));
	/*
	 * A password for a network without one is refused: whoever typed
	 * one meant a network with a password, not this one.
	 */
	EXPECT_EQ(MSTORE_E_NO_PASSWORD, mstore_join(self->s, self->id[CAROL],
						    "lan", "whatever"));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "lan",
					 NULL));

	ASSERT_EQ(MSTORE_OK, mstore_members(self->s, "lan", &m, &n));
	ASSERT_EQ(3u, n);
	EXPECT_STREQ("alice", m[0].client.nickname);
	EXPECT_TRUE(m[0].is_owner);
	EXPECT_EQ(MSTORE_STATE_MEMBER, (int)m[0].state);
	EXPECT_STREQ("bob", m[1].client.nickname);
	EXPECT_FALSE(m[1].is_owner);
	EXPECT_TRUE(same_client(&self->user[BOB], &m[1].client));
	free(m);

	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, self->id[BOB], "lan",
						 &info));
	EXPECT_STREQ("lan", info.name);
	EXPECT_EQ(self->id[ALICE], info.owner);
	EXPECT_STREQ("alice", info.owner_nick);
	EXPECT_FALSE(info.has_password);
	EXPECT_FALSE(info.approval);
	EXPECT_EQ(MSTORE_MEMBER_LIMIT_DEFAULT, (int)info.member_limit);
	EXPECT_EQ(3u, info.members);
	EXPECT_EQ(MSTORE_STATE_MEMBER, (int)info.state);

	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, self->id[BOB], "lan",
					  NULL));
	EXPECT_EQ(MSTORE_E_NOT_MEMBER, mstore_leave(self->s, self->id[BOB],
						    "lan", NULL));
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_leave(self->s, self->id[BOB],
						    "wan", NULL));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, self->id[BOB], "lan",
						 &info));
	EXPECT_EQ(MSTORE_STATE_NONE, (int)info.state);
	EXPECT_EQ(2u, info.members);
	ASSERT_EQ(MSTORE_OK, mstore_networks_of(self->s, self->id[BOB], &nets,
						&n));
	EXPECT_EQ(0u, n);
	EXPECT_EQ(NULL, nets);
	ASSERT_EQ(MSTORE_OK, mstore_networks_of(self->s, self->id[CAROL],
						&nets, &n));
	ASSERT_EQ(1u, n);
	EXPECT_STREQ("lan", nets[0].name);
	free(nets);
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_members(self->s, "wan", &m, &n));
	EXPECT_EQ(NULL, m);
}

TEST_F(store, password_protected_network)
{
	struct mstore_network info;
	char hash[256];

	EXPECT_EQ(MSTORE_E_BAD_PASSWORD, mstore_create(self->s,
						       self->id[ALICE], "sec",
						       "", false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "sec",
					   "hunter2", false, 0));
	ASSERT_EQ(0, raw_text(self->path,
			      "SELECT password_hash FROM networks", hash,
			      sizeof(hash)));
	EXPECT_EQ(0, strncmp(hash, "$argon2id$", 10)) TH_LOG("%s", hash);
	EXPECT_EQ(NULL, strstr(hash, "hunter2"));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "sec", &info));
	EXPECT_TRUE(info.has_password);

	EXPECT_EQ(MSTORE_E_PASSWORD_REQUIRED,
		  mstore_join(self->s, self->id[BOB], "sec", NULL));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[BOB], "sec",
						 "hunter3"));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[BOB], "sec",
						 ""));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[BOB], "sec",
						 "Hunter2"));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "sec",
					 "hunter2"));

	/* A new password: the old one no longer opens it. */
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_set_password(self->s,
							  self->id[BOB], "sec",
							  "mine"));
	EXPECT_EQ(MSTORE_E_BAD_PASSWORD, mstore_set_password(self->s,
							     self->id[ALICE],
							     "sec", ""));
	ASSERT_EQ(MSTORE_OK, mstore_set_password(self->s, self->id[ALICE],
						 "sec", "correct horse"));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[CAROL],
						 "sec", "hunter2"));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "sec",
					 "correct horse"));
	/* None at all. */
	ASSERT_EQ(MSTORE_OK, mstore_set_password(self->s, self->id[ALICE],
						 "sec", NULL));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[DAVE], "sec",
					 NULL));
	ASSERT_EQ(0, raw_text(self->path,
			      "SELECT count(*) FROM networks"
			      " WHERE password_hash IS NULL", hash,
			      sizeof(hash)));
	EXPECT_STREQ("1", hash);
}

/*
 * The steps shoal-mediator takes with Argon2id on another thread: each
 * *_check refuses what mstore's one-call function refuses before hashing,
 * and the commit refuses what changed in between.
 */
TEST_F(store, password_steps_recheck)
{
	struct mstore_join_ticket t;
	struct mstore_hash_cost cost;
	struct mstore_network info;
	char hash[MSTORE_HASH_SIZE], other[MSTORE_HASH_SIZE];

	mstore_hash_cost(self->s, &cost);
	EXPECT_EQ(MSTORE_E_BAD_PASSWORD, mstore_hash(&cost, "", hash));
	ASSERT_EQ(MSTORE_OK, mstore_hash(&cost, "pw", hash));
	EXPECT_EQ(0, strncmp(hash, "$argon2id$", 10));
	EXPECT_EQ(MSTORE_OK, mstore_verify(hash, "pw"));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_verify(hash, "Pw"));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_verify(hash, ""));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_verify("garbage", "pw"));

	/* CREATE: the name is taken while the hash is made. */
	EXPECT_EQ(MSTORE_E_BAD_NAME, mstore_create_check(self->s,
							 self->id[ALICE], "-x",
							 "pw", 0));
	EXPECT_EQ(MSTORE_E_BAD_PASSWORD, mstore_create_check(self->s,
							     self->id[ALICE],
							     "lan", "", 0));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_create_check(self->s, 9999, "lan",
							  "pw", 0));
	ASSERT_EQ(MSTORE_OK, mstore_create_check(self->s, self->id[ALICE],
						 "lan", "pw", 0));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[BOB], "LAN",
					   NULL, false, 0));
	EXPECT_EQ(MSTORE_E_NAME_TAKEN, mstore_create_hashed(self->s,
							    self->id[ALICE],
							    "lan", hash, false,
							    0));
	EXPECT_EQ(MSTORE_E_NAME_TAKEN, mstore_create_check(self->s,
							   self->id[ALICE],
							   "lan", "pw", 0));
	EXPECT_EQ(MSTORE_E_INVALID, mstore_create_hashed(self->s,
							 self->id[ALICE],
							 "sec", "", false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_create_hashed(self->s, self->id[ALICE],
						  "sec", hash, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "sec", &info));
	EXPECT_TRUE(info.has_password);
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "sec",
					 "pw"));

	/* JOIN: the checks before the password, and its ticket. */
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_join_check(self->s,
							 self->id[BOB], "wan",
							 true, &t));
	EXPECT_EQ(MSTORE_E_PASSWORD_REQUIRED,
		  mstore_join_check(self->s, self->id[BOB], "sec", false, &t));
	EXPECT_EQ(MSTORE_E_ALREADY_MEMBER,
		  mstore_join_check(self->s, self->id[CAROL], "sec", true,
				    &t));
	ASSERT_EQ(MSTORE_OK, mstore_join_check(self->s, self->id[ERIN], "lan",
					       false, &t));
	EXPECT_FALSE(t.has_hash);
	EXPECT_STREQ("", t.hash);
	ASSERT_EQ(MSTORE_OK, mstore_join_check(self->s, self->id[BOB], "sec",
					       true, &t));
	EXPECT_TRUE(t.has_hash);
	EXPECT_STREQ(hash, t.hash);
	EXPECT_EQ(MSTORE_OK, mstore_verify(t.hash, "pw"));

	/* The password changes meanwhile: the one checked is wrong now. */
	ASSERT_EQ(MSTORE_OK, mstore_hash(&cost, "pw2", other));
	ASSERT_EQ(MSTORE_OK, mstore_set_password_hashed(self->s,
							self->id[ALICE], "sec",
							other));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join_commit(self->s, self->id[BOB],
							"sec", &t));
	/* Banned meanwhile. */
	ASSERT_EQ(MSTORE_OK, mstore_join_check(self->s, self->id[BOB], "sec",
					       true, &t));
	ASSERT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "sec",
					self->key[BOB]));
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join_commit(self->s, self->id[BOB],
						      "sec", &t));
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join_check(self->s, self->id[BOB],
						     "sec", true, &t));
	/* Deleted and made again by the same name: not the one checked. */
	ASSERT_EQ(MSTORE_OK, mstore_join_check(self->s, self->id[DAVE], "lan",
					       false, &t));
	ASSERT_EQ(MSTORE_OK, mstore_delete(self->s, self->id[BOB], "lan"));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[BOB], "lan",
					   NULL, false, 0));
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_join_commit(self->s,
							  self->id[DAVE],
							  "lan", &t));
	/* Unchanged: it joins. */
	ASSERT_EQ(MSTORE_OK, mstore_join_check(self->s, self->id[DAVE], "sec",
					       true, &t));
	EXPECT_EQ(MSTORE_OK, mstore_verify(t.hash, "pw2"));
	EXPECT_EQ(MSTORE_OK, mstore_join_commit(self->s, self->id[DAVE],
						"sec", &t));
	EXPECT_EQ(MSTORE_E_ALREADY_MEMBER,
		  mstore_join_commit(self->s, self->id[DAVE], "sec", &t));

	/* SET_PASSWORD: the owner changes while the hash is made. */
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_set_password_check(self->s,
								self->id[DAVE],
								"sec", "x"));
	EXPECT_EQ(MSTORE_E_BAD_PASSWORD,
		  mstore_set_password_check(self->s, self->id[ALICE], "sec",
					    ""));
	EXPECT_EQ(MSTORE_E_NO_NETWORK,
		  mstore_set_password_check(self->s, self->id[ALICE], "wan",
					    "x"));
	ASSERT_EQ(MSTORE_OK, mstore_set_password_check(self->s,
						       self->id[ALICE], "sec",
						       "x"));
	ASSERT_EQ(MSTORE_OK, mstore_transfer_owner(self->s, self->id[ALICE],
						   "sec", self->key[CAROL]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER,
		  mstore_set_password_hashed(self->s, self->id[ALICE], "sec",
					     hash));
	EXPECT_EQ(MSTORE_E_INVALID,
		  mstore_set_password_hashed(self->s, self->id[CAROL], "sec",
					     ""));
	EXPECT_EQ(MSTORE_OK, mstore_set_password_hashed(self->s,
							self->id[CAROL], "sec",
							NULL));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "sec", &info));
	EXPECT_FALSE(info.has_password);
	sodium_memzero(&t, sizeof(t));
}

TEST_F(store, approval_flow)
{
	struct mstore_network *nets;
	struct mstore_client *peers;
	struct mstore_member *m;
	uint8_t nobody[32];
	size_t n;

	randombytes_buf(nobody, sizeof(nobody));

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "club",
					   "pw", true, 0));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[BOB],
						 "club", "nope"));
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "club",
					      "pw"));
	/* Asking twice is still waiting, not an error. */
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "club",
					      "pw"));
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[CAROL], "club",
					      "pw"));

	ASSERT_EQ(MSTORE_OK, mstore_networks_of(self->s, self->id[BOB], &nets,
						&n));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(MSTORE_STATE_PENDING, (int)nets[0].state);
	EXPECT_EQ(1u, nets[0].members);
	EXPECT_EQ(2u, nets[0].pending);
	EXPECT_TRUE(nets[0].approval);
	free(nets);
	/* Waiting is not being in: no peers yet. */
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[ALICE], &peers,
					     &n));
	EXPECT_EQ(0u, n);
	free(peers);

	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_approve(self->s, self->id[BOB],
						     "club", self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_approve(self->s, self->id[ALICE],
						     "club", self->key[DAVE]));
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_approve(self->s, self->id[ALICE],
						     "club", nobody));
	EXPECT_EQ(MSTORE_E_NOT_PENDING, mstore_approve(self->s,
						       self->id[ALICE], "club",
						       self->key[ALICE]));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "club",
					    self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_PENDING, mstore_approve(self->s,
						       self->id[ALICE], "club",
						       self->key[BOB]));
	EXPECT_EQ(MSTORE_E_ALREADY_MEMBER, mstore_join(self->s, self->id[BOB],
						       "club", "pw"));
	/* Kicking a request turns it down. */
	ASSERT_EQ(MSTORE_OK, mstore_kick(self->s, self->id[ALICE], "club",
					 self->key[CAROL]));

	ASSERT_EQ(MSTORE_OK, mstore_members(self->s, "club", &m, &n));
	ASSERT_EQ(2u, n);
	EXPECT_EQ(MSTORE_STATE_MEMBER, (int)m[1].state);
	EXPECT_STREQ("bob", m[1].client.nickname);
	free(m);
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[ALICE], &peers,
					     &n));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(self->id[BOB], peers[0].id);
	free(peers);

	/* Approval off: the next one is in at once. */
	ASSERT_EQ(MSTORE_OK, mstore_set_approval(self->s, self->id[ALICE],
						 "club", false));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "club",
					 "pw"));
}

TEST_F(store, full_network)
{
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "duo",
					   NULL, false, 2));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "duo", NULL));
	EXPECT_EQ(MSTORE_E_FULL, mstore_join(self->s, self->id[CAROL], "duo",
					     NULL));
	ASSERT_EQ(MSTORE_OK, mstore_set_limit(self->s, self->id[ALICE], "duo",
					      3));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "duo",
					 NULL));
	EXPECT_EQ(MSTORE_E_INVALID, mstore_set_limit(self->s, self->id[ALICE],
						     "duo", 0));

	/*
	 * Waiting requests count toward the limit: alice and bob's fill a
	 * network of two.  Approval needs room among the active members.
	 */
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "gate",
					   NULL, true, 2));
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "gate",
					      NULL));
	EXPECT_EQ(MSTORE_E_FULL, mstore_join(self->s, self->id[CAROL], "gate",
					     NULL));
	EXPECT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "gate",
					    self->key[BOB]));
	EXPECT_EQ(MSTORE_E_FULL, mstore_join(self->s, self->id[CAROL], "gate",
					     NULL));
	ASSERT_EQ(MSTORE_OK, mstore_set_limit(self->s, self->id[ALICE],
					      "gate", 3));
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[CAROL], "gate",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_set_limit(self->s, self->id[ALICE],
					      "gate", 2));
	EXPECT_EQ(MSTORE_E_FULL, mstore_approve(self->s, self->id[ALICE],
						"gate", self->key[CAROL]));
	EXPECT_EQ(MSTORE_E_FULL, mstore_join(self->s, self->id[DAVE], "gate",
					     NULL));
}

/*
 * At most MSTORE_PENDING_MAX requests wait: a flood of sybils cannot
 * grow the member list (and the owner's NETWORKS reply) without bound.
 */
TEST_F(store, pending_capped)
{
	int64_t ids[MSTORE_PENDING_MAX + 1];
	struct mstore_network info;
	struct mstore_client c;
	uint8_t key[32];
	char nick[32];
	int i;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "club",
					   NULL, true, 0));
	for (i = 0; i <= MSTORE_PENDING_MAX; i++) {
		randombytes_buf(key, sizeof(key));
		snprintf(nick, sizeof(nick), "sybil%d", i);
		ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, nick, &c));
		ids[i] = c.id;
	}
	for (i = 0; i < MSTORE_PENDING_MAX; i++)
		EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, ids[i], "club",
						      NULL));
	EXPECT_EQ(MSTORE_E_TOO_MANY_PENDING,
		  mstore_join(self->s, ids[MSTORE_PENDING_MAX], "club", NULL));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "club", &info));
	EXPECT_EQ((unsigned int)MSTORE_PENDING_MAX, info.pending);
	/* Asking again is no new request; one turned down makes room. */
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, ids[0], "club", NULL));
	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, ids[1], "club", NULL));
	EXPECT_EQ(MSTORE_PENDING,
		  mstore_join(self->s, ids[MSTORE_PENDING_MAX], "club", NULL));
	/* A network without approval has no waiting room to fill. */
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[BOB], "open",
					   NULL, false, 0));
	for (i = 0; i <= MSTORE_PENDING_MAX; i++)
		EXPECT_EQ(MSTORE_OK, mstore_join(self->s, ids[i], "open",
						 NULL));
}

TEST_F(store, kick_and_ban)
{
	struct mstore_network info;
	uint8_t nobody[32];

	randombytes_buf(nobody, sizeof(nobody));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", NULL));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "lan",
					 NULL));

	ASSERT_EQ(MSTORE_OK, mstore_kick(self->s, self->id[ALICE], "lan",
					 self->key[BOB]));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, self->id[BOB], "lan",
						 &info));
	EXPECT_EQ(MSTORE_STATE_NONE, (int)info.state);
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_kick(self->s, self->id[ALICE],
						  "lan", self->key[BOB]));
	/* A kick is not a ban. */
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", NULL));

	ASSERT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[BOB]));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, self->id[BOB], "lan",
						 &info));
	EXPECT_EQ(MSTORE_STATE_NONE, (int)info.state);
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join(self->s, self->id[BOB], "lan",
					       NULL));
	/* Banning again is harmless; so is banning one who is not in. */
	EXPECT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[BOB]));
	EXPECT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[DAVE]));
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join(self->s, self->id[DAVE], "lan",
					       NULL));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_ban(self->s, self->id[ALICE],
						 "lan", nobody));
	EXPECT_EQ(MSTORE_E_SELF, mstore_ban(self->s, self->id[ALICE], "lan",
					    self->key[ALICE]));
	EXPECT_EQ(MSTORE_E_SELF, mstore_kick(self->s, self->id[ALICE], "lan",
					     self->key[ALICE]));

	ASSERT_EQ(MSTORE_OK, mstore_unban(self->s, self->id[ALICE], "lan",
					  self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_BANNED, mstore_unban(self->s, self->id[ALICE],
						    "lan", self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_BANNED, mstore_unban(self->s, self->id[ALICE],
						    "lan", self->key[ERIN]));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", NULL));
}

TEST_F(store, only_the_owner)
{
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, true, 0));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "lan",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "lan",
					    self->key[BOB]));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[CAROL], "lan",
					      NULL));

	/* Bob is a member, Erin a stranger: neither may. */
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_approve(self->s, self->id[BOB],
						     "lan", self->key[CAROL]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_kick(self->s, self->id[BOB],
						  "lan", self->key[ALICE]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_ban(self->s, self->id[ERIN],
						 "lan", self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_unban(self->s, self->id[BOB],
						   "lan", self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_set_password(self->s,
							  self->id[BOB], "lan",
							  "x"));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_set_approval(self->s,
							  self->id[BOB], "lan",
							  false));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_set_limit(self->s, self->id[BOB],
						       "lan", 5));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_transfer_owner(self->s,
							    self->id[BOB],
							    "lan", self->key[BOB]));
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_delete(self->s, self->id[BOB],
						    "lan"));
	/* An unknown network is that, whoever asks. */
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_delete(self->s, self->id[BOB],
						     "wan"));
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_kick(self->s, self->id[ALICE],
						   "wan", self->key[BOB]));
}

TEST_F(store, owner_leaving_hands_over)
{
	struct mstore_network info;
	int64_t heir;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, true, 0));
	/* Carol asks first but is let in after Bob: Bob is senior. */
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[CAROL], "lan",
					      NULL));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "lan",
					      NULL));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[DAVE], "lan",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "lan",
					    self->key[BOB]));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "lan",
					    self->key[CAROL]));

	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, self->id[ALICE], "lan",
					  &heir));
	EXPECT_EQ(self->id[BOB], heir);
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "lan", &info));
	EXPECT_EQ(self->id[BOB], info.owner);
	EXPECT_STREQ("bob", info.owner_nick);
	EXPECT_EQ(MSTORE_E_NOT_OWNER, mstore_kick(self->s, self->id[ALICE],
						  "lan", self->key[CAROL]));

	/* Handing over by hand: only to a member, not a request. */
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_transfer_owner(self->s,
							    self->id[BOB],
							    "lan", self->key[DAVE]));
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_transfer_owner(self->s,
							    self->id[BOB],
							    "lan", self->key[ALICE]));
	ASSERT_EQ(MSTORE_OK, mstore_transfer_owner(self->s, self->id[BOB],
						   "lan", self->key[CAROL]));
	ASSERT_EQ(MSTORE_OK, mstore_network_info(self->s, 0, "lan", &info));
	EXPECT_EQ(self->id[CAROL], info.owner);

	/* Carol leaves: Bob again; then Bob, with only a request left. */
	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, self->id[CAROL], "lan",
					  &heir));
	EXPECT_EQ(self->id[BOB], heir);
	/* A plain member leaving hands nothing over. */
	heir = -1;
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[ERIN], "lan",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, self->id[ERIN], "lan",
					  &heir));
	EXPECT_EQ(0, heir);
	EXPECT_EQ(MSTORE_DELETED, mstore_leave(self->s, self->id[BOB], "lan",
					       &heir));
	EXPECT_EQ(0, heir);
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_network_info(self->s, 0, "lan",
							   &info));
	EXPECT_EQ(0, raw_text(self->path, "SELECT count(*) FROM members",
			      info.name, sizeof(info.name)));
	EXPECT_STREQ("0", info.name);
}

TEST_F(store, delete_network)
{
	struct mstore_network *nets;
	char count[16];
	size_t n;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   "pw", false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", "pw"));
	ASSERT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[CAROL]));
	ASSERT_EQ(MSTORE_OK, mstore_delete(self->s, self->id[ALICE], "lan"));
	EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_join(self->s, self->id[CAROL],
						   "lan", "pw"));
	ASSERT_EQ(MSTORE_OK, mstore_networks_of(self->s, self->id[BOB], &nets,
						&n));
	EXPECT_EQ(0u, n);
	/* Memberships and bans go with it. */
	EXPECT_EQ(0, raw_text(self->path,
			      "SELECT (SELECT count(*) FROM members)"
			      " + (SELECT count(*) FROM bans)", count,
			      sizeof(count)));
	EXPECT_STREQ("0", count);
	/* The name is free again, and the old ban is gone. */
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[BOB], "LAN", NULL,
					   false, 0));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[CAROL], "lan",
					 NULL));
}

TEST_F(store, peers_across_two_networks)
{
	struct mstore_client *peers;
	bool yes;
	size_t n;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "one",
					   NULL, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[CAROL], "two",
					   NULL, true, 0));
	ASSERT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "one", NULL));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[ALICE], "two",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[CAROL], "two",
					    self->key[ALICE]));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "two",
					      NULL));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[CAROL], "two",
					    self->key[BOB]));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[DAVE], "two",
					      NULL));

	/* Bob shares both with Alice and is listed once. */
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[ALICE], &peers,
					     &n));
	ASSERT_EQ(2u, n);
	EXPECT_TRUE(same_client(&self->user[BOB], &peers[0]));
	EXPECT_TRUE(same_client(&self->user[CAROL], &peers[1]));
	free(peers);
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[CAROL], &peers,
					     &n));
	ASSERT_EQ(2u, n);
	EXPECT_EQ(self->id[ALICE], peers[0].id);
	EXPECT_EQ(self->id[BOB], peers[1].id);
	free(peers);
	/* Dave only waits; Erin is in nothing. */
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[DAVE], &peers,
					     &n));
	EXPECT_EQ(0u, n);
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[ERIN], &peers,
					     &n));
	EXPECT_EQ(0u, n);

	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[ALICE],
					    self->key[CAROL], &yes));
	EXPECT_TRUE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[CAROL],
					    self->key[BOB], &yes));
	EXPECT_TRUE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[DAVE],
					    self->key[CAROL], &yes));
	EXPECT_FALSE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[CAROL],
					    self->key[DAVE], &yes));
	EXPECT_FALSE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[ALICE],
					    self->key[ALICE], &yes));
	EXPECT_FALSE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[ALICE],
					    self->key[ERIN], &yes));
	EXPECT_FALSE(yes);

	/* Leaving "two" leaves Carol and Alice strangers. */
	ASSERT_EQ(MSTORE_OK, mstore_leave(self->s, self->id[ALICE], "two",
					  NULL));
	ASSERT_EQ(MSTORE_OK, mstore_is_peer(self->s, self->key[ALICE],
					    self->key[CAROL], &yes));
	EXPECT_FALSE(yes);
	ASSERT_EQ(MSTORE_OK, mstore_peers_of(self->s, self->id[ALICE], &peers,
					     &n));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(self->id[BOB], peers[0].id);
	free(peers);
}

TEST_F(store, reopen_keeps_everything)
{
	struct mstore_network *nets;
	struct mstore_member *m;
	const struct mstore_member *b;
	size_t n;

	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   "pw", true, 7));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[BOB], "lan",
					      "pw"));
	ASSERT_EQ(MSTORE_OK, mstore_approve(self->s, self->id[ALICE], "lan",
					    self->key[BOB]));
	ASSERT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[CAROL], "lan",
					      "pw"));
	ASSERT_EQ(MSTORE_OK, mstore_ban(self->s, self->id[ALICE], "lan",
					self->key[DAVE]));

	ASSERT_EQ(MSTORE_OK, reopen(&self->s, self->path));
	ASSERT_EQ(MSTORE_OK, mstore_networks_of(self->s, self->id[CAROL],
						&nets, &n));
	ASSERT_EQ(1u, n);
	EXPECT_STREQ("lan", nets[0].name);
	EXPECT_EQ(self->id[ALICE], nets[0].owner);
	EXPECT_TRUE(nets[0].has_password);
	EXPECT_TRUE(nets[0].approval);
	EXPECT_EQ(7u, nets[0].member_limit);
	EXPECT_EQ(2u, nets[0].members);
	EXPECT_EQ(1u, nets[0].pending);
	EXPECT_EQ(MSTORE_STATE_PENDING, (int)nets[0].state);
	free(nets);
	ASSERT_EQ(MSTORE_OK, mstore_members(self->s, "lan", &m, &n));
	ASSERT_EQ(3u, n);
	b = find_member(m, n, "bob");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(MSTORE_STATE_MEMBER, (int)b->state);
	EXPECT_TRUE(same_client(&self->user[BOB], &b->client));
	b = find_member(m, n, "carol");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(MSTORE_STATE_PENDING, (int)b->state);
	free(m);
	EXPECT_EQ(MSTORE_E_BANNED, mstore_join(self->s, self->id[DAVE], "lan",
					       "pw"));
	EXPECT_EQ(MSTORE_E_PASSWORD, mstore_join(self->s, self->id[ERIN],
						 "lan", "wrong"));
	EXPECT_EQ(MSTORE_PENDING, mstore_join(self->s, self->id[ERIN], "lan",
					      "pw"));
}

/* Two connections, as two mediators on one file would have. */
TEST_F(store, two_connections_share_the_file)
{
	struct mstore_client a, b;
	struct mstore_member *m;
	struct mstore *s2;
	char err[256];
	uint8_t key[32];
	size_t n;

	ASSERT_EQ(MSTORE_OK, open_store(&s2, self->path, NULL, err,
					sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(MSTORE_OK, mstore_create(s2, self->id[ALICE], "lan", "pw",
					   false, 0));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", "pw"));
	ASSERT_EQ(MSTORE_OK, mstore_members(s2, "lan", &m, &n));
	EXPECT_EQ(2u, n);
	free(m);
	randombytes_buf(key, sizeof(key));
	ASSERT_EQ(MSTORE_OK, mstore_login(s2, key, "frank", &a));
	ASSERT_EQ(MSTORE_OK, mstore_login(self->s, key, NULL, &b));
	EXPECT_TRUE(same_client(&a, &b));
	EXPECT_EQ(MSTORE_E_NICK_TAKEN, mstore_set_nick(self->s,
						       self->id[CAROL],
						       "FRANK"));
	mstore_close(s2);
}

/*
 * What one allocating process reports for each client, 16 bytes, whole
 * through a pipe (PIPE_BUF); ipv4 0: a nickname won.
 */
struct made {
	uint32_t ipv4;
	uint8_t mac[MSTORE_MAC_LEN];
	uint8_t iid[6];			/* the last 6 of the 8: enough here */
};

enum { RACE_CLIENTS = 150, RACE_NICKS = 20 };

/*
 * One of the processes of concurrent_writers: new clients, then the
 * same nicknames as the other process for keys of its own.  Exit 0 if
 * every call gave what it may: OK, or NICK_TAKEN for a raced nickname;
 * each nickname it won is a record with ipv4 0.
 */
static void __attribute__((noreturn))
race_child(const char *path, int fd, int who)
{
	struct mstore_client c;
	struct mstore *s;
	struct made m;
	uint8_t key[32];
	char nick[32], err[256];
	int i, rc;

	if (open_store(&s, path, NULL, err, sizeof(err)))
		_exit(10);
	for (i = 0; i < RACE_CLIENTS; i++) {
		randombytes_buf(key, sizeof(key));
		snprintf(nick, sizeof(nick), "p%d-%d", who, i);
		if (mstore_login(s, key, nick, &c))
			_exit(11);
		m.ipv4 = ntohl(c.ipv4.s_addr);
		memcpy(m.mac, c.mac, sizeof(m.mac));
		memcpy(m.iid, c.ipv6.s6_addr + 10, sizeof(m.iid));
		if (write(fd, &m, sizeof(m)) != sizeof(m))
			_exit(12);
	}
	for (i = 0; i < RACE_NICKS; i++) {
		randombytes_buf(key, sizeof(key));
		snprintf(nick, sizeof(nick), who ? "Race%d" : "race%d", i);
		rc = mstore_login(s, key, nick, &c);
		memset(&m, 0, sizeof(m));
		if (rc == MSTORE_OK && write(fd, &m, sizeof(m)) != sizeof(m))
			_exit(12);
		if (rc != MSTORE_OK && rc != MSTORE_E_NICK_TAKEN)
			_exit(13);
	}
	mstore_close(s);
	_exit(0);
}

static int cmp_made(const void *a, const void *b)
{
	const struct made *x = a, *y = b;

	return x->ipv4 < y->ipv4 ? -1 : x->ipv4 > y->ipv4;
}

/*
 * Two processes, as two shoal-mediator instances on one database, make
 * clients at once: no address, MAC or interface id goes to two, and each
 * raced nickname (the same but for case) goes to exactly one.
 */
TEST_F_TIMEOUT(store, concurrent_writers, 120)
{
	struct made got[2 * RACE_CLIENTS], *m;
	size_t n = 0, wins = 0, i, j;
	int pipefd[2], status, k;
	pid_t pid[2];
	ssize_t r;
	char buf[sizeof(struct made)];

	ASSERT_EQ(0, pipe(pipefd));
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		ASSERT_LE(0, pid[k]);
		if (pid[k] == 0) {
			close(pipefd[0]);
			race_child(self->path, pipefd[1], k);
		}
	}
	close(pipefd[1]);
	while ((r = read(pipefd[0], buf, sizeof(buf))) > 0) {
		ASSERT_EQ((ssize_t)sizeof(buf), r);
		if (!((struct made *)buf)->ipv4)
			wins++;
		else if (n < 2 * RACE_CLIENTS)
			memcpy(&got[n++], buf, sizeof(buf));
	}
	close(pipefd[0]);
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(pid[k], waitpid(pid[k], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("process %d: status 0x%x", k, status);
	}
	ASSERT_EQ((size_t)(2 * RACE_CLIENTS), n);
	EXPECT_EQ((size_t)RACE_NICKS, wins);
	qsort(got, n, sizeof(got[0]), cmp_made);
	for (i = 1; i < n; i++)
		ASSERT_NE(got[i - 1].ipv4, got[i].ipv4);
	/* Still dense: nothing lost to a rolled back allocation. */
	EXPECT_EQ(0x64400001u + USERS, got[0].ipv4);
	for (i = 0; i < n; i++)
		for (j = i + 1, m = &got[i]; j < n; j++) {
			ASSERT_NE(0, memcmp(m->mac, got[j].mac,
					    sizeof(m->mac)));
			ASSERT_NE(0, memcmp(m->iid, got[j].iid,
					    sizeof(m->iid)));
		}
}

/*
 * PostgreSQL stopped: every call says so at once (MSTORE_E_UNAVAILABLE)
 * and nothing else breaks; back, it is found again within a second, and
 * nothing written before is lost.  Restarted between two calls: the
 * second works (the broken connection is replaced and the call made
 * again).  Only where the test can stop and start it.
 */
TEST_F_TIMEOUT(store, database_restart, 60)
{
	const char *stop = getenv("SHOAL_TEST_DB_STOP");
	const char *start = getenv("SHOAL_TEST_DB_START");
	struct mstore_client c;
	uint64_t count, total, max;
	int64_t clients = 0, networks = 0;
	uint8_t key[32];

	if (!pg_url() || !stop || !start)
		SKIP(return, "needs a database the test can stop "
		     "(system/mstore_pg.sh)");
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	ASSERT_EQ(0, system(stop));
	randombytes_buf(key, sizeof(key));
	EXPECT_EQ(MSTORE_E_UNAVAILABLE, mstore_login(self->s, key, "frank",
						     &c));
	EXPECT_STREQ("the database is unavailable; try again later",
		     mstore_strerror(MSTORE_E_UNAVAILABLE));
	EXPECT_EQ(MSTORE_E_UNAVAILABLE, mstore_join(self->s, self->id[BOB],
						    "lan", NULL));
	EXPECT_EQ(MSTORE_E_UNAVAILABLE, mstore_client_by_key(self->s,
							     self->key[BOB],
							     &c));
	ASSERT_EQ(0, system(start));
	/* An attempt at most once a second: the next one finds it back. */
	sleep(1);
	usleep(100000);
	EXPECT_EQ(MSTORE_OK, mstore_client_by_key(self->s, self->key[BOB],
						  &c))
		TH_LOG("%s", mstore_last_error(self->s));
	EXPECT_TRUE(same_client(&self->user[BOB], &c));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan",
					 NULL));
	ASSERT_EQ(MSTORE_OK, mstore_counts(self->s, &clients, &networks));
	EXPECT_EQ(USERS, clients);
	EXPECT_EQ(1, networks);

	/* A restart between two calls: the next one does not notice. */
	ASSERT_EQ(0, system(stop));
	ASSERT_EQ(0, system(start));
	EXPECT_EQ(MSTORE_OK, mstore_login(self->s, key, "frank", &c));
	mstore_db_time(self->s, &count, &total, &max);
	EXPECT_LT(0u, count);
	EXPECT_LE(max, total);
}

/* The counts and the timing, on either database. */
TEST_F(store, counts_and_timing)
{
	uint64_t count, total, max, count2;
	int64_t clients = -1, networks = -1;

	mstore_db_time(self->s, &count, &total, &max);
	EXPECT_LT(0u, count);
	EXPECT_LT(0u, total);
	EXPECT_LE(max, total);
	ASSERT_EQ(MSTORE_OK, mstore_counts(self->s, &clients, &networks));
	EXPECT_EQ(USERS, clients);
	EXPECT_EQ(0, networks);
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_counts(self->s, &clients, &networks));
	EXPECT_EQ(1, networks);
	mstore_db_time(self->s, &count2, &total, &max);
	EXPECT_LT(count, count2);
}

/* The cluster's server key in meta: the first one stored stays. */
TEST_F(store, server_public_key)
{
	uint8_t k1[32], k2[32], got[32];
	bool present = true;

	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	ASSERT_EQ(MSTORE_OK, mstore_server_public_key(self->s, got,
						      &present));
	EXPECT_FALSE(present);
	EXPECT_EQ(MSTORE_OK, mstore_set_server_public_key(self->s, k1));
	EXPECT_EQ(MSTORE_OK, mstore_set_server_public_key(self->s, k1));
	EXPECT_EQ(MSTORE_E_INVALID, mstore_set_server_public_key(self->s,
								 k2));
	ASSERT_EQ(MSTORE_OK, mstore_server_public_key(self->s, got,
						      &present));
	EXPECT_TRUE(present);
	EXPECT_EQ(0, memcmp(k1, got, 32));
}

TEST_F(store, schema_version_checked)
{
	struct mstore *s;
	char err[256], path[128];
	int fd;

	if (pg_url())
		SKIP(return, "about SQLite's file");
	mstore_close(self->s);
	self->s = NULL;
	ASSERT_EQ(0, raw_exec(self->path, "PRAGMA user_version = 99", NULL, 0,
			      0));
	err[0] = 0;
	EXPECT_EQ(MSTORE_E_SCHEMA, open_store(&self->s, self->path, NULL, err,
					      sizeof(err)));
	EXPECT_EQ(NULL, self->s);
	EXPECT_NE(NULL, strstr(err, "schema version 99 is newer"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, self->path));
	TH_LOG("%s", err);

	/* Some other program's SQLite file. */
	snprintf(path, sizeof(path), "%s/other.db", self->dir);
	{
		sqlite3 *db;

		ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &db));
		ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, "CREATE TABLE t (x)",
						  NULL, NULL, NULL));
		sqlite3_close(db);
	}
	EXPECT_EQ(MSTORE_E_SCHEMA, open_store(&s, path, NULL, err,
					      sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a shoal-mediator database"))
		TH_LOG("%s", err);
	unlink(path);

	/* Not SQLite at all. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(200, write(fd, memset(err, 'x', 200), 200));
	close(fd);
	EXPECT_EQ(MSTORE_E_IO, open_store(&s, path, NULL, err, sizeof(err)));
	TH_LOG("%s", err);
	unlink(path);
	snprintf(path, sizeof(path), "%s/none/m.db", self->dir);
	EXPECT_EQ(MSTORE_E_IO, open_store(&s, path, NULL, err, sizeof(err)));
}

TEST_F(store, file_is_private)
{
	struct stat st;

	if (pg_url())
		SKIP(return, "about SQLite's file");
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600u, st.st_mode & 0777);
}

TEST_F(store, injection_looking_names)
{
	static const char *const names[] = {
		"x'; DROP TABLE clients; --", "a\" OR \"1\"=\"1",
		"lan); DELETE FROM members; --", "%s%n", "\\", "a\nb",
	};
	static const char pw[] = "'); DROP TABLE networks; --";
	char count[16];
	uint8_t key[32];
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		randombytes_buf(key, sizeof(key));
		EXPECT_EQ(MSTORE_E_BAD_NICK, mstore_login(self->s, key,
							  names[i], NULL));
		EXPECT_EQ(MSTORE_E_BAD_NAME, mstore_create(self->s,
							   self->id[ALICE],
							   names[i], NULL,
							   false, 0));
		EXPECT_EQ(MSTORE_E_NO_NETWORK, mstore_join(self->s,
							   self->id[BOB],
							   names[i], NULL));
	}
	/* Passwords are anything, stored (hashed) as given. */
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan", pw,
					   false, 0));
	EXPECT_EQ(MSTORE_OK, mstore_join(self->s, self->id[BOB], "lan", pw));
	EXPECT_EQ(MSTORE_E_NO_MEMBER, mstore_kick(self->s, self->id[ALICE],
						  "lan", key));
	EXPECT_EQ(MSTORE_E_NO_CLIENT, mstore_ban(self->s, self->id[ALICE],
						 "lan", key));
	ASSERT_EQ(0, raw_text(self->path,
			      "SELECT (SELECT count(*) FROM clients) || '/' ||"
			      " (SELECT count(*) FROM networks) || '/' ||"
			      " (SELECT count(*) FROM members)", count,
			      sizeof(count)));
	EXPECT_STREQ("5/1/2", count);
}

TEST(strerror_distinct)
{
	char seen[64][128];
	size_t n = 0, i;
	int rc;

	for (rc = MSTORE_E_SELF; rc <= MSTORE_DELETED; rc++) {
		const char *msg = mstore_strerror(rc);

		EXPECT_STRNE("unknown error", msg) TH_LOG("%d", rc);
		for (i = 0; i < n; i++)
			EXPECT_STRNE(seen[i], msg);
		snprintf(seen[n++], sizeof(seen[0]), "%s", msg);
	}
	EXPECT_STREQ("unknown error", mstore_strerror(-1000));
	EXPECT_STREQ("wrong password", mstore_strerror(MSTORE_E_PASSWORD));
}

/* counts: what shoal-mediator --metrics shows of the database. */
TEST_F(store, counts_and_time)
{
	uint64_t count, total, max, count2, total2, max2;
	int64_t clients = -1, networks = -1;

	ASSERT_EQ(MSTORE_OK, mstore_counts(self->s, &clients, &networks));
	EXPECT_EQ(USERS, clients);
	EXPECT_EQ(0, networks);
	ASSERT_EQ(MSTORE_OK, mstore_create(self->s, self->id[ALICE], "lan",
					   NULL, false, 0));
	ASSERT_EQ(MSTORE_OK, mstore_counts(self->s, &clients, &networks));
	EXPECT_EQ(1, networks);
	/* Every call is timed: more calls, more time, a longest one. */
	mstore_db_time(self->s, &count, &total, &max);
	EXPECT_LT(0u, count);
	EXPECT_LT(0u, max);
	EXPECT_LE(max, total);
	ASSERT_EQ(MSTORE_OK, mstore_touch(self->s, self->id[BOB]));
	mstore_db_time(self->s, &count2, &total2, &max2);
	EXPECT_LT(count, count2);
	EXPECT_LT(total, total2);
	EXPECT_LE(max, max2);
}

TEST_HARNESS_MAIN
