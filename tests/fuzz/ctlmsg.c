// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control packets' codec (lib/ctlmsg.c): every
 * parse function, each against a model of docs/protocol.md written here
 * independently of the parser (lengths, header, reserved bytes, MACs),
 * and everything a parser accepts written again by the matching writer,
 * which must give back the very bytes.
 *
 * Input: one selector byte, then the packet.  Its low three bits pick the
 * parser; with 0x80 set the target first puts the right MAC into the
 * packet (MAC1 under the receiver's key for INIT and RESPONSE, the
 * session key's for CONFIRM, PING and PONG, the relay key's for
 * RELAY_BIND and RELAY_BOUND), so that the fuzzer gets past the MAC and
 * on to the fields behind it.
 */
#include <string.h>

#include <sodium.h>

#include "ctlmsg.h"
#include "fuzz.h"

enum { OP_CTL, OP_BINDING, OP_BINDING_REPLY, OP_RELAY_BIND, OP_RELAY_BOUND,
       OP_PAYLOADS, OP_COUNT };

#define SEAL 0x80

/* The receiver's static public key, the session's and the relay's keys. */
static const uint8_t receiver_pub[32] = {
	0x8f, 0x40, 0xc5, 0xad, 0xb6, 0x8f, 0x25, 0x62, 0x4a, 0xe5, 0xb2,
	0x14, 0xea, 0x76, 0x7a, 0x6e, 0xc9, 0x4d, 0x82, 0x9d, 0x3d, 0x7b,
	0x5e, 0x1a, 0xd1, 0xba, 0x6f, 0x3e, 0x21, 0x38, 0x28, 0x5f,
};
static uint8_t mac1_key[SHOAL_CTL_KEY_LEN];
static const uint8_t session_key[SHOAL_CTL_KEY_LEN] = "fuzz: the session's control key";
static const uint8_t relay_key[SHOAL_CTL_RELAY_KEY_LEN] = "fuzz: the relay key of one side";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	shoal_ctl_mac1_key(mac1_key, receiver_pub);
	return 0;
}

/* Keyed BLAKE2b-128 of everything before the last 16 bytes (protocol.md). */
static void put_mac(uint8_t *p, size_t len, const uint8_t key[32])
{
	crypto_generichash(p + len - 16, 16, p, len - 16, key, 32);
}

