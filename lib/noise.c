// SPDX-License-Identifier: MIT
/*
 * The Noise Protocol Framework, revision 34, for
 * Noise_{NN,NK,KK,IK,XX}_25519_ChaChaPoly_BLAKE2b.  Section numbers below
 * are the specification's.
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

#define BLOCKLEN 128

/* ---- 4.2 CipherState, 12.3 ChaChaPoly ---- */

void shoal_noise_cipher_init(struct shoal_noise_cipher *cs,
			     const uint8_t *key)
{
	if (key) {
		memmove(cs->k, key, SHOAL_NOISE_KEYLEN);
		cs->has_key = true;
	} else {
		sodium_memzero(cs->k, sizeof(cs->k));
		cs->has_key = false;
	}
	cs->n = 0;
}

void shoal_noise_cipher_wipe(struct shoal_noise_cipher *cs)
{
	sodium_memzero(cs, sizeof(*cs));
}

void shoal_noise_cipher_set_nonce(struct shoal_noise_cipher *cs, uint64_t n)
{
	cs->n = n;
}

/* 32 bits of zeros followed by the 64-bit little-endian counter. */
static void chachapoly_nonce(uint8_t nonce[12], uint64_t n)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* Before a key is set, EncryptWithAd and DecryptWithAd return the input. */
static int copy_plain(const uint8_t *in, size_t len, uint8_t *out,
		      size_t out_size, size_t *out_len)
{
	if (len > out_size)
		return -1;
	if (len)
		memmove(out, in, len);
	*out_len = len;
	return 0;
}

int shoal_noise_encrypt(struct shoal_noise_cipher *cs,
			const uint8_t *ad, size_t ad_len,
			const uint8_t *in, size_t len,
			uint8_t *out, size_t out_size, size_t *out_len)
{
	uint8_t nonce[12];
	unsigned long long clen;

	if (!cs->has_key)
		return copy_plain(in, len, out, out_size, out_len);
	if (len > SIZE_MAX - SHOAL_NOISE_TAGLEN ||
	    len + SHOAL_NOISE_TAGLEN > out_size)
		return -1;
	if (cs->n == UINT64_MAX)	/* 5.1: 2^64-1 is reserved */
		return -1;
	chachapoly_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len,
						      ad, ad_len, NULL,
						      nonce, cs->k) != 0)
		return -1;
	cs->n++;
	*out_len = (size_t)clen;
	return 0;
}

int shoal_noise_decrypt(struct shoal_noise_cipher *cs,
			const uint8_t *ad, size_t ad_len,
			const uint8_t *in, size_t len,
			uint8_t *out, size_t out_size, size_t *out_len)
{
	uint8_t nonce[12];
	unsigned long long mlen;

	if (!cs->has_key)
		return copy_plain(in, len, out, out_size, out_len);
	if (len < SHOAL_NOISE_TAGLEN || len - SHOAL_NOISE_TAGLEN > out_size)
		return -1;
	if (cs->n == UINT64_MAX)
		return -1;
	chachapoly_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, len,
						      ad, ad_len, nonce,
						      cs->k) != 0)
		return -1;
	cs->n++;
	*out_len = (size_t)mlen;
	return 0;
}

/* ---- 4.3 hash functions, 12.8 BLAKE2b ---- */

