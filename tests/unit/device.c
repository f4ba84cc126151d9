// SPDX-License-Identifier: MIT
/*
 * The shoal family's messages (lib/device.c): merging SHOAL_CMD_GET_DEVICE
 * dump messages into devices and peers, and parsing events, with messages
 * built here the way the kernel builds them; and SHOAL_CMD_SET_DEVICE
 * requests encoded and read back.
 */
#include <arpa/inet.h>
#include <string.h>

#include <linux/genetlink.h>

#include "kselftest_harness.h"

#include "device.h"

struct msg {
	char buf[4096];
	struct nlmsghdr *nlh;
};

static struct nlmsghdr *msg_start(struct msg *m, uint32_t ifindex,
				  const char *ifname)
{
	struct genlmsghdr *genl;

	memset(m->buf, 0, sizeof(m->buf));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	m->nlh->nlmsg_type = 0x20;
	m->nlh->nlmsg_flags = NLM_F_MULTI;
	genl = mnl_nlmsg_put_extra_header(m->nlh, sizeof(*genl));
	genl->cmd = SHOAL_CMD_GET_DEVICE;
	genl->version = SHOAL_GENL_VERSION;
	if (ifindex)
		mnl_attr_put_u32(m->nlh, SHOAL_A_DEVICE_IFINDEX, ifindex);
	if (ifname)
		mnl_attr_put_strz(m->nlh, SHOAL_A_DEVICE_IFNAME, ifname);
	mnl_attr_put_u16(m->nlh, SHOAL_A_DEVICE_LISTEN_PORT, 51820);
	return m->nlh;
}

static void put_sa(struct nlmsghdr *nlh, uint16_t type, uint32_t spi)
{
	struct nlattr *sa = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u32(nlh, SHOAL_A_SA_SPI, spi);
	mnl_attr_put_u64(nlh, SHOAL_A_SA_PACKETS, 5);
	mnl_attr_nest_end(nlh, sa);
}

/* A peer whose key is all `id`, with counters derived from id. */
static void put_peer(struct nlmsghdr *nlh, uint8_t id)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(1000 + id) };
	uint8_t key[SHOAL_KEY_LEN], mac[6] = { 2, 0, 0, 0, 0, id };
	struct nlattr *peer, *list;

	memset(key, id, sizeof(key));
	in.sin_addr.s_addr = htonl(0xc0000200 + id);
	peer = mnl_attr_nest_start(nlh, SHOAL_A_PEER);
	mnl_attr_put(nlh, SHOAL_A_PEER_PUBLIC_KEY, sizeof(key), key);
	mnl_attr_put(nlh, SHOAL_A_PEER_MAC, sizeof(mac), mac);
	mnl_attr_put(nlh, SHOAL_A_PEER_ENDPOINT, sizeof(in), &in);
	mnl_attr_put_u8(nlh, SHOAL_A_PEER_LAYER3, id & 1);
	mnl_attr_put_u8(nlh, SHOAL_A_PEER_BRIDGE, !(id & 1));
	put_sa(nlh, SHOAL_A_PEER_SA_OUT, 1000 + id);
	list = mnl_attr_nest_start(nlh, SHOAL_A_PEER_SA_IN);
	put_sa(nlh, SHOAL_A_SA, 2000 + id);
	put_sa(nlh, SHOAL_A_SA, 3000 + id);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_RX_BYTES, 100ull * id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_TX_BYTES, 200ull * id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_RX_PACKETS, 3ull * id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_TX_PACKETS, 4ull * id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_AUTH_FAILURES, id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_REPLAYS, 2ull * id);
	mnl_attr_put_u64(nlh, SHOAL_A_PEER_LAST_RX, 1700000000ull + id);
	/* Even peers send from a socket of their own. */
	if (!(id & 1))
		mnl_attr_put_u16(nlh, SHOAL_A_PEER_LOCAL_PORT, 40000 + id);
	mnl_attr_nest_end(nlh, peer);
}

static void put_peers(struct nlmsghdr *nlh, uint8_t from, uint8_t to)
{
	struct nlattr *list = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_PEERS);
	uint8_t id;

	for (id = from; id <= to; id++)
		put_peer(nlh, id);
	mnl_attr_nest_end(nlh, list);
}

static void put_stats(struct nlmsghdr *nlh)
{
	struct nlattr *stats = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_STATS);
	uint16_t t;

	for (t = SHOAL_A_DSTAT_CONTROL_RX; t <= SHOAL_A_DSTAT_CONTROL_DROPS; t++)
		mnl_attr_put_u64(nlh, t, 10ull * t);
	mnl_attr_nest_end(nlh, stats);
}

