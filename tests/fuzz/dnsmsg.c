// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for shoald's DNS responder (lib/dnsmsg.c): any
 * datagram or TCP message, against a small table of names.  The first
 * byte picks UDP or TCP; the rest is the query.  A reply must stay
 * inside its limit and say what was asked; nothing is read past the
 * query or written past the buffer (ASan).
 */
#include <string.h>

#include "dnsmsg.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct shoal_dns_name names[] = {
		{ .nick = "bob", .network = "lanparty", .has_v4 = true,
		  .v4 = { 10, 77, 0, 3 } },
		{ .nick = "alice", .network = "", .has_v4 = true,
		  .v4 = { 10, 77, 0, 2 }, .has_v6 = true,
		  .v6 = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0, 0, 0, 0,
			  0, 0, 0, 2 } },
	};
	static const struct shoal_dns_zone zone = {
		.names = names, .n_names = 2,
		.v4 = { 10, 77 }, .v4_len = 16,
		.v6 = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a }, .v6_len = 64,
	};
	uint8_t *buf, out[2048];
	size_t len, n;
	bool stream;
	int rcode;

	if (size < 1)
		return 0;
	stream = data[0] & 1;
	len = size - 1;
	buf = malloc(len ? len : 1);
	check(buf);
	memcpy(buf, data + 1, len);
	n = shoal_dns_respond(&zone, buf, len, out, sizeof(out), stream,
			      &rcode);
	check(n <= sizeof(out));
	check(stream || n <= SHOAL_DNS_EDNS_SIZE);
	check((n == 0) == (rcode == -1));
	if (n) {
		check(n >= SHOAL_DNS_HEADER_LEN);
		check(out[0] == buf[0] && out[1] == buf[1]);
		check(out[2] & 0x80);
	}
	free(buf);
	return 0;
}
