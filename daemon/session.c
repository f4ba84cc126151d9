// SPDX-License-Identifier: MIT
/*
 * Peer sessions.  docs/protocol.md gives the messages; this file the
 * rules: who installs which SA when, so that no packet is lost while keys
 * change.
 *
 * INIT    initiator -> responder: the responder installs its new inbound
 *         SA at once (the initiator may use it as soon as it has the
 *         RESPONSE) but keeps sending on the old outbound SA: the
 *         initiator cannot decrypt the new one yet.
 * RESPONSE responder -> initiator: the initiator installs its inbound
 *         and outbound SAs and the session is confirmed on its side.
 * CONFIRM initiator -> responder (so is any PING on the new session): the
 *         responder switches its outbound SA.
 * Older inbound SAs stay installed until pushed out by newer sessions, so
 * packets in flight on them are still accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "session.h"

/* How long to wait for a RESPONSE before starting over. */
#define HANDSHAKE_TIMEOUT 3.0
/* First and longest wait between attempts at an unreachable peer. */
#define RETRY_BASE 1.0
#define MAX_BACKOFF 30.0
/* INITs a source may make us answer: per second, and in a burst. */
#define INIT_RATE 20.0
#define INIT_BURST 40.0
/* ... and all sources together: bounds the Diffie-Hellman a flood costs. */
#define INIT_GLOBAL_RATE 200.0
/* More INITs a second than this, and the cookies are asked for. */
#define INIT_LOAD_RATE 100.0
/*
 * Cookie replies a second, all sources together (ratelimit.h): enough
 * that a flood of 10,000 spoofed INITs a second still leaves a stranger
 * its cookie at the first try; a reply costs about what the MAC checks
 * before it do.
 */
#define COOKIE_REPLY_RATE 20000.0
/* How long our cookie secret lives; how long we use a peer's cookie. */
#define COOKIE_SECRET_LIFETIME 120.0
#define COOKIE_LIFETIME (COOKIE_SECRET_LIFETIME - 5.0)
/* PONGs a peer gets a second: its pings come every few seconds. */
#define PONGS_PER_SECOND 10
/* The INIT goes again at once for a cookie, but not more often. */
#define COOKIE_RESEND_GAP 0.25

double shoald_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_peer(const struct shoald *d, const struct shoald_peer *p,
		     const char *what)
{
	char b64[45];

	if (!d->verbose)
		return;
	sodium_bin2base64(b64, sizeof(b64), p->public_key, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	fprintf(stderr, "shoald: peer %.8s: %s\n", b64, what);
}

static unsigned int dead_after(const struct shoald *d)
{
	return 3 * d->keepalive_seconds + 5;
}

/* Hard limits: keys die this long after the daemon stopped renewing them. */
static uint32_t hard_seconds(const struct shoald *d)
{
	return 3 * d->rekey_seconds + 180;
}

struct shoald_peer *shoald_peer_find(struct shoald *d, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < d->n_peers; i++)
		if (!sodium_memcmp(d->peers[i].public_key, key, 32))
			return &d->peers[i];
	return NULL;
}

static bool spi_in_use(const struct shoald *d, uint32_t spi)
{
	size_t i;
	int j;

	for (i = 0; i < d->n_peers; i++) {
		const struct shoald_peer *p = &d->peers[i];

		if (p->hs_active && p->hs_spi == spi)
			return true;
		for (j = 0; j < SHOAL_MAX_SA_IN; j++)
			if (p->sessions[j].used && p->sessions[j].my_spi == spi)
				return true;
	}
	return false;
}

static uint32_t new_spi(const struct shoald *d)
{
	uint32_t spi;

	do
		spi = randombytes_random();
	while (spi < SHOAL_SPI_MIN || spi_in_use(d, spi));
	return spi;
}

/* The session of ours that owns an inbound SPI, and its peer. */
static struct shoald_session *session_by_spi(struct shoald *d, uint32_t spi,
					     struct shoald_peer **peer)
{
	size_t i;
	int j;

	for (i = 0; i < d->n_peers; i++)
		for (j = 0; j < SHOAL_MAX_SA_IN; j++)
			if (d->peers[i].sessions[j].used &&
			    d->peers[i].sessions[j].my_spi == spi) {
				*peer = &d->peers[i];
				return &d->peers[i].sessions[j];
			}
	return NULL;
}

