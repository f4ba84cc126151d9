// SPDX-License-Identifier: MIT
/*
 * Port mapping of the tunnel port: UPnP IGD (libminiupnpc), NAT-PMP
 * (libnatpmp) and PCP (lib/pcp.c), see portmap.h.
 *
 * Each protocol is a job: a thread that runs one request (a new mapping,
 * its renewal, or its deletion) with its own bounded timeouts, then
 * writes its protocol's number to a pipe and ends.  The loop reads the
 * pipe, joins the thread and takes the result; while a job runs, the
 * thread alone touches it, and the loop never waits for one except at
 * exit.
 *
 * What a gateway says is announced to every peer as where to reach us,
 * so it is bounded (docs/security.md, "Port mapping"): one endpoint, an
 * address shoal_candidate_usable takes, a port other than 0, a lifetime
 * clamped to [PM_MIN_LIFETIME, PM_MAX_LIFETIME].  The NAT-PMP and PCP
 * answers must come from the default route's gateway, port 5351.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
/* Debian builds libnatpmp with it; the header hides it without. */
#define ENABLE_STRNATPMPERR
#include <natpmp.h>
#include <sodium.h>

#include "endpoint.h"
#include "mclient.h"
#include "pcp.h"
#include "portmap.h"

/* Asked for; what a gateway grants is clamped to the two bounds. */
#define PM_LIFETIME 3600
#define PM_MIN_LIFETIME 60
#define PM_MAX_LIFETIME 86400
/* Nothing answered, or the mapping was lost: try again after. */
#define PM_RETRY 300.0
/* SSDP: how long UPnP discovery waits for answers, in ms. */
#define PM_SSDP_WAIT 2000
/* NAT-PMP and PCP: resend after 250 ms, doubling, for this long. */
#define PM_UDP_TIMEOUT_MS 4000
#define PM_DESCRIPTION "shoal"

enum pm_proto { PM_UPNP, PM_NATPMP, PM_PCP, PM_COUNT };

static const char *const proto_names[PM_COUNT] = {
	[PM_UPNP] = "upnp", [PM_NATPMP] = "natpmp", [PM_PCP] = "pcp",
};

enum pm_op { PM_MAP, PM_DELETE };

struct pm_job {
	struct portmap *pm;
	enum pm_proto proto;
	bool running;
	pthread_t thread;
	/* What to do, set before the thread starts. */
	enum pm_op op;
	bool renew;			/* of the mapping we hold */
	struct in_addr gateway;
	uint16_t port;			/* ours: the tunnel port */
	uint16_t external_port;		/* to ask for, or to delete */
	/* Kept from run to run: the IGD found, PCP's nonce. */
	bool has_igd;
	struct UPNPUrls urls;
	struct IGDdatas igd;
	char lanaddr[64];
	uint8_t nonce[PCP_NONCE_LEN];
	/* The result. */
	bool ok;
	struct shoal_endpoint external;
	uint32_t lifetime;
	char why[128];
};

struct portmap {
	struct shoald *d;
	int epfd;
	int pipe[2];
	struct pm_job jobs[PM_COUNT];
	bool started;			/* since the login */
	int winner;			/* enum pm_proto; -1: no mapping */
	struct shoal_endpoint external;
	double expires, renew_at, retry_at;
	bool told;			/* "nothing answered" logged */
};

static struct portmap *pm_of(struct shoald *d)
{
	return d->portmap;
}

static uint16_t port_of(const struct shoal_endpoint *ep)
{
	return ntohs(ep->in.sin_port);
}

/* ---- the jobs, in their threads ------------------------------------- */

static void set_v4(struct shoal_endpoint *ep, struct in_addr a,
		   uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	ep->in.sin_addr = a;
	ep->in.sin_port = htons(port);
	ep->len = sizeof(ep->in);
}

static void upnp_forget(struct pm_job *j)
{
	if (j->has_igd)
		FreeUPNPUrls(&j->urls);
	j->has_igd = false;
}

