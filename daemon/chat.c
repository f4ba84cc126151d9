// SPDX-License-Identifier: MIT
/*
 * Chat: see chat.h, and docs/protocol.md, "Chat", for the packets.
 *
 * A `msg` request names a network this side is a member of (every
 * member of it who is online gets the message) or a member by nickname
 * (that one, marked direct, under a network both share).  Each
 * recipient's copy goes out on its session and again, with a new
 * counter and the same message id, until it is acknowledged or
 * RETRY_FOR has passed; the request is answered then.  Nothing is
 * queued for a member who is offline, and nothing is kept on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chat.h"
#include "be.h"
#include "config.h"
#include "json.h"
#include "mclient.h"
#include "medmsg.h"
#include "util.h"

/* Copies in flight and `msg` requests waiting at once. */
#define MAX_OUT 64
#define MAX_REQ 8
/* Subscribers (`shoal chat`), all and per uid. */
#define MAX_SUBS 8
#define SUBS_PER_UID 2
/* Sent at 0, then every RETRY_GAP, given up after RETRY_FOR. */
#define RETRY_GAP 0.4
#define RETRY_FOR 2.0
/* Messages a second a peer may make us take (a burst of as many). */
#define CHAT_RATE 5.0
/* Networks and members kept from the mediator's NETWORKS. */
#define MAX_NETS 64
#define MAX_MEMBERS 4096
/* NETWORKS asked again this often anyway, not more often than GAP. */
#define REFRESH_EVERY 30.0
#define REFRESH_GAP 1.0

/* Results of `msg` (docs/architecture.md, "The control socket"). */
enum {
	E_CHAT_NO_NETWORKS = -300,
	E_CHAT_BAD_TEXT = -301,
	E_CHAT_OFFLINE = -302,
	E_CHAT_UNKNOWN = -303,
	E_CHAT_NOBODY = -304,
	E_CHAT_UNACKED = -305,
	E_CHAT_BUSY = -306,
};

struct chat_member {
	uint8_t key[32];
	char nick[SHOAL_CONFIG_MAX_NICK + 1];
};

struct chat_net {
	char name[SHOAL_CHAT_NETWORK_MAX + 1];
	bool me;			/* this side is a member, not pending */
	size_t first, n;		/* its members in members[] */
};

struct chat_out {
	bool used, acked, failed;
	int req;
	uint8_t key[32];		/* the recipient's */
	char nick[SHOAL_CONFIG_MAX_NICK + 1];
	struct shoal_chat msg;
	double next_send, give_up;
};

struct chat_req {
	bool used;
	int fd;
	bool direct;
	char offline[256];		/* nicknames, as a JSON array's body */
};

struct chat_sub {
	int fd;
	uid_t uid;
};

struct shoald_chat {
	int epfd;
	struct chat_net nets[MAX_NETS];
	size_t n_nets;
	struct chat_member *members;
	size_t n_members;
	bool known, dirty, was_logged_in;
	double next_refresh, last_ask;
	struct chat_out out[MAX_OUT];
	struct chat_req req[MAX_REQ];
	struct chat_sub subs[MAX_SUBS];
	uint64_t sent, delivered, failed, received, refused, dropped;
};

static bool key_in_net(const struct shoald_chat *c, const struct chat_net *n,
		       const uint8_t key[32])
{
	size_t i;

	for (i = n->first; i < n->first + n->n; i++)
		if (!memcmp(c->members[i].key, key, 32))
			return true;
	return false;
}

static struct chat_net *net_find(struct shoald_chat *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_nets; i++)
		if (!strcmp(c->nets[i].name, name))
			return &c->nets[i];
	return NULL;
}

