// SPDX-License-Identifier: MIT
/*
 * LAN broadcasts from any interface; see lanbcast.h.  The mechanism is
 * nftables (docs/architecture.md, "LAN broadcasts", says why): in the
 * output hook, a local program's UDP datagram to 255.255.255.255 leaving
 * by any other interface is duplicated (nf_dup_ipv4) onto the device; in
 * the postrouting hook that duplicate, on the device, gets the device's
 * IPv4 address as its source, so that answers come back over the
 * overlay.  The rules go in through libnftables, one transaction each, so
 * a change replaces the table atomically.  Nothing of the rule text comes
 * from unchecked input: the device name is checked against a strict
 * alphabet, the ports are numbers parsed before (lib/portlist.c), the
 * address is inet_ntop's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "json.h"
#include "lanbcast.h"
#include "portlist.h"
#include "session.h"
#include "util.h"

/* How often the device's address is looked at, and the table checked. */
#define ADDRESS_EVERY 1.0
#define TABLE_EVERY 5.0

/* The answers' result codes, beside control.c's -203 and -204. */
#define E_NOT_ROOT (-204)
#define E_BAD_REQUEST (-220)
#define E_NOT_SAVED (-221)

struct lanbcast {
	char state_path[PATH_MAX + 64];
	char ifname[IF_NAMESIZE];
	char table[64];
	bool nameable;			/* ifname fits in rule text */
	bool enabled;
	struct shoal_portlist ports;
	const char *from;		/* "default", "config", "runtime" */
	bool installed;
	bool has_addr;
	struct in_addr addr;		/* the source the copies get */
	char error[512];		/* nftables' last refusal; "": none */
	double next_addr, next_table;
};

static struct lanbcast *lb(struct shoald *d)
{
	return d->lanbcast;
}

/*
 * The names nft's grammar takes inside quotes and after a prefix in an
 * identifier, whatever its version: letters, digits, '_', '-' and '.'.
 * The kernel allows more in a device name; such a device gets no table.
 */
static bool nft_safe_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return i > 0;
}

/*
 * Runs cmds as one nftables transaction.  0, or -1 with nft's first
 * line of complaint in err.
 */
static int nft_run(const char *cmds, char *err, size_t err_size)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *msg;
	int ret;

	if (!nft) {
		snprintf(err, err_size, "cannot set up libnftables");
		return -1;
	}
	/* Its words go to us, not to shoald's stdout and stderr. */
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	ret = nft_run_cmd_from_buffer(nft, cmds);
	if (ret) {
		msg = nft_ctx_get_error_buffer(nft);
		if (!msg || !*msg)
			msg = "nftables refused the rules";
		snprintf(err, err_size, "%.*s", (int)strcspn(msg, "\n"), msg);
	}
	nft_ctx_free(nft);
	return ret ? -1 : 0;
}

/* The table's text, for the setting and address now; -1 if too long. */
static int ruleset(const struct lanbcast *l, char *buf, size_t size)
{
	/* "{ ", then per range at most "65534-65535" and ", ", then " }". */
	char addr[INET_ADDRSTRLEN], ports[SHOAL_PORTLIST_MAX * 13 + 8];
	unsigned int i;
	size_t o = 0;
	int n;

	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	if (!l->ports.n) {
		/* Every port but DHCP's: the LAN's own configuration. */
		snprintf(ports, sizeof(ports), "!= { 67, 68 }");
	} else {
		o = (size_t)snprintf(ports, sizeof(ports), "{ ");
		for (i = 0; i < l->ports.n; i++) {
			const struct shoal_port_range *r = &l->ports.r[i];

			if (r->low == r->high)
				n = snprintf(ports + o, sizeof(ports) - o,
					     "%s%u", i ? ", " : "", r->low);
			else
				n = snprintf(ports + o, sizeof(ports) - o,
					     "%s%u-%u", i ? ", " : "", r->low,
					     r->high);
			if (n < 0 || (size_t)n >= sizeof(ports) - o)
				return -1;
			o += (size_t)n;
		}
		if (o + 3 > sizeof(ports))
			return -1;
		memcpy(ports + o, " }", 3);
	}
	/*
	 * add + delete + the table: one transaction that replaces whatever
	 * was there.  Only the output hook: what other hosts send is never
	 * copied, nor what arrives on the device.  nf_dup sends the copy
	 * through the output path again with a per-CPU flag set that keeps
	 * it from being duplicated once more.  Sources of 0.0.0.0 are a DHCP
	 * client's, which the overlay has no business hearing.
	 */
	n = snprintf(buf, size,
		"add table ip %s\n"
		"delete table ip %s\n"
		"table ip %s {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority 0; policy accept;\n"
		"\t\toifname != \"%s\" ip daddr 255.255.255.255 "
		"ip saddr != 0.0.0.0 udp dport %s "
		"dup to 255.255.255.255 device \"%s\"\n"
		"\t}\n"
		"\tchain postrouting {\n"
		"\t\ttype filter hook postrouting priority 100; "
		"policy accept;\n"
		"\t\toifname \"%s\" ip daddr 255.255.255.255 "
		"ip saddr != { 0.0.0.0, %s } meta l4proto udp "
		"ip saddr set %s\n"
		"\t}\n"
		"}\n",
		l->table, l->table, l->table, l->ifname, ports, l->ifname,
		l->ifname, addr, addr);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The device's first IPv4 address: true with it in *out. */
static bool device_addr(const char *ifname, struct in_addr *out)
{
	struct ifaddrs *list, *i;
	bool found = false;

	if (getifaddrs(&list) < 0)
		return false;
	for (i = list; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, ifname))
			continue;
		*out = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		found = true;
	}
	freeifaddrs(list);
	return found;
}

