// SPDX-License-Identifier: MIT
/*
 * shoal-relay: a relay server of its own (shoal-relay(8), docs/protocol.md
 * "Relay servers").  It keeps a static key in its state directory, connects
 * to the mediator over the clients' Noise channel, registers, and runs
 * relay ports (mediator/relay_core.c, the same code as the mediator's
 * built-in relay) for the allocations the mediator gives it.  What it
 * forwards keeps flowing while the mediator is away: only new
 * allocations need it.  It reconnects with backoff and jitter, and on
 * registering again reports the allocations it holds (RELAY_HOLDS).
 *
 * The event loop: one epoll set, whose data.ptr is either one of the
 * loop's own descriptors (signalfd, 1 s timerfd, the mediator link) or a
 * component's handle (struct med_handle, first member, whose kind says
 * which component): today the relay ports (MED_K_RELAY).  A component
 * adds its descriptors with such a handle, is called with the handle
 * when one is ready, and gets tick(now) every second; relay_ports_* are
 * that shape, and another (a TCP bridge) plugs in the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <sodium.h>

#include "be.h"
#include "channel.h"
#include "key.h"
#include "medmsg.h"
#include "metrics.h"
#include "tlv.h"
#include "util.h"
#include "mediator/cmdline.h"
#include "mediator/relay_core.h"

#define DEFAULT_STATE_DIR "/var/lib/shoal-relay"
#define KEY_FILE "private.key"
#define MAX_EVENTS 64
#define LOAD_EVERY_MS 10000
/* No answer from the mediator for this long: the link is gone. */
#define SILENCE_MS 35000
#define RECONNECT_BASE_MS 1000
#define RECONNECT_MAX_MS 15000

struct relayd {
	int epfd, timer_fd, signal_fd;
	uint8_t priv[32], pub[32], med_pub[32];
	const char *mediator;
	struct sockaddr_storage listen;
	socklen_t listen_len;
	bool wildcard;
	struct relay_ports rp;
	/* The link to the mediator. */
	int fd;
	uint32_t events;
	bool connecting, register_sent, registered;
	struct shoal_channel ch;
	unsigned int failures;
	int64_t next_connect, next_load, last_rx;
	uint32_t next_id, register_id;
	/* --metrics; NULL: none. */
	struct metrics_server *metrics;
	int metrics_fd;
	uint64_t alloc_refused, register_refused;
	uint8_t msg[SHOAL_TLV_MAX_MSG];
};

static const char usage_text[] =
	"Usage: shoal-relay --mediator HOST:PORT --mediator-key KEY [OPTIONS]\n"
	"\n"
	"A shoal relay server: forwards relayed pairs' datagrams for the\n"
	"mediator that registers it, and keeps doing so while it is away.\n"
	"\n"
	"Options:\n"
	"  -m, --mediator HOST:PORT  the mediator (TCP)\n"
	"  -k, --mediator-key KEY    its public key\n"
	"  -l, --listen HOST:PORT    the address of the relay ports, and the\n"
	"                            first port when --ports is not given\n"
	"                            (default: [::]:51810)\n"
	"  -p, --ports LO-HI         the relay ports (default: PORT-51999, or\n"
	"                            PORT+189 above that)\n"
	"  -s, --state-dir DIR       its key (default: $STATE_DIRECTORY or\n"
	"                            " DEFAULT_STATE_DIR ")\n"
	"      --relay-rate KIB      bytes a pair may send, in KiB a second;\n"
	"                            0: no limit (default: 1024)\n"
	"      --metrics HOST:PORT   serve Prometheus metrics on HTTP GET\n"
	"                            /metrics there; no authentication: a\n"
	"                            loopback or private address (default:\n"
	"                            none)\n"
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n"
	"\n"
	"See shoal-relay(8).\n";

static void link_arm(struct relayd *d)
{
	const uint8_t *p;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->fd };

	if (d->connecting || shoal_channel_pending(&d->ch, &p))
		ev.events |= EPOLLOUT;
	if (ev.events != d->events &&
	    !epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->fd, &ev))
		d->events = ev.events;
}