void shoald_chat_networks(struct shoald *d, const struct shoal_tlv_msg *msg)
{
	struct shoald_chat *c = d->chat;
	struct shoal_tlv_attr net, mem, a;
	struct shoal_tlv_iter it, in;
	struct chat_member *members;
	struct chat_net *n;
	uint8_t state;

	if (!c)
		return;
	members = calloc(MAX_MEMBERS, sizeof(*members));
	if (!members)
		return;
	free(c->members);
	c->members = members;
	c->n_members = 0;
	c->n_nets = 0;
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &net) && c->n_nets < MAX_NETS) {
		if (net.type != MED_A_NETWORK_INFO)
			continue;
		n = &c->nets[c->n_nets];
		memset(n, 0, sizeof(*n));
		if (!shoal_tlv_find_nested(&net, MED_A_NETWORK, &a) ||
		    !shoal_tlv_get_str(&a, n->name, sizeof(n->name)) ||
		    !shoal_chat_network_ok(n->name, strlen(n->name)))
			continue;
		n->first = c->n_members;
		shoal_tlv_iter_nested(&in, &net);
		while (shoal_tlv_next(&in, &mem)) {
			struct chat_member *cm = &c->members[c->n_members];

			if (mem.type != MED_A_MEMBER ||
			    c->n_members == MAX_MEMBERS)
				continue;
			/* Those waiting for approval are not in it yet. */
			state = 2;
			if (shoal_tlv_find_nested(&mem, MED_A_STATE, &a))
				shoal_tlv_get_u8(&a, &state);
			if (state != 2 ||
			    !shoal_tlv_find_nested(&mem, MED_A_PUBLIC_KEY,
						   &a) || a.len != 32)
				continue;
			memcpy(cm->key, a.value, 32);
			cm->nick[0] = '\0';
			if (shoal_tlv_find_nested(&mem, MED_A_NICKNAME, &a))
				shoal_tlv_get_str(&a, cm->nick,
						  sizeof(cm->nick));
			if (!memcmp(cm->key, d->public_key, 32))
				n->me = true;
			else
				c->n_members++;
		}
		n->n = c->n_members - n->first;
		c->n_nets++;
	}
	c->known = true;
}

void shoald_chat_peers_changed(struct shoald *d)
{
	if (d->chat)
		d->chat->dirty = true;
}

/* ---- answers and subscribers ----------------------------------------- */

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void answer(int fd, int code, const char *text, const char *body)
{
	char line[512];

	if (code)
		snprintf(line, sizeof(line), "error %d %s\n", code, text);
	else
		snprintf(line, sizeof(line), "ok\n");
	write_all(fd, line, strlen(line));
	if (body)
		write_all(fd, body, strlen(body));
	close(fd);
}

static void sub_drop(struct shoald_chat *c, struct chat_sub *s)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

/* One JSON line to every subscriber; one that cannot take it whole goes. */
static void publish(struct shoald_chat *c, const char *nick,
		    const struct shoal_chat *m)
{
	char *line = NULL;
	size_t len = 0;
	unsigned int i;
	ssize_t n;
	FILE *f;

	f = open_memstream(&line, &len);
	if (!f)
		return;
	fprintf(f, "{\"time\": %lld, \"from\": ", (long long)time(NULL));
	shoal_json_string(f, nick);
	fprintf(f, ", \"network\": ");
	shoal_json_string(f, m->network);
	fprintf(f, ", \"text\": ");
	shoal_json_string(f, m->text);
	fprintf(f, ", \"direct\": %s}\n", m->direct ? "true" : "false");
	fclose(f);
	for (i = 0; i < MAX_SUBS; i++) {
		if (c->subs[i].fd < 0)
			continue;
		/* Never blocks the loop: a slow reader loses its place. */
		n = send(c->subs[i].fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)len)
			sub_drop(c, &c->subs[i]);
	}
	free(line);
}

static void subscribe(struct shoald_chat *c, int fd, uid_t uid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.fd = fd };
	struct chat_sub *slot = NULL;
	unsigned int i, same = 0;

	for (i = 0; i < MAX_SUBS; i++) {
		if (c->subs[i].fd < 0)
			slot = slot ? slot : &c->subs[i];
		else if (c->subs[i].uid == uid)
			same++;
	}
	if (!slot || same >= SUBS_PER_UID) {
		answer(fd, E_CHAT_BUSY, "too many chat listeners", NULL);
		return;
	}
	/* "ok", then the networks it may speak in (`shoal chat`'s default). */
	write_all(fd, "ok", 2);
	for (i = 0; i < c->n_nets; i++)
		if (c->nets[i].me) {
			write_all(fd, " ", 1);
			write_all(fd, c->nets[i].name, strlen(c->nets[i].name));
		}
	write_all(fd, "\n", 1);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return;
	}
	slot->fd = fd;
	slot->uid = uid;
}

