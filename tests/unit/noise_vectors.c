// SPDX-License-Identifier: MIT
/*
 * noise_vectors [FILE.json ...]: runs lib/noise.c against cacophony-format
 * test vectors and prints KTAP, one line per vector and per negative check.
 *
 * Without arguments the file is $SHOAL_VECTORS, else
 * ../shared/vectors/noise-25519-ChaChaPoly-BLAKE2b.json relative to the
 * repository root (found from /proc/self/exe), else relative to the
 * current directory's parent.  No file at all: a KTAP skip, exit 4.
 *
 * Cacophony convention: messages alternate sender, initiator first; after
 * the handshake the initiator sends with c1 and the responder with c2.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hex.h"
#include "noise.h"

#define VECTORS_NAME "noise-25519-ChaChaPoly-BLAKE2b.json"
#define MAX_FILE (64u << 20)
#define MAX_DEPTH 32
#define MAX_PROLOGUE 4096

/* ---- a small JSON parser (RFC 8259), building a tree ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	char *str;		/* J_STR: decoded, NUL-terminated */
	size_t len;		/* J_STR: bytes in str */
	struct jval *items;	/* J_ARR elements, J_OBJ values */
	char **keys;		/* J_OBJ keys */
	size_t n;
};

struct jparser {
	const char *p, *end;
	const char *err;
};

static void jfree(struct jval *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static void jskip_ws(struct jparser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
				   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int jfail(struct jparser *jp, const char *msg)
{
	if (!jp->err)
		jp->err = msg;
	return -1;
}

static int jhex4(struct jparser *jp, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	if (jp->end - jp->p < 4)
		return jfail(jp, "short \\u escape");
	for (i = 0; i < 4; i++) {
		char c = jp->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return jfail(jp, "bad \\u escape");
	}
	jp->p += 4;
	*out = v;
	return 0;
}

/* Parses a string literal at jp->p (the opening quote) into a new buffer. */
static int jstring(struct jparser *jp, char **out, size_t *out_len)
{
	const char *start, *lit_end;
	char *buf, *w;

	if (jp->p >= jp->end || *jp->p != '"')
		return jfail(jp, "expected string");
	start = ++jp->p;
	while (jp->p < jp->end && *jp->p != '"') {
		if (*jp->p == '\\' && jp->end - jp->p > 1)
			jp->p++;
		jp->p++;
	}
	if (jp->p >= jp->end)
		return jfail(jp, "unterminated string");
	lit_end = jp->p;
	/* Decoded text is never longer than the literal. */
	buf = malloc((size_t)(lit_end - start) + 1);
	if (!buf)
		return jfail(jp, "out of memory");
	w = buf;
	jp->p = start;
	while (jp->p < lit_end) {
		unsigned char c = (unsigned char)*jp->p++;
		unsigned int cp;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		if (jp->p >= lit_end)
			goto bad;
		c = (unsigned char)*jp->p++;
		switch (c) {
		case '"': case '\\': case '/':
			*w++ = (char)c;
			break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u':
			/* Within the literal: \uXXXX is 6 bytes, UTF-8 at most 3. */
			if (lit_end - jp->p < 4 || jhex4(jp, &cp))
				goto bad;
			if (cp == 0)
				goto bad;	/* keep strings NUL-free */
			if (cp < 0x80) {
				*w++ = (char)cp;
			} else if (cp < 0x800) {
				*w++ = (char)(0xc0 | cp >> 6);
				*w++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*w++ = (char)(0xe0 | cp >> 12);
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*w++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			goto bad;
		}
	}
	*w = '\0';
	jp->p = lit_end + 1;
	*out = buf;
	*out_len = (size_t)(w - buf);
	return 0;
bad:
	free(buf);
	return jfail(jp, "bad string");
}

static int jvalue(struct jparser *jp, struct jval *v, int depth);

static int jpush(struct jval *v, char *key)
{
	struct jval *items;

	if (v->n == SIZE_MAX / sizeof(*items) - 1)
		return -1;
	items = realloc(v->items, (v->n + 1) * sizeof(*items));
	if (!items)
		return -1;
	v->items = items;
	memset(&items[v->n], 0, sizeof(items[v->n]));
	if (v->type == J_OBJ) {
		char **keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));

		if (!keys)
			return -1;
		v->keys = keys;
		keys[v->n] = key;
	}
	v->n++;
	return 0;
}

static int jcontainer(struct jparser *jp, struct jval *v, int depth)
{
	char close = *jp->p == '{' ? '}' : ']';

	v->type = close == '}' ? J_OBJ : J_ARR;
	jp->p++;
	jskip_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		jskip_ws(jp);
		if (v->type == J_OBJ) {
			size_t klen;

			if (jstring(jp, &key, &klen))
				return -1;
			jskip_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				free(key);
				return jfail(jp, "expected ':'");
			}
			jp->p++;
		}
		if (jpush(v, key)) {
			free(key);
			return jfail(jp, "out of memory");
		}
		if (jvalue(jp, &v->items[v->n - 1], depth + 1))
			return -1;
		jskip_ws(jp);
		if (jp->p >= jp->end)
			return jfail(jp, "unterminated container");
		if (*jp->p == close) {
			jp->p++;
			return 0;
		}
		if (*jp->p != ',')
			return jfail(jp, "expected ',' or end of container");
		jp->p++;
	}
}