TEST(one_message)
{
	struct shoal_device_list l = { 0 };
	const struct shoal_peer_info *p;
	const struct shoal_device_info *d;
	uint8_t mac[6] = { 2, 1, 2, 3, 4, 5 };
	struct msg m;

	msg_start(&m, 7, "shoal0");
	mnl_attr_put(m.nlh, SHOAL_A_DEVICE_MAC, sizeof(mac), mac);
	put_stats(m.nlh);
	put_peers(m.nlh, 1, 2);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	ASSERT_EQ(1u, l.n);
	d = &l.devs[0];
	EXPECT_EQ(7u, d->ifindex);
	EXPECT_STREQ("shoal0", d->ifname);
	EXPECT_EQ(51820u, d->listen_port);
	EXPECT_TRUE(d->has_mac);
	EXPECT_EQ(0, memcmp(mac, d->mac, 6));
	EXPECT_EQ(10u, d->stats[SHOAL_A_DSTAT_CONTROL_RX]);
	EXPECT_EQ(70u, d->stats[SHOAL_A_DSTAT_CONTROL_DROPS]);
	ASSERT_EQ(2u, d->n_peers);
	p = &d->peers[1];
	EXPECT_EQ(2u, p->public_key[0]);
	EXPECT_EQ(2u, p->public_key[31]);
	EXPECT_TRUE(p->has_mac);
	EXPECT_EQ(2u, p->mac[5]);
	EXPECT_EQ(sizeof(struct sockaddr_in), p->endpoint.len);
	EXPECT_EQ(htons(1002), p->endpoint.in.sin_port);
	EXPECT_FALSE(p->layer3);
	EXPECT_TRUE(p->bridge);
	EXPECT_TRUE(d->peers[0].layer3);
	EXPECT_TRUE(p->has_sa_out);
	EXPECT_EQ(1002u, p->sa_out_spi);
	ASSERT_EQ(2u, p->n_sa_in);
	EXPECT_EQ(2002u, p->sa_in_spis[0]);
	EXPECT_EQ(3002u, p->sa_in_spis[1]);
	EXPECT_EQ(200u, p->rx_bytes);
	EXPECT_EQ(400u, p->tx_bytes);
	EXPECT_EQ(6u, p->rx_packets);
	EXPECT_EQ(8u, p->tx_packets);
	EXPECT_EQ(2u, p->auth_failures);
	EXPECT_EQ(4u, p->replays);
	EXPECT_EQ(1700000002u, p->last_rx);
	EXPECT_EQ(40002u, p->local_port);
	EXPECT_EQ(0u, d->peers[0].local_port);
	shoal_device_list_free(&l);
	EXPECT_EQ(0u, l.n);
}

/* A dump spread over messages: merged by ifindex, in order of appearance. */
TEST(merges_by_ifindex)
{
	struct shoal_device_list l = { 0 };
	struct msg m;
	uint8_t id;

	msg_start(&m, 7, "shoal0");
	put_peers(m.nlh, 1, 10);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	msg_start(&m, 7, "shoal0");
	put_peers(m.nlh, 11, 20);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	msg_start(&m, 9, "shoal1");
	put_peers(m.nlh, 50, 50);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	msg_start(&m, 7, "shoal0");
	put_stats(m.nlh);
	put_peers(m.nlh, 21, 25);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));

	ASSERT_EQ(2u, l.n);
	EXPECT_STREQ("shoal0", l.devs[0].ifname);
	EXPECT_STREQ("shoal1", l.devs[1].ifname);
	ASSERT_EQ(25u, l.devs[0].n_peers);
	for (id = 1; id <= 25; id++)
		EXPECT_EQ(id, l.devs[0].peers[id - 1].public_key[0]);
	EXPECT_EQ(20u, l.devs[0].stats[SHOAL_A_DSTAT_KEEPALIVES_RX]);
	ASSERT_EQ(1u, l.devs[1].n_peers);
	EXPECT_EQ(50u, l.devs[1].peers[0].public_key[0]);
	shoal_device_list_free(&l);
}

/* A peer repeated in a later message is updated, not duplicated. */
TEST(merges_peers_by_key)
{
	struct shoal_device_list l = { 0 };
	uint8_t key[SHOAL_KEY_LEN];
	struct nlattr *list, *peer;
	struct msg m;

	msg_start(&m, 7, "shoal0");
	put_peers(m.nlh, 1, 2);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	msg_start(&m, 7, "shoal0");
	memset(key, 2, sizeof(key));
	list = mnl_attr_nest_start(m.nlh, SHOAL_A_DEVICE_PEERS);
	peer = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER);
	mnl_attr_put(m.nlh, SHOAL_A_PEER_PUBLIC_KEY, sizeof(key), key);
	mnl_attr_put_u64(m.nlh, SHOAL_A_PEER_RX_BYTES, 12345);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, list);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	ASSERT_EQ(1u, l.n);
	ASSERT_EQ(2u, l.devs[0].n_peers);
	EXPECT_EQ(12345u, l.devs[0].peers[1].rx_bytes);
	EXPECT_EQ(400u, l.devs[0].peers[1].tx_bytes);
	shoal_device_list_free(&l);
}

TEST(only_ifname)
{
	struct shoal_device_list l = { 0 };
	struct msg m;

	msg_start(&m, 7, "shoal0");
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, "shoal1"));
	msg_start(&m, 9, "shoal1");
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, "shoal1"));
	ASSERT_EQ(1u, l.n);
	EXPECT_EQ(9u, l.devs[0].ifindex);
	shoal_device_list_free(&l);
}

