// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control packets' codec (lib/ctlmsg.c),
 * protocol version 2: every parse function, each against a model of
 * docs/protocol.md written here independently of the codec (lengths,
 * header with version 2, reserved bytes, MAC1 and MAC2, the zeros of an
 * anonymous BINDING, the cookies of RELAY_BIND and RELAY_CHALLENGE), and
 * everything a parser accepts written again by the matching writer, which
 * must give back the very bytes.  A COOKIE_REPLY cannot be written again
 * (its nonce is random): one opens only when the model opens it too, and
 * then is exactly its cookie sealed under its nonce for that INIT; one the
 * codec writes for an INIT opens back to its cookie, for no other INIT.
 *
 * Input: one selector byte, then the input of one op.  Its low seven bits,
 * modulo OP_COUNT, pick the op.  With 0x80 (SEAL) set the target first
 * makes the packet authentic, so that the fuzzer gets past the MACs and
 * on to the fields behind them, and so that a seed corpus needs no
 * cryptography beyond hashlib (tests/fuzz/mkcorpus.py): INIT gets MAC1
 * and MAC2 under fuzz_cookie, RESPONSE MAC1, CONFIRM, PING and PONG the
 * session key's MAC, a BINDING with a token the token key's, RELAY_* the
 * relay key's, and a COOKIE_REPLY has the 16 bytes at offset 32 (its
 * cookie) sealed in place, under its own nonce, for the INIT it answers.
 *
 * OP_CTL's COOKIE_REPLYs answer sent_init.  OP_COOKIE_REPLY's input is
 * the INIT that was sent (152 bytes, taken as they are: the initiator
 * trusts its own) followed by whatever came back.
 */
#include <string.h>

#include <sodium.h>

#include "ctlmsg.h"
#include "fuzz.h"

enum { OP_CTL, OP_BINDING, OP_BINDING_REPLY, OP_RELAY_BIND, OP_RELAY_BOUND,
       OP_PAYLOADS, OP_RELAY_CHALLENGE, OP_COOKIE_REPLY, OP_SOURCE_COOKIE,
       OP_COUNT };

#define SEAL 0x80

/* The protocol's numbers, spelt out here rather than taken from ctlmsg.h. */
#define VERSION 2
#define INIT_LEN 152
#define INIT_MAC1 120
#define INIT_MAC2 136
#define RESPONSE_MAC1 64
#define REPLY_LEN 64
#define REPLY_NONCE 8
#define REPLY_SEALED 32
#define BINDING_LEN 60
#define BINDING_TOKEN 20
#define BINDING_COUNTER 36
#define BINDING_MAC 44
#define BINDING_REPLY_LEN 36

/*
 * The responder's static public key (whose MAC1 and COOKIE_REPLY keys
 * follow from it), the session's and the relay's keys, the cookie MAC2 is
 * made with when sealing, and the client's and mediator's private keys of
 * the token key.
 */
static const uint8_t receiver_pub[32] = {
	0x8f, 0x40, 0xc5, 0xad, 0xb6, 0x8f, 0x25, 0x62, 0x4a, 0xe5, 0xb2,
	0x14, 0xea, 0x76, 0x7a, 0x6e, 0xc9, 0x4d, 0x82, 0x9d, 0x3d, 0x7b,
	0x5e, 0x1a, 0xd1, 0xba, 0x6f, 0x3e, 0x21, 0x38, 0x28, 0x5f,
};
static const uint8_t session_key[32] = "fuzz: the session's control key";
static const uint8_t relay_key[32] = "fuzz: the relay key of one side";
static const uint8_t fuzz_cookie[16] = "fuzz: a cookie.";
static const uint8_t client_priv[32] = "fuzz: the client's private key.";
static const uint8_t mediator_priv[32] = "fuzz: the mediator's secret key";
/* The responder's cookie secret, for OP_SOURCE_COOKIE. */
static const uint8_t cookie_secret[32] = "fuzz: the responder's secret...";