bool shoald_chat_handle(struct shoald *d, int fd)
{
	struct shoald_chat *c = d->chat;
	unsigned int i;
	char buf[256];
	ssize_t n;

	if (!c)
		return false;
	for (i = 0; i < MAX_SUBS; i++) {
		if (c->subs[i].fd != fd)
			continue;
		/* A listener says nothing: anything but silence ends it. */
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		sub_drop(c, &c->subs[i]);
		return true;
	}
	return false;
}

/* ---- sending ----------------------------------------------------------- */

static bool send_copy(struct shoald *d, struct chat_out *o)
{
	uint8_t plain[SHOAL_CHAT_PLAIN_MAX], pkt[SHOAL_CHAT_MAX_LEN];
	uint8_t tx[SHOAL_CTL_KEY_LEN], rx[SHOAL_CTL_KEY_LEN];
	struct shoal_chat_hdr h = { .type = SHOAL_CTL_CHAT };
	struct shoald_peer *p = shoald_peer_find(d, o->key);
	struct shoald_session *s = p && p->online ? shoald_session_out(p) :
				   NULL;
	int plen, len;

	plen = shoal_chat_encode(plain, sizeof(plain), &o->msg);
	if (!s || plen < 0)
		return false;
	shoal_chat_keys(tx, rx, s->ctl_key, s->initiator);
	h.receiver_spi = s->peer_spi;
	h.counter = ++s->chat_tx;
	len = shoal_chat_seal(pkt, sizeof(pkt), &h, plain, (size_t)plen, tx);
	sodium_memzero(tx, sizeof(tx));
	sodium_memzero(rx, sizeof(rx));
	if (len < 0)
		return false;
	shoald_send_ctl(d, &p->endpoint, pkt, len);
	return true;
}

/*
 * A nickname into a JSON array's body: as the mediator's rules have them
 * (anything else, from a mediator that broke them, becomes '?').
 */
static void add_nick(char *list, size_t size, const char *nick)
{
	char safe[SHOAL_CONFIG_MAX_NICK + 1];
	size_t len = strlen(list), i;

	for (i = 0; nick[i] && i < sizeof(safe) - 1; i++)
		safe[i] = strchr("abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
				 nick[i]) ? nick[i] : '?';
	safe[i] = '\0';
	snprintf(list + len, size - len, "%s\"%s\"", len ? ", " : "", safe);
}

/* The request's copies are all settled: its answer. */
static void req_finish(struct shoald *d, int r)
{
	struct shoald_chat *c = d->chat;
	struct chat_req *q = &c->req[r];
	char delivered[1024] = "", failed[1024] = "", body[2600];
	char names[1024] = "", text[1200];
	unsigned int i;

	for (i = 0; i < MAX_OUT; i++) {
		struct chat_out *o = &c->out[i];

		if (!o->used || o->req != r)
			continue;
		if (o->acked) {
			add_nick(delivered, sizeof(delivered), o->nick);
		} else {
			add_nick(failed, sizeof(failed), o->nick);
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 *names ? ", " : "", o->nick);
		}
		sodium_memzero(o, sizeof(*o));
	}
	snprintf(body, sizeof(body), "{\"delivered\": [%s], \"failed\": [%s], "
		 "\"offline\": [%s]}\n", delivered, failed, q->offline);
	if (*failed) {
		snprintf(text, sizeof(text), "not acknowledged within %.0f s "
			 "by %s", RETRY_FOR, names);
		answer(q->fd, E_CHAT_UNACKED, text, body);
	} else {
		answer(q->fd, 0, NULL, body);
	}
	q->used = false;
}

static void req_check(struct shoald *d, int r)
{
	unsigned int i;

	for (i = 0; i < MAX_OUT; i++)
		if (d->chat->out[i].used && d->chat->out[i].req == r &&
		    !d->chat->out[i].acked && !d->chat->out[i].failed)
			return;
	req_finish(d, r);
}

/* A copy for p of msg, in request r; false when there is no room. */
static bool queue_copy(struct shoald *d, int r, const struct shoald_peer *p,
		       const struct shoal_chat *msg, double now)
{
	struct shoald_chat *c = d->chat;
	unsigned int i;

	for (i = 0; i < MAX_OUT; i++) {
		struct chat_out *o = &c->out[i];

		if (o->used)
			continue;
		memset(o, 0, sizeof(*o));
		o->used = true;
		o->req = r;
		memcpy(o->key, p->public_key, 32);
		snprintf(o->nick, sizeof(o->nick), "%s", p->nickname);
		o->msg = *msg;
		o->next_send = now;
		o->give_up = now + RETRY_FOR;
		return true;
	}
	return false;
}