static int jliteral(struct jparser *jp, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(jp->end - jp->p) < len || memcmp(jp->p, word, len))
		return jfail(jp, "bad literal");
	jp->p += len;
	return 0;
}

static int jvalue(struct jparser *jp, struct jval *v, int depth)
{
	if (depth > MAX_DEPTH)
		return jfail(jp, "nested too deeply");
	jskip_ws(jp);
	if (jp->p >= jp->end)
		return jfail(jp, "unexpected end");
	switch (*jp->p) {
	case '{':
	case '[':
		return jcontainer(jp, v, depth);
	case '"':
		v->type = J_STR;
		return jstring(jp, &v->str, &v->len);
	case 't':
		v->type = J_BOOL;
		return jliteral(jp, "true");
	case 'f':
		v->type = J_BOOL;
		return jliteral(jp, "false");
	case 'n':
		v->type = J_NULL;
		return jliteral(jp, "null");
	default:
		if (*jp->p != '-' && (*jp->p < '0' || *jp->p > '9'))
			return jfail(jp, "unexpected character");
		v->type = J_NUM;
		while (jp->p < jp->end && strchr("+-.eE0123456789", *jp->p))
			jp->p++;
		return 0;
	}
}

static const struct jval *jget(const struct jval *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}

/* ---- reading the vectors ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb;

			if (cap >= MAX_FILE)
				goto fail;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

struct vfile {
	const char *path;
	struct jval root;
	const struct jval *vectors;
};

static int load(struct vfile *vf, const char *path)
{
	struct jparser jp = { 0 };
	size_t len;
	char *text = read_file(path, &len);

	vf->path = path;
	if (!text) {
		printf("# %s: %s\n", path, strerror(errno ? errno : EIO));
		return -1;
	}
	jp.p = text;
	jp.end = text + len;
	if (jvalue(&jp, &vf->root, 0) == 0) {
		jskip_ws(&jp);
		if (jp.p != jp.end)
			jfail(&jp, "trailing data");
	}
	if (jp.err) {
		printf("# %s: JSON error at byte %zu: %s\n", path,
		       (size_t)(jp.p - text), jp.err);
		free(text);
		jfree(&vf->root);
		return -1;
	}
	free(text);
	vf->vectors = jget(&vf->root, "vectors");
	if (!vf->vectors || vf->vectors->type != J_ARR) {
		printf("# %s: no \"vectors\" array\n", path);
		jfree(&vf->root);
		return -1;
	}
	return 0;
}

/* ---- one vector ---- */

static char diag[256];

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(diag, sizeof(diag), fmt, ap);
	va_end(ap);
	return 1;
}

