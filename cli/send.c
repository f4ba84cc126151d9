// SPDX-License-Identifier: MIT
/*
 * shoal send DEV HOST:PORT HEX [from ADDR]: one control packet out of
 * DEV's UDP socket, as shoald sends its handshakes.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "endpoint.h"
#include "genl.h"
#include "hex.h"
#include "link.h"
#include "uapi/linux/shoal.h"
#include "util.h"

int shoal_cmd_send(const struct cli_args *a)
{
	uint8_t payload[SHOAL_MAX_CONTROL], from[16];
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct shoal_endpoint ep;
	struct nlmsghdr *nlh;
	struct shoal_genl g;
	size_t len, from_len = 0;
	char **argv = a->args;
	char what[32];
	int n, err;

	if (a->n_args == 4 || (a->n_args == 5 && strcmp(argv[3], "from")))
		return cli_usage_error("expected DEV HOST:PORT HEX [from ADDR]");
	if (!shoal_link_name_valid(argv[0]))
		return cli_usage_error("'%s' is not an interface name",
				       argv[0]);
	if (shoal_endpoint_parse(&ep, argv[1]) < 0)
		return cli_usage_error("'%s' is not an endpoint (1.2.3.4:PORT "
				       "or [v6addr]:PORT, numeric, port 1..65535)",
				       argv[1]);
	len = strlen(argv[2]);
	n = shoal_hex_decode(payload, sizeof(payload), argv[2], len);
	if (n <= 0)
		return cli_usage_error("the payload must be 1..%d bytes as an "
				       "even number of hex digits", SHOAL_MAX_CONTROL);
	if (a->n_args == 5) {
		from_len = ep.sa.sa_family == AF_INET ? 4 : 16;
		if (inet_pton(ep.sa.sa_family, argv[4], from) != 1)
			return cli_usage_error("'%s' is not an %s address, as "
					       "the endpoint is", argv[4],
					       from_len == 4 ? "IPv4" : "IPv6");
	}
	snprintf(what, sizeof(what), "send %s", argv[0]);
	err = cli_genl_open(&g, what);
	if (err != SHOAL_EXIT_OK)
		return err;
	nlh = shoal_genl_request(&g, buf, SHOAL_CMD_SEND_CONTROL, 0);
	mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, argv[0]);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_ENDPOINT, ep.len, &ep.sa);
	mnl_attr_put(nlh, SHOAL_A_CONTROL_PAYLOAD, (size_t)n, payload);
	if (from_len)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_LOCAL, from_len, from);
	err = shoal_genl_talk(&g, nlh, NULL, NULL);
	err = err < 0 ? cli_genl_error(what, err, g.ext_msg) : SHOAL_EXIT_OK;
	shoal_genl_close(&g);
	return err;
}