static void session_clear(struct shoald_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

/*
 * Makes room at the front of the session list for a new one.  A new
 * unconfirmed session replaces an older unconfirmed one, so that replayed
 * or abandoned INITs never push out the sessions traffic is using.
 */
static struct shoald_session *session_push(struct shoald_peer *p,
					   bool confirmed)
{
	int i, drop = SHOAL_MAX_SA_IN - 1;

	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		if (!p->sessions[i].used) {
			drop = i;
			break;
		}
	if (!confirmed && p->sessions[drop].used)
		for (i = 0; i < SHOAL_MAX_SA_IN; i++)
			if (p->sessions[i].used && !p->sessions[i].confirmed &&
			    p->sessions[i].peer_spi != p->out_spi) {
				drop = i;
				break;
			}
	session_clear(&p->sessions[drop]);
	memmove(&p->sessions[1], &p->sessions[0],
		(size_t)drop * sizeof(p->sessions[0]));
	memset(&p->sessions[0], 0, sizeof(p->sessions[0]));
	p->sessions[0].used = true;
	return &p->sessions[0];
}

/* The peer's allowed IPs, once shoald knows them (else left as they are). */
static void put_allowed_ips(struct shoal_dp_peer *dp,
			    const struct shoald_peer *p)
{
	dp->set_allowed_ips = p->allowed_ips_set;
	dp->n_allowed_ips = p->n_allowed_ips;
	memcpy(dp->allowed_ips, p->allowed_ips,
	       p->n_allowed_ips * sizeof(p->allowed_ips[0]));
}

/*
 * Programs the peer's inbound SAs (the sessions in order) and, when out is
 * given, its outbound SA.  Installed SAs are named by SPI only, so the
 * datapath keeps their replay windows and counters.
 */
static int program(struct shoald *d, struct shoald_peer *p,
		   struct shoald_session *out, bool set_endpoint)
{
	struct shoal_dp_peer dp = { 0 };
	struct shoal_dp_sa *sa;
	int i, ret, sock = -1;

	memcpy(dp.public_key, p->public_key, 32);
	dp.has_mac = true;
	memcpy(dp.mac, p->mac, 6);
	if (set_endpoint) {
		dp.endpoint = p->endpoint;
		/*
		 * The path is where the proof came from, and so is the
		 * socket: a peer's own (birthday probing) or the device's.
		 */
		sock = shoald_sock_want(d, p);
		dp.set_socket = sock != (p->has_sock ? p->sock_fd : -1);
		dp.socket_fd = sock;
	}
	put_allowed_ips(&dp, p);
	dp.set_sa_in = true;
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		struct shoald_session *s = &p->sessions[i];

		if (!s->used)
			continue;
		sa = &dp.sa_in[dp.n_sa_in++];
		sa->spi = s->my_spi;
		if (s->installed) {
			sa->keep = true;
		} else {
			memcpy(sa->key, s->in_key, sizeof(sa->key));
			sa->hard_seconds = hard_seconds(d);
		}
	}
	if (out) {
		dp.set_sa_out = true;
		dp.sa_out.spi = out->peer_spi;
		memcpy(dp.sa_out.key, out->out_key, sizeof(dp.sa_out.key));
		dp.sa_out.hard_seconds = hard_seconds(d);
	}
	ret = d->dp->ops->set_peer(d->dp, &dp);
	if (ret == -EOPNOTSUPP && dp.set_socket)
		d->no_peer_sockets = true;
	if (!ret && dp.set_socket)
		shoald_sock_attached(d, p, sock, shoald_now());
	sodium_memzero(&dp, sizeof(dp));
	if (ret < 0) {
		fprintf(stderr, "shoald: cannot program a peer into the "
			"datapath: %s\n", strerror(-ret));
		return ret;
	}
	for (i = 0; i < SHOAL_MAX_SA_IN; i++) {
		struct shoald_session *s = &p->sessions[i];

		if (s->used && !s->installed) {
			s->installed = true;
			sodium_memzero(s->in_key, sizeof(s->in_key));
		}
	}
	if (out) {
		p->out_spi = out->peer_spi;
		out->has_out_key = false;
		sodium_memzero(out->out_key, sizeof(out->out_key));
	}
	return 0;
}

static void send_ctl(struct shoald *d, const struct shoal_endpoint *to,
		     const uint8_t *msg, int len)
{
	int ret;

	if (len <= 0 || !to->len)
		return;
	/* A peer of its own socket is reached from it (birthday.c). */
	ret = shoald_sock_for(d, to);
	if (ret >= 0)
		ret = shoald_sock_send(ret, to, msg, (size_t)len);
	else
		ret = d->dp->ops->send_control(d->dp, to, msg, (size_t)len);
	if (ret < 0 && d->verbose)
		fprintf(stderr, "shoald: sending a control packet: %s\n",
			strerror(-ret));
}

/* A fresh, authenticated message came from there (path_proven). */
static void path_proven(struct shoald *d, const struct shoal_endpoint *from)
{
	/* Not through the datapath's socket: nothing for it to learn. */
	if (d->dp->ops->path_proven && !d->rx_sock)
		d->dp->ops->path_proven(d->dp, from);
}

static void handshake_abandon(struct shoald_peer *p)
{
	if (p->hs_active)
		shoal_noise_handshake_wipe(&p->hs);
	p->hs_active = false;
}

static double backoff(const struct shoald_peer *p)
{
	double wait = RETRY_BASE;
	unsigned int i;

	for (i = 0; i < p->failures && wait < MAX_BACKOFF; i++)
		wait *= 2;
	wait = wait > MAX_BACKOFF ? MAX_BACKOFF : wait;
	/* Jitter, so that peers that failed together do not retry together. */
	return wait * (0.8 + 0.4 * randombytes_uniform(1000) / 1000.0);
}

/*
 * One INIT to every address the peer may be at: the endpoint, and for
 * SHOALD_TO_ALL each candidate and the relay too.  Only the first answer
 * counts (the timestamp makes the copies replays), and where it came
 * from becomes the endpoint: that is the hole punched.
 */
/*
 * Calls fn for each distinct endpoint an INIT to targets goes to; stops
 * at, and returns, the first for which fn returns true.
 */
static const struct shoal_endpoint *
for_each_target(struct shoald_peer *p, enum shoald_targets targets,
		bool (*fn)(const struct shoal_endpoint *to, const void *ctx),
		const void *ctx)
{
	const struct shoal_endpoint *sent[SHOALD_MAX_CANDIDATES + 2];
	const struct shoal_endpoint *to;
	unsigned int n = 0, i, j;

	for (i = 0; i < SHOALD_MAX_CANDIDATES + 2; i++) {
		if (i == 0)
			to = targets == SHOALD_TO_DIRECT ? NULL : &p->endpoint;
		else if (targets == SHOALD_TO_ENDPOINT)
			break;
		else if (i == 1)
			to = p->relay_bound && targets == SHOALD_TO_ALL ?
			     &p->relay : NULL;
		else if (i - 2 < p->n_candidates)
			to = &p->candidates[i - 2];
		else
			break;
		if (!to || !to->len)
			continue;
		for (j = 0; j < n && !shoal_endpoint_equal(sent[j], to); j++)
			;
		if (j < n)
			continue;
		sent[n++] = to;
		if (fn(to, ctx))
			return to;
	}
	return NULL;
}