/* Wrong sizes and types are skipped; nothing reads past an attribute. */
TEST(ignores_malformed)
{
	struct shoal_device_list l = { 0 };
	struct nlattr *list, *peer, *sa;
	uint8_t junk[40] = { 0 };
	struct msg m;

	/* No ifname at all: not a device. */
	msg_start(&m, 7, NULL);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	EXPECT_EQ(0u, l.n);

	msg_start(&m, 7, "shoal0");
	mnl_attr_put(m.nlh, SHOAL_A_DEVICE_MAC, 5, junk);
	mnl_attr_put_u8(m.nlh, SHOAL_A_DEVICE_STATS, 1);
	list = mnl_attr_nest_start(m.nlh, SHOAL_A_DEVICE_PEERS);
	/* A peer without a key, one with a short key, a non-peer. */
	peer = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER);
	mnl_attr_put_u64(m.nlh, SHOAL_A_PEER_RX_BYTES, 1);
	mnl_attr_nest_end(m.nlh, peer);
	peer = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER);
	mnl_attr_put(m.nlh, SHOAL_A_PEER_PUBLIC_KEY, 31, junk);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_put(m.nlh, 2, 32, junk);
	/* A good key with bad attributes and more than 3 inbound SAs. */
	peer = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER);
	mnl_attr_put(m.nlh, SHOAL_A_PEER_PUBLIC_KEY, 32, junk);
	mnl_attr_put(m.nlh, SHOAL_A_PEER_MAC, 7, junk);
	mnl_attr_put(m.nlh, SHOAL_A_PEER_ENDPOINT, 20, junk);
	mnl_attr_put_u32(m.nlh, SHOAL_A_PEER_LAYER3, 1);
	mnl_attr_put_u32(m.nlh, SHOAL_A_PEER_RX_BYTES, 1);
	mnl_attr_put_u32(m.nlh, SHOAL_A_PEER_SA_OUT, 1);
	mnl_attr_put_u32(m.nlh, SHOAL_A_PEER_LOCAL_PORT, 40000);
	sa = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER_SA_IN);
	put_sa(m.nlh, SHOAL_A_SA, 300);
	put_sa(m.nlh, 2, 301);
	put_sa(m.nlh, SHOAL_A_SA, 302);
	put_sa(m.nlh, SHOAL_A_SA, 303);
	put_sa(m.nlh, SHOAL_A_SA, 304);
	mnl_attr_nest_end(m.nlh, sa);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, list);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	ASSERT_EQ(1u, l.n);
	EXPECT_FALSE(l.devs[0].has_mac);
	ASSERT_EQ(1u, l.devs[0].n_peers);
	EXPECT_FALSE(l.devs[0].peers[0].has_mac);
	EXPECT_EQ(0u, l.devs[0].peers[0].endpoint.len);
	EXPECT_FALSE(l.devs[0].peers[0].layer3);
	EXPECT_EQ(0u, l.devs[0].peers[0].rx_bytes);
	EXPECT_EQ(0u, l.devs[0].peers[0].local_port);
	EXPECT_FALSE(l.devs[0].peers[0].has_sa_out);
	ASSERT_EQ((unsigned int)SHOAL_MAX_SA_IN, l.devs[0].peers[0].n_sa_in);
	EXPECT_EQ(300u, l.devs[0].peers[0].sa_in_spis[0]);
	EXPECT_EQ(302u, l.devs[0].peers[0].sa_in_spis[1]);
	EXPECT_EQ(303u, l.devs[0].peers[0].sa_in_spis[2]);
	shoal_device_list_free(&l);
}

TEST(short_message)
{
	struct shoal_device_list l = { 0 };
	struct msg m;

	memset(m.buf, 0, sizeof(m.buf));
	m.nlh = mnl_nlmsg_put_header(m.buf);
	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	EXPECT_EQ(0u, l.n);
}

/* ---- SHOAL_CMD_SET_DEVICE ---- */

static struct nlmsghdr *request_start(struct msg *m, uint8_t cmd)
{
	struct genlmsghdr *genl;

	memset(m->buf, 0, sizeof(m->buf));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	m->nlh->nlmsg_type = 0x20;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	genl = mnl_nlmsg_put_extra_header(m->nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = SHOAL_GENL_VERSION;
	return m->nlh;
}

/* The attribute of that type in a nest (or the message), or NULL. */
static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, nest)
		if (mnl_attr_get_type(attr) == type)
			return attr;
	return NULL;
}

static const struct nlattr *top(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(attr) == type)
			return attr;
	return NULL;
}

/* The index-th SHOAL_A_PEER of the request. */
static const struct nlattr *request_peer(const struct nlmsghdr *nlh,
					 unsigned int index)
{
	const struct nlattr *list = top(nlh, SHOAL_A_DEVICE_PEERS), *peer;

	if (!list)
		return NULL;
	mnl_attr_for_each_nested(peer, list)
		if (index-- == 0)
			return peer;
	return NULL;
}