/* Hex field into buf; absent: *len = 0 and returns 0 with *present false. */
static int hexfield(const struct jval *obj, const char *key, uint8_t *buf,
		    size_t size, size_t *len, bool *present)
{
	const struct jval *v = jget(obj, key);
	int n;

	*len = 0;
	if (present)
		*present = v != NULL;
	if (!v)
		return present ? 0 : -1;
	if (v->type != J_STR)
		return -1;
	n = shoal_hex_decode(buf, size, v->str, v->len);
	if (n < 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* A 32-byte key field, or NULL if absent; *bad on a malformed one. */
static const uint8_t *keyfield(const struct jval *obj, const char *key,
			       uint8_t buf[SHOAL_NOISE_DHLEN], bool *bad)
{
	size_t len;
	bool present;

	if (hexfield(obj, key, buf, SHOAL_NOISE_DHLEN, &len, &present) ||
	    (present && len != SHOAL_NOISE_DHLEN)) {
		*bad = true;
		return NULL;
	}
	return present ? buf : NULL;
}

struct bufs {
	uint8_t *payload, *expect, *out, *back;
};

enum { PASS, FAIL, SKIP };

static int transport(struct shoal_noise_cipher *send,
		     struct shoal_noise_cipher *recv, const struct bufs *b,
		     size_t plen, size_t clen, size_t i)
{
	size_t n, m;

	if (shoal_noise_encrypt(send, NULL, 0, b->payload, plen, b->out,
				SHOAL_NOISE_MAX_MSG, &n))
		return failf("message %zu: encrypt failed", i);
	if (n != clen || memcmp(b->out, b->expect, n))
		return failf("message %zu: ciphertext mismatch", i);
	if (shoal_noise_decrypt(recv, NULL, 0, b->out, n, b->back,
				SHOAL_NOISE_MAX_MSG, &m))
		return failf("message %zu: decrypt failed", i);
	if (m != plen || memcmp(b->back, b->payload, m))
		return failf("message %zu: payload mismatch", i);
	return PASS;
}

static int run_vector(const struct jval *v, const struct bufs *b)
{
	uint8_t ipro[MAX_PROLOGUE], rpro[MAX_PROLOGUE];
	uint8_t is[32], ie[32], irs[32], rs[32], re[32], rrs[32];
	const uint8_t *p_is, *p_ie, *p_irs, *p_rs, *p_re, *p_rrs;
	uint8_t hh[SHOAL_NOISE_HASHLEN], got_hh[SHOAL_NOISE_HASHLEN];
	struct shoal_noise_handshake hi, hr;
	struct shoal_noise_cipher ic1, ic2, rc1, rc2;
	const struct jval *name = jget(v, "protocol_name");
	const struct jval *msgs = jget(v, "messages");
	size_t ipro_len, rpro_len, hh_len, i;
	bool bad = false, split = false;
	int pattern, ret = PASS;

	if (!name || name->type != J_STR)
		return failf("no protocol_name");
	if (jget(v, "init_psks") || jget(v, "resp_psks"))
		return failf("PSKs not implemented"), SKIP;
	pattern = shoal_noise_pattern_from_name(name->str);
	if (pattern < 0)
		return failf("protocol not implemented"), SKIP;
	if (!msgs || msgs->type != J_ARR)
		return failf("no messages array");
	if (hexfield(v, "init_prologue", ipro, sizeof(ipro), &ipro_len, NULL) ||
	    hexfield(v, "resp_prologue", rpro, sizeof(rpro), &rpro_len, NULL) ||
	    hexfield(v, "handshake_hash", hh, sizeof(hh), &hh_len, NULL) ||
	    hh_len != sizeof(hh))
		return failf("bad prologue or handshake_hash");
	p_is = keyfield(v, "init_static", is, &bad);
	p_ie = keyfield(v, "init_ephemeral", ie, &bad);
	p_irs = keyfield(v, "init_remote_static", irs, &bad);
	p_rs = keyfield(v, "resp_static", rs, &bad);
	p_re = keyfield(v, "resp_ephemeral", re, &bad);
	p_rrs = keyfield(v, "resp_remote_static", rrs, &bad);
	if (bad)
		return failf("malformed key");
	/* The ephemerals are pre-set so that the ciphertexts are known. */
	if (shoal_noise_handshake_init(&hi, pattern, true, ipro, ipro_len,
				       p_is, p_ie, p_irs, NULL))
		return failf("initiator Initialize failed");
	if (shoal_noise_handshake_init(&hr, pattern, false, rpro, rpro_len,
				       p_rs, p_re, p_rrs, NULL)) {
		shoal_noise_handshake_wipe(&hi);
		return failf("responder Initialize failed");
	}

	for (i = 0; i < msgs->n && ret == PASS; i++) {
		const struct jval *m = &msgs->items[i];
		bool init_sends = i % 2 == 0;
		size_t plen, clen, n, back_len;

		if (hexfield(m, "payload", b->payload, SHOAL_NOISE_MAX_MSG,
			     &plen, NULL) ||
		    hexfield(m, "ciphertext", b->expect, SHOAL_NOISE_MAX_MSG,
			     &clen, NULL)) {
			ret = failf("message %zu: bad payload/ciphertext", i);
			break;
		}
		if (split) {
			ret = init_sends ? transport(&ic1, &rc1, b, plen, clen, i) :
					   transport(&rc2, &ic2, b, plen, clen, i);
			continue;
		}
		{
			struct shoal_noise_handshake *w = init_sends ? &hi : &hr;
			struct shoal_noise_handshake *r = init_sends ? &hr : &hi;

			if (!shoal_noise_handshake_my_turn(w)) {
				ret = failf("message %zu: not the writer's turn", i);
				break;
			}
			if (shoal_noise_write_message(w, b->payload, plen, b->out,
						      SHOAL_NOISE_MAX_MSG, &n)) {
				ret = failf("message %zu: WriteMessage failed", i);
				break;
			}
			if (n != clen || memcmp(b->out, b->expect, n)) {
				ret = failf("message %zu: ciphertext mismatch", i);
				break;
			}
			if (shoal_noise_read_message(r, b->out, n, b->back,
						     SHOAL_NOISE_MAX_MSG,
						     &back_len)) {
				ret = failf("message %zu: ReadMessage failed", i);
				break;
			}
			if (back_len != plen || memcmp(b->back, b->payload, plen)) {
				ret = failf("message %zu: payload mismatch", i);
				break;
			}
		}
		if (shoal_noise_handshake_done(&hi) !=
		    shoal_noise_handshake_done(&hr)) {
			ret = failf("message %zu: sides disagree on the end", i);
			break;
		}
		if (!shoal_noise_handshake_done(&hi))
			continue;
		if (shoal_noise_handshake_hash(&hi, got_hh) ||
		    memcmp(got_hh, hh, sizeof(hh))) {
			ret = failf("initiator handshake hash mismatch");
			break;
		}
		if (shoal_noise_handshake_hash(&hr, got_hh) ||
		    memcmp(got_hh, hh, sizeof(hh))) {
			ret = failf("responder handshake hash mismatch");
			break;
		}
		if (shoal_noise_split(&hi, &ic1, &ic2) ||
		    shoal_noise_split(&hr, &rc1, &rc2)) {
			ret = failf("Split failed");
			break;
		}
		split = true;
	}
	if (ret == PASS && !split)
		ret = failf("the vector ends before the handshake does");
	shoal_noise_handshake_wipe(&hi);
	shoal_noise_handshake_wipe(&hr);
	if (split) {
		shoal_noise_cipher_wipe(&ic1);
		shoal_noise_cipher_wipe(&ic2);
		shoal_noise_cipher_wipe(&rc1);
		shoal_noise_cipher_wipe(&rc2);
	}
	return ret;
}

/* ---- negative checks (their own keys; no vector needed) ---- */

static const uint8_t ik_prologue[] = "shoal test";

struct ik_pair {
	uint8_t is[32], ispub[32], rs[32], rspub[32];
};

static void ik_keys(struct ik_pair *k)
{
	size_t i;

	for (i = 0; i < 32; i++) {
		k->is[i] = (uint8_t)(i + 1);
		k->rs[i] = (uint8_t)(0x80 + i);
	}
	crypto_scalarmult_curve25519_base(k->ispub, k->is);
	crypto_scalarmult_curve25519_base(k->rspub, k->rs);
}

static int ik_start(const struct ik_pair *k, struct shoal_noise_handshake *hi,
		    struct shoal_noise_handshake *hr)
{
	if (shoal_noise_handshake_init(hi, SHOAL_NOISE_IK, true, ik_prologue,
				       sizeof(ik_prologue), k->is, NULL, k->rspub,
				       NULL))
		return -1;
	return shoal_noise_handshake_init(hr, SHOAL_NOISE_IK, false, ik_prologue,
					  sizeof(ik_prologue), k->rs, NULL, NULL,
					  NULL);
}

/* The first IK message, with a payload, into msg. */
static int ik_msg1(const struct ik_pair *k, uint8_t *msg, size_t size,
		   size_t *len, struct shoal_noise_handshake *hi,
		   struct shoal_noise_handshake *hr)
{
	static const uint8_t payload[] = "hello, responder";

	if (ik_start(k, hi, hr))
		return -1;
	return shoal_noise_write_message(hi, payload, sizeof(payload), msg,
					 size, len);
}

static int neg_tampered_handshake(void)
{
	struct shoal_noise_handshake hi, hr;
	struct ik_pair k;
	uint8_t msg[256], out[256];
	size_t len, n, i;
	int bit;

	ik_keys(&k);
	if (ik_msg1(&k, msg, sizeof(msg), &len, &hi, &hr))
		return failf("IK WriteMessage failed");
	/* Every bit of every byte, each on a fresh responder. */
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct shoal_noise_handshake t;

			if (shoal_noise_handshake_init(&t, SHOAL_NOISE_IK, false,
						       ik_prologue,
						       sizeof(ik_prologue),
						       k.rs, NULL, NULL, NULL))
				return failf("Initialize failed");
			msg[i] ^= (uint8_t)(1 << bit);
			if (shoal_noise_read_message(&t, msg, len, out,
						     sizeof(out), &n) == 0)
				return failf("byte %zu bit %d flipped: accepted",
					     i, bit);
			msg[i] ^= (uint8_t)(1 << bit);
			/* A failed handshake stays failed. */
			if (shoal_noise_read_message(&t, msg, len, out,
						     sizeof(out), &n) == 0)
				return failf("dead handshake read a message");
			shoal_noise_handshake_wipe(&t);
		}
	}
	/* The untampered message is accepted. */
	if (shoal_noise_read_message(&hr, msg, len, out, sizeof(out), &n))
		return failf("genuine message rejected");
	return PASS;
}

