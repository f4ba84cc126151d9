// SPDX-License-Identifier: MIT
/*
 * ESP with ChaCha20-Poly1305 in userspace, following kmod/esp.c and
 * kmod/sa.c so that a TAP peer and a kernel peer understand each other.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "be.h"
#include "esp.h"

#define KEY_BYTES	crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define SALT_BYTES	(SHOAL_SA_KEY_LEN - KEY_BYTES)
#define AAD_BYTES	12

/* The libsodium nonce is the RFC 7634 one: salt || 8-byte IV. */
_Static_assert(SALT_BYTES + SHOAL_ESP_IVLEN ==
	       crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce layout");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == SHOAL_ESP_ICVLEN,
	       "tag length");
_Static_assert(SHOAL_REPLAY_WINDOW % 64 == 0, "window in whole words");
_Static_assert(sizeof(((struct shoal_esp_crypt *)0)->nonce) ==
	       crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "job nonce");
_Static_assert(sizeof(((struct shoal_esp_crypt *)0)->aad) == AAD_BYTES,
	       "job AAD");

int shoal_esp_sa_init(struct shoal_esp_sa *sa, uint32_t spi,
		      const uint8_t key[SHOAL_SA_KEY_LEN],
		      uint64_t soft_packets, uint64_t hard_packets,
		      uint32_t soft_seconds, uint32_t hard_seconds, time_t now)
{
	/* Picks libsodium's fastest implementations; idempotent. */
	if (sodium_init() < 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->spi = spi;
	memcpy(sa->key, key, SHOAL_SA_KEY_LEN);
	sa->hard_packets = SHOAL_ESP_DEFAULT_HARD;
	if (hard_packets && hard_packets < sa->hard_packets)
		sa->hard_packets = hard_packets;
	sa->soft_packets = soft_packets ? soft_packets : SHOAL_ESP_DEFAULT_SOFT;
	if (sa->soft_packets > sa->hard_packets)
		sa->soft_packets = sa->hard_packets;
	sa->soft_seconds = soft_seconds;
	sa->hard_seconds = hard_seconds;
	sa->created = now;
	return 0;
}

void shoal_esp_sa_wipe(struct shoal_esp_sa *sa)
{
	sodium_memzero(sa, sizeof(*sa));
}

/* Whether at least secs seconds have passed since created (secs > 0). */
static bool aged(const struct shoal_esp_sa *sa, time_t now, uint32_t secs)
{
	/* A clock that went backwards makes the SA younger, never older. */
	return secs && now >= sa->created &&
	       (uint64_t)(now - sa->created) >= secs;
}

bool shoal_esp_sa_expired(const struct shoal_esp_sa *sa, time_t now)
{
	return sa->packets >= sa->hard_packets ||
	       aged(sa, now, sa->hard_seconds);
}

bool shoal_esp_sa_soft_due(struct shoal_esp_sa *sa, time_t now)
{
	if (sa->soft_fired)
		return false;
	if (sa->packets < sa->soft_packets && !aged(sa, now, sa->soft_seconds))
		return false;
	sa->soft_fired = true;
	return true;
}

static size_t pad_len(size_t len)
{
	/* RFC 7634: payload, padding and the two trailer bytes align to 4. */
	return (4 - (len + 2) % 4) % 4;
}

size_t shoal_esp_sealed_len(size_t len)
{
	if (len > SIZE_MAX - SHOAL_ESP_MAX_OVERHEAD)
		return SIZE_MAX;
	return SHOAL_ESP_PAYLOAD_OFFSET + len + pad_len(len) + 2 +
	       SHOAL_ESP_ICVLEN;
}

static void make_aad(uint8_t aad[AAD_BYTES], uint32_t spi, uint64_t seq)
{
	shoal_put_be32(aad, spi);
	shoal_put_be64(aad + 4, seq);
}

int shoal_esp_seal_prepare(struct shoal_esp_sa *sa, time_t now,
			   uint8_t next_header, const uint8_t *in, size_t len,
			   uint8_t *out, size_t out_size, size_t *out_len,
			   struct shoal_esp_crypt *job)
{
	size_t total = shoal_esp_sealed_len(len), padlen = pad_len(len), i;
	uint8_t *pt = out + SHOAL_ESP_PAYLOAD_OFFSET;
	size_t ptlen = len + padlen + 2;
	uint64_t seq;

	if (shoal_esp_sa_expired(sa, now) || sa->seq >= SHOAL_ESP_DEFAULT_HARD)
		return -EKEYEXPIRED;
	if (total == SIZE_MAX || out_size < total)
		return -ENOSPC;
	seq = sa->seq + 1;

	if (len)
		memmove(pt, in, len);
	for (i = 0; i < padlen; i++)
		pt[len + i] = (uint8_t)(i + 1);
	pt[len + padlen] = (uint8_t)padlen;
	pt[len + padlen + 1] = next_header;

	shoal_put_be32(out, sa->spi);
	shoal_put_be32(out + 4, (uint32_t)seq);
	/* The IV is the sequence number: unique under the key by design. */
	shoal_put_be64(out + SHOAL_ESP_HLEN, seq);
	memcpy(job->nonce, sa->key + KEY_BYTES, SALT_BYTES);
	memcpy(job->nonce + SALT_BYTES, out + SHOAL_ESP_HLEN, SHOAL_ESP_IVLEN);
	make_aad(job->aad, sa->spi, seq);
	job->key = sa->key;
	job->in = pt;
	job->out = pt;
	job->len = ptlen;
	job->seal = true;
	/* Spent now: the packet goes out with it whenever it is sealed. */
	sa->seq = seq;
	sa->packets++;
	*out_len = total;
	return 0;
}

int shoal_esp_crypt(struct shoal_esp_crypt *job)
{
	int ret = 0;

	if (job->seal)
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			job->out, job->out + job->len, NULL, job->in, job->len,
			job->aad, sizeof(job->aad), NULL, job->nonce, job->key);
	else if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
			 job->out, NULL, job->in, job->len, job->in + job->len,
			 job->aad, sizeof(job->aad), job->nonce, job->key))
		ret = -EBADMSG;
	return ret;
}

