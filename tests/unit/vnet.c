// SPDX-License-Identifier: MIT
/*
 * The TAP datapath's TSO and checksum offload (lib/vnet.c): trains cut
 * into segments whose headers and checksums a receiver accepts, partial
 * checksums completed, and every header the frame does not bear out
 * refused with nothing passed on.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "kselftest_harness.h"

#include "be.h"
#include "vnet.h"

#define MAX_SEGS	8

struct seen {
	uint8_t f[MAX_SEGS][2048];
	size_t len[MAX_SEGS];
	int n;
};

static void record(void *ctx, const uint8_t *frame, size_t len)
{
	struct seen *s = ctx;

	if (s->n < MAX_SEGS && len <= sizeof(s->f[0])) {
		memcpy(s->f[s->n], frame, len);
		s->len[s->n] = len;
	}
	s->n++;
}

/* What a train looks like: tagged, IPv6, with a hop-by-hop header. */
struct shape {
	bool v6, vlan, hbh;
};

static size_t l3_of(struct shape sh)
{
	return sh.vlan ? 18 : 14;
}

static size_t l4_of(struct shape sh)
{
	return l3_of(sh) + (sh.v6 ? 40 + (sh.hbh ? 8 : 0) : 20);
}

/*
 * A train: Ethernet (VLAN 7), IPv4 (id 0x1234) or IPv6, TCP with 12
 * bytes of options (seq 0xffffff00: the segments' numbers wrap), payload
 * bytes i * 7.  Its length.
 */
static size_t train(uint8_t *f, struct shape sh, size_t payload,
		    uint8_t flags)
{
	size_t l3 = l3_of(sh), l4 = l4_of(sh), i;
	uint8_t *ip = f + l3;

	memset(f, 0, l4 + 32 + payload);
	memset(f, 0x02, 12);
	if (sh.vlan) {
		f[12] = 0x81;
		f[15] = 7;
	}
	f[l3 - 2] = sh.v6 ? 0x86 : 0x08;
	f[l3 - 1] = sh.v6 ? 0xdd : 0x00;
	if (sh.v6) {
		ip[0] = 0x60;
		ip[6] = sh.hbh ? 0 : IPPROTO_TCP;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
		if (sh.hbh) {
			ip[40] = IPPROTO_TCP;	/* length 0: 8 bytes, PadN */
			ip[42] = 1;
			ip[43] = 4;
		}
	} else {
		ip[0] = 0x45;
		ip[4] = 0x12;
		ip[5] = 0x34;
		ip[6] = 0x40;	/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	}
	f[l4 + 1] = 80;
	f[l4 + 3] = 81;
	memcpy(f + l4 + 4, (uint8_t[]){ 0xff, 0xff, 0xff, 0x00 }, 4);
	f[l4 + 12] = 8 << 4;
	f[l4 + 13] = flags;
	f[l4 + 20] = 1;	/* NOP NOP timestamp */
	f[l4 + 21] = 1;
	f[l4 + 22] = 8;
	f[l4 + 23] = 10;
	for (i = 0; i < payload; i++)
		f[l4 + 32 + i] = (uint8_t)(i * 7);
	return l4 + 32 + payload;
}

/* The receiver's check: the TCP segment and its pseudo-header sum to 0. */
static bool tcp_csum_ok(const uint8_t *f, size_t len, struct shape sh)
{
	size_t l3 = l3_of(sh), l4 = l4_of(sh), tcp_len = len - l4;
	uint32_t sum;

	if (sh.v6)
		sum = shoal_csum_add(0, f + l3 + 8, 32);
	else
		sum = shoal_csum_add(0, f + l3 + 12, 8);
	sum += IPPROTO_TCP + (uint32_t)tcp_len;
	sum = shoal_csum_add(sum, f + l4, tcp_len);
	return shoal_csum_fold(sum) == 0xffff;
}

TEST(rfc1071_example)
{
	/* RFC 1071 section 3's example: the folded sum is ddf2. */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	EXPECT_EQ(0xddf2, shoal_csum_fold(shoal_csum_add(0, b, sizeof(b))));
	/* An odd byte counts as the high half of a last word. */
	EXPECT_EQ(0xddf2 + 0x0100,
		  shoal_csum_fold(shoal_csum_add(0, (uint8_t[]){ 0x00, 0x01,
			0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x01 }, 9)));
}

