/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CLI_STATUS_H
#define SHOAL_CLI_STATUS_H

/* shoal status [NAME] [--json] [--socket PATH] (argv[0] is "status"). */
int shoal_cmd_status(int argc, char **argv);

#endif
