// SPDX-License-Identifier: MIT
/*
 * The one command-line parser: every command's options, checked against
 * what its table entry says it takes, and its count of arguments.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* The command being parsed or run, which cli_usage_error() names. */
static const struct cli_command *current;

int cli_usage_error(const char *fmt, ...)
{
	const char *name = current ? current->name : NULL;
	va_list ap;

	fprintf(stderr, "shoal: %s%s", name ? name : "", name ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'shoal %s%s--help'.\n", name ? name : "",
		name ? " " : "");
	return SHOAL_EXIT_USAGE;
}

void cli_print_usage(FILE *f, const struct cli_command *cmd)
{
	unsigned int o = cmd->opts;

	fprintf(f, "Usage: shoal %s%s%s", cmd->name, *cmd->synopsis ? " " : "",
		cmd->synopsis);
	if (o & CLI_OPT_PASSWORD)
		fputs(" [--password-file FILE | --no-password]", f);
	if (o & CLI_OPT_APPROVAL)
		fputs(" [--approval]", f);
	if (o & CLI_OPT_NICK)
		fputs(" [--nick NICKNAME]", f);
	if (o & CLI_OPT_PORTS)
		fputs(" [--ports LIST]", f);
	if (o & CLI_OPT_JSON)
		fputs(" [-j | --json] [-p | --pretty]", f);
	if (o & CLI_OPT_DAEMON)
		fputs("\n       [-i NAME | --interface NAME] "
		      "[-s PATH | --socket PATH]", f);
	fputs("\n\n", f);
	fputs(cmd->help, f);
	if (o & CLI_OPT_JSON)
		fputs("\n-j prints JSON, -p indented JSON.\n", f);
	if (o & CLI_OPT_DAEMON)
		fputs("\nshoald is found as for shoal status: --socket PATH, "
		      "else\n$SHOAL_SOCKET, else " SHOAL_RUN_DIR "/NAME.sock "
		      "for -i NAME, else\nthe only socket in " SHOAL_RUN_DIR
		      ".", f);
	fputs((o & CLI_OPT_DAEMON) ? "  See shoal(8).\n" : "\nSee shoal(8).\n",
	      f);
}

enum { O_NICK = 256, O_PASSWORD_FILE, O_NO_PASSWORD, O_APPROVAL, O_PORTS };

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "interface", required_argument, NULL, 'i' },
	{ "socket", required_argument, NULL, 's' },
	{ "nick", required_argument, NULL, O_NICK },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "no-password", no_argument, NULL, O_NO_PASSWORD },
	{ "approval", no_argument, NULL, O_APPROVAL },
	{ "ports", required_argument, NULL, O_PORTS },
	{ 0 }
};

/* Whether cmd takes the option getopt returned. */
static bool takes(const struct cli_command *cmd, int opt)
{
	switch (opt) {
	case 'j':
	case 'p':
		return cmd->opts & CLI_OPT_JSON;
	case 'i':
	case 's':
		return cmd->opts & CLI_OPT_DAEMON;
	case O_NICK:
		return cmd->opts & CLI_OPT_NICK;
	case O_PASSWORD_FILE:
	case O_NO_PASSWORD:
		return cmd->opts & CLI_OPT_PASSWORD;
	case O_APPROVAL:
		return cmd->opts & CLI_OPT_APPROVAL;
	case O_PORTS:
		return cmd->opts & CLI_OPT_PORTS;
	}
	return true;
}

/* Sets *slot to optarg; an exit code if it was set already. */
static int once(const char **slot, const char *name)
{
	if (*slot)
		return cli_usage_error("%s given twice", name);
	*slot = optarg;
	return SHOAL_EXIT_OK;
}

/* One option; SHOAL_EXIT_OK, -1 after --help, or an exit code. */
static int take_option(const struct cli_command *cmd, struct cli_args *a,
		       int opt)
{
	switch (opt) {
	case 'h':
		cli_print_usage(stdout, cmd);
		return -1;
	case 'p':
		a->pretty = true;
		/* fall through */
	case 'j':
		a->json = true;
		return SHOAL_EXIT_OK;
	case 'i':
		return once(&a->ifname, "-i");
	case 's':
		return once(&a->socket, "--socket");
	case O_NICK:
		return once(&a->nick, "--nick");
	case O_PASSWORD_FILE:
		return once(&a->password_file, "--password-file");
	case O_NO_PASSWORD:
		a->no_password = true;
		return SHOAL_EXIT_OK;
	case O_APPROVAL:
		a->approval = true;
		return SHOAL_EXIT_OK;
	case O_PORTS:
		return once(&a->ports, "--ports");
	}
	return SHOAL_EXIT_OK;
}

static int parse_options(const struct cli_command *cmd, int argc,
			 char **argv, struct cli_args *a)
{
	const char *shortopts = cmd->opts & CLI_OPTIONS_FIRST ? "+:hjpi:s:" :
							      ":hjpi:s:";
	char word[64];
	int opt, idx, ret;

	/* 0, not 1: main() already ran getopt on another argv. */
	optind = 0;
	opterr = 0;
	for (;;) {
		idx = -1;
		opt = getopt_long(argc, argv, shortopts, longopts, &idx);
		if (opt == -1)
			break;
		if (opt == '?' && optopt)
			return cli_usage_error("unknown option '-%c'", optopt);
		if (opt == '?')
			return cli_usage_error("unknown option '%s'",
					       argv[optind - 1]);
		/* The option's own word: getopt has moved past it. */
		if (opt == ':')
			return cli_usage_error("'%s' needs an argument",
					       argv[optind - 1]);
		if (!takes(cmd, opt)) {
			/* As typed: the word may be its argument, or "-jp". */
			if (idx >= 0)
				snprintf(word, sizeof(word), "--%s",
					 longopts[idx].name);
			else
				snprintf(word, sizeof(word), "-%c", opt);
			return cli_usage_error("'%s' is not an option of %s",
					       word, cmd->name);
		}
		ret = take_option(cmd, a, opt);
		if (ret != SHOAL_EXIT_OK)
			return ret;
	}
	if (a->password_file && a->no_password)
		return cli_usage_error("--password-file and --no-password "
				       "exclude each other");
	return SHOAL_EXIT_OK;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      struct cli_args *a)
{
	int ret;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	current = cmd;
	ret = parse_options(cmd, argc, argv, a);
	if (ret != SHOAL_EXIT_OK)
		return ret;
	a->args = argv + optind;
	a->n_args = argc - optind;
	if (a->n_args < cmd->min_args)
		return cli_usage_error("expected %s", cmd->synopsis);
	if (cmd->max_args >= 0 && a->n_args > cmd->max_args)
		return cli_usage_error("unexpected argument '%s'",
				       a->args[cmd->max_args]);
	return SHOAL_EXIT_OK;
}