static void link_down(struct relayd *d, const char *why)
{
	int64_t wait = RECONNECT_BASE_MS;
	unsigned int i;

	if (d->fd < 0)
		return;
	fprintf(stderr, "shoal-relay: mediator %s: %s\n", d->mediator, why);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->fd, NULL);
	close(d->fd);
	d->fd = -1;
	shoal_channel_wipe(&d->ch);
	d->connecting = d->register_sent = d->registered = false;
	for (i = 0; i < d->failures && wait < RECONNECT_MAX_MS; i++)
		wait *= 2;
	if (wait > RECONNECT_MAX_MS)
		wait = RECONNECT_MAX_MS;
	d->failures++;
	/* Jitter: relays do not all come back to a mediator at once. */
	d->next_connect = relay_now_ms() + wait / 2 +
			  randombytes_uniform((uint32_t)wait);
}

static void link_flush(struct relayd *d)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	while (d->fd >= 0 && !d->connecting &&
	       (n = shoal_channel_pending(&d->ch, &p))) {
		w = send(d->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (w <= 0) {
			link_down(d, strerror(errno));
			return;
		}
		shoal_channel_consumed(&d->ch, (size_t)w);
	}
	if (d->fd >= 0)
		link_arm(d);
}

static void start(struct relayd *d, struct shoal_tlv_writer *w, uint16_t type)
{
	shoal_tlv_writer_init(w, d->msg, sizeof(d->msg), type, 0,
			      ++d->next_id);
}

static void finish(struct relayd *d, struct shoal_tlv_writer *w)
{
	int n = shoal_tlv_finish(w);

	if (n > 0 && d->fd >= 0 &&
	    shoal_channel_send(&d->ch, d->msg, (size_t)n) < 0)
		link_down(d, "cannot send");
	if (n > 0)
		sodium_memzero(d->msg, (size_t)n);
	link_flush(d);
}

static void send_load(struct relayd *d)
{
	struct shoal_tlv_writer w;
	uint8_t v[MED_RELAY_LOAD_LEN];

	shoal_put_be32(v, d->rp.n_live);
	shoal_put_be64(v + 4, d->rp.stats.relay_bytes);
	start(d, &w, MED_RELAY_LOAD);
	shoal_tlv_put(&w, MED_A_RELAY_LOAD, v, sizeof(v));
	finish(d, &w);
	d->next_load = relay_now_ms() + LOAD_EVERY_MS;
}

/*
 * Registered: what we hold, so that a mediator that lost its state (or
 * never had it) adopts it.  Its request id goes in requested_by (unused
 * here otherwise): a refusal names the allocation to free.
 */
static void send_holds(struct relayd *d)
{
	struct shoal_tlv_writer w;
	struct relay *r;

	for (r = d->rp.live; r && d->fd >= 0; r = r->lnext) {
		start(d, &w, MED_RELAY_HOLDS);
		r->requested_by = d->next_id;
		shoal_tlv_put_u16(&w, MED_A_RELAY_PORT, r->port);
		relay_side_put(&w, &r->side[0]);
		relay_side_put(&w, &r->side[1]);
		shoal_tlv_put(&w, MED_A_RELAY_TAG, r->hold_tag,
			      sizeof(r->hold_tag));
		finish(d, &w);
	}
}

static struct relay *find_id0(struct relayd *d, uint32_t id0)
{
	struct relay *r;

	for (r = d->rp.live; r; r = r->lnext)
		if (r->side[0].id == id0)
			return r;
	return NULL;
}

/* RELAY_ALLOCATE: a port for the pair, or none (no port free). */
static void on_allocate(struct relayd *d, const struct shoal_tlv_msg *msg)
{
	struct relay_side s[2] = { 0 };
	uint8_t tag[16];
	bool has_tag = false;
	struct shoal_tlv_writer w;
	struct shoal_tlv_attr a;
	struct shoal_tlv_iter it;
	struct relay *r;
	int n = 0;

	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		if (a.type == MED_A_RELAY_SIDE &&
		    (n == 2 || relay_side_get(&a, &s[n++]) < 0))
			goto out;
		if (a.type == MED_A_RELAY_TAG) {
			if (a.len != sizeof(tag))
				goto out;
			memcpy(tag, a.value, sizeof(tag));
			has_tag = true;
		}
	}
	if (n != 2 || s[0].id == s[1].id || !has_tag)
		goto out;
	r = find_id0(d, s[0].id);
	if (!r) {
		r = relay_ports_alloc(&d->rp);
		if (r) {
			memcpy(r->side, s, sizeof(s));
			memcpy(r->hold_tag, tag, sizeof(tag));
			r->requested_by = 0;
		}
	}
	start(d, &w, MED_RELAY_ALLOCATED);
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, s[0].id);
	if (r)
		shoal_tlv_put_u16(&w, MED_A_RELAY_PORT, r->port);
	else
		d->alloc_refused++;
	finish(d, &w);
