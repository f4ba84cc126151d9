// SPDX-License-Identifier: MIT
/* lib/tcpframe.c: the TCP fallback's stream, every refusal, any chunking. */
#include <errno.h>
#include <string.h>

#include "kselftest_harness.h"

#include "be.h"
#include "tcpframe.h"

static struct shoal_tcpframe_rx rx;

/* A header for port, then frames of 1, 300 and 1400 bytes. */
static size_t stream(uint8_t *out, uint16_t port)
{
	static const size_t sizes[] = { 1, 300, 1400 };
	size_t n = SHOAL_TCPFRAME_HEADER_LEN, i, j;

	shoal_tcpframe_put_header(out, port);
	for (i = 0; i < 3; i++) {
		shoal_put_be16(out + n, (uint16_t)sizes[i]);
		n += 2;
		for (j = 0; j < sizes[i]; j++)
			out[n++] = (uint8_t)(i * 7 + j);
	}
	return n;
}

/* Feeds buf in chunks of chunk bytes; the frames' lengths in got. */
static int feed(const uint8_t *buf, size_t n, size_t chunk, uint16_t *port,
		size_t *got, unsigned int *n_got)
{
	const uint8_t *frame;
	size_t off = 0, flen;
	int ret;

	*n_got = 0;
	shoal_tcpframe_rx_init(&rx, true, 0);
	while (off < n) {
		const uint8_t *p = buf + off;
		size_t len = n - off < chunk ? n - off : chunk;

		off += len;
		if (!rx.header_done) {
			ret = shoal_tcpframe_header(&rx, &p, &len, port);
			if (ret <= 0) {
				if (ret < 0)
					return ret;
				continue;
			}
		}
		while ((ret = shoal_tcpframe_next(&rx, &p, &len, &frame,
						  &flen)) == 1) {
			/* Byte 0 of frame i is i * 7. */
			if (frame[0] != (uint8_t)(*n_got * 7) ||
			    frame[flen - 1] != (uint8_t)(*n_got * 7 + flen - 1))
				return -EBADMSG;
			got[(*n_got)++] = flen;
		}
		if (ret < 0)
			return ret;
		if (len)
			return -EFAULT;
	}
	return 0;
}

TEST(every_chunking)
{
	static uint8_t buf[2048];
	size_t n = stream(buf, 40001), chunk, got[8];
	unsigned int n_got;
	uint16_t port = 0;

	/* One byte at a time, everything at once, and in between. */
	for (chunk = 1; chunk <= n; chunk += chunk < 20 ? 1 : 97) {
		ASSERT_EQ(0, feed(buf, n, chunk, &port, got, &n_got));
		ASSERT_EQ(3u, n_got);
		EXPECT_EQ(40001, port);
		EXPECT_EQ(1u, got[0]);
		EXPECT_EQ(300u, got[1]);
		EXPECT_EQ(1400u, got[2]);
	}
	ASSERT_EQ(0, feed(buf, n, n, &port, got, &n_got));
	ASSERT_EQ(3u, n_got);
}

TEST(refuses_wrong_magic_at_once)
{
	const uint8_t *p = (const uint8_t *)"SX";
	size_t len = 2;
	uint16_t port;

	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(-EPROTO, shoal_tcpframe_header(&rx, &p, &len, &port));
	/* A Noise control connection's first byte is 0: never a bridge. */
	p = (const uint8_t *)"\0a";
	len = 2;
	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(-EPROTO, shoal_tcpframe_header(&rx, &p, &len, &port));
}

TEST(refuses_version_and_port_zero)
{
	uint8_t h[SHOAL_TCPFRAME_HEADER_LEN];
	const uint8_t *p = h;
	size_t len = sizeof(h);
	uint16_t port;

	shoal_tcpframe_put_header(h, 5);
	h[SHOAL_TCPFRAME_MAGIC_LEN] = 2;
	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(-EPROTONOSUPPORT,
		  shoal_tcpframe_header(&rx, &p, &len, &port));
	shoal_tcpframe_put_header(h, 0);
	p = h;
	len = sizeof(h);
	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(-EPROTO, shoal_tcpframe_header(&rx, &p, &len, &port));
	/* A short header waits. */
	shoal_tcpframe_put_header(h, 9);
	p = h;
	len = sizeof(h) - 1;
	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(0, shoal_tcpframe_header(&rx, &p, &len, &port));
	EXPECT_EQ(0u, len);
}

