// SPDX-License-Identifier: MIT
/* The NETWORKS request chat.c makes to learn who is in which network. */
#include "chat.h"
#include "mclient_int.h"

bool mclient_chat_ask_networks(struct shoald *d)
{
	struct mclient *m = mc(d);
	struct shoal_tlv_writer w;
	uint8_t buf[64];
	unsigned int i;

	if (!m || !m->logged_in)
		return false;
	for (i = 0; i < MAX_PENDING && m->pending[i].used; i++)
		;
	if (i == MAX_PENDING)
		return false;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_NETWORKS, 0,
			      ++m->next_id);
	if (!mc_send_msg(m, &w))
		return false;
	m->pending[i] = (struct pending){
		.used = true, .kind = PK_CHATNET, .id = m->next_id, .fd = -1,
		.deadline = shoald_now() + REQUEST_TIMEOUT,
	};
	return true;
}