struct init_send {
	struct shoald *d;
	const uint8_t *msg;
	int len;
};

static bool send_one_init(const struct shoal_endpoint *to, const void *ctx)
{
	const struct init_send *s = ctx;

	send_ctl(s->d, to, s->msg, s->len);
	return false;
}

static void send_init(struct shoald *d, struct shoald_peer *p,
		      const uint8_t *msg, int len, enum shoald_targets targets)
{
	struct init_send s = { .d = d, .msg = msg, .len = len };

	for_each_target(p, targets, send_one_init, &s);
}

static bool is_from(const struct shoal_endpoint *to, const void *ctx)
{
	return shoal_endpoint_equal(to, ctx);
}

static void initiate(struct shoald *d, struct shoald_peer *p, double now)
{
	shoald_initiate(d, p, now,
			p->online ? SHOALD_TO_ENDPOINT : SHOALD_TO_ALL);
}

void shoald_initiate(struct shoald *d, struct shoald_peer *p, double now,
		     enum shoald_targets to)
{
	uint8_t payload[SHOAL_CTL_INIT_PAYLOAD_LEN], ts[SHOAL_TAI64N_LEN];
	uint8_t noise[SHOAL_CTL_NOISE1_LEN], msg[SHOAL_CTL_INIT_LEN];
	size_t len;

	if (to == SHOALD_TO_DIRECT ? !p->n_candidates :
	    !p->endpoint.len && !(to == SHOALD_TO_ALL &&
				  (p->n_candidates || p->relay_bound)))
		return;
	handshake_abandon(p);
	if (shoal_noise_handshake_init(&p->hs, SHOAL_NOISE_IK, true,
				       (const uint8_t *)SHOAL_CTL_PROLOGUE,
				       strlen(SHOAL_CTL_PROLOGUE),
				       d->private_key, NULL, p->public_key,
				       NULL) < 0)
		return;
	p->hs_spi = new_spi(d);
	shoal_tai64n_now(ts);
	shoal_ctl_init_payload(payload, p->hs_spi, ts);
	if (shoal_noise_write_message(&p->hs, payload, sizeof(payload), noise,
				      sizeof(noise), &len) < 0 ||
	    len != sizeof(noise)) {
		shoal_noise_handshake_wipe(&p->hs);
		return;
	}
	p->hs_active = true;
	p->hs_sent = now;
	p->last_knock = now;
	p->next_attempt = now + backoff(p);
	d->initiated++;
	if (shoal_ctl_write_init(msg, sizeof(msg), p->hs_spi, noise,
				 p->mac1_key) != sizeof(msg)) {
		handshake_abandon(p);
		return;
	}
	/* A cookie the peer gave while under load keeps being needed. */
	if (p->cookie_time && now - p->cookie_time < COOKIE_LIFETIME)
		shoal_ctl_init_mac2(msg, p->cookie);
	memcpy(p->init_msg, msg, sizeof(msg));
	p->hs_targets = to;
	send_init(d, p, msg, sizeof(msg), to);
	log_peer(d, p, "handshake sent");
}

static void alive(struct shoald_peer *p, double now)
{
	p->last_alive = now;
}

static void established(struct shoald *d, struct shoald_peer *p, double now,
			bool initiator)
{
	p->online = true;
	p->failures = 0;
	p->next_attempt = 0;
	p->last_handshake = time(NULL);
	p->last_established = now;
	alive(p, now);
	d->handshakes_done++;
	/*
	 * The initiator of the last session rekeys; the responder only if
	 * the initiator has not, later, so the two rarely cross.
	 */
	p->next_rekey = now + d->rekey_seconds *
			(initiator ? 1.0 : 1.5) +
			randombytes_uniform(100) / 1000.0;
	if (p->next_ping > now + 0.05 || !p->ping_id)
		p->next_ping = now;
}

/* True when from is where some peer is known to be. */
static bool endpoint_known(const struct shoald *d,
			   const struct shoal_endpoint *from)
{
	const struct shoald_peer *p;
	unsigned int j;
	size_t i;

	for (i = 0; i < d->n_peers; i++) {
		p = &d->peers[i];
		if (shoal_endpoint_equal(&p->endpoint, from))
			return true;
		for (j = 0; j < p->n_candidates; j++)
			if (shoal_endpoint_equal(&p->candidates[j], from))
				return true;
	}
	return false;
}

/*
 * A new cookie secret, handed to the datapath with the MAC1 and cookie
 * keys: past its strangers' budget, shoal.ko checks INITs and answers
 * cookies itself, so first contacts are not lost in a spoofed flood
 * (docs/security.md).
 */
static void push_cookie_secret(struct shoald *d)
{
	int ret;

	if (!d->dp->ops->set_cookie)
		return;
	ret = d->dp->ops->set_cookie(d->dp, d->cookie_secret, d->mac1_key,
				     d->cookie_key);
	/* Tried again every second (shoald_tick); said once. */
	if (ret < 0 && !d->cookie_unsynced)
		fprintf(stderr, "shoald: cannot hand the cookie secret to the "
			"datapath: %s\n", strerror(-ret));
	d->cookie_unsynced = ret < 0;
}

static void new_cookie_secret(struct shoald *d, double now)
{
	randombytes_buf(d->cookie_secret, sizeof(d->cookie_secret));
	d->cookie_secret_born = now;
	push_cookie_secret(d);
}