static void remove_table(struct lanbcast *l)
{
	char cmds[256], err[256];

	if (!l->nameable)
		return;
	snprintf(cmds, sizeof(cmds), "add table ip %s\ndelete table ip %s\n",
		 l->table, l->table);
	if (nft_run(cmds, err, sizeof(err)) < 0 && l->installed)
		fprintf(stderr, "shoald: cannot remove the nftables table "
			"%s: %s\n", l->table, err);
	l->installed = false;
}

/* Makes the kernel's table what the setting says, as far as it can. */
static void apply(struct lanbcast *l)
{
	char cmds[4096], err[sizeof(l->error)];
	struct in_addr addr;

	l->next_addr = shoald_now() + ADDRESS_EVERY;
	l->next_table = shoald_now() + TABLE_EVERY;
	if (!l->enabled) {
		if (l->installed)
			remove_table(l);
		l->error[0] = '\0';
		return;
	}
	if (!l->nameable) {
		snprintf(l->error, sizeof(l->error), "the device name %s has "
			 "characters other than letters, digits, '_', '-' and "
			 "'.', which shoald does not put into nftables rules",
			 l->ifname);
		return;
	}
	l->has_addr = device_addr(l->ifname, &addr);
	if (!l->has_addr) {
		/* Copies with a LAN source would leak it: none until then. */
		if (l->installed)
			remove_table(l);
		l->error[0] = '\0';
		return;
	}
	l->addr = addr;
	if (ruleset(l, cmds, sizeof(cmds)) < 0) {
		snprintf(l->error, sizeof(l->error), "the rules do not fit");
		return;
	}
	if (nft_run(cmds, err, sizeof(err)) < 0) {
		/* Said once for each new reason. */
		if (strcmp(err, l->error))
			fprintf(stderr, "shoald: lan-broadcast: nftables "
				"refused the table %s: %s\n", l->table, err);
		memcpy(l->error, err, sizeof(l->error));
		l->installed = false;
		return;
	}
	l->error[0] = '\0';
	l->installed = true;
}

/* ---- the setting and where it is kept ----------------------------- */

/*
 * The saved setting: an [Interface] with LanBroadcast and
 * LanBroadcastPorts, read by the configuration's own parser with a
 * stand-in Name and PrivateKey after it (as mclient_state.c reads a
 * saved login).  1 with it in *saved, 0 if there is none to use.
 */
static int load_saved(struct shoal_config *saved, const char *path)
{
	static const char tail[] = "\nName = x\nPrivateKey = "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	char text[4096 + sizeof(tail)], err[PATH_MAX + 256];
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			fprintf(stderr, "shoald: cannot read %s: %s\n", path,
				strerror(errno));
		return 0;
	}
	n = fread(text, 1, sizeof(text) - sizeof(tail), f);
	if (n == sizeof(text) - sizeof(tail) && fgetc(f) != EOF) {
		fclose(f);
		fprintf(stderr, "shoald: ignoring %s: too long\n", path);
		return 0;
	}
	fclose(f);
	memcpy(text + n, tail, sizeof(tail) - 1);
	if (shoal_config_parse(saved, text, n + sizeof(tail) - 1, path, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "shoald: ignoring %s: %s\n", path, err);
		return 0;
	}
	return 1;
}

