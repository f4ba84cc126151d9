// SPDX-License-Identifier: MIT
/*
 * shoal-mediator: the mediation server.  Zero configuration: on first
 * start it makes its key and database in the state directory and prints
 * the line clients need.  It does login, networks and presence, NAT
 * discovery (BINDING on UDP) and relaying for pairs that cannot punch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "key.h"
#include "endpoint.h"
#include "cmdline.h"
#include "db.h"
#include "server.h"
#include "util.h"

#define DEFAULT_STATE_DIR "/var/lib/shoal-mediator"
#define KEY_FILE "private.key"
#define DB_FILE "mediator.db"

static const char usage_text[] =
	"Usage: shoal-mediator [OPTIONS] [migrate|check]\n"
	"\n"
	"The shoal mediation server: logins, networks, presence, NAT\n"
	"discovery and relaying.  migrate: bring the database's schema up to\n"
	"date and exit; check: report whether it is usable and exit.\n"
	"\n"
	"Options:\n"
	"  -s, --state-dir DIR    key and database (default: $STATE_DIRECTORY\n"
	"                         or " DEFAULT_STATE_DIR ")\n"
	"      --database URL     sqlite:PATH or postgresql://USER@HOST/DB\n"
	"                         (default: sqlite:STATE-DIR/" DB_FILE ");\n"
	"                         keep a password in ~/.pgpass, not here;\n"
	"                         on PostgreSQL the instances of a database\n"
	"                         form a cluster (docs/cluster.md)\n"
	"  -l, --listen HOST:PORT TCP and UDP address to serve, and UDP on\n"
	"                         PORT+1 (default: [::]:51800, IPv6 and IPv4)\n"
	"  -p, --probe HOST:PORT  a second address of this host, for NAT\n"
	"                         discovery (default: none)\n"
	"  -r, --relay-ports LO-HI\n"
	"                         UDP ports for relaying (default:\n"
	"                         51810-51999)\n"	"  -d, --deny FILE        refuse connections and NAT discovery from\n"
	"                         the address prefixes in FILE, one a line;\n"
	"                         read again on SIGHUP (default: none)\n"
	"      --source-conns N   connections at once from one address (an\n"
	"                         IPv6 /64); 0: no limit (default: 64)\n"
	"      --source-new-clients N\n"
	"                         new clients one address (an IPv6 /64) may\n"
	"                         make an hour; 0: no limit (default: 32)\n"
	"      --relays-per-client N\n"
	"                         relays one client may ask for and hold;\n"
	"                         0: no limit (default: 32)\n"
	"      --relay-rate KIB   bytes a relayed pair may send, in KiB a\n"
	"                         second, both ways together; 0: no limit\n"
	"                         (default: 1024)\n"
	"      --tcp-streams N    TCP fallback streams (relaying for clients\n"
	"                         whose network blocks UDP) at once; 0: no\n"
	"                         TCP fallback (default: 256)\n"
	"      --tcp-streams-per-source N\n"
	"                         of them from one address; 0: no limit\n"
	"                         (default: 64)\n"
	"      --relay-key KEY    take the shoal-relay with that public key\n"
	"                         (repeatable); relayed pairs go to these\n"
	"                         relays, the built-in one serves while none\n"
	"                         is registered (default: none)\n"
	"      --metrics HOST:PORT\n"
	"                         serve Prometheus metrics on HTTP GET\n"
	"                         /metrics there; no authentication: a\n"
	"                         loopback or private address (default: none)\n"
	"      --expire-after DURATION\n"
	"                         forget clients that have not logged in for\n"
	"                         that long: N[s|m|h|d], days without a unit;\n"
	"                         0: never (default: 180d)\n"
	"      --key-file FILE    the server's private key (default:\n"
	"                         DIR/private.key); a cluster's instances\n"
	"                         share one\n"
	"      --instance NAME    this instance's name in the cluster\n"
	"                         (default: the host name)\n"
	"      --advertise HOST:PORT\n"
	"                         where clients reach this instance (default:\n"
	"                         --listen's, unless it is a wildcard)\n"
	"      --redirect-margin N\n"
	"                         send a new login to the least loaded\n"
	"                         instance when this one has more than N\n"
	"                         (and 10 %) more clients; 0: never\n"
	"                         (default: 16)\n"
	"  -f, --foreground       stay in the foreground (the only mode)\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See shoal-mediator(8).\n";

struct options {
	const char *state_dir, *listen, *probe, *relay_ports, *deny;
	const char *metrics;
	const char *database, *command;	/* NULL: the defaults */
	const char *key_file, *instance, *advertise;
	unsigned int source_conns, source_new_clients, relays_per_client;
	unsigned int relay_rate;	/* KiB/s */
	unsigned int redirect_margin;
	unsigned int tcp_streams, tcp_per_source;
	int64_t expire_after;		/* s */
	char env_dir[4096];
	uint8_t relay_keys[MED_RELAY_KEYS_MAX][32];	/* --relay-key */
	unsigned int n_relay_keys;
};