static int neg_truncated_handshake(void)
{
	struct shoal_noise_handshake hi, hr;
	struct ik_pair k;
	uint8_t msg[256], out[256];
	size_t len, n, cut;

	ik_keys(&k);
	if (ik_msg1(&k, msg, sizeof(msg), &len, &hi, &hr))
		return failf("IK WriteMessage failed");
	for (cut = 0; cut < len; cut++) {
		/* An exact-size heap copy, so ASan sees any over-read. */
		uint8_t *copy = malloc(cut ? cut : 1);
		struct shoal_noise_handshake t;
		int ret;

		if (!copy || shoal_noise_handshake_init(&t, SHOAL_NOISE_IK, false,
							ik_prologue,
							sizeof(ik_prologue),
							k.rs, NULL, NULL, NULL)) {
			free(copy);
			return failf("setup failed");
		}
		memcpy(copy, msg, cut);
		ret = shoal_noise_read_message(&t, copy, cut, out, sizeof(out),
					       &n);
		free(copy);
		shoal_noise_handshake_wipe(&t);
		if (ret == 0)
			return failf("%zu of %zu bytes accepted", cut, len);
	}
	/*
	 * Shorter than e, s and the payload tag (32 + 48 + 16): refused before
	 * any state changes, so the same responder then takes the real one.
	 * (A cut inside the payload fails authentication and, as the spec
	 * says, aborts the handshake.)
	 */
	for (cut = 0; cut < 32 + 48 + 16; cut++)
		if (shoal_noise_read_message(&hr, msg, cut, out, sizeof(out),
					     &n) == 0)
			return failf("%zu bytes accepted", cut);
	if (shoal_noise_read_message(&hr, NULL, 10, out, sizeof(out), &n) == 0)
		return failf("NULL message accepted");
	{
		uint8_t *big = calloc(1, SHOAL_NOISE_MAX_MSG + 1);
		int ret;

		if (!big)
			return failf("out of memory");
		ret = shoal_noise_read_message(&hr, big, SHOAL_NOISE_MAX_MSG + 1,
					       big, SHOAL_NOISE_MAX_MSG + 1, &n);
		free(big);
		if (ret == 0)
			return failf("message over 65535 bytes accepted");
	}
	if (shoal_noise_read_message(&hr, msg, len, out, sizeof(out), &n))
		return failf("full message rejected after refused short ones");
	return PASS;
}

