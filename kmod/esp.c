// SPDX-License-Identifier: GPL-2.0
/*
 * ESP (RFC 4303, extended sequence numbers) with ChaCha20-Poly1305
 * (RFC 7634).  The AEAD sees [SPI | seq_hi | seq_lo | IV] from a small
 * buffer, then the packet's payload, trailer and ICV in place: the
 * rfc7539esp template authenticates the first 12 bytes, skips the IV (it
 * takes the IV from the request) and builds the nonce from salt || IV.
 */

#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "compat.h"
#include "esp.h"

#define SHOAL_ESP_AADLEN 12
#define SHOAL_ESP_MAX_SG 8

struct esp_req {
	u8 aad_iv[SHOAL_ESP_AADLEN + SHOAL_ESP_IVLEN];
	struct scatterlist sg[SHOAL_ESP_MAX_SG];
	/* Last, so its context (crypto_aead_reqsize) follows it aligned. */
	struct aead_request req;
};

static struct aead_request *esp_req_alloc(struct shoal_sa *sa,
					  struct esp_req **er)
{
	struct aead_request *req;

	*er = kmalloc(sizeof(**er) + crypto_aead_reqsize(sa->tfm), GFP_ATOMIC);
	if (!*er)
		return NULL;
	req = &(*er)->req;
	aead_request_set_tfm(req, sa->tfm);
	aead_request_set_callback(req, 0, NULL, NULL);
	return req;
}

/* AAD (SPI, seq_hi, seq_lo) and IV, then len bytes of skb from offset. */
static int esp_sg(struct esp_req *er, struct sk_buff *skb, u32 spi, u64 seq,
		  const u8 *iv, int offset, int len)
{
	__be32 *aad = (__be32 *)er->aad_iv;
	int n;

	aad[0] = htonl(spi);
	aad[1] = htonl(upper_32_bits(seq));
	aad[2] = htonl(lower_32_bits(seq));
	memcpy(er->aad_iv + SHOAL_ESP_AADLEN, iv, SHOAL_ESP_IVLEN);

	sg_init_table(er->sg, SHOAL_ESP_MAX_SG);
	sg_set_buf(er->sg, er->aad_iv, sizeof(er->aad_iv));
	n = skb_to_sgvec(skb, er->sg + 1, offset, len);
	if (n < 0)
		return n;
	sg_mark_end(&er->sg[n]);
	return 0;
}

int shoal_esp_seal(struct shoal_sa *sa, struct sk_buff *skb, u64 seq,
		   u8 nexthdr)
{
	unsigned int plen = skb->len, padlen, i;
	struct aead_request *req;
	struct esp_req *er;
	__be64 iv = cpu_to_be64(seq);
	u8 *tail, *esph;
	int ret;

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
	skb_put(skb, SHOAL_ESP_ICVLEN);

	esph = skb_push(skb, SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN);
	put_unaligned_be32(sa->spi, esph);
	put_unaligned_be32(lower_32_bits(seq), esph + 4);
	memcpy(esph + 8, &iv, SHOAL_ESP_IVLEN);

	req = esp_req_alloc(sa, &er);
	if (!req)
		return -ENOMEM;
	ret = esp_sg(er, skb, sa->spi, seq, (u8 *)&iv,
		     SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN,
		     plen + padlen + 2 + SHOAL_ESP_ICVLEN);
	if (ret)
		goto free_req;
	aead_request_set_crypt(req, er->sg, er->sg, plen + padlen + 2,
			       er->aad_iv + SHOAL_ESP_AADLEN);
	aead_request_set_ad(req, SHOAL_ESP_AADLEN + SHOAL_ESP_IVLEN);
	ret = crypto_aead_encrypt(req);
free_req:
	kfree_sensitive(er);
	return ret;
}

int shoal_esp_open(struct shoal_sa *sa, struct sk_buff *skb, u64 seq)
{
	unsigned int clen = skb->len - SHOAL_ESP_HLEN - SHOAL_ESP_IVLEN;
	unsigned int ptlen = clen - SHOAL_ESP_ICVLEN, padlen, i;
	u8 trailer[255 + 2], *pad;
	struct aead_request *req;
	struct sk_buff *last;
	struct esp_req *er;
	u8 nexthdr;
	int ret;

	/* Decryption is in place: shared or cloned data is copied first,
	 * and a packet of more pieces than the scatterlist takes is made one.
	 */
	ret = skb_cow_data(skb, 0, &last);
	if (ret < 0)
		return -ENOMEM;
	if (ret > SHOAL_ESP_MAX_SG - 1 && skb_linearize_cow(skb))
		return -ENOMEM;

	req = esp_req_alloc(sa, &er);
	if (!req)
		return -ENOMEM;
	ret = esp_sg(er, skb, sa->spi, seq, skb->data + SHOAL_ESP_HLEN,
		     SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN, clen);
	if (ret)
		goto free_req;
	aead_request_set_crypt(req, er->sg, er->sg, clen,
			       er->aad_iv + SHOAL_ESP_AADLEN);
	aead_request_set_ad(req, SHOAL_ESP_AADLEN + SHOAL_ESP_IVLEN);
	ret = crypto_aead_decrypt(req);
	if (ret) {
		ret = -EBADMSG;
		goto free_req;
	}

	/* The trailer, wherever it is: the last two bytes before the ICV
	 * and the padding before them.
	 */
	ret = -EINVAL;
	if (skb_copy_bits(skb, skb->len - SHOAL_ESP_ICVLEN - 2, trailer, 2))
		goto free_req;
	padlen = trailer[0];
	nexthdr = trailer[1];
	if (padlen + 2 > ptlen)
		goto free_req;
	pad = skb_header_pointer(skb, skb->len - SHOAL_ESP_ICVLEN - 2 - padlen,
				 padlen, trailer);
	if (!pad)
		goto free_req;
	/* RFC 4303 2.4: the padding is 1, 2, 3, ...; anything else is broken. */
	for (i = 0; i < padlen; i++)
		if (pad[i] != i + 1)
			goto free_req;

	ret = -ENOMEM;
	if (pskb_trim(skb, skb->len - SHOAL_ESP_ICVLEN - padlen - 2))
		goto free_req;
	__skb_pull(skb, SHOAL_ESP_HLEN + SHOAL_ESP_IVLEN);
	ret = nexthdr;
free_req:
	kfree_sensitive(er);
	return ret;
}
