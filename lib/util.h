/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H

#define SHOAL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where shoald's control sockets are, NAME.sock per device. */
#define SHOAL_RUN_DIR "/run/shoal"

/* Exit codes every shoal program shares. */
enum {
	SHOAL_EXIT_OK = 0,
	SHOAL_EXIT_FAILURE = 1,
	SHOAL_EXIT_USAGE = 2,
	SHOAL_EXIT_NO_MODULE = 3,
};

/*
 * mkdir -p: path and every missing parent, new ones with mode.  Only the
 * first len bytes of path count (the directory part of a file's path).
 * Returns 0 or -errno.
 */
int shoal_mkdir_p(const char *path, size_t len, unsigned int mode);

/* "PROG (shoal) VERSION" and the libraries it was linked with. */
void shoal_print_version(const char *prog);

/*
 * main() of a program that is not built yet: answers --help (usage) and
 * --version, refuses arguments, and otherwise says what is missing.
 */
int shoal_placeholder_main(int argc, char **argv, const char *prog,
			   const char *usage, const char *missing);

#endif
