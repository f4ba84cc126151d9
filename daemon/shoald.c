// SPDX-License-Identifier: MIT
/*
 * shoald: the shoal daemon.  One epoll loop: the datapath's fds, the
 * control socket, the mediator client's connection, a timerfd tick and a
 * signalfd.  Peers come from the configuration file (static mode), from
 * the mediator, or both.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <sodium.h>

#include <fcntl.h>
#include <linux/capability.h>

#include "caps.h"
#include "chat.h"
#include "config.h"
#include "control.h"
#include "datapath.h"
#include "dns.h"
#include "key.h"
#include "lanbcast.h"
#include "link.h"
#include "mac.h"
#include "mclient.h"
#include "modload.h"
#include "portmap.h"
#include "session.h"
#include "util.h"

#define TICK_NS 50000000L
#define DEFAULT_SOCKET_DIR SHOAL_RUN_DIR
#define DEFAULT_STATE_DIR "/var/lib/shoal"
#define DEFAULT_INTERFACE "shoal0"
#define CONFIG_DIR "/etc/shoal"
#define TAP_MTU 1400	/* the kernel device's default, so both agree */

static const char usage_text[] =
	"Usage: shoald [--config FILE | --interface NAME] [OPTIONS]\n"
	"\n"
	"The shoal daemon: peer sessions (Noise IK), keys and rekeying for a\n"
	"shoal device, with peers from a configuration file (static mode)\n"
	"or from shoal-mediator (after `shoal login`).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE        the configuration (see shoald.conf(5))\n"
	"  -i, --interface NAME     without --config: the device (default\n"
	"                           " DEFAULT_INTERFACE "), configured by " CONFIG_DIR "/NAME.conf\n"
	"                           if there is one, else with its key kept in\n"
	"                           the state directory\n"
	"  -p, --port PORT          without --config: the UDP port (default:\n"
	"                           random)\n"
	"  -S, --state-dir DIR      keys and logins (default: $STATE_DIRECTORY\n"
	"                           or " DEFAULT_STATE_DIR ")\n"
	"  -f, --foreground         stay in the foreground, log to stderr\n"
	"  -d, --datapath KIND      kernel, tap or auto (default: auto, the\n"
	"                           kernel module when it loads)\n"
	"  -s, --socket PATH        control socket (default: $SHOAL_SOCKET or\n"
	"                           " DEFAULT_SOCKET_DIR "/NAME.sock)\n"
	"  -v, --verbose            log handshakes\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"See shoald(8).\n";