static int neg_tampered_transport(void)
{
	struct shoal_noise_handshake hi, hr;
	struct shoal_noise_cipher ic1, ic2, rc1, rc2;
	struct ik_pair k;
	uint8_t msg[256], out[256];
	static const uint8_t data[] = "frame";
	size_t len, n;
	int ret = PASS;

	ik_keys(&k);
	if (ik_msg1(&k, msg, sizeof(msg), &len, &hi, &hr) ||
	    shoal_noise_read_message(&hr, msg, len, out, sizeof(out), &n) ||
	    shoal_noise_write_message(&hr, NULL, 0, msg, sizeof(msg), &len) ||
	    shoal_noise_read_message(&hi, msg, len, out, sizeof(out), &n) ||
	    shoal_noise_split(&hi, &ic1, &ic2) ||
	    shoal_noise_split(&hr, &rc1, &rc2))
		return failf("IK handshake failed");
	if (shoal_noise_encrypt(&ic1, NULL, 0, data, sizeof(data), msg,
				sizeof(msg), &len))
		return failf("encrypt failed");
	msg[0] ^= 1;
	if (shoal_noise_decrypt(&rc1, NULL, 0, msg, len, out, sizeof(out),
				&n) == 0)
		ret = failf("tampered transport message accepted");
	msg[0] ^= 1;
	if (ret == PASS && shoal_noise_decrypt(&rc1, NULL, 0, msg, len - 1, out,
					       sizeof(out), &n) == 0)
		ret = failf("truncated transport message accepted");
	if (ret == PASS && shoal_noise_decrypt(&rc1, NULL, 0, msg, 15, out,
					       sizeof(out), &n) == 0)
		ret = failf("message shorter than a tag accepted");
	/* Failures do not advance the nonce: the genuine one still opens. */
	if (ret == PASS && (shoal_noise_decrypt(&rc1, NULL, 0, msg, len, out,
						sizeof(out), &n) ||
			    n != sizeof(data) || memcmp(out, data, n)))
		ret = failf("genuine transport message rejected");
	/* The other direction's key does not open it. */
	if (ret == PASS && shoal_noise_decrypt(&ic2, NULL, 0, msg, len, out,
					       sizeof(out), &n) == 0)
		ret = failf("c2 opened a c1 message");
	shoal_noise_cipher_wipe(&ic1);
	shoal_noise_cipher_wipe(&ic2);
	shoal_noise_cipher_wipe(&rc1);
	shoal_noise_cipher_wipe(&rc2);
	return ret;
}