static size_t count_peers(const struct nlmsghdr *nlh)
{
	size_t n = 0;

	while (request_peer(nlh, (unsigned int)n))
		n++;
	return n;
}

struct set_fixture {
	uint8_t key1[SHOAL_KEY_LEN], key2[SHOAL_KEY_LEN];
	uint8_t sa_key[3][SHOAL_SA_KEY_LEN];
	uint8_t mac[6];
	uint8_t cookie[3][SHOAL_COOKIE_SECRET_LEN];
	struct shoal_endpoint ep;
	struct shoal_sa_attrs sa_out, sa_in[2];
	struct shoal_prefix allowed[2];
	struct shoal_set_peer peers[2];
	struct shoal_set_device dev;
};

static void set_fixture(struct set_fixture *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->key1, 1, sizeof(f->key1));
	memset(f->key2, 2, sizeof(f->key2));
	memset(f->sa_key[0], 0xa0, SHOAL_SA_KEY_LEN);
	memset(f->sa_key[1], 0xa1, SHOAL_SA_KEY_LEN);
	memset(f->sa_key[2], 0xa2, SHOAL_SA_KEY_LEN);
	memcpy(f->mac, "\x02\x00\x00\x00\x00\x07", 6);
	memset(f->cookie[0], 0xc0, SHOAL_COOKIE_SECRET_LEN);
	memset(f->cookie[1], 0xc1, SHOAL_COOKIE_SECRET_LEN);
	memset(f->cookie[2], 0xc2, SHOAL_COOKIE_SECRET_LEN);
	f->ep.in.sin_family = AF_INET;
	f->ep.in.sin_port = htons(4500);
	f->ep.in.sin_addr.s_addr = htonl(0xc0000201);
	f->ep.len = sizeof(f->ep.in);
	f->sa_out = (struct shoal_sa_attrs){ .spi = 1000, .key = f->sa_key[0],
					     .soft_packets = 5,
					     .hard_packets = 6,
					     .soft_seconds = 60,
					     .hard_seconds = 120 };
	f->sa_in[0] = (struct shoal_sa_attrs){ .spi = 2000,
					       .key = f->sa_key[1] };
	f->sa_in[1] = (struct shoal_sa_attrs){ .spi = 3000 };	/* keep */
	f->allowed[0] = (struct shoal_prefix){ .family = AF_INET, .len = 24 };
	f->allowed[0].addr.v4.s_addr = htonl(0x0a000000);
	f->allowed[1] = (struct shoal_prefix){ .family = AF_INET6, .len = 64 };
	f->allowed[1].addr.v6.s6_addr[0] = 0xfd;
	f->peers[0] = (struct shoal_set_peer){
		.public_key = f->key1, .mac = f->mac, .endpoint = &f->ep,
		.set_layer3 = true, .layer3 = true,
		.set_bridge = true, .bridge = false,
		.sa_out = &f->sa_out,
		.set_sa_in = true, .n_sa_in = 2, .sa_in = f->sa_in,
		.set_allowed_ips = true, .n_allowed_ips = 2,
		.allowed_ips = f->allowed,
	};
	f->peers[1] = (struct shoal_set_peer){ .public_key = f->key2,
					       .remove = true };
	f->dev = (struct shoal_set_device){
		.ifname = "shoal0", .set_listen_port = true,
		.listen_port = 51820, .cookie_secret = f->cookie[0],
		.mac1_key = f->cookie[1], .cookie_key = f->cookie[2],
		.peers = f->peers, .n_peers = 2,
	};
}

static bool attr_is(const struct nlattr *attr, const void *data, size_t len)
{
	return attr && mnl_attr_get_payload_len(attr) == len &&
	       !memcmp(mnl_attr_get_payload(attr), data, len);
}