struct options {
	const char *config, *datapath, *socket, *interface, *state_dir;
	unsigned long port;
	bool foreground, verbose;
};

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "datapath", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	char *end;
	int c;

	o->datapath = "auto";
	o->socket = getenv("SHOAL_SOCKET");
	o->state_dir = getenv("STATE_DIRECTORY");
	if (!o->state_dir || !*o->state_dir || strchr(o->state_dir, ':'))
		o->state_dir = DEFAULT_STATE_DIR;
	while ((c = getopt_long(argc, argv, "c:i:S:p:fd:s:vhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			o->interface = optarg;
			break;
		case 'S':
			o->state_dir = optarg;
			break;
		case 'p':
			errno = 0;
			o->port = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || !isdigit(*optarg) ||
			    o->port < 1 || o->port > 65535) {
				fprintf(stderr, "shoald: --port: '%s' is not a "
					"port number (1..65535)\n", optarg);
				return SHOAL_EXIT_USAGE;
			}
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->datapath = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoald");
			return SHOAL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'shoald --help'.\n");
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shoald: unexpected argument '%s'\n",
			argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	if (strcmp(o->datapath, "auto") && strcmp(o->datapath, "kernel") &&
	    strcmp(o->datapath, "tap")) {
		fprintf(stderr, "shoald: --datapath: '%s' is not kernel, tap "
			"or auto\n", o->datapath);
		return SHOAL_EXIT_USAGE;
	}
	if (o->config && (o->interface || o->port)) {
		fprintf(stderr, "shoald: --%s: the configuration says that "
			"([Interface] %s)\n", o->interface ? "interface" :
			"port", o->interface ? "Name" : "ListenPort");
		return SHOAL_EXIT_USAGE;
	}
	if (o->interface && !shoal_link_name_valid(o->interface)) {
		fprintf(stderr, "shoald: --interface: '%s' is not a valid "
			"interface name\n", o->interface);
		return SHOAL_EXIT_USAGE;
	}
	if (!*o->state_dir || strlen(o->state_dir) > PATH_MAX - 64) {
		fprintf(stderr, "shoald: --state-dir: bad directory\n");
		return SHOAL_EXIT_USAGE;
	}
	if (o->socket && !*o->socket)
		o->socket = NULL;
	return -1;
}

static int open_datapath(struct shoald *d, const struct shoal_config *c,
			 const char *kind)
{
	struct shoal_dp_config dc = {
		.ifname = c->name,
		.listen_port = c->listen_port,
		.has_mac = true,
	};
	char err[256] = "";
	int ret;

	if (c->has_mac)
		memcpy(dc.mac, c->mac, 6);
	else
		shoal_mac_from_key(dc.mac, d->public_key, 0);
	if (strcmp(kind, "tap")) {
		ret = shoal_dp_kernel_open(&d->dp, &dc, err, sizeof(err));
		/* The kernel autoloads the module; if not, modprobe says why. */
		if (ret == -ENOENT && shoald_load_module(err, sizeof(err)) == 0)
			ret = shoal_dp_kernel_open(&d->dp, &dc, err,
						   sizeof(err));
		if (ret == 0)
			return 0;
		if (ret != -ENOENT || !strcmp(kind, "kernel")) {
			fprintf(stderr, "shoald: kernel datapath: %s\n", err);
			return ret;
		}
		fprintf(stderr, "shoald: warning: no kernel datapath: %s.  "
			"Running on the TAP datapath in userspace instead, "
			"which works with every peer but is slower "
			"(--datapath tap silences this)\n", err);
	}
	ret = shoal_dp_tap_open(&d->dp, &dc, err, sizeof(err));
	if (ret == -ENOENT && access("/dev/net/tun", F_OK) < 0 &&
	    shoald_load_tun(err, sizeof(err)) == 0)
		ret = shoal_dp_tap_open(&d->dp, &dc, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "shoald: TAP datapath: %s\n", err);
		return ret;
	}
	ret = shoal_link_set_mtu(d->dp->ifindex, TAP_MTU);
	if (ret < 0)
		fprintf(stderr, "shoald: cannot set the MTU of %s: %s\n",
			d->dp->ifname, strerror(-ret));
	return 0;
}

static int configure_link(const struct shoald *d, const struct shoal_config *c)
{
	char text[INET6_ADDRSTRLEN + 8];
	unsigned int i;
	int ret;

	for (i = 0; i < c->n_addrs; i++) {
		const struct shoal_prefix *a = &c->addrs[i];

		ret = shoal_link_add_addr(d->dp->ifindex, a->family, &a->addr,
					  a->len);
		if (ret < 0) {
			shoal_prefix_format(text, sizeof(text), a);
			fprintf(stderr, "shoald: cannot add %s to %s: %s\n",
				text, d->dp->ifname, strerror(-ret));
			return ret;
		}
	}
	/* Peers allow us only the link-local address our MAC makes. */
	ret = shoal_link_set_eui64(d->dp->ifindex);
	if (ret < 0 && ret != -EAFNOSUPPORT)
		fprintf(stderr, "shoald: warning: cannot make %s's IPv6 "
			"link-local address from its MAC (%s): its peers "
			"will drop its neighbour discovery\n", d->dp->ifname,
			strerror(-ret));
	ret = shoal_link_set_up(d->dp->ifindex, true);
	if (ret < 0) {
		fprintf(stderr, "shoald: cannot bring %s up: %s\n",
			d->dp->ifname, strerror(-ret));
		return ret;
	}
	/*
	 * shoal.ko binds a port of its choosing (ListenPort 0) only when the
	 * device comes up: until now the datapath said 0, which the mediator
	 * and the router's port mapping must never be told.
	 */
	if (!d->dp->listen_port) {
		struct shoal_device_info info = { 0 };

		ret = d->dp->ops->get(d->dp, &info);
		if (ret == 0 && !info.listen_port)
			ret = -EADDRNOTAVAIL;
		if (ret == 0)
			d->dp->listen_port = info.listen_port;
		shoal_dp_info_free(&info);
		if (ret < 0) {
			fprintf(stderr, "shoald: cannot read %s's port: %s\n",
				d->dp->ifname, strerror(-ret));
			return ret;
		}
	}
	/*
	 * Each peer's addresses are at its MAC: known now, so no ARP or NDP
	 * has to cross a tunnel that may not be up yet (best effort).
	 */
	for (i = 0; i < c->n_peers; i++) {
		const struct shoal_config_peer *cp = &c->peers[i];
		unsigned int j;

		for (j = 0; j < cp->n_addrs; j++)
			shoal_link_set_neigh(d->dp->ifindex,
					     cp->addrs[j].family,
					     &cp->addrs[j].addr,
					     d->peers[i].mac, true);
	}
	return 0;
}

