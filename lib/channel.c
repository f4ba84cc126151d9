// SPDX-License-Identifier: MIT
/*
 * The mediator control channel's transport: Noise IK over a TCP stream
 * with 2-byte length framing (docs/protocol.md).  See channel.h for the
 * contract; the comments here say why the buffers behave as they do.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <sodium.h>

#include "be.h"
#include "channel.h"
#include "tlv.h"

/* The TLV layer sizes its messages to fit exactly one of our frames. */
_Static_assert(SHOAL_CHANNEL_MAX_MSG == SHOAL_TLV_MAX_MSG,
	       "a TLV message must fill one transport message");
/* The buffer offsets are 32 bits wide. */
_Static_assert(SHOAL_CHANNEL_BUF_MAX < UINT32_MAX / 2, "offsets overflow");

enum {
	CH_NONE,		/* zeroed or wiped */
	CH_CLIENT_WAIT,		/* message 1 queued, message 2 awaited */
	CH_SERVER_WAIT,		/* waiting for message 1 */
	CH_ESTABLISHED,
	CH_CLOSED,
};

#define LEN_BYTES SHOAL_CHANNEL_LEN_BYTES
#define TAG SHOAL_NOISE_TAGLEN

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/*
 * Closing keeps the buffers: a message pointer the caller still holds
 * from shoal_channel_next() must stay valid until its next call.
 */
static int fail(struct shoal_channel *c, int err)
{
	c->state = CH_CLOSED;
	shoal_noise_handshake_wipe(&c->hs);
	shoal_noise_cipher_wipe(&c->tx);
	shoal_noise_cipher_wipe(&c->rx);
	errno = err;
	return -1;
}

static bool usable(const struct shoal_channel *c)
{
	return c->state != CH_NONE && c->state != CH_CLOSED;
}

/* Wiped before free(): the receive buffer holds decrypted plaintext. */
static void release(uint8_t **buf, uint32_t *cap)
{
	if (*buf) {
		sodium_memzero(*buf, *cap);
		free(*buf);
	}
	*buf = NULL;
	*cap = 0;
}

/*
 * Moves the live bytes [off, len) to the start of a new buffer of cap
 * bytes.  Not realloc(): that would leave an unwiped copy behind.
 */
static int resize(uint8_t **buf, uint32_t *cap, uint32_t off, uint32_t len,
		  size_t new_cap)
{
	uint8_t *p = malloc(new_cap);

	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	if (len > off)
		memcpy(p, *buf + off, len - off);
	release(buf, cap);
	*buf = p;
	*cap = (uint32_t)new_cap;
	return 0;
}

/* ---- receiving ---- */

static void in_release(struct shoal_channel *c)
{
	release(&c->in, &c->in_cap);
	c->in_off = c->in_parsed = c->in_len = 0;
}

/*
 * Makes room for the rest of the frame being received (and at least one
 * byte).  Growth follows the frame, not the reader: a frame's length is
 * checked before it is buffered, so what a peer can make us allocate is
 * bounded by what it may send.  Shrinks back once large frames are gone.
 */
