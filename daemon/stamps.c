// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "stamps.h"

#define RECORD_LEN (32 + SHOAL_TAI64N_LEN + 4)

static void record_check(uint8_t out[4], const uint8_t *record)
{
	crypto_generichash(out, 4, record, 32 + SHOAL_TAI64N_LEN, NULL, 0);
}

static void record_make(uint8_t rec[RECORD_LEN], const struct shoald_stamp *s)
{
	memcpy(rec, s->key, 32);
	memcpy(rec + 32, s->tai64n, SHOAL_TAI64N_LEN);
	record_check(rec + 32 + SHOAL_TAI64N_LEN, rec);
}

static struct shoald_stamp *find(const struct shoald_stamps *t,
				 const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!memcmp(t->v[i].key, key, 32))
			return &t->v[i];
	return NULL;
}

/* A new entry, or when the table is full the one with the oldest stamp. */
static struct shoald_stamp *entry_new(struct shoald_stamps *t)
{
	struct shoald_stamp *v, *oldest;
	size_t i, cap;

	if (t->n == SHOALD_STAMPS_MAX) {
		oldest = &t->v[0];
		for (i = 1; i < t->n; i++)
			if (memcmp(t->v[i].tai64n, oldest->tai64n,
				   SHOAL_TAI64N_LEN) < 0)
				oldest = &t->v[i];
		return oldest;
	}
	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 64;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	v = &t->v[t->n++];
	v->slot = t->slots++;
	return v;
}

static int load(struct shoald_stamps *t)
{
	uint8_t rec[RECORD_LEN], check[4];
	struct shoald_stamp *s, *old;
	ssize_t got;

	for (;;) {
		got = pread(t->fd, rec, sizeof(rec), (off_t)t->slots * RECORD_LEN);
		if (got < 0)
			return -errno;
		if (got < (ssize_t)sizeof(rec))
			return 0;	/* the end, or a torn last record */
		record_check(check, rec);
		if (sodium_memcmp(check, rec + 32 + SHOAL_TAI64N_LEN, 4)) {
			t->slots++;
			continue;
		}
		old = find(t, rec);
		if (old) {
			/* Cannot happen from _set; keep the newer all the same. */
			if (memcmp(rec + 32, old->tai64n, SHOAL_TAI64N_LEN) > 0)
				memcpy(old->tai64n, rec + 32, SHOAL_TAI64N_LEN);
			t->slots++;
			continue;
		}
		if (t->n == SHOALD_STAMPS_MAX)
			return 0;
		s = entry_new(t);
		if (!s)
			return -ENOMEM;
		memcpy(s->key, rec, 32);
		memcpy(s->tai64n, rec + 32, SHOAL_TAI64N_LEN);
	}
}

int shoald_stamps_open(struct shoald_stamps *t, const char *path)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->open = true;
	t->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->fd < 0) {
		fprintf(stderr, "shoald: warning: %s: %s; replayed handshakes "
			"are refused only until shoald restarts\n", path,
			strerror(errno));
		return 0;
	}
	ret = load(t);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0) {
		fprintf(stderr, "shoald: warning: %s: %s; replayed handshakes "
			"are refused only until shoald restarts\n", path,
			strerror(-ret));
		close(t->fd);
		t->fd = -1;
	}
	return 0;
}

void shoald_stamps_close(struct shoald_stamps *t)
{
	if (!t->open)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const uint8_t *shoald_stamps_get(const struct shoald_stamps *t,
				 const uint8_t key[32])
{
	const struct shoald_stamp *s = find(t, key);

	return s ? s->tai64n : NULL;
}

int shoald_stamps_set(struct shoald_stamps *t, const uint8_t key[32],
		      const uint8_t tai64n[SHOAL_TAI64N_LEN])
{
	struct shoald_stamp *s = find(t, key);
	uint8_t rec[RECORD_LEN];
	ssize_t put;

	if (!s) {
		s = entry_new(t);
		if (!s)
			return -ENOMEM;
		memcpy(s->key, key, 32);
	}
	memcpy(s->tai64n, tai64n, SHOAL_TAI64N_LEN);
	if (t->fd < 0)
		return 0;
	record_make(rec, s);
	put = pwrite(t->fd, rec, sizeof(rec), (off_t)s->slot * RECORD_LEN);
	if (put == (ssize_t)sizeof(rec))
		return 0;
	if (!t->warned)
		fprintf(stderr, "shoald: warning: cannot write handshake "
			"timestamps: %s\n", put < 0 ? strerror(errno) :
			"short write");
	t->warned = true;
	return put < 0 ? -errno : -EIO;
}
