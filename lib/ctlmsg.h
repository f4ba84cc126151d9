/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CTLMSG_H
#define SHOAL_CTLMSG_H

/*
 * The control packets peers exchange behind the non-ESP marker: the one
 * codec of docs/protocol.md, section "Control packets".  Every message
 * starts with type, version and two reserved bytes; integers are
 * big-endian.  Nothing here keeps state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "noise.h"

/*
 * Version 2: session keys and salts from the chaining key, MAC2 and the
 * cookie reply.  One version for every control packet, the mediator's
 * UDP messages included.
 */
#define SHOAL_CTL_VERSION 2

enum shoal_ctl_type {
	SHOAL_CTL_INIT = 1,
	SHOAL_CTL_RESPONSE = 2,
	SHOAL_CTL_CONFIRM = 3,
	SHOAL_CTL_PING = 4,
	SHOAL_CTL_PONG = 5,
	SHOAL_CTL_COOKIE_REPLY = 6,
	/* Chat on a session (lib/chatmsg.h); 9 is kept for it. */
	SHOAL_CTL_CHAT = 7,
	SHOAL_CTL_CHAT_ACK = 8,
	/* Between a client's tunnel port and the mediator (NAT, relay). */
	SHOAL_CTL_BINDING = 16,
	SHOAL_CTL_BINDING_REPLY = 17,
	SHOAL_CTL_RELAY_BIND = 18,
	SHOAL_CTL_RELAY_BOUND = 19,
	SHOAL_CTL_RELAY_CHALLENGE = 20,
};

#define SHOAL_CTL_HDR_LEN 4
#define SHOAL_CTL_MAC_LEN 16
#define SHOAL_CTL_KEY_LEN 32
#define SHOAL_TAI64N_LEN 12
#define SHOAL_CTL_COOKIE_LEN 16
#define SHOAL_CTL_COOKIE_NONCE_LEN 24

/* Noise payloads: the sender's inbound SPI, and in INIT a timestamp. */
#define SHOAL_CTL_INIT_PAYLOAD_LEN (4 + SHOAL_TAI64N_LEN)
#define SHOAL_CTL_RESPONSE_PAYLOAD_LEN 4
/* IK message 1: e, s (encrypted), payload (encrypted). */
#define SHOAL_CTL_NOISE1_LEN \
	(32 + 32 + 16 + SHOAL_CTL_INIT_PAYLOAD_LEN + 16)
/* IK message 2: e, payload (encrypted). */
#define SHOAL_CTL_NOISE2_LEN (32 + SHOAL_CTL_RESPONSE_PAYLOAD_LEN + 16)

/* INIT ends in MAC1 then MAC2; MAC2 is all zero without a cookie. */
#define SHOAL_CTL_INIT_MAC1_OFF (SHOAL_CTL_HDR_LEN + 4 + SHOAL_CTL_NOISE1_LEN)
#define SHOAL_CTL_INIT_MAC2_OFF (SHOAL_CTL_INIT_MAC1_OFF + SHOAL_CTL_MAC_LEN)
#define SHOAL_CTL_INIT_LEN (SHOAL_CTL_INIT_MAC2_OFF + SHOAL_CTL_MAC_LEN)
#define SHOAL_CTL_RESPONSE_LEN \
	(SHOAL_CTL_HDR_LEN + 8 + SHOAL_CTL_NOISE2_LEN + SHOAL_CTL_MAC_LEN)
#define SHOAL_CTL_CONFIRM_LEN (SHOAL_CTL_HDR_LEN + 8 + SHOAL_CTL_MAC_LEN)
#define SHOAL_CTL_PING_LEN (SHOAL_CTL_HDR_LEN + 4 + 8 + SHOAL_CTL_MAC_LEN)
#define SHOAL_CTL_COOKIE_REPLY_LEN \
	(SHOAL_CTL_HDR_LEN + 4 + SHOAL_CTL_COOKIE_NONCE_LEN + \
	 SHOAL_CTL_COOKIE_LEN + 16)