static int neg_low_order_point(void)
{
	struct shoal_noise_handshake hr;
	uint8_t msg[SHOAL_NOISE_DHLEN] = { 0 }, out[128];
	size_t n;

	/* NN: "-> e" carries no DH, so the zero point is read... */
	if (shoal_noise_handshake_init(&hr, SHOAL_NOISE_NN, false, NULL, 0,
				       NULL, NULL, NULL, NULL) ||
	    shoal_noise_read_message(&hr, msg, sizeof(msg), out, sizeof(out), &n))
		return failf("NN first message refused");
	/* ...and "<- e, ee" must then refuse the all-zero shared secret. */
	if (shoal_noise_write_message(&hr, NULL, 0, out, sizeof(out), &n) == 0)
		return failf("ee with the zero point accepted");
	return PASS;
}

static int neg_nonce_limit(void)
{
	struct shoal_noise_cipher c;
	uint8_t key[SHOAL_NOISE_KEYLEN] = { 1 }, out[64];
	size_t n;

	shoal_noise_cipher_init(&c, key);
	shoal_noise_cipher_set_nonce(&c, UINT64_MAX - 1);
	if (shoal_noise_encrypt(&c, NULL, 0, key, 8, out, sizeof(out), &n))
		return failf("nonce 2^64-2 refused");
	if (shoal_noise_encrypt(&c, NULL, 0, key, 8, out, sizeof(out), &n) == 0)
		return failf("nonce 2^64-1 used");
	shoal_noise_cipher_set_nonce(&c, UINT64_MAX);
	if (shoal_noise_decrypt(&c, NULL, 0, out, 24, out, sizeof(out), &n) == 0)
		return failf("nonce 2^64-1 used to decrypt");
	shoal_noise_cipher_wipe(&c);
	return PASS;
}