static int load_peers(struct shoald *d, const struct shoal_config *c)
{
	size_t i;

	d->peers = calloc(c->n_peers ? c->n_peers : 1, sizeof(*d->peers));
	if (!d->peers)
		return -ENOMEM;
	d->n_peers = c->n_peers;
	for (i = 0; i < c->n_peers; i++) {
		const struct shoal_config_peer *cp = &c->peers[i];
		struct shoald_peer *p = &d->peers[i];

		memcpy(p->public_key, cp->public_key, 32);
		if (cp->has_mac)
			memcpy(p->mac, cp->mac, 6);
		else
			shoal_mac_from_key(p->mac, cp->public_key, 0);
		if (cp->has_endpoint)
			p->endpoint = cp->endpoint;
		p->allowed_ips_set = true;
		p->n_allowed_ips = cp->n_allowed_ips;
		memcpy(p->allowed_ips, cp->allowed_ips,
		       cp->n_allowed_ips * sizeof(cp->allowed_ips[0]));
		/*
		 * Its neighbour discovery comes from the link-local address
		 * its MAC makes: allowing fe80::/10 instead would let it
		 * speak for every other peer's.
		 */
		if (p->n_allowed_ips &&
		    p->n_allowed_ips < SHOAL_MAX_ALLOWED_IPS) {
			struct shoal_prefix *ll =
				&p->allowed_ips[p->n_allowed_ips++];

			memset(ll, 0, sizeof(*ll));
			ll->family = AF_INET6;
			ll->len = 128;
			shoal_mac_link_local(ll->addr.v6.s6_addr, p->mac);
		}
		if (cp->n_addrs) {
			shoal_prefix_format(p->address, sizeof(p->address),
					    &cp->addrs[0]);
			p->address[strcspn(p->address, "/")] = '\0';
		}
	}
	return 0;
}

/*
 * Without --config: the interface's private key lives in the state
 * directory, made on the first start, so the identity the mediator knows
 * survives restarts.
 */