/* Encoded, then read back with the GET parser and by hand (keys). */
TEST(set_round_trip)
{
	const struct nlattr *peer, *sa, *list;
	struct shoal_device_list l = { 0 };
	const struct shoal_peer_info *p;
	struct set_fixture f;
	size_t next = 0;
	struct msg m;

	set_fixture(&f);
	request_start(&m, SHOAL_CMD_SET_DEVICE);
	ASSERT_EQ(0, shoal_set_encode(m.nlh, sizeof(m.buf), &f.dev, &next));
	EXPECT_EQ(2u, next);
	EXPECT_TRUE(attr_is(top(m.nlh, SHOAL_A_DEVICE_COOKIE_SECRET),
			    f.cookie[0], SHOAL_COOKIE_SECRET_LEN));
	EXPECT_TRUE(attr_is(top(m.nlh, SHOAL_A_DEVICE_MAC1_KEY),
			    f.cookie[1], SHOAL_COOKIE_SECRET_LEN));
	EXPECT_TRUE(attr_is(top(m.nlh, SHOAL_A_DEVICE_COOKIE_KEY),
			    f.cookie[2], SHOAL_COOKIE_SECRET_LEN));
	EXPECT_EQ(NULL, top(m.nlh, SHOAL_A_DEVICE_IFINDEX));

	ASSERT_EQ(0, shoal_device_list_add(&l, m.nlh, NULL));
	ASSERT_EQ(1u, l.n);
	EXPECT_STREQ("shoal0", l.devs[0].ifname);
	EXPECT_EQ(51820u, l.devs[0].listen_port);
	ASSERT_EQ(2u, l.devs[0].n_peers);
	p = &l.devs[0].peers[0];
	EXPECT_EQ(0, memcmp(f.key1, p->public_key, SHOAL_KEY_LEN));
	EXPECT_TRUE(p->has_mac);
	EXPECT_EQ(0, memcmp(f.mac, p->mac, 6));
	EXPECT_TRUE(shoal_endpoint_equal(&f.ep, &p->endpoint));
	EXPECT_TRUE(p->layer3);
	EXPECT_FALSE(p->bridge);
	EXPECT_TRUE(p->has_sa_out);
	EXPECT_EQ(1000u, p->sa_out_spi);
	ASSERT_EQ(2u, p->n_sa_in);
	EXPECT_EQ(2000u, p->sa_in_spis[0]);
	EXPECT_EQ(3000u, p->sa_in_spis[1]);
	ASSERT_EQ(2u, p->n_allowed_ips);
	EXPECT_EQ(0, memcmp(&f.allowed[0], &p->allowed_ips[0],
			    sizeof(f.allowed[0])));
	EXPECT_EQ(0, memcmp(&f.allowed[1], &p->allowed_ips[1],
			    sizeof(f.allowed[1])));
	EXPECT_EQ(0, memcmp(f.key2, l.devs[0].peers[1].public_key,
			    SHOAL_KEY_LEN));
	shoal_device_list_free(&l);

	/* What the GET parser does not read: keys, limits, flags. */
	peer = request_peer(m.nlh, 0);
	ASSERT_NE(NULL, peer);
	EXPECT_EQ(NULL, nested(peer, SHOAL_A_PEER_FLAGS));
	sa = nested(peer, SHOAL_A_PEER_SA_OUT);
	ASSERT_NE(NULL, sa);
	EXPECT_TRUE(attr_is(nested(sa, SHOAL_A_SA_KEY), f.sa_key[0],
			    SHOAL_SA_KEY_LEN));
	EXPECT_EQ(5u, mnl_attr_get_u64(nested(sa, SHOAL_A_SA_SOFT_PACKETS)));
	EXPECT_EQ(6u, mnl_attr_get_u64(nested(sa, SHOAL_A_SA_HARD_PACKETS)));
	EXPECT_EQ(60u, mnl_attr_get_u32(nested(sa, SHOAL_A_SA_SOFT_SECONDS)));
	EXPECT_EQ(120u, mnl_attr_get_u32(nested(sa, SHOAL_A_SA_HARD_SECONDS)));
	list = nested(peer, SHOAL_A_PEER_SA_IN);
	ASSERT_NE(NULL, list);
	sa = nested(list, SHOAL_A_SA);
	ASSERT_NE(NULL, sa);
	EXPECT_TRUE(attr_is(nested(sa, SHOAL_A_SA_KEY), f.sa_key[1],
			    SHOAL_SA_KEY_LEN));
	/* Limits not given are not sent: the kernel's defaults apply. */
	EXPECT_EQ(NULL, nested(sa, SHOAL_A_SA_SOFT_PACKETS));
	/* The second inbound SA is kept: its SPI and no key. */
	sa = mnl_attr_next(sa);
	EXPECT_EQ(3000u, mnl_attr_get_u32(nested(sa, SHOAL_A_SA_SPI)));
	EXPECT_EQ(NULL, nested(sa, SHOAL_A_SA_KEY));
	peer = request_peer(m.nlh, 1);
	ASSERT_NE(NULL, peer);
	EXPECT_EQ((uint32_t)SHOAL_PEER_F_REMOVE,
		  mnl_attr_get_u32(nested(peer, SHOAL_A_PEER_FLAGS)));
	EXPECT_EQ(NULL, nested(peer, SHOAL_A_PEER_MAC));
	EXPECT_EQ(NULL, nested(peer, SHOAL_A_PEER_LAYER3));
	EXPECT_EQ(NULL, nested(peer, SHOAL_A_PEER_SA_IN));
	EXPECT_EQ(NULL, nested(peer, SHOAL_A_PEER_ALLOWED_IPS));
}

