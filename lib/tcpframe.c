// SPDX-License-Identifier: MIT
/*
 * The TCP fallback's stream codec: see tcpframe.h and docs/protocol.md,
 * "UDP over TCP".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "tcpframe.h"

void shoal_tcpframe_rx_init(struct shoal_tcpframe_rx *rx, bool with_header,
			    uint32_t max)
{
	rx->max = max && max <= SHOAL_TCPFRAME_MAX ? max : SHOAL_TCPFRAME_MAX;
	rx->have = 0;
	rx->header_done = !with_header;
}

/* Moves up to want - rx->have bytes of *data into rx->buf. */
static void take(struct shoal_tcpframe_rx *rx, size_t want,
		 const uint8_t **data, size_t *len)
{
	size_t n = want - rx->have;

	if (n > *len)
		n = *len;
	memcpy(rx->buf + rx->have, *data, n);
	rx->have += (uint32_t)n;
	*data += n;
	*len -= n;
}

int shoal_tcpframe_header(struct shoal_tcpframe_rx *rx, const uint8_t **data,
			  size_t *len, uint16_t *port)
{
	if (rx->header_done)
		return -EPROTO;
	take(rx, SHOAL_TCPFRAME_HEADER_LEN, data, len);
	/* Wrong from its first bytes on: no need to wait for the rest. */
	if (memcmp(rx->buf, SHOAL_TCPFRAME_MAGIC,
		   rx->have < SHOAL_TCPFRAME_MAGIC_LEN ?
		   rx->have : SHOAL_TCPFRAME_MAGIC_LEN))
		return -EPROTO;
	if (rx->have < SHOAL_TCPFRAME_HEADER_LEN)
		return 0;
	if (rx->buf[SHOAL_TCPFRAME_MAGIC_LEN] != SHOAL_TCPFRAME_VERSION)
		return -EPROTONOSUPPORT;
	*port = shoal_get_be16(rx->buf + SHOAL_TCPFRAME_MAGIC_LEN + 1);
	if (!*port)
		return -EPROTO;
	rx->have = 0;
	rx->header_done = true;
	return 1;
}

/* The length of a frame whose length field is at p: 0 if refused. */
static int frame_len(const struct shoal_tcpframe_rx *rx, const uint8_t *p,
		     size_t *n)
{
	*n = shoal_get_be16(p);
	if (!*n)
		return -EPROTO;
	return *n > rx->max ? -EMSGSIZE : 0;
}

int shoal_tcpframe_next(struct shoal_tcpframe_rx *rx, const uint8_t **data,
			size_t *len, const uint8_t **frame, size_t *frame_len_out)
{
	const size_t lb = SHOAL_TCPFRAME_LEN_BYTES;
	size_t n;
	int ret;

	if (!rx->header_done)
		return -EPROTO;
	/* A whole frame in the input, none begun before: no copy. */
	if (!rx->have && *len >= lb) {
		ret = frame_len(rx, *data, &n);
		if (ret < 0)
			return ret;
		if (*len >= lb + n) {
			*frame = *data + lb;
			*frame_len_out = n;
			*data += lb + n;
			*len -= lb + n;
			return 1;
		}
	}
	if (rx->have < lb) {
		take(rx, lb, data, len);
		if (rx->have < lb)
			return 0;
	}
	ret = frame_len(rx, rx->buf, &n);
	if (ret < 0)
		return ret;
	take(rx, lb + n, data, len);
	if (rx->have < lb + n)
		return 0;
	rx->have = 0;
	*frame = rx->buf + lb;
	*frame_len_out = n;
	return 1;
}

void shoal_tcpframe_put_header(uint8_t *out, uint16_t port)
{
	memcpy(out, SHOAL_TCPFRAME_MAGIC, SHOAL_TCPFRAME_MAGIC_LEN);
	out[SHOAL_TCPFRAME_MAGIC_LEN] = SHOAL_TCPFRAME_VERSION;
	shoal_put_be16(out + SHOAL_TCPFRAME_MAGIC_LEN + 1, port);
}

int shoal_tcpframe_tx_init(struct shoal_tcpframe_tx *tx, size_t cap)
{
	tx->buf = malloc(cap);
	tx->cap = tx->buf ? cap : 0;
	tx->off = tx->len = 0;
	return tx->buf ? 0 : -ENOMEM;
}

void shoal_tcpframe_tx_free(struct shoal_tcpframe_tx *tx)
{
	free(tx->buf);
	tx->buf = NULL;
	tx->cap = tx->off = tx->len = 0;
}

/* Room for n more bytes, the sent ones moved out of the way if need be. */
static bool reserve(struct shoal_tcpframe_tx *tx, size_t n)
{
	if (tx->cap - tx->len >= n)
		return true;
	if (tx->cap - (tx->len - tx->off) < n)
		return false;
	memmove(tx->buf, tx->buf + tx->off, tx->len - tx->off);
	tx->len -= tx->off;
	tx->off = 0;
	return true;
}

bool shoal_tcpframe_tx_room(const struct shoal_tcpframe_tx *tx, size_t n)
{
	return tx->cap - (tx->len - tx->off) >= SHOAL_TCPFRAME_LEN_BYTES + n;
}

int shoal_tcpframe_tx_raw(struct shoal_tcpframe_tx *tx, const uint8_t *p,
			  size_t n)
{
	if (!reserve(tx, n))
		return -ENOBUFS;
	memcpy(tx->buf + tx->len, p, n);
	tx->len += n;
	return 0;
}

int shoal_tcpframe_tx_put(struct shoal_tcpframe_tx *tx, const uint8_t *dgram,
			  size_t n)
{
	if (!n || n > SHOAL_TCPFRAME_MAX)
		return -EMSGSIZE;
	if (!reserve(tx, SHOAL_TCPFRAME_LEN_BYTES + n))
		return -ENOBUFS;
	shoal_put_be16(tx->buf + tx->len, (uint16_t)n);
	memcpy(tx->buf + tx->len + SHOAL_TCPFRAME_LEN_BYTES, dgram, n);
	tx->len += SHOAL_TCPFRAME_LEN_BYTES + n;
	return 0;
}

size_t shoal_tcpframe_tx_pending(const struct shoal_tcpframe_tx *tx,
				 const uint8_t **p)
{
	*p = tx->buf + tx->off;
	return tx->len - tx->off;
}

void shoal_tcpframe_tx_consumed(struct shoal_tcpframe_tx *tx, size_t n)
{
	if (n > tx->len - tx->off)
		n = tx->len - tx->off;
	tx->off += n;
	if (tx->off == tx->len)
		tx->off = tx->len = 0;
}
