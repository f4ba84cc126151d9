// SPDX-License-Identifier: MIT
#include <string.h>

#include "kselftest_harness.h"

#include "base64.h"

/* RFC 4648, section 10. */
static const struct {
	const char *raw, *b64;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

TEST(rfc4648_encode)
{
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		size_t len = strlen(rfc4648[i].raw);

		ASSERT_EQ((int)strlen(rfc4648[i].b64),
			  shoal_base64_encode(out, sizeof(out),
					      (const uint8_t *)rfc4648[i].raw, len));
		EXPECT_STREQ(rfc4648[i].b64, out);
	}
}

TEST(rfc4648_decode)
{
	uint8_t out[16];
	size_t i;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		size_t len = strlen(rfc4648[i].raw);

		ASSERT_EQ(0, shoal_base64_decode_exact(out, len, rfc4648[i].b64));
		EXPECT_EQ(0, memcmp(out, rfc4648[i].raw, len));
	}
}

TEST(encode_needs_room_for_nul)
{
	char out[5];

	EXPECT_EQ(-1, shoal_base64_encode(out, 4, (const uint8_t *)"foo", 3));
	EXPECT_EQ(4, shoal_base64_encode(out, 5, (const uint8_t *)"foo", 3));
}

TEST(decode_rejects_malformed)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
		{ "Zm9", 3 }, { "Zm9vY", 3 }, { "Zm9vYg=", 4 }, { "Zm9vYg===", 4 },
		{ "Zm9v\n", 3 }, { " Zm9v", 3 }, { "Zm-v", 3 }, { "Zm_v", 3 },
		{ "=m9v", 3 }, { "Zg=a", 1 }, { "Zm9v", 4 }, { "Zm9vYg==", 5 },
		/* Non-zero bits under the padding: a second spelling of "foob". */
		{ "Zm9vYh==", 4 }, { "Zm9vYmF=", 5 },
	};
	uint8_t out[8];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-1, shoal_base64_decode_exact(out, bad[i].len, bad[i].text))
			TH_LOG("accepted '%s' as %zu bytes", bad[i].text, bad[i].len);
}

TEST(roundtrip_every_length)
{
	uint8_t raw[64], back[64];
	char text[SHOAL_BASE64_LEN(64) + 1];
	size_t len, i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	for (len = 0; len <= sizeof(raw); len++) {
		ASSERT_EQ((int)SHOAL_BASE64_LEN(len),
			  shoal_base64_encode(text, sizeof(text), raw, len));
		ASSERT_EQ(0, shoal_base64_decode_exact(back, len, text));
		ASSERT_EQ(0, memcmp(raw, back, len));
		/* The same text is not a valid spelling of any other length. */
		if (len > 0)
			ASSERT_EQ(-1, shoal_base64_decode_exact(back, len - 1, text));
	}
}

TEST_HARNESS_MAIN