enum {
	O_SOURCE_CONNS = 256, O_SOURCE_NEW_CLIENTS, O_EXPIRE_AFTER,
	O_RELAYS_PER_CLIENT, O_RELAY_RATE, O_TCP_STREAMS, O_TCP_PER_SOURCE,
	O_RELAY_KEY, O_METRICS, O_DATABASE, O_KEY_FILE, O_INSTANCE,
	O_ADVERTISE, O_REDIRECT_MARGIN
};

/* A count 0..1000000, decimal digits only: 0, or -1. */
static int parse_count(const char *text, unsigned int *v)
{
	unsigned long n = 0;
	const char *p;

	if (!*text || strlen(text) > 7)
		return -1;
	for (p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n > 1000000)
		return -1;
	*v = (unsigned int)n;
	return 0;
}

/* N[s|m|h|d], days without a unit, at most 100 years: 0, or -1. */
static int parse_duration(const char *text, int64_t *seconds)
{
	static const struct {
		char unit;
		int64_t s;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	int64_t n = 0, mult = 86400;
	const char *p = text;
	size_t i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > 100LL * 366 * 86400)
			return -1;
	}
	if (*p) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (*p == units[i].unit)
				mult = units[i].s;
		if (mult == 86400 && *p != 'd')
			return -1;
		if (p[1])
			return -1;
	}
	if (n > 100LL * 366 * 86400 / mult)
		return -1;
	*seconds = n * mult;
	return 0;
}

/* Where the count option c goes. */
static unsigned int *count_of(struct options *o, int c)
{
	switch (c) {
	case O_SOURCE_CONNS:
		return &o->source_conns;
	case O_SOURCE_NEW_CLIENTS:
		return &o->source_new_clients;
	case O_RELAYS_PER_CLIENT:
		return &o->relays_per_client;
	case O_TCP_STREAMS:
		return &o->tcp_streams;
	case O_TCP_PER_SOURCE:
		return &o->tcp_per_source;
	case O_REDIRECT_MARGIN:
		return &o->redirect_margin;
	default:
		return &o->relay_rate;
	}
}

