// SPDX-License-Identifier: MIT
/*
 * Merging SHOAL_CMD_GET_DEVICE dump messages into devices and peers, with
 * messages built here the way the kernel builds them.
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

TEST_HARNESS_MAIN
