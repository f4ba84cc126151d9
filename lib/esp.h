/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_ESP_H
#define SHOAL_ESP_H

/*
 * The ESP-in-UDP datapath's packet format in userspace (docs/protocol.md):
 * RFC 4303 with extended sequence numbers and RFC 7634 ChaCha20-Poly1305,
 * byte for byte what kmod/esp.c and kmod/sa.c put on the wire and accept.
 * Pure: no I/O, no clock (the caller passes the time), no global state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "uapi/linux/shoal.h"

#define SHOAL_ESP_HLEN		8	/* SPI, low half of the sequence number */
#define SHOAL_ESP_IVLEN		8
#define SHOAL_ESP_ICVLEN	16
/* Header, IV, the shortest aligned trailer (4 bytes) and the ICV. */
#define SHOAL_ESP_MIN_LEN	(SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN + 4 + \
				 SHOAL_ESP_ICVLEN)
/* What sealing adds to a payload at most: header, IV, 3 + 2 trailer, ICV. */
#define SHOAL_ESP_MAX_OVERHEAD	(SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN + 3 + 2 + \
				 SHOAL_ESP_ICVLEN)
/* Where the payload starts inside a sealed packet. */
#define SHOAL_ESP_PAYLOAD_OFFSET (SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN)

/* An SA carries at most 2^60 packets (docs/protocol.md), as in the kernel. */
#define SHOAL_ESP_DEFAULT_HARD	(UINT64_C(1) << 60)
#define SHOAL_ESP_DEFAULT_SOFT	((UINT64_C(1) << 60) - (UINT64_C(1) << 32))

#define SHOAL_ESP_REPLAY_WORDS	(SHOAL_REPLAY_WINDOW / 64)

/*
 * One direction of one key.  An outbound SA uses seq; an inbound one the
 * replay state (top, bitmap).  packets counts what it sealed or accepted.
 */
struct shoal_esp_sa {
	uint32_t spi;
	uint8_t key[SHOAL_SA_KEY_LEN];	/* ChaCha20 key (32) || salt (4) */
	uint64_t seq;			/* outbound: the last one sent, 0: none */
	uint64_t top;			/* inbound: highest accepted, 0: none */
	uint64_t bitmap[SHOAL_ESP_REPLAY_WORDS];	/* by seq % window */
	uint64_t packets;
	uint64_t soft_packets, hard_packets;
	time_t created;			/* in the clock the caller passes */
	uint32_t soft_seconds, hard_seconds;	/* 0: none */
	bool soft_fired;
};

/*
 * Sets sa up as a fresh SA (sequence 0, empty replay window) created at
 * now.  Packet limits of 0 mean the defaults; hard is capped at 2^60 and
 * soft at hard, as the kernel does.  Returns 0, or -1 if libsodium cannot
 * be initialised.
 */
int shoal_esp_sa_init(struct shoal_esp_sa *sa, uint32_t spi,
		      const uint8_t key[SHOAL_SA_KEY_LEN],
		      uint64_t soft_packets, uint64_t hard_packets,
		      uint32_t soft_seconds, uint32_t hard_seconds, time_t now);

/* Wipes the whole SA, key included. */
void shoal_esp_sa_wipe(struct shoal_esp_sa *sa);

/* Whether sa may no longer carry packets (past a hard limit) at now. */
bool shoal_esp_sa_expired(const struct shoal_esp_sa *sa, time_t now);

/*
 * True exactly once: the first time it is called with sa past its soft
 * limit (packets, or soft_seconds since created).  Call it on every use.
 */
bool shoal_esp_sa_soft_due(struct shoal_esp_sa *sa, time_t now);

/* Size of the sealed packet for a payload of len bytes. */
size_t shoal_esp_sealed_len(size_t len);

/*
 * Seals len bytes of in as the next packet of sa with next_header into out
 * (the whole UDP payload: header, IV, ciphertext, trailer, ICV), and sets
 * *out_len.  in may overlap out (in == out + SHOAL_ESP_PAYLOAD_OFFSET
 * seals in place).  Returns 0, -ENOSPC if out_size is less than
 * shoal_esp_sealed_len(len), or -EKEYEXPIRED past a hard limit (nothing
 * is consumed then).
 */