/*
 * Under load, an INIT must show it came from where it says (MAC2 keyed
 * by the cookie of its source); without it, the sender gets the cookie
 * and nothing else.  True when the INIT may go on.
 */
static bool cookie_check(struct shoald *d, const uint8_t *init,
			 const struct shoal_endpoint *from, double now,
			 bool *proven)
{
	uint8_t cookie[SHOAL_CTL_COOKIE_LEN], msg[SHOAL_CTL_COOKIE_REPLY_LEN];
	bool ok;

	*proven = false;
	if (!shoald_ratelimit_under_load(&d->limiter, now))
		return true;
	if (now - d->cookie_secret_born >= COOKIE_SECRET_LIFETIME)
		new_cookie_secret(d, now);
	shoal_ctl_cookie(cookie, d->cookie_secret, from);
	ok = shoal_ctl_init_mac2_ok(init, cookie);
	if (!ok && !shoald_ratelimit_cookie_allow(&d->limiter,
						  endpoint_known(d, from),
						  now)) {
		d->ctl_rejected++;
	} else if (!ok) {
		send_ctl(d, from, msg,
			 shoal_ctl_write_cookie_reply(msg, sizeof(msg), init,
						      cookie, d->cookie_key));
		d->cookies_sent++;
	}
	sodium_memzero(cookie, sizeof(cookie));
	*proven = ok;
	return ok;
}

static void on_init(struct shoald *d, const struct shoal_ctl *m,
		    const uint8_t *buf, const struct shoal_endpoint *from,
		    double now)
{
	uint8_t payload[SHOAL_CTL_INIT_PAYLOAD_LEN], remote[32];
	uint8_t reply_payload[SHOAL_CTL_RESPONSE_PAYLOAD_LEN];
	uint8_t noise[SHOAL_CTL_NOISE2_LEN], msg[SHOAL_CTL_RESPONSE_LEN];
	struct shoald_session saved[SHOAL_MAX_SA_IN] = { 0 };
	struct shoal_ctl_keys keys = { 0 };
	struct shoal_noise_handshake hs;
	struct shoald_session *s;
	struct shoald_peer *p;
	const uint8_t *last;
	uint32_t my_spi;
	bool proven;
	size_t len;

	if (!cookie_check(d, buf, from, now, &proven))
		return;
	if (!shoald_ratelimit_allow(&d->limiter, from, proven,
				    endpoint_known(d, from), now)) {
		d->ctl_rejected++;
		return;
	}
	if (shoal_noise_handshake_init(&hs, SHOAL_NOISE_IK, false,
				       (const uint8_t *)SHOAL_CTL_PROLOGUE,
				       strlen(SHOAL_CTL_PROLOGUE),
				       d->private_key, NULL, NULL, NULL) < 0)
		return;
	if (shoal_noise_read_message(&hs, m->noise, m->noise_len, payload,
				     sizeof(payload), &len) < 0 ||
	    len != sizeof(payload) ||
	    shoal_noise_remote_static(&hs, remote) < 0)
		goto reject;
	p = shoald_peer_find(d, remote);
	if (!p || shoal_ctl_payload_spi(payload) != m->sender_spi ||
	    m->sender_spi < SHOAL_SPI_MIN)
		goto reject;
	/*
	 * Replays: the timestamp must be newer than any the peer sent
	 * before, also before a restart or its removal; on disk before the
	 * RESPONSE leaves.
	 */
	last = shoald_stamps_get(&d->stamps, p->public_key);
	if (last && memcmp(payload + 4, last, SHOAL_TAI64N_LEN) <= 0)
		goto reject;
	if (shoald_stamps_set(&d->stamps, p->public_key, payload + 4) ==
	    -ENOMEM)
		goto reject;

	my_spi = new_spi(d);
	shoal_ctl_response_payload(reply_payload, my_spi);
	if (shoal_noise_write_message(&hs, reply_payload,
				      sizeof(reply_payload), noise,
				      sizeof(noise), &len) < 0 ||
	    len != sizeof(noise) || shoal_ctl_derive(&hs, &keys) < 0)
		goto reject;
	/*
	 * Unconfirmed until the initiator proves it holds the keys: a
	 * replayed INIT must neither move the endpoint nor carry traffic.
	 */
	memcpy(saved, p->sessions, sizeof(saved));
	s = session_push(p, false);
	s->my_spi = my_spi;
	s->peer_spi = m->sender_spi;
	memcpy(s->in_key, keys.i2r, sizeof(s->in_key));
	memcpy(s->out_key, keys.r2i, sizeof(s->out_key));
	s->has_out_key = true;
	memcpy(s->ctl_key, keys.session, sizeof(s->ctl_key));
	shoal_ctl_keys_wipe(&keys);
	s->established = now;
	if (program(d, p, NULL, false) < 0) {
		/* As before: the session the push dropped is still installed. */
		memcpy(p->sessions, saved, sizeof(saved));
		goto reject;
	}
	send_ctl(d, from, msg,
		 shoal_ctl_write_response(msg, sizeof(msg), s->my_spi,
					  s->peer_spi, noise, p->mac1_key));
	log_peer(d, p, "answered a handshake");
	/* Fresh: its timestamp is newer than any before (replays fail). */
	path_proven(d, from);
	shoal_noise_handshake_wipe(&hs);
	sodium_memzero(saved, sizeof(saved));
	return;

reject:
	d->ctl_rejected++;
	shoal_noise_handshake_wipe(&hs);
	shoal_ctl_keys_wipe(&keys);
	sodium_memzero(saved, sizeof(saved));
	sodium_memzero(payload, sizeof(payload));
}

