/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CHATMSG_H
#define SHOAL_CHATMSG_H

/*
 * Chat between peers (docs/protocol.md, "Chat"): CHAT and CHAT_ACK
 * control packets on an established session, sealed with
 * ChaCha20-Poly1305 (IETF) under a key of the session's direction that
 * comes from the session's control key alone (itself from the
 * handshake's chaining key), with a counter as nonce.  Nothing here
 * keeps state but the replay window the caller hands in.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"

/* Type, version, reserved (2), receiver SPI, counter: also the AD. */
#define SHOAL_CHAT_HDR_LEN 16
#define SHOAL_CHAT_TAG_LEN 16
#define SHOAL_CHAT_TEXT_MAX 1000
#define SHOAL_CHAT_NETWORK_MAX 64
/* message id, flags, network length */
#define SHOAL_CHAT_FIXED_LEN 10
#define SHOAL_CHAT_FLAG_DIRECT 0x01
#define SHOAL_CHAT_PLAIN_MAX \
	(SHOAL_CHAT_FIXED_LEN + SHOAL_CHAT_NETWORK_MAX + SHOAL_CHAT_TEXT_MAX)
#define SHOAL_CHAT_MAX_LEN \
	(SHOAL_CHAT_HDR_LEN + SHOAL_CHAT_PLAIN_MAX + SHOAL_CHAT_TAG_LEN)
#define SHOAL_CHAT_ACK_LEN (SHOAL_CHAT_HDR_LEN + 8 + SHOAL_CHAT_TAG_LEN)

struct shoal_chat_hdr {
	uint8_t type;			/* SHOAL_CTL_CHAT or _ACK */
	uint32_t receiver_spi;
	uint64_t counter;		/* the nonce: never 0 */
};

/* What a CHAT carries, once opened. */
struct shoal_chat {
	uint64_t msg_id;		/* the same in every retransmission */
	bool direct;			/* to one member, not the network */
	char network[SHOAL_CHAT_NETWORK_MAX + 1];
	char text[SHOAL_CHAT_TEXT_MAX + 1];
	size_t text_len;
};

/*
 * The keys of a session's chat, one a direction, from its control key
 * (keyed BLAKE2b, crypto_kdf): initiator says which end this is.
 */
void shoal_chat_keys(uint8_t tx[SHOAL_CTL_KEY_LEN],
		     uint8_t rx[SHOAL_CTL_KEY_LEN],
		     const uint8_t ctl_key[SHOAL_CTL_KEY_LEN], bool initiator);

/* 1 to 64 of A-Z a-z 0-9 . _ -, the first a letter or digit. */
bool shoal_chat_network_ok(const char *s, size_t len);
/* 1 to SHOAL_CHAT_TEXT_MAX bytes of UTF-8 without control characters. */
bool shoal_chat_text_ok(const char *s, size_t len);

/*
 * The header of a CHAT or CHAT_ACK: type, version, zero reserved bytes,
 * a counter not 0 and a length the type allows.  0, or -1.
 */
int shoal_chat_parse_hdr(struct shoal_chat_hdr *h, const uint8_t *buf,
			 size_t len);

/* Seals plain into out: the packet's length, or -1. */
int shoal_chat_seal(uint8_t *out, size_t size, const struct shoal_chat_hdr *h,
		    const uint8_t *plain, size_t plain_len,
		    const uint8_t key[SHOAL_CTL_KEY_LEN]);
/* Opens a parsed packet into plain (room for SHOAL_CHAT_PLAIN_MAX). */
int shoal_chat_open(uint8_t *plain, size_t *plain_len, const uint8_t *buf,
		    size_t len, const uint8_t key[SHOAL_CTL_KEY_LEN]);

/* A CHAT's plaintext: its length, or -1 if c is not one to send. */
int shoal_chat_encode(uint8_t *out, size_t size, const struct shoal_chat *c);
/* 0, or -1 for anything shoal_chat_encode would not have written. */
int shoal_chat_decode(struct shoal_chat *c, const uint8_t *plain, size_t len);

/*
 * The counters seen on a session's direction: the highest, and the 64
 * before it.  shoal_chat_replay_ok checks and records one (call it only
 * once the packet opened): false for 0, one seen, or one too old.
 */
struct shoal_chat_replay {
	uint64_t top, seen;		/* bit i: top - i was seen */
};

bool shoal_chat_replay_ok(struct shoal_chat_replay *r, uint64_t counter);

#endif
