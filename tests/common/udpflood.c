// SPDX-License-Identifier: GPL-2.0
/*
 * udpflood SRC DST-IP PORT SECONDS [HEX-PAYLOAD]
 *
 * Sends one UDP datagram (by default a control packet: the four-byte
 * non-ESP marker and "flood") from SRC (an address, "IPv4:PORT" or
 * "[IPv6]:PORT"; any port when none is given) to DST-IP:PORT as fast as
 * this machine can, in batches of 64 with sendmmsg(), for SECONDS, and
 * prints how many it sent and the rate.  The tests use it to flood
 * shoal.ko's socket from one address, over either family.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"
#include "hex.h"

#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A numeric IPv4 or IPv6 address, and a port. */
static int parse_addr(struct shoal_endpoint *ep, const char *text,
		      uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, text, &ep->in.sin_addr) == 1) {
		ep->in.sin_family = AF_INET;
		ep->in.sin_port = htons(port);
		ep->len = sizeof(ep->in);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &ep->in6.sin6_addr) == 1) {
		ep->in6.sin6_family = AF_INET6;
		ep->in6.sin6_port = htons(port);
		ep->len = sizeof(ep->in6);
		return 0;
	}
	return -1;
}

/* An address with or without a port: "ADDR", "IPv4:PORT", "[IPv6]:PORT". */
static int parse_source(struct shoal_endpoint *ep, const char *text)
{
	const char *colon = strchr(text, ':');

	if (text[0] == '[' || (colon && colon == strrchr(text, ':')))
		return shoal_endpoint_parse(ep, text);
	return parse_addr(ep, text, 0);
}

int main(int argc, char **argv)
{
	unsigned char payload[1400] = { 0, 0, 0, 0, 'f', 'l', 'o', 'o', 'd' };
	struct shoal_endpoint src, dst;
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	int len = 9, fd, i, seconds;
	unsigned long long sent = 0;
	double start, end;
	char *endp;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: udpflood SRC DST-IP PORT SECONDS [HEX-PAYLOAD]\n");
		return 2;
	}
	if (parse_source(&src, argv[1]) < 0) {
		fprintf(stderr, "udpflood: bad source '%s'\n", argv[1]);
		return 2;
	}
	errno = 0;
	i = (int)strtol(argv[3], &endp, 10);
	if (errno || *endp || i < 1 || i > 65535 ||
	    parse_addr(&dst, argv[2], (uint16_t)i) < 0 ||
	    dst.sa.sa_family != src.sa.sa_family) {
		fprintf(stderr, "udpflood: bad destination '%s' port '%s' (or another family than the source's)\n",
			argv[2], argv[3]);
		return 2;
	}
	seconds = (int)strtol(argv[4], &endp, 10);
	if (*endp || seconds < 1 || seconds > 3600) {
		fprintf(stderr, "udpflood: bad duration '%s'\n", argv[4]);
		return 2;
	}
	if (argc == 6) {
		len = shoal_hex_decode(payload, sizeof(payload), argv[5],
				       strlen(argv[5]));
		if (len < 0) {
			fprintf(stderr, "udpflood: bad hex payload\n");
			return 2;
		}
	}

	fd = socket(src.sa.sa_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, &src.sa, src.len) < 0 ||
	    connect(fd, &dst.sa, dst.len) < 0) {
		perror("udpflood: socket");
		return 1;
	}
	iov.iov_base = payload;
	iov.iov_len = (size_t)len;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now();
	end = start + seconds;
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			sent += (unsigned long long)n;
		else if (errno != ENOBUFS && errno != EAGAIN &&
			 errno != ECONNREFUSED) {
			perror("udpflood: sendmmsg");
			return 1;
		}
	}
	printf("sent %llu in %.1f s: %.0f a second\n", sent, now() - start,
	       sent / (now() - start));
	close(fd);
	return 0;
}