/* The index of the long option whose value is c. */
static size_t optind_of(const struct option *opts, int c)
{
	size_t i;

	for (i = 0; opts[i].name && opts[i].val != c; i++)
		;
	return i;
}

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "probe", required_argument, NULL, 'p' },
		{ "relay-ports", required_argument, NULL, 'r' },
		{ "deny", required_argument, NULL, 'd' },
		{ "source-conns", required_argument, NULL, O_SOURCE_CONNS },
		{ "source-new-clients", required_argument, NULL,
		  O_SOURCE_NEW_CLIENTS },
		{ "expire-after", required_argument, NULL, O_EXPIRE_AFTER },
		{ "relays-per-client", required_argument, NULL,
		  O_RELAYS_PER_CLIENT },
		{ "relay-rate", required_argument, NULL, O_RELAY_RATE },
		{ "tcp-streams", required_argument, NULL, O_TCP_STREAMS },
		{ "tcp-streams-per-source", required_argument, NULL,
		  O_TCP_PER_SOURCE },
		{ "relay-key", required_argument, NULL, O_RELAY_KEY },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "database", required_argument, NULL, O_DATABASE },
		{ "key-file", required_argument, NULL, O_KEY_FILE },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "advertise", required_argument, NULL, O_ADVERTISE },
		{ "redirect-margin", required_argument, NULL,
		  O_REDIRECT_MARGIN },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *env = getenv("STATE_DIRECTORY");
	int c;

	o->state_dir = DEFAULT_STATE_DIR;
	/* systemd may list several, separated by ':'; ours is the first. */
	if (env && *env && *env != ':') {
		snprintf(o->env_dir, sizeof(o->env_dir), "%.*s",
			 (int)strcspn(env, ":"), env);
		o->state_dir = o->env_dir;
	}
	o->listen = "[::]:51800";
	o->source_conns = MED_SOURCE_CONNS;
	o->source_new_clients = MED_SOURCE_NEW_CLIENTS;
	o->expire_after = (int64_t)MED_EXPIRE_DAYS * 86400;
	o->relays_per_client = MED_RELAYS_PER_CLIENT;
	o->relay_rate = MED_RELAY_RATE_KIB;
	o->tcp_streams = MED_TCP_STREAMS;
	o->tcp_per_source = MED_TCP_STREAMS_PER_SOURCE;
	o->redirect_margin = CLUSTER_REDIRECT_MARGIN;
	while ((c = getopt_long(argc, argv, "s:l:p:r:d:fhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			o->state_dir = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			o->probe = optarg;
			break;
		case 'r':
			o->relay_ports = optarg;
			break;
		case 'd':
			o->deny = optarg;
			break;
		case O_METRICS:
			o->metrics = optarg;
			break;
		case O_DATABASE: {
			enum db_kind kind;
			char why[512];

			if (db_url_kind(optarg, &kind, why, sizeof(why))) {
				fprintf(stderr, "shoal-mediator: --database: "
					"%s\n", why);
				return SHOAL_EXIT_USAGE;
			}
			o->database = optarg;
			break;
		}
		case O_KEY_FILE:
			o->key_file = optarg;
			break;
		case O_INSTANCE:
			o->instance = optarg;
			break;
		case O_ADVERTISE:
			o->advertise = optarg;
			break;
		case O_RELAY_KEY:
			if (o->n_relay_keys == MED_RELAY_KEYS_MAX ||
			    shoal_key_from_base64(o->relay_keys[o->n_relay_keys],
						  optarg) < 0) {
				fprintf(stderr, "shoal-mediator: --relay-key: "
					"'%s' is not a public key (at most %d "
					"keys)\n", optarg, MED_RELAY_KEYS_MAX);
				return SHOAL_EXIT_USAGE;
			}
			o->n_relay_keys++;
			break;
		case O_SOURCE_CONNS:
		case O_SOURCE_NEW_CLIENTS:
		case O_RELAYS_PER_CLIENT:
		case O_RELAY_RATE:
		case O_TCP_STREAMS:
		case O_TCP_PER_SOURCE:
		case O_REDIRECT_MARGIN:
			if (parse_count(optarg, count_of(o, c)) < 0) {
				fprintf(stderr, "shoal-mediator: --%s: '%s' is "
					"not a number from 0 to 1000000\n",
					longopts[optind_of(longopts, c)].name,
					optarg);
				return SHOAL_EXIT_USAGE;
			}
			break;
		case O_EXPIRE_AFTER:
			if (parse_duration(optarg, &o->expire_after) < 0) {
				fprintf(stderr, "shoal-mediator: "
					"--expire-after: '%s' is not N, Ns, "
					"Nm, Nh or Nd (at most 100 years)\n",
					optarg);
				return SHOAL_EXIT_USAGE;
			}
			break;
		case 'f':
			break;
		case 'h':
			fputs(usage_text, stdout);
			return SHOAL_EXIT_OK;
		case 'V':
			shoal_print_version("shoal-mediator");
			return SHOAL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'shoal-mediator --help'.\n");
			return SHOAL_EXIT_USAGE;
		}
	}
	if (optind < argc && (!strcmp(argv[optind], "migrate") ||
			      !strcmp(argv[optind], "check")))
		o->command = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "shoal-mediator: unexpected argument '%s'\n",
			argv[optind]);
		return SHOAL_EXIT_USAGE;
	}
	return -1;
}

/*
 * migrate and check, for operators: what the schema is, without serving.
 * check exits 0 only if this shoal-mediator can run on the database (as
 * it is, or after the migration it applies at start).
 */
