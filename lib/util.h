/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H

#include <stdbool.h>

#define SHOAL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where shoald's control sockets are, NAME.sock per device. */
#define SHOAL_RUN_DIR "/run/shoal"

/*
 * shoald's whole answer to a client beyond its limits, sent before the
 * request is read: nothing was done, and shoal asks again.  Only this
 * exact line means that (a mediator's codes of -200 and below are
 * never passed on).
 */
#define SHOAL_CTL_BUSY_ANSWER \
	"error -206 busy: too many requests at once; nothing was done\n"

/* Exit codes every shoal program shares. */
enum {
	SHOAL_EXIT_OK = 0,
	SHOAL_EXIT_FAILURE = 1,
	SHOAL_EXIT_USAGE = 2,
	SHOAL_EXIT_NO_MODULE = 3,
	/*
	 * shoal's commands that go through shoald (status and the mediator
	 * commands): one code per thing a script may want to react to, so
	 * that it need not parse messages.  The mediator's and shoald's
	 * result codes behind each are in shoal(8), EXIT STATUS.
	 */
	SHOAL_EXIT_NO_DAEMON = 4,	/* no shoald, or its socket unreachable */
	SHOAL_EXIT_NOT_LOGGED_IN = 5,	/* or the mediator unreachable */
	SHOAL_EXIT_WRONG_PASSWORD = 10,
	SHOAL_EXIT_PASSWORD_REQUIRED = 11,
	SHOAL_EXIT_NO_NETWORK = 12,
	SHOAL_EXIT_NETWORK_FULL = 13,
	SHOAL_EXIT_BANNED = 14,
	SHOAL_EXIT_NOT_OWNER = 15,
	SHOAL_EXIT_NOT_MEMBER = 16,	/* or no such member, not pending... */
	SHOAL_EXIT_ALREADY_MEMBER = 17,
	SHOAL_EXIT_BAD_NAME = 18,	/* a nickname or network name bad or taken */
	SHOAL_EXIT_TOO_MANY_ATTEMPTS = 19,
	SHOAL_EXIT_MEDIATOR = 20,	/* any other error of the mediator */
};

/*
 * mkdir -p: path and every missing parent, new ones with mode.  Only the
 * first len bytes of path count (the directory part of a file's path).
 * Returns 0 or -errno.
 */
int shoal_mkdir_p(const char *path, size_t len, unsigned int mode);

/*
 * True if file a was modified after file b (b NULL or missing: true; a
 * missing: false): which of a state file and a configuration file was
 * written last, the newer word winning.
 */
bool shoal_file_newer(const char *a, const char *b);

#include <stddef.h>
#include <stdint.h>

/* libsodium's crypto_shorthash_KEYBYTES (SipHash-2-4). */
#define SHOAL_HASH_KEY_LEN 16

/*
 * The slot of data in a table of n slots, by a hash keyed with the
 * table's own random key: chosen public keys, SPIs or addresses cannot
 * pile up in one slot or aim at another's.
 */
size_t shoal_keyed_index(const uint8_t key[SHOAL_HASH_KEY_LEN],
			 const void *data, size_t len, size_t n);

/* "PROG (shoal) VERSION" and the libraries it was linked with. */
void shoal_print_version(const char *prog);

/*
 * main() of a program that is not built yet: answers --help (usage) and
 * --version, refuses arguments, and otherwise says what is missing.
 */
int shoal_placeholder_main(int argc, char **argv, const char *prog,
			   const char *usage, const char *missing);

#endif