static uint8_t mac1_key[32], cookie_key[32];
static uint8_t client_pub[32], mediator_pub[32];
/* X25519 of the client's and the mediator's keys: the token keys' key. */
static uint8_t token_dh[32];
/* The INIT whose answers OP_CTL's COOKIE_REPLYs are (see mkcorpus.py). */
static uint8_t sent_init[INIT_LEN];

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static bool is_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* BLAKE2b-256 of label || data: the MAC1, cookie and token keys. */
static void derive(uint8_t out[32], const uint8_t *key, size_t key_len,
		   const char *label, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, key_len, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, out, 32);
}

/* Keyed BLAKE2b-128 of the off bytes before p + off, written there. */
static void put_mac(uint8_t *p, size_t off, const uint8_t *key,
		    size_t key_len)
{
	crypto_generichash(p + off, 16, p, off, key, key_len);
}

static bool mac_right(const uint8_t *p, size_t off, const uint8_t *key,
		      size_t key_len)
{
	uint8_t want[16];

	crypto_generichash(want, sizeof(want), p, off, key, key_len);
	return !memcmp(want, p + off, 16);
}

/* The token key of a BINDING's token: protocol.md, "BINDING". */
static void token_key(uint8_t key[32], const uint8_t *token)
{
	derive(key, token_dh, sizeof(token_dh), "shoal udp token", token, 16);
}

/*
 * Seals the cookie in reply (the 16 bytes at REPLY_SEALED) under the
 * reply's nonce, as the answer to init.
 */
static void seal_reply(uint8_t reply[REPLY_LEN], const uint8_t *init)
{
	uint8_t cookie[16];

	memcpy(cookie, reply + REPLY_SEALED, sizeof(cookie));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		reply + REPLY_SEALED, NULL, cookie, sizeof(cookie),
		init + INIT_MAC1, 16, NULL, reply + REPLY_NONCE, cookie_key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t zero[32];
	uint8_t key[32], out[SHOAL_CTL_MAX_LEN];
	size_t i;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	derive(mac1_key, NULL, 0, "shoal mac1 v1", receiver_pub, 32);
	derive(cookie_key, NULL, 0, "shoal cookie v2", receiver_pub, 32);
	shoal_ctl_mac1_key(key, receiver_pub);
	check(!memcmp(key, mac1_key, 32));
	shoal_ctl_cookie_key(key, receiver_pub);
	check(!memcmp(key, cookie_key, 32));
	/* Both ends of the token key get the same Diffie-Hellman. */
	crypto_scalarmult_base(client_pub, client_priv);
	crypto_scalarmult_base(mediator_pub, mediator_priv);
	check(!crypto_scalarmult(token_dh, client_priv, mediator_pub) &&
	      !crypto_scalarmult(key, mediator_priv, client_pub) &&
	      !memcmp(key, token_dh, 32));
	/* A public key of low order (zero) gives no token key. */
	check(shoal_ctl_token_key(key, client_priv, zero, fuzz_cookie) < 0);

	/* SPI 0x100, a pattern for Noise, MAC1, no MAC2 (mkcorpus.py's). */
	sent_init[0] = SHOAL_CTL_INIT;
	sent_init[1] = VERSION;
	sent_init[6] = 0x01;
	for (i = 0; i < 112; i++)
		sent_init[8 + i] = (uint8_t)(1 + 7 * i);
	put_mac(sent_init, INIT_MAC1, mac1_key, 32);
	check(shoal_ctl_write_init(out, sizeof(out), 0x100, sent_init + 8,
				   mac1_key) == INIT_LEN &&
	      !memcmp(out, sent_init, INIT_LEN));

	/*
	 * What no input changes: writers refuse a buffer one byte short
	 * (those whose input a parser gives are tried on every input), and
	 * a type not theirs.
	 */
	check(shoal_ctl_write_response(out, SHOAL_CTL_RESPONSE_LEN - 1, 1, 2,
				       sent_init, mac1_key) < 0);
	check(shoal_ctl_write_confirm(out, SHOAL_CTL_CONFIRM_LEN - 1, 1, 2,
				      session_key) < 0);
	check(shoal_ctl_write_ping(out, SHOAL_CTL_PING_LEN - 1,
				   SHOAL_CTL_PING, 1, 2, session_key) < 0);
	check(shoal_ctl_write_ping(out, sizeof(out), SHOAL_CTL_CONFIRM, 1, 2,
				   session_key) < 0);
	check(shoal_ctl_write_relay(out, sizeof(out), SHOAL_CTL_PING, 1, 2,
				    NULL, relay_key) < 0);
	return 0;
}