/* The header the stack gives a train of that shape and MSS. */
static struct virtio_net_hdr train_hdr(struct shape sh, size_t mss)
{
	return (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = sh.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
				    VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = (uint16_t)mss,
	};
}

static void check_train(struct __test_metadata *_metadata, struct shape sh,
			size_t payload, size_t mss, int want)
{
	static uint8_t f[8192], scratch[2048];
	struct virtio_net_hdr h = train_hdr(sh, mss);
	size_t l3 = l3_of(sh), l4 = l4_of(sh), len, got = 0, seg;
	uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01; /* CWR ACK PSH FIN */
	struct seen s = { 0 };
	uint8_t *p;
	int i;

	len = train(f, sh, payload, flags);
	ASSERT_EQ(want, shoal_vnet_frames(&h, f, len, scratch,
					  sizeof(scratch), record, &s));
	ASSERT_EQ(want, s.n);
	for (i = 0; i < s.n; i++) {
		p = s.f[i];
		seg = s.len[i] - l4 - 32;
		EXPECT_EQ(i < want - 1 ? mss : payload - got, seg);
		/* Headers as the train's, but for what each segment is. */
		EXPECT_EQ(0, memcmp(p, f, l3));
		EXPECT_EQ(0, memcmp(p + l4 + 32, f + l4 + 32 + got, seg));
		EXPECT_EQ((uint32_t)(0xffffff00u + got), shoal_get_be32(p + l4 + 4));
		EXPECT_EQ(i == 0 ? 0x80 : 0, p[l4 + 13] & 0x80);
		EXPECT_EQ(i == want - 1 ? 0x09 : 0, p[l4 + 13] & 0x09);
		EXPECT_EQ(0x10, p[l4 + 13] & 0x10);
		EXPECT_EQ(0, memcmp(p + l4 + 18, f + l4 + 18, 14));
		if (sh.v6) {
			EXPECT_EQ(l4 - l3 - 40 + 32 + seg, shoal_get_be16(p + l3 + 4));
			EXPECT_EQ(0, memcmp(p + l3, f + l3, 4));
			EXPECT_EQ(0, memcmp(p + l3 + 6, f + l3 + 6, l4 - l3 - 6));
		} else {
			EXPECT_EQ(20 + 32 + seg, shoal_get_be16(p + l3 + 2));
			EXPECT_EQ(0x1234 + i, shoal_get_be16(p + l3 + 4));
			EXPECT_EQ(0xffff, shoal_csum_fold(
				shoal_csum_add(0, p + l3, 20)));
			EXPECT_EQ(0, memcmp(p + l3 + 6, f + l3 + 6, 4));
		}
		EXPECT_TRUE(tcp_csum_ok(p, s.len[i], sh));
		got += seg;
	}
	EXPECT_EQ(payload, got);
}

TEST(ipv4_train_in_three)
{
	check_train(_metadata, (struct shape){ 0 }, 3000, 1000, 3);
}

TEST(ipv4_train_with_a_short_last_segment)
{
	check_train(_metadata, (struct shape){ 0 }, 2501, 1200, 3);
}

TEST(ipv6_train)
{
	check_train(_metadata, (struct shape){ .v6 = true }, 4096, 1208, 4);
}

TEST(tagged_trains)
{
	check_train(_metadata, (struct shape){ .vlan = true }, 3000, 1400, 3);
	check_train(_metadata, (struct shape){ .v6 = true, .vlan = true },
		    3000, 1400, 3);
}

TEST(ipv6_train_with_hop_by_hop_options)
{
	check_train(_metadata, (struct shape){ .v6 = true, .hbh = true },
		    2000, 1000, 2);
}

TEST(one_segment_train)
{
	check_train(_metadata, (struct shape){ .v6 = true }, 700, 1200, 1);
}

TEST(train_without_payload_is_one_frame)
{
	check_train(_metadata, (struct shape){ 0 }, 0, 1200, 1);
}