static bool peer_reachable(struct shoald_peer *p)
{
	return p->online && shoald_session_out(p);
}

/* "msg TARGET TEXT": returns with fd answered, or kept in a request. */
static void msg_request(struct shoald *d, int fd, const char *args)
{
	struct shoald_chat *c = d->chat;
	char target[SHOAL_CHAT_NETWORK_MAX + 1], err[256];
	const char *text = strchr(args, ' ');
	struct shoald_peer *to = NULL, *p;
	struct shoal_chat msg = { 0 };
	struct chat_net *net = NULL;
	struct chat_req *q = NULL;
	size_t i, j, tlen, n_on = 0, n_all = 0;
	double now = shoald_now();
	bool known = false;
	int r;

	if (!text || (size_t)(text - args) >= sizeof(target)) {
		answer(fd, E_CHAT_UNKNOWN, "malformed request", NULL);
		return;
	}
	memcpy(target, args, (size_t)(text - args));
	target[text - args] = '\0';
	text++;
	tlen = strlen(text);
	if (!shoal_chat_text_ok(text, tlen)) {
		answer(fd, E_CHAT_BAD_TEXT, tlen > SHOAL_CHAT_TEXT_MAX ?
		       "the text is longer than 1000 bytes" :
		       "the text must be 1 to 1000 bytes of UTF-8 without "
		       "control characters", NULL);
		return;
	}
	if (!c->known || !c->n_nets) {
		answer(fd, E_CHAT_NO_NETWORKS, "not in any network (or the "
		       "mediator has not said which yet)", NULL);
		return;
	}
	for (r = 0; r < MAX_REQ && c->req[r].used; r++)
		;
	if (r == MAX_REQ) {
		answer(fd, E_CHAT_BUSY, "too many messages on their way",
		       NULL);
		return;
	}
	q = &c->req[r];
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	memcpy(msg.text, text, tlen);
	msg.text_len = tlen;
	randombytes_buf(&msg.msg_id, sizeof(msg.msg_id));

	net = net_find(c, target);
	if (net && !net->me)
		net = NULL;
	if (!net) {
		/* A member by nickname, under the first network both share. */
		for (i = 0; i < d->n_peers && !to; i++)
			if (!strcmp(d->peers[i].nickname, target))
				to = &d->peers[i];
		for (i = 0; to && i < c->n_nets && !net; i++)
			if (c->nets[i].me &&
			    key_in_net(c, &c->nets[i], to->public_key))
				net = &c->nets[i];
		/* Known to the mediator, but not announced: offline. */
		for (i = 0; !net && i < c->n_nets && !known; i++)
			for (j = c->nets[i].first; c->nets[i].me &&
			     j < c->nets[i].first + c->nets[i].n; j++)
				known = known ||
					!strcmp(c->members[j].nick, target);
		if (!net) {
			snprintf(err, sizeof(err), known ?
				 "%s is offline: nothing was sent (messages "
				 "are not queued)" : "no network or member "
				 "called %s in your networks", target);
			answer(fd, known ? E_CHAT_OFFLINE : E_CHAT_UNKNOWN,
			       err, NULL);
			return;
		}
		if (!peer_reachable(to)) {
			snprintf(err, sizeof(err), "%s is offline: nothing was "
				 "sent (messages are not queued)", target);
			answer(fd, E_CHAT_OFFLINE, err, NULL);
			return;
		}
		msg.direct = true;
		snprintf(msg.network, sizeof(msg.network), "%s", net->name);
		if (!queue_copy(d, r, to, &msg, now)) {
			answer(fd, E_CHAT_BUSY, "too many messages on their "
			       "way", NULL);
			return;
		}
		q->used = true;
		c->sent++;
		shoald_chat_tick(d, now);
		return;
	}
	snprintf(msg.network, sizeof(msg.network), "%s", net->name);
	for (j = net->first; j < net->first + net->n; j++) {
		n_all++;
		p = shoald_peer_find(d, c->members[j].key);
		if (!p || !peer_reachable(p)) {
			add_nick(q->offline, sizeof(q->offline),
				 c->members[j].nick);
			continue;
		}
		if (!queue_copy(d, r, p, &msg, now)) {
			for (i = 0; i < MAX_OUT; i++)
				if (c->out[i].used && c->out[i].req == r)
					memset(&c->out[i], 0,
					       sizeof(c->out[i]));
			answer(fd, E_CHAT_BUSY, "too many messages on their "
			       "way", NULL);
			return;
		}
		n_on++;
	}
	if (!n_on) {
		snprintf(err, sizeof(err), "no member of %s is online "
			 "(%zu other member%s): nothing was sent", net->name,
			 n_all, n_all == 1 ? "" : "s");
		answer(fd, E_CHAT_NOBODY, err, NULL);
		return;
	}
	q->used = true;
	c->sent++;
	shoald_chat_tick(d, now);
}