static int in_reserve(struct shoal_channel *c)
{
	uint32_t live = c->in_len - c->in_off;
	size_t frame = LEN_BYTES, want, grown;

	if (c->in_off) {
		if (live)
			memmove(c->in, c->in + c->in_off, live);
		c->in_parsed -= c->in_off;
		c->in_len = live;
		c->in_off = 0;
	}
	/* Whatever follows in_parsed is incomplete, its header checked. */
	if (c->in_len - c->in_parsed >= LEN_BYTES)
		frame += shoal_get_be16(c->in + c->in_parsed);
	want = max_size(c->in_parsed + frame, SHOAL_CHANNEL_BUF_MIN);
	if (want > SHOAL_CHANNEL_BUF_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	if (c->in_cap < want) {
		/* Doubling: undrained small messages must not cost O(n^2). */
		grown = max_size(want, 2 * (size_t)c->in_cap);
		if (grown > SHOAL_CHANNEL_BUF_MAX)
			grown = SHOAL_CHANNEL_BUF_MAX;
		return resize(&c->in, &c->in_cap, 0, c->in_len, grown);
	}
	if (c->in_cap > SHOAL_CHANNEL_BUF_MIN && want == SHOAL_CHANNEL_BUF_MIN)
		return resize(&c->in, &c->in_cap, 0, c->in_len, want);
	return 0;
}

/*
 * A length is judged alone, before its frame is buffered: handshake
 * messages have exact sizes (so an unauthenticated peer cannot make the
 * buffer grow), transport messages hold at least a tag.
 */
static bool frame_len_ok(const struct shoal_channel *c, uint32_t len)
{
	switch (c->state) {
	case CH_SERVER_WAIT:
		return len == SHOAL_CHANNEL_MSG1_LEN;
	case CH_CLIENT_WAIT:
		return len == SHOAL_CHANNEL_MSG2_LEN;
	case CH_ESTABLISHED:
		return len >= TAG && len <= c->recv_max_frame;
	}
	return false;
}

/* Room for need more bytes of output; with the sending code below. */
static int out_reserve(struct shoal_channel *c, size_t need);

/* Split(): c1 carries initiator-to-responder, c2 the way back. */
static int establish(struct shoal_channel *c)
{
	struct shoal_noise_cipher *c1 = c->initiator ? &c->tx : &c->rx;
	struct shoal_noise_cipher *c2 = c->initiator ? &c->rx : &c->tx;

	if (shoal_noise_split(&c->hs, c1, c2))
		return fail(c, EPROTO);
	shoal_noise_handshake_wipe(&c->hs);
	c->state = CH_ESTABLISHED;
	/* Message 2 could only be made with the server's static key. */
	c->confirmed = c->initiator;
	return 0;
}

static int write_handshake(struct shoal_channel *c, size_t expect)
{
	const uint8_t version = SHOAL_CHANNEL_VERSION;
	size_t n, room;
	uint8_t *p;

	if (out_reserve(c, LEN_BYTES + expect))
		return -1;
	p = c->out + c->out_len;
	room = c->out_cap - c->out_len - LEN_BYTES;
	if (shoal_noise_write_message(&c->hs, &version, 1, p + LEN_BYTES, room,
				      &n) ||
	    n != expect) {
		errno = EINVAL;
		return -1;
	}
	shoal_put_be16(p, n);
	c->out_len += (uint32_t)(LEN_BYTES + n);
	return 0;
}

static int read_handshake(struct shoal_channel *c, const uint8_t *body,
			  uint32_t len)
{
	uint8_t version;
	size_t n;

	if (shoal_noise_read_message(&c->hs, body, len, &version, 1, &n))
		return fail(c, EPROTO);
	if (!c->initiator &&
	    shoal_noise_remote_static(&c->hs, c->remote) == 0)
		c->has_remote = true;
	if (n != 1 || version != SHOAL_CHANNEL_VERSION)
		return fail(c, EPROTO);
	if (!c->initiator &&
	    write_handshake(c, SHOAL_CHANNEL_MSG2_LEN))
		return fail(c, errno);
	return establish(c);
}

/* In place: the plaintext then sits right after the frame's length. */
static int decrypt_frame(struct shoal_channel *c, uint8_t *body,
			 uint32_t len)
{
	size_t n;

	if (c->rx.n == UINT64_MAX)
		return fail(c, EOVERFLOW);
	if (shoal_noise_decrypt(&c->rx, NULL, 0, body, len, body, len - TAG,
				&n))
		return fail(c, EPROTO);
	c->confirmed = true;
	return 0;
}

static int in_process(struct shoal_channel *c)
{
	for (;;) {
		uint32_t avail = c->in_len - c->in_parsed, len;
		uint8_t *f = c->in + c->in_parsed;
		bool handshake = c->state != CH_ESTABLISHED;
		int ret;

		if (avail < LEN_BYTES)
			return 0;
		len = shoal_get_be16(f);
		if (!frame_len_ok(c, len))
			return fail(c, EPROTO);
		if (avail < LEN_BYTES + len)
			return 0;
		if (handshake)
			ret = read_handshake(c, f + LEN_BYTES, len);
		else
			ret = decrypt_frame(c, f + LEN_BYTES, len);
		if (ret)
			return -1;
		c->in_parsed += LEN_BYTES + len;
		/* Handshake frames give shoal_channel_next() nothing. */
		if (handshake)
			c->in_off = c->in_parsed;
	}
}

int shoal_channel_input(struct shoal_channel *c, const uint8_t *data,
			size_t len)
{
	size_t n;

	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	if (!data && len)
		return fail(c, EINVAL);
	while (len) {
		/* Bytes are lost if they do not fit: the stream is broken. */
		if (in_reserve(c))
			return fail(c, errno);
		n = c->in_cap - c->in_len;
		if (n > len)
			n = len;
		memcpy(c->in + c->in_len, data, n);
		c->in_len += (uint32_t)n;
		data += n;
		len -= n;
		if (in_process(c))
			return -1;
	}
	if (c->in_off == c->in_len)
		in_release(c);
	return 0;
}

int shoal_channel_read_buf(struct shoal_channel *c, uint8_t **buf,
			   size_t *room)
{
	*buf = NULL;
	*room = 0;
	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	/* Nothing was read yet: a failure here leaves the channel usable. */
	if (in_reserve(c))
		return -1;
	*buf = c->in + c->in_len;
	*room = c->in_cap - c->in_len;
	return 0;
}

int shoal_channel_read_done(struct shoal_channel *c, size_t n)
{
	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	if (n > c->in_cap - c->in_len)
		return fail(c, EINVAL);
	/* n == 0 (EAGAIN) still releases a buffer read_buf() made for it. */
	c->in_len += (uint32_t)n;
	if (in_process(c))
		return -1;
	if (c->in_off == c->in_len)
		in_release(c);
	return 0;
}

int shoal_channel_next(struct shoal_channel *c, const uint8_t **msg,
		       size_t *len)
{
	uint8_t *f;
	uint32_t body;

	*msg = NULL;
	*len = 0;
	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	if (c->in_off == c->in_parsed) {
		/* Idle channels keep no buffer: 10,000 of them add up. */
		if (c->in_off == c->in_len)
			in_release(c);
		return 0;
	}
	f = c->in + c->in_off;
	body = shoal_get_be16(f);
	*msg = f + LEN_BYTES;
	*len = body - TAG;
	c->in_off += LEN_BYTES + body;
	return 1;
}

int shoal_channel_eof(const struct shoal_channel *c)
{
	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	if (c->state != CH_ESTABLISHED || c->in_len != c->in_parsed) {
		errno = ECONNRESET;
		return -1;
	}
	return 0;
}

int shoal_channel_set_recv_limit(struct shoal_channel *c, size_t max_msg)
{
	if (max_msg > SHOAL_CHANNEL_MAX_MSG) {
		errno = EINVAL;
		return -1;
	}
	c->recv_max_frame = (uint32_t)(max_msg + TAG);
	return 0;
}

/* ---- sending ---- */

static int out_reserve(struct shoal_channel *c, size_t need)
{
	uint32_t live = c->out_len - c->out_off;
	size_t grown;

	if (live + need > SHOAL_CHANNEL_BUF_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	if (c->out_cap - c->out_len >= need)
		return 0;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, live);
		c->out_len = live;
		c->out_off = 0;
		if (c->out_cap - c->out_len >= need)
			return 0;
	}
	grown = max_size(max_size(live + need, SHOAL_CHANNEL_BUF_MIN),
			 2 * (size_t)c->out_cap);
	if (grown > SHOAL_CHANNEL_BUF_MAX)
		grown = SHOAL_CHANNEL_BUF_MAX;
	return resize(&c->out, &c->out_cap, 0, c->out_len, grown);
}