/* A UDP datagram with the partial sum the stack leaves (pseudo-header). */
TEST(partial_checksum_completed)
{
	uint8_t f[14 + 20 + 8 + 31] = { 0 }, scratch[64];
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 34,
		.csum_offset = 6,
	};
	struct seen s = { 0 };
	uint32_t pseudo;
	size_t i;

	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = IPPROTO_UDP;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[35] = 53;
	f[37] = 53;
	f[39] = 8 + 31;
	for (i = 42; i < sizeof(f); i++)
		f[i] = (uint8_t)i;
	pseudo = shoal_csum_add(0, f + 26, 8) + IPPROTO_UDP + 8 + 31;
	f[40] = (uint8_t)(shoal_csum_fold(pseudo) >> 8);
	f[41] = (uint8_t)shoal_csum_fold(pseudo);
	ASSERT_EQ(1, shoal_vnet_frames(&h, f, sizeof(f), scratch,
				       sizeof(scratch), record, &s));
	ASSERT_EQ(1, s.n);
	/* The receiver's sum: pseudo-header and datagram, to 0xffff. */
	EXPECT_EQ(0xffff, shoal_csum_fold(shoal_csum_add(
		shoal_csum_add(0, f + 26, 8) + IPPROTO_UDP + 8 + 31, f + 34,
		8 + 31)));
	EXPECT_NE(0, shoal_get_be16(f + 40));
}

TEST(plain_frame_passes_untouched)
{
	uint8_t f[60], copy[60], scratch[64];
	struct virtio_net_hdr h = { 0 };
	struct seen s = { 0 };

	memset(f, 0xab, sizeof(f));
	memcpy(copy, f, sizeof(f));
	ASSERT_EQ(1, shoal_vnet_frames(&h, f, sizeof(f), scratch,
				       sizeof(scratch), record, &s));
	EXPECT_EQ(0, memcmp(f, copy, sizeof(f)));
	EXPECT_EQ(sizeof(f), s.len[0]);
}

/* refused(h, frame, len): -EINVAL and nothing passed on. */
static void refused(struct __test_metadata *_metadata,
		    const struct virtio_net_hdr *h, uint8_t *f, size_t len,
		    size_t scratch_size)
{
	static uint8_t scratch[70000];
	struct seen s = { 0 };

	ASSERT_LE(scratch_size, sizeof(scratch));
	EXPECT_EQ(-EINVAL, shoal_vnet_frames(h, f, len, scratch, scratch_size,
					     record, &s));
	EXPECT_EQ(0, s.n);
}

TEST(bad_trains_refused)
{
	static uint8_t f[4096];
	struct virtio_net_hdr h = {
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1000,
	};
	size_t len;

	len = train(f, (struct shape){ 0 }, 3000, 0x10);
	refused(_metadata, &h, f, 13, 2048);		/* no Ethernet header */
	refused(_metadata, &h, f, 14 + 19, 2048);	/* short IPv4 header */
	refused(_metadata, &h, f, 34 + 19, 2048);	/* short TCP header */
	refused(_metadata, &h, f, 34 + 31, 2048);	/* options cut */
	refused(_metadata, &h, f, len, 34 + 32 + 999);	/* scratch too small */
	h.gso_size = 0;
	refused(_metadata, &h, f, len, 2048);
	h.gso_size = 1000;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;		/* IPv4 inside */
	refused(_metadata, &h, f, len, 2048);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	refused(_metadata, &h, f, len, 2048);
	h.gso_type = 5;					/* UDP_L4 (USO), 6.2 on */
	refused(_metadata, &h, f, len, 2048);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	f[21] = 0x10;					/* a fragment */
	refused(_metadata, &h, f, len, 2048);
	f[21] = 0;
	f[23] = IPPROTO_UDP;				/* not TCP */
	refused(_metadata, &h, f, len, 2048);
	f[23] = IPPROTO_TCP;
	f[14] = 0x44;					/* IHL 16 bytes */
	refused(_metadata, &h, f, len, 2048);
	f[14] = 0x4f;					/* IHL past the frame */
	refused(_metadata, &h, f, 14 + 59, 2048);
	f[14] = 0x45;
	f[34 + 12] = 4 << 4;				/* TCP header 16 bytes */
	refused(_metadata, &h, f, len, 2048);
	f[34 + 12] = 8 << 4;
	f[12] = 0x86;					/* not IPv4 */
	refused(_metadata, &h, f, len, 2048);

	len = train(f, (struct shape){ .v6 = true }, 3000, 0x10);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	f[20] = 0;					/* hop-by-hop first */
	refused(_metadata, &h, f, len, 2048);
	f[20] = 43;					/* routing header */
	f[54] = IPPROTO_TCP;
	refused(_metadata, &h, f, len, 2048);
	f[20] = IPPROTO_TCP;
	f[14] = 0x40;					/* version 4 */
	refused(_metadata, &h, f, len, 2048);
	f[14] = 0x60;
	f[12] = 0x81;					/* VLAN, cut short */
	f[13] = 0x00;
	refused(_metadata, &h, f, 17, 2048);
}