static int load_key(struct shoal_config *c, const char *dir, char *err,
		    size_t err_size)
{
	char path[PATH_MAX], b64[SHOAL_KEY_B64_LEN + 2];
	ssize_t n;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s.key", dir, c->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, b64, sizeof(b64) - 1);
		close(fd);
		b64[n > 0 ? n : 0] = '\0';
		b64[strcspn(b64, "\r\n")] = '\0';
		ret = shoal_key_from_base64(c->private_key, b64);
		sodium_memzero(b64, sizeof(b64));
		if (ret < 0) {
			snprintf(err, err_size, "%s does not hold a base64 "
				 "key", path);
			return -EINVAL;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ret = shoal_mkdir_p(dir, strlen(dir), 0700);
	if (ret < 0) {
		snprintf(err, err_size, "cannot create %s: %s", dir,
			 strerror(-ret));
		return ret;
	}
	if (shoal_key_generate(c->private_key) < 0) {
		snprintf(err, err_size, "cannot generate a key");
		return -EIO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_size, "cannot create %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	shoal_key_to_base64(b64, c->private_key);
	strcat(b64, "\n");
	n = write(fd, b64, strlen(b64));
	sodium_memzero(b64, sizeof(b64));
	if (n < 0 || close(fd) < 0) {
		snprintf(err, err_size, "cannot write %s", path);
		unlink(path);
		return -EIO;
	}
	return 0;
}

struct loop {
	int epfd, timer_fd, signal_fd, control_fd;
	struct shoald_control control;
	bool control_ready;		/* control is set up: close it */
};

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int loop_open(struct loop *l, const struct shoald *d, int control_fd)
{
	struct itimerspec tick = {
		.it_interval = { .tv_nsec = TICK_NS },
		.it_value = { .tv_nsec = TICK_NS },
	};
	sigset_t mask;
	unsigned int i;

	l->control_fd = control_fd;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	l->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->signal_fd < 0 || l->timer_fd < 0 || l->epfd < 0 ||
	    timerfd_settime(l->timer_fd, 0, &tick, NULL) < 0 ||
	    add_fd(l->epfd, l->signal_fd) < 0 ||
	    add_fd(l->epfd, l->timer_fd) < 0 ||
	    add_fd(l->epfd, l->control_fd) < 0)
		return -errno;
	for (i = 0; i < d->dp->n_fds; i++)
		if (add_fd(l->epfd, d->dp->fds[i]) < 0)
			return -errno;
	shoald_control_init(&l->control, l->control_fd, l->epfd);
	l->control_ready = true;
	return 0;
}

static void loop_close(struct loop *l)
{
	if (l->control_ready)
		shoald_control_close(&l->control);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	if (l->signal_fd >= 0)
		close(l->signal_fd);
}

/* Runs until a signal asks to stop; returns the exit status. */
static int run(struct loop *l, struct shoald *d)
{
	struct epoll_event evs[16];
	struct signalfd_siginfo si;
	uint64_t ticks;
	int n, i, fd, ret;

	for (;;) {
		n = epoll_wait(l->epfd, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("shoald: epoll_wait");
			return SHOAL_EXIT_FAILURE;
		}
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == l->signal_fd) {
				if (read(fd, &si, sizeof(si)) == sizeof(si) &&
				    si.ssi_signo != SIGHUP)
					return SHOAL_EXIT_OK;
			} else if (fd == l->timer_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0) {
					shoald_tick(d, shoald_now());
					mclient_tick(d, shoald_now());
					portmap_tick(d, shoald_now());
					shoald_lanbcast_tick(d, shoald_now());
					shoald_control_tick(&l->control,
							    shoald_now());
					shoald_chat_tick(d, shoald_now());
					shoald_dns_tick(d, shoald_now());
				}
			} else if (fd == l->control_fd) {
				shoald_control_accept(&l->control,
						      shoald_now());
			} else if (shoald_control_handle(&l->control, d, fd)) {
				continue;
			} else if (mclient_handle(d, fd, evs[i].events)) {
				continue;
			} else if (portmap_handle(d, fd)) {
				continue;
			} else if (shoald_dns_handle(d, fd)) {
				continue;
			} else if (shoald_sock_handle(d, fd)) {
				continue;
			} else if (shoald_chat_handle(d, fd)) {
				continue;
			} else {
				ret = d->dp->ops->handle(d->dp, fd,
							 shoald_on_event, d);
				if (ret < 0) {
					fprintf(stderr, "shoald: datapath: "
						"%s\n", strerror(-ret));
					return SHOAL_EXIT_FAILURE;
				}
			}
		}
	}
}