#define SHOAL_CTL_MAX_LEN SHOAL_CTL_INIT_LEN

/* The Noise prologue binds the handshake to this protocol version. */
#define SHOAL_CTL_PROLOGUE "shoal control v2"

/*
 * A parsed control packet.  sender_spi is the SPI its sender chose for
 * its inbound SA (INIT, RESPONSE, CONFIRM); receiver_spi the one the
 * receiver chose (RESPONSE, CONFIRM, PING, PONG; for COOKIE_REPLY the
 * SPI of the INIT it answers).
 */
struct shoal_ctl {
	enum shoal_ctl_type type;
	uint32_t sender_spi, receiver_spi;
	uint64_t ping_id;			/* PING, PONG */
	const uint8_t *noise;			/* INIT, RESPONSE */
	size_t noise_len;
};

/*
 * Checks the header, the exact length for the type and, for INIT and
 * RESPONSE, the MAC keyed by the receiver's own public key (mac1_key from
 * shoal_ctl_mac1_key): the cheap test before any Diffie-Hellman.  Returns
 * 0, or -1 (drop it).  PING, PONG and CONFIRM are authenticated later
 * with the session's key, by shoal_ctl_session_verify; an INIT's MAC2 by
 * shoal_ctl_init_mac2_ok, a COOKIE_REPLY by opening it.
 */
int shoal_ctl_parse(struct shoal_ctl *m, const uint8_t *buf, size_t len,
		    const uint8_t mac1_key[SHOAL_CTL_KEY_LEN]);

/* The key of the MAC over handshakes sent to the holder of public_key. */
void shoal_ctl_mac1_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			const uint8_t public_key[32]);

/*
 * Writers: each returns the message length, or -1 if out is too small.
 * mac1_key is the receiver's; noise is the Noise message of the exact
 * length for the type.
 */
int shoal_ctl_write_init(uint8_t *out, size_t size, uint32_t sender_spi,
			 const uint8_t noise[SHOAL_CTL_NOISE1_LEN],
			 const uint8_t mac1_key[SHOAL_CTL_KEY_LEN]);
int shoal_ctl_write_response(uint8_t *out, size_t size, uint32_t sender_spi,
			     uint32_t receiver_spi,
			     const uint8_t noise[SHOAL_CTL_NOISE2_LEN],
			     const uint8_t mac1_key[SHOAL_CTL_KEY_LEN]);
/* CONFIRM, PING, PONG: MAC keyed by the session's control key. */
int shoal_ctl_write_confirm(uint8_t *out, size_t size, uint32_t sender_spi,
			    uint32_t receiver_spi,
			    const uint8_t session_key[SHOAL_CTL_KEY_LEN]);
int shoal_ctl_write_ping(uint8_t *out, size_t size, enum shoal_ctl_type type,
			 uint32_t receiver_spi, uint64_t ping_id,
			 const uint8_t session_key[SHOAL_CTL_KEY_LEN]);
/* True when the MAC of a parsed CONFIRM, PING or PONG is right. */
bool shoal_ctl_session_verify(const uint8_t *buf, size_t len,
			      const uint8_t session_key[SHOAL_CTL_KEY_LEN]);

/*
 * Under load (docs/protocol.md, "Cookies"), a responder answers an INIT
 * without the right MAC2 with a COOKIE_REPLY instead of doing
 * Diffie-Hellman.  The cookie is a MAC of the INIT's source address and
 * port under a secret of the responder's that changes every two minutes,
 * so only a sender that receives at that address can have one.
 */
/* The key of COOKIE_REPLYs from the holder of public_key. */
void shoal_ctl_cookie_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			  const uint8_t public_key[32]);
/* The cookie for a source: keyed BLAKE2b-128 of its address and port. */
void shoal_ctl_cookie(uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
		      const uint8_t secret[SHOAL_CTL_KEY_LEN],
		      const struct shoal_endpoint *from);