static int schema_command(const struct options *o, const char *url)
{
	char err[512] = "", shown[512];
	bool migrate = !strcmp(o->command, "migrate");
	enum db_kind kind = DB_SQLITE;
	int from, to, rc;

	db_url_masked(url, shown, sizeof(shown));
	db_url_kind(url, &kind, err, sizeof(err));
	if (kind == DB_SQLITE && !migrate &&
	    access(url + (strncmp(url, "sqlite:", 7) ? 0 : 7), F_OK)) {
		printf("%s: no database: it is made at the first start\n",
		       shown);
		return SHOAL_EXIT_FAILURE;
	}
	rc = mstore_schema(url, migrate, &from, &to, err, sizeof(err));
	if (rc != MSTORE_OK) {
		fprintf(stderr, "shoal-mediator: %s\n",
			*err ? err : mstore_strerror(rc));
		if (!migrate && rc == MSTORE_E_SCHEMA && from > 0)
			printf("%s: schema version %d: ahead (this "
			       "shoal-mediator knows %d)\n", shown, from,
			       MSTORE_SCHEMA_VERSION);
		return SHOAL_EXIT_FAILURE;
	}
	if (migrate) {
		printf("%s: schema version %d -> %d\n", shown, from, to);
		return SHOAL_EXIT_OK;
	}
	if (from == MSTORE_SCHEMA_VERSION)
		printf("%s: schema version %d: current\n", shown, from);
	else if (from == 0)
		printf("%s: empty: the schema (version %d) is made at the "
		       "first start\n", shown, MSTORE_SCHEMA_VERSION);
	else if (from < MSTORE_SCHEMA_VERSION)
		printf("%s: schema version %d: behind (migrate brings it to "
		       "%d)\n", shown, from, MSTORE_SCHEMA_VERSION);
	else
		printf("%s: schema version %d: ahead (this shoal-mediator "
		       "knows %d)\n", shown, from, MSTORE_SCHEMA_VERSION);
	return from <= MSTORE_SCHEMA_VERSION ? SHOAL_EXIT_OK :
					      SHOAL_EXIT_FAILURE;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)
				     ->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)
			     ->sin6_port);
}

static bool sockaddr_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

static void print_login(const struct sockaddr_storage *ss,
			const uint8_t pub[32], bool created)
{
	char host[INET6_ADDRSTRLEN], b64[SHOAL_KEY_B64_LEN + 1];
	bool wildcard = false, v6 = false;
	unsigned int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		v6 = true;
	}
	shoal_key_to_base64(b64, pub);
	printf("shoal-mediator: %s key, public key %s\n",
	       created ? "created a new" : "loaded its", b64);
	if (wildcard)
		printf("shoal-mediator: listening on all addresses; in the "
		       "line below, HOST is this server's address or name\n");
	printf("shoal login %s%s%s:%u %s\n", v6 && !wildcard ? "[" : "",
	       wildcard ? "HOST" : host, v6 && !wildcard ? "]" : "", port,
	       b64);
	fflush(stdout);
}

/* The host name, cleaned into an instance name: [A-Za-z0-9._-], 1..32. */
static void default_instance(char out[MED_INSTANCE_NAME_MAX + 1])
{
	char host[256] = "";
	size_t i, n = 0;

	gethostname(host, sizeof(host) - 1);
	for (i = 0; host[i] && n < MED_INSTANCE_NAME_MAX; i++) {
		char ch = host[i];

		out[n++] = cluster_name_ok((char[]){ ch, 0 }) ? ch : '-';
	}
	out[n] = '\0';
	if (!n)
		snprintf(out, MED_INSTANCE_NAME_MAX + 1, "mediator");
}

/* HOST:PORT, [V6]:PORT; HOST a name or an address: 0, or -1. */
static int advertise_check(const char *text)
{
	const char *colon = strrchr(text, ':');
	uint16_t port;
	size_t i;

	if (!colon || colon == text || strlen(text) > MED_ADVERTISE_MAX ||
	    shoal_port_parse(colon + 1, strlen(colon + 1), &port) < 0)
		return -1;
	for (i = 0; text[i]; i++)
		if (text[i] <= ' ' || text[i] > '~' || text[i] == '\'' ||
		    text[i] == '\\')
			return -1;
	return 0;
}

/*
 * --database postgresql://...: this instance joins the cluster.  Its
 * name and the address clients reach it at, checked; then cluster_open.
 */