static void hash2(uint8_t out[SHOAL_NOISE_HASHLEN],
		  const uint8_t *a, size_t a_len,
		  const uint8_t *b, size_t b_len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, SHOAL_NOISE_HASHLEN);
	if (a_len)
		crypto_generichash_blake2b_update(&st, a, a_len);
	if (b_len)
		crypto_generichash_blake2b_update(&st, b, b_len);
	crypto_generichash_blake2b_final(&st, out, SHOAL_NOISE_HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

/* RFC 2104 with H = BLAKE2b-512 and B = 128. */
int shoal_noise_hmac(uint8_t out[SHOAL_NOISE_HASHLEN],
		     const uint8_t *key, size_t key_len,
		     const uint8_t *data, size_t data_len)
{
	uint8_t k[BLOCKLEN], pad[BLOCKLEN], inner[SHOAL_NOISE_HASHLEN];
	size_t i;

	memset(k, 0, sizeof(k));
	if (key_len > BLOCKLEN)
		hash2(k, key, key_len, NULL, 0);
	else if (key_len)
		memcpy(k, key, key_len);
	for (i = 0; i < BLOCKLEN; i++)
		pad[i] = k[i] ^ 0x36;
	hash2(inner, pad, BLOCKLEN, data, data_len);
	for (i = 0; i < BLOCKLEN; i++)
		pad[i] = k[i] ^ 0x5c;
	hash2(out, pad, BLOCKLEN, inner, sizeof(inner));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	return 0;
}

int shoal_noise_hkdf(const uint8_t ck[SHOAL_NOISE_HASHLEN],
		     const uint8_t *ikm, size_t ikm_len,
		     uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
	uint8_t temp_key[SHOAL_NOISE_HASHLEN];
	uint8_t buf[SHOAL_NOISE_HASHLEN + 1];

	if (!out1 || !out2)
		return -1;
	shoal_noise_hmac(temp_key, ck, SHOAL_NOISE_HASHLEN, ikm, ikm_len);
	buf[0] = 0x01;
	shoal_noise_hmac(buf, temp_key, sizeof(temp_key), buf, 1);
	memcpy(out1, buf, SHOAL_NOISE_HASHLEN);
	buf[SHOAL_NOISE_HASHLEN] = 0x02;
	shoal_noise_hmac(buf, temp_key, sizeof(temp_key), buf, sizeof(buf));
	memcpy(out2, buf, SHOAL_NOISE_HASHLEN);
	if (out3) {
		buf[SHOAL_NOISE_HASHLEN] = 0x03;
		shoal_noise_hmac(buf, temp_key, sizeof(temp_key), buf,
				 sizeof(buf));
		memcpy(out3, buf, SHOAL_NOISE_HASHLEN);
	}
	sodium_memzero(temp_key, sizeof(temp_key));
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/* ---- 5.2 SymmetricState ---- */

static void symmetric_init(struct shoal_noise_symmetric *ss,
			   const char *protocol_name)
{
	size_t len = strlen(protocol_name);

	memset(ss->h, 0, sizeof(ss->h));
	if (len <= SHOAL_NOISE_HASHLEN)
		memcpy(ss->h, protocol_name, len);
	else
		hash2(ss->h, (const uint8_t *)protocol_name, len, NULL, 0);
	memcpy(ss->ck, ss->h, sizeof(ss->ck));
	shoal_noise_cipher_init(&ss->cs, NULL);
}

static void mix_key(struct shoal_noise_symmetric *ss,
		    const uint8_t *ikm, size_t ikm_len)
{
	uint8_t ck[SHOAL_NOISE_HASHLEN], temp_k[SHOAL_NOISE_HASHLEN];

	shoal_noise_hkdf(ss->ck, ikm, ikm_len, ck, temp_k, NULL);
	memcpy(ss->ck, ck, sizeof(ck));
	/* HASHLEN 64: the cipher key is the first 32 bytes. */
	shoal_noise_cipher_init(&ss->cs, temp_k);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(temp_k, sizeof(temp_k));
}

static void mix_hash(struct shoal_noise_symmetric *ss,
		     const uint8_t *data, size_t len)
{
	hash2(ss->h, ss->h, sizeof(ss->h), data, len);
}

/* MixKeyAndHash is only used by PSK tokens; kept for completeness. */
static void __attribute__((unused))
mix_key_and_hash(struct shoal_noise_symmetric *ss,
		 const uint8_t *ikm, size_t ikm_len)
{
	uint8_t ck[SHOAL_NOISE_HASHLEN], temp_h[SHOAL_NOISE_HASHLEN],
		temp_k[SHOAL_NOISE_HASHLEN];

	shoal_noise_hkdf(ss->ck, ikm, ikm_len, ck, temp_h, temp_k);
	memcpy(ss->ck, ck, sizeof(ck));
	mix_hash(ss, temp_h, sizeof(temp_h));
	shoal_noise_cipher_init(&ss->cs, temp_k);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
}

static int encrypt_and_hash(struct shoal_noise_symmetric *ss,
			    const uint8_t *in, size_t len,
			    uint8_t *out, size_t out_size, size_t *out_len)
{
	if (shoal_noise_encrypt(&ss->cs, ss->h, sizeof(ss->h), in, len,
				out, out_size, out_len))
		return -1;
	mix_hash(ss, out, *out_len);
	return 0;
}

static int decrypt_and_hash(struct shoal_noise_symmetric *ss,
			    const uint8_t *in, size_t len,
			    uint8_t *out, size_t out_size, size_t *out_len)
{
	uint8_t h[SHOAL_NOISE_HASHLEN];

	/* in is hashed after decryption; it may be overwritten (out == in). */
	hash2(h, ss->h, sizeof(ss->h), in, len);
	if (shoal_noise_decrypt(&ss->cs, ss->h, sizeof(ss->h), in, len,
				out, out_size, out_len))
		return -1;
	memcpy(ss->h, h, sizeof(h));
	return 0;
}

/* ---- 7 handshake patterns ---- */

enum token { T_END, T_E, T_S, T_EE, T_ES, T_SE, T_SS };

#define MAX_MSGS 3
#define MAX_TOKENS 4

static const struct pattern_def {
	const char *name, *protocol;
	uint8_t pre_i[2], pre_r[2];	/* pre-messages: T_E / T_S */
	unsigned int n_msgs;		/* alternating, initiator first */
	uint8_t msgs[MAX_MSGS][MAX_TOKENS + 1];
} patterns[] = {
	[SHOAL_NOISE_NN] = {
		"NN", "Noise_NN_25519_ChaChaPoly_BLAKE2b", { 0 }, { 0 }, 2,
		{ { T_E }, { T_E, T_EE } },
	},
	[SHOAL_NOISE_NK] = {
		"NK", "Noise_NK_25519_ChaChaPoly_BLAKE2b", { 0 }, { T_S }, 2,
		{ { T_E, T_ES }, { T_E, T_EE } },
	},
	[SHOAL_NOISE_KK] = {
		"KK", "Noise_KK_25519_ChaChaPoly_BLAKE2b", { T_S }, { T_S }, 2,
		{ { T_E, T_ES, T_SS }, { T_E, T_EE, T_SE } },
	},
	[SHOAL_NOISE_IK] = {
		"IK", "Noise_IK_25519_ChaChaPoly_BLAKE2b", { 0 }, { T_S }, 2,
		{ { T_E, T_ES, T_S, T_SS }, { T_E, T_EE, T_SE } },
	},
	[SHOAL_NOISE_XX] = {
		"XX", "Noise_XX_25519_ChaChaPoly_BLAKE2b", { 0 }, { 0 }, 3,
		{ { T_E }, { T_E, T_EE, T_S, T_ES }, { T_S, T_SE } },
	},
};

#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

int shoal_noise_pattern_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_PATTERNS; i++)
		if (strcmp(name, patterns[i].protocol) == 0)
			return (int)i;
	return -1;
}

