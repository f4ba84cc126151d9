// SPDX-License-Identifier: MIT
#include <string.h>

#include "kselftest_harness.h"

#include "mac.h"

TEST(parse_and_format)
{
	static const uint8_t want[] = { 0x02, 0xab, 0xcd, 0xef, 0x00, 0x99 };
	char text[SHOAL_MAC_STRLEN + 1];
	uint8_t mac[SHOAL_MAC_LEN];

	ASSERT_EQ(0, shoal_mac_parse(mac, "02:AB:cd:Ef:00:99"));
	EXPECT_EQ(0, memcmp(mac, want, sizeof(want)));
	shoal_mac_format(text, mac);
	EXPECT_STREQ("02:ab:cd:ef:00:99", text);
}

TEST(parse_rejects_malformed)
{
	static const char *const bad[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:01:", "02:00:00:00:00:1",
		"2:00:00:00:00:01", "02-00-00-00-00-01", "0200.0000.0001",
		"02:00:00:00:00:0g", " 02:00:00:00:00:01", "02:00:00:00:00:01 ",
		"02:00:00:00:00:001", "02::00:00:00:00:01", "020000000001",
		"02:00:00:00:00:+1",
	};
	uint8_t mac[SHOAL_MAC_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-1, shoal_mac_parse(mac, bad[i]))
			TH_LOG("accepted '%s'", bad[i]);
}

TEST(from_key)
{
	uint8_t key[32], a[SHOAL_MAC_LEN], b[SHOAL_MAC_LEN], c[SHOAL_MAC_LEN];

	memset(key, 7, sizeof(key));
	shoal_mac_from_key(a, key, 0);
	shoal_mac_from_key(b, key, 0);
	shoal_mac_from_key(c, key, 1);
	EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
	EXPECT_NE(0, memcmp(a, c, sizeof(a)));
	EXPECT_TRUE(shoal_mac_is_unicast(a));
	EXPECT_EQ(0x02, a[0] & 0x03);
	EXPECT_EQ(0x02, c[0] & 0x03);
}

TEST(unicast)
{
	static const struct {
		const char *text;
		bool unicast;
	} cases[] = {
		{ "02:00:00:00:00:01", true },
		{ "00:00:00:00:00:01", true },
		{ "fe:ff:ff:ff:ff:ff", true },
		{ "00:00:00:00:00:00", false },
		{ "01:00:5e:00:00:01", false },
		{ "33:33:00:00:00:01", false },
		{ "ff:ff:ff:ff:ff:ff", false },
	};
	uint8_t mac[SHOAL_MAC_LEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, shoal_mac_parse(mac, cases[i].text));
		EXPECT_EQ(cases[i].unicast, shoal_mac_is_unicast(mac))
			TH_LOG("%s", cases[i].text);
	}
}

TEST(link_local)
{
	static const uint8_t mac[] = { 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30 };
	static const uint8_t want[16] = {
		0xfe, 0x80, 0, 0, 0, 0, 0, 0,
		0x00, 0x00, 0x5e, 0xff, 0xfe, 0x10, 0x20, 0x30,
	};
	uint8_t addr[16];

	shoal_mac_link_local(addr, mac);
	EXPECT_EQ(0, memcmp(addr, want, sizeof(want)));
}

TEST_HARNESS_MAIN