out:
	sodium_memzero(s, sizeof(s));
}

static void on_message(struct relayd *d, const uint8_t *buf, size_t len)
{
	struct shoal_tlv_msg msg;
	struct shoal_tlv_attr a;
	struct relay *r;
	uint32_t v = 0;

	if (shoal_tlv_parse(&msg, buf, len) < 0) {
		link_down(d, "undecodable message");
		return;
	}
	if (msg.flags & SHOAL_TLV_F_REPLY) {
		if (shoal_tlv_find(&msg, MED_A_RESULT, &a))
			shoal_tlv_get_u32(&a, &v);
		if (msg.type == MED_RELAY_REGISTER &&
		    msg.request_id == d->register_id) {
			if (v) {
				d->register_refused++;
				link_down(d, "it refused this relay (is its "
					  "key a --relay-key there?)");
				return;
			}
			fprintf(stderr, "shoal-relay: registered with %s, "
				"%u allocations held\n", d->mediator,
				d->rp.n_live);
			d->registered = true;
			d->failures = 0;
			send_holds(d);
			send_load(d);
		} else if (msg.type == MED_RELAY_HOLDS && v) {
			for (r = d->rp.live; r; r = r->lnext)
				if (r->requested_by == (int64_t)msg.request_id)
					relay_ports_free(&d->rp, r);
		}
		return;
	}
	if (!d->registered)
		return;
	if (msg.type == MED_RELAY_ALLOCATE) {
		on_allocate(d, &msg);
	} else if (msg.type == MED_RELAY_FREE &&
		   shoal_tlv_find(&msg, MED_A_RELAY_ID, &a) &&
		   shoal_tlv_get_u32(&a, &v) && (r = find_id0(d, v))) {
		relay_ports_free(&d->rp, r);
	}
}

static void link_readable(struct relayd *d)
{
	struct shoal_tlv_writer w;
	const uint8_t *msg;
	uint8_t *buf;
	size_t room, len;
	ssize_t n;
	int r;

	for (;;) {
		if (shoal_channel_read_buf(&d->ch, &buf, &room) < 0) {
			link_down(d, "protocol error");
			return;
		}
		n = recv(d->fd, buf, room, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			shoal_channel_read_done(&d->ch, 0);
			break;
		}
		if (n <= 0) {
			shoal_channel_read_done(&d->ch, 0);
			link_down(d, n ? strerror(errno) :
				  "it closed the connection");
			return;
		}
		if (shoal_channel_read_done(&d->ch, (size_t)n) < 0) {
			link_down(d, "protocol error");
			return;
		}
		d->last_rx = relay_now_ms();
		while ((r = shoal_channel_next(&d->ch, &msg, &len)) > 0) {
			on_message(d, msg, len);
			if (d->fd < 0)
				return;
		}
		if (r < 0) {
			link_down(d, "the channel failed (wrong mediator "
				  "key?)");
			return;
		}
		if (shoal_channel_established(&d->ch) && !d->register_sent) {
			d->register_sent = true;
			start(d, &w, MED_RELAY_REGISTER);
			d->register_id = d->next_id;
			finish(d, &w);
			if (d->fd < 0)
				return;
		}
	}
	link_flush(d);
}

static void link_writable(struct relayd *d)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (d->connecting) {
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			link_down(d, strerror(err));
			return;
		}
		d->connecting = false;
	}
	link_flush(d);
}