const char *shoal_noise_protocol_name(enum shoal_noise_pattern pattern)
{
	if ((size_t)pattern >= N_PATTERNS)
		return NULL;
	return patterns[pattern].protocol;
}

/* ---- 5.3 HandshakeState ---- */

static int keypair_from_priv(struct shoal_noise_keypair *kp,
			     const uint8_t *priv)
{
	memcpy(kp->priv, priv, SHOAL_NOISE_DHLEN);
	if (crypto_scalarmult_curve25519_base(kp->pub, kp->priv) != 0)
		return -1;
	kp->set = true;
	return 0;
}

/* Whether the side writing msg i is the initiator. */
static bool sent_by_initiator(unsigned int i)
{
	return i % 2 == 0;
}

static bool side_sends_s(const struct pattern_def *p, bool initiator)
{
	unsigned int i, j;

	for (i = 0; i < p->n_msgs; i++) {
		if (sent_by_initiator(i) != initiator)
			continue;
		for (j = 0; p->msgs[i][j] != T_END; j++)
			if (p->msgs[i][j] == T_S)
				return true;
	}
	return false;
}

static bool side_dh_uses_s(const struct pattern_def *p, bool initiator)
{
	unsigned int i, j;

	for (i = 0; i < p->n_msgs; i++)
		for (j = 0; p->msgs[i][j] != T_END; j++) {
			uint8_t t = p->msgs[i][j];

			if (t == T_SS || (t == T_ES && !initiator) ||
			    (t == T_SE && initiator))
				return true;
		}
	return false;
}