int shoal_esp_seal(struct shoal_esp_sa *sa, time_t now, uint8_t next_header,
		   const uint8_t *in, size_t len, uint8_t *out, size_t out_size,
		   size_t *out_len);

/*
 * One packet's AEAD work, split from the rest so that it may run on
 * another thread: the prepare call, on the SA owner's thread, does every
 * check and takes (sealing) or reads (opening) the sequence number;
 * shoal_esp_crypt() does the cryptography alone and touches no SA, only
 * the key it points to, which must outlive the job; opening then ends
 * on the owner's thread with shoal_esp_open_finish().
 */
struct shoal_esp_crypt {
	uint8_t nonce[12];
	uint8_t aad[12];
	const uint8_t *key;
	const uint8_t *in;	/* len bytes, then (opening) the ICV */
	uint8_t *out;		/* len bytes, then (sealing) the ICV */
	size_t len;
	bool seal;
};

/*
 * As shoal_esp_seal(), without the encryption, which *job then does: out
 * holds the packet with its payload still in plaintext.  The sequence
 * number is spent.
 */
int shoal_esp_seal_prepare(struct shoal_esp_sa *sa, time_t now,
			   uint8_t next_header, const uint8_t *in, size_t len,
			   uint8_t *out, size_t out_size, size_t *out_len,
			   struct shoal_esp_crypt *job);

/* Seals, or authenticates and decrypts: 0, or -EBADMSG (opening only). */
int shoal_esp_crypt(struct shoal_esp_crypt *job);

/*
 * The checks of shoal_esp_open() before authentication (and its return
 * values); sets *seq and *job, which decrypts into out.  out may be the
 * payload's own place (pkt + SHOAL_ESP_PAYLOAD_OFFSET) but must not
 * overlap it otherwise.
 */
int shoal_esp_open_prepare(const struct shoal_esp_sa *sa, time_t now,
			   const uint8_t *pkt, size_t len, uint8_t *out,
			   size_t out_size, uint64_t *seq,
			   struct shoal_esp_crypt *job);

/*
 * After *job authenticated: checks the trailer, the replay window and the
 * hard limits again (packets opened together may share a number, and use
 * the SA up) and marks seq seen.  Returns what shoal_esp_open() does
 * past authentication.
 */
int shoal_esp_open_finish(struct shoal_esp_sa *sa, time_t now, uint64_t seq,
			  const struct shoal_esp_crypt *job, size_t *out_len,
			  uint8_t *next_header);

/*
 * Opens the ESP packet pkt (the UDP payload) of sa: infers the high half
 * of the sequence number, checks the replay window, authenticates and
 * decrypts into out (which needs len - SHOAL_ESP_MIN_LEN + 4 bytes and
 * must not overlap pkt), checks the trailer and only then marks the
 * sequence number seen.  Sets *out_len (the payload without padding and
 * trailer) and *next_header.  Returns 0, -EINVAL for a malformed packet
 * (length, alignment, SPI not sa's, padding), -EALREADY for a replay,
 * -EBADMSG when authentication fails, -ENOSPC if out is too small, or
 * -EKEYEXPIRED past a hard limit.  Nothing changes in sa unless it
 * returns 0.
 */
int shoal_esp_open(struct shoal_esp_sa *sa, time_t now, const uint8_t *pkt,
		   size_t len, uint8_t *out, size_t out_size, size_t *out_len,
		   uint8_t *next_header);

/* The SPI of an ESP packet, or 0 if len is too short to hold one. */
uint32_t shoal_esp_spi(const uint8_t *pkt, size_t len);

/*
 * The full sequence number for a received low half (RFC 4303 appendix
 * A.2, window SHOAL_REPLAY_WINDOW).  Returns false when it can only be a
 * replay (it would be 0 or lie before the first 2^32 block).
 */
bool shoal_esp_seq_infer(const struct shoal_esp_sa *sa, uint32_t seq_lo,
			 uint64_t *seq);

#endif