/* The protocol's lengths, by type (0: not a peer-to-peer type). */
static size_t peer_len(uint8_t type)
{
	static const size_t len[] = { 0, 152, 80, 28, 32, 32, 64 };

	return type < sizeof(len) / sizeof(len[0]) ? len[type] : 0;
}

/* The relay messages' lengths, by type (0: not one of them). */
static size_t relay_len(uint8_t type)
{
	switch (type) {
	case SHOAL_CTL_RELAY_BIND:
	case SHOAL_CTL_RELAY_CHALLENGE:
		return 48;
	case SHOAL_CTL_RELAY_BOUND:
		return 32;
	}
	return 0;
}

static bool header_right(const uint8_t *p, size_t len, uint8_t type,
			 size_t want)
{
	return len == want && p[0] == type && p[1] == VERSION && !p[2] &&
	       !p[3];
}

/*
 * Opens reply (len bytes, anything) as the answer to init, with the codec
 * and with the model, which must agree: the right header and length, the
 * INIT's SPI, and the cookie sealed for that INIT's MAC1.  One that opens
 * is exactly that: sealed again under its nonce, it gives its own bytes.
 */
static void check_open(const uint8_t *reply, size_t len, const uint8_t *init)
{
	uint8_t got[16], want[16], again[REPLY_LEN];
	bool model;

	model = header_right(reply, len, SHOAL_CTL_COOKIE_REPLY, REPLY_LEN) &&
		!memcmp(reply + 4, init + 4, 4) &&
		!crypto_aead_xchacha20poly1305_ietf_decrypt(
			want, NULL, NULL, reply + REPLY_SEALED, 32,
			init + INIT_MAC1, 16, reply + REPLY_NONCE, cookie_key);
	if (shoal_ctl_open_cookie_reply(got, reply, len, init,
					cookie_key) < 0) {
		check(!model);
		return;
	}
	check(model && !memcmp(got, want, 16));
	memcpy(again, reply, REPLY_SEALED);
	memcpy(again + REPLY_SEALED, got, 16);
	seal_reply(again, init);
	check(!memcmp(again, reply, REPLY_LEN));
}

/*
 * The COOKIE_REPLY the codec writes to init: the header, the INIT's SPI,
 * a fresh nonce each time, and a seal that opens to cookie for that INIT
 * and under the responder's key only.
 */
static void check_cookie_reply(const uint8_t *init, const uint8_t *cookie)
{
	uint8_t reply[REPLY_LEN], other[REPLY_LEN], got[16];
	uint8_t init2[INIT_LEN], key2[32];
	struct shoal_ctl m;

	check(shoal_ctl_write_cookie_reply(reply, REPLY_LEN - 1, init, cookie,
					   cookie_key) < 0);
	check(shoal_ctl_write_cookie_reply(reply, sizeof(reply), init, cookie,
					   cookie_key) == REPLY_LEN);
	check(header_right(reply, REPLY_LEN, SHOAL_CTL_COOKIE_REPLY,
			   REPLY_LEN) && !memcmp(reply + 4, init + 4, 4));
	check(!shoal_ctl_parse(&m, reply, REPLY_LEN, mac1_key) &&
	      m.type == SHOAL_CTL_COOKIE_REPLY &&
	      m.receiver_spi == be32(init + 4));
	check(!shoal_ctl_open_cookie_reply(got, reply, REPLY_LEN, init,
					   cookie_key) &&
	      !memcmp(got, cookie, 16));
	check_open(reply, REPLY_LEN, init);
	/* Random nonces: a replayed reply is told from a new one. */
	check(shoal_ctl_write_cookie_reply(other, sizeof(other), init, cookie,
					   cookie_key) == REPLY_LEN &&
	      memcmp(other + REPLY_NONCE, reply + REPLY_NONCE, 24));

	/* MAC2 is not MAC1: the INIT sent again with a cookie still fits. */
	memcpy(init2, init, INIT_LEN);
	shoal_ctl_init_mac2(init2, cookie);
	check(!shoal_ctl_open_cookie_reply(got, reply, REPLY_LEN, init2,
					   cookie_key));
	/* Another MAC1 or another SPI is another INIT. */
	init2[INIT_MAC1 + cookie[0] % 16] ^= 1;
	check(shoal_ctl_open_cookie_reply(got, reply, REPLY_LEN, init2,
					  cookie_key) < 0);
	memcpy(init2, init, INIT_LEN);
	init2[4 + cookie[0] % 4] ^= 0x80;
	check(shoal_ctl_open_cookie_reply(got, reply, REPLY_LEN, init2,
					  cookie_key) < 0);
	/* Another responder's key. */
	memcpy(key2, cookie_key, 32);
	key2[cookie[1] % 32] ^= 1;
	check(shoal_ctl_open_cookie_reply(got, reply, REPLY_LEN, init,
					  key2) < 0);
}