/* Writes a written INIT's MAC2: keyed by cookie, all zero for NULL. */
void shoal_ctl_init_mac2(uint8_t init[SHOAL_CTL_INIT_LEN],
			 const uint8_t *cookie);
/* True when a parsed INIT's MAC2 is the one cookie makes. */
bool shoal_ctl_init_mac2_ok(const uint8_t init[SHOAL_CTL_INIT_LEN],
			    const uint8_t cookie[SHOAL_CTL_COOKIE_LEN]);
/*
 * The COOKIE_REPLY to an INIT: the cookie sealed (XChaCha20-Poly1305,
 * random nonce) under cookie_key, the responder's own, with the INIT's
 * MAC1 as associated data, so that it fits that one INIT.
 */
int shoal_ctl_write_cookie_reply(uint8_t *out, size_t size,
				 const uint8_t init[SHOAL_CTL_INIT_LEN],
				 const uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
				 const uint8_t cookie_key[SHOAL_CTL_KEY_LEN]);
/*
 * Opens a COOKIE_REPLY to the INIT we sent (its bytes), with the
 * responder's cookie_key.  0, or -1 when it is not the answer to it.
 */
int shoal_ctl_open_cookie_reply(uint8_t cookie[SHOAL_CTL_COOKIE_LEN],
				const uint8_t *buf, size_t len,
				const uint8_t init[SHOAL_CTL_INIT_LEN],
				const uint8_t cookie_key[SHOAL_CTL_KEY_LEN]);

/* The Noise payloads. */
void shoal_ctl_init_payload(uint8_t out[SHOAL_CTL_INIT_PAYLOAD_LEN],
			    uint32_t spi, const uint8_t tai64n[SHOAL_TAI64N_LEN]);
void shoal_ctl_response_payload(uint8_t out[SHOAL_CTL_RESPONSE_PAYLOAD_LEN],
				uint32_t spi);
uint32_t shoal_ctl_payload_spi(const uint8_t *payload);

/* TAI64N of the realtime clock: they compare with memcmp. */
void shoal_tai64n_now(uint8_t out[SHOAL_TAI64N_LEN]);

/*
 * What a finished handshake gives: the two SA keys (ChaCha20 key from the
 * Noise split, salt from the chaining key) and the session's control key
 * (from the chaining key).  i2r is the initiator's outbound SA.
 */
struct shoal_ctl_keys {
	uint8_t i2r[36], r2i[36];
	uint8_t session[SHOAL_CTL_KEY_LEN];
};

/* Splits a finished handshake (and wipes its keys).  0, or -1. */
int shoal_ctl_derive(struct shoal_noise_handshake *hs,
		     struct shoal_ctl_keys *keys);
void shoal_ctl_keys_wipe(struct shoal_ctl_keys *keys);

/*
 * The mediator's UDP messages (docs/protocol.md, "NAT discovery and
 * relaying").  A BINDING asks the mediator which address and port it saw;
 * flags ask for the answer from its other port or its probe address.
 */
#define SHOAL_CTL_TXID_LEN 12
#define SHOAL_CTL_TOKEN_LEN 16
#define SHOAL_CTL_RELAY_KEY_LEN 32
#define SHOAL_CTL_RELAY_COOKIE_LEN 16
#define SHOAL_CTL_BINDING_LEN 60
#define SHOAL_CTL_BINDING_REPLY_LEN 36
#define SHOAL_CTL_RELAY_BIND_LEN 48
#define SHOAL_CTL_RELAY_CHALLENGE_LEN 48
#define SHOAL_CTL_RELAY_BOUND_LEN 32

#define SHOAL_CTL_BIND_OTHER_PORT 0x01	/* answer from port + 1 */
#define SHOAL_CTL_BIND_OTHER_ADDR 0x02	/* answer from the probe address */
#define SHOAL_CTL_BIND_UNCHANGED 0x40	/* reply: could not, answered as is */
#define SHOAL_CTL_BIND_KNOWN 0x80	/* reply: the token was recognised */