static void on_response(struct shoald *d, const struct shoal_ctl *m,
			const struct shoal_endpoint *from, double now)
{
	uint8_t payload[SHOAL_CTL_RESPONSE_PAYLOAD_LEN];
	uint8_t msg[SHOAL_CTL_CONFIRM_LEN];
	struct shoald_session saved[SHOAL_MAX_SA_IN];
	struct shoal_noise_handshake hs;
	struct shoal_ctl_keys keys;
	struct shoald_session *s;
	struct shoald_peer *p = NULL;
	size_t i, len;

	for (i = 0; i < d->n_peers && !p; i++)
		if (d->peers[i].hs_active &&
		    d->peers[i].hs_spi == m->receiver_spi)
			p = &d->peers[i];
	/* No rate limit: a RESPONSE must match a random SPI of ours. */
	if (!p)
		goto reject;
	/* On a copy: a forged RESPONSE must not kill the real handshake. */
	hs = p->hs;
	if (shoal_noise_read_message(&hs, m->noise, m->noise_len, payload,
				     sizeof(payload), &len) < 0 ||
	    len != sizeof(payload) ||
	    shoal_ctl_payload_spi(payload) != m->sender_spi ||
	    m->sender_spi < SHOAL_SPI_MIN || shoal_ctl_derive(&hs, &keys) < 0) {
		shoal_noise_handshake_wipe(&hs);
		goto reject;
	}
	shoal_noise_handshake_wipe(&hs);
	memcpy(saved, p->sessions, sizeof(saved));
	s = session_push(p, true);
	s->my_spi = p->hs_spi;
	s->peer_spi = m->sender_spi;
	s->confirmed = true;
	s->initiator = true;
	s->established = now;
	memcpy(s->in_key, keys.r2i, sizeof(s->in_key));
	memcpy(s->out_key, keys.i2r, sizeof(s->out_key));
	s->has_out_key = true;
	memcpy(s->ctl_key, keys.session, sizeof(s->ctl_key));
	shoal_ctl_keys_wipe(&keys);
	handshake_abandon(p);
	/*
	 * Inbound SA, CONFIRM, outbound SA, in that order: the responder
	 * sends on the new SA once it has the CONFIRM, so ours must be in
	 * place before; and the CONFIRM goes ahead of our traffic on it.
	 */
	p->endpoint = *from;
	if (program(d, p, NULL, true) < 0) {
		memcpy(p->sessions, saved, sizeof(saved));
		sodium_memzero(saved, sizeof(saved));
		return;
	}
	sodium_memzero(saved, sizeof(saved));
	send_ctl(d, from, msg,
		 shoal_ctl_write_confirm(msg, sizeof(msg), s->my_spi,
					 s->peer_spi, s->ctl_key));
	if (program(d, p, s, false) < 0)
		return;
	d->initiated_ok++;
	/* Fresh: the answer to our own handshake in progress. */
	path_proven(d, from);
	established(d, p, now, true);
	log_peer(d, p, "handshake complete");
	return;

reject:
	d->ctl_rejected++;
}

/*
 * The responder learns that the initiator holds the session's keys: the
 * session carries traffic out, and the peer is where the proof came from.
 */
static void confirmed(struct shoald *d, struct shoald_peer *p,
		      struct shoald_session *s,
		      const struct shoal_endpoint *from, double now)
{
	struct shoal_endpoint old = p->endpoint;

	if (s->confirmed || !s->has_out_key)
		return;
	p->endpoint = *from;
	if (program(d, p, s, true) < 0) {
		/* Try again on the next CONFIRM or PING. */
		p->endpoint = old;
		return;
	}
	s->confirmed = true;
	path_proven(d, from);
	established(d, p, now, false);
}

static void on_confirm(struct shoald *d, const struct shoal_ctl *m,
		       const uint8_t *buf, size_t len,
		       const struct shoal_endpoint *from, double now)
{
	struct shoald_session *s;
	struct shoald_peer *p;

	s = session_by_spi(d, m->receiver_spi, &p);
	if (!s || s->resumed || s->peer_spi != m->sender_spi ||
	    !shoal_ctl_session_verify(buf, len, s->ctl_key)) {
		d->ctl_rejected++;
		return;
	}
	confirmed(d, p, s, from, now);
}

static void on_ping(struct shoald *d, const struct shoal_ctl *m,
		    const uint8_t *buf, size_t len,
		    const struct shoal_endpoint *from, double now)
{
	uint8_t msg[SHOAL_CTL_PING_LEN];
	struct shoald_session *s;
	struct shoald_peer *p;

	s = session_by_spi(d, m->receiver_spi, &p);
	if (!s || s->resumed ||
	    !shoal_ctl_session_verify(buf, len, s->ctl_key)) {
		d->ctl_rejected++;
		return;
	}
	if (m->type == SHOAL_CTL_PONG) {
		/*
		 * Only the answer to our outstanding ping is a sign of life:
		 * a recorded PING or PONG replayed later proves nothing.
		 */
		if (m->ping_id && m->ping_id == p->ping_id) {
			p->rtt_ms = (now - p->ping_sent) * 1000.0;
			p->ping_id = 0;
			alive(p, now);
			path_proven(d, from);
		}
		return;
	}
	/* A PING on a session proves the peer holds its keys. */
	confirmed(d, p, s, from, now);
	/*
	 * A recorded PING verifies as well as a fresh one: replayed from
	 * anywhere, it must not make us a reflector at its rate.
	 */
	if (now - p->pong_window >= 1.0) {
		p->pong_window = now;
		p->pongs = 0;
	}
	if (p->pongs >= PONGS_PER_SECOND) {
		d->ctl_rejected++;
		return;
	}
	p->pongs++;
	send_ctl(d, from, msg,
		 shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PONG,
				      s->peer_spi, m->ping_id, s->ctl_key));
}

