// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "sa.h"

TEST(spi_accepts_decimal_and_hex)
{
	static const struct {
		const char *text;
		uint32_t spi;
	} good[] = {
		{ "256", 256 }, { "0x100", 256 }, { "0X100", 256 },
		{ "4294967295", 4294967295u }, { "0xffffffff", 4294967295u },
		{ "0xDEADbeef", 0xdeadbeef }, { "0x00000100", 256 },
		{ "123456", 123456 },
	};
	uint32_t spi;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		spi = 0;
		EXPECT_EQ(0, shoal_spi_parse(&spi, good[i].text))
			TH_LOG("refused '%s'", good[i].text);
		EXPECT_EQ(good[i].spi, spi);
	}
}

TEST(spi_rejects_the_rest)
{
	static const char *const bad[] = {
		"", "0", "1", "255", "0xff", "0x", "0x0", "4294967296",
		"0x100000000", "0x1ffffffff", "99999999999", "-256", "+256",
		" 256", "256 ", "0256", "256x", "0x10g", "1e3", "0o400",
		"00x100",
	};
	uint32_t spi;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-1, shoal_spi_parse(&spi, bad[i]))
			TH_LOG("accepted '%s'", bad[i]);
}

/* Runs shoal_sa_key_read on text (len bytes) through a pipe. */
static int read_from(uint8_t key[SHOAL_SA_KEY_LEN], const char *text,
		     size_t len)
{
	int fds[2], ret;

	if (pipe(fds) < 0)
		return -100;
	if (write(fds[1], text, len) != (ssize_t)len) {
		close(fds[0]);
		close(fds[1]);
		return -101;
	}
	close(fds[1]);
	ret = shoal_sa_key_read(key, fds[0]);
	close(fds[0]);
	return ret;
}

static const char key72[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"A0B1C2D3";

TEST(key_read)
{
	uint8_t key[SHOAL_SA_KEY_LEN];
	char text[200];
	int i;

	ASSERT_EQ(0, read_from(key, key72, strlen(key72)));
	for (i = 0; i < 32; i++)
		EXPECT_EQ(i, key[i]);
	EXPECT_EQ(0xa0, key[32]);
	EXPECT_EQ(0xd3, key[35]);

	snprintf(text, sizeof(text), "\n\t  %s \n\n", key72);
	ASSERT_EQ(0, read_from(key, text, strlen(text)));
	EXPECT_EQ(0xd3, key[35]);
}

TEST(key_read_rejects_other_content)
{
	uint8_t key[SHOAL_SA_KEY_LEN];
	char text[400];

	EXPECT_EQ(-EINVAL, read_from(key, "", 0));
	EXPECT_EQ(-EINVAL, read_from(key, "\n", 1));
	/* One digit short, two digits long, an odd count. */
	EXPECT_EQ(-EINVAL, read_from(key, key72, strlen(key72) - 2));
	snprintf(text, sizeof(text), "%s00", key72);
	EXPECT_EQ(-EINVAL, read_from(key, text, strlen(text)));
	EXPECT_EQ(-EINVAL, read_from(key, key72, strlen(key72) - 1));
	/* White space inside, a second word, a NUL after the key. */
	snprintf(text, sizeof(text), "%.36s %s", key72, key72 + 36);
	EXPECT_EQ(-EINVAL, read_from(key, text, strlen(text)));
	snprintf(text, sizeof(text), "%s x", key72);
	EXPECT_EQ(-EINVAL, read_from(key, text, strlen(text)));
	snprintf(text, sizeof(text), "%s", key72);
	EXPECT_EQ(-EINVAL, read_from(key, text, strlen(text) + 1));
	/* 0x prefix, and a base64 key. */
	snprintf(text, sizeof(text), "0x%.70s", key72);
	EXPECT_EQ(-EINVAL, read_from(key, text, strlen(text)));
	EXPECT_EQ(-EINVAL, read_from(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", 44));
	/* Too much white space to be a key file. */
	memset(text, ' ', sizeof(text));
	memcpy(text + 300, key72, strlen(key72));
	EXPECT_EQ(-EINVAL, read_from(key, text, sizeof(text)));
}

TEST(key_read_reports_io_errors)
{
	uint8_t key[SHOAL_SA_KEY_LEN];

	EXPECT_EQ(-EBADF, shoal_sa_key_read(key, -1));
}

TEST_HARNESS_MAIN