bool shoald_chat_request(struct shoald *d, int fd, char *req, uid_t uid)
{
	req[strcspn(req, "\r\n")] = '\0';
	if (!strncmp(req, "msg ", 4)) {
		if (!d->chat)
			answer(fd, E_CHAT_NO_NETWORKS, "no chat here", NULL);
		else
			msg_request(d, fd, req + 4);
		return true;
	}
	if (!strcmp(req, "chat-listen")) {
		if (!d->chat)
			answer(fd, E_CHAT_NO_NETWORKS, "no chat here", NULL);
		else
			subscribe(d->chat, fd, uid);
		return true;
	}
	return false;
}

/* ---- receiving ----------------------------------------------------- */

static bool seen_before(const struct shoald_peer *p, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < SHOAL_ARRAY_SIZE(p->chat_seen); i++)
		if (p->chat_seen[i] == id)
			return true;
	return false;
}

static void send_ack(struct shoald *d, struct shoald_session *s,
		     const struct shoal_endpoint *to, uint64_t id,
		     const uint8_t tx[SHOAL_CTL_KEY_LEN])
{
	struct shoal_chat_hdr h = { .type = SHOAL_CTL_CHAT_ACK };
	uint8_t plain[8], pkt[SHOAL_CHAT_ACK_LEN];

	h.receiver_spi = s->peer_spi;
	h.counter = ++s->chat_tx;
	shoal_put_be64(plain, id);
	shoald_send_ctl(d, to, pkt, shoal_chat_seal(pkt, sizeof(pkt), &h,
						    plain, sizeof(plain), tx));
}

static void on_ack(struct shoald *d, struct shoald_peer *p,
		   const uint8_t *plain, size_t len)
{
	struct shoald_chat *c = d->chat;
	unsigned int i;
	uint64_t id;

	if (len != 8)
		return;
	id = shoal_get_be64(plain);
	for (i = 0; i < MAX_OUT; i++) {
		struct chat_out *o = &c->out[i];

		if (o->used && !o->acked && !o->failed &&
		    o->msg.msg_id == id &&
		    !memcmp(o->key, p->public_key, 32)) {
			o->acked = true;
			c->delivered++;
			req_check(d, o->req);
			return;
		}
	}
}

/*
 * The scope: the network must be one this side is in, with the sender
 * in it too, as the mediator last said.
 */
static bool in_scope(struct shoald_chat *c, const struct shoald_peer *p,
		     const char *network)
{
	struct chat_net *n = net_find(c, network);

	return n && n->me && key_in_net(c, n, p->public_key);
}

