// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

#include "key.h"

/* RFC 7748, section 6.1: Alice's key pair. */
static const char alice_priv[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
static const char alice_pub[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

static int read_from(uint8_t key[SHOAL_KEY_LEN], const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		return -2;
	ret = shoal_key_read(key, f);
	fclose(f);
	return ret;
}

TEST(rfc7748_public_key)
{
	uint8_t priv[SHOAL_KEY_LEN], pub[SHOAL_KEY_LEN];
	char b64[SHOAL_KEY_B64_LEN + 1];

	ASSERT_EQ(0, shoal_key_from_base64(priv, alice_priv));
	ASSERT_EQ(0, shoal_key_public(pub, priv));
	shoal_key_to_base64(b64, pub);
	EXPECT_STREQ(alice_pub, b64);
}

TEST(generated_keys_are_clamped_and_differ)
{
	uint8_t a[SHOAL_KEY_LEN], b[SHOAL_KEY_LEN];

	ASSERT_EQ(0, shoal_key_generate(a));
	ASSERT_EQ(0, shoal_key_generate(b));
	EXPECT_EQ(0, a[0] & 7);
	EXPECT_EQ(64, a[31] & 192);
	EXPECT_NE(0, memcmp(a, b, SHOAL_KEY_LEN));
}

TEST(read_accepts_surrounding_space)
{
	uint8_t key[SHOAL_KEY_LEN], want[SHOAL_KEY_LEN];

	ASSERT_EQ(0, shoal_key_from_base64(want, alice_priv));
	ASSERT_EQ(0, read_from(key, "  dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n"));
	EXPECT_EQ(0, memcmp(key, want, SHOAL_KEY_LEN));
}

TEST(read_rejects_other_input)
{
	uint8_t key[SHOAL_KEY_LEN];
	char big[200];

	EXPECT_EQ(-1, read_from(key, ""));
	EXPECT_EQ(-1, read_from(key, "\n"));
	/* A key with a second word after it, or one character short. */
	EXPECT_EQ(-1, read_from(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo= x\n"));
	EXPECT_EQ(-1, read_from(key, "wdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n"));
	/* A 33-byte key. */
	EXPECT_EQ(-1, read_from(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA\n"));
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT_EQ(-1, read_from(key, big));
}

TEST_HARNESS_MAIN
