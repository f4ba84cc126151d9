/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_AEAD_H
#define _SHOAL_AEAD_H

#include <crypto/chacha.h>
#include <linux/skbuff.h>
#include <linux/types.h>

#define SHOAL_AEAD_KEY_LEN	36	/* ChaCha20 key, then the salt */
#define SHOAL_AEAD_AAD_LEN	12	/* SPI, seq_hi, seq_lo */
#define SHOAL_AEAD_IV_LEN	8
#define SHOAL_AEAD_TAG_LEN	16
/* Pieces of an skb shoal_aead_open() takes: skb_cow_data()'s count. */
#define SHOAL_AEAD_MAX_SG	(MAX_SKB_FRAGS + 1)

/* An SA's key as the library takes it: key words and the nonce's salt. */
struct shoal_aead_key {
	u32 words[CHACHA_KEY_SIZE / sizeof(u32)];
	u8 salt[4];
};

void shoal_aead_key_init(struct shoal_aead_key *k,
			 const u8 key[SHOAL_AEAD_KEY_LEN]);

/*
 * RFC 7634's ChaCha20-Poly1305: nonce salt || iv, aad authenticated,
 * len bytes at buf encrypted in place and their tag written to tag.
 */
void shoal_aead_seal(const struct shoal_aead_key *k,
		     const u8 aad[SHOAL_AEAD_AAD_LEN],
		     const u8 iv[SHOAL_AEAD_IV_LEN], u8 *buf, unsigned int len,
		     u8 tag[SHOAL_AEAD_TAG_LEN]);

/*
 * The same for len bytes of skb from offset, wherever they are (linear
 * part or fragments, made writable by the caller), decrypted in place.
 * False if tag is not theirs; the bytes are then garbage.
 */
bool shoal_aead_open(const struct shoal_aead_key *k,
		     const u8 aad[SHOAL_AEAD_AAD_LEN],
		     const u8 iv[SHOAL_AEAD_IV_LEN], struct sk_buff *skb,
		     int offset, unsigned int len,
		     const u8 tag[SHOAL_AEAD_TAG_LEN]);

#endif /* _SHOAL_AEAD_H */