static bool upnp_discover(struct pm_job *j)
{
	struct UPNPDev *devs;
	int err = 0, rc;

	devs = upnpDiscover(PM_SSDP_WAIT, NULL, NULL, 0, 0, 2, &err);
	if (!devs) {
		snprintf(j->why, sizeof(j->why), "no UPnP device answered");
		return false;
	}
	memset(&j->urls, 0, sizeof(j->urls));
#if MINIUPNPC_API_VERSION >= 18
	rc = UPNP_GetValidIGD(devs, &j->urls, &j->igd, j->lanaddr,
			      sizeof(j->lanaddr), NULL, 0);
#else
	rc = UPNP_GetValidIGD(devs, &j->urls, &j->igd, j->lanaddr,
			      sizeof(j->lanaddr));
#endif
	freeUPNPDevlist(devs);
	/* 1: a connected IGD.  Anything else maps nothing useful. */
	if (rc != 1) {
		if (rc)
			FreeUPNPUrls(&j->urls);
		snprintf(j->why, sizeof(j->why), "no connected IGD found");
		return false;
	}
	j->has_igd = true;
	return true;
}

static void upnp_run(struct pm_job *j)
{
	char ext_ip[40] = "", ext[8], in[8], lease[16];
	struct in_addr a;
	int rc;

	if (!j->has_igd && !upnp_discover(j))
		return;
	snprintf(ext, sizeof(ext), "%u", j->external_port);
	if (j->op == PM_DELETE) {
		UPNP_DeletePortMapping(j->urls.controlURL,
				       j->igd.first.servicetype, ext, "UDP",
				       NULL);
		return;
	}
	snprintf(in, sizeof(in), "%u", j->port);
	snprintf(lease, sizeof(lease), "%u", PM_LIFETIME);
	j->lifetime = PM_LIFETIME;
	rc = UPNP_AddPortMapping(j->urls.controlURL,
				 j->igd.first.servicetype, ext, in,
				 j->lanaddr, PM_DESCRIPTION, "UDP", NULL,
				 lease);
	/* 725 OnlyPermanentLeasesSupported: renewed all the same. */
	if (rc == 725) {
		rc = UPNP_AddPortMapping(j->urls.controlURL,
					 j->igd.first.servicetype, ext, in,
					 j->lanaddr, PM_DESCRIPTION, "UDP",
					 NULL, "0");
	}
	if (rc != UPNPCOMMAND_SUCCESS) {
		snprintf(j->why, sizeof(j->why), "AddPortMapping: %s (%d)",
			 strupnperror(rc), rc);
		/* The IGD may have gone, or changed its URLs: find it again. */
		upnp_forget(j);
		return;
	}
	rc = UPNP_GetExternalIPAddress(j->urls.controlURL,
				       j->igd.first.servicetype, ext_ip);
	if (rc != UPNPCOMMAND_SUCCESS || inet_pton(AF_INET, ext_ip, &a) != 1) {
		snprintf(j->why, sizeof(j->why), "no external IPv4 address");
		return;
	}
	set_v4(&j->external, a, j->external_port);
	j->ok = true;
}

/* Milliseconds from start to now. */
static long ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * One NAT-PMP request and its answer: libnatpmp resends on its own
 * schedule (up to a minute); this stops at PM_UDP_TIMEOUT_MS.
 */
static int natpmp_ask(natpmp_t *n, natpmpresp_t *r)
{
	struct timespec start;
	struct timeval tv;
	fd_set fds;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		rc = readnatpmpresponseorretry(n, r);
		if (rc != NATPMP_TRYAGAIN)
			return rc;
		if (ms_since(&start) >= PM_UDP_TIMEOUT_MS)
			return NATPMP_TRYAGAIN;
		if (getnatpmprequesttimeout(n, &tv) < 0)
			return -1;
		if (tv.tv_sec > 0 || tv.tv_usec > 250000) {
			tv.tv_sec = 0;
			tv.tv_usec = 250000;
		}
		FD_ZERO(&fds);
		FD_SET(n->s, &fds);
		select(n->s + 1, &fds, NULL, NULL, &tv);
	}
}

