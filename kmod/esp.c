// SPDX-License-Identifier: GPL-2.0
/*
 * ESP (RFC 4303, extended sequence numbers) with ChaCha20-Poly1305
 * (RFC 7634): the AAD is SPI || seq_hi || seq_lo, the nonce the SA's
 * salt || the packet's IV, and the payload, padding and trailer are
 * sealed and opened in place (aead.c), with nothing allocated.
 */

#include <linux/skbuff.h>

#include "compat.h"
#include "esp.h"

static void esp_aad(u8 aad[SHOAL_AEAD_AAD_LEN], u32 spi, u64 seq)
{
	put_unaligned_be32(spi, aad);
	put_unaligned_be32(upper_32_bits(seq), aad + 4);
	put_unaligned_be32(lower_32_bits(seq), aad + 8);
}

int shoal_esp_seal(struct shoal_sa *sa, struct sk_buff *skb, u64 seq,
		   u8 nexthdr)
{
	unsigned int plen = skb->len, padlen, i;
	u8 aad[SHOAL_AEAD_AAD_LEN], *tail, *icv, *esph;

	/* RFC 7634: payload, padding and the two trailer bytes align to 4. */
	padlen = (4 - (plen + 2) % 4) % 4;
	if (skb_tailroom(skb) < padlen + 2 + SHOAL_ESP_ICVLEN ||
	    skb_headroom(skb) < SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN)
		return -ENOSPC;

	tail = skb_put(skb, padlen + 2);
	for (i = 0; i < padlen; i++)
		tail[i] = i + 1;
	tail[padlen] = padlen;
	tail[padlen + 1] = nexthdr;
	icv = skb_put(skb, SHOAL_ESP_ICVLEN);

	/* The IV is the sequence number: unique for the key. */
	esph = skb_push(skb, SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN);
	put_unaligned_be32(sa->spi, esph);
	put_unaligned_be32(lower_32_bits(seq), esph + 4);
	put_unaligned_be64(seq, esph + 8);

	esp_aad(aad, sa->spi, seq);
	shoal_aead_seal(&sa->aead, aad, esph + SHOAL_ESP_HLEN,
			esph + SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN,
			plen + padlen + 2, icv);
	return 0;
}

int shoal_esp_open(struct shoal_sa *sa, struct sk_buff *skb, u64 seq)
{
	unsigned int ptlen = skb->len - SHOAL_ESP_HLEN - SHOAL_ESP_IVLEN -
			     SHOAL_ESP_ICVLEN, padlen, i;
	u8 aad[SHOAL_AEAD_AAD_LEN], icv[SHOAL_ESP_ICVLEN];
	u8 trailer[255 + 2], *pad;
	struct sk_buff *last;
	u8 nexthdr;
	int ret;

	/* Decryption is in place: shared or cloned data is copied first,
	 * and a packet of more pieces than aead.c's scatterlist takes is
	 * made one.
	 */
	ret = skb_cow_data(skb, 0, &last);
	if (ret < 0)
		return -ENOMEM;
	if (ret > SHOAL_AEAD_MAX_SG && skb_linearize_cow(skb))
		return -ENOMEM;

	if (skb_copy_bits(skb, skb->len - SHOAL_ESP_ICVLEN, icv, sizeof(icv)))
		return -EINVAL;
	esp_aad(aad, sa->spi, seq);
	if (!shoal_aead_open(&sa->aead, aad, skb->data + SHOAL_ESP_HLEN, skb,
			     SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN, ptlen, icv))
		return -EBADMSG;

	/* The trailer, wherever it is: the last two bytes before the ICV
	 * and the padding before them.
	 */
	if (skb_copy_bits(skb, skb->len - SHOAL_ESP_ICVLEN - 2, trailer, 2))
		return -EINVAL;
	padlen = trailer[0];
	nexthdr = trailer[1];
	if (padlen + 2 > ptlen)
		return -EINVAL;
	pad = skb_header_pointer(skb, skb->len - SHOAL_ESP_ICVLEN - 2 - padlen,
				 padlen, trailer);
	if (!pad)
		return -EINVAL;
	/* RFC 4303 2.4: the padding is 1, 2, 3, ...; anything else is broken. */
	for (i = 0; i < padlen; i++)
		if (pad[i] != i + 1)
			return -EINVAL;

	if (pskb_trim(skb, skb->len - SHOAL_ESP_ICVLEN - padlen - 2))
		return -ENOMEM;
	__skb_pull(skb, SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN);
	return nexthdr;
}