static bool mac_right(const uint8_t *p, size_t len, const uint8_t key[32])
{
	uint8_t want[16];

	crypto_generichash(want, sizeof(want), p, len - 16, key, 32);
	return !memcmp(want, p + len - 16, 16);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The protocol's lengths, by type (0: not a peer-to-peer type). */
static size_t peer_len(uint8_t type)
{
	static const size_t len[] = { 0, 136, 80, 28, 32, 32 };

	return type < sizeof(len) / sizeof(len[0]) ? len[type] : 0;
}

static bool header_right(const uint8_t *p, size_t len, uint8_t type,
			 size_t want)
{
	return len == want && p[0] == type && p[1] == 1 && !p[2] && !p[3];
}

static void fuzz_ctl(uint8_t *p, size_t len, bool seal)
{
	uint8_t out[SHOAL_CTL_MAX_LEN];
	struct shoal_ctl m;
	bool model;
	int n;

	if (seal && len >= 20) {
		if (p[0] == SHOAL_CTL_INIT || p[0] == SHOAL_CTL_RESPONSE)
			put_mac(p, len, mac1_key);
		else
			put_mac(p, len, session_key);
	}
	/* Only INIT and RESPONSE have their MAC checked by the parser. */
	model = len >= 4 && peer_len(p[0]) &&
		header_right(p, len, p[0], peer_len(p[0])) &&
		(p[0] > SHOAL_CTL_RESPONSE || mac_right(p, len, mac1_key));
	if (shoal_ctl_parse(&m, p, len, mac1_key) < 0) {
		check(!model);
		return;
	}
	check(model && m.type == p[0]);
	switch (m.type) {
	case SHOAL_CTL_INIT:
		check(m.sender_spi == be32(p + 4) && m.noise == p + 8 &&
		      m.noise_len == SHOAL_CTL_NOISE1_LEN);
		n = shoal_ctl_write_init(out, sizeof(out), m.sender_spi,
					 m.noise, mac1_key);
		break;
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
	if (m.type <= SHOAL_CTL_RESPONSE) {
		check(!memcmp(out, p, len));
	} else {
		check(shoal_ctl_session_verify(p, len, session_key) ==
		      !memcmp(out, p, len));
		check(shoal_ctl_session_verify(out, len, session_key));
		if (seal)
			check(!memcmp(out, p, len));
	}
	/* A writer refuses a buffer one byte short. */
	check(shoal_ctl_write_confirm(out, SHOAL_CTL_CONFIRM_LEN - 1, 1, 2,
				      session_key) < 0);
}

static void fuzz_binding(const uint8_t *p, size_t len)
{
	uint8_t out[SHOAL_CTL_BINDING_LEN];
	struct shoal_ctl_binding b;
	bool model;

	model = len >= 8 && header_right(p, len, SHOAL_CTL_BINDING, 36) &&
		!(p[4] & ~0x03) && !p[5] && !p[6] && !p[7];
	if (shoal_ctl_parse_binding(&b, p, len) < 0) {
		check(!model);
		return;
	}
	check(model && b.flags == p[4] && !memcmp(b.txid, p + 8, 12) &&
	      !memcmp(b.token, p + 20, 16));
	check(shoal_ctl_write_binding(out, sizeof(out), &b) == 36 &&
	      !memcmp(out, p, 36));
}

static void fuzz_binding_reply(const uint8_t *p, size_t len)
{
	static const uint8_t zero[12];
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t out[SHOAL_CTL_BINDING_REPLY_LEN];
	struct shoal_ctl_binding_reply r, again;
	bool model;
	int n;

	model = len >= 24 &&
		header_right(p, len, SHOAL_CTL_BINDING_REPLY, 36) &&
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
	n = shoal_ctl_write_binding_reply(out, sizeof(out), &r);
	check(n == 36);
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
		check(shoal_ctl_parse_binding_reply(&again, out, 36) == 0 &&
		      again.mapped.sa.sa_family == AF_INET);
		return;
	}
	check(!memcmp(out, p, 36));
}

static void fuzz_relay(uint8_t *p, size_t len, enum shoal_ctl_type type,
		       bool seal)
{
	uint8_t out[SHOAL_CTL_RELAY_BIND_LEN];
	uint64_t counter;
	uint32_t id;
	bool model;

	if (seal && len == SHOAL_CTL_RELAY_BIND_LEN)
		put_mac(p, len, relay_key);
	model = len >= 4 && header_right(p, len, type, 32);
	if (shoal_ctl_parse_relay(p, len, type, &id, &counter) < 0) {
		check(!model);
		/* Nor does the MAC of a packet of another length verify. */
		if (len != SHOAL_CTL_RELAY_BIND_LEN)
			check(!shoal_ctl_relay_verify(p, len, relay_key));
		return;
	}
	check(model && id == be32(p + 4) && counter == be64(p + 8));
	check(shoal_ctl_write_relay(out, sizeof(out), type, id, counter,
				    relay_key) == 32 && !memcmp(out, p, 16));
	check(shoal_ctl_relay_verify(p, len, relay_key) ==
	      !memcmp(out, p, 32));
	if (seal)
		check(!memcmp(out, p, 32));
	/* The other direction's type is another packet. */
	check(shoal_ctl_parse_relay(p, len, type == SHOAL_CTL_RELAY_BIND ?
				    SHOAL_CTL_RELAY_BOUND :
				    SHOAL_CTL_RELAY_BIND, &id, &counter) < 0);
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
	uint8_t buf[256];
	bool seal;
	size_t len;

	/* Every packet is far shorter; longer ones are only refused. */
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	len = size - 1;
	memcpy(buf, data + 1, len);
	seal = data[0] & SEAL;
	switch ((data[0] & 0x7f) % OP_COUNT) {
	case OP_CTL:
		fuzz_ctl(buf, len, seal);
		break;
	case OP_BINDING:
		fuzz_binding(buf, len);
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
	}
	return 0;
}