static void natpmp_run(struct pm_job *j)
{
	struct in_addr public;
	natpmpresp_t r;
	natpmp_t n;
	int rc;

	if (initnatpmp(&n, 1, j->gateway.s_addr) < 0) {
		snprintf(j->why, sizeof(j->why), "no socket");
		return;
	}
	if (j->op == PM_DELETE) {
		if (sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, j->port,
					      j->external_port, 0) >= 0)
			natpmp_ask(&n, &r);
		closenatpmp(&n);
		return;
	}
	rc = sendpublicaddressrequest(&n);
	if (rc >= 0)
		rc = natpmp_ask(&n, &r);
	if (rc < 0 || r.type != NATPMP_RESPTYPE_PUBLICADDRESS) {
		snprintf(j->why, sizeof(j->why), "%s",
			 rc == NATPMP_TRYAGAIN ? "no answer" :
			 strnatpmperr(rc));
		closenatpmp(&n);
		return;
	}
	public = r.pnu.publicaddress.addr;
	rc = sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, j->port,
				       j->external_port, PM_LIFETIME);
	if (rc >= 0)
		rc = natpmp_ask(&n, &r);
	closenatpmp(&n);
	if (rc < 0 || r.type != NATPMP_RESPTYPE_UDPPORTMAPPING ||
	    r.pnu.newportmapping.privateport != j->port ||
	    !r.pnu.newportmapping.mappedpublicport ||
	    !r.pnu.newportmapping.lifetime) {
		snprintf(j->why, sizeof(j->why), "mapping refused: %s",
			 rc < 0 ? strnatpmperr(rc) : "a bad answer");
		return;
	}
	set_v4(&j->external, public, r.pnu.newportmapping.mappedpublicport);
	j->lifetime = r.pnu.newportmapping.lifetime;
	j->ok = true;
}

static void pcp_run(struct pm_job *j)
{
	uint8_t buf[PCP_MAX_MSG + 4], client[16], v4[4];
	struct sockaddr_in gw = { .sin_family = AF_INET };
	struct sockaddr_in me;
	socklen_t me_len = sizeof(me);
	struct pcp_map req, resp;
	struct timespec start;
	struct pollfd pfd;
	int fd, rc = PCP_E_LENGTH, wait = 250;
	size_t len;
	ssize_t n;

	gw.sin_addr = j->gateway;
	gw.sin_port = htons(PCP_SERVER_PORT);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Connected: only the gateway's port 5351 is heard. */
	if (fd < 0 || connect(fd, (struct sockaddr *)&gw, sizeof(gw)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &me_len) < 0) {
		snprintf(j->why, sizeof(j->why), "no route to the gateway");
		if (fd >= 0)
			close(fd);
		return;
	}
	memset(&req, 0, sizeof(req));
	/* A new mapping has a new nonce; a renewal or deletion, its own. */
	if (j->op == PM_MAP && !j->renew)
		randombytes_buf(j->nonce, sizeof(j->nonce));
	memcpy(req.nonce, j->nonce, sizeof(req.nonce));
	req.protocol = PCP_PROTO_UDP;
	req.internal_port = j->port;
	req.external_port = j->external_port;
	req.lifetime = j->op == PM_DELETE ? 0 : PM_LIFETIME;
	memset(v4, 0, sizeof(v4));
	pcp_addr_from_v4(req.external_addr, v4);
	memcpy(v4, &me.sin_addr, 4);
	pcp_addr_from_v4(client, v4);
	len = pcp_map_request(buf, client, &req);
	clock_gettime(CLOCK_MONOTONIC, &start);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (ms_since(&start) < PM_UDP_TIMEOUT_MS) {
		if (send(fd, buf, len, 0) < 0)
			break;
		/*
		 * Until an answer that is ours, or the time to resend; a
		 * stream of datagrams that are not (anyone on the LAN can
		 * forge the gateway's) ends with the job's time, too.
		 */
		while (ms_since(&start) < PM_UDP_TIMEOUT_MS &&
		       poll(&pfd, 1, wait) > 0) {
			n = recv(fd, buf + len, sizeof(buf) - len, 0);
			/* Port unreachable: no PCP server there. */
			if (n < 0 && errno == ECONNREFUSED)
				goto refused;
			if (n < 0)
				continue;
			rc = pcp_map_response(buf + len, (size_t)n, &req,
					      &resp);
			if (rc >= 0 || rc == PCP_E_VERSION)
				goto answered;
		}
		wait *= 2;
	}
	snprintf(j->why, sizeof(j->why), "no answer");
	close(fd);
	return;
refused:
	snprintf(j->why, sizeof(j->why), "no PCP server (port unreachable)");
	close(fd);
	return;
answered:
	close(fd);
	if (rc == PCP_E_VERSION) {
		snprintf(j->why, sizeof(j->why), "not a PCP server");
		return;
	}
	if (rc > 0) {
		snprintf(j->why, sizeof(j->why), "refused: %s (%d)",
			 pcp_result_name(rc) ? pcp_result_name(rc) : "?", rc);
		return;
	}
	if (j->op == PM_DELETE)
		return;
	pcp_addr_to_v4(v4, resp.external_addr);
	memcpy(&me.sin_addr, v4, 4);
	set_v4(&j->external, me.sin_addr, resp.external_port);
	j->lifetime = resp.lifetime;
	j->ok = true;
}