static int neg_small_buffers(void)
{
	struct shoal_noise_handshake hi, hr;
	struct ik_pair k;
	uint8_t msg[256], out[256];
	static const uint8_t payload[] = "0123456789";
	size_t len, n;

	ik_keys(&k);
	if (ik_start(&k, &hi, &hr))
		return failf("Initialize failed");
	/* e 32 + s 48 + payload + tag 16. */
	if (shoal_noise_write_message(&hi, payload, sizeof(payload), msg,
				      32 + 48 + sizeof(payload) + 15, &len) == 0)
		return failf("write into a short buffer accepted");
	if (shoal_noise_write_message(&hi, payload, sizeof(payload), msg,
				      32 + 48 + sizeof(payload) + 16, &len) ||
	    len != 32 + 48 + sizeof(payload) + 16)
		return failf("write into an exact buffer refused");
	if (shoal_noise_read_message(&hr, msg, len, out, sizeof(payload) - 1,
				     &n) == 0)
		return failf("read into a short payload buffer accepted");
	if (shoal_noise_read_message(&hr, msg, len, out, sizeof(payload), &n) ||
	    n != sizeof(payload) || memcmp(out, payload, n))
		return failf("read into an exact payload buffer refused");
	/* Out of turn and missing keys. */
	if (shoal_noise_write_message(&hi, NULL, 0, msg, sizeof(msg), &n) == 0)
		return failf("initiator wrote out of turn");
	if (shoal_noise_handshake_init(&hi, SHOAL_NOISE_IK, true, NULL, 0,
				       k.is, NULL, NULL, NULL) == 0)
		return failf("IK initiator without rs accepted");
	if (shoal_noise_handshake_init(&hi, SHOAL_NOISE_XX, false, NULL, 0,
				       NULL, NULL, NULL, NULL) == 0)
		return failf("XX responder without s accepted");
	return PASS;
}

static const struct {
	const char *name;
	int (*fn)(void);
} negative[] = {
	{ "tampered_handshake_message_rejected", neg_tampered_handshake },
	{ "truncated_handshake_message_rejected", neg_truncated_handshake },
	{ "tampered_transport_message_rejected", neg_tampered_transport },
	{ "low_order_point_rejected", neg_low_order_point },
	{ "nonce_2^64-1_reserved", neg_nonce_limit },
	{ "short_buffers_and_missing_keys_rejected", neg_small_buffers },
};

#define N_NEGATIVE (sizeof(negative) / sizeof(negative[0]))

/* ---- finding the file ---- */

static bool exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * The repository root is the nearest ancestor of the executable's
 * directory holding tests/run and Makefile (build/san/tests/x: three up).
 */