/*
 * The peer is under load and wants our INIT with its cookie: the INIT in
 * progress goes again at once, with MAC2, to where the cookie came from,
 * and so do later ones while the cookie lasts.
 */
static void on_cookie_reply(struct shoald *d, const struct shoal_ctl *m,
			    const uint8_t *buf, size_t len,
			    const struct shoal_endpoint *from, double now)
{
	uint8_t cookie[SHOAL_CTL_COOKIE_LEN];
	struct shoald_peer *p = NULL;
	size_t i;

	for (i = 0; i < d->n_peers && !p; i++)
		if (d->peers[i].hs_active &&
		    d->peers[i].hs_spi == m->receiver_spi)
			p = &d->peers[i];
	/*
	 * Only from where the INIT went: anyone who saw the INIT can seal a
	 * cookie for it (the key is public), and from elsewhere it would
	 * aim our INIT at a third party.
	 */
	if (!p || !for_each_target(p, p->hs_targets, is_from, from) ||
	    shoal_ctl_open_cookie_reply(cookie, buf, len, p->init_msg,
					p->cookie_key) < 0) {
		d->ctl_rejected++;
		return;
	}
	memcpy(p->cookie, cookie, sizeof(cookie));
	sodium_memzero(cookie, sizeof(cookie));
	p->cookie_time = now;
	d->cookies_taken++;
	shoal_ctl_init_mac2(p->init_msg, p->cookie);
	/* A replayed COOKIE_REPLY must not make us a packet cannon. */
	if (now - p->cookie_resent < COOKIE_RESEND_GAP)
		return;
	p->cookie_resent = now;
	send_ctl(d, from, p->init_msg, sizeof(p->init_msg));
	log_peer(d, p, "handshake sent again with the peer's cookie");
}

static void on_control(struct shoald *d, const struct shoal_dp_event *ev)
{
	double now = shoald_now();
	struct shoal_ctl m;

	/* Chat has a codec and a handler of its own (chat.c). */
	if (ev->len && (ev->payload[0] == SHOAL_CTL_CHAT ||
			ev->payload[0] == SHOAL_CTL_CHAT_ACK)) {
		if (d->on_chat)
			d->on_chat(d, ev);
		else
			d->ctl_rejected++;
		return;
	}
	/* The mediator's answers go to its client. */
	if (ev->len && (ev->payload[0] == SHOAL_CTL_BINDING_REPLY ||
			ev->payload[0] == SHOAL_CTL_RELAY_BOUND ||
			ev->payload[0] == SHOAL_CTL_RELAY_CHALLENGE)) {
		if (!d->on_mediator_udp || d->on_mediator_udp(d, ev) < 0)
			d->ctl_rejected++;
		return;
	}
	if (shoal_ctl_parse(&m, ev->payload, ev->len, d->mac1_key) < 0) {
		d->ctl_rejected++;
		return;
	}
	switch (m.type) {
	case SHOAL_CTL_INIT:
		on_init(d, &m, ev->payload, &ev->from, now);
		break;
	case SHOAL_CTL_COOKIE_REPLY:
		on_cookie_reply(d, &m, ev->payload, ev->len, &ev->from, now);
		break;
	case SHOAL_CTL_RESPONSE:
		on_response(d, &m, &ev->from, now);
		break;
	case SHOAL_CTL_CONFIRM:
		on_confirm(d, &m, ev->payload, ev->len, &ev->from, now);
		break;
	case SHOAL_CTL_PING:
	case SHOAL_CTL_PONG:
		on_ping(d, &m, ev->payload, ev->len, &ev->from, now);
		break;
	default:
		break;
	}
}

void shoald_on_event(void *ctx, const struct shoal_dp_event *ev)
{
	struct shoald *d = ctx;
	struct shoald_peer *p;
	double now;
	size_t i;

	switch (ev->type) {
	case SHOAL_DP_EV_CONTROL:
		on_control(d, ev);
		break;
	case SHOAL_DP_EV_ENDPOINT:
		p = shoald_peer_find(d, ev->public_key);
		if (p && ev->from.len)
			p->endpoint = ev->from;
		break;
	case SHOAL_DP_EV_SOFT_EXPIRE:
		p = shoald_peer_find(d, ev->public_key);
		if (p && !p->hs_active)
			initiate(d, p, shoald_now());
		break;
	case SHOAL_DP_EV_UNKNOWN_SPI:
		/* A peer still sending on keys we lost: agree on new ones. */
		now = shoald_now();
		for (i = 0; i < d->n_peers; i++) {
			p = &d->peers[i];
			/* Not while online: anyone can forge these. */
			if (!p->online &&
			    shoal_endpoint_equal(&p->endpoint, &ev->from) &&
			    !p->hs_active && now >= p->next_attempt)
				initiate(d, p, now);
		}
		break;
	case SHOAL_DP_EV_LOST:
		/* At the next tick, not once per overrun. */
		d->next_poll = 0;
		break;
	}
}

struct shoald_session *shoald_session_out(struct shoald_peer *p)
{
	int i;

	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		if (p->sessions[i].used && !p->sessions[i].resumed &&
		    p->sessions[i].peer_spi == p->out_spi)
			return &p->sessions[i];
	return NULL;
}

struct shoald_session *shoald_session_by_spi(struct shoald *d, uint32_t spi,
					     struct shoald_peer **peer)
{
	return session_by_spi(d, spi, peer);
}

void shoald_send_ctl(struct shoald *d, const struct shoal_endpoint *to,
		     const uint8_t *msg, int len)
{
	send_ctl(d, to, msg, len);
}