/* A segment's IP length must fit 16 bits, whatever room scratch has. */
TEST(segments_past_16_bits_refused)
{
	static uint8_t f[70000], scratch[70000];
	struct virtio_net_hdr h = {
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 65535 - 20 - 32 + 1,
	};
	size_t len = train(f, (struct shape){ 0 }, 65535 - 20 - 32 + 1, 0x10);

	refused(_metadata, &h, f, len, sizeof(scratch));
	h.gso_size--;
	{
		struct seen s = { 0 };

		EXPECT_EQ(2, shoal_vnet_frames(&h, f, len, scratch,
					       sizeof(scratch), record, &s));
	}
}

TEST(bad_partial_checksums_refused)
{
	uint8_t f[64] = { 0 };
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };

	h.csum_start = 65;
	refused(_metadata, &h, f, sizeof(f), 2048);
	h.csum_start = 60;
	h.csum_offset = 3;				/* field past the end */
	refused(_metadata, &h, f, sizeof(f), 2048);
	h.csum_offset = 0xffff;				/* start + offset wraps? */
	h.csum_start = 0xffff;
	refused(_metadata, &h, f, sizeof(f), 2048);
	h.csum_start = 62;
	h.csum_offset = 0;				/* the last two bytes: fine */
	{
		struct seen s = { 0 };
		uint8_t scratch[8];

		EXPECT_EQ(1, shoal_vnet_frames(&h, f, sizeof(f), scratch,
					       sizeof(scratch), record, &s));
	}
}

/* ----- receive coalescing (shoal_gro_*) ----- */

#define MAX_WRITES	8

struct wrote {
	struct virtio_net_hdr h[MAX_WRITES];
	uint8_t f[MAX_WRITES][SHOAL_GRO_MAX];
	size_t len[MAX_WRITES];
	int n;
};

static void record_write(void *ctx, const struct virtio_net_hdr *h,
			 const uint8_t *frame, size_t len)
{
	struct wrote *w = ctx;

	if (w->n < MAX_WRITES && len <= sizeof(w->f[0])) {
		w->h[w->n] = *h;
		memcpy(w->f[w->n], frame, len);
		w->len[w->n] = len;
	}
	w->n++;
}

static struct shoal_gro gro;
static struct wrote wrote;
static struct seen cut, recut;

/* A train (ACK, PSH) cut into segments of mss, as the sender's TSO would. */
static void cut_train(struct __test_metadata *_metadata, struct shape sh,
		      size_t payload, size_t mss)
{
	static uint8_t f[8192], scratch[2048];
	struct virtio_net_hdr h = train_hdr(sh, mss);
	size_t len = train(f, sh, payload, 0x10 | 0x08);

	memset(&cut, 0, sizeof(cut));
	memset(&wrote, 0, sizeof(wrote));
	memset(&gro, 0, sizeof(gro));
	ASSERT_LT(0, shoal_vnet_frames(&h, f, len, scratch, sizeof(scratch),
				       record, &cut));
	ASSERT_GE(MAX_SEGS, cut.n);
}

/*
 * Merged, the segments are one frame that the kernel cuts (as
 * shoal_vnet_frames does here) into exactly the segments that came.
 */
static void check_round_trip(struct __test_metadata *_metadata,
			     struct shape sh, size_t payload, size_t mss)
{
	static uint8_t scratch[2048];
	int i;

	cut_train(_metadata, sh, payload, mss);
	for (i = 0; i < cut.n; i++)
		shoal_gro_add(&gro, cut.f[i], cut.len[i], record_write, &wrote);
	EXPECT_EQ(0, wrote.n);
	shoal_gro_flush(&gro, record_write, &wrote);
	ASSERT_EQ(1, wrote.n);
	EXPECT_EQ(sh.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		  wrote.h[0].gso_type);
	EXPECT_EQ(VIRTIO_NET_HDR_F_NEEDS_CSUM, wrote.h[0].flags);
	EXPECT_EQ(mss, wrote.h[0].gso_size);
	EXPECT_EQ(l4_of(sh), wrote.h[0].csum_start);
	EXPECT_EQ(16, wrote.h[0].csum_offset);
	EXPECT_EQ(l4_of(sh) + 32, wrote.h[0].hdr_len);