/* By ifindex; empty sets are sent as empty nests (they clear). */
TEST(set_empty_sets)
{
	uint8_t key[SHOAL_KEY_LEN] = { 9 };
	struct shoal_set_peer peer = { .public_key = key, .set_sa_in = true,
				       .set_allowed_ips = true };
	struct shoal_set_device d = { .ifindex = 7, .ifname = "ignored",
				      .peers = &peer, .n_peers = 1 };
	const struct nlattr *p, *list;
	size_t next = 0;
	struct msg m;

	request_start(&m, SHOAL_CMD_SET_DEVICE);
	ASSERT_EQ(0, shoal_set_encode(m.nlh, sizeof(m.buf), &d, &next));
	EXPECT_EQ(7u, mnl_attr_get_u32(top(m.nlh, SHOAL_A_DEVICE_IFINDEX)));
	EXPECT_EQ(NULL, top(m.nlh, SHOAL_A_DEVICE_IFNAME));
	EXPECT_EQ(NULL, top(m.nlh, SHOAL_A_DEVICE_LISTEN_PORT));
	EXPECT_EQ(NULL, top(m.nlh, SHOAL_A_DEVICE_COOKIE_SECRET));
	p = request_peer(m.nlh, 0);
	ASSERT_NE(NULL, p);
	list = nested(p, SHOAL_A_PEER_SA_IN);
	ASSERT_NE(NULL, list);
	EXPECT_EQ(0u, mnl_attr_get_payload_len(list));
	list = nested(p, SHOAL_A_PEER_ALLOWED_IPS);
	ASSERT_NE(NULL, list);
	EXPECT_EQ(0u, mnl_attr_get_payload_len(list));
}

/* A peer's socket: its fd as a u32, -1 as SHOAL_PEER_SOCKET_NONE. */
TEST(set_socket)
{
	uint8_t key[SHOAL_KEY_LEN] = { 9 };
	struct shoal_set_peer peers[3] = {
		{ .public_key = key, .set_socket = true, .socket_fd = 5 },
		{ .public_key = key, .set_socket = true, .socket_fd = -1 },
		{ .public_key = key, .socket_fd = 6 },
	};
	struct shoal_set_device d = { .ifindex = 7, .peers = peers,
				      .n_peers = 3 };
	size_t next = 0;
	struct msg m;

	request_start(&m, SHOAL_CMD_SET_DEVICE);
	ASSERT_EQ(0, shoal_set_encode(m.nlh, sizeof(m.buf), &d, &next));
	ASSERT_EQ(3u, next);
	EXPECT_EQ(5u, mnl_attr_get_u32(nested(request_peer(m.nlh, 0),
					      SHOAL_A_PEER_SOCKET_FD)));
	EXPECT_EQ(SHOAL_PEER_SOCKET_NONE,
		  mnl_attr_get_u32(nested(request_peer(m.nlh, 1),
					  SHOAL_A_PEER_SOCKET_FD)));
	/* Without set_socket the fd is not sent: the peer keeps its own. */
	EXPECT_EQ(NULL, nested(request_peer(m.nlh, 2), SHOAL_A_PEER_SOCKET_FD));
}

/* Peers beyond one message go in the next; device settings in the first. */
TEST(set_splits)
{
	struct shoal_set_peer peers[40];
	uint8_t keys[40][SHOAL_KEY_LEN];
	struct shoal_set_device d = { .ifname = "shoal0",
				      .set_listen_port = true,
				      .listen_port = 1, .peers = peers,
				      .n_peers = 40 };
	size_t next = 0, total = 0, first;
	unsigned int i, messages = 0;
	const struct nlattr *key;
	struct msg m;

	for (i = 0; i < 40; i++) {
		memset(keys[i], (int)i, SHOAL_KEY_LEN);
		peers[i] = (struct shoal_set_peer){ .public_key = keys[i] };
	}
	do {
		first = next;
		request_start(&m, SHOAL_CMD_SET_DEVICE);
		ASSERT_EQ(0, shoal_set_encode(m.nlh, 512, &d, &next));
		ASSERT_GT(next, first);
		EXPECT_EQ(first == 0, top(m.nlh, SHOAL_A_DEVICE_LISTEN_PORT) != NULL);
		EXPECT_EQ(next - first, count_peers(m.nlh));
		key = nested(request_peer(m.nlh, 0), SHOAL_A_PEER_PUBLIC_KEY);
		ASSERT_NE(NULL, key);
		EXPECT_EQ(first, *(const uint8_t *)mnl_attr_get_payload(key));
		EXPECT_LE(m.nlh->nlmsg_len, 512u);
		total += next - first;
		messages++;
	} while (next < d.n_peers);
	EXPECT_EQ(40u, total);
	EXPECT_GT(messages, 1u);
}

/* The how-th way to ask for what the API forbids; false past the last. */
static bool spoil(struct set_fixture *f, unsigned int how)
{
	switch (how) {
	case 0:
		f->peers[0].n_sa_in = SHOAL_MAX_SA_IN + 1;
		return true;
	case 1:
		f->peers[0].n_allowed_ips = SHOAL_MAX_ALLOWED_IPS + 1;
		return true;
	case 2:
		f->sa_out.spi = SHOAL_SPI_MIN - 1;
		return true;
	case 3:
		f->sa_in[0].hard_seconds = SHOAL_SA_MAX_SECONDS + 1;
		return true;
	case 4:
		f->dev.mac1_key = NULL;		/* the cookie keys go together */
		return true;
	case 5:
		f->dev.ifname = NULL;		/* no selector */
		return true;
	case 6:
		f->dev.ifname = "a-name-too-long-for-ifnamsiz";
		return true;
	}
	return false;
}