int shoal_esp_seal(struct shoal_esp_sa *sa, time_t now, uint8_t next_header,
		   const uint8_t *in, size_t len, uint8_t *out, size_t out_size,
		   size_t *out_len)
{
	struct shoal_esp_crypt job;
	int ret;

	ret = shoal_esp_seal_prepare(sa, now, next_header, in, len, out,
				     out_size, out_len, &job);
	if (!ret)
		shoal_esp_crypt(&job);
	return ret;
}

uint32_t shoal_esp_spi(const uint8_t *pkt, size_t len)
{
	return len < 4 ? 0 : shoal_get_be32(pkt);
}

bool shoal_esp_seq_infer(const struct shoal_esp_sa *sa, uint32_t seq_lo,
			 uint64_t *seq)
{
	uint32_t tl = (uint32_t)sa->top, th = (uint32_t)(sa->top >> 32);
	uint32_t w = SHOAL_REPLAY_WINDOW, bottom = tl - w + 1, hi;

	if (tl >= w - 1) {
		/* Window inside one 2^32 block: below it means the next one. */
		hi = seq_lo >= bottom ? th : th + 1;
	} else if (seq_lo >= bottom) {
		/* Window spans a block boundary: high seq_lo is the last block. */
		if (!th)
			return false;
		hi = th - 1;
	} else {
		hi = th;
	}
	*seq = (uint64_t)hi << 32 | seq_lo;
	return *seq != 0;
}

static bool replay_seen(const struct shoal_esp_sa *sa, uint64_t seq)
{
	uint64_t bit = seq % SHOAL_REPLAY_WINDOW;

	if (seq > sa->top)
		return false;
	if (sa->top - seq >= SHOAL_REPLAY_WINDOW)
		return true;
	return sa->bitmap[bit / 64] >> (bit % 64) & 1;
}