	memset(&recut, 0, sizeof(recut));
	ASSERT_EQ(cut.n, shoal_vnet_frames(&wrote.h[0], wrote.f[0],
					   wrote.len[0], scratch,
					   sizeof(scratch), record, &recut));
	for (i = 0; i < cut.n; i++) {
		ASSERT_EQ(cut.len[i], recut.len[i]);
		EXPECT_EQ(0, memcmp(cut.f[i], recut.f[i], cut.len[i]))
			TH_LOG("segment %d differs", i);
	}
}

TEST(gro_ipv4_round_trip)
{
	check_round_trip(_metadata, (struct shape){ 0 }, 4000, 1000);
}

TEST(gro_ipv4_round_trip_short_last)
{
	check_round_trip(_metadata, (struct shape){ 0 }, 3333, 1448);
}

TEST(gro_ipv6_round_trip)
{
	check_round_trip(_metadata, (struct shape){ .v6 = true }, 5000, 1208);
}

TEST(gro_ipv6_with_options_round_trip)
{
	check_round_trip(_metadata, (struct shape){ .v6 = true, .hbh = true },
			 3000, 1000);
}

/* What is written as it came, each alone, in order. */
static void check_unmerged(struct __test_metadata *_metadata, int n)
{
	int i;

	shoal_gro_flush(&gro, record_write, &wrote);
	ASSERT_EQ(n, wrote.n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, wrote.h[i].gso_type);
		EXPECT_EQ(0, wrote.h[i].flags);
	}
}

TEST(gro_tagged_frames_go_alone)
{
	int i;

	cut_train(_metadata, (struct shape){ .vlan = true }, 3000, 1000);
	for (i = 0; i < cut.n; i++)
		shoal_gro_add(&gro, cut.f[i], cut.len[i], record_write, &wrote);
	check_unmerged(_metadata, cut.n);
	for (i = 0; i < cut.n; i++)
		EXPECT_EQ(0, memcmp(cut.f[i], wrote.f[i], cut.len[i]));
}

TEST(gro_bad_tcp_checksum_goes_alone_in_order)
{
	cut_train(_metadata, (struct shape){ 0 }, 3000, 1000);
	cut.f[1][l4_of((struct shape){ 0 }) + 40] ^= 1;
	shoal_gro_add(&gro, cut.f[0], cut.len[0], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[1], cut.len[1], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[2], cut.len[2], record_write, &wrote);
	/* The first, the broken one, then the third (out of sequence now). */
	check_unmerged(_metadata, 3);
	EXPECT_EQ(0, memcmp(cut.f[1], wrote.f[1], cut.len[1]));
}

TEST(gro_bad_ipv4_header_checksum_goes_alone)
{
	cut_train(_metadata, (struct shape){ 0 }, 2000, 1000);
	cut.f[1][14 + 10] ^= 1;	/* the header checksum itself */
	shoal_gro_add(&gro, cut.f[0], cut.len[0], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[1], cut.len[1], record_write, &wrote);
	check_unmerged(_metadata, 2);
}

TEST(gro_out_of_sequence_not_merged)
{
	cut_train(_metadata, (struct shape){ 0 }, 3000, 1000);
	shoal_gro_add(&gro, cut.f[0], cut.len[0], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[2], cut.len[2], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[1], cut.len[1], record_write, &wrote);
	check_unmerged(_metadata, 3);
}

TEST(gro_other_flow_not_merged)
{
	cut_train(_metadata, (struct shape){ 0 }, 2000, 1000);
	/* Another source port, checksum mended by the same difference. */
	cut.f[1][14 + 20 + 1] = 79;
	cut.f[1][14 + 20 + 17] += 1;
	shoal_gro_add(&gro, cut.f[0], cut.len[0], record_write, &wrote);
	shoal_gro_add(&gro, cut.f[1], cut.len[1], record_write, &wrote);
	check_unmerged(_metadata, 2);
}

/*
 * Makes an untagged IPv4 frame of len bytes whole: its IP length, and its
 * IPv4 header and TCP checksums.
 */
