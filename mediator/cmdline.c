// SPDX-License-Identifier: MIT
/*
 * What shoal-mediator's and shoal-relay's command lines share: addresses
 * and port ranges, and the static key kept in the state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cmdline.h"
#include "endpoint.h"
#include "key.h"

/* HOST:PORT, [V6]:PORT or :PORT (all addresses), numeric only. */
int med_parse_listen(const char *text, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	};
	char host[INET6_ADDRSTRLEN + 2];
	struct addrinfo *ai;
	const char *colon = strrchr(text, ':'), *port;
	size_t hlen;
	char *end;
	long p;

	if (!colon)
		return -1;
	port = colon + 1;
	p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		return -1;
	hlen = (size_t)(colon - text);
	if (hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
		text++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (!hlen)
		strcpy(host, "::");
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* LO-HI, LO <= HI: 0, or -1. */
int med_parse_range(const char *text, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(text, '-');

	if (!dash || shoal_port_parse(text, (size_t)(dash - text), lo) < 0 ||
	    shoal_port_parse(dash + 1, strlen(dash + 1), hi) < 0 || *lo > *hi)
		return -1;
	return 0;
}

/* Reads the key, or makes one (0600) on first start. */
int med_load_key(const char *prog, const char *dir, const char *file,
		 uint8_t priv[32], bool *created)
{
	char path[4096], b64[SHOAL_KEY_B64_LEN + 2];
	FILE *f;
	int fd, ret;
	size_t len;

	*created = false;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (f) {
		ret = shoal_key_read(priv, f);
		fclose(f);
		if (ret < 0)
			fprintf(stderr, "%s: %s: not a key\n", prog,
				path);
		return ret;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
			strerror(errno));
		return -1;
	}
	if (shoal_key_generate(priv) < 0)
		return -1;
	shoal_key_to_base64(b64, priv);
	len = strlen(b64);
	b64[len++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ret = fd < 0 ? -1 : 0;
	if (!ret && (write(fd, b64, len) != (ssize_t)len || fsync(fd) < 0))
		ret = -1;
	if (ret < 0)
		fprintf(stderr, "%s: %s: %s\n", prog, path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(path);
	sodium_memzero(b64, sizeof(b64));
	*created = !ret;
	return ret;
}
