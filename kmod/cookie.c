// SPDX-License-Identifier: GPL-2.0
/*
 * The first check of an INIT (docs/protocol.md, "INIT" and "Cookies"),
 * done here once the strangers' budget is spent, as WireGuard does: a
 * flood from spoofed sources spends it, and shoal.ko cannot pass it all
 * to shoald.  An INIT with a wrong MAC1 is dropped; one whose MAC2 proves
 * its source passes on to shoald; one without gets a COOKIE_REPLY from
 * here, so the sender can prove its source on its next try.  This is all
 * of the control protocol shoal.ko reads; shoald checks everything again.
 *
 * The MACs are keyed BLAKE2b with a 16-byte output, which the kernel
 * offers neither as a library nor as an shash (blake2b_generic has no
 * 128-bit variant, and the output length is part of BLAKE2b's parameter
 * block), so the few lines of it needed live here.
 */

#include <crypto/algapi.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/poly1305.h>
#include <linux/bitops.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/random.h>
#include <linux/socket.h>
#include <linux/string.h>

#include "compat.h"
#include "cookie.h"
#include "peer.h"

/* The INIT's and COOKIE_REPLY's layouts: docs/protocol.md. */
#define SHOAL_CTL_VERSION	2
#define SHOAL_INIT_TYPE		1
#define SHOAL_INIT_LEN		152
#define SHOAL_INIT_MAC1_OFF	120
#define SHOAL_INIT_MAC2_OFF	136
#define SHOAL_COOKIE_REPLY_TYPE	6
#define SHOAL_MAC_LEN		16

#define BLAKE2B_BLOCK		128

struct blake2b {
	u64 h[8];
	u64 t;
	u8 buf[BLAKE2B_BLOCK];
	size_t fill;
	size_t outlen;
};