static void job_run(struct pm_job *j)
{
	int family;
	uint8_t addr[16];

	j->ok = false;
	j->why[0] = '\0';
	memset(&j->external, 0, sizeof(j->external));
	switch (j->proto) {
	case PM_UPNP:
		upnp_run(j);
		break;
	case PM_NATPMP:
		natpmp_run(j);
		break;
	case PM_PCP:
		pcp_run(j);
		break;
	case PM_COUNT:
		break;
	}
	if (j->ok && !shoal_candidate_usable(&j->external, false, &family,
					     addr)) {
		j->ok = false;
		snprintf(j->why, sizeof(j->why),
			 "an external address peers cannot reach");
	}
	if (j->ok) {
		if (j->lifetime < PM_MIN_LIFETIME)
			j->lifetime = PM_MIN_LIFETIME;
		if (j->lifetime > PM_MAX_LIFETIME)
			j->lifetime = PM_MAX_LIFETIME;
	}
}

static void *job_thread(void *arg)
{
	struct pm_job *j = arg;
	uint8_t b = (uint8_t)j->proto;

	job_run(j);
	/* The loop takes it from here; a full pipe cannot be (3 bytes). */
	if (write(j->pm->pipe[1], &b, 1) != 1)
		abort();
	return NULL;
}

/* ---- the loop's side ---------------------------------------------------- */