static void send_ping(struct shoald *d, struct shoald_peer *p, double now)
{
	uint8_t msg[SHOAL_CTL_PING_LEN];
	struct shoald_session *s = shoald_session_out(p);

	if (!s)
		return;
	p->ping_id = ((uint64_t)randombytes_random() << 32 |
		      randombytes_random()) | 1;
	p->ping_sent = now;
	send_ctl(d, &p->endpoint, msg,
		 shoal_ctl_write_ping(msg, sizeof(msg), SHOAL_CTL_PING,
				      s->peer_spi, p->ping_id, s->ctl_key));
}

/* A peer silent too long: its SAs go, and handshakes start over. */
static void tear_down(struct shoald *d, struct shoald_peer *p, double now)
{
	struct shoal_dp_peer dp = { 0 };
	int i;

	log_peer(d, p, "silent too long: torn down");
	shoald_sock_drop(d, p, now);
	for (i = 0; i < SHOAL_MAX_SA_IN; i++)
		session_clear(&p->sessions[i]);
	p->out_spi = 0;
	p->online = false;
	p->rtt_ms = -1;
	p->ping_id = 0;
	d->dp->ops->remove_peer(d->dp, p->public_key);
	memcpy(dp.public_key, p->public_key, 32);
	dp.has_mac = true;
	memcpy(dp.mac, p->mac, 6);
	dp.endpoint = p->endpoint;
	put_allowed_ips(&dp, p);
	d->dp->ops->set_peer(d->dp, &dp);
	p->failures = 0;
	p->next_attempt = now;
}

void shoald_tick(struct shoald *d, double now)
{
	size_t i;

	if (now >= d->next_poll) {
		shoald_poll(d);
		d->next_poll = now + 1.0;
		/* On a clock, not only under load: shoal.ko uses it too. */
		if (now - d->cookie_secret_born >= COOKIE_SECRET_LIFETIME)
			new_cookie_secret(d, now);
		else if (d->cookie_unsynced)
			push_cookie_secret(d);
	}
	shoald_birthday_tick(d, now);
	for (i = 0; i < d->n_peers; i++) {
		struct shoald_peer *p = &d->peers[i];

		/*
		 * Silent too long, or alive but with keys past their hard
		 * lifetime (rekeying keeps failing): either way no traffic
		 * can flow, so start over.
		 */
		if (p->online && (now - p->last_alive > dead_after(d) ||
				  (p->last_established &&
				   now - p->last_established > hard_seconds(d))))
			tear_down(d, p, now);
		if (p->hs_active && now - p->hs_sent > HANDSHAKE_TIMEOUT) {
			handshake_abandon(p);
			p->failures++;
		}
		if (!p->hs_active && now >= p->next_attempt &&
		    (!p->online || now >= p->next_rekey))
			initiate(d, p, now);
		if (p->online && now >= p->next_ping) {
			if (p->ping_id)
				p->rtt_ms = -1;	/* the last one got lost */
			send_ping(d, p, now);
			p->next_ping = now + d->keepalive_seconds;
		}
	}
}

void shoald_poll(struct shoald *d)
{
	struct shoal_device_info info;
	struct shoald_peer *p;
	double now = shoald_now();
	time_t wall = time(NULL);
	size_t i;

	if (d->dp->ops->get(d->dp, &info) < 0)
		return;
	d->dp_control_drops = info.stats[SHOAL_A_DSTAT_CONTROL_DROPS];
	for (i = 0; i < info.n_peers; i++) {
		const struct shoal_peer_info *pi = &info.peers[i];

		p = shoald_peer_find(d, pi->public_key);
		if (!p)
			continue;
		/* Traffic from the peer is as good a sign of life as a PONG. */
		if (pi->last_rx > p->last_rx && pi->last_rx + 2 >=
		    (uint64_t)wall && p->online)
			alive(p, now);
		p->rx_bytes = pi->rx_bytes;
		p->tx_bytes = pi->tx_bytes;
		p->last_rx = pi->last_rx;
		if (pi->endpoint.len)
			p->endpoint = pi->endpoint;
	}
	shoal_dp_info_free(&info);
}

void shoald_knock(struct shoald *d, struct shoald_peer *p, double now)
{
	if (!p->hs_active) {
		shoald_initiate(d, p, now, SHOALD_TO_ALL);
		return;
	}
	p->last_knock = now;
	send_init(d, p, p->init_msg, sizeof(p->init_msg), p->hs_targets);
}

const char *shoald_peer_path(const struct shoald_peer *p)
{
	if (!p->online)
		return "none";
	return p->relay_bound && shoal_endpoint_equal(&p->endpoint, &p->relay) ?
	       "relay" : "direct";
}

/* A new peer in d->peers, not yet in the datapath. */
static struct shoald_peer *peer_new(struct shoald *d, const uint8_t key[32],
				    const uint8_t mac[6])
{
	struct shoald_peer *p, *v;
	double now = shoald_now();

	if (!sodium_memcmp(key, d->public_key, 32))
		return NULL;
	v = realloc(d->peers, (d->n_peers + 1) * sizeof(*v));
	if (!v)
		return NULL;
	d->peers = v;
	p = &d->peers[d->n_peers];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, key, 32);
	memcpy(p->mac, mac, 6);
	shoal_ctl_mac1_key(p->mac1_key, p->public_key);
	shoal_ctl_cookie_key(p->cookie_key, p->public_key);
	p->rtt_ms = -1;
	p->next_attempt = now;
	p->next_ping = now + d->keepalive_seconds;
	d->n_peers++;
	return p;
}

