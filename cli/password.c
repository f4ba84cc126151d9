// SPDX-License-Identifier: MIT
/* Reading network passwords; see password.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "password.h"
#include "util.h"

void shoal_password_wipe(struct shoal_password *pw)
{
	sodium_memzero(pw, sizeof(*pw));
}

/*
 * The first line of fd into pw->buf: 0, -1 with errno, or -2 if it is
 * longer than SHOAL_PASSWORD_MAX.  What follows the line is not read
 * (beyond the buffer's size) and does not matter.
 */
static int read_first_line(int fd, struct shoal_password *pw)
{
	const size_t cap = sizeof(pw->buf);
	unsigned char *nl;
	ssize_t n;

	pw->len = 0;
	while (pw->len < cap) {
		n = read(fd, pw->buf + pw->len, cap - pw->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		nl = memchr(pw->buf + pw->len, '\n', (size_t)n);
		if (nl) {
			pw->len = (size_t)(nl - pw->buf);
			return 0;
		}
		pw->len += (size_t)n;
	}
	return -2;
}

int shoal_password_from_file(struct shoal_password *pw, const char *file,
			     const char *what)
{
	bool from_stdin = !strcmp(file, "-");
	const char *name = from_stdin ? "standard input" : file;
	int fd, ret, err;

	shoal_password_wipe(pw);
	if (from_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			fprintf(stderr, "shoal: %s: %s: %s\n", what, file,
				strerror(errno));
			return SHOAL_EXIT_FAILURE;
		}
	}
	ret = read_first_line(fd, pw);
	err = errno;
	if (!from_stdin)
		close(fd);
	if (ret == -1) {
		fprintf(stderr, "shoal: %s: reading %s: %s\n", what, name,
			strerror(err));
		shoal_password_wipe(pw);
		return SHOAL_EXIT_FAILURE;
	}
	if (ret == -2) {
		fprintf(stderr, "shoal: %s: the password in %s is longer than "
			"%d bytes\n", what, name, SHOAL_PASSWORD_MAX);
		shoal_password_wipe(pw);
		return SHOAL_EXIT_USAGE;
	}
	if (pw->len == 0) {
		fprintf(stderr, "shoal: %s: the first line of %s is empty "
			"(--no-password sets none)\n", what, name);
		shoal_password_wipe(pw);
		return SHOAL_EXIT_USAGE;
	}
	pw->set = true;
	return SHOAL_EXIT_OK;
}

/* ---- the terminal ------------------------------------------------- */

/*
 * The signals that end a prompt.  While it is up they are blocked except
 * inside ppoll(), so one arriving at any moment is seen there and never
 * while the terminal is half set; the handler only notes it.
 */
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static volatile sig_atomic_t tty_caught;

static void tty_on_signal(int sig)
{
	tty_caught = sig;
}

struct tty {
	int fd;
	bool termios_set;
	struct termios saved;
	struct sigaction old_act[SHOAL_ARRAY_SIZE(tty_signals)], old_tstp;
	sigset_t old_mask, wait_mask;
};

static void tty_signals_on(struct tty *t)
{
	struct sigaction sa = { .sa_handler = tty_on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;
	size_t i;

	tty_caught = 0;
	sigemptyset(&block);
	for (i = 0; i < SHOAL_ARRAY_SIZE(tty_signals); i++)
		sigaddset(&block, tty_signals[i]);
	sa.sa_mask = block;
	/* No SA_RESTART: the wait must end when one comes. */
	sigprocmask(SIG_BLOCK, &block, &t->old_mask);
	t->wait_mask = t->old_mask;
	for (i = 0; i < SHOAL_ARRAY_SIZE(tty_signals); i++) {
		sigaction(tty_signals[i], NULL, &t->old_act[i]);
		/* One ignored (nohup) stays ignored. */
		if (t->old_act[i].sa_handler != SIG_IGN)
			sigaction(tty_signals[i], &sa, NULL);
		sigdelset(&t->wait_mask, tty_signals[i]);
	}
	/*
	 * Stopped with ^Z, shoal would leave the shell a terminal without
	 * echo: ^Z does nothing while the prompt is up.
	 */
	sigaction(SIGTSTP, &ign, &t->old_tstp);
}

static void tty_signals_off(struct tty *t)
{
	size_t i;

	sigaction(SIGTSTP, &t->old_tstp, NULL);
	for (i = 0; i < SHOAL_ARRAY_SIZE(tty_signals); i++)
		sigaction(tty_signals[i], &t->old_act[i], NULL);
	/* A signal still pending now meets its old handling. */
	sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
}

/* Opens the terminal and turns echo off: 0, 1 if there is none, -1. */
static int tty_open(struct tty *t)
{
	struct termios quiet;

	t->termios_set = false;
	/*
	 * ENXIO without a controlling terminal; whatever else keeps us from
	 * it (no /dev/tty in a container...) means the same: no one to ask.
	 */
	t->fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (t->fd < 0)
		return 1;
	if (tcgetattr(t->fd, &t->saved) < 0) {
		close(t->fd);
		return 1;
	}
	tty_signals_on(t);
	quiet = t->saved;
	/* ECHONL still shows the newline, so the next line starts below. */
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(t->fd, TCSAFLUSH, &quiet) < 0) {
		tty_signals_off(t);
		close(t->fd);
		return -1;
	}
	t->termios_set = true;
	return 0;
}

