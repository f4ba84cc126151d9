/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_NOISE_H
#define SHOAL_NOISE_H

/*
 * The Noise Protocol Framework (revision 34) for
 * Noise_{NN,NK,KK,IK,XX}_25519_ChaChaPoly_BLAKE2b on libsodium.
 *
 * Every function returns 0 on success and -1 on failure; output buffers
 * come with their sizes and are never written past them.  A handshake whose
 * WriteMessage or ReadMessage failed is dead: every later call fails too
 * (the spec's "abort the handshake").  Nothing is global; call
 * sodium_init() (or let shoal_noise_handshake_init do it) before use.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_NOISE_DHLEN 32
#define SHOAL_NOISE_HASHLEN 64
#define SHOAL_NOISE_KEYLEN 32
#define SHOAL_NOISE_TAGLEN 16
#define SHOAL_NOISE_MAX_MSG 65535
#define SHOAL_NOISE_MAX_NAME 64

struct shoal_noise_cipher {
	uint8_t k[SHOAL_NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
};

struct shoal_noise_symmetric {
	struct shoal_noise_cipher cs;
	uint8_t ck[SHOAL_NOISE_HASHLEN];
	uint8_t h[SHOAL_NOISE_HASHLEN];
};

enum shoal_noise_pattern {
	SHOAL_NOISE_NN,
	SHOAL_NOISE_NK,
	SHOAL_NOISE_KK,
	SHOAL_NOISE_IK,
	SHOAL_NOISE_XX,
};

struct shoal_noise_keypair {
	uint8_t priv[SHOAL_NOISE_DHLEN];
	uint8_t pub[SHOAL_NOISE_DHLEN];
	bool set;
};

struct shoal_noise_handshake {
	struct shoal_noise_symmetric ss;
	struct shoal_noise_keypair s, e;
	uint8_t rs[SHOAL_NOISE_DHLEN], re[SHOAL_NOISE_DHLEN];
	bool has_rs, has_re;
	bool initiator;
	bool failed;
	bool split;	/* Split() has wiped ck: nothing more from it */
	enum shoal_noise_pattern pattern;
	unsigned int msg;	/* index of the next handshake message */
};

/* ---- CipherState ---- */

/* InitializeKey(key); key NULL means empty (no encryption). */
void shoal_noise_cipher_init(struct shoal_noise_cipher *cs,
			     const uint8_t *key);
void shoal_noise_cipher_wipe(struct shoal_noise_cipher *cs);
/* The nonce the next message uses (the spec's SetNonce for tests). */
void shoal_noise_cipher_set_nonce(struct shoal_noise_cipher *cs, uint64_t n);

/*
 * EncryptWithAd: writes len + 16 bytes (len without a key) to out.  out may
 * equal in.  Fails if the nonce is exhausted (2^64-1 is reserved).
 */
int shoal_noise_encrypt(struct shoal_noise_cipher *cs,
			const uint8_t *ad, size_t ad_len,
			const uint8_t *in, size_t len,
			uint8_t *out, size_t out_size, size_t *out_len);
/* DecryptWithAd: the nonce only advances when authentication succeeds. */
int shoal_noise_decrypt(struct shoal_noise_cipher *cs,
			const uint8_t *ad, size_t ad_len,
			const uint8_t *in, size_t len,
			uint8_t *out, size_t out_size, size_t *out_len);

/* ---- primitives (exposed for tests) ---- */

/* HMAC-BLAKE2b per RFC 2104 with BLOCKLEN 128; key_len <= 128. */
int shoal_noise_hmac(uint8_t out[SHOAL_NOISE_HASHLEN],
		     const uint8_t *key, size_t key_len,
		     const uint8_t *data, size_t data_len);
/* HKDF as Noise defines it; num_outputs 2 or 3, each HASHLEN bytes. */
int shoal_noise_hkdf(const uint8_t ck[SHOAL_NOISE_HASHLEN],
		     const uint8_t *ikm, size_t ikm_len,
		     uint8_t *out1, uint8_t *out2, uint8_t *out3);

/* ---- HandshakeState ---- */

/*
 * "Noise_IK_25519_ChaChaPoly_BLAKE2b" -> SHOAL_NOISE_IK; -1 if this file
 * does not implement the protocol (other pattern, DH, cipher, hash, PSK).
 */
int shoal_noise_pattern_from_name(const char *name);
/* The full protocol name for a pattern, or NULL. */
const char *shoal_noise_protocol_name(enum shoal_noise_pattern pattern);

/*
 * Initialize(pattern, initiator, prologue, s, e, rs, re).  s and e are
 * private keys (the public halves are derived); e is only for tests: NULL
 * generates a fresh ephemeral with randombytes when the "e" token comes.
 * rs and re are the peer's public keys.  Fails if the pattern's
 * pre-messages or tokens need a key that is not given.
 */
int shoal_noise_handshake_init(struct shoal_noise_handshake *hs,
			       enum shoal_noise_pattern pattern, bool initiator,
			       const uint8_t *prologue, size_t prologue_len,
			       const uint8_t *s, const uint8_t *e,
			       const uint8_t *rs, const uint8_t *re);
void shoal_noise_handshake_wipe(struct shoal_noise_handshake *hs);

/* True when it is this side's turn to write the next handshake message. */
bool shoal_noise_handshake_my_turn(const struct shoal_noise_handshake *hs);
/* True when every handshake message has been written or read. */
bool shoal_noise_handshake_done(const struct shoal_noise_handshake *hs);

int shoal_noise_write_message(struct shoal_noise_handshake *hs,
			      const uint8_t *payload, size_t payload_len,
			      uint8_t *out, size_t out_size, size_t *out_len);
int shoal_noise_read_message(struct shoal_noise_handshake *hs,
			     const uint8_t *msg, size_t msg_len,
			     uint8_t *payload, size_t payload_size,
			     size_t *payload_len);

/* The peer's static public key once known (after "s" or pre-message). */
int shoal_noise_remote_static(const struct shoal_noise_handshake *hs,
			      uint8_t out[SHOAL_NOISE_DHLEN]);
int shoal_noise_handshake_hash(const struct shoal_noise_handshake *hs,
			       uint8_t out[SHOAL_NOISE_HASHLEN]);

/*
 * Split(): c1 is for initiator-to-responder, c2 the other way.  Only once
 * the handshake is done; then wipes the handshake's symmetric keys (the
 * handshake hash stays readable).
 */
int shoal_noise_split(struct shoal_noise_handshake *hs,
		      struct shoal_noise_cipher *c1,
		      struct shoal_noise_cipher *c2);
/*
 * Split(), and from the same final chaining key, before it is wiped, one
 * more secret: the first output of HKDF(ck, label).  Split's own input is
 * empty, so a non-empty label keeps extra independent of c1 and c2; the
 * handshake hash, which anyone who saw the messages can compute, plays
 * no part.
 */
int shoal_noise_split_extra(struct shoal_noise_handshake *hs,
			    struct shoal_noise_cipher *c1,
			    struct shoal_noise_cipher *c2,
			    const uint8_t *label, size_t label_len,
			    uint8_t extra[SHOAL_NOISE_HASHLEN]);

#endif