/* MixHash of one side's pre-message keys; mine: this side sent it. */
static int mix_pre_message(struct shoal_noise_handshake *hs,
			   const uint8_t *tokens, size_t n, bool mine)
{
	size_t i;

	for (i = 0; i < n && tokens[i] != T_END; i++) {
		const uint8_t *key;

		if (tokens[i] == T_S && mine)
			key = hs->s.set ? hs->s.pub : NULL;
		else if (tokens[i] == T_S)
			key = hs->has_rs ? hs->rs : NULL;
		else if (mine)
			key = hs->e.set ? hs->e.pub : NULL;
		else
			key = hs->has_re ? hs->re : NULL;
		if (!key)
			return -1;
		mix_hash(&hs->ss, key, SHOAL_NOISE_DHLEN);
	}
	return 0;
}

int shoal_noise_handshake_init(struct shoal_noise_handshake *hs,
			       enum shoal_noise_pattern pattern, bool initiator,
			       const uint8_t *prologue, size_t prologue_len,
			       const uint8_t *s, const uint8_t *e,
			       const uint8_t *rs, const uint8_t *re)
{
	const struct pattern_def *p;

	memset(hs, 0, sizeof(*hs));
	hs->failed = true;
	if ((size_t)pattern >= N_PATTERNS || sodium_init() < 0)
		return -1;
	if (!prologue && prologue_len)
		return -1;
	p = &patterns[pattern];
	hs->pattern = pattern;
	hs->initiator = initiator;
	if (s && keypair_from_priv(&hs->s, s))
		goto fail;
	if (e && keypair_from_priv(&hs->e, e))
		goto fail;
	if (rs) {
		memcpy(hs->rs, rs, SHOAL_NOISE_DHLEN);
		hs->has_rs = true;
	}
	if (re) {
		memcpy(hs->re, re, SHOAL_NOISE_DHLEN);
		hs->has_re = true;
	}
	if ((side_sends_s(p, initiator) || side_dh_uses_s(p, initiator)) &&
	    !hs->s.set)
		goto fail;

	symmetric_init(&hs->ss, p->protocol);
	mix_hash(&hs->ss, prologue, prologue_len);
	/* Initiator's pre-message keys first, then the responder's. */
	if (mix_pre_message(hs, p->pre_i, sizeof(p->pre_i), initiator) ||
	    mix_pre_message(hs, p->pre_r, sizeof(p->pre_r), !initiator))
		goto fail;
	hs->failed = false;
	return 0;
fail:
	shoal_noise_handshake_wipe(hs);
	hs->failed = true;
	return -1;
}