int shoal_channel_send(struct shoal_channel *c, const uint8_t *msg,
		       size_t len)
{
	static const uint8_t empty[1];
	size_t frame = LEN_BYTES + len + TAG, n;
	uint8_t *p;

	if (c->state != CH_ESTABLISHED) {
		errno = usable(c) ? ENOTCONN : EPIPE;
		return -1;
	}
	if (len > SHOAL_CHANNEL_MAX_MSG) {
		errno = EMSGSIZE;
		return -1;
	}
	if (!msg && len) {
		errno = EINVAL;
		return -1;
	}
	if (out_reserve(c, frame))
		return -1;
	if (c->tx.n == UINT64_MAX)
		return fail(c, EOVERFLOW);
	p = c->out + c->out_len;
	if (shoal_noise_encrypt(&c->tx, NULL, 0, len ? msg : empty, len,
				p + LEN_BYTES, frame - LEN_BYTES, &n))
		return fail(c, EPROTO);
	shoal_put_be16(p, n);
	c->out_len += (uint32_t)frame;
	return 0;
}

size_t shoal_channel_pending(const struct shoal_channel *c,
			     const uint8_t **data)
{
	if (!usable(c) || c->out_len == c->out_off) {
		*data = NULL;
		return 0;
	}
	*data = c->out + c->out_off;
	return c->out_len - c->out_off;
}