static void mend_ipv4(uint8_t *f, size_t len)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	size_t tl = len - 34;
	uint32_t sum;

	shoal_put_be16(ip + 2, (uint16_t)(len - 14));
	shoal_put_be16(ip + 10, 0);
	shoal_put_be16(ip + 10,
		       (uint16_t)~shoal_csum_fold(shoal_csum_add(0, ip, 20)));
	shoal_put_be16(tcp + 16, 0);
	sum = shoal_csum_add(0, ip + 12, 8) + IPPROTO_TCP + (uint32_t)tl;
	sum = shoal_csum_add(sum, tcp, tl);
	shoal_put_be16(tcp + 16, (uint16_t)~shoal_csum_fold(sum));
}

TEST(gro_pure_ack_and_fin_go_alone)
{
	static uint8_t f[2][256];
	size_t len[2] = {
		train(f[0], (struct shape){ 0 }, 0, 0x10),
		train(f[1], (struct shape){ 0 }, 10, 0x11),
	};
	int i;

	memset(&wrote, 0, sizeof(wrote));
	memset(&gro, 0, sizeof(gro));
	for (i = 0; i < 2; i++) {
		mend_ipv4(f[i], len[i]);
		shoal_gro_add(&gro, f[i], len[i], record_write, &wrote);
	}
	check_unmerged(_metadata, 2);
}

/* Clears DF in a cut IPv4 segment, sets its ID and mends its checksums. */
static void set_no_df(uint8_t *f, size_t len, uint16_t id)
{
	f[14 + 6] &= (uint8_t)~0x40;
	shoal_put_be16(f + 14 + 4, id);
	mend_ipv4(f, len);
}

/* Without DF, IDs must count up, as the kernel numbers what it cuts. */
TEST(gro_without_df_ids_count_up)
{
	int i;

	cut_train(_metadata, (struct shape){ 0 }, 3000, 1000);
	for (i = 0; i < cut.n; i++) {
		set_no_df(cut.f[i], cut.len[i], (uint16_t)(0x1234 + i));
		shoal_gro_add(&gro, cut.f[i], cut.len[i], record_write, &wrote);
	}
	shoal_gro_flush(&gro, record_write, &wrote);
	EXPECT_EQ(1, wrote.n);

	cut_train(_metadata, (struct shape){ 0 }, 3000, 1000);
	for (i = 0; i < cut.n; i++) {
		set_no_df(cut.f[i], cut.len[i], 0x1234);
		shoal_gro_add(&gro, cut.f[i], cut.len[i], record_write, &wrote);
	}
	check_unmerged(_metadata, cut.n);
}

/* A first segment with less than 64 bytes of payload merges nothing. */
TEST(gro_tiny_segments_go_alone)
{
	int i;

	cut_train(_metadata, (struct shape){ 0 }, 150, 50);
	for (i = 0; i < cut.n; i++)
		shoal_gro_add(&gro, cut.f[i], cut.len[i], record_write, &wrote);
	check_unmerged(_metadata, cut.n);
}

/* 64 KiB of IP at most: a longer burst is written in two frames. */
TEST(gro_stops_at_64k)
{
	static uint8_t f[2048];
	size_t len, total = 0;
	uint32_t seq = 1;
	int i, w;

	memset(&wrote, 0, sizeof(wrote));
	memset(&gro, 0, sizeof(gro));
	for (i = 0; i < 50; i++) {
		len = train(f, (struct shape){ 0 }, 1448, 0x10);
		shoal_put_be32(f + 34 + 4, seq);
		mend_ipv4(f, len);
		shoal_gro_add(&gro, f, len, record_write, &wrote);
		seq += 1448;
	}
	shoal_gro_flush(&gro, record_write, &wrote);
	ASSERT_EQ(2, wrote.n);
	for (w = 0; w < 2; w++) {
		EXPECT_GE(0xffff, shoal_get_be16(wrote.f[w] + 14 + 2));
		EXPECT_EQ(wrote.len[w] - 14, shoal_get_be16(wrote.f[w] + 14 + 2));
		EXPECT_EQ(0xffff, shoal_csum_fold(shoal_csum_add(0, wrote.f[w] + 14, 20)));
		total += wrote.len[w] - 14 - 20 - 32;
	}
	EXPECT_EQ((size_t)50 * 1448, total);
}

TEST_HARNESS_MAIN
