// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hex.h"
#include "sa.h"

static int digits(const char *s, unsigned int base, uint64_t *v)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > (base == 16 ? 8 : 10))
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		*v = *v * base + (uint64_t)d;
	}
	return 0;
}

int shoal_spi_parse(uint32_t *spi, const char *text)
{
	uint64_t v;
	int ret;

	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		ret = digits(text + 2, 16, &v);
	else if (text[0] == '0')
		return -1;
	else
		ret = digits(text, 10, &v);
	if (ret < 0 || v < SHOAL_SPI_MIN || v > UINT32_MAX)
		return -1;
	*spi = (uint32_t)v;
	return 0;
}

/* Reads all of fd into buf: its length, or -E2BIG if it does not fit. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == size)
			return -E2BIG;
	}
	return (ssize_t)n;
}

int shoal_sa_key_read(uint8_t key[SHOAL_SA_KEY_LEN], int fd)
{
	/* The key, white space around it, and one byte to notice more. */
	char buf[SHOAL_HEX_LEN(SHOAL_SA_KEY_LEN) + 128];
	char *start = buf, *end;
	ssize_t n;
	int ret;

	n = read_all(fd, buf, sizeof(buf));
	ret = n == -E2BIG ? -EINVAL : (int)n;
	if (n < 0)
		goto wipe;
	end = buf + n;
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	ret = -EINVAL;
	if (end - start == SHOAL_HEX_LEN(SHOAL_SA_KEY_LEN) &&
	    shoal_hex_decode(key, SHOAL_SA_KEY_LEN, start,
			     (size_t)(end - start)) == SHOAL_SA_KEY_LEN)
		ret = 0;
	else
		sodium_memzero(key, SHOAL_SA_KEY_LEN);
wipe:
	sodium_memzero(buf, sizeof(buf));
	return ret;
}