/* Makes a packet of its type's length authentic (SEAL). */
static void seal_ctl(uint8_t *p, size_t len)
{
	if (len < 4 || len != peer_len(p[0]))
		return;
	switch (p[0]) {
	case SHOAL_CTL_INIT:
		put_mac(p, INIT_MAC1, mac1_key, 32);
		put_mac(p, INIT_MAC2, fuzz_cookie, 16);
		break;
	case SHOAL_CTL_RESPONSE:
		put_mac(p, RESPONSE_MAC1, mac1_key, 32);
		break;
	case SHOAL_CTL_COOKIE_REPLY:
		seal_reply(p, sent_init);
		break;
	default:
		put_mac(p, len - 16, session_key, 32);
		break;
	}
}

/* The INIT the parser took: written again, its MAC2 and cookie replies. */
static void check_init(const uint8_t *p, const struct shoal_ctl *m,
		       bool seal)
{
	uint8_t out[INIT_LEN + 1];
	struct shoal_ctl again;
	bool mac2;

	check(m->sender_spi == be32(p + 4) && !m->receiver_spi &&
	      m->noise == p + 8 && m->noise_len == SHOAL_CTL_NOISE1_LEN);
	check(shoal_ctl_write_init(out, INIT_LEN - 1, m->sender_spi, m->noise,
				   mac1_key) < 0);
	check(shoal_ctl_write_init(out, sizeof(out), m->sender_spi, m->noise,
				   mac1_key) == INIT_LEN);
	/* Written without a cookie: MAC2 zero, the rest the same. */
	check(!memcmp(out, p, INIT_MAC2) && is_zero(out + INIT_MAC2, 16));
	check(is_zero(p + INIT_MAC2, 16) == !memcmp(out, p, INIT_LEN));
	check(shoal_ctl_init_mac2_ok(out, fuzz_cookie) ==
	      mac_right(out, INIT_MAC2, fuzz_cookie, 16));

	mac2 = mac_right(p, INIT_MAC2, fuzz_cookie, 16);
	check(shoal_ctl_init_mac2_ok(p, fuzz_cookie) == mac2);
	shoal_ctl_init_mac2(out, fuzz_cookie);
	check(shoal_ctl_init_mac2_ok(out, fuzz_cookie) &&
	      !memcmp(out, p, INIT_MAC2));
	check(mac2 == !memcmp(out, p, INIT_LEN));
	if (seal)
		check(mac2);
	/* MAC2 leaves MAC1 alone: the parser still takes it. */
	check(!shoal_ctl_parse(&again, out, INIT_LEN, mac1_key) &&
	      again.sender_spi == m->sender_spi);
	shoal_ctl_init_mac2(out, NULL);
	check(is_zero(out + INIT_MAC2, 16) && !memcmp(out, p, INIT_MAC2));

	check_cookie_reply(p, fuzz_cookie);
}

