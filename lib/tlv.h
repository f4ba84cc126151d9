/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_TLV_H
#define SHOAL_TLV_H

/*
 * The versioned TLV format of the mediator's control channel
 * (docs/protocol.md, section "Control channel messages").  A message is an
 * 8-byte header and a sequence of attributes that fills it exactly; an
 * attribute whose type has SHOAL_TLV_NESTED set holds a sequence of
 * attributes itself.  Integers are big-endian.  Nothing here keeps state,
 * and nothing here knows what a message type or attribute type means.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_TLV_VERSION 1
#define SHOAL_TLV_HDR_LEN 8
#define SHOAL_TLV_ATTR_HDR_LEN 4
#define SHOAL_TLV_MAX_DEPTH 8
/* One Noise transport message (65535 bytes) less its 16-byte tag. */
#define SHOAL_TLV_MAX_MSG (65535 - 16)

/* Header flags: every other bit is refused on receive. */
#define SHOAL_TLV_F_REPLY 0x0001
#define SHOAL_TLV_F_ALL SHOAL_TLV_F_REPLY

/*
 * The top bit of an attribute type marks a nest.  It is part of the type:
 * a nested attribute type is defined with the bit set (SHOAL_TLV_NESTED | n)
 * and found by that full value, so a flat attribute can never be taken
 * for a nest of the same number.
 */
#define SHOAL_TLV_NESTED 0x8000

/*
 * Builds a message in a caller's buffer.  Every call after a failure (no
 * room, an attribute value over 65535 bytes, a nest flag on the wrong call,
 * nests deeper than SHOAL_TLV_MAX_DEPTH or an end without a start, an
 * invalid header or string) does nothing: "overflow" stays set and
 * shoal_tlv_finish() returns -1, so callers check once at the end.  The
 * writer never produces a message that shoal_tlv_parse() refuses.
 */
struct shoal_tlv_writer {
	uint8_t *buf;
	size_t size, len;
	bool overflow;
	/* Offsets of the open nests' attribute headers. */
	size_t nest[SHOAL_TLV_MAX_DEPTH];
	unsigned int depth;
};

/* type 1..255, flags within SHOAL_TLV_F_ALL, or the writer fails. */
void shoal_tlv_writer_init(struct shoal_tlv_writer *w, uint8_t *buf,
			   size_t size, uint8_t type, uint16_t flags,
			   uint32_t request_id);
/* A flat attribute: type without SHOAL_TLV_NESTED, len up to 65535. */
void shoal_tlv_put(struct shoal_tlv_writer *w, uint16_t type,
		   const void *value, size_t len);
void shoal_tlv_put_u8(struct shoal_tlv_writer *w, uint16_t type, uint8_t v);
void shoal_tlv_put_u16(struct shoal_tlv_writer *w, uint16_t type, uint16_t v);
void shoal_tlv_put_u32(struct shoal_tlv_writer *w, uint16_t type, uint32_t v);
void shoal_tlv_put_u64(struct shoal_tlv_writer *w, uint16_t type, uint64_t v);
/*
 * The string's bytes without its NUL.  It must be what
 * shoal_tlv_get_str() accepts (non-empty printable UTF-8), or the writer
 * fails: a peer would refuse it anyway, and failing here finds the bug.
 */
void shoal_tlv_put_str(struct shoal_tlv_writer *w, uint16_t type,
		       const char *s);
/* Opens a nest: type must have SHOAL_TLV_NESTED set. */
void shoal_tlv_nest_start(struct shoal_tlv_writer *w, uint16_t type);
void shoal_tlv_nest_end(struct shoal_tlv_writer *w);
/* The message's total length, or -1 if anything failed or a nest is open. */
int shoal_tlv_finish(struct shoal_tlv_writer *w);

struct shoal_tlv_msg {
	uint8_t version, type;
	uint16_t flags;
	uint32_t request_id;
	const uint8_t *attrs;
	size_t attrs_len;
};

/*
 * Validates the header and the whole attribute tree (every length, the
 * depth, the total size) before anything is taken from it: 0, or -1 with
 * *m zeroed.  m points into buf, which must outlive it.
 */
int shoal_tlv_parse(struct shoal_tlv_msg *m, const uint8_t *buf, size_t len);

/* type is the full wire value; nested mirrors its SHOAL_TLV_NESTED bit. */
struct shoal_tlv_attr {
	uint16_t type;
	bool nested;
	const uint8_t *value;
	uint16_t len;
};

struct shoal_tlv_iter {
	const uint8_t *p;
	size_t left;
};

void shoal_tlv_iter_msg(struct shoal_tlv_iter *it,
			const struct shoal_tlv_msg *m);
/* The attributes inside a nest; none if a is not nested. */
void shoal_tlv_iter_nested(struct shoal_tlv_iter *it,
			   const struct shoal_tlv_attr *a);
/* The next attribute, or false at the end (or at anything malformed). */
bool shoal_tlv_next(struct shoal_tlv_iter *it, struct shoal_tlv_attr *a);

/* Fixed-size big-endian integers: false unless flat and exactly sized. */
bool shoal_tlv_get_u8(const struct shoal_tlv_attr *a, uint8_t *v);
bool shoal_tlv_get_u16(const struct shoal_tlv_attr *a, uint16_t *v);
bool shoal_tlv_get_u32(const struct shoal_tlv_attr *a, uint32_t *v);
bool shoal_tlv_get_u64(const struct shoal_tlv_attr *a, uint64_t *v);
/*
 * A string of 1..size-1 bytes of valid UTF-8 (shortest form, no
 * surrogates, at most U+10FFFF) with no control character (C0, DEL, C1;
 * so no NUL), copied into buf with a NUL.  Otherwise false, with buf ""
 * if it has room for that.
 */
bool shoal_tlv_get_str(const struct shoal_tlv_attr *a, char *buf,
		       size_t size);

/* The first attribute of a type at the message's top level. */
bool shoal_tlv_find(const struct shoal_tlv_msg *m, uint16_t type,
		    struct shoal_tlv_attr *a);
/* The first attribute of a type directly inside a nest. */
bool shoal_tlv_find_nested(const struct shoal_tlv_attr *nest, uint16_t type,
			   struct shoal_tlv_attr *a);

#endif
