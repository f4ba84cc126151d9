// SPDX-License-Identifier: MIT
#include <string.h>

#include "be.h"
#include "tlv.h"

/*
 * Non-empty, valid UTF-8 with no control character.  Overlong forms,
 * surrogates and code points past U+10FFFF are refused so that a name has
 * one spelling and survives any conforming decoder unchanged; C1 controls
 * are refused with C0 and DEL because terminals act on them too.
 */
static bool printable_utf8(const uint8_t *s, size_t len)
{
	size_t i = 0;

	if (!len)
		return false;
	while (i < len) {
		uint32_t c = s[i], min;
		size_t n, k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			c &= 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
		    c <= 0x9f)
			return false;
		i += n + 1;
	}
	return true;
}

static void fail(struct shoal_tlv_writer *w)
{
	w->overflow = true;
}

void shoal_tlv_writer_init(struct shoal_tlv_writer *w, uint8_t *buf,
			   size_t size, uint8_t type, uint16_t flags,
			   uint32_t request_id)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	/* Capping the room makes a too-long message an ordinary overflow. */
	w->size = size < SHOAL_TLV_MAX_MSG ? size : SHOAL_TLV_MAX_MSG;
	if (!buf || w->size < SHOAL_TLV_HDR_LEN || !type ||
	    (flags & ~SHOAL_TLV_F_ALL)) {
		fail(w);
		return;
	}
	buf[0] = SHOAL_TLV_VERSION;
	buf[1] = type;
	shoal_put_be16(buf + 2, flags);
	shoal_put_be32(buf + 4, request_id);
	w->len = SHOAL_TLV_HDR_LEN;
}

/* Writes an attribute header and returns where its value goes, or NULL. */
static uint8_t *attr(struct shoal_tlv_writer *w, uint16_t type, size_t len)
{
	uint8_t *p;

	if (w->overflow)
		return NULL;
	if (len > UINT16_MAX || w->len > w->size ||
	    w->size - w->len < SHOAL_TLV_ATTR_HDR_LEN + len) {
		fail(w);
		return NULL;
	}
	p = w->buf + w->len;
	shoal_put_be16(p, type);
	shoal_put_be16(p + 2, (uint16_t)len);
	w->len += SHOAL_TLV_ATTR_HDR_LEN + len;
	return p + SHOAL_TLV_ATTR_HDR_LEN;
}

void shoal_tlv_put(struct shoal_tlv_writer *w, uint16_t type,
		   const void *value, size_t len)
{
	uint8_t *p;

	/* A nest's value must itself parse; only nest_start() ensures that. */
	if ((type & SHOAL_TLV_NESTED) || (!value && len)) {
		fail(w);
		return;
	}
	p = attr(w, type, len);
	if (p && len)
		memcpy(p, value, len);
}

void shoal_tlv_put_u8(struct shoal_tlv_writer *w, uint16_t type, uint8_t v)
{
	shoal_tlv_put(w, type, &v, 1);
}

void shoal_tlv_put_u16(struct shoal_tlv_writer *w, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	shoal_put_be16(b, v);
	shoal_tlv_put(w, type, b, sizeof(b));
}

void shoal_tlv_put_u32(struct shoal_tlv_writer *w, uint16_t type, uint32_t v)
{
	uint8_t b[4];

	shoal_put_be32(b, v);
	shoal_tlv_put(w, type, b, sizeof(b));
}

void shoal_tlv_put_u64(struct shoal_tlv_writer *w, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	shoal_put_be32(b, (uint32_t)(v >> 32));
	shoal_put_be32(b + 4, (uint32_t)v);
	shoal_tlv_put(w, type, b, sizeof(b));
}

void shoal_tlv_put_str(struct shoal_tlv_writer *w, uint16_t type,
		       const char *s)
{
	size_t len = 0;

	if (w->overflow)
		return;
	/* Too long for any message: refused without reading all of it. */
	while (s && len <= SHOAL_TLV_MAX_MSG && s[len])
		len++;
	if (!printable_utf8((const uint8_t *)s, len)) {
		fail(w);
		return;
	}
	shoal_tlv_put(w, type, s, len);
}

void shoal_tlv_nest_start(struct shoal_tlv_writer *w, uint16_t type)
{
	size_t start = w->len;

	if (w->overflow)
		return;
	if (!(type & SHOAL_TLV_NESTED) || w->depth >= SHOAL_TLV_MAX_DEPTH) {
		fail(w);
		return;
	}
	if (attr(w, type, 0))
		w->nest[w->depth++] = start;
}

void shoal_tlv_nest_end(struct shoal_tlv_writer *w)
{
	size_t start, len;

	if (w->overflow)
		return;
	if (!w->depth) {
		fail(w);
		return;
	}
	start = w->nest[--w->depth];
	len = w->len - start - SHOAL_TLV_ATTR_HDR_LEN;
	if (len > UINT16_MAX) {
		fail(w);
		return;
	}
	shoal_put_be16(w->buf + start + 2, (uint16_t)len);
}

int shoal_tlv_finish(struct shoal_tlv_writer *w)
{
	if (w->overflow || w->depth || w->len < SHOAL_TLV_HDR_LEN ||
	    w->len > w->size)
		return -1;
	return (int)w->len;
}