/* HOST:PORT (a name, or [V6]) into host and port: 0, or -1. */
static int split(const char *text, char *host, size_t hsize, char *port,
		 size_t psize)
{
	const char *colon = strrchr(text, ':');
	size_t n;

	if (!colon || strlen(colon + 1) >= psize)
		return -1;
	n = (size_t)(colon - text);
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (!n || n >= hsize)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/*
 * From the --listen address unless it is a wildcard: the mediator hands
 * out the address our connection comes from as the relay ports'.
 */
static void link_connect(struct relayd *d)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
				  .data.ptr = &d->fd };
	struct sockaddr_storage src = d->listen;
	char host[256], port[8];
	int fd;

	d->next_connect = relay_now_ms() + RECONNECT_MAX_MS;
	if (split(d->mediator, host, sizeof(host), port, sizeof(port)) < 0 ||
	    getaddrinfo(host, port, &hints, &res) || !res) {
		fprintf(stderr, "shoal-relay: mediator %s: cannot resolve\n",
			d->mediator);
		if (res)
			freeaddrinfo(res);
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	if (fd < 0 ||
	    (!d->wildcard && src.ss_family == res->ai_family &&
	     bind(fd, (struct sockaddr *)&src, d->listen_len) < 0) ||
	    (connect(fd, res->ai_addr, res->ai_addrlen) < 0 &&
	     errno != EINPROGRESS)) {
		fprintf(stderr, "shoal-relay: mediator %s: %s\n", d->mediator,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		d->failures++;
		d->next_connect = relay_now_ms() + RECONNECT_BASE_MS * 2;
		return;
	}
	freeaddrinfo(res);
	if (shoal_channel_client(&d->ch, d->priv, d->med_pub) < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		shoal_channel_wipe(&d->ch);
		close(fd);
		return;
	}
	d->fd = fd;
	d->events = ev.events;
	d->connecting = true;
	d->last_rx = relay_now_ms();
}

/* An allocation idle too long: the mediator forgets it too. */
static void gone(void *arg, struct relay *r)
{
	struct relayd *d = arg;
	struct shoal_tlv_writer w;

	if (!d->registered)
		return;
	start(d, &w, MED_RELAY_GONE);
	shoal_tlv_put_u32(&w, MED_A_RELAY_ID, r->side[0].id);
	finish(d, &w);
}

static void tick(struct relayd *d)
{
	int64_t now = relay_now_ms();

	if (d->fd < 0 && now >= d->next_connect)
		link_connect(d);
	relay_ports_tick(&d->rp, now, gone, d);
	if (d->fd >= 0 && d->registered && now >= d->next_load)
		send_load(d);
	/* LOAD is answered: silence means the link is dead. */
	if (d->fd >= 0 && now - d->last_rx > SILENCE_MS)
		link_down(d, "silent for too long");
	if (d->metrics)
		metrics_server_tick(d->metrics, now);
}

#define P "shoal_relay_"

/* --metrics: shoal-relay(8), METRICS. */
static void render(void *arg, struct metrics_text *t)
{
	const struct relayd *d = arg;
	const struct relay_stats *rs = &d->rp.stats;

	metrics_one(t, P "allocations", METRICS_GAUGE,
		    "Relayed pairs this relay holds.", d->rp.n_live);
	metrics_one(t, P "relayed_bytes_total", METRICS_COUNTER,
		    "Bytes forwarded.", rs->relay_bytes);
	metrics_one(t, P "relayed_packets_total", METRICS_COUNTER,
		    "Datagrams forwarded.", rs->relayed);
	metrics_one(t, P "dropped_total", METRICS_COUNTER,
		    "Datagrams dropped: from an unknown source, or not sent.",
		    rs->relay_dropped);
	metrics_one(t, P "over_budget_total", METRICS_COUNTER,
		    "Datagrams dropped over their pair's --relay-rate.",
		    rs->relay_over_budget);
	metrics_one(t, P "binds_total", METRICS_COUNTER,
		    "RELAY_BINDs accepted.", rs->relay_binds);
	metrics_one(t, P "challenges_total", METRICS_COUNTER,
		    "RELAY_CHALLENGEs sent.", rs->relay_challenges);
	metrics_one(t, P "mediator_connected", METRICS_GAUGE,
		    "1 while registered with the mediator, else 0.",
		    d->registered);
	metrics_one(t, P "allocations_refused_total", METRICS_COUNTER,
		    "RELAY_ALLOCATEs answered without a port: none free.",
		    d->alloc_refused);
	metrics_one(t, P "registrations_refused_total", METRICS_COUNTER,
		    "Registrations the mediator refused (this relay's key "
		    "is not a --relay-key there).", d->register_refused);
	metrics_process(t, "shoal_relay");
}

static int loop(struct relayd *d)
{
	struct epoll_event evs[MAX_EVENTS];
	struct signalfd_siginfo si;
	struct med_handle *h;
	uint64_t ticks;
	int n, i;

	for (;;) {
		n = epoll_wait(d->epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SHOAL_EXIT_FAILURE;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &d->signal_fd) {
				if (read(d->signal_fd, &si, sizeof(si)) ==
				    sizeof(si))
					return SHOAL_EXIT_OK;
				continue;
			}
			if (p == &d->timer_fd) {
				if (read(d->timer_fd, &ticks,
					 sizeof(ticks)) > 0)
					tick(d);
				continue;
			}
			if (p == &d->metrics_fd) {
				metrics_server_run(d->metrics);
				continue;
			}
			if (p == &d->fd) {
				if (d->fd >= 0 && (evs[i].events & EPOLLOUT))
					link_writable(d);
				if (d->fd >= 0 && (evs[i].events &
						   (EPOLLIN | EPOLLHUP |
						    EPOLLERR)))
					link_readable(d);
				continue;
			}
			h = p;
			if (h->kind == MED_K_RELAY)
				relay_ports_readable(&d->rp, p);
		}
		relay_ports_reap(&d->rp);
	}
}