static void fuzz_ctl(uint8_t *p, size_t len, bool seal)
{
	uint8_t out[SHOAL_CTL_MAX_LEN];
	struct shoal_ctl m;
	bool model;
	int n;

	if (seal)
		seal_ctl(p, len);
	/* Only INIT and RESPONSE have their MAC checked by the parser. */
	model = len >= 4 && peer_len(p[0]) &&
		header_right(p, len, p[0], peer_len(p[0]));
	if (model && p[0] == SHOAL_CTL_INIT)
		model = mac_right(p, INIT_MAC1, mac1_key, 32);
	else if (model && p[0] == SHOAL_CTL_RESPONSE)
		model = mac_right(p, RESPONSE_MAC1, mac1_key, 32);
	/* Whatever the bytes, they open only as sent_init's answer. */
	check_open(p, len, sent_init);
	check(shoal_ctl_session_verify(p, len, session_key) ==
	      (len > 16 && mac_right(p, len - 16, session_key, 32)));
	if (shoal_ctl_parse(&m, p, len, mac1_key) < 0) {
		check(!model);
		return;
	}
	check(model && m.type == p[0]);
	switch (m.type) {
	case SHOAL_CTL_INIT:
		check_init(p, &m, seal);
		return;
	case SHOAL_CTL_COOKIE_REPLY:
		/* Nothing to write again: check_open above was its test. */
		check(m.receiver_spi == be32(p + 4) && !m.sender_spi &&
		      !m.ping_id && !m.noise && !m.noise_len);
		return;
	case SHOAL_CTL_RESPONSE:
		check(m.sender_spi == be32(p + 4) &&
		      m.receiver_spi == be32(p + 8) && m.noise == p + 12 &&
		      m.noise_len == SHOAL_CTL_NOISE2_LEN);
		n = shoal_ctl_write_response(out, sizeof(out), m.sender_spi,
					     m.receiver_spi, m.noise,
					     mac1_key);
		break;
	case SHOAL_CTL_CONFIRM:
		check(m.sender_spi == be32(p + 4) &&
		      m.receiver_spi == be32(p + 8) && !m.noise);
		n = shoal_ctl_write_confirm(out, sizeof(out), m.sender_spi,
					    m.receiver_spi, session_key);
		break;
	default:
		check(m.receiver_spi == be32(p + 4) &&
		      m.ping_id == be64(p + 8) && !m.noise);
		n = shoal_ctl_write_ping(out, sizeof(out), m.type,
					 m.receiver_spi, m.ping_id,
					 session_key);
		break;
	}
	check(n >= 0 && (size_t)n == len);
	/* Everything before the MAC is the same; the MAC too where keyed alike. */
	check(!memcmp(out, p, len - 16));
	if (m.type == SHOAL_CTL_RESPONSE) {
		check(!memcmp(out, p, len));
	} else {
		check(shoal_ctl_session_verify(p, len, session_key) ==
		      !memcmp(out, p, len));
		check(shoal_ctl_session_verify(out, len, session_key));
		if (seal)
			check(!memcmp(out, p, len));
	}
}

