// SPDX-License-Identifier: GPL-2.0
/*
 * udpflood SRC-IP[:SRC-PORT] DST-IP PORT SECONDS [HEX-PAYLOAD]
 *
 * Sends one UDP datagram (by default a control packet: the four-byte
 * non-ESP marker and "flood") from SRC-IP (and SRC-PORT, if given; any
 * port otherwise) to DST-IP:PORT as fast as this
 * machine can, in batches of 64 with sendmmsg(), for SECONDS, and prints
 * how many it sent and the rate.  The tests use it to flood shoal.ko's
 * socket from one address.
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

#include "hex.h"

#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned char payload[1400] = { 0, 0, 0, 0, 'f', 'l', 'o', 'o', 'd' };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	int len = 9, fd, i, seconds;
	unsigned long long sent = 0;
	double start, end;
	char *endp, *colon;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: udpflood SRC-IP[:SRC-PORT] DST-IP PORT SECONDS [HEX-PAYLOAD]\n");
		return 2;
	}
	colon = strchr(argv[1], ':');
	if (colon) {
		*colon++ = '\0';
		errno = 0;
		i = (int)strtol(colon, &endp, 10);
		if (errno || *endp || i < 1 || i > 65535) {
			fprintf(stderr, "udpflood: bad source port '%s'\n", colon);
			return 2;
		}
		src.sin_port = htons((unsigned short)i);
	}
	if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
		fprintf(stderr, "udpflood: bad IPv4 address\n");
		return 2;
	}
	errno = 0;
	i = (int)strtol(argv[3], &endp, 10);
	if (errno || *endp || i < 1 || i > 65535) {
		fprintf(stderr, "udpflood: bad port '%s'\n", argv[3]);
		return 2;
	}
	dst.sin_port = htons((unsigned short)i);
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

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
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