/* Writes the setting to the state file, atomically.  0 or -errno. */
static int save(const struct lanbcast *l)
{
	char tmp[sizeof(l->state_path) + 8], ports[SHOAL_PORTLIST_STRLEN + 1];
	const char *slash = strrchr(l->state_path, '/');
	FILE *f;
	int fd, ret;

	if (slash && slash != l->state_path) {
		ret = shoal_mkdir_p(l->state_path,
				    (size_t)(slash - l->state_path), 0700);
		if (ret < 0)
			return ret;
	}
	if (shoal_portlist_format(ports, sizeof(ports), &l->ports) < 0)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%s.tmp", l->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "# Written by shoald at `shoal lan-broadcast`.  While this "
		"file is newer than\n# the configuration, it wins over the "
		"configuration's LanBroadcast.\n[Interface]\n"
		"LanBroadcast = %s\nLanBroadcastPorts = %s\n",
		l->enabled ? "yes" : "no", ports);
	if (fclose(f) != 0 || rename(tmp, l->state_path) < 0) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

int shoald_lanbcast_open(struct shoald *d, const struct shoal_config *c,
			 const char *config_path, const char *state_path)
{
	struct shoal_config saved = { 0 };
	struct lanbcast *l;
	char ports[SHOAL_PORTLIST_STRLEN + 1];

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->state_path, sizeof(l->state_path), "%s", state_path);
	snprintf(l->ifname, sizeof(l->ifname), "%s", d->dp->ifname);
	l->nameable = nft_safe_name(l->ifname);
	snprintf(l->table, sizeof(l->table), "shoal_lanbcast_%s",
		 l->nameable ? l->ifname : "");
	l->from = config_path ? "config" : "default";
	l->enabled = c->lan_broadcast;
	l->ports = c->lan_broadcast_ports;
	if (load_saved(&saved, state_path) &&
	    shoal_file_newer(state_path, config_path)) {
		l->enabled = saved.lan_broadcast;
		l->ports = saved.lan_broadcast_ports;
		l->from = "runtime";
	}
	shoal_config_free(&saved);
	d->lanbcast = l;
	if (l->enabled) {
		shoal_portlist_format(ports, sizeof(ports), &l->ports);
		fprintf(stderr, "shoald: lan-broadcast on, UDP ports %s (%s)\n",
			ports, !strcmp(l->from, "runtime") ? state_path :
			config_path);
		apply(l);
	} else {
		/*
		 * A table a killed shoald left behind would go on copying:
		 * removed, quietly (there is usually none).  Whether nf_tables
		 * is in use cannot be told beforehand (it may be built in),
		 * so this may load it.
		 */
		remove_table(l);
	}
	return 0;
}

void shoald_lanbcast_tick(struct shoald *d, double now)
{
	struct lanbcast *l = lb(d);
	char cmds[256], err[256];
	struct in_addr addr;
	bool has;

	if (!l || !l->enabled || !l->nameable)
		return;
	if (now >= l->next_addr) {
		l->next_addr = now + ADDRESS_EVERY;
		has = device_addr(l->ifname, &addr);
		if (has != l->has_addr ||
		    (has && addr.s_addr != l->addr.s_addr) ||
		    (has && !l->installed && !*l->error)) {
			apply(l);
			return;
		}
	}
	if (now >= l->next_table) {
		l->next_table = now + TABLE_EVERY;
		if (!l->installed) {
			/* nftables refused: try again now and then. */
			if (*l->error)
				apply(l);
			return;
		}
		/* A firewall reload (flush ruleset) takes it away. */
		snprintf(cmds, sizeof(cmds), "list table ip %s\n", l->table);
		if (nft_run(cmds, err, sizeof(err)) < 0) {
			fprintf(stderr, "shoald: lan-broadcast: the table %s "
				"was removed; putting it back\n", l->table);
			apply(l);
		}
	}
}