static int cluster_start(struct server *srv, const struct options *o,
			 const struct sockaddr_storage *ss)
{
	char name[MED_INSTANCE_NAME_MAX + 1], adv[MED_ADVERTISE_MAX + 1];
	char host[INET6_ADDRSTRLEN];
	struct cluster_config cfg = {
		.url = o->database,
		.redirect_margin = o->redirect_margin,
	};

	if (o->instance) {
		if (!cluster_name_ok(o->instance)) {
			fprintf(stderr, "shoal-mediator: --instance: '%s' is "
				"not 1 to %d of A-Z a-z 0-9 . _ -\n",
				o->instance, MED_INSTANCE_NAME_MAX);
			return SHOAL_EXIT_USAGE;
		}
		snprintf(name, sizeof(name), "%s", o->instance);
	} else {
		default_instance(name);
	}
	if (o->advertise) {
		if (advertise_check(o->advertise) < 0) {
			fprintf(stderr, "shoal-mediator: --advertise: '%s' is "
				"not HOST:PORT\n", o->advertise);
			return SHOAL_EXIT_USAGE;
		}
		snprintf(adv, sizeof(adv), "%s", o->advertise);
	} else if (sockaddr_wildcard(ss)) {
		/*
		 * One instance on PostgreSQL needs no address of its own; in
		 * a cluster, clients are neither listed nor redirected here.
		 */
		fprintf(stderr, "shoal-mediator: --listen %s is every address "
			"and there is no --advertise HOST:PORT: the cluster's "
			"clients are not told of this instance\n", o->listen);
		adv[0] = 0;
	} else if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
				     (const void *)ss)->sin_addr, host,
			  sizeof(host));
		snprintf(adv, sizeof(adv), "%s:%u", host, sockaddr_port(ss));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
				      (const void *)ss)->sin6_addr, host,
			  sizeof(host));
		snprintf(adv, sizeof(adv), "[%s]:%u", host, sockaddr_port(ss));
	}
	cfg.name = name;
	cfg.advertise = adv;
	return cluster_open(srv, &cfg) < 0 ? SHOAL_EXIT_FAILURE : 0;
}

/*
 * The cluster's public key is in the database; the private key is not
 * (a reader of the database or of its backups must not get the server's
 * identity): each instance is given the key file, and the first to start
 * records its public key.  0, or -1 (said why).
 */
static int cluster_key_check(struct mstore *store, const uint8_t pub[32])
{
	char want[SHOAL_KEY_B64_LEN + 1], have[SHOAL_KEY_B64_LEN + 1] = "?";
	uint8_t stored[32];
	bool present = false;
	int rc = mstore_set_server_public_key(store, pub);

	if (rc == MSTORE_OK)
		return 0;
	if (rc != MSTORE_E_INVALID) {
		fprintf(stderr, "shoal-mediator: the cluster's server key: "
			"%s\n", *mstore_last_error(store) ?
			mstore_last_error(store) : mstore_strerror(rc));
		return -1;
	}
	if (mstore_server_public_key(store, stored, &present) == MSTORE_OK &&
	    present)
		shoal_key_to_base64(have, stored);
	shoal_key_to_base64(want, pub);
	fprintf(stderr, "shoal-mediator: the cluster's server key is %s, this "
		"instance's %s: give every instance the same --key-file\n",
		have, want);
	return -1;
}