void shoal_channel_consumed(struct shoal_channel *c, size_t n)
{
	uint32_t live = c->out_len - c->out_off;

	if (n > live)
		n = live;
	c->out_off += (uint32_t)n;
	if (c->out_off == c->out_len) {
		release(&c->out, &c->out_cap);
		c->out_off = c->out_len = 0;
	}
}

/* ---- setup and state ---- */

static int start(struct shoal_channel *c, bool initiator, const uint8_t *s,
		 const uint8_t *rs)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_CLOSED;
	c->initiator = initiator;
	c->recv_max_frame = SHOAL_CHANNEL_MAX_FRAME;
	if (shoal_noise_handshake_init(&c->hs, SHOAL_NOISE_IK, initiator,
				       (const uint8_t *)SHOAL_CHANNEL_PROLOGUE,
				       strlen(SHOAL_CHANNEL_PROLOGUE), s, NULL,
				       rs, NULL))
		return fail(c, EINVAL);
	return 0;
}

int shoal_channel_client(struct shoal_channel *c,
			 const uint8_t client_priv[SHOAL_NOISE_DHLEN],
			 const uint8_t server_pub[SHOAL_NOISE_DHLEN])
{
	if (start(c, true, client_priv, server_pub))
		return -1;
	memcpy(c->remote, server_pub, SHOAL_NOISE_DHLEN);
	c->has_remote = true;
	/* Fails on a low-order server key: es would be all zeros. */
	if (write_handshake(c, SHOAL_CHANNEL_MSG1_LEN))
		return fail(c, errno);
	c->state = CH_CLIENT_WAIT;
	return 0;
}

int shoal_channel_server(struct shoal_channel *c,
			 const uint8_t server_priv[SHOAL_NOISE_DHLEN])
{
	if (start(c, false, server_priv, NULL))
		return -1;
	c->state = CH_SERVER_WAIT;
	return 0;
}

bool shoal_channel_established(const struct shoal_channel *c)
{
	return c->state == CH_ESTABLISHED;
}

bool shoal_channel_peer_confirmed(const struct shoal_channel *c)
{
	return c->state == CH_ESTABLISHED && c->confirmed;
}

bool shoal_channel_closed(const struct shoal_channel *c)
{
	return c->state == CH_CLOSED;
}

int shoal_channel_remote_key(const struct shoal_channel *c,
			     uint8_t key[SHOAL_NOISE_DHLEN])
{
	if (!c->has_remote) {
		errno = ENOENT;
		return -1;
	}
	memcpy(key, c->remote, SHOAL_NOISE_DHLEN);
	return 0;
}