static const u64 blake2b_iv[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL,
	0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
	0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
	0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const u8 blake2b_sigma[12][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};

/* BLAKE2b's mixing function on v[a], v[b], v[c], v[d], with words x, y. */
static void g(u64 *v, int a, int b, int c, int d, u64 x, u64 y)
{
	v[a] += v[b] + x;
	v[d] = ror64(v[d] ^ v[a], 32);
	v[c] += v[d];
	v[b] = ror64(v[b] ^ v[c], 24);
	v[a] += v[b] + y;
	v[d] = ror64(v[d] ^ v[a], 16);
	v[c] += v[d];
	v[b] = ror64(v[b] ^ v[c], 63);
}

static void blake2b_compress(struct blake2b *s, const u8 *block, bool last)
{
	u64 m[16], v[16];
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = get_unaligned_le64(block + 8 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2b_iv[i];
	}
	v[12] ^= s->t;
	if (last)
		v[14] = ~v[14];
	for (r = 0; r < 12; r++) {
		const u8 *sg = blake2b_sigma[r];

		g(v, 0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		g(v, 1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		g(v, 2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		g(v, 3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		g(v, 0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		g(v, 1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		g(v, 2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		g(v, 3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	memzero_explicit(m, sizeof(m));
	memzero_explicit(v, sizeof(v));
}

static void blake2b_update(struct blake2b *s, const u8 *in, size_t len)
{
	while (len) {
		size_t n;

		/* The last block is held back: it needs the final flag. */
		if (s->fill == BLAKE2B_BLOCK) {
			s->t += BLAKE2B_BLOCK;
			blake2b_compress(s, s->buf, false);
			s->fill = 0;
		}
		n = min(len, BLAKE2B_BLOCK - s->fill);
		memcpy(s->buf + s->fill, in, n);
		s->fill += n;
		in += n;
		len -= n;
	}
}

/* Keyed BLAKE2b with an outlen-byte output (RFC 7693). */
static void blake2b_init_key(struct blake2b *s, size_t outlen, const u8 *key,
			     size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2b_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000 ^ (keylen << 8) ^ outlen;
	s->outlen = outlen;
	memcpy(s->buf, key, keylen);
	s->fill = BLAKE2B_BLOCK;
}

static void blake2b_final(struct blake2b *s, u8 *out)
{
	u8 h[sizeof(s->h)];
	int i;

	s->t += s->fill;
	memset(s->buf + s->fill, 0, BLAKE2B_BLOCK - s->fill);
	blake2b_compress(s, s->buf, true);
	for (i = 0; i < 8; i++)
		put_unaligned_le64(s->h[i], h + 8 * i);
	memcpy(out, h, s->outlen);
	memzero_explicit(h, sizeof(h));
	memzero_explicit(s, sizeof(*s));
}

static void mac(u8 out[SHOAL_MAC_LEN], const u8 *key, size_t keylen,
		const u8 *msg, size_t len)
{
	struct blake2b s;

	blake2b_init_key(&s, SHOAL_MAC_LEN, key, keylen);
	blake2b_update(&s, msg, len);
	blake2b_final(&s, out);
}

void shoal_cookie_init(struct shoal_cookie_checker *c)
{
	spin_lock_init(&c->lock);
	c->ready = false;
}

void shoal_cookie_set(struct shoal_cookie_checker *c, const u8 *secret,
		      const u8 *mac1_key, const u8 *seal_key)
{
	spin_lock_bh(&c->lock);
	memcpy(c->secret, secret, sizeof(c->secret));
	memcpy(c->mac1_key, mac1_key, sizeof(c->mac1_key));
	memcpy(c->seal_key, seal_key, sizeof(c->seal_key));
	c->ready = true;
	spin_unlock_bh(&c->lock);
}

void shoal_cookie_clear(struct shoal_cookie_checker *c)
{
	spin_lock_bh(&c->lock);
	memzero_explicit(c->secret, sizeof(c->secret));
	memzero_explicit(c->mac1_key, sizeof(c->mac1_key));
	memzero_explicit(c->seal_key, sizeof(c->seal_key));
	c->ready = false;
	spin_unlock_bh(&c->lock);
}

/*
 * Keyed BLAKE2b-128 of the source address (IPv4 v4-mapped) and port
 * under the secret: what only a sender who receives there learns.
 */
static bool source_cookie(u8 cookie[SHOAL_MAC_LEN], const u8 *secret,
			  const union shoal_endpoint *src)
{
	u8 addr[18] = { [10] = 0xff, [11] = 0xff };

	if (src->addr.sa_family == AF_INET) {
		memcpy(addr + 12, &src->addr4.sin_addr, 4);
		memcpy(addr + 16, &src->addr4.sin_port, 2);
	} else if (src->addr.sa_family == AF_INET6) {
		memcpy(addr, &src->addr6.sin6_addr, 16);
		memcpy(addr + 16, &src->addr6.sin6_port, 2);
	} else {
		return false;
	}
	mac(cookie, secret, SHOAL_COOKIE_SECRET_LEN, addr, sizeof(addr));
	return true;
}

static bool mac_ok(const u8 *msg, size_t off, const u8 *key, size_t keylen)
{
	u8 want[SHOAL_MAC_LEN];
	bool ok;

	mac(want, key, keylen, msg, off);
	ok = !crypto_memneq(want, msg + off, SHOAL_MAC_LEN);
	memzero_explicit(want, sizeof(want));
	return ok;
}

enum shoal_cookie_verdict
shoal_cookie_check(struct shoal_cookie_checker *c,
		   const union shoal_endpoint *src, const u8 *msg, size_t len,
		   u8 reply[SHOAL_COOKIE_REPLY_LEN])
{
	struct {
		u8 secret[SHOAL_COOKIE_SECRET_LEN];
		u8 mac1_key[SHOAL_COOKIE_SECRET_LEN];
		u8 seal_key[SHOAL_COOKIE_SECRET_LEN];
		u8 cookie[SHOAL_MAC_LEN];
	} k;
	enum shoal_cookie_verdict v = SHOAL_COOKIE_DROP;
	bool ready;

	BUILD_BUG_ON(8 + XCHACHA20POLY1305_NONCE_SIZE + SHOAL_MAC_LEN +
		     POLY1305_DIGEST_SIZE != SHOAL_COOKIE_REPLY_LEN);
	if (len != SHOAL_INIT_LEN || msg[0] != SHOAL_INIT_TYPE ||
	    msg[1] != SHOAL_CTL_VERSION || msg[2] || msg[3])
		return SHOAL_COOKIE_DROP;

	spin_lock_bh(&c->lock);
	ready = c->ready;
	if (ready) {
		memcpy(k.secret, c->secret, sizeof(k.secret));
		memcpy(k.mac1_key, c->mac1_key, sizeof(k.mac1_key));
		memcpy(k.seal_key, c->seal_key, sizeof(k.seal_key));
	}
	spin_unlock_bh(&c->lock);
	if (!ready)
		return SHOAL_COOKIE_DROP;

	if (!mac_ok(msg, SHOAL_INIT_MAC1_OFF, k.mac1_key, sizeof(k.mac1_key)) ||
	    !source_cookie(k.cookie, k.secret, src))
		goto out;
	if (memchr_inv(msg + SHOAL_INIT_MAC2_OFF, 0, SHOAL_MAC_LEN) &&
	    mac_ok(msg, SHOAL_INIT_MAC2_OFF, k.cookie, sizeof(k.cookie))) {
		v = SHOAL_COOKIE_PROVEN;
		goto out;
	}
	/* The INIT's sender SPI names the handshake the reply answers. */
	reply[0] = SHOAL_COOKIE_REPLY_TYPE;
	reply[1] = SHOAL_CTL_VERSION;
	reply[2] = 0;
	reply[3] = 0;
	memcpy(reply + 4, msg + 4, 4);
	get_random_bytes(reply + 8, XCHACHA20POLY1305_NONCE_SIZE);
	xchacha20poly1305_encrypt(reply + 8 + XCHACHA20POLY1305_NONCE_SIZE,
				  k.cookie, sizeof(k.cookie),
				  msg + SHOAL_INIT_MAC1_OFF, SHOAL_MAC_LEN,
				  reply + 8, k.seal_key);
	v = SHOAL_COOKIE_ASK;
out:
	memzero_explicit(&k, sizeof(k));
	return v;
}