/*
 * A BINDING.  With a token it is the login's: counter grows from one to
 * the next, and a MAC under the token's key (shoal_ctl_token_key), which
 * only the client and the mediator can make, covers it all; so a BINDING
 * seen on the wire and sent again, from anywhere, is no login's.
 */
struct shoal_ctl_binding {
	uint8_t flags;
	uint8_t txid[SHOAL_CTL_TXID_LEN];
	uint8_t token[SHOAL_CTL_TOKEN_LEN];	/* all zero: anonymous */
	uint64_t counter;			/* 0 when anonymous */
};

struct shoal_ctl_binding_reply {
	uint8_t flags;
	uint8_t txid[SHOAL_CTL_TXID_LEN];
	struct shoal_endpoint mapped;		/* what the mediator saw */
};

/*
 * The key of a login's BINDING MACs: from X25519 of the client's static
 * key and the mediator's (either side's private key and the other's
 * public one) and the token, so that it is bound to the client's key
 * and to that one login.  0, or -1 (a public key of low order).
 */
int shoal_ctl_token_key(uint8_t key[SHOAL_CTL_KEY_LEN],
			const uint8_t my_private[32],
			const uint8_t their_public[32],
			const uint8_t token[SHOAL_CTL_TOKEN_LEN]);
/* key: the token's (shoal_ctl_token_key), or NULL for an anonymous one. */
int shoal_ctl_write_binding(uint8_t *out, size_t size,
			    const struct shoal_ctl_binding *b,
			    const uint8_t *key);
/*
 * Checks the form (an anonymous one has a zero counter and MAC); the MAC
 * of one with a token is for shoal_ctl_binding_verify, with its key.
 */
int shoal_ctl_parse_binding(struct shoal_ctl_binding *b, const uint8_t *buf,
			    size_t len);
bool shoal_ctl_binding_verify(const uint8_t *buf, size_t len,
			      const uint8_t key[SHOAL_CTL_KEY_LEN]);
/* -1 also when mapped is neither IPv4 nor IPv6. */
int shoal_ctl_write_binding_reply(uint8_t *out, size_t size,
				  const struct shoal_ctl_binding_reply *r);
int shoal_ctl_parse_binding_reply(struct shoal_ctl_binding_reply *r,
				  const uint8_t *buf, size_t len);

/*
 * RELAY_BIND (client -> relay port), RELAY_CHALLENGE (the relay's answer
 * from an endpoint it has not bound: prove that you receive here) and
 * RELAY_BOUND (its answer once bound): relay_id and a counter that must
 * grow, and for the first two a cookie, under a MAC keyed by the relay
 * key the mediator gave this side over the control channel.  Their
 * lengths differ (SHOAL_CTL_RELAY_*_LEN).
 */
/* cookie: RELAY_BIND's and RELAY_CHALLENGE's; NULL for none (zero). */
int shoal_ctl_write_relay(uint8_t *out, size_t size, enum shoal_ctl_type type,
			  uint32_t relay_id, uint64_t counter,
			  const uint8_t *cookie,
			  const uint8_t key[SHOAL_CTL_RELAY_KEY_LEN]);
/*
 * Checks the header and length of one of the three (type) and reads
 * relay_id, counter and (if not NULL) the cookie, zero for a
 * RELAY_BOUND; the MAC is checked by shoal_ctl_relay_verify once
 * relay_id has found the key.  0, or -1.
 */
int shoal_ctl_parse_relay(const uint8_t *buf, size_t len,
			  enum shoal_ctl_type type, uint32_t *relay_id,
			  uint64_t *counter, uint8_t *cookie);
bool shoal_ctl_relay_verify(const uint8_t *buf, size_t len,
			    const uint8_t key[SHOAL_CTL_RELAY_KEY_LEN]);

#endif