void shoal_noise_handshake_wipe(struct shoal_noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

bool shoal_noise_handshake_done(const struct shoal_noise_handshake *hs)
{
	return !hs->failed && hs->msg >= patterns[hs->pattern].n_msgs;
}

bool shoal_noise_handshake_my_turn(const struct shoal_noise_handshake *hs)
{
	return !hs->failed && hs->msg < patterns[hs->pattern].n_msgs &&
	       sent_by_initiator(hs->msg) == hs->initiator;
}

/* DH(), 12.1: X25519, refusing the all-zero output of low-order points. */
static int dh(uint8_t out[SHOAL_NOISE_DHLEN],
	      const struct shoal_noise_keypair *kp, bool have_pub,
	      const uint8_t pub[SHOAL_NOISE_DHLEN])
{
	if (!kp->set || !have_pub)
		return -1;
	if (crypto_scalarmult_curve25519(out, kp->priv, pub) != 0)
		return -1;
	if (sodium_is_zero(out, SHOAL_NOISE_DHLEN))
		return -1;
	return 0;
}

static int mix_dh(struct shoal_noise_handshake *hs, uint8_t token)
{
	uint8_t shared[SHOAL_NOISE_DHLEN];
	int ret;

	switch (token) {
	case T_EE:
		ret = dh(shared, &hs->e, hs->has_re, hs->re);
		break;
	case T_ES:
		ret = hs->initiator ? dh(shared, &hs->e, hs->has_rs, hs->rs) :
				      dh(shared, &hs->s, hs->has_re, hs->re);
		break;
	case T_SE:
		ret = hs->initiator ? dh(shared, &hs->s, hs->has_re, hs->re) :
				      dh(shared, &hs->e, hs->has_rs, hs->rs);
		break;
	case T_SS:
		ret = dh(shared, &hs->s, hs->has_rs, hs->rs);
		break;
	default:
		ret = -1;
	}
	if (ret == 0)
		mix_key(&hs->ss, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

/*
 * The bytes message i carries before its payload, and whether the payload
 * is encrypted, given the current cipher state.
 */
static size_t message_overhead(const struct shoal_noise_handshake *hs,
			       const uint8_t *tokens, bool *payload_keyed)
{
	bool keyed = hs->ss.cs.has_key;
	size_t len = 0, i;

	for (i = 0; tokens[i] != T_END; i++) {
		switch (tokens[i]) {
		case T_E:
			len += SHOAL_NOISE_DHLEN;
			break;
		case T_S:
			len += SHOAL_NOISE_DHLEN + (keyed ? SHOAL_NOISE_TAGLEN : 0);
			break;
		default:
			keyed = true;
		}
	}
	*payload_keyed = keyed;
	return len;
}

int shoal_noise_write_message(struct shoal_noise_handshake *hs,
			      const uint8_t *payload, size_t payload_len,
			      uint8_t *out, size_t out_size, size_t *out_len)
{
	const uint8_t *tokens;
	size_t fixed, total, pos = 0, n, i;
	bool keyed;

	if (!shoal_noise_handshake_my_turn(hs) || (!payload && payload_len))
		return -1;
	tokens = patterns[hs->pattern].msgs[hs->msg];
	fixed = message_overhead(hs, tokens, &keyed);
	if (payload_len > SHOAL_NOISE_MAX_MSG)
		return -1;
	total = fixed + payload_len + (keyed ? SHOAL_NOISE_TAGLEN : 0);
	/* Refused before any state changes: the handshake stays usable. */
	if (total > SHOAL_NOISE_MAX_MSG || total > out_size)
		return -1;

	for (i = 0; tokens[i] != T_END; i++) {
		switch (tokens[i]) {
		case T_E:
			if (!hs->e.set) {
				uint8_t priv[SHOAL_NOISE_DHLEN];
				int ret;

				randombytes_buf(priv, sizeof(priv));
				ret = keypair_from_priv(&hs->e, priv);
				sodium_memzero(priv, sizeof(priv));
				if (ret)
					goto fail;
			}
			memcpy(out + pos, hs->e.pub, SHOAL_NOISE_DHLEN);
			mix_hash(&hs->ss, hs->e.pub, SHOAL_NOISE_DHLEN);
			pos += SHOAL_NOISE_DHLEN;
			break;
		case T_S:
			if (!hs->s.set ||
			    encrypt_and_hash(&hs->ss, hs->s.pub, SHOAL_NOISE_DHLEN,
					     out + pos, out_size - pos, &n))
				goto fail;
			pos += n;
			break;
		default:
			if (mix_dh(hs, tokens[i]))
				goto fail;
		}
	}
	if (encrypt_and_hash(&hs->ss, payload, payload_len, out + pos,
			     out_size - pos, &n))
		goto fail;
	pos += n;
	hs->msg++;
	*out_len = pos;
	return 0;
fail:
	hs->failed = true;
	return -1;
}

int shoal_noise_read_message(struct shoal_noise_handshake *hs,
			     const uint8_t *msg, size_t msg_len,
			     uint8_t *payload, size_t payload_size,
			     size_t *payload_len)
{
	const uint8_t *tokens;
	size_t fixed, tag, pos = 0, n, i;
	bool keyed;

	if (hs->failed || hs->msg >= patterns[hs->pattern].n_msgs ||
	    sent_by_initiator(hs->msg) == hs->initiator)
		return -1;
	if (!msg && msg_len)
		return -1;
	tokens = patterns[hs->pattern].msgs[hs->msg];
	fixed = message_overhead(hs, tokens, &keyed);
	tag = keyed ? SHOAL_NOISE_TAGLEN : 0;
	/* Too short, too long, or no room for the payload: nothing read yet. */
	if (msg_len > SHOAL_NOISE_MAX_MSG || msg_len < fixed + tag ||
	    msg_len - fixed - tag > payload_size)
		return -1;

	for (i = 0; tokens[i] != T_END; i++) {
		switch (tokens[i]) {
		case T_E:
			memcpy(hs->re, msg + pos, SHOAL_NOISE_DHLEN);
			hs->has_re = true;
			mix_hash(&hs->ss, hs->re, SHOAL_NOISE_DHLEN);
			pos += SHOAL_NOISE_DHLEN;
			break;
		case T_S:
			n = SHOAL_NOISE_DHLEN +
			    (hs->ss.cs.has_key ? SHOAL_NOISE_TAGLEN : 0);
			{
				uint8_t rs[SHOAL_NOISE_DHLEN];
				size_t got;

				if (decrypt_and_hash(&hs->ss, msg + pos, n, rs,
						     sizeof(rs), &got) ||
				    got != SHOAL_NOISE_DHLEN)
					goto fail;
				memcpy(hs->rs, rs, sizeof(rs));
				hs->has_rs = true;
			}
			pos += n;
			break;
		default:
			if (mix_dh(hs, tokens[i]))
				goto fail;
		}
	}
	if (decrypt_and_hash(&hs->ss, msg + pos, msg_len - pos, payload,
			     payload_size, payload_len))
		goto fail;
	hs->msg++;
	return 0;
fail:
	hs->failed = true;
	return -1;
}

int shoal_noise_remote_static(const struct shoal_noise_handshake *hs,
			      uint8_t out[SHOAL_NOISE_DHLEN])
{
	if (!hs->has_rs)
		return -1;
	memcpy(out, hs->rs, SHOAL_NOISE_DHLEN);
	return 0;
}

int shoal_noise_handshake_hash(const struct shoal_noise_handshake *hs,
			       uint8_t out[SHOAL_NOISE_HASHLEN])
{
	if (hs->failed)
		return -1;
	memcpy(out, hs->ss.h, SHOAL_NOISE_HASHLEN);
	return 0;
}

int shoal_noise_split(struct shoal_noise_handshake *hs,
		      struct shoal_noise_cipher *c1,
		      struct shoal_noise_cipher *c2)
{
	uint8_t k1[SHOAL_NOISE_HASHLEN], k2[SHOAL_NOISE_HASHLEN];

	if (!shoal_noise_handshake_done(hs) || hs->split)
		return -1;
	shoal_noise_hkdf(hs->ss.ck, NULL, 0, k1, k2, NULL);
	shoal_noise_cipher_init(c1, k1);
	shoal_noise_cipher_init(c2, k2);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	/* The handshake's secrets are no longer needed; h stays readable. */
	sodium_memzero(hs->ss.ck, sizeof(hs->ss.ck));
	shoal_noise_cipher_wipe(&hs->ss.cs);
	sodium_memzero(&hs->s, sizeof(hs->s));
	sodium_memzero(&hs->e, sizeof(hs->e));
	hs->split = true;
	return 0;
}

int shoal_noise_split_extra(struct shoal_noise_handshake *hs,
			    struct shoal_noise_cipher *c1,
			    struct shoal_noise_cipher *c2,
			    const uint8_t *label, size_t label_len,
			    uint8_t extra[SHOAL_NOISE_HASHLEN])
{
	uint8_t unused[SHOAL_NOISE_HASHLEN];

	if (!shoal_noise_handshake_done(hs) || hs->split || !label ||
	    !label_len)
		return -1;
	shoal_noise_hkdf(hs->ss.ck, label, label_len, extra, unused, NULL);
	sodium_memzero(unused, sizeof(unused));
	if (shoal_noise_split(hs, c1, c2) < 0) {
		sodium_memzero(extra, SHOAL_NOISE_HASHLEN);
		return -1;
	}
	return 0;
}