/* depth: how many nests enclose p; the top level is 0. */
static bool valid_attrs(const uint8_t *p, size_t left, unsigned int depth)
{
	while (left) {
		uint16_t type, len;

		if (left < SHOAL_TLV_ATTR_HDR_LEN)
			return false;
		type = shoal_get_be16(p);
		len = shoal_get_be16(p + 2);
		left -= SHOAL_TLV_ATTR_HDR_LEN;
		p += SHOAL_TLV_ATTR_HDR_LEN;
		if (len > left)
			return false;
		/* Recursion is bounded by the depth check, not by the input. */
		if ((type & SHOAL_TLV_NESTED) &&
		    (depth >= SHOAL_TLV_MAX_DEPTH ||
		     !valid_attrs(p, len, depth + 1)))
			return false;
		left -= len;
		p += len;
	}
	return true;
}

int shoal_tlv_parse(struct shoal_tlv_msg *m, const uint8_t *buf, size_t len)
{
	memset(m, 0, sizeof(*m));
	if (!buf || len < SHOAL_TLV_HDR_LEN || len > SHOAL_TLV_MAX_MSG ||
	    buf[0] != SHOAL_TLV_VERSION || !buf[1] ||
	    (shoal_get_be16(buf + 2) & ~SHOAL_TLV_F_ALL) ||
	    !valid_attrs(buf + SHOAL_TLV_HDR_LEN, len - SHOAL_TLV_HDR_LEN, 0))
		return -1;
	m->version = buf[0];
	m->type = buf[1];
	m->flags = shoal_get_be16(buf + 2);
	m->request_id = shoal_get_be32(buf + 4);
	m->attrs = buf + SHOAL_TLV_HDR_LEN;
	m->attrs_len = len - SHOAL_TLV_HDR_LEN;
	return 0;
}

void shoal_tlv_iter_msg(struct shoal_tlv_iter *it,
			const struct shoal_tlv_msg *m)
{
	it->p = m->attrs;
	it->left = m->attrs ? m->attrs_len : 0;
}

void shoal_tlv_iter_nested(struct shoal_tlv_iter *it,
			   const struct shoal_tlv_attr *a)
{
	it->p = a->value;
	it->left = a->nested && a->value ? a->len : 0;
}

bool shoal_tlv_next(struct shoal_tlv_iter *it, struct shoal_tlv_attr *a)
{
	uint16_t type, len;

	/*
	 * parse() has checked all of this, but an iterator over a message
	 * that was never parsed must stop rather than read past its end.
	 */
	if (it->left < SHOAL_TLV_ATTR_HDR_LEN) {
		it->left = 0;
		return false;
	}
	type = shoal_get_be16(it->p);
	len = shoal_get_be16(it->p + 2);
	if (len > it->left - SHOAL_TLV_ATTR_HDR_LEN) {
		it->left = 0;
		return false;
	}
	a->type = type;
	a->nested = type & SHOAL_TLV_NESTED;
	a->value = it->p + SHOAL_TLV_ATTR_HDR_LEN;
	a->len = len;
	it->p += SHOAL_TLV_ATTR_HDR_LEN + len;
	it->left -= SHOAL_TLV_ATTR_HDR_LEN + len;
	return true;
}

static bool flat(const struct shoal_tlv_attr *a, uint16_t len)
{
	return !a->nested && a->len == len && a->value;
}

bool shoal_tlv_get_u8(const struct shoal_tlv_attr *a, uint8_t *v)
{
	if (!flat(a, 1))
		return false;
	*v = a->value[0];
	return true;
}

bool shoal_tlv_get_u16(const struct shoal_tlv_attr *a, uint16_t *v)
{
	if (!flat(a, 2))
		return false;
	*v = shoal_get_be16(a->value);
	return true;
}

bool shoal_tlv_get_u32(const struct shoal_tlv_attr *a, uint32_t *v)
{
	if (!flat(a, 4))
		return false;
	*v = shoal_get_be32(a->value);
	return true;
}

bool shoal_tlv_get_u64(const struct shoal_tlv_attr *a, uint64_t *v)
{
	if (!flat(a, 8))
		return false;
	*v = (uint64_t)shoal_get_be32(a->value) << 32 | shoal_get_be32(a->value + 4);
	return true;
}

bool shoal_tlv_get_str(const struct shoal_tlv_attr *a, char *buf,
		       size_t size)
{
	if (!size)
		return false;
	buf[0] = '\0';
	if (a->nested || !a->value || a->len > size - 1 ||
	    !printable_utf8(a->value, a->len))
		return false;
	memcpy(buf, a->value, a->len);
	buf[a->len] = '\0';
	return true;
}

static bool find(struct shoal_tlv_iter *it, uint16_t type,
		 struct shoal_tlv_attr *a)
{
	struct shoal_tlv_attr cur;

	while (shoal_tlv_next(it, &cur)) {
		if (cur.type == type) {
			*a = cur;
			return true;
		}
	}
	return false;
}

bool shoal_tlv_find(const struct shoal_tlv_msg *m, uint16_t type,
		    struct shoal_tlv_attr *a)
{
	struct shoal_tlv_iter it;

	shoal_tlv_iter_msg(&it, m);
	return find(&it, type, a);
}

bool shoal_tlv_find_nested(const struct shoal_tlv_attr *nest, uint16_t type,
			   struct shoal_tlv_attr *a)
{
	struct shoal_tlv_iter it;

	shoal_tlv_iter_nested(&it, nest);
	return find(&it, type, a);
}
