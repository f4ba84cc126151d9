// SPDX-License-Identifier: MIT
/*
 * shoal: the command-line tool, in the style of wg(8) and ip(8).  Here
 * are main() and the table of commands; each command lives in a file of
 * its own (cli.h), and one parser (cli/args.c) reads every command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mediator.h"
#include "util.h"

static const char usage_text[] =
	"Usage: shoal COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  genkey                 print a new base64 private key\n"
	"  pubkey                 read a private key on stdin, print its public key\n"
	"  set DEV [listen-port PORT] [peer PEER [remove] [mac MAC]\n"
	"      [endpoint HOST:PORT] [[no-]layer3] [[no-]bridge]\n"
	"      [allowed-ips PREFIX[,PREFIX...]|any]\n"
	"      [sa-out SPI KEYFILE [LIMITS]] [sa-in SPI KEYFILE [LIMITS]]...]...\n"
	"      LIMITS: [soft-packets N] [hard-packets N] [soft-seconds N] [hard-seconds N]\n"
	"                         configure a device and its peers\n"
	"  show [DEV|all] [-j|--json] [-p|--pretty]\n"
	"                         show shoal devices\n"
	"  monitor [DEV] [-j|--json] [-p|--pretty]\n"
	"                         print kernel events until interrupted\n"
	"  send DEV HOST:PORT HEX send a control packet from DEV's socket\n"
	"  status [NAME | -i NAME] [-j|--json] [-p|--pretty] [-s PATH]\n"
	"                         ask shoald about its peers\n"
	"\n"
	"Commands shoald carries out with the mediator:\n"
	"  login HOST:PORT PUBLICKEY [--nick NICKNAME] [-j|--json]\n"
	"                         log in; print the nickname and addresses\n"
	"  logout                 log out\n"
	"  nick NICKNAME          change the nickname\n"
	"  create NET [--password-file FILE | --no-password] [--approval]\n"
	"                         create a network\n"
	"  join NET [--password-file FILE | --no-password]\n"
	"                         join a network\n"
	"  leave NET              leave a network\n"
	"  delete NET             delete a network you own\n"
	"  approve NET NICKNAME   let a member waiting for approval in\n"
	"  kick NET NICKNAME      remove a member\n"
	"  ban NET NICKNAME       remove a member for good\n"
	"  set-password NET [--password-file FILE | --no-password]\n"
	"                         change or remove a network's password\n"
	"  networks [-j|--json]   show the networks and their members\n"
	"  netcheck [-j|--json]   find out how the NAT here behaves\n"
	"  lan-broadcast [DEV] [on [--ports LIST]|off] [-j|--json]\n"
	"                         copy local programs' LAN broadcasts onto DEV\n"
	"  msg NICKNAME|NETWORK TEXT...\n"
	"                         send a chat message to a member or a network\n"
	"  chat [NETWORK] [-j|--json]\n"
	"                         print chat messages, send lines typed\n"
	"  These and status take -i NAME (shoald of interface NAME) and\n"
	"  -s PATH (its socket); 'shoal COMMAND --help' says more.\n"
	"  Every command that prints takes -j (JSON) and -p (indented JSON).\n"
	"\n"
	"Options:\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See shoal(8).\n";

/* What the mediator commands take beyond -i and -s. */
#define MEDIATOR (CLI_OPT_DAEMON)
#define PASSWORD (CLI_OPT_DAEMON | CLI_OPT_PASSWORD)

