// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <netlink/version.h>
#include <sodium.h>

#include "util.h"

bool shoal_file_newer(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0)
		return false;
	if (!b || stat(b, &sb) < 0)
		return true;
	if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
		return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec;
	return sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

int shoal_mkdir_p(const char *path, size_t len, unsigned int mode)
{
	char buf[4096];
	size_t i;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len);
	buf[len] = '\0';
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = i < len ? path[i] : '\0';
	}
	return 0;
}

_Static_assert(SHOAL_HASH_KEY_LEN == crypto_shorthash_KEYBYTES,
	       "the key is SipHash's");

size_t shoal_keyed_index(const uint8_t key[SHOAL_HASH_KEY_LEN],
			 const void *data, size_t len, size_t n)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, data, len, key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % n);
}

void shoal_print_version(const char *prog)
{
	printf("%s (shoal) %s\n", prog, SHOAL_VERSION);
	printf("libsodium %s, libnl %s, libmnl\n", sodium_version_string(),
	       LIBNL_VERSION);
}

int shoal_placeholder_main(int argc, char **argv, const char *prog,
			   const char *usage, const char *missing)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version(prog);
			return SHOAL_EXIT_OK;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	fprintf(stderr, "%s: %s\n", prog, missing);
	return SHOAL_EXIT_FAILURE;
}
