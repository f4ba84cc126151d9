// SPDX-License-Identifier: MIT
#include <string.h>

#include "be.h"
#include "medmsg.h"

size_t shoal_med_endpoint_put(uint8_t out[MED_ENDPOINT_MAX], uint8_t family,
			      const uint8_t *addr, uint16_t port)
{
	size_t alen = family == 4 ? 4 : 16;

	out[0] = family == 4 ? 4 : 6;
	memcpy(out + 1, addr, alen);
	shoal_put_be16(out + 1 + alen, port);
	return 3 + alen;
}

int shoal_med_endpoint_get(const uint8_t *v, size_t len, uint8_t *family,
			   uint8_t addr[16], uint16_t *port)
{
	size_t alen;

	if (len == 7 && v[0] == 4)
		alen = 4;
	else if (len == 19 && v[0] == 6)
		alen = 16;
	else
		return -1;
	memset(addr, 0, 16);
	memcpy(addr, v + 1, alen);
	*family = v[0];
	*port = shoal_get_be16(v + 1 + alen);
	return *port ? 0 : -1;
}