static void fuzz_binding(uint8_t *p, size_t len, bool seal)
{
	uint8_t out[BINDING_LEN], key[32], codec_key[32];
	struct shoal_ctl_binding b, again;
	bool model, anonymous;

	/* A BINDING's key is its token's, so any input has one. */
	token_key(key, len >= BINDING_LEN ? p + BINDING_TOKEN : fuzz_cookie);
	anonymous = len == BINDING_LEN && is_zero(p + BINDING_TOKEN, 16);
	if (seal && len == BINDING_LEN && !anonymous)
		put_mac(p, BINDING_MAC, key, 32);
	/* Anonymous: zeros from the token on; a token: anything. */
	model = header_right(p, len, SHOAL_CTL_BINDING, BINDING_LEN) &&
		!(p[4] & ~0x03) && !p[5] && !p[6] && !p[7] &&
		(!anonymous || is_zero(p + BINDING_TOKEN, BINDING_LEN -
				       BINDING_TOKEN));
	/* The MAC verifies whatever else the packet holds. */
	check(shoal_ctl_binding_verify(p, len, key) ==
	      (len == BINDING_LEN && mac_right(p, BINDING_MAC, key, 32)));
	if (shoal_ctl_parse_binding(&b, p, len) < 0) {
		check(!model);
		return;
	}
	check(model && b.flags == p[4] && !memcmp(b.txid, p + 8, 12) &&
	      !memcmp(b.token, p + BINDING_TOKEN, 16) &&
	      b.counter == be64(p + BINDING_COUNTER));
	check(shoal_ctl_write_binding(out, BINDING_LEN - 1, &b, key) < 0);
	/* Without a key the writer makes an anonymous one, whatever b says. */
	check(shoal_ctl_write_binding(out, sizeof(out), &b, NULL) ==
	      BINDING_LEN && !memcmp(out, p, BINDING_TOKEN) &&
	      is_zero(out + BINDING_TOKEN, BINDING_LEN - BINDING_TOKEN));
	check(!shoal_ctl_parse_binding(&again, out, BINDING_LEN) &&
	      again.flags == b.flags && !memcmp(again.txid, b.txid, 12) &&
	      is_zero(again.token, 16) && !again.counter);
	if (anonymous) {
		check(!memcmp(out, p, BINDING_LEN));
		return;
	}
	/* Client and mediator compute the one key the model does. */
	check(!shoal_ctl_token_key(codec_key, client_priv, mediator_pub,
				   b.token) &&
	      !memcmp(codec_key, key, 32));
	check(!shoal_ctl_token_key(codec_key, mediator_priv, client_pub,
				   b.token) &&
	      !memcmp(codec_key, key, 32));
	check(shoal_ctl_write_binding(out, sizeof(out), &b, key) ==
	      BINDING_LEN && !memcmp(out, p, BINDING_MAC));
	check(shoal_ctl_binding_verify(out, BINDING_LEN, key));
	check(shoal_ctl_binding_verify(p, len, key) ==
	      !memcmp(out, p, BINDING_LEN));
	if (seal)
		check(!memcmp(out, p, BINDING_LEN));
}

static void fuzz_binding_reply(const uint8_t *p, size_t len)
{
	static const uint8_t zero[12];
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t out[BINDING_REPLY_LEN];
	struct shoal_ctl_binding_reply r, again;
	bool model;
	int n;

	model = header_right(p, len, SHOAL_CTL_BINDING_REPLY,
			     BINDING_REPLY_LEN) &&
		((p[4] == 4 && !memcmp(p + 12, zero, 12)) || p[4] == 6);
	if (shoal_ctl_parse_binding_reply(&r, p, len) < 0) {
		check(!model);
		return;
	}
	check(model && r.flags == p[5] && !memcmp(r.txid, p + 24, 12));
	if (p[4] == 4)
		check(r.mapped.sa.sa_family == AF_INET &&
		      r.mapped.len == sizeof(struct sockaddr_in) &&
		      !memcmp(&r.mapped.in.sin_addr, p + 8, 4) &&
		      ntohs(r.mapped.in.sin_port) == (p[6] << 8 | p[7]));
	else
		check(r.mapped.sa.sa_family == AF_INET6 &&
		      r.mapped.len == sizeof(struct sockaddr_in6) &&
		      !memcmp(&r.mapped.in6.sin6_addr, p + 8, 16) &&
		      ntohs(r.mapped.in6.sin6_port) == (p[6] << 8 | p[7]));
	check(shoal_ctl_write_binding_reply(out, BINDING_REPLY_LEN - 1,
					    &r) < 0);
	n = shoal_ctl_write_binding_reply(out, sizeof(out), &r);
	check(n == BINDING_REPLY_LEN);
	/*
	 * One encoding per endpoint, but for one the parser takes and the
	 * writer never makes: family 6 holding a v4-mapped address, written
	 * back as family 4 (an IPv4 client on a dual-stack socket).  The
	 * second parse then gives the same endpoint as IPv4.
	 */
	if (p[4] == 6 && !memcmp(p + 8, v4mapped, 12)) {
		check(out[4] == 4 && !memcmp(out + 8, p + 20, 4) &&
		      !memcmp(out + 12, zero, 12) && !memcmp(out, p, 4) &&
		      !memcmp(out + 5, p + 5, 3) && !memcmp(out + 24, p + 24, 12));
		check(shoal_ctl_parse_binding_reply(&again, out,
						    BINDING_REPLY_LEN) == 0 &&
		      again.mapped.sa.sa_family == AF_INET);
		return;
	}
	check(!memcmp(out, p, BINDING_REPLY_LEN));
}

