// SPDX-License-Identifier: GPL-2.0
/*
 * tests/kernel/peersock.sh's hands: holds UDP sockets and hands them to a
 * shoal peer by fd (SHOAL_A_PEER_SOCKET_FD, through lib/device.c), as
 * shoald does after birthday probing, and keeps them open between the
 * suite's steps.  One command a line on stdin, one answer a line on
 * stdout:
 *   udp ID PORT       a UDP socket bound to 0.0.0.0:PORT      -> ok | err N
 *   udp6 ID PORT      a dual-stack one bound to [::]:PORT     -> ok | err N
 *   unbound ID        a UDP socket bound to nothing           -> ok
 *   tcp ID            a TCP socket                            -> ok
 *   file ID           /dev/null                               -> ok
 *   set DEV KEY ID    the peer (base64 KEY) of DEV takes socket ID, or
 *                     "none" (-1), or "fd:N" (a raw number)   -> ret N
 *   recv ID MS        one datagram within MS milliseconds  -> got HEX | none
 *   close ID          closes socket ID                        -> ok
 * IDs are 0..7.  Exits at end of input.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "genl.h"
#include "key.h"

#define MAX_SOCKS 8

static int socks[MAX_SOCKS];

static int slot(const char *id)
{
	int i = atoi(id);

	return i >= 0 && i < MAX_SOCKS ? i : 0;
}

static int open_udp(int port, bool dual_stack)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	int s = socket(dual_stack ? AF_INET6 : AF_INET, SOCK_DGRAM, 0), off = 0;
	struct sockaddr *sa = dual_stack ? (struct sockaddr *)&a6 :
				(struct sockaddr *)&a;

	if (s < 0)
		return -errno;
	if (dual_stack)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (port && bind(s, sa, dual_stack ? sizeof(a6) : sizeof(a)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

static int set_socket(const char *dev, const char *b64, const char *which)
{
	uint8_t key[SHOAL_KEY_LEN];
	struct shoal_set_peer peer = { .public_key = key, .set_socket = true };
	struct shoal_set_device d = { .ifname = dev, .peers = &peer,
				      .n_peers = 1 };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct shoal_genl g;
	struct nlmsghdr *nlh;
	size_t next = 0;
	int ret;

	if (shoal_key_from_base64(key, b64) < 0)
		return -EINVAL;
	if (!strcmp(which, "none"))
		peer.socket_fd = -1;
	else if (!strncmp(which, "fd:", 3))
		peer.socket_fd = atoi(which + 3);
	else
		peer.socket_fd = socks[slot(which)];
	ret = shoal_genl_open(&g);
	if (ret < 0)
		return ret;
	nlh = shoal_genl_request(&g, buf, SHOAL_CMD_SET_DEVICE, 0);
	ret = shoal_set_encode(nlh, sizeof(buf), &d, &next);
	if (ret == 0)
		ret = shoal_genl_talk(&g, nlh, NULL, NULL);
	if (ret < 0 && g.ext_msg[0])
		fprintf(stderr, "peersock_helper: %s\n", g.ext_msg);
	shoal_genl_close(&g);
	return ret;
}

static void receive(int s, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	unsigned char data[2048];
	ssize_t n, i;

	if (poll(&p, 1, ms) != 1) {
		printf("none\n");
		return;
	}
	n = recv(s, data, sizeof(data), 0);
	if (n < 0) {
		printf("err %d\n", -errno);
		return;
	}
	printf("got ");
	for (i = 0; i < n; i++)
		printf("%02x", data[i]);
	printf("\n");
}

int main(void)
{
	char line[512], cmd[16], a[128], b[128], c[128];
	int n, s;

	for (n = 0; n < MAX_SOCKS; n++)
		socks[n] = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		a[0] = b[0] = c[0] = '\0';
		n = sscanf(line, "%15s %127s %127s %127s", cmd, a, b, c);
		if (n < 1)
			continue;
		if (!strcmp(cmd, "udp") || !strcmp(cmd, "udp6") ||
		    !strcmp(cmd, "unbound")) {
			s = open_udp(strcmp(cmd, "unbound") ? atoi(b) : 0,
				     !strcmp(cmd, "udp6"));
			if (s < 0) {
				printf("err %d\n", s);
				continue;
			}
			socks[slot(a)] = s;
			printf("ok\n");
		} else if (!strcmp(cmd, "tcp")) {
			socks[slot(a)] = socket(AF_INET, SOCK_STREAM, 0);
			printf("ok\n");
		} else if (!strcmp(cmd, "file")) {
			socks[slot(a)] = open("/dev/null", O_RDONLY);
			printf("ok\n");
		} else if (!strcmp(cmd, "set")) {
			printf("ret %d\n", set_socket(a, b, c));
		} else if (!strcmp(cmd, "recv")) {
			receive(socks[slot(a)], atoi(b));
		} else if (!strcmp(cmd, "close")) {
			close(socks[slot(a)]);
			socks[slot(a)] = -1;
			printf("ok\n");
		} else {
			printf("err unknown\n");
		}
	}
	return 0;
}
