// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the chat packets' codec (lib/chatmsg.c): the
 * header parser, opening under a fixed key, the plaintext's decoder and
 * the replay window, each against a model of docs/protocol.md ("Chat")
 * written here: what decodes is a valid network name and valid text
 * (UTF-8, no control characters, 1 to 1000 bytes) and encodes back to
 * the very bytes; a window accepts a counter exactly when the model (the
 * set of counters seen, of which only the newest 64 count) does.
 *
 * Input: one selector byte; its low bits pick the op:
 *   OP_PACKET  a packet; with SEAL (0x80) its bytes after the header are
 *              first sealed in place as plaintext under the fuzz key, so
 *              that the fuzzer reaches the decoder (a seed corpus then
 *              needs no cryptography, tests/fuzz/mkcorpus.py)
 *   OP_PLAIN   a plaintext, decoded
 *   OP_REPLAY  counters, 8 bytes each, big-endian
 */
#include <string.h>

#include <sodium.h>

#include "be.h"
#include "chatmsg.h"
#include "fuzz.h"

enum { OP_PACKET, OP_PLAIN, OP_REPLAY, OP_COUNT };

#define SEAL 0x80

static uint8_t fuzz_key[SHOAL_CTL_KEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	memset(fuzz_key, 0x5a, sizeof(fuzz_key));
	return 0;
}

/* The model of the text's rules: UTF-8 by hand, no C0, DEL or C1. */
static bool model_text_ok(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	if (len < 1 || len > 1000)
		return false;
	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4, cp = s[i] & 0x07;
		else
			return false;
		if (len - i < n)
			return false;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n;
	}
	return true;
}

static void plain_op(const uint8_t *p, size_t len)
{
	uint8_t again[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat c;
	bool model;
	int n;

	model = len >= 10 && !(p[8] & 0xfe) && len >= 10u + p[9] &&
		shoal_chat_network_ok((const char *)p + 10, p[9]) &&
		model_text_ok(p + 10 + p[9], len - 10 - p[9]);
	n = shoal_chat_decode(&c, p, len);
	check((n == 0) == model);
	if (n < 0)
		return;
	check(c.text_len == len - 10 - p[9]);
	check(strlen(c.text) == c.text_len);
	n = shoal_chat_encode(again, sizeof(again), &c);
	check(n == (int)len && !memcmp(again, p, len));
}

static void packet_op(const uint8_t *data, size_t size, bool seal)
{
	uint8_t pkt[SHOAL_CHAT_MAX_LEN + 64], plain[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat_hdr h;
	size_t plen;
	int n;

	if (size > sizeof(pkt) - SHOAL_CHAT_TAG_LEN)
		return;
	memcpy(pkt, data, size);
	if (seal && size >= SHOAL_CHAT_HDR_LEN) {
		h.type = pkt[0];
		h.receiver_spi = shoal_get_be32(pkt + 4);
		h.counter = shoal_get_be64(pkt + 8);
		n = shoal_chat_seal(pkt, sizeof(pkt), &h,
				    data + SHOAL_CHAT_HDR_LEN,
				    size - SHOAL_CHAT_HDR_LEN, fuzz_key);
		if (n < 0)
			return;
		/* The writer's header: the version and reserved bytes. */
		check(pkt[1] == SHOAL_CTL_VERSION && !pkt[2] && !pkt[3]);
		size = (size_t)n;
	}
	if (shoal_chat_parse_hdr(&h, pkt, size) < 0) {
		check(size < SHOAL_CHAT_HDR_LEN || pkt[1] != 2 || pkt[2] ||
		      pkt[3] || (pkt[0] != 7 && pkt[0] != 8) ||
		      !shoal_get_be64(pkt + 8) ||
		      (pkt[0] == 8 && size != 40) ||
		      (pkt[0] == 7 && (size < 44 || size > 1106)));
		return;
	}
	check(h.type == pkt[0] && h.counter);
	if (shoal_chat_open(plain, &plen, pkt, size, fuzz_key) < 0) {
		/* What the writer sealed always opens. */
		check(!seal);
		return;
	}
	check(plen == size - SHOAL_CHAT_HDR_LEN - SHOAL_CHAT_TAG_LEN);
	if (seal)
		check(!memcmp(plain, data + SHOAL_CHAT_HDR_LEN, plen));
	if (h.type == SHOAL_CTL_CHAT)
		plain_op(plain, plen);
}

static void replay_op(const uint8_t *data, size_t size)
{
	struct shoal_chat_replay r = { 0 };
	uint64_t seen[128], top = 0, c;
	size_t n_seen = 0, i;
	bool model, dup;

	for (; size >= 8 && n_seen < 128; data += 8, size -= 8) {
		c = shoal_get_be64(data);
		dup = false;
		for (i = 0; i < n_seen; i++)
			dup = dup || seen[i] == c;
		model = c && !dup && (c > top || top - c < 64);
		check(shoal_chat_replay_ok(&r, c) == model);
		if (model) {
			seen[n_seen++] = c;
			top = c > top ? c : top;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch ((data[0] & 0x7f) % OP_COUNT) {
	case OP_PACKET:
		packet_op(data + 1, size - 1, data[0] & SEAL);
		break;
	case OP_PLAIN:
		plain_op(data + 1, size - 1);
		break;
	case OP_REPLAY:
		replay_op(data + 1, size - 1);
		break;
	}
	return 0;
}
