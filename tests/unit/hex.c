// SPDX-License-Identifier: MIT
#include <string.h>

#include "kselftest_harness.h"

#include "hex.h"

TEST(encode)
{
	static const uint8_t raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[SHOAL_HEX_LEN(sizeof(raw)) + 1];

	ASSERT_EQ(12, shoal_hex_encode(out, sizeof(out), raw, sizeof(raw)));
	EXPECT_STREQ("00017f80abff", out);
	ASSERT_EQ(0, shoal_hex_encode(out, 1, raw, 0));
	EXPECT_STREQ("", out);
}

TEST(encode_needs_room_for_nul)
{
	static const uint8_t raw[] = { 0xde, 0xad };
	char out[5];

	EXPECT_EQ(-1, shoal_hex_encode(out, 4, raw, 2));
	EXPECT_EQ(4, shoal_hex_encode(out, 5, raw, 2));
	EXPECT_EQ(-1, shoal_hex_encode(out, 0, raw, 0));
}

TEST(decode_either_case)
{
	uint8_t out[4];

	ASSERT_EQ(4, shoal_hex_decode(out, sizeof(out), "DeadBEEF", 8));
	EXPECT_EQ(0xde, out[0]);
	EXPECT_EQ(0xad, out[1]);
	EXPECT_EQ(0xbe, out[2]);
	EXPECT_EQ(0xef, out[3]);
	EXPECT_EQ(0, shoal_hex_decode(out, sizeof(out), "", 0));
	/* Only src_len characters count. */
	ASSERT_EQ(1, shoal_hex_decode(out, sizeof(out), "0aXYZ", 2));
	EXPECT_EQ(0x0a, out[0]);
}

TEST(decode_rejects_malformed)
{
	static const char *const bad[] = {
		"0", "abc", "0g", "g0", " 00", "00 ", "0x00", "-1", "+1", "\n0",
		"0\0",
	};
	uint8_t out[8];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			len = 2;	/* an embedded NUL */
		EXPECT_EQ(-1, shoal_hex_decode(out, sizeof(out), bad[i], len))
			TH_LOG("accepted '%s'", bad[i]);
	}
}

TEST(decode_respects_dst_size)
{
	uint8_t out[3] = { 0, 0, 0x55 };

	EXPECT_EQ(-1, shoal_hex_decode(out, 2, "010203", 6));
	EXPECT_EQ(2, shoal_hex_decode(out, 2, "0102", 4));
	EXPECT_EQ(0x55, out[2]);
}

TEST(roundtrip_every_byte)
{
	uint8_t raw[256], back[256];
	char text[SHOAL_HEX_LEN(256) + 1];
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	ASSERT_EQ(512, shoal_hex_encode(text, sizeof(text), raw, sizeof(raw)));
	ASSERT_EQ(256, shoal_hex_decode(back, sizeof(back), text, 512));
	EXPECT_EQ(0, memcmp(raw, back, sizeof(raw)));
}

TEST_HARNESS_MAIN