bool shoal_password_have_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	bool ok = fd >= 0 && isatty(fd);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Restores the terminal; then dies of the signal that ended the prompt. */
static void tty_close(struct tty *t)
{
	int sig = tty_caught;

	if (sig && write(t->fd, "\n", 1) < 0) {
		/* The terminal is gone: nothing to tidy on it. */
	}
	if (t->termios_set)
		tcsetattr(t->fd, TCSAFLUSH, &t->saved);
	tty_signals_off(t);
	close(t->fd);
	if (sig) {
		/*
		 * Die as the signal would have killed us, so the shell sees
		 * it; a handler the caller had installed gets it instead.
		 */
		raise(sig);
	}
}

/* Waits for input: 0, -1 with errno, -3 if a signal ended the prompt. */
static int tty_wait(struct tty *t)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

	for (;;) {
		if (tty_caught)
			return -3;
		if (ppoll(&pfd, 1, NULL, &t->wait_mask) > 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * One line typed, without its newline, into pw: 0, -1 with errno, -2 if
 * too long (the rest of the line is read and dropped), -3 on a signal.
 * End of input (^D) ends the line too.
 */
static int tty_read_line(struct tty *t, struct shoal_password *pw)
{
	unsigned char drop[256];
	const size_t cap = sizeof(pw->buf);
	bool too_long = false;
	unsigned char *nl;
	size_t room;
	ssize_t n;
	int ret;

	pw->len = 0;
	for (;;) {
		ret = tty_wait(t);
		if (ret < 0)
			break;
		room = cap - pw->len;
		if (too_long || !room) {
			too_long = true;
			n = read(t->fd, drop, sizeof(drop));
		} else {
			n = read(t->fd, pw->buf + pw->len, room);
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			ret = n < 0 ? -1 : 0;
			break;
		}
		nl = memchr(too_long ? drop : pw->buf + pw->len, '\n',
			    (size_t)n);
		if (!too_long && nl)
			pw->len = (size_t)(nl - pw->buf);
		else if (!too_long)
			pw->len += (size_t)n;
		if (nl) {
			ret = 0;
			break;
		}
	}
	sodium_memzero(drop, sizeof(drop));
	if (ret == 0 && (too_long || pw->len == cap))
		ret = -2;
	return ret;
}

/* Writes the prompt on the terminal. */
static int tty_prompt(struct tty *t, const char *prompt)
{
	size_t len = strlen(prompt);
	ssize_t n;

	while (len) {
		n = write(t->fd, prompt, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		prompt += n;
		len -= (size_t)n;
	}
	return 0;
}

static int tty_ask(struct tty *t, const char *prompt,
		   struct shoal_password *pw)
{
	if (tty_prompt(t, prompt) < 0)
		return -1;
	return tty_read_line(t, pw);
}

int shoal_password_from_tty(struct shoal_password *pw, const char *prompt,
			    bool confirm, const char *what, bool *no_tty)
{
	struct shoal_password again;
	struct tty t;
	int ret, err;

	shoal_password_wipe(pw);
	*no_tty = false;
	ret = tty_open(&t);
	if (ret == 1) {
		*no_tty = true;
		return SHOAL_EXIT_OK;
	}
	if (ret < 0) {
		fprintf(stderr, "shoal: %s: the terminal: %s\n", what,
			strerror(errno));
		return SHOAL_EXIT_FAILURE;
	}
	again.len = 0;
	ret = tty_ask(&t, prompt, pw);
	if (ret == 0 && confirm && pw->len)
		ret = tty_ask(&t, "again: ", &again);
	err = errno;
	tty_close(&t);	/* on a signal, does not return */

	if (ret == -2) {
		fprintf(stderr, "shoal: %s: a password is at most %d bytes\n",
			what, SHOAL_PASSWORD_MAX);
		ret = SHOAL_EXIT_USAGE;
	} else if (ret < 0) {
		fprintf(stderr, "shoal: %s: reading the terminal: %s\n", what,
			strerror(err));
		ret = SHOAL_EXIT_FAILURE;
	} else if (confirm && pw->len && (again.len != pw->len ||
		   sodium_memcmp(again.buf, pw->buf, pw->len))) {
		fprintf(stderr, "shoal: %s: the passwords do not match\n",
			what);
		ret = SHOAL_EXIT_FAILURE;
	} else {
		pw->set = pw->len > 0;
		ret = SHOAL_EXIT_OK;
	}
	sodium_memzero(&again, sizeof(again));
	if (ret != SHOAL_EXIT_OK)
		shoal_password_wipe(pw);
	return ret;
}
