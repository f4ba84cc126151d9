/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_ESP_H
#define _SHOAL_ESP_H

#include <linux/skbuff.h>

#include "sa.h"

#define SHOAL_ESP_HLEN	8	/* SPI, low sequence number */
#define SHOAL_ESP_IVLEN	8
#define SHOAL_ESP_ICVLEN 16
/* Header, IV, the shortest padded trailer (4) and the ICV. */
#define SHOAL_ESP_MIN_LEN (SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN + 4 + SHOAL_ESP_ICVLEN)

/*
 * Turns skb (the payload, linear and writable, with room around it) into
 * an ESP packet of sa with next header nexthdr: RFC 4303 with ESN and
 * RFC 7634.  The IV is the sequence number, unique for the key.
 */
int shoal_esp_seal(struct shoal_sa *sa, struct sk_buff *skb, u64 seq,
		   u8 nexthdr);

/*
 * Authenticates and decrypts the ESP packet at skb->data in place, then
 * strips header, IV and trailer.  The header and IV must be in the linear
 * part; the rest may be in fragments, which are made writable here
 * (skb_cow_data), not copied into one buffer.  Returns the next header,
 * -EBADMSG on an authentication failure, -ENOMEM, or -EINVAL for a
 * malformed trailer.
 */
int shoal_esp_open(struct shoal_sa *sa, struct sk_buff *skb, u64 seq);

#endif /* _SHOAL_ESP_H */