static void on_chat_packet(struct shoald *d, const struct shoal_dp_event *ev)
{
	struct shoald_chat *c = d->chat;
	uint8_t tx[SHOAL_CTL_KEY_LEN], rx[SHOAL_CTL_KEY_LEN];
	uint8_t plain[SHOAL_CHAT_PLAIN_MAX];
	struct shoal_chat_hdr h;
	struct shoald_session *s;
	struct shoald_peer *p;
	struct shoal_chat m;
	size_t plen;
	bool opened;

	if (!c || shoal_chat_parse_hdr(&h, ev->payload, ev->len) < 0) {
		d->ctl_rejected++;
		return;
	}
	s = shoald_session_by_spi(d, h.receiver_spi, &p);
	if (!s || s->resumed) {
		d->ctl_rejected++;
		return;
	}
	shoal_chat_keys(tx, rx, s->ctl_key, s->initiator);
	opened = shoal_chat_open(plain, &plen, ev->payload, ev->len, rx) == 0 &&
		 shoal_chat_replay_ok(&s->chat_rx, h.counter);
	if (!opened) {
		d->ctl_rejected++;
		goto wipe;
	}
	if (h.type == SHOAL_CTL_CHAT_ACK) {
		on_ack(d, p, plain, plen);
		goto wipe;
	}
	if (!p->chat_rate.rate)
		shoald_bucket_init(&p->chat_rate, CHAT_RATE);
	if (shoal_chat_decode(&m, plain, plen) < 0 ||
	    !in_scope(c, p, m.network)) {
		c->refused++;
		goto wipe;
	}
	/* A copy sent again: acknowledged again, shown once. */
	if (!seen_before(p, m.msg_id)) {
		if (!shoald_bucket_take(&p->chat_rate, shoald_now())) {
			c->dropped++;
			goto wipe;
		}
		p->chat_seen[p->chat_seen_next++ %
			     SHOAL_ARRAY_SIZE(p->chat_seen)] = m.msg_id;
		c->received++;
		publish(c, p->nickname, &m);
	}
	send_ack(d, s, &ev->from, m.msg_id, tx);
wipe:
	sodium_memzero(tx, sizeof(tx));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(plain, sizeof(plain));
}

/* ---- the rest ------------------------------------------------------- */

void shoald_chat_tick(struct shoald *d, double now)
{
	struct shoald_chat *c = d->chat;
	bool logged_in = mclient_logged_in(d);
	unsigned int i;

	if (!c)
		return;
	if (logged_in && !c->was_logged_in)
		c->dirty = true;
	c->was_logged_in = logged_in;
	if (logged_in && (c->dirty || now >= c->next_refresh) &&
	    now - c->last_ask >= REFRESH_GAP) {
		c->last_ask = now;
		if (mclient_chat_ask_networks(d)) {
			c->dirty = false;
			c->next_refresh = now + REFRESH_EVERY;
		}
	}
	for (i = 0; i < MAX_OUT; i++) {
		struct chat_out *o = &c->out[i];

		if (!o->used || o->acked || o->failed)
			continue;
		if (now >= o->give_up) {
			/* Settled as failed: the answer says who. */
			o->failed = true;
			c->failed++;
			req_check(d, o->req);
			continue;
		}
		if (now >= o->next_send) {
			o->next_send = now + RETRY_GAP;
			send_copy(d, o);
		}
	}
}

void shoald_chat_status_json(struct shoald *d, FILE *f)
{
	struct shoald_chat *c = d->chat;
	unsigned int i, subs = 0;

	if (!c) {
		fputs("null", f);
		return;
	}
	for (i = 0; i < MAX_SUBS; i++)
		subs += c->subs[i].fd >= 0;
	fprintf(f, "{\"sent\": %llu, \"delivered\": %llu, \"failed\": %llu, "
		"\"received\": %llu, \"refused\": %llu, \"rate_dropped\": "
		"%llu, \"listeners\": %u, \"networks\": [",
		(unsigned long long)c->sent, (unsigned long long)c->delivered,
		(unsigned long long)c->failed, (unsigned long long)c->received,
		(unsigned long long)c->refused, (unsigned long long)c->dropped,
		subs);
	for (i = 0; i < c->n_nets; i++) {
		fprintf(f, "%s", i ? ", " : "");
		shoal_json_string(f, c->nets[i].name);
	}
	fputs("]}", f);
}

int shoald_chat_open(struct shoald *d, int epfd)
{
	struct shoald_chat *c = calloc(1, sizeof(*c));
	unsigned int i;

	if (!c)
		return -ENOMEM;
	c->epfd = epfd;
	for (i = 0; i < MAX_SUBS; i++)
		c->subs[i].fd = -1;
	d->chat = c;
	d->on_chat = on_chat_packet;
	return 0;
}

void shoald_chat_close(struct shoald *d)
{
	struct shoald_chat *c = d->chat;
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < MAX_SUBS; i++)
		if (c->subs[i].fd >= 0)
			sub_drop(c, &c->subs[i]);
	for (i = 0; i < MAX_REQ; i++)
		if (c->req[i].used)
			answer(c->req[i].fd, E_CHAT_UNACKED, "shoald is "
			       "stopping", NULL);
	free(c->members);
	sodium_memzero(c, sizeof(*c));
	free(c);
	d->chat = NULL;
	d->on_chat = NULL;
}