static int open_loop(struct relayd *d)
{
	struct itimerspec tick_spec = {
		.it_interval = { .tv_sec = 1 },
		.it_value = { .tv_sec = 1 },
	};
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->signal_fd < 0 || d->timer_fd < 0 || d->epfd < 0 ||
	    timerfd_settime(d->timer_fd, 0, &tick_spec, NULL) < 0)
		return -1;
	ev.data.ptr = &d->signal_fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev) < 0)
		return -1;
	ev.data.ptr = &d->timer_fd;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timer_fd, &ev);
}

struct options {
	const char *mediator, *mediator_key, *listen, *ports, *state_dir;
	const char *metrics;
	unsigned long rate;		/* KiB/s */
	char env_dir[4096];
};

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mediator", required_argument, NULL, 'm' },
		{ "mediator-key", required_argument, NULL, 'k' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ports", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "relay-rate", required_argument, NULL, 'R' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *env = getenv("STATE_DIRECTORY");
	char *end;
	int c;

	o->state_dir = DEFAULT_STATE_DIR;
	if (env && *env && *env != ':') {
		snprintf(o->env_dir, sizeof(o->env_dir), "%.*s",
			 (int)strcspn(env, ":"), env);
		o->state_dir = o->env_dir;
	}
	o->listen = "[::]:51810";
	o->rate = MED_RELAY_RATE_KIB;
	while ((c = getopt_long(argc, argv, "m:k:l:p:s:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'm':
			o->mediator = optarg;
			break;
		case 'k':
			o->mediator_key = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			o->ports = optarg;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'M':
			o->metrics = optarg;
			break;
		case 'R':
			errno = 0;
			o->rate = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || o->rate > 1000000) {
				fprintf(stderr, "shoal-relay: --relay-rate: "
					"'%s' is not a number from 0 to "
					"1000000\n", optarg);
				return SHOAL_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoal-relay");
			return SHOAL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'shoal-relay --help'.\n");
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shoal-relay: unexpected argument '%s'\n",
			argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	if (!o->mediator || !o->mediator_key) {
		fprintf(stderr, "shoal-relay: --mediator and --mediator-key "
			"are needed\nTry 'shoal-relay --help'.\n");
		return SHOAL_EXIT_USAGE;
	}
	return -1;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)
				     ->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)
			     ->sin6_port);
}