/*
 * RELAY_BIND, RELAY_CHALLENGE and RELAY_BOUND: relay_id, counter, the
 * cookie in the first two, and a MAC under the relay key over the rest.
 */
static void fuzz_relay(uint8_t *p, size_t len, enum shoal_ctl_type type,
		       bool seal)
{
	static const enum shoal_ctl_type types[] = {
		SHOAL_CTL_RELAY_BIND, SHOAL_CTL_RELAY_CHALLENGE,
		SHOAL_CTL_RELAY_BOUND,
	};
	size_t want = relay_len((uint8_t)type), i;
	uint8_t out[48 + 1], cookie[16];
	uint64_t counter, counter2;
	uint32_t id, id2;
	bool model;

	if (seal && len == want)
		put_mac(p, len - 16, relay_key, 32);
	model = header_right(p, len, (uint8_t)type, want);
	/* The MAC of a relay message's length verifies, whatever its header. */
	check(shoal_ctl_relay_verify(p, len, relay_key) ==
	      (len >= 4 && relay_len(p[0]) == len &&
	       mac_right(p, len - 16, relay_key, 32)));
	/* A RELAY_BOUND has no cookie: the parser gives zero. */
	memset(cookie, 0xa5, sizeof(cookie));
	if (shoal_ctl_parse_relay(p, len, type, &id, &counter, cookie) < 0) {
		check(!model);
		check(shoal_ctl_parse_relay(p, len, type, &id, &counter,
					    NULL) < 0);
		return;
	}
	check(model && id == be32(p + 4) && counter == be64(p + 8));
	check(want == 48 ? !memcmp(cookie, p + 16, 16) : is_zero(cookie, 16));
	check(!shoal_ctl_parse_relay(p, len, type, &id2, &counter2, NULL) &&
	      id2 == id && counter2 == counter);
	check(shoal_ctl_write_relay(out, want - 1, type, id, counter, cookie,
				    relay_key) < 0);
	check(shoal_ctl_write_relay(out, sizeof(out), type, id, counter,
				    cookie, relay_key) == (int)want &&
	      !memcmp(out, p, want - 16));
	check(shoal_ctl_relay_verify(p, len, relay_key) ==
	      !memcmp(out, p, want));
	if (seal)
		check(!memcmp(out, p, want));
	/* No cookie writes a zero one, and RELAY_BOUND takes none. */
	if (want == 32 || is_zero(cookie, 16)) {
		check(shoal_ctl_write_relay(out, sizeof(out), type, id,
					    counter, NULL, relay_key) ==
		      (int)want && !memcmp(out, p, want - 16));
		check(shoal_ctl_write_relay(out, sizeof(out), type, id,
					    counter, fuzz_cookie, relay_key) ==
		      (int)want && (want == 32) == !memcmp(out, p, want - 16));
	}
	/* The other two types are other packets, and others are none. */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i] != type)
			check(shoal_ctl_parse_relay(p, len, types[i], &id,
						    &counter, cookie) < 0);
	check(shoal_ctl_parse_relay(p, len, SHOAL_CTL_BINDING, &id, &counter,
				    cookie) < 0);
}

/* Opening what came back (anything) as the answer to the INIT we sent. */
static void fuzz_cookie_reply(uint8_t *p, size_t len, bool seal)
{
	uint8_t *reply = p + INIT_LEN, cookie[16];
	size_t reply_len;

	if (len < INIT_LEN)
		return;
	reply_len = len - INIT_LEN;
	if (seal && reply_len == REPLY_LEN)
		seal_reply(reply, p);
	check_open(reply, reply_len, p);
	/* Answering that INIT ourselves, with a cookie of the input's. */
	if (shoal_ctl_open_cookie_reply(cookie, reply, reply_len, p,
					cookie_key) < 0)
		memcpy(cookie, p + 8, sizeof(cookie));
	check_cookie_reply(p, cookie);
}

/*
 * The cookie of a source (family 4 or 6, 16 bytes of address of which
 * IPv4 uses the first four, the port): keyed BLAKE2b-128 of its address
 * as IPv6 (IPv4 v4-mapped) and its port, whichever socket saw it.
 */