struct shoald_peer *shoald_peer_add(struct shoald *d, const uint8_t key[32],
				    const uint8_t mac[6])
{
	struct shoald_peer *p = shoald_peer_find(d, key);
	uint8_t old[6];

	if (p) {
		if (memcmp(p->mac, mac, 6)) {
			memcpy(old, p->mac, 6);
			memcpy(p->mac, mac, 6);
			/*
			 * Refused (multicast, another peer's): the datapath
			 * keeps the old MAC, and so must the peer, or its
			 * neighbour entries would point elsewhere.
			 */
			if (program(d, p, NULL, false) < 0)
				memcpy(p->mac, old, 6);
		}
		return p;
	}
	p = peer_new(d, key, mac);
	if (p && program(d, p, NULL, false) < 0) {
		d->n_peers--;
		return NULL;
	}
	return p;
}

void shoald_peer_set_allowed_ips(struct shoald *d, struct shoald_peer *p,
				 const struct shoal_prefix *allowed, size_t n)
{
	if (n > SHOAL_MAX_ALLOWED_IPS)
		n = SHOAL_MAX_ALLOWED_IPS;
	if (p->allowed_ips_set && n == p->n_allowed_ips &&
	    !memcmp(p->allowed_ips, allowed, n * sizeof(allowed[0])))
		return;
	p->allowed_ips_set = true;
	memset(p->allowed_ips, 0, sizeof(p->allowed_ips));
	memcpy(p->allowed_ips, allowed, n * sizeof(allowed[0]));
	p->n_allowed_ips = (unsigned int)n;
	program(d, p, NULL, false);
}

void shoald_peer_remove(struct shoald *d, struct shoald_peer *p)
{
	size_t i = (size_t)(p - d->peers);
	int j;

	if (i >= d->n_peers)
		return;
	handshake_abandon(p);
	shoald_sock_drop(d, p, shoald_now());
	for (j = 0; j < SHOAL_MAX_SA_IN; j++)
		session_clear(&p->sessions[j]);
	d->dp->ops->remove_peer(d->dp, p->public_key);
	sodium_memzero(p, sizeof(*p));
	memmove(p, p + 1, (d->n_peers - i - 1) * sizeof(*p));
	d->n_peers--;
}

/*
 * What the datapath already holds for a configured peer (a restart):
 * its SAs stay, named by SPI, and count as a live session until a new
 * handshake replaces them.
 */
static void resume(struct shoald_peer *p,
		   const struct shoal_peer_info *pi, double now)
{
	unsigned int i;

	if (pi->endpoint.len)
		p->endpoint = pi->endpoint;
	/* An adopted peer keeps its restriction until the mediator speaks. */
	if (!p->allowed_ips_set && pi->n_allowed_ips) {
		p->allowed_ips_set = true;
		p->n_allowed_ips = pi->n_allowed_ips;
		memcpy(p->allowed_ips, pi->allowed_ips,
		       pi->n_allowed_ips * sizeof(pi->allowed_ips[0]));
	}
	for (i = 0; i < pi->n_sa_in && i < SHOAL_MAX_SA_IN; i++) {
		p->sessions[i].used = true;
		p->sessions[i].resumed = true;
		p->sessions[i].installed = true;
		p->sessions[i].confirmed = true;
		p->sessions[i].my_spi = pi->sa_in_spis[i];
		p->sessions[i].established = now;
	}
	if (pi->has_sa_out && pi->n_sa_in) {
		p->out_spi = pi->sa_out_spi;
		p->online = true;
		alive(p, now);
		p->rx_bytes = pi->rx_bytes;
		p->tx_bytes = pi->tx_bytes;
		p->last_rx = pi->last_rx;
	}
}

int shoald_sessions_start(struct shoald *d, const char *stamps_path)
{
	struct shoal_device_info info;
	double now = shoald_now();
	struct shoald_peer *p;
	size_t i;
	int ret;

	shoald_ratelimit_init(&d->limiter, INIT_RATE, INIT_BURST,
			      INIT_GLOBAL_RATE, INIT_LOAD_RATE, COOKIE_REPLY_RATE);
	shoal_ctl_mac1_key(d->mac1_key, d->public_key);
	shoal_ctl_cookie_key(d->cookie_key, d->public_key);
	new_cookie_secret(d, now);
	ret = shoald_stamps_open(&d->stamps, stamps_path);
	if (ret < 0)
		return ret;
	ret = d->dp->ops->get(d->dp, &info);
	if (ret < 0)
		return ret;
	for (i = 0; i < info.n_peers; i++) {
		p = shoald_peer_find(d, info.peers[i].public_key);
		/*
		 * Not programmed until resumed: programming now would
		 * replace the SAs the kernel holds with none.
		 */
		if (!p && d->adopt_peers) {
			p = peer_new(d, info.peers[i].public_key,
				     info.peers[i].mac);
			if (p)
				p->from_mediator = p->stale = true;
		}
		if (p)
			resume(p, &info.peers[i], now);
		else
			d->dp->ops->remove_peer(d->dp, info.peers[i].public_key);
	}
	shoal_dp_info_free(&info);

	for (i = 0; i < d->n_peers; i++) {
		p = &d->peers[i];
		shoal_ctl_mac1_key(p->mac1_key, p->public_key);
		shoal_ctl_cookie_key(p->cookie_key, p->public_key);
		p->rtt_ms = -1;
		p->next_attempt = now;
		p->next_ping = now + d->keepalive_seconds;
		ret = program(d, p, NULL, p->endpoint.len != 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void shoald_sessions_wipe(struct shoald *d)
{
	size_t i;
	int j;

	for (i = 0; i < d->n_peers; i++) {
		handshake_abandon(&d->peers[i]);
		for (j = 0; j < SHOAL_MAX_SA_IN; j++)
			session_clear(&d->peers[i].sessions[j]);
	}
	sodium_memzero(d->private_key, sizeof(d->private_key));
	sodium_memzero(d->cookie_secret, sizeof(d->cookie_secret));
	shoald_stamps_close(&d->stamps);
}
