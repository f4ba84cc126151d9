// SPDX-License-Identifier: GPL-2.0
/*
 * ChaCha20-Poly1305 for ESP (RFC 7634, on RFC 8439's construction) on the
 * kernel's crypto library: chacha_crypt() and poly1305_*() take the
 * architecture's SIMD code where there is some, need no transform, no
 * request and no allocation, and take the full 96-bit nonce ESP needs
 * (salt || IV), which chacha20poly1305_*() in lib/crypto, fixed to
 * WireGuard's 64-bit counter nonce, do not.
 *
 * The MAC is over aad, zeros to 16 bytes, the ciphertext, zeros to 16
 * bytes, then the two lengths as little-endian 64-bit numbers; its key
 * is the first 32 bytes of keystream block 0, and the data is encrypted
 * from block 1 on.
 */

#include <crypto/algapi.h>
#include <crypto/poly1305.h>
#include <linux/scatterlist.h>
#include <linux/string.h>

#include "aead.h"
#include "compat.h"

static const u8 shoal_aead_zeros[CHACHA_BLOCK_SIZE];

/*
 * A keystream, and what is left of its last block: data that comes in
 * pieces of any length (a packet's fragments) is XORed with it in order.
 */
struct keystream {
	u32 state[CHACHA_STATE_WORDS];
	u8 block[CHACHA_BLOCK_SIZE];
	unsigned int left;	/* unused bytes at the end of block */
};

struct aead_ctx {
	struct keystream ks;
	struct poly1305_desc_ctx mac;
};

void shoal_aead_key_init(struct shoal_aead_key *k,
			 const u8 key[SHOAL_AEAD_KEY_LEN])
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(k->words); i++)
		k->words[i] = get_unaligned_le32(key + i * sizeof(u32));
	memcpy(k->salt, key + CHACHA_KEY_SIZE, sizeof(k->salt));
}

static void keystream_xor(struct keystream *ks, u8 *p, unsigned int n)
{
	unsigned int l;

	while (n) {
		if (ks->left) {
			l = min(n, ks->left);
			crypto_xor(p, ks->block + CHACHA_BLOCK_SIZE - ks->left, l);
			ks->left -= l;
		} else if (n >= CHACHA_BLOCK_SIZE) {
			l = round_down(n, CHACHA_BLOCK_SIZE);
			chacha20_crypt(ks->state, p, p, l);
		} else {
			chacha20_crypt(ks->state, ks->block, shoal_aead_zeros,
				       CHACHA_BLOCK_SIZE);
			ks->left = CHACHA_BLOCK_SIZE;
			continue;
		}
		p += l;
		n -= l;
	}
}

/* Keystream from block 0, whose first half keys the MAC; then the aad. */
static void aead_start(struct aead_ctx *c, const struct shoal_aead_key *k,
		       const u8 *aad, const u8 *iv)
{
	u8 nonce[CHACHA_IV_SIZE];

	put_unaligned_le32(0, nonce);	/* block counter */
	memcpy(nonce + 4, k->salt, sizeof(k->salt));
	memcpy(nonce + 8, iv, SHOAL_AEAD_IV_LEN);
	chacha_init(c->ks.state, k->words, nonce);
	chacha20_crypt(c->ks.state, c->ks.block, shoal_aead_zeros,
		       CHACHA_BLOCK_SIZE);
	c->ks.left = 0;
	poly1305_init(&c->mac, c->ks.block);
	poly1305_update(&c->mac, aad, SHOAL_AEAD_AAD_LEN);
	poly1305_update(&c->mac, shoal_aead_zeros,
			-SHOAL_AEAD_AAD_LEN & (POLY1305_BLOCK_SIZE - 1));
}

static void aead_finish(struct aead_ctx *c, unsigned int len, u8 *tag)
{
	__le64 lens[2] = { cpu_to_le64(SHOAL_AEAD_AAD_LEN), cpu_to_le64(len) };

	poly1305_update(&c->mac, shoal_aead_zeros,
			-len & (POLY1305_BLOCK_SIZE - 1));
	poly1305_update(&c->mac, (u8 *)lens, sizeof(lens));
	poly1305_final(&c->mac, tag);
	memzero_explicit(c, sizeof(*c));
}

void shoal_aead_seal(const struct shoal_aead_key *k,
		     const u8 aad[SHOAL_AEAD_AAD_LEN],
		     const u8 iv[SHOAL_AEAD_IV_LEN], u8 *buf, unsigned int len,
		     u8 tag[SHOAL_AEAD_TAG_LEN])
{
	struct aead_ctx c;

	aead_start(&c, k, aad, iv);
	keystream_xor(&c.ks, buf, len);
	poly1305_update(&c.mac, buf, len);
	aead_finish(&c, len, tag);
}

bool shoal_aead_open(const struct shoal_aead_key *k,
		     const u8 aad[SHOAL_AEAD_AAD_LEN],
		     const u8 iv[SHOAL_AEAD_IV_LEN], struct sk_buff *skb,
		     int offset, unsigned int len,
		     const u8 tag[SHOAL_AEAD_TAG_LEN])
{
	struct scatterlist sg[SHOAL_AEAD_MAX_SG + 1];
	u8 want[SHOAL_AEAD_TAG_LEN];
	struct sg_mapping_iter miter;
	unsigned int left = len, l;
	struct aead_ctx c;
	bool ok;
	int n;

	sg_init_table(sg, ARRAY_SIZE(sg));
	n = skb_to_sgvec(skb, sg, offset, len);
	if (n <= 0)
		return false;
	aead_start(&c, k, aad, iv);
	sg_miter_start(&miter, sg, n, SG_MITER_TO_SG | SG_MITER_ATOMIC);
	while (left && sg_miter_next(&miter)) {
		l = min_t(unsigned int, left, miter.length);
		/* The MAC is over the ciphertext: before it is decrypted. */
		poly1305_update(&c.mac, miter.addr, l);
		keystream_xor(&c.ks, miter.addr, l);
		left -= l;
	}
	sg_miter_stop(&miter);
	aead_finish(&c, len, want);
	ok = !left && !crypto_memneq(want, tag, sizeof(want));
	memzero_explicit(want, sizeof(want));
	return ok;
}