/* What the API forbids, or what cannot fit, is refused. */
TEST(set_refuses)
{
	struct set_fixture f;
	unsigned int how;
	size_t next = 0;
	struct msg m;

	request_start(&m, SHOAL_CMD_SET_DEVICE);
	for (how = 0; set_fixture(&f), spoil(&f, how); how++) {
		EXPECT_EQ(-EINVAL, shoal_set_encode(m.nlh, sizeof(m.buf),
						    &f.dev, &next)) {
			TH_LOG("spoiled the %u-th way", how);
		}
	}
	/* Nothing was added by a refused request. */
	EXPECT_EQ(mnl_nlmsg_size(sizeof(struct genlmsghdr)), m.nlh->nlmsg_len);
	set_fixture(&f);
	EXPECT_EQ(-EMSGSIZE, shoal_set_encode(m.nlh, 200, &f.dev, &next));
	EXPECT_EQ(0u, next);
	EXPECT_EQ(NULL, top(m.nlh, SHOAL_A_DEVICE_PEERS));
}

/* ---- events ---- */

static struct nlmsghdr *event_start(struct msg *m, uint8_t cmd)
{
	request_start(m, cmd);
	m->nlh->nlmsg_flags = 0;
	mnl_attr_put_u32(m->nlh, SHOAL_A_DEVICE_IFINDEX, 7);
	mnl_attr_put_strz(m->nlh, SHOAL_A_DEVICE_IFNAME, "shoal0");
	return m->nlh;
}

static void put_source(struct nlmsghdr *nlh)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(4500) };

	in.sin_addr.s_addr = htonl(0xc6336401);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_ENDPOINT, sizeof(in), &in);
}

/* DEVICE_PEERS { PEER { key, then what fill adds } } as the kernel sends. */
static struct nlattr *event_peer_start(struct nlmsghdr *nlh,
				       struct nlattr **peers)
{
	uint8_t key[SHOAL_KEY_LEN];
	struct nlattr *peer;

	memset(key, 5, sizeof(key));
	*peers = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_PEERS);
	peer = mnl_attr_nest_start(nlh, SHOAL_A_PEER);
	mnl_attr_put(nlh, SHOAL_A_PEER_PUBLIC_KEY, sizeof(key), key);
	return peer;
}

/* A control event: its source if asked, payload_len bytes 1, 2, 3, ... */
static struct nlmsghdr *control_event(struct msg *m, bool source,
				      size_t payload_len, size_t local_len)
{
	static const uint8_t local[16] = { 10, 0, 0, 1 };
	uint8_t payload[SHOAL_MAX_CONTROL + 1];
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i + 1);
	event_start(m, SHOAL_CMD_EVENT_CONTROL);
	if (source)
		put_source(m->nlh);
	mnl_attr_put(m->nlh, SHOAL_A_CONTROL_PAYLOAD, payload_len, payload);
	if (local_len)
		mnl_attr_put(m->nlh, SHOAL_A_CONTROL_LOCAL, local_len, local);
	return m->nlh;
}

TEST(event_control)
{
	struct shoal_event e;
	struct msg m;

	ASSERT_EQ(0, shoal_event_parse(&e, control_event(&m, true, 3, 4)));
	EXPECT_EQ(SHOAL_CMD_EVENT_CONTROL, e.cmd);
	EXPECT_EQ(7u, e.ifindex);
	EXPECT_STREQ("shoal0", e.ifname);
	EXPECT_EQ(htons(4500), e.source.in.sin_port);
	ASSERT_EQ(3u, e.payload_len);
	EXPECT_EQ(0, memcmp("\x01\x02\x03", e.payload, 3));
	ASSERT_EQ(4u, e.local_len);
	EXPECT_EQ(0, memcmp("\x0a\x00\x00\x01", e.local, 4));

	/* A local address of the other family is none; the event stands. */
	ASSERT_EQ(0, shoal_event_parse(&e, control_event(&m, true, 3, 16)));
	EXPECT_EQ(NULL, e.local);
	EXPECT_EQ(0u, e.local_len);

	/* Longer than the API allows, or without a source: incomplete. */
	EXPECT_EQ(0, shoal_event_parse(&e, control_event(&m, true,
							 SHOAL_MAX_CONTROL, 0)));
	EXPECT_EQ(-EBADMSG,
		  shoal_event_parse(&e, control_event(&m, true,
						      SHOAL_MAX_CONTROL + 1, 0)));
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, control_event(&m, false, 3, 4)));
	EXPECT_EQ(3u, e.payload_len);
	EXPECT_EQ(NULL, e.local);
}