static bool find_default(char *out, size_t size)
{
	char dir[PATH_MAX], probe[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	int up;

	if (n > 0) {
		dir[n] = '\0';
		for (up = 0; up < 8; up++) {
			char *slash = strrchr(dir, '/');

			if (!slash || slash == dir)
				break;
			*slash = '\0';
			snprintf(probe, sizeof(probe), "%s/tests/run", dir);
			if (!exists(probe))
				continue;
			snprintf(probe, sizeof(probe), "%s/Makefile", dir);
			if (!exists(probe))
				continue;
			if ((size_t)snprintf(out, size, "%s/../shared/vectors/%s",
					     dir, VECTORS_NAME) < size &&
			    exists(out))
				return true;
			break;
		}
	}
	if ((size_t)snprintf(out, size, "../shared/vectors/%s", VECTORS_NAME) <
	    size && exists(out))
		return true;
	return false;
}

int main(int argc, char **argv)
{
	static char def_path[PATH_MAX + 64];
	const char *env = getenv("SHOAL_VECTORS");
	const char **paths;
	struct vfile *files;
	struct bufs b;
	size_t n_files, total = 0, f, i, num = 0;
	int failed = 0;

	if (argc > 1) {
		paths = (const char **)(argv + 1);
		n_files = (size_t)argc - 1;
	} else if (env && *env) {
		paths = &env;
		n_files = 1;
	} else if (find_default(def_path, sizeof(def_path))) {
		static const char *one[1];

		one[0] = def_path;
		paths = one;
		n_files = 1;
	} else {
		printf("KTAP version 1\n1..0 # SKIP no %s found (set SHOAL_VECTORS)\n",
		       VECTORS_NAME);
		return 4;
	}
	if (sodium_init() < 0) {
		printf("KTAP version 1\n1..0\nBail out! sodium_init failed\n");
		return 1;
	}

	files = calloc(n_files, sizeof(*files));
	b.payload = malloc(SHOAL_NOISE_MAX_MSG);
	b.expect = malloc(SHOAL_NOISE_MAX_MSG);
	b.out = malloc(SHOAL_NOISE_MAX_MSG);
	b.back = malloc(SHOAL_NOISE_MAX_MSG);
	printf("KTAP version 1\n");
	if (!files || !b.payload || !b.expect || !b.out || !b.back) {
		printf("1..0\nBail out! out of memory\n");
		failed = 1;
		goto out;
	}
	for (f = 0; f < n_files; f++) {
		printf("# vectors: %s\n", paths[f]);
		if (load(&files[f], paths[f])) {
			printf("1..0\nBail out! cannot use %s\n", paths[f]);
			failed = 1;
			goto out;
		}
		total += files[f].vectors->n;
	}
	printf("1..%zu\n", total + N_NEGATIVE);
	for (f = 0; f < n_files; f++) {
		for (i = 0; i < files[f].vectors->n; i++) {
			const struct jval *v = &files[f].vectors->items[i];
			const struct jval *name = jget(v, "protocol_name");
			const char *label = name && name->type == J_STR ?
					    name->str : "(unnamed)";
			int ret;

			diag[0] = '\0';
			ret = v->type == J_OBJ ? run_vector(v, &b) :
						 failf("vector is not an object");
			num++;
			if (ret == PASS) {
				printf("ok %zu %s\n", num, label);
			} else if (ret == SKIP) {
				printf("ok %zu %s # SKIP %s\n", num, label, diag);
			} else {
				printf("# %s: %s\n", label, diag);
				printf("not ok %zu %s\n", num, label);
				failed = 1;
			}
		}
	}
	for (i = 0; i < N_NEGATIVE; i++) {
		diag[0] = '\0';
		num++;
		if (negative[i].fn() == PASS) {
			printf("ok %zu %s\n", num, negative[i].name);
		} else {
			printf("# %s: %s\n", negative[i].name, diag);
			printf("not ok %zu %s\n", num, negative[i].name);
			failed = 1;
		}
	}
out:
	for (f = 0; files && f < n_files; f++)
		jfree(&files[f].root);
	free(files);
	free(b.payload);
	free(b.expect);
	free(b.out);
	free(b.back);
	return failed;
}
