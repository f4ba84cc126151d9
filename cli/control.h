/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_CONTROL_H
#define SHOAL_CLI_CONTROL_H

/*
 * Talking to shoald over its control socket (docs/architecture.md, "The
 * control socket"): which socket, one request, the answer read to EOF.
 * Every function prints its own message on stderr and returns an exit
 * code (SHOAL_EXIT_*).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

/* A socket path and its NUL; one more byte tells a too long one apart. */
#define SHOAL_CTL_PATH_SIZE (sizeof(((struct sockaddr_un *)0)->sun_path) + 1)

/* The most shoal reads of an answer: far beyond any real one. */
#define SHOAL_CTL_MAX_REPLY (16u << 20)

/* How long shoal waits for the whole answer, in ms (shoald needs 10 s). */
#define SHOAL_CTL_TIMEOUT_MS 30000

/*
 * A shoald that accepts no connection, or says it is busy (before reading
 * the request, SHOAL_CTL_BUSY_ANSWER), is asked again this often for at
 * most this long, in ms.
 */
#define SHOAL_CTL_RETRY_PAUSE_MS 50
#define SHOAL_CTL_RETRY_MS 3000

/* CLOCK_MONOTONIC in ms: what the retry and answer deadlines count in. */
long long shoal_ctl_now_ms(void);

/*
 * Whether the line (len bytes, its newline left out) is shoald's busy
 * answer; waits SHOAL_CTL_RETRY_PAUSE_MS if so.
 */
bool shoal_ctl_busy_pause(const char *line, size_t len);

/*
 * The socket to use: socket_opt (--socket) if given, else SHOAL_SOCKET if
 * set and not empty, else SHOAL_RUN_DIR/IFNAME.sock for ifname (-i or
 * status's NAME), else the only *.sock in SHOAL_RUN_DIR.  cmd names the
 * command in messages.
 */
int shoal_ctl_path(char path[SHOAL_CTL_PATH_SIZE], const char *socket_opt,
		   const char *ifname, const char *cmd);


/*
 * Sends request (one line, its newline included) and reads the answer
 * to EOF into *reply (malloc'd, NUL-terminated, *len bytes before it;
 * free it, wiping it first if it might matter).  SHOAL_EXIT_NO_DAEMON if
 * the socket cannot be reached, SHOAL_EXIT_FAILURE if the answer does
 * not come.
 */
int shoal_ctl_ask(const char *path, const char *request, char **reply,
		  size_t *len);

#endif