const struct cli_command cli_commands[] = {
	{ "genkey", "", "Print a new private key, in base64.\n", 0, 0, 0,
	  shoal_cmd_genkey },
	{ "pubkey", "",
	  "Read a private key (base64) on standard input and print its\n"
	  "public key.\n", 0, 0, 0, shoal_cmd_pubkey },
	{ "set", "DEV [listen-port PORT] [peer PEER OPTIONS...]...",
	  "Configure the device DEV and its peers; each peer's OPTIONS are\n"
	  "remove, mac MAC, endpoint HOST:PORT, [no-]layer3, [no-]bridge,\n"
	  "allowed-ips PREFIX[,PREFIX...]|any, sa-out SPI KEYFILE [LIMITS] and\n"
	  "sa-in SPI KEYFILE [LIMITS]; LIMITS are soft-packets N, hard-packets\n"
	  "N, soft-seconds N and hard-seconds N.  A KEYFILE of '-' is standard\n"
	  "input.\n", CLI_OPTIONS_FIRST, 0, -1, shoal_cmd_set },
	{ "show", "[DEV|all]",
	  "Show the shoal devices, or DEV alone: their counters and peers.\n"
	  "The JSON is a list of devices, also for one.\n",
	  CLI_OPT_JSON, 0, 1, shoal_cmd_show },
	{ "monitor", "[DEV]",
	  "Print shoal.ko's events (on DEV only, if given) until interrupted:\n"
	  "a line of text, or a JSON object, for each.\n",
	  CLI_OPT_JSON, 0, 1, shoal_cmd_monitor },
	{ "send", "DEV HOST:PORT HEX [from ADDR]",
	  "Send HEX, a control packet, to HOST:PORT from DEV's UDP socket\n"
	  "(from the local address ADDR, if given).\n",
	  0, 3, 5, shoal_cmd_send },
	{ "status", "[NAME]",
	  "Ask shoald (of interface NAME) about its peers.\n",
	  MEDIATOR | CLI_OPT_JSON, 0, 1, shoal_cmd_status },
	{ "login", "HOST:PORT PUBLICKEY",
	  "Log shoald in to the mediator at HOST:PORT, whose public key is\n"
	  "PUBLICKEY (base64), and print the nickname, addresses and MAC it\n"
	  "assigns.  --nick asks for a nickname; without it a new member gets\n"
  "the host name, made unique by the mediator.\n"
	  "A cluster's instances, one key for all: HOST:PORT,HOST:PORT,...\n"
	  "(up to 16), tried in turn when the one shoald is on goes away.\n",
	  MEDIATOR | CLI_OPT_JSON | CLI_OPT_NICK, 2, 2, shoal_cmd_login },
	{ "logout", "", "Log shoald out of the mediator.\n", MEDIATOR, 0, 0,
	  shoal_cmd_simple },
	{ "nick", "NICKNAME", "Change the nickname.\n", MEDIATOR, 1, 1,
	  shoal_cmd_simple },
	{ "create", "NET",
	  "Create the network NET and own it.  The password is the first line\n"
	  "of --password-file FILE ('-': standard input), or typed twice on the\n"
	  "terminal; --no-password creates it without one.  With --approval\n"
	  "new members wait until the owner approves them.\n",
	  PASSWORD | CLI_OPT_APPROVAL, 1, 1, shoal_cmd_new_password },
	{ "join", "NET",
	  "Join the network NET.  The password is the first line of\n"
	  "--password-file FILE ('-': standard input), or typed on the terminal\n"
	  "(empty: none); without a terminal, or with --no-password, none is\n"
	  "sent.\n", PASSWORD | CLI_OPT_JSON, 1, 1, shoal_cmd_join },
	{ "leave", "NET", "Leave the network NET.\n", MEDIATOR, 1, 1,
	  shoal_cmd_simple },
	{ "delete", "NET", "Delete the network NET (its owner only).\n",
	  MEDIATOR, 1, 1, shoal_cmd_simple },
	{ "approve", "NET MEMBER",
	  "Let MEMBER, waiting to join NET, in (the owner only).  MEMBER is\n"
	  "a nickname or a public key (base64); shoald looks the nickname up\n"
	  "among NET's members and sends the key.\n", MEDIATOR, 2, 2,
	  shoal_cmd_simple },
	{ "kick", "NET MEMBER",
	  "Remove MEMBER (a nickname or a public key) from NET (the owner\n"
	  "only).\n", MEDIATOR, 2, 2, shoal_cmd_simple },
	{ "ban", "NET MEMBER",
	  "Remove MEMBER (a nickname or a public key) from NET and keep them\n"
	  "out (the owner only).\n", MEDIATOR, 2, 2, shoal_cmd_simple },
	{ "set-password", "NET",
	  "Change the password of NET (the owner only), as for create;\n"
	  "--no-password removes it.\n", PASSWORD, 1, 1,
	  shoal_cmd_new_password },
	{ "networks", "",
	  "Show the networks shoald is in and their members.\n",
	  MEDIATOR | CLI_OPT_JSON, 0, 0, shoal_cmd_networks },
	{ "netcheck", "",
	  "Find out how the NAT in front of this host behaves (takes up to\n"
	  "3 s) and what that means for reaching peers.\n",
	  MEDIATOR | CLI_OPT_JSON, 0, 0, shoal_cmd_netcheck },
	{ "lan-broadcast", "[DEV] [on|off]",
	  "Show whether shoald copies the limited broadcasts (255.255.255.255)\n"
	  "that local programs send out of other interfaces onto its device\n"
	  "DEV, or turn that on or off (root only).  --ports LIST limits it\n"
	  "to those UDP ports and ranges (27015,7777-7779); without it, every\n"
	  "port but DHCP's.  The setting is kept across restarts and wins over\n"
	  "the configuration's LanBroadcast until the configuration is newer.\n",
	  MEDIATOR | CLI_OPT_JSON | CLI_OPT_PORTS, 0, 2,
	  shoal_cmd_lan_broadcast },
	{ "msg", "NICKNAME|NETWORK TEXT...",
	  "Send TEXT to a member, or to every member of a network who is\n"
	  "online, over the peers' sessions.  Exits 0 once every recipient\n"
	  "acknowledged it; a member offline is an error (nothing is\n"
	  "queued).\n", MEDIATOR | CLI_OPT_JSON, 2, -1, shoal_cmd_msg },
	{ "chat", "[NETWORK]",
	  "Print messages as they arrive (time, sender@network: text); each\n"
	  "line on stdin goes to NETWORK (the only one you are in, if\n"
	  "just one).  With -j, one JSON object a message.\n",
	  MEDIATOR | CLI_OPT_JSON, 0, 1, shoal_cmd_chat },
};

const unsigned int cli_n_commands = SHOAL_ARRAY_SIZE(cli_commands);

static int run(const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_args a;
	int ret;

	ret = cli_parse(cmd, argc, argv, &a);
	if (ret != SHOAL_EXIT_OK)
		return ret < 0 ? SHOAL_EXIT_OK : ret;
	return cmd->run(&a);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	unsigned int i;
	int c;

	/* Options before the command only; the rest belong to the command. */
	while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoal");
			return SHOAL_EXIT_OK;
		default:
			fputs("Try 'shoal --help'.\n", stderr);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return SHOAL_EXIT_USAGE;
	}
	for (i = 0; i < cli_n_commands; i++)
		if (!strcmp(argv[optind], cli_commands[i].name))
			return run(&cli_commands[i], argc - optind,
				   argv + optind);
	return cli_usage_error("unknown command '%s'", argv[optind]);
}
