// SPDX-License-Identifier: MIT
/* The chat packets' codec; docs/protocol.md, "Chat". */
#include <string.h>

#include <sodium.h>

#include "be.h"
#include "chatmsg.h"
#include "utf8.h"

/* crypto_kdf's context: eight bytes, this use alone. */
static const char kdf_context[crypto_kdf_CONTEXTBYTES] = "shoalcht";

enum { KEY_I2R = 1, KEY_R2I = 2 };

void shoal_chat_keys(uint8_t tx[SHOAL_CTL_KEY_LEN],
		     uint8_t rx[SHOAL_CTL_KEY_LEN],
		     const uint8_t ctl_key[SHOAL_CTL_KEY_LEN], bool initiator)
{
	crypto_kdf_derive_from_key(tx, SHOAL_CTL_KEY_LEN,
				   initiator ? KEY_I2R : KEY_R2I, kdf_context,
				   ctl_key);
	crypto_kdf_derive_from_key(rx, SHOAL_CTL_KEY_LEN,
				   initiator ? KEY_R2I : KEY_I2R, kdf_context,
				   ctl_key);
}

bool shoal_chat_network_ok(const char *s, size_t len)
{
	size_t i;
	char ch;

	if (len < 1 || len > SHOAL_CHAT_NETWORK_MAX)
		return false;
	for (i = 0; i < len; i++) {
		ch = s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (i == 0 || (ch != '.' && ch != '_' && ch != '-'))
			return false;
	}
	return true;
}