static void replay_commit(struct shoal_esp_sa *sa, uint64_t seq)
{
	uint64_t n, bit;

	if (seq > sa->top) {
		/* Forget the numbers the window slides past. */
		if (seq - sa->top >= SHOAL_REPLAY_WINDOW) {
			memset(sa->bitmap, 0, sizeof(sa->bitmap));
		} else {
			for (n = sa->top + 1; n < seq; n++) {
				bit = n % SHOAL_REPLAY_WINDOW;
				sa->bitmap[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
			}
		}
		sa->top = seq;
	}
	bit = seq % SHOAL_REPLAY_WINDOW;
	sa->bitmap[bit / 64] |= UINT64_C(1) << (bit % 64);
}

int shoal_esp_open_prepare(const struct shoal_esp_sa *sa, time_t now,
			   const uint8_t *pkt, size_t len, uint8_t *out,
			   size_t out_size, uint64_t *seq,
			   struct shoal_esp_crypt *job)
{
	size_t ptlen;

	if (len < SHOAL_ESP_MIN_LEN || (len - SHOAL_ESP_MIN_LEN) % 4 ||
	    shoal_get_be32(pkt) != sa->spi)
		return -EINVAL;
	ptlen = len - SHOAL_ESP_PAYLOAD_OFFSET - SHOAL_ESP_ICVLEN;
	if (shoal_esp_sa_expired(sa, now))
		return -EKEYEXPIRED;
	/* Before authentication: a replay costs no cryptography. */
	if (!shoal_esp_seq_infer(sa, shoal_get_be32(pkt + 4), seq) ||
	    replay_seen(sa, *seq))
		return -EALREADY;
	if (out_size < ptlen)
		return -ENOSPC;

	/* The IV comes from the packet: Linux xfrm (seqiv) does not send
	 * the sequence number there, and the kernel module accepts it too.
	 */
	memcpy(job->nonce, sa->key + KEY_BYTES, SALT_BYTES);
	memcpy(job->nonce + SALT_BYTES, pkt + SHOAL_ESP_HLEN, SHOAL_ESP_IVLEN);
	make_aad(job->aad, sa->spi, *seq);
	job->key = sa->key;
	job->in = pkt + SHOAL_ESP_PAYLOAD_OFFSET;
	job->out = out;
	job->len = ptlen;
	job->seal = false;
	return 0;
}

int shoal_esp_open_finish(struct shoal_esp_sa *sa, time_t now, uint64_t seq,
			  const struct shoal_esp_crypt *job, size_t *out_len,
			  uint8_t *next_header)
{
	size_t ptlen = job->len, i;
	uint8_t *out = job->out, padlen;

	padlen = out[ptlen - 2];
	if ((size_t)padlen + 2 > ptlen)
		goto malformed;
	/* RFC 4303 2.4: the padding is 1, 2, 3, ...; anything else is broken. */
	for (i = 0; i < padlen; i++)
		if (out[ptlen - 2 - padlen + i] != i + 1)
			goto malformed;
	/*
	 * Again: the same number may have been opened since it was checked,
	 * and the packets opened with it may have used the SA up.
	 */
	if (replay_seen(sa, seq))
		return -EALREADY;
	if (shoal_esp_sa_expired(sa, now))
		return -EKEYEXPIRED;

	replay_commit(sa, seq);
	sa->packets++;
	*next_header = out[ptlen - 1];
	*out_len = ptlen - 2 - padlen;
	return 0;

malformed:
	sodium_memzero(out, ptlen);
	return -EINVAL;
}

int shoal_esp_open(struct shoal_esp_sa *sa, time_t now, const uint8_t *pkt,
		   size_t len, uint8_t *out, size_t out_size, size_t *out_len,
		   uint8_t *next_header)
{
	struct shoal_esp_crypt job;
	uint64_t seq;
	int ret;

	ret = shoal_esp_open_prepare(sa, now, pkt, len, out, out_size, &seq,
				     &job);
	if (!ret)
		ret = shoal_esp_crypt(&job);
	if (!ret)
		ret = shoal_esp_open_finish(sa, now, seq, &job, out_len,
					    next_header);
	return ret;
}