/* --key-file, else STATE_DIR/private.key. */
static int load_key(const struct options *o, uint8_t priv[32], bool *created)
{
	char dir[4096];
	const char *slash;

	if (!o->key_file)
		return med_load_key("shoal-mediator", o->state_dir, KEY_FILE,
				    priv, created);
	slash = strrchr(o->key_file, '/');
	if (!slash)
		return med_load_key("shoal-mediator", ".", o->key_file, priv,
				    created);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - o->key_file),
		 slash == o->key_file ? "/" : o->key_file);
	return med_load_key("shoal-mediator", dir, slash + 1, priv, created);
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct sockaddr_storage ss, probe, metrics;
	struct options o = { 0 };
	char path[4096], err[512] = "";
	socklen_t ss_len, probe_len = 0, metrics_len = 0;
	uint16_t relay_lo = MED_RELAY_PORTS_LO, relay_hi = MED_RELAY_PORTS_HI;
	uint16_t port;
	bool created;
	int ret, status = SHOAL_EXIT_FAILURE;

	/* The password worker's fresh process (pwhash.c): only that. */
	if (argc == 1 && !strcmp(argv[0], PWHASH_WORKER_ARGV0))
		return pwhash_worker_main();
	/*
	 * The private key, the database's pages and the connections' keys
	 * must never end up in a core dump, nor be readable through /proc
	 * by the service's own user.
	 */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	ret = parse_options(&o, argc, argv);
	if (ret >= 0)
		return ret;
	if (!o.database) {
		snprintf(path, sizeof(path), "sqlite:%s/%s", o.state_dir,
			 DB_FILE);
		o.database = path;
	}
	if (o.command) {
		if (!strcmp(o.command, "migrate") &&
		    !strncmp(o.database, "sqlite:", 7) && o.database == path &&
		    (ret = shoal_mkdir_p(o.state_dir, strlen(o.state_dir),
					 0700)) < 0) {
			fprintf(stderr, "shoal-mediator: %s: %s\n",
				o.state_dir, strerror(-ret));
			return SHOAL_EXIT_FAILURE;
		}
		return schema_command(&o, o.database);
	}
	if (med_parse_listen(o.listen, &ss, &ss_len) < 0) {
		fprintf(stderr, "shoal-mediator: --listen: '%s' is not "
			"HOST:PORT with a numeric host\n", o.listen);
		return SHOAL_EXIT_USAGE;
	}
	port = sockaddr_port(&ss);
	/* UDP on PORT+1 too: the alternate port of NAT discovery. */
	if (port == 65535) {
		fprintf(stderr, "shoal-mediator: --listen: port 65535 leaves "
			"no port above it for NAT discovery\n");
		return SHOAL_EXIT_USAGE;
	}
	/* parse_listen takes ":PORT" for all addresses; a probe is one. */
	if (o.probe && (med_parse_listen(o.probe, &probe, &probe_len) < 0 ||
			sockaddr_wildcard(&probe))) {
		fprintf(stderr, "shoal-mediator: --probe: '%s' is not "
			"HOST:PORT with a numeric host that is not a "
			"wildcard\n", o.probe);
		return SHOAL_EXIT_USAGE;
	}
	if (o.metrics &&
	    med_parse_listen(o.metrics, &metrics, &metrics_len) < 0) {
		fprintf(stderr, "shoal-mediator: --metrics: '%s' is not "
			"HOST:PORT with a numeric host\n", o.metrics);
		return SHOAL_EXIT_USAGE;
	}
	if (o.relay_ports &&
	    med_parse_range(o.relay_ports, &relay_lo, &relay_hi) < 0) {
		fprintf(stderr, "shoal-mediator: --relay-ports: '%s' is not "
			"LO-HI, two ports from 1 to 65535 with LO <= HI\n",
			o.relay_ports);
		return SHOAL_EXIT_USAGE;
	}
	/*
	 * A range given that includes our own ports is a mistake worth
	 * saying; the default one just loses them (they are taken).
	 */
	if (o.relay_ports && relay_lo <= port + 1 && port <= relay_hi) {
		fprintf(stderr, "shoal-mediator: --relay-ports %u-%u overlaps "
			"ports %u and %u of --listen\n", relay_lo, relay_hi,
			port, port + 1);
		return SHOAL_EXIT_USAGE;
	}
	srv.lim.source_conns = o.source_conns;
	srv.lim.source_new_clients = o.source_new_clients;
	srv.lim.expire_after = o.expire_after;
	srv.lim.deny_path = o.deny;
	srv.lim.relays_per_client = o.relays_per_client;
	srv.lim.relay_rate = (uint64_t)o.relay_rate * 1024;
	srv.lim.tcp.streams = o.tcp_streams;
	srv.lim.tcp.per_source = o.tcp_per_source;
	srv.relay_keys = o.relay_keys;
	srv.n_relay_keys = o.n_relay_keys;
	/* Read first: a list that does not load is a mistake to say now. */
	if (o.deny &&
	    sources_deny_load(o.deny, &srv.deny, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal-mediator: --deny: %s\n", err);
		return SHOAL_EXIT_USAGE;
	}
	if (srv.deny.n)
		fprintf(stderr, "shoal-mediator: %s: %zu address ranges "
			"denied\n", o.deny, srv.deny.n);
	if (sodium_init() < 0) {
		fprintf(stderr, "shoal-mediator: libsodium failed\n");
		goto out;
	}
	umask(077);
	ret = shoal_mkdir_p(o.state_dir, strlen(o.state_dir), 0700);
	if (ret < 0) {
		fprintf(stderr, "shoal-mediator: %s: %s\n", o.state_dir,
			strerror(-ret));
		goto out;
	}
	if (load_key(&o, srv.priv, &created) < 0 ||
	    shoal_key_public(srv.pub, srv.priv) < 0)
		goto out;
	ret = mstore_open(&srv.store, o.database, NULL, err, sizeof(err));
	if (ret != MSTORE_OK) {
		/* err names the database, its password masked. */
		fprintf(stderr, "shoal-mediator: %s\n",
			*err ? err : mstore_strerror(ret));
		goto out;
	}
	/* mstore's default pool, 100.64.0.0/10: see mstore_options. */
	mstore_pool(srv.store, &srv.pool_base, &srv.pool_prefix);
	/* One URL serves both: the store, and on PostgreSQL the cluster. */
	if (cluster_url_is_postgres(o.database)) {
		if (cluster_key_check(srv.store, srv.pub) < 0)
			goto out;
		ret = cluster_start(&srv, &o, &ss);
		if (ret) {
			status = ret;
			cluster_close(&srv);
			goto out;
		}
	}
	ret = server_open(&srv, (const struct sockaddr *)&ss, ss_len,
			  o.probe ? (const struct sockaddr *)&probe : NULL,
			  probe_len, relay_lo, relay_hi);
	if (ret < 0) {
		fprintf(stderr, "shoal-mediator: cannot listen on %s: %s\n",
			o.listen, strerror(-ret));
		goto out_server;
	}
	if (o.metrics) {
		ret = server_metrics_open(&srv, (const struct sockaddr *)&metrics,
					  metrics_len);
		if (ret < 0) {
			fprintf(stderr, "shoal-mediator: --metrics: cannot "
				"listen on %s: %s\n", o.metrics,
				strerror(-ret));
			goto out_server;
		}
		/* A cluster's instances are told apart by their name. */
		metrics_set_instance(srv.metrics, cluster_name(&srv));
	}
	print_login(&ss, srv.pub, created);
	status = server_run(&srv);
	fprintf(stderr, "shoal-mediator: %llu connections or requests "
		"denied, %llu refused at --source-conns, %llu clients "
		"expired\n", (unsigned long long)srv.stats.denied,
		(unsigned long long)srv.stats.source_full,
		(unsigned long long)srv.stats.expired);
	fprintf(stderr, "shoal-mediator: udp: %llu bindings answered (%llu "
		"with a known token), %llu datagrams dropped; relay: %llu "
		"forwarded, %llu binds, %llu challenges, %llu dropped, %llu "
		"over budget\n",
		(unsigned long long)srv.stats.bindings,
		(unsigned long long)srv.stats.bindings_known,
		(unsigned long long)srv.stats.udp_dropped,
		(unsigned long long)srv.rp.stats.relayed,
		(unsigned long long)srv.rp.stats.relay_binds,
		(unsigned long long)srv.rp.stats.relay_challenges,
		(unsigned long long)srv.rp.stats.relay_dropped,
		(unsigned long long)srv.rp.stats.relay_over_budget);
	if (srv.bridge) {
		const struct tcpbridge_stats *t = tcpbridge_stats(srv.bridge);

		fprintf(stderr, "shoal-mediator: tcp: %llu streams, %llu "
			"refused, %llu frames in, %llu out, %llu dropped\n",
			(unsigned long long)t->streams,
			(unsigned long long)t->refused,
			(unsigned long long)t->frames_in,
			(unsigned long long)t->frames_out,
			(unsigned long long)t->dropped);
	}
out_server:
	server_close(&srv);
out:
	sources_deny_free(&srv.deny);
	if (srv.store)
		mstore_close(srv.store);
	sodium_memzero(srv.priv, sizeof(srv.priv));
	return status;
}