bool shoal_chat_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t seq;

	if (len < 1 || len > SHOAL_CHAT_TEXT_MAX)
		return false;
	while (p < end) {
		seq = shoal_utf8_seq(p, end);
		if (!seq)
			return false;
		/* C0 and DEL; C1 (U+0080..U+009F) is C2 80..C2 9F. */
		if ((seq == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
		    (seq == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			return false;
		p += seq;
	}
	return true;
}

int shoal_chat_parse_hdr(struct shoal_chat_hdr *h, const uint8_t *buf,
			 size_t len)
{
	/* The shortest CHAT: one byte of network, one of text. */
	static const size_t chat_min = SHOAL_CHAT_HDR_LEN +
		SHOAL_CHAT_FIXED_LEN + 2 + SHOAL_CHAT_TAG_LEN;

	memset(h, 0, sizeof(*h));
	if (len < SHOAL_CHAT_HDR_LEN || buf[1] != SHOAL_CTL_VERSION ||
	    buf[2] || buf[3])
		return -1;
	if (buf[0] == SHOAL_CTL_CHAT) {
		if (len < chat_min || len > SHOAL_CHAT_MAX_LEN)
			return -1;
	} else if (buf[0] == SHOAL_CTL_CHAT_ACK) {
		if (len != SHOAL_CHAT_ACK_LEN)
			return -1;
	} else {
		return -1;
	}
	h->type = buf[0];
	h->receiver_spi = shoal_get_be32(buf + 4);
	h->counter = shoal_get_be64(buf + 8);
	return h->counter ? 0 : -1;
}

static void nonce_of(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES],
		     uint64_t counter)
{
	memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	shoal_put_be64(nonce + 4, counter);
}

int shoal_chat_seal(uint8_t *out, size_t size, const struct shoal_chat_hdr *h,
		    const uint8_t *plain, size_t plain_len,
		    const uint8_t key[SHOAL_CTL_KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long clen;

	if ((h->type != SHOAL_CTL_CHAT && h->type != SHOAL_CTL_CHAT_ACK) ||
	    !h->counter || plain_len > SHOAL_CHAT_PLAIN_MAX ||
	    size < SHOAL_CHAT_HDR_LEN + plain_len + SHOAL_CHAT_TAG_LEN)
		return -1;
	out[0] = h->type;
	out[1] = SHOAL_CTL_VERSION;
	out[2] = out[3] = 0;
	shoal_put_be32(out + 4, h->receiver_spi);
	shoal_put_be64(out + 8, h->counter);
	nonce_of(nonce, h->counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + SHOAL_CHAT_HDR_LEN,
						  &clen, plain, plain_len, out,
						  SHOAL_CHAT_HDR_LEN, NULL,
						  nonce, key);
	return (int)(SHOAL_CHAT_HDR_LEN + clen);
}

int shoal_chat_open(uint8_t *plain, size_t *plain_len, const uint8_t *buf,
		    size_t len, const uint8_t key[SHOAL_CTL_KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long mlen;

	if (len < SHOAL_CHAT_HDR_LEN + SHOAL_CHAT_TAG_LEN ||
	    len - SHOAL_CHAT_HDR_LEN - SHOAL_CHAT_TAG_LEN >
	    SHOAL_CHAT_PLAIN_MAX)
		return -1;
	nonce_of(nonce, shoal_get_be64(buf + 8));
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		    plain, &mlen, NULL, buf + SHOAL_CHAT_HDR_LEN,
		    len - SHOAL_CHAT_HDR_LEN, buf, SHOAL_CHAT_HDR_LEN, nonce,
		    key) < 0)
		return -1;
	*plain_len = (size_t)mlen;
	return 0;
}

int shoal_chat_encode(uint8_t *out, size_t size, const struct shoal_chat *c)
{
	size_t net_len = strnlen(c->network, sizeof(c->network));
	size_t len = SHOAL_CHAT_FIXED_LEN + net_len + c->text_len;

	if (!shoal_chat_network_ok(c->network, net_len) ||
	    !shoal_chat_text_ok(c->text, c->text_len) || size < len)
		return -1;
	shoal_put_be64(out, c->msg_id);
	out[8] = c->direct ? SHOAL_CHAT_FLAG_DIRECT : 0;
	out[9] = (uint8_t)net_len;
	memcpy(out + SHOAL_CHAT_FIXED_LEN, c->network, net_len);
	memcpy(out + SHOAL_CHAT_FIXED_LEN + net_len, c->text, c->text_len);
	return (int)len;
}

int shoal_chat_decode(struct shoal_chat *c, const uint8_t *plain, size_t len)
{
	size_t net_len;

	memset(c, 0, sizeof(*c));
	if (len < SHOAL_CHAT_FIXED_LEN || plain[8] & ~SHOAL_CHAT_FLAG_DIRECT)
		return -1;
	net_len = plain[9];
	if (len < SHOAL_CHAT_FIXED_LEN + net_len ||
	    !shoal_chat_network_ok((const char *)plain + SHOAL_CHAT_FIXED_LEN,
				   net_len))
		return -1;
	c->text_len = len - SHOAL_CHAT_FIXED_LEN - net_len;
	if (!shoal_chat_text_ok((const char *)plain + SHOAL_CHAT_FIXED_LEN +
				net_len, c->text_len)) {
		c->text_len = 0;
		return -1;
	}
	c->msg_id = shoal_get_be64(plain);
	c->direct = plain[8] & SHOAL_CHAT_FLAG_DIRECT;
	memcpy(c->network, plain + SHOAL_CHAT_FIXED_LEN, net_len);
	memcpy(c->text, plain + SHOAL_CHAT_FIXED_LEN + net_len, c->text_len);
	return 0;
}

bool shoal_chat_replay_ok(struct shoal_chat_replay *r, uint64_t counter)
{
	uint64_t back;

	if (!counter)
		return false;
	if (counter > r->top) {
		back = counter - r->top;
		r->seen = back >= 64 ? 0 : r->seen << back;
		r->seen |= 1;
		r->top = counter;
		return true;
	}
	back = r->top - counter;
	if (back >= 64 || (r->seen >> back & 1))
		return false;
	r->seen |= (uint64_t)1 << back;
	return true;
}