/* The default route's gateway, from /proc/net/route: 0, or -1. */
static int default_gateway(struct in_addr *gw)
{
	char line[256], ifname[32];
	unsigned int dest, gate, flags;
	FILE *f = fopen("/proc/net/route", "re");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %x %x %x", ifname, &dest, &gate,
			   &flags) != 4)
			continue;
		if (dest == 0 && (flags & RTF_UP) && (flags & RTF_GATEWAY)) {
			/* As the kernel holds it: network order in memory. */
			gw->s_addr = gate;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static bool job_start(struct portmap *pm, enum pm_proto proto, enum pm_op op,
		      uint16_t external_port)
{
	struct pm_job *j = &pm->jobs[proto];

	if (j->running)
		return false;
	j->op = op;
	j->renew = op == PM_MAP && pm->winner == (int)proto;
	j->port = pm->d->dp->listen_port;
	j->external_port = external_port;
	if (pthread_create(&j->thread, NULL, job_thread, j)) {
		fprintf(stderr, "shoald: port mapping: no thread for %s\n",
			proto_names[proto]);
		return false;
	}
	j->running = true;
	return true;
}

static void start_all(struct portmap *pm, double now)
{
	struct shoald *d = pm->d;
	unsigned int i;

	pm->retry_at = now + PM_RETRY;
	if (default_gateway(&pm->jobs[0].gateway) < 0) {
		if (d->verbose && !pm->told)
			fprintf(stderr, "shoald: port mapping: no default "
				"gateway\n");
		pm->told = true;
		return;
	}
	for (i = 0; i < PM_COUNT; i++) {
		pm->jobs[i].gateway = pm->jobs[0].gateway;
		/* Ask for our own port outside: peers' guesses hit it too. */
		job_start(pm, i, PM_MAP, d->dp->listen_port);
	}
}

/* The announced candidate: the mapping's, then PublicEndpoint's. */
static void publish(struct portmap *pm, const struct shoal_endpoint *ep)
{
	struct shoald *d = pm->d;

	if (ep)
		pm->external = *ep;
	else
		memset(&pm->external, 0, sizeof(pm->external));
	if (shoal_endpoint_equal(&d->own_candidates[0], &pm->external))
		return;
	d->own_candidates[0] = pm->external;
	mclient_candidates_changed(d);
}

static void lose(struct portmap *pm, double now)
{
	pm->winner = -1;
	pm->expires = pm->renew_at = 0;
	pm->retry_at = now + PM_RETRY;
	publish(pm, NULL);
}

static void took(struct portmap *pm, struct pm_job *j, double now)
{
	struct shoald *d = pm->d;
	char ep[SHOAL_ENDPOINT_STRLEN + 1];
	bool renewal = pm->winner == (int)j->proto;

	pm->winner = j->proto;
	pm->expires = now + j->lifetime;
	pm->renew_at = now + j->lifetime / 2;
	pm->told = false;
	if (!renewal || d->verbose) {
		shoal_endpoint_format(ep, sizeof(ep), &j->external);
		fprintf(stderr, "shoald: port mapping: %s%s %s for %u s\n",
			renewal ? "renewed " : "", proto_names[j->proto], ep,
			j->lifetime);
	}
	publish(pm, &j->external);
}

static void job_done(struct portmap *pm, struct pm_job *j, double now)
{
	struct shoald *d = pm->d;
	unsigned int i;
	bool busy = false;

	if (j->op == PM_DELETE)
		return;
	if (!pm->started) {
		/* A logout came first: what it got goes again. */
		if (j->ok)
			job_start(pm, j->proto, PM_DELETE,
				  port_of(&j->external));
		return;
	}
	if (pm->winner == (int)j->proto) {
		if (j->ok) {
			took(pm, j, now);
		} else {
			fprintf(stderr, "shoald: port mapping: %s renewal "
				"failed (%s)\n", proto_names[j->proto],
				j->why);
			lose(pm, now);
		}
		return;
	}
	if (j->ok && pm->winner < 0) {
		took(pm, j, now);
		return;
	}
	if (j->ok) {
		/*
		 * A second protocol of the same gateway most often updates
		 * the winner's own rule: deleting that would delete both.
		 */
		if (!shoal_endpoint_equal(&j->external, &pm->external))
			job_start(pm, j->proto, PM_DELETE,
				  port_of(&j->external));
		return;
	}
	for (i = 0; i < PM_COUNT; i++)
		busy |= pm->jobs[i].running;
	if (busy || pm->winner >= 0 || pm->told)
		return;
	pm->told = true;
	if (d->verbose)
		fprintf(stderr, "shoald: port mapping: nothing answered "
			"(upnp: %s; natpmp: %s; pcp: %s), again in %.0f s\n",
			pm->jobs[PM_UPNP].why, pm->jobs[PM_NATPMP].why,
			pm->jobs[PM_PCP].why, PM_RETRY);
}

bool portmap_handle(struct shoald *d, int fd)
{
	struct portmap *pm = pm_of(d);
	uint8_t b[PM_COUNT];
	ssize_t n, i;

	if (!pm || fd != pm->pipe[0])
		return false;
	n = read(fd, b, sizeof(b));
	for (i = 0; i < n; i++) {
		struct pm_job *j;

		if (b[i] >= PM_COUNT)
			continue;
		j = &pm->jobs[b[i]];
		pthread_join(j->thread, NULL);
		j->running = false;
		job_done(pm, j, shoald_now());
	}
	return true;
}

void portmap_tick(struct shoald *d, double now)
{
	struct portmap *pm = pm_of(d);
	unsigned int i;
	bool busy = false;

	if (!pm)
		return;
	if (pm->started && !mclient_configured(d)) {
		/* A logout: no one to announce it to, and it is ours. */
		pm->started = false;
		if (pm->winner >= 0)
			job_start(pm, pm->winner, PM_DELETE,
				  port_of(&pm->external));
		pm->winner = -1;
		publish(pm, NULL);
		return;
	}
	if (!pm->started) {
		if (!mclient_logged_in(d))
			return;
		pm->started = true;
		pm->told = false;
		start_all(pm, now);
		return;
	}
	if (pm->winner >= 0) {
		if (now >= pm->renew_at &&
		    job_start(pm, pm->winner, PM_MAP, port_of(&pm->external)))
			pm->renew_at = pm->expires;
		else if (now >= pm->expires && !pm->jobs[pm->winner].running)
			lose(pm, now);
		return;
	}
	for (i = 0; i < PM_COUNT; i++)
		busy |= pm->jobs[i].running;
	if (!busy && now >= pm->retry_at)
		start_all(pm, now);
}

static void port_mapping_json(struct shoald *d, FILE *f)
{
	struct portmap *pm = pm_of(d);
	char ep[SHOAL_ENDPOINT_STRLEN + 1];
	double left;

	if (!pm || pm->winner < 0 ||
	    shoal_endpoint_format(ep, sizeof(ep), &pm->external) < 0) {
		fputs("null", f);
		return;
	}
	left = pm->expires - shoald_now();
	fprintf(f, "{\"protocol\": \"%s\", \"external\": \"%s\", "
		"\"expires\": %lld}", proto_names[pm->winner], ep,
		left > 0 ? (long long)left : 0LL);
}

int portmap_open(struct shoald *d, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct portmap *pm = calloc(1, sizeof(*pm));
	unsigned int i;

	if (!pm)
		return -ENOMEM;
	if (pipe2(pm->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(pm);
		return -errno;
	}
	/* Writes never wait: a thread's one byte always fits. */
	fcntl(pm->pipe[1], F_SETFL, 0);
	ev.data.fd = pm->pipe[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, pm->pipe[0], &ev) < 0) {
		int ret = -errno;

		close(pm->pipe[0]);
		close(pm->pipe[1]);
		free(pm);
		return ret;
	}
	pm->d = d;
	pm->epfd = epfd;
	pm->winner = -1;
	for (i = 0; i < PM_COUNT; i++) {
		pm->jobs[i].pm = pm;
		pm->jobs[i].proto = i;
	}
	d->portmap = pm;
	d->port_mapping_json = port_mapping_json;
	return 0;
}

void portmap_close(struct shoald *d)
{
	struct portmap *pm = pm_of(d);
	unsigned int i;
	int winner;

	if (!pm)
		return;
	winner = pm->winner;
	for (i = 0; i < PM_COUNT; i++) {
		struct pm_job *j = &pm->jobs[i];

		if (!j->running)
			continue;
		pthread_join(j->thread, NULL);
		j->running = false;
		/* Got one as we stop: it goes too, unless it is the same. */
		if (j->op == PM_MAP && j->ok && (int)i != winner &&
		    !shoal_endpoint_equal(&j->external, &pm->external)) {
			j->op = PM_DELETE;
			j->external_port = port_of(&j->external);
			job_run(j);
		}
	}
	if (winner >= 0) {
		struct pm_job *j = &pm->jobs[winner];

		j->op = PM_DELETE;
		j->port = d->dp->listen_port;
		j->external_port = port_of(&pm->external);
		job_run(j);
		fprintf(stderr, "shoald: port mapping: %s deleted\n",
			proto_names[winner]);
	}
	for (i = 0; i < PM_COUNT; i++)
		upnp_forget(&pm->jobs[i]);
	epoll_ctl(pm->epfd, EPOLL_CTL_DEL, pm->pipe[0], NULL);
	close(pm->pipe[0]);
	close(pm->pipe[1]);
	d->port_mapping_json = NULL;
	d->portmap = NULL;
	memset(&d->own_candidates[0], 0, sizeof(d->own_candidates[0]));
	free(pm);
}