static void fuzz_source_cookie(const uint8_t *p, size_t len)
{
	uint8_t src[18] = { [10] = 0xff, [11] = 0xff };
	uint8_t want[16], got[16];
	struct shoal_endpoint from;

	if (len != 19 || (p[0] != 4 && p[0] != 6))
		return;
	memset(&from, 0, sizeof(from));
	if (p[0] == 4) {
		memcpy(src + 12, p + 1, 4);
		from.in.sin_family = AF_INET;
		memcpy(&from.in.sin_addr, p + 1, 4);
		memcpy(&from.in.sin_port, p + 17, 2);
		from.len = sizeof(from.in);
	} else {
		memcpy(src, p + 1, 16);
		from.in6.sin6_family = AF_INET6;
		memcpy(&from.in6.sin6_addr, p + 1, 16);
		memcpy(&from.in6.sin6_port, p + 17, 2);
		from.len = sizeof(from.in6);
	}
	memcpy(src + 16, p + 17, 2);
	crypto_generichash(want, sizeof(want), src, sizeof(src),
			   cookie_secret, sizeof(cookie_secret));
	shoal_ctl_cookie(got, cookie_secret, &from);
	check(!memcmp(got, want, 16));
	if (p[0] != 4)
		return;
	/* The same IPv4 source on a dual-stack socket: one cookie. */
	memset(&from, 0, sizeof(from));
	from.in6.sin6_family = AF_INET6;
	memcpy(&from.in6.sin6_addr, src, 16);
	memcpy(&from.in6.sin6_port, p + 17, 2);
	from.len = sizeof(from.in6);
	shoal_ctl_cookie(got, cookie_secret, &from);
	check(!memcmp(got, want, 16));
}

/* The Noise payloads: SPI (and timestamp) in, the same out. */
static void fuzz_payloads(const uint8_t *p, size_t len)
{
	uint8_t init[SHOAL_CTL_INIT_PAYLOAD_LEN];
	uint8_t resp[SHOAL_CTL_RESPONSE_PAYLOAD_LEN];

	if (len < SHOAL_CTL_INIT_PAYLOAD_LEN)
		return;
	shoal_ctl_init_payload(init, be32(p), p + 4);
	check(!memcmp(init, p, sizeof(init)) &&
	      shoal_ctl_payload_spi(init) == be32(p));
	shoal_ctl_response_payload(resp, be32(p));
	check(!memcmp(resp, p, sizeof(resp)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	bool seal;
	size_t len;

	/* Every input is far shorter; longer ones are only refused. */
	if (size < 1 || size - 1 > 256)
		return 0;
	/*
	 * A copy of the input's exact size (SEAL writes to it): ASan then
	 * catches a read past the packet, which a larger buffer would hide.
	 */
	len = size - 1;
	buf = malloc(len);
	if (!buf)
		return 0;
	if (len)
		memcpy(buf, data + 1, len);
	seal = data[0] & SEAL;
	switch ((data[0] & 0x7f) % OP_COUNT) {
	case OP_CTL:
		fuzz_ctl(buf, len, seal);
		break;
	case OP_BINDING:
		fuzz_binding(buf, len, seal);
		break;
	case OP_BINDING_REPLY:
		fuzz_binding_reply(buf, len);
		break;
	case OP_RELAY_BIND:
		fuzz_relay(buf, len, SHOAL_CTL_RELAY_BIND, seal);
		break;
	case OP_RELAY_BOUND:
		fuzz_relay(buf, len, SHOAL_CTL_RELAY_BOUND, seal);
		break;
	case OP_PAYLOADS:
		fuzz_payloads(buf, len);
		break;
	case OP_RELAY_CHALLENGE:
		fuzz_relay(buf, len, SHOAL_CTL_RELAY_CHALLENGE, seal);
		break;
	case OP_COOKIE_REPLY:
		fuzz_cookie_reply(buf, len, seal);
		break;
	case OP_SOURCE_COOKIE:
		fuzz_source_cookie(buf, len);
		break;
	}
	free(buf);
	return 0;
}