/*
 * Birthday probing holds 256 sockets a run, up to four runs at once
 * (birthday.c): more than the usual soft limit of 1,024 descriptors.
 * Raised within the hard limit only; a run opens what it can.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= 4096)
		return;
	rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	struct loop l = { .epfd = -1, .timer_fd = -1, .signal_fd = -1 };
	struct shoal_config c = { 0 };
	struct shoald d = { 0 };
	struct options o = { 0 };
	char err[PATH_MAX + 512], socket_path[PATH_MAX + 64], cwd[PATH_MAX];
	char state_path[PATH_MAX + 64], conf_path[PATH_MAX];
	char stamps_path[PATH_MAX + 64];
	char lanbcast_path[PATH_MAX + 64];
	int ret, control_fd = -1, status = SHOAL_EXIT_FAILURE;

	ret = parse_options(&o, argc, argv);
	if (ret >= 0)
		return ret;
	/*
	 * Every datapath needs it (netlink to shoal.ko and rtnetlink, or
	 * TUNSETIFF): one clear sentence now rather than the first
	 * operation's EPERM.  Nothing else is needed, root or not.
	 */
	if (!shoald_has_cap(CAP_NET_ADMIN)) {
		fprintf(stderr, "shoald: this process does not have "
			"CAP_NET_ADMIN, which shoald needs to create and "
			"configure its device: run it as root, or give it "
			"that capability (shoald@.service: "
			"AmbientCapabilities=CAP_NET_ADMIN)\n");
		return SHOAL_EXIT_FAILURE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "shoald: libsodium failed to initialise\n");
		return SHOAL_EXIT_FAILURE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Keys must not end up in a core dump. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	raise_nofile();
	if (!o.config) {
		snprintf(conf_path, sizeof(conf_path), CONFIG_DIR "/%s.conf",
			 o.interface ? o.interface : DEFAULT_INTERFACE);
		if (access(conf_path, F_OK) == 0)
			o.config = conf_path;
		if (o.config && o.port) {
			fprintf(stderr, "shoald: --port: %s says that "
				"([Interface] ListenPort)\n", conf_path);
			return SHOAL_EXIT_USAGE;
		}
	}
	if (o.config) {
		if (shoal_config_load(&c, o.config, err, sizeof(err)) < 0) {
			fprintf(stderr, "shoald: %s\n", err);
			/* A file made when shoald ran as root, say. */
			if (access(o.config, R_OK) < 0 && errno == EACCES)
				fprintf(stderr, "shoald: %s must be readable "
					"by uid %u, which shoald runs as (under "
					"systemd the user shoal: chown shoal "
					"%s)\n", o.config,
					(unsigned int)geteuid(), o.config);
			return SHOAL_EXIT_USAGE;
		}
		if (shoal_config_file_too_open(o.config))
			fprintf(stderr, "shoald: warning: %s holds a private "
				"key and others can read it (chmod 600 it)\n",
				o.config);
		if (o.interface && strcmp(o.interface, c.name)) {
			fprintf(stderr, "shoald: %s names the interface %s, "
				"not %s\n", o.config, c.name, o.interface);
			shoal_config_free(&c);
			return SHOAL_EXIT_USAGE;
		}
	} else {
		snprintf(c.name, sizeof(c.name), "%s",
			 o.interface ? o.interface : DEFAULT_INTERFACE);
		c.listen_port = (uint16_t)o.port;
		c.rekey_seconds = SHOAL_CONFIG_DEFAULT_REKEY;
		c.keepalive_seconds = SHOAL_CONFIG_DEFAULT_KEEPALIVE;
		c.port_mapping = true;
		c.names = true;
		if (load_key(&c, o.state_dir, err, sizeof(err)) < 0) {
			fprintf(stderr, "shoald: %s\n", err);
			return SHOAL_EXIT_FAILURE;
		}
	}
	snprintf(state_path, sizeof(state_path), "%s/%s.mediator",
		 o.state_dir, c.name);
	snprintf(stamps_path, sizeof(stamps_path), "%s/%s.stamps",
		 o.state_dir, c.name);
	snprintf(lanbcast_path, sizeof(lanbcast_path), "%s/%s.lanbcast",
		 o.state_dir, c.name);
	/* Static mode may not have made it yet; the stamps need it. */
	ret = shoal_mkdir_p(o.state_dir, strlen(o.state_dir), 0700);
	if (ret < 0)
		fprintf(stderr, "shoald: warning: cannot create %s: %s\n",
			o.state_dir, strerror(-ret));
	memcpy(d.private_key, c.private_key, 32);
	shoal_key_public(d.public_key, d.private_key);
	d.rekey_seconds = c.rekey_seconds;
	d.keepalive_seconds = c.keepalive_seconds;
	d.verbose = o.verbose;
	d.forwarded_port = c.forwarded_port;
	if (c.has_public_endpoint)
		d.own_candidates[1] = c.public_endpoint;
	/*
	 * Mediator peers outlive a restart in the kernel: keep them until the
	 * mediator says (stale ones go).  Static mode keeps only its own.
	 */
	d.adopt_peers = c.has_mediator || access(state_path, F_OK) == 0;
	/* Before daemon(): where the mediator comes from is worth seeing. */
	mclient_choose(&c, o.config, state_path);
	if (load_peers(&d, &c) < 0)
		goto free_peers;
	/* Absolute: daemon() moves to /, and the path is unlinked at exit. */
	if (o.socket && o.socket[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(socket_path, sizeof(socket_path), "%s/%s", cwd,
			 o.socket);
	else if (o.socket)
		snprintf(socket_path, sizeof(socket_path), "%s", o.socket);
	else
		snprintf(socket_path, sizeof(socket_path),
			 DEFAULT_SOCKET_DIR "/%s.sock", c.name);

	if (open_datapath(&d, &c, o.datapath) < 0)
		goto free_peers;
	if (configure_link(&d, &c) < 0)
		goto close_dp;
	control_fd = shoald_control_open(socket_path, err, sizeof(err));
	if (control_fd < 0) {
		fprintf(stderr, "shoald: %s\n", err);
		goto close_dp;
	}
	ret = shoald_sessions_start(&d, stamps_path);
	if (ret < 0) {
		fprintf(stderr, "shoald: cannot set up the peers: %s\n",
			strerror(-ret));
		goto close_control;
	}
	fprintf(stderr, "shoald: %s up, %s datapath, port %u, %zu peers, "
		"control socket %s\n", d.dp->ifname, d.dp->ops->name,
		d.dp->listen_port, d.n_peers, socket_path);
	/*
	 * Only now: errors so far went to the terminal that started us.  And
	 * before the signalfd exists, which answers only its creator.
	 */
	if (!o.foreground && daemon(0, 0) < 0) {
		perror("shoald: daemon");
		goto close_control;
	}
	ret = loop_open(&l, &d, control_fd);
	if (ret < 0) {
		fprintf(stderr, "shoald: %s\n", strerror(-ret));
		goto close_loop;
	}
	d.epfd = l.epfd;
	ret = shoald_dns_open(&d, l.epfd, c.names);
	if (ret < 0) {
		fprintf(stderr, "shoald: %s\n", strerror(-ret));
		goto close_loop;
	}
	ret = mclient_open(&d, l.epfd, state_path, &c);
	if (ret < 0) {
		fprintf(stderr, "shoald: %s\n", strerror(-ret));
		goto close_loop;
	}
	/* Only a mediator's peers hear of a mapping. */
	if (c.port_mapping) {
		ret = portmap_open(&d, l.epfd);
		if (ret < 0)
			fprintf(stderr, "shoald: no port mapping: %s\n",
				strerror(-ret));
	}
	ret = shoald_lanbcast_open(&d, &c, o.config, lanbcast_path);
	if (ret < 0)
		fprintf(stderr, "shoald: no lan-broadcast: %s\n",
			strerror(-ret));
	ret = shoald_chat_open(&d, l.epfd);
	if (ret < 0)
		fprintf(stderr, "shoald: no chat: %s\n", strerror(-ret));
	status = run(&l, &d);
	shoald_chat_close(&d);
	shoald_lanbcast_close(&d);
	portmap_close(&d);
	mclient_close(&d);
	shoald_dns_close(&d);
	shoald_socks_close(&d);

close_loop:
	loop_close(&l);
close_control:
	close(control_fd);
	unlink(socket_path);
close_dp:
	d.dp->ops->destroy(d.dp);
free_peers:
	shoald_sessions_wipe(&d);
	free(d.peers);
	shoal_config_free(&c);
	return status;
}