void shoal_channel_wipe(struct shoal_channel *c)
{
	release(&c->in, &c->in_cap);
	release(&c->out, &c->out_cap);
	sodium_memzero(c, sizeof(*c));
}

/* ---- blocking helpers ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* 0 once fd is ready (or has an error for the next call to report). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int ret;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		ret = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (ret > 0) {
			if (p.revents & POLLNVAL) {
				errno = EBADF;
				return -1;
			}
			return 0;
		}
		if (ret == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/*
 * MSG_DONTWAIT: poll() said ready, but a blocking socket must still not
 * hang us past the deadline.  MSG_NOSIGNAL: a closed peer is an error to
 * report, not a SIGPIPE.  Other fds (pipes, in tests) get plain I/O.
 */
static ssize_t fd_write(int fd, const uint8_t *p, size_t n)
{
	ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0 && errno == ENOTSOCK)
		w = write(fd, p, n);
	return w;
}

static ssize_t fd_read(int fd, uint8_t *p, size_t n)
{
	ssize_t r = recv(fd, p, n, MSG_DONTWAIT);

	if (r < 0 && errno == ENOTSOCK)
		r = read(fd, p, n);
	return r;
}

static int flush_until(struct shoal_channel *c, int fd, int64_t deadline)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	if (!usable(c)) {
		errno = EPIPE;
		return -1;
	}
	while ((n = shoal_channel_pending(c, &p))) {
		if (wait_fd(fd, POLLOUT, deadline))
			return -1;
		w = fd_write(fd, p, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			return -1;
		}
		shoal_channel_consumed(c, (size_t)w);
	}
	return 0;
}

/* 1 after reading (or a spurious wakeup), 0 at EOF, -1 on error. */
static int read_some(struct shoal_channel *c, int fd, int64_t deadline)
{
	uint8_t *buf;
	size_t room;
	ssize_t r;
	int err;

	if (wait_fd(fd, POLLIN, deadline) ||
	    shoal_channel_read_buf(c, &buf, &room))
		return -1;
	r = fd_read(fd, buf, room);
	err = errno;
	if (shoal_channel_read_done(c, r > 0 ? (size_t)r : 0))
		return -1;
	if (r < 0) {
		errno = err;
		return err == EAGAIN || err == EWOULDBLOCK || err == EINTR ?
			       1 : -1;
	}
	return r > 0;
}

int shoal_channel_handshake_blocking(struct shoal_channel *c, int fd,
				     int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int ret;

	for (;;) {
		/* The server's message 2 is only done once it is written. */
		if (flush_until(c, fd, deadline))
			return -1;
		if (shoal_channel_established(c))
			return 0;
		ret = read_some(c, fd, deadline);
		if (ret < 0)
			return -1;
		if (ret == 0) {
			errno = ECONNRESET;
			return -1;
		}
	}
}

int shoal_channel_flush_blocking(struct shoal_channel *c, int fd,
				 int timeout_ms)
{
	return flush_until(c, fd, deadline_of(timeout_ms));
}

int shoal_channel_send_blocking(struct shoal_channel *c, int fd,
				const uint8_t *msg, size_t len,
				int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);

	while (shoal_channel_send(c, msg, len)) {
		/* Full: what is queued must reach the socket first. */
		if (errno != ENOBUFS || flush_until(c, fd, deadline))
			return -1;
	}
	return flush_until(c, fd, deadline);
}

int shoal_channel_recv_blocking(struct shoal_channel *c, int fd,
				const uint8_t **msg, size_t *len,
				int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int ret;

	for (;;) {
		ret = shoal_channel_next(c, msg, len);
		if (ret)
			return ret;
		ret = read_some(c, fd, deadline);
		if (ret < 0)
			return -1;
		if (ret == 0)
			return shoal_channel_eof(c) ? -1 : 0;
	}
}
