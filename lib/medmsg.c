// SPDX-License-Identifier: MIT
#include <string.h>
#include <strings.h>

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

/* A string attribute of a nest equal to want, ignoring case. */
static bool nested_str_is(const struct shoal_tlv_attr *nest, uint16_t type,
			  const char *want)
{
	struct shoal_tlv_attr a;
	char text[80];

	return shoal_tlv_find_nested(nest, type, &a) &&
	       shoal_tlv_get_str(&a, text, sizeof(text)) &&
	       !strcasecmp(text, want);
}

unsigned int shoal_med_member_key(const struct shoal_tlv_msg *msg,
				  const char *network, const char *nick,
				  uint8_t key[32])
{
	struct shoal_tlv_attr net, mem, a;
	struct shoal_tlv_iter it, in;
	unsigned int found = 0;

	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &net)) {
		if (net.type != MED_A_NETWORK_INFO ||
		    !nested_str_is(&net, MED_A_NETWORK, network))
			continue;
		shoal_tlv_iter_nested(&in, &net);
		while (shoal_tlv_next(&in, &mem)) {
			if (mem.type != MED_A_MEMBER ||
			    !nested_str_is(&mem, MED_A_NICKNAME, nick) ||
			    !shoal_tlv_find_nested(&mem, MED_A_PUBLIC_KEY,
						   &a) || a.len != 32)
				continue;
			if (!found++)
				memcpy(key, a.value, 32);
		}
	}
	return found;
}