/* --metrics: the server, watched by the loop; 0, or -1 (said why). */
static int open_metrics(struct relayd *d, const char *text,
			const struct sockaddr_storage *ss, socklen_t len)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.ptr = &d->metrics_fd };

	d->metrics = metrics_server_new((const struct sockaddr *)ss, len,
					render, d);
	if (d->metrics)
		d->metrics_fd = metrics_server_fd(d->metrics);
	if (!d->metrics ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->metrics_fd, &ev) < 0) {
		fprintf(stderr, "shoal-relay: --metrics: cannot listen on "
			"%s: %s\n", text, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct relayd d;
	struct options o = { 0 };
	struct sockaddr_storage metrics;
	socklen_t metrics_len = 0;
	char b64[SHOAL_KEY_B64_LEN + 1];
	uint16_t lo, hi;
	bool created;
	int ret;

	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	ret = parse_options(&o, argc, argv);
	if (ret >= 0)
		return ret;
	d.fd = -1;
	d.mediator = o.mediator;
	if (shoal_key_from_base64(d.med_pub, o.mediator_key) < 0) {
		fprintf(stderr, "shoal-relay: --mediator-key: '%s' is not a "
			"public key\n", o.mediator_key);
		return SHOAL_EXIT_USAGE;
	}
	if (med_parse_listen(o.listen, &d.listen, &d.listen_len) < 0) {
		fprintf(stderr, "shoal-relay: --listen: '%s' is not "
			"HOST:PORT with a numeric host\n", o.listen);
		return SHOAL_EXIT_USAGE;
	}
	if (o.metrics &&
	    med_parse_listen(o.metrics, &metrics, &metrics_len) < 0) {
		fprintf(stderr, "shoal-relay: --metrics: '%s' is not "
			"HOST:PORT with a numeric host\n", o.metrics);
		return SHOAL_EXIT_USAGE;
	}
	lo = port_of(&d.listen);
	hi = lo <= MED_RELAY_PORTS_HI - 1 ? MED_RELAY_PORTS_HI :
	     (uint16_t)(lo > 65535 - 189 ? 65535 : lo + 189);
	if (o.ports && med_parse_range(o.ports, &lo, &hi) < 0) {
		fprintf(stderr, "shoal-relay: --ports: '%s' is not LO-HI, two "
			"ports from 1 to 65535 with LO <= HI\n", o.ports);
		return SHOAL_EXIT_USAGE;
	}
	d.wildcard = is_wildcard(&d.listen);
	if (sodium_init() < 0)
		return SHOAL_EXIT_FAILURE;
	umask(077);
	ret = shoal_mkdir_p(o.state_dir, strlen(o.state_dir), 0700);
	if (ret < 0) {
		fprintf(stderr, "shoal-relay: %s: %s\n", o.state_dir,
			strerror(-ret));
		return SHOAL_EXIT_FAILURE;
	}
	if (med_load_key("shoal-relay", o.state_dir, KEY_FILE, d.priv,
			 &created) < 0 || shoal_key_public(d.pub, d.priv) < 0)
		return SHOAL_EXIT_FAILURE;
	if (open_loop(&d) < 0 ||
	    relay_ports_open(&d.rp, d.epfd, &d.listen, d.listen_len, lo,
			     hi) < 0) {
		perror("shoal-relay: setting up");
		return SHOAL_EXIT_FAILURE;
	}
	d.rp.rate = (uint64_t)o.rate * 1024;
	if (o.metrics &&
	    open_metrics(&d, o.metrics, &metrics, metrics_len) < 0)
		return SHOAL_EXIT_FAILURE;
	shoal_key_to_base64(b64, d.pub);
	printf("shoal-relay: %s key, ports %u-%u\n",
	       created ? "created a new" : "loaded its", lo, hi);
	printf("shoal-relay key %s\n", b64);
	fflush(stdout);
	link_connect(&d);
	ret = loop(&d);
	fprintf(stderr, "shoal-relay: %llu forwarded (%llu bytes), %llu "
		"binds, %llu challenges, %llu dropped, %llu over budget\n",
		(unsigned long long)d.rp.stats.relayed,
		(unsigned long long)d.rp.stats.relay_bytes,
		(unsigned long long)d.rp.stats.relay_binds,
		(unsigned long long)d.rp.stats.relay_challenges,
		(unsigned long long)d.rp.stats.relay_dropped,
		(unsigned long long)d.rp.stats.relay_over_budget);
	if (d.fd >= 0)
		close(d.fd);
	shoal_channel_wipe(&d.ch);
	relay_ports_close(&d.rp);
	metrics_server_free(d.metrics);
	sodium_memzero(d.priv, sizeof(d.priv));
	return ret;
}