TEST(event_endpoint)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(99) };
	struct nlattr *peers, *peer;
	struct shoal_event e;
	struct msg m;

	event_start(&m, SHOAL_CMD_EVENT_ENDPOINT);
	peer = event_peer_start(m.nlh, &peers);
	in6.sin6_addr.s6_addr[15] = 1;
	mnl_attr_put(m.nlh, SHOAL_A_PEER_ENDPOINT, sizeof(in6), &in6);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, peers);
	ASSERT_EQ(0, shoal_event_parse(&e, m.nlh));
	ASSERT_NE(NULL, e.public_key);
	EXPECT_EQ(5u, e.public_key[31]);
	EXPECT_EQ(AF_INET6, e.endpoint.sa.sa_family);
	EXPECT_EQ(htons(99), e.endpoint.in6.sin6_port);
	EXPECT_FALSE(e.has_spi);

	/* No endpoint: incomplete. */
	event_start(&m, SHOAL_CMD_EVENT_ENDPOINT);
	peer = event_peer_start(m.nlh, &peers);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, peers);
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, m.nlh));
}

TEST(event_unknown_spi)
{
	uint8_t local[4] = { 10, 0, 0, 1 };
	struct shoal_event e;
	struct msg m;

	event_start(&m, SHOAL_CMD_EVENT_UNKNOWN_SPI);
	mnl_attr_put_u32(m.nlh, SHOAL_A_UNKNOWN_SPI, 77);
	put_source(m.nlh);
	mnl_attr_put(m.nlh, SHOAL_A_CONTROL_LOCAL, 4, local);
	ASSERT_EQ(0, shoal_event_parse(&e, m.nlh));
	EXPECT_TRUE(e.has_spi);
	EXPECT_EQ(77u, e.spi);
	EXPECT_EQ(4u, e.local_len);
	EXPECT_EQ(htonl(0xc6336401), e.source.in.sin_addr.s_addr);

	event_start(&m, SHOAL_CMD_EVENT_UNKNOWN_SPI);
	mnl_attr_put_u16(m.nlh, SHOAL_A_UNKNOWN_SPI, 77);
	put_source(m.nlh);
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, m.nlh));
	EXPECT_FALSE(e.has_spi);
}

TEST(event_soft_expire)
{
	struct nlattr *peers, *peer, *sas, *sa;
	struct shoal_event e;
	struct msg m;

	event_start(&m, SHOAL_CMD_EVENT_SOFT_EXPIRE);
	peer = event_peer_start(m.nlh, &peers);
	sas = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER_SA_OUT);
	mnl_attr_put_u32(m.nlh, SHOAL_A_SA_SPI, 1234);
	mnl_attr_nest_end(m.nlh, sas);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, peers);
	ASSERT_EQ(0, shoal_event_parse(&e, m.nlh));
	EXPECT_TRUE(e.outbound);
	EXPECT_EQ(1234u, e.spi);
	EXPECT_EQ(5u, e.public_key[0]);

	event_start(&m, SHOAL_CMD_EVENT_SOFT_EXPIRE);
	peer = event_peer_start(m.nlh, &peers);
	sas = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER_SA_IN);
	sa = mnl_attr_nest_start(m.nlh, SHOAL_A_SA);
	mnl_attr_put_u32(m.nlh, SHOAL_A_SA_SPI, 4321);
	mnl_attr_nest_end(m.nlh, sa);
	mnl_attr_nest_end(m.nlh, sas);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, peers);
	ASSERT_EQ(0, shoal_event_parse(&e, m.nlh));
	EXPECT_FALSE(e.outbound);
	EXPECT_EQ(4321u, e.spi);

	/* An empty inbound list names no SA. */
	event_start(&m, SHOAL_CMD_EVENT_SOFT_EXPIRE);
	peer = event_peer_start(m.nlh, &peers);
	sas = mnl_attr_nest_start(m.nlh, SHOAL_A_PEER_SA_IN);
	mnl_attr_nest_end(m.nlh, sas);
	mnl_attr_nest_end(m.nlh, peer);
	mnl_attr_nest_end(m.nlh, peers);
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, m.nlh));
}

TEST(event_other)
{
	struct shoal_event e;
	struct msg m;

	/* A command from a newer module: its device, and no more. */
	event_start(&m, SHOAL_CMD_MAX + 1);
	EXPECT_EQ(-EOPNOTSUPP, shoal_event_parse(&e, m.nlh));
	EXPECT_EQ(SHOAL_CMD_MAX + 1, e.cmd);
	EXPECT_STREQ("shoal0", e.ifname);

	/* Without the device's ifname. */
	request_start(&m, SHOAL_CMD_EVENT_UNKNOWN_SPI);
	mnl_attr_put_u32(m.nlh, SHOAL_A_DEVICE_IFINDEX, 7);
	mnl_attr_put_u32(m.nlh, SHOAL_A_UNKNOWN_SPI, 77);
	put_source(m.nlh);
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, m.nlh));

	/* Too short for a generic netlink header. */
	memset(m.buf, 0, sizeof(m.buf));
	m.nlh = mnl_nlmsg_put_header(m.buf);
	EXPECT_EQ(-EBADMSG, shoal_event_parse(&e, m.nlh));
	EXPECT_EQ(0u, e.cmd);
}

TEST_HARNESS_MAIN
