// SPDX-License-Identifier: MIT
/*
 * --database URLs (mediator/db.c): which backend each names, the ones
 * refused, and the password never shown whatever the URL's shape.
 */
#include <string.h>

#include "kselftest_harness.h"

#include "mediator/db.h"

TEST(kinds)
{
	static const struct {
		const char *url;
		enum db_kind kind;
	} ok[] = {
		{ "sqlite:/var/lib/shoal-mediator/mediator.db", DB_SQLITE },
		{ "sqlite:relative.db", DB_SQLITE },
		{ "/a/plain/path.db", DB_SQLITE },
		{ "plain.db", DB_SQLITE },
		{ "./odd:name.db", DB_SQLITE },
		{ "postgresql://shoal@127.0.0.1:5432/shoal", DB_POSTGRES },
		{ "postgres://shoal@/shoal?host=/run/postgresql", DB_POSTGRES },
	};
	enum db_kind kind;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		kind = (enum db_kind)-1;
		EXPECT_EQ(0, db_url_kind(ok[i].url, &kind, err, sizeof(err)))
			TH_LOG("%s: %s", ok[i].url, err);
		EXPECT_EQ(ok[i].kind, kind) TH_LOG("%s", ok[i].url);
	}
}

TEST(refusals)
{
	static const char *const bad[] = {
		"", "sqlite:", "mysql://u@h/d", "http://example/x",
		"postgresql:/missing-slash", "file:x.db", "PostgreSQL://h/d",
	};
	enum db_kind kind;
	char err[256];
	size_t i;

	EXPECT_EQ(-1, db_url_kind(NULL, &kind, err, sizeof(err)));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, db_url_kind(bad[i], &kind, err, sizeof(err)))
			TH_LOG("'%s' taken", bad[i]);
		EXPECT_NE('\0', err[0]);
	}
	/* The message names the URL, its password masked. */
	ASSERT_EQ(-1, db_url_kind("mysql://u:hunter2@h/d", &kind, err,
				  sizeof(err)));
	EXPECT_EQ(NULL, strstr(err, "hunter2")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "mysql://u:***@h/d")) TH_LOG("%s", err);
}

TEST(masked)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{ "postgresql://shoal:secret@db.example:5432/shoal",
		  "postgresql://shoal:***@db.example:5432/shoal" },
		{ "postgresql://shoal@db/shoal",
		  "postgresql://shoal@db/shoal" },
		/* An '@' in the password: the authority's last one counts. */
		{ "postgresql://shoal:p@ss@db/shoal",
		  "postgresql://shoal:***@db/shoal" },
		{ "postgresql://u:x@db/s?password=other&sslmode=require",
		  "postgresql://u:***@db/s?password=***&sslmode=require" },
		{ "postgresql://db/shoal?password=longersecret",
		  "postgresql://db/shoal?password=***" },
		{ "postgresql://db/shoal?password=ab",
		  "postgresql://db/shoal?password=***" },
		{ "postgresql://db/shoal?password=",
		  "postgresql://db/shoal?password=***" },
		{ "sqlite:/x.db", "sqlite:/x.db" },
		{ "postgresql://:@/", "postgresql://:***@/" },
		/* libpq decodes %-escapes in names: pass%77ord is one. */
		{ "postgresql://db/s?pass%77ord=secret",
		  "postgresql://db/s?***" },
		{ "postgresql://db/s?password=a&password=secret",
		  "postgresql://db/s?***" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_url_masked(cases[i].url, out, sizeof(out));
		EXPECT_STREQ(cases[i].shown, out);
	}
	/* Too small a buffer: cut short, never past it, never the secret. */
	db_url_masked("postgresql://u:secret@h/d", out, 12);
	EXPECT_EQ(NULL, strstr(out, "secret"));
	EXPECT_GT(12u, strlen(out));
	db_url_masked("postgresql://u:secret@h/d", out, 0);
	/* Cut short inside the query, before its password is reached. */
	db_url_masked("postgresql://db/s?sslmode=require&password=secretsecret",
		      out, 40);
	EXPECT_EQ(NULL, strstr(out, "secret")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "pass")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
