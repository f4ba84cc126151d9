/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

/*
 * The shoal tool's commands: one table (cli/shoal.c), one entry per
 * command, and one parser (cli/args.c) that reads every command's options
 * and counts its arguments before the command runs, as wg(8)'s subcommand
 * table does.  Each command lives in a file of its own.
 */

#include <stdbool.h>
#include <stdio.h>

struct shoal_genl;

/* The options a command takes, beyond -h/--help. */
enum {
	CLI_OPT_JSON = 1 << 0,		/* -j/--json, -p/--pretty */
	CLI_OPT_DAEMON = 1 << 1,	/* -i/--interface, -s/--socket */
	CLI_OPT_NICK = 1 << 2,		/* --nick */
	CLI_OPT_PASSWORD = 1 << 3,	/* --password-file, --no-password */
	CLI_OPT_APPROVAL = 1 << 4,	/* --approval */
	/*
	 * Options only before the first argument: set's words are its own
	 * ("sa-in SPI -"), and one that looked like an option must reach it.
	 */
	CLI_OPTIONS_FIRST = 1 << 5,
	CLI_OPT_PORTS = 1 << 6,		/* --ports LIST */
};

/* What the command line said, for the command to act on. */
struct cli_args {
	const struct cli_command *cmd;
	char **args;			/* the arguments after the options */
	int n_args;
	bool json, pretty;		/* -j, -p (-p implies -j) */
	const char *ifname, *socket;	/* -i, -s */
	const char *nick, *password_file;
	bool no_password, approval;
	const char *ports;		/* --ports */
};

struct cli_command {
	const char *name;
	const char *synopsis;	/* the arguments, for usage */
	const char *help;	/* what it does, for COMMAND --help */
	unsigned int opts;	/* CLI_OPT_* */
	int min_args, max_args;	/* max -1: no limit */
	int (*run)(const struct cli_args *a);
};

/* The table, and its length. */
extern const struct cli_command cli_commands[];
extern const unsigned int cli_n_commands;

/*
 * Reads argv (argv[0] is the command's name) into a for cmd.  Returns
 * SHOAL_EXIT_OK, -1 after printing the usage for -h/--help, or the exit
 * code after saying what was wrong.
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      struct cli_args *a);

/* COMMAND --help's text. */
void cli_print_usage(FILE *f, const struct cli_command *cmd);

/*
 * "shoal: COMMAND: message" and where to read more, for the command being
 * parsed or run; returns SHOAL_EXIT_USAGE.
 */
int cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* ---- the device commands' kernel side (cli/netlink.c) ---------------- */

/* Says what went wrong with a request to shoal.ko; returns the exit code. */
int cli_genl_error(const char *what, int err, const char *ext_msg);

/* Opens the family; an exit code other than SHOAL_EXIT_OK on failure. */
int cli_genl_open(struct shoal_genl *g, const char *what);

/* ---- the commands ---------------------------------------------------- */

int shoal_cmd_genkey(const struct cli_args *a);
int shoal_cmd_pubkey(const struct cli_args *a);
int shoal_cmd_set(const struct cli_args *a);
int shoal_cmd_show(const struct cli_args *a);
int shoal_cmd_monitor(const struct cli_args *a);
int shoal_cmd_send(const struct cli_args *a);
int shoal_cmd_status(const struct cli_args *a);
int shoal_cmd_lan_broadcast(const struct cli_args *a);
int shoal_cmd_msg(const struct cli_args *a);
int shoal_cmd_chat(const struct cli_args *a);

#endif