void shoald_lanbcast_json(struct shoald *d, FILE *f)
{
	struct lanbcast *l = lb(d);
	char addr[INET_ADDRSTRLEN], text[24];
	unsigned int i;

	if (!l) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"enabled\": %s, \"ports\": ",
		l->enabled ? "true" : "false");
	if (!l->ports.n) {
		fputs("\"all\"", f);
	} else {
		fputc('[', f);
		for (i = 0; i < l->ports.n; i++) {
			const struct shoal_port_range *r = &l->ports.r[i];

			if (r->low == r->high)
				snprintf(text, sizeof(text), "%u", r->low);
			else
				snprintf(text, sizeof(text), "%u-%u", r->low,
					 r->high);
			fprintf(f, "%s\"%s\"", i ? ", " : "", text);
		}
		fputc(']', f);
	}
	fprintf(f, ", \"installed\": %s, \"from\": \"%s\", \"table\": ",
		l->installed ? "true" : "false", l->from);
	if (l->nameable)
		fprintf(f, "\"ip %s\"", l->table);
	else
		fputs("null", f);
	fputs(", \"address\": ", f);
	if (l->enabled && l->has_addr &&
	    inet_ntop(AF_INET, &l->addr, addr, sizeof(addr)))
		fprintf(f, "\"%s\"", addr);
	else
		fputs("null", f);
	if (*l->error) {
		fputs(", \"error\": ", f);
		shoal_json_string(f, l->error);
	}
	fputc('}', f);
}

/* "ok" and the setting as status has it. */
static void answer_ok(struct shoald *d, FILE *f)
{
	fputs("ok\n", f);
	shoald_lanbcast_json(d, f);
	fputc('\n', f);
}

bool shoald_lanbcast_request(struct shoald *d, FILE *f, const char *req,
			     bool root)
{
	static const char verb[] = "lan-broadcast";
	struct lanbcast *l = lb(d);
	struct shoal_portlist ports = { 0 };
	char line[512], *w[4] = { 0 }, *save_ptr = NULL, *tok, why[160];
	int n = 0, ret;

	if (strncmp(req, verb, sizeof(verb) - 1) ||
	    (req[sizeof(verb) - 1] && req[sizeof(verb) - 1] != ' '))
		return false;
	if (!l) {
		fprintf(f, "error %d lan-broadcast is not set up\n",
			E_BAD_REQUEST);
		return true;
	}
	if (strlen(req) >= sizeof(line)) {
		fprintf(f, "error %d the request is too long\n", E_BAD_REQUEST);
		return true;
	}
	strcpy(line, req);
	for (tok = strtok_r(line, " ", &save_ptr); tok && n < 4;
	     tok = strtok_r(NULL, " ", &save_ptr))
		w[n++] = tok;
	if (n <= 1) {
		answer_ok(d, f);
		return true;
	}
	if (tok || n > 3 || (strcmp(w[1], "on") && strcmp(w[1], "off")) ||
	    (n == 3 && strcmp(w[1], "on"))) {
		fprintf(f, "error %d expected lan-broadcast [on [PORTS]|off]\n",
			E_BAD_REQUEST);
		return true;
	}
	if (n == 3 && shoal_portlist_parse(&ports, w[2], why,
					   sizeof(why)) < 0) {
		fprintf(f, "error %d %s\n", E_BAD_REQUEST, why);
		return true;
	}
	/* A change of what leaves this host: the administrator's. */
	if (!root) {
		fprintf(f, "error %d only root may turn lan-broadcast on or "
			"off\n", E_NOT_ROOT);
		return true;
	}
	l->enabled = !strcmp(w[1], "on");
	/* off keeps the ports, for the next on without --ports. */
	if (l->enabled)
		l->ports = ports;
	l->from = "runtime";
	/* Another setting, another chance for a refused table. */
	l->error[0] = '\0';
	apply(l);
	ret = save(l);
	if (ret < 0) {
		fprintf(f, "error %d set, but it cannot be kept for the next "
			"start: %s: %s\n", E_NOT_SAVED, l->state_path,
			strerror(-ret));
		return true;
	}
	answer_ok(d, f);
	return true;
}

void shoald_lanbcast_close(struct shoald *d)
{
	struct lanbcast *l = lb(d);

	if (!l)
		return;
	if (l->installed)
		remove_table(l);
	free(l);
	d->lanbcast = NULL;
}
