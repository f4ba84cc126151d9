/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_PASSWORD_H
#define SHOAL_CLI_PASSWORD_H

/*
 * Network passwords for shoal create, join and set-password: from a file
 * (its first line) or typed on the terminal with echo off.  A password is
 * 1..SHOAL_PASSWORD_MAX bytes, any bytes (it travels as hex).  Every
 * function prints its own message, "shoal: WHAT: ...", and returns an
 * exit code.
 */

#include <stdbool.h>
#include <stddef.h>

/* The mediator's limit (docs/protocol.md, attribute PASSWORD). */
#define SHOAL_PASSWORD_MAX 1024

struct shoal_password {
	bool set;		/* false: no password */
	size_t len;
	unsigned char buf[SHOAL_PASSWORD_MAX + 1];	/* +1: tells "too long" */
};

/*
 * The first line of file ("-": standard input), its newline taken off.
 * Empty or longer than SHOAL_PASSWORD_MAX: SHOAL_EXIT_USAGE.
 */
int shoal_password_from_file(struct shoal_password *pw, const char *file,
			     const char *what);

/*
 * Asks on the controlling terminal, with echo off: once, or twice (the
 * second "again: ") if confirm.  *no_tty is set, and nothing asked, if
 * there is no terminal.  An empty answer leaves pw->set false; the caller
 * says whether that is allowed.  The terminal is restored on every way
 * out; on SIGINT, SIGTERM, SIGHUP or SIGQUIT the process then dies of
 * that signal as it would have.
 */
int shoal_password_from_tty(struct shoal_password *pw, const char *prompt,
			    bool confirm, const char *what, bool *no_tty);

/* Whether there is a controlling terminal to ask on. */
bool shoal_password_have_tty(void);

/* Wipes the password. */
void shoal_password_wipe(struct shoal_password *pw);

#endif