TEST(refuses_frames_before_header)
{
	const uint8_t *p = (const uint8_t *)"\0\1x", *f;
	size_t len = 3, flen;

	shoal_tcpframe_rx_init(&rx, true, 0);
	EXPECT_EQ(-EPROTO, shoal_tcpframe_next(&rx, &p, &len, &f, &flen));
}

TEST(refuses_empty_and_oversize)
{
	uint8_t b[4];
	const uint8_t *p = b, *f;
	size_t len, flen;

	shoal_put_be16(b, 0);
	len = 2;
	shoal_tcpframe_rx_init(&rx, false, 0);
	EXPECT_EQ(-EPROTO, shoal_tcpframe_next(&rx, &p, &len, &f, &flen));
	/* Over the limit: refused on its length, before any body. */
	shoal_put_be16(b, SHOAL_TCPFRAME_MAX + 1);
	p = b;
	len = 2;
	shoal_tcpframe_rx_init(&rx, false, 0);
	EXPECT_EQ(-EMSGSIZE, shoal_tcpframe_next(&rx, &p, &len, &f, &flen));
	/* A length split in two is judged when whole. */
	shoal_put_be16(b, 1500);
	p = b;
	len = 1;
	shoal_tcpframe_rx_init(&rx, false, 1400);
	EXPECT_EQ(0, shoal_tcpframe_next(&rx, &p, &len, &f, &flen));
	p = b + 1;
	len = 1;
	EXPECT_EQ(-EMSGSIZE, shoal_tcpframe_next(&rx, &p, &len, &f, &flen));
}

TEST(tx_bounded)
{
	static uint8_t d[SHOAL_TCPFRAME_MAX + 1];
	struct shoal_tcpframe_tx tx;
	const uint8_t *p;
	uint8_t h[SHOAL_TCPFRAME_HEADER_LEN];

	ASSERT_EQ(0, shoal_tcpframe_tx_init(&tx, 1000));
	shoal_tcpframe_put_header(h, 7);
	EXPECT_EQ(0, shoal_tcpframe_tx_raw(&tx, h, sizeof(h)));
	EXPECT_EQ(-EMSGSIZE, shoal_tcpframe_tx_put(&tx, d, 0));
	EXPECT_EQ(-EMSGSIZE, shoal_tcpframe_tx_put(&tx, d, sizeof(d)));
	EXPECT_EQ(0, shoal_tcpframe_tx_put(&tx, d, 600));
	EXPECT_FALSE(shoal_tcpframe_tx_room(&tx, 600));
	EXPECT_EQ(-ENOBUFS, shoal_tcpframe_tx_put(&tx, d, 600));
	EXPECT_EQ(sizeof(h) + 602, shoal_tcpframe_tx_pending(&tx, &p));
	EXPECT_EQ(0, memcmp(p, SHOAL_TCPFRAME_MAGIC, 8));
	EXPECT_EQ(0x02, p[sizeof(h)]);
	EXPECT_EQ(0x58, p[sizeof(h) + 1]);
	/* What went out makes room again. */
	shoal_tcpframe_tx_consumed(&tx, 500);
	EXPECT_TRUE(shoal_tcpframe_tx_room(&tx, 600));
	EXPECT_EQ(0, shoal_tcpframe_tx_put(&tx, d, 600));
	EXPECT_EQ(sizeof(h) + 602 - 500 + 602,
		  shoal_tcpframe_tx_pending(&tx, &p));
	shoal_tcpframe_tx_free(&tx);
}

TEST_HARNESS_MAIN
