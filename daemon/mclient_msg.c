// SPDX-License-Identifier: MIT
/*
 * What the mediator says: the LOGIN and its reply (the assigned
 * addresses and MAC), PEER_UP and PEER_DOWN into peers, RELAY, and the
 * replies to the requests shoald sent for `shoal`.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "chat.h"
#include "json.h"
#include "key.h"
#include "link.h"
#include "mac.h"
#include "mclient_int.h"
#include "medmsg.h"
#include "ratelimit.h"
#include "tlv.h"

/*
 * Peers a mediator may give us, over all networks (a network has 256
 * members by default): what a hostile one can make us hold and punch to.
 */
#define MAX_MEDIATOR_PEERS 4096
/* How long `shoal login` waits for a BINDING to come back. */
#define UDP_VERIFY_TIME 3.0
/* With the public endpoint, what a peer keeps (SHOALD_MAX_CANDIDATES). */
#define MAX_SENT_CANDIDATES 7

/*
 * Ours first, the best: a port mapping's, PublicEndpoint, and the public
 * address the mediator saw with ForwardedPort.  Returns how many.
 */
static unsigned int put_own_candidates(struct mclient *m,
				       struct shoal_tlv_writer *w)
{
	const struct shoald *d = m->d;
	struct shoal_endpoint own[SHOALD_MAX_OWN_CANDIDATES + 1];
	uint8_t v[MED_ENDPOINT_MAX];
	unsigned int i, n = 0;

	for (i = 0; i < SHOALD_MAX_OWN_CANDIDATES; i++)
		if (d->own_candidates[i].len)
			own[n++] = d->own_candidates[i];
	m->forwarded_ep.len = 0;
	if (d->forwarded_port && m->public_ep.len) {
		m->forwarded_ep = m->public_ep;
		mc_with_port(&m->forwarded_ep, d->forwarded_port);
		own[n++] = m->forwarded_ep;
	}
	for (i = 0; i < n; i++)
		shoal_tlv_put(w, MED_A_ENDPOINT, v, mc_ep_to_attr(v, &own[i]));
	return n;
}

static void put_lan_candidates(struct mclient *m, struct shoal_tlv_writer *w,
			       unsigned int n)
{
	struct shoal_endpoint ep;
	struct ifaddrs *ifa, *i;
	uint8_t v[MED_ENDPOINT_MAX], addr[16];
	int family;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i && n < MAX_SENT_CANDIDATES; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) ||
		    !strcmp(i->ifa_name, m->d->dp->ifname))
			continue;
		memset(&ep, 0, sizeof(ep));
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(&ep.in, i->ifa_addr, sizeof(ep.in));
			ep.len = sizeof(ep.in);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(&ep.in6, i->ifa_addr, sizeof(ep.in6));
			ep.len = sizeof(ep.in6);
		} else {
			continue;
		}
		mc_with_port(&ep, m->d->dp->listen_port);
		/* Only what a peer could reach us on (the mediator checks). */
		if (!shoal_candidate_usable(&ep, true, &family, addr))
			continue;
		shoal_tlv_put(w, MED_A_ENDPOINT, v, mc_ep_to_attr(v, &ep));
		n++;
	}
	freeifaddrs(ifa);
}

void mc_send_login(struct mclient *m)
{
	uint8_t buf[2048];
	struct shoal_tlv_writer w;

	m->login_id = ++m->next_id;
	shoal_tlv_writer_init(&w, buf, sizeof(buf), MED_LOGIN, 0, m->login_id);
	if (*m->nickname) {
		shoal_tlv_put_str(&w, MED_A_NICKNAME, m->nickname);
	} else {
		/*
		 * None chosen: the host name, which the mediator makes
		 * unique (or a known client keeps its own).
		 */
		char host[256] = "", nick[SHOAL_CONFIG_MAX_NICK + 1];

		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		shoal_config_default_nickname(nick, sizeof(nick), host);
		shoal_tlv_put_str(&w, MED_A_NICKNAME, nick);
		shoal_tlv_put(&w, MED_A_NICK_DEFAULT, NULL, 0);
	}
	shoal_tlv_put_u16(&w, MED_A_TUNNEL_PORT, m->d->dp->listen_port);
	put_lan_candidates(m, &w, put_own_candidates(m, &w));
	/* The last netcheck's, for the first PEER_UPs about us to carry. */
	if (m->nat.known) {
		uint8_t nat[MED_NAT_LEN];

		shoal_med_nat_put(nat, &m->nat);
		shoal_tlv_put(&w, MED_A_NAT, nat, sizeof(nat));
	}
	/*
	 * Redirected or failed over already (or logged in: a LOGIN again):
	 * this instance is to take us, not send us on.
	 */
	if (m->no_redirect || m->logged_in)
		shoal_tlv_put(&w, MED_A_NO_REDIRECT, NULL, 0);
	m->nat_told = m->nat;
	m->login_sent = true;
	if (!mc_send_msg(m, &w) && m->fd >= 0)
		mc_disconnect(m, "cannot send LOGIN");
}

static int32_t result_of(const struct shoal_tlv_msg *msg, char *text,
			 size_t size)
{
	struct shoal_tlv_attr a;
	uint32_t v = (uint32_t)E_BAD_REQUEST;

	*text = '\0';
	if (shoal_tlv_find(msg, MED_A_RESULT, &a))
		shoal_tlv_get_u32(&a, &v);
	/*
	 * 0 and 1 are the only successes: a greater code is as good as
	 * none.  Taken for one, it was acted on (a nickname kept, a logout
	 * done) while the client was told "error CODE", with JSON after it.
	 */
	if ((int32_t)v > 1)
		v = (uint32_t)E_BAD_REQUEST;
	/*
	 * -200 and below are shoald's own: a mediator's -206 would have
	 * shoal send again a request the mediator may have acted on.
	 */
	if ((int32_t)v <= E_NO_MEDIATOR)
		v = (uint32_t)E_BAD_REQUEST;
	if (shoal_tlv_find(msg, MED_A_MESSAGE, &a))
		shoal_tlv_get_str(&a, text, size);
	return (int32_t)v;
}

/*
 * An IPV4 or IPV6 attribute's address and prefix length as a prefix, if
 * it lies in the AddressRanges: true.  Else false and a line that says
 * what was refused (what is the peer's, or NULL for ours).
 */
static bool in_ranges(const struct mclient *m, int family,
		      const uint8_t *value, const char *whose)
{
	struct shoal_prefix p = { .family = family };
	char text[SHOAL_PREFIX_STRLEN + 1];

	if (family == AF_INET) {
		memcpy(&p.addr.v4, value, 4);
		p.len = value[4];
	} else {
		memcpy(&p.addr.v6, value, 16);
		p.len = value[16];
	}
	if (shoal_prefix_within(m->ranges, m->n_ranges, &p))
		return true;
	if (shoal_prefix_format(text, sizeof(text), &p) < 0)
		snprintf(text, sizeof(text), "?");
	fprintf(stderr, "shoald: mediator %s assigned %s%s%s, outside "
		"[Mediator] AddressRanges: not used\n", m->address, text,
		whose ? " to peer " : "", whose ? whose : "");
	return false;
}

static void apply_addresses(struct mclient *m)
{
	unsigned int ifindex = m->d->dp->ifindex;
	int ret;

	if (m->has_v4) {
		ret = shoal_link_add_addr(ifindex, AF_INET, m->v4, m->v4_len);
		if (ret < 0 && ret != -EEXIST)
			fprintf(stderr, "shoald: cannot add the assigned IPv4 "
				"address: %s\n", strerror(-ret));
	}
	if (m->has_v6) {
		ret = shoal_link_add_addr(ifindex, AF_INET6, m->v6, m->v6_len);
		if (ret < 0 && ret != -EEXIST)
			fprintf(stderr, "shoald: cannot add the assigned IPv6 "
				"address: %s\n", strerror(-ret));
	}
	shoal_link_set_up(ifindex, true);
}

static void addr_text(char *buf, size_t size, int family, const uint8_t *a,
		      unsigned int len)
{
	char t[INET6_ADDRSTRLEN];

	inet_ntop(family, a, t, sizeof(t));
	snprintf(buf, size, "%s/%u", t, len);
}

/* , "ipv4": …, "ipv6": … as assigned. */
void mc_addrs_json(const struct mclient *m, FILE *f)
{
	char t[64];

	fprintf(f, ", \"ipv4\": ");
	if (m->has_v4) {
		addr_text(t, sizeof(t), AF_INET, m->v4, m->v4_len);
		shoal_json_string(f, t);
	} else {
		fputs("null", f);
	}
	fprintf(f, ", \"ipv6\": ");
	if (m->has_v6) {
		addr_text(t, sizeof(t), AF_INET6, m->v6, m->v6_len);
		shoal_json_string(f, t);
	} else {
		fputs("null", f);
	}
}

static void login_json(struct mclient *m, FILE *f)
{
	char mac[SHOAL_MAC_STRLEN + 1];

	fprintf(f, "{\"nickname\": ");
	shoal_json_string(f, m->my_nick);
	mc_addrs_json(m, f);
	shoal_mac_format(mac, m->d->dp->mac);
	fprintf(f, ", \"mac\": \"%s\", \"udp_verified\": %s}\n", mac,
		m->udp_ok ? "true" : "false");
}

/*
 * The device's MAC changes to mac: its link-local address follows, which
 * Linux does not do by itself on an up link, since peers allow it only
 * the one the new MAC makes (set_allowed_ips).
 */
static void move_link_local(struct shoald *d, const uint8_t mac[6])
{
	uint8_t old[16], new[16];

	shoal_mac_link_local(old, d->dp->mac);
	shoal_mac_link_local(new, mac);
	memcpy(d->dp->mac, mac, 6);
	shoal_link_del_addr(d->dp->ifindex, AF_INET6, old, 64);
	shoal_link_add_addr(d->dp->ifindex, AF_INET6, new, 64);
}

static bool mediator_ep_ok(struct mclient *m, const struct shoal_endpoint *ep);

static void on_login_reply(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoald *d = m->d;
	struct shoal_tlv_iter it;
	struct shoal_tlv_attr a;
	char text[256];
	int32_t rc;
	uint8_t mac[6], v4[4], v6[16], v4_len = m->v4_len, v6_len = m->v6_len;
	bool has_mac = false, had_v4 = m->has_v4, had_v6 = m->has_v6;
	size_t i;

	rc = result_of(msg, text, sizeof(text));
	if (rc == MED_E_REDIRECT) {
		/* `shoal login` hears once the instance redirected to answers. */
		mc_redirect(m, msg);
		return;
	}
	if (rc < 0) {
		double wait = DATABASE_RETRY;

		snprintf(m->last_error, sizeof(m->last_error), "%s (%d)",
			 *text ? text : "login refused", (int)rc);
		mc_answer(m->login_fd, rc, text, NULL);
		m->login_fd = -1;
		mc_close(m, NULL);
		if (rc == MED_E_DATABASE) {
			/*
			 * The cluster's one database: another instance would
			 * say the same.  The same one again, backing off.
			 */
			for (i = 0; i < m->failures && wait < FAILOVER_MAX; i++)
				wait *= 2;
			if (wait > FAILOVER_MAX)
				wait = FAILOVER_MAX;
			wait *= 0.75 + randombytes_uniform(501) / 1000.0;
			m->failures++;
			m->next_connect = shoald_now() + wait;
			fprintf(stderr, "shoald: mediator %s cannot log us in "
				"now: %s: trying again in %.1f s\n",
				m->address, m->last_error, wait);
			return;
		}
		fprintf(stderr, "shoald: mediator %s refused the login: %s "
			"(%d)\n", m->address, *text ? text : "no reason",
			(int)rc);
		/* Retrying will not fix a refused login soon. */
		m->failures++;
		m->next_connect = shoald_now() + RECONNECT_MAX;
		return;
	}
	m->last_error[0] = '\0';
	m->instance[0] = '\0';
	if (shoal_tlv_find(msg, MED_A_INSTANCE_NAME, &a) &&
	    (!shoal_tlv_get_str(&a, m->instance, sizeof(m->instance)) ||
	     !shoal_med_instance_name_ok(m->instance)))
		m->instance[0] = '\0';
	if (*m->instance && !m->redirected)
		snprintf(m->inst[m->cur].name, sizeof(m->inst[m->cur].name),
			 "%s", m->instance);
	mc_learn(m, msg);
	memcpy(v4, m->v4, sizeof(v4));
	memcpy(v6, m->v6, sizeof(v6));
	m->has_v4 = m->has_v6 = m->has_token = false;
	memset(&m->probe, 0, sizeof(m->probe));
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &a)) {
		switch (a.type) {
		case MED_A_NICKNAME:
			shoal_tlv_get_str(&a, m->my_nick, sizeof(m->my_nick));
			break;
		case MED_A_IPV4:
			if (a.len == 5 && a.value[4] <= 32 &&
			    in_ranges(m, AF_INET, a.value, NULL)) {
				memcpy(m->v4, a.value, 4);
				m->v4_len = a.value[4];
				m->has_v4 = true;
			}
			break;
		case MED_A_IPV6:
			if (a.len == 17 && a.value[16] <= 128 &&
			    in_ranges(m, AF_INET6, a.value, NULL)) {
				memcpy(m->v6, a.value, 16);
				m->v6_len = a.value[16];
				m->has_v6 = true;
			}
			break;
		case MED_A_MAC:
			if (a.len == 6) {
				memcpy(mac, a.value, 6);
				has_mac = true;
			}
			break;
		case MED_A_UDP_TOKEN:
			if (a.len == SHOAL_CTL_TOKEN_LEN &&
			    !shoal_ctl_token_key(m->token_key,
						 d->private_key,
						 m->server_key, a.value)) {
				memcpy(m->token, a.value, a.len);
				m->has_token = true;
			}
			break;
		case MED_A_PROBE:
			if (mc_ep_from_attr(&m->probe, a.value, a.len) < 0 ||
			    !mediator_ep_ok(m, &m->probe))
				memset(&m->probe, 0, sizeof(m->probe));
			break;
		}
	}
	/* The address peers send our frames to: the device must agree. */
	if (has_mac && memcmp(mac, d->dp->mac, 6) &&
	    shoal_link_set_mac(d->dp->ifindex, mac) == 0)
		move_link_local(d, mac);
	/*
	 * An address of an earlier login that this one does not give again
	 * is not ours any more: left on the device it would stay there for
	 * good (a logout takes off only the last login's), one more each
	 * time the mediator assigns another.
	 */
	if (had_v4 && (!m->has_v4 || m->v4_len != v4_len ||
		       memcmp(m->v4, v4, sizeof(v4))))
		shoal_link_del_addr(d->dp->ifindex, AF_INET, v4, v4_len);
	if (had_v6 && (!m->has_v6 || m->v6_len != v6_len ||
		       memcmp(m->v6, v6, sizeof(v6))))
		shoal_link_del_addr(d->dp->ifindex, AF_INET6, v6, v6_len);
	apply_addresses(m);
	m->logged_in = true;
	m->nc_auto = false;
	m->failures = 0;
	m->login_time = shoald_now();
	m->swept = false;
	m->next_binding = m->login_time;
	m->next_keepalive = m->login_time + MED_KEEPALIVE_INTERVAL;
	for (i = 0; i < d->n_peers; i++)
		if (d->peers[i].from_mediator)
			d->peers[i].stale = true;
	fprintf(stderr, "shoald: logged in to %s%s%s as %s\n", m->address,
		*m->instance ? ", instance " : "", m->instance, m->my_nick);
	/* `shoal login` hears back once the tunnel port is verified too. */
	if (m->login_fd >= 0)
		m->login_deadline = m->login_time + UDP_VERIFY_TIME;
	mc_names_self(m);
	mc_names_refresh(m);
}

/* The answer to `shoal login`: the login and whether UDP got through. */
void mc_answer_login(struct mclient *m)
{
	char *body = NULL;
	size_t body_len = 0;
	FILE *f;

	f = open_memstream(&body, &body_len);
	if (f) {
		login_json(m, f);
		fclose(f);
	}
	mc_answer(m->login_fd, 0, NULL, body);
	free(body);
	m->login_fd = -1;
}

/*
 * The peer's addresses go straight into the neighbour table, with the MAC
 * the mediator gave: no ARP or NDP round trip over a tunnel that may not
 * be up yet, so a game's first packet goes out as soon as it is.
 */
static void set_neighbours(struct mclient *m, struct shoald_peer *p,
			   const uint8_t *v4, const uint8_t *v6)
{
	unsigned int ifindex = m->d->dp->ifindex;

	if (p->has_v4 && (!v4 || memcmp(v4, p->v4, 4)))
		shoal_link_set_neigh(ifindex, AF_INET, p->v4, p->mac, false);
	if (p->has_v6 && (!v6 || memcmp(v6, p->v6, 16)))
		shoal_link_set_neigh(ifindex, AF_INET6, p->v6, p->mac, false);
	p->has_v4 = v4 && shoal_link_set_neigh(ifindex, AF_INET, v4, p->mac,
					       true) == 0;
	if (p->has_v4)
		memcpy(p->v4, v4, 4);
	p->has_v6 = v6 && shoal_link_set_neigh(ifindex, AF_INET6, v6, p->mac,
					       true) == 0;
	if (p->has_v6)
		memcpy(p->v6, v6, 16);
}

/*
 * A mediator peer's frames may claim only the addresses the mediator
 * assigned it and the IPv6 link-local address its MAC makes (EUI-64, as
 * every shoald sets its device to: neighbour discovery and MLD come from
 * it).  A configured peer keeps its AllowedIPs.
 */
static void set_allowed_ips(struct mclient *m, struct shoald_peer *p,
			    const uint8_t *v4, const uint8_t *v6)
{
	struct shoal_prefix allowed[3] = {
		{ .family = AF_INET6, .len = 128 },
	};
	size_t n = 1;

	if (!p->from_mediator)
		return;
	shoal_mac_link_local(allowed[0].addr.v6.s6_addr, p->mac);
	if (v4) {
		allowed[n].family = AF_INET;
		memcpy(&allowed[n].addr.v4, v4, 4);
		allowed[n++].len = 32;
	}
	if (v6) {
		allowed[n].family = AF_INET6;
		memcpy(&allowed[n].addr.v6, v6, 16);
		allowed[n++].len = 128;
	}
	shoald_peer_set_allowed_ips(m->d, p, allowed, n);
}

/* A mediator peer leaves: its tunnel and its neighbour entries. */
void mc_forget_peer(struct mclient *m, struct shoald_peer *p)
{
	set_neighbours(m, p, NULL, NULL);
	shoald_peer_remove(m->d, p);
}

/* Whether an interface of this host has an IPv4 link-local address. */
static bool on_link_local(struct mclient *m)
{
	static const uint8_t ll[4] = { 169, 254, 0, 0 };
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			strcmp(i->ifa_name, m->d->dp->ifname) &&
			shoal_addr_in(4, (const uint8_t *)&((const struct
				sockaddr_in *)(const void *)i->ifa_addr)->sin_addr,
				      ll, 16);
	freeifaddrs(ifa);
	return found;
}

/*
 * A candidate of a peer's to send handshakes to, again and again while
 * punching: the mediator should have dropped the others, but its word
 * is not taken for it.  Not loopback, multicast, broadcast, unspecified
 * or IPv6 link-local; IPv4 link-local only when this host is on such a
 * link; and nothing inside our own overlay network, which would send
 * handshakes through the tunnels themselves.  *ll_known caches
 * on_link_local over one PEER_UP.
 */
static bool candidate_ok(struct mclient *m, const struct shoal_endpoint *ep,
			 int *ll_known)
{
	uint8_t addr[16];
	int family;

	if (!shoal_candidate_usable(ep, true, &family, addr))
		return false;
	if (family == 4 && shoal_addr_kind(4, addr) == SHOAL_ADDR_LINK_LOCAL) {
		if (*ll_known < 0)
			*ll_known = on_link_local(m);
		if (!*ll_known)
			return false;
	}
	if (family == 4 && m->has_v4 && shoal_addr_in(4, addr, m->v4,
						      m->v4_len))
		return false;
	return !(family == 6 && m->has_v6 &&
		 shoal_addr_in(6, addr, m->v6, m->v6_len));
}

static size_t mediator_peers(const struct shoald *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n_peers; i++)
		n += d->peers[i].from_mediator;
	return n;
}

/* ep is at host's address, whatever the port. */
bool mc_same_host(const struct shoal_endpoint *host,
		  const struct shoal_endpoint *ep)
{
	struct shoal_endpoint s = *host;

	if (s.sa.sa_family == AF_INET && ep->sa.sa_family == AF_INET)
		s.in.sin_port = ep->in.sin_port;
	else if (s.sa.sa_family == AF_INET6 && ep->sa.sa_family == AF_INET6)
		s.in6.sin6_port = ep->in6.sin6_port;
	return s.len && shoal_endpoint_equal(&s, ep);
}

/* The mediator's own address, whatever the port. */
bool mc_at_server(const struct mclient *m, const struct shoal_endpoint *ep)
{
	return mc_same_host(&m->server, ep);
}

/*
 * Where a relay or a probe address may be: the mediator's host (a
 * mediator on loopback, in a lab), or any address a candidate may be;
 * never loopback, multicast or our own overlay elsewhere, which a hostile
 * mediator would have us send to every second.
 */
static bool mediator_ep_ok(struct mclient *m, const struct shoal_endpoint *ep)
{
	int ll_known = -1;

	return mc_at_server(m, ep) || candidate_ok(m, ep, &ll_known);
}

static bool peer_up_may_punch(struct mclient *m, struct shoald_peer *p,
			      double now)
{
	if (now - p->up_since < 1.0 && p->up_since > 0)
		return false;
	return shoald_bucket_take(&m->punches, now);
}

static void on_peer_up(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoal_endpoint cand[SHOALD_MAX_CANDIDATES];
	char nick[SHOAL_CONFIG_MAX_NICK + 1] = "", v4[64] = "", v6[64] = "";
	struct shoal_tlv_attr peer, a;
	struct shoal_tlv_iter it;
	const uint8_t *key = NULL, *v4b = NULL, *v6b = NULL;
	struct shoal_endpoint public_ep = { 0 };
	struct shoal_nat nat = { 0 };
	struct shoald_peer *p;
	unsigned int n = 0, n_ep = 0;
	uint8_t mac[6];
	bool has_mac = false, configured, punch;
	double now = shoald_now();
	int ll_known = -1;

	if (!shoal_tlv_find(msg, MED_A_PEER, &peer))
		return;
	shoal_tlv_iter_nested(&it, &peer);
	while (shoal_tlv_next(&it, &a)) {
		switch (a.type) {
		case MED_A_PUBLIC_KEY:
			if (a.len == 32)
				key = a.value;
			break;
		case MED_A_NICKNAME:
			/*
			 * Shown by shoal status and chat, put into
			 * control-socket replies: a nickname by the
			 * rules or none, whatever the mediator says.
			 */
			if (!shoal_tlv_get_str(&a, nick, sizeof(nick)) ||
			    !shoal_config_valid_nickname(nick))
				nick[0] = '\0';
			break;
		case MED_A_IPV4:
			if (a.len == 5 && a.value[4] <= 32) {
				inet_ntop(AF_INET, a.value, v4, sizeof(v4));
				v4b = a.value;
			}
			break;
		case MED_A_IPV6:
			if (a.len == 17 && a.value[16] <= 128) {
				inet_ntop(AF_INET6, a.value, v6, sizeof(v6));
				v6b = a.value;
			}
			break;
		case MED_A_MAC:
			if (a.len == 6) {
				memcpy(mac, a.value, 6);
				has_mac = true;
			}
			break;
		case MED_A_ENDPOINT:
			if (n < SHOALD_MAX_CANDIDATES &&
			    mc_ep_from_attr(&cand[n], a.value, a.len) == 0 &&
			    candidate_ok(m, &cand[n], &ll_known)) {
				/* The first is its public one. */
				if (!n_ep)
					public_ep = cand[n];
				n++;
			}
			n_ep++;
			break;
		case MED_A_NAT:
			shoal_med_nat_get(a.value, a.len, &nat);
			break;
		}
	}
	if (!key)
		return;
	/* Into the neighbour table only what AddressRanges allows. */
	if (v4b && !in_ranges(m, AF_INET, v4b, nick)) {
		v4b = NULL;
		v4[0] = '\0';
	}
	if (v6b && !in_ranges(m, AF_INET6, v6b, nick)) {
		v6b = NULL;
		v6[0] = '\0';
	}
	if (!has_mac)
		shoal_mac_from_key(mac, key, 0);
	p = shoald_peer_find(m->d, key);
	configured = p && !p->from_mediator;
	/*
	 * A configured peer keeps its MAC: the mediator must not free it
	 * for a peer of its own, whose key would then get that peer's
	 * frames (the neighbour entries point at the MAC).
	 */
	if (configured)
		memcpy(mac, p->mac, sizeof(mac));
	else if (!p && mediator_peers(m->d) >= MAX_MEDIATOR_PEERS)
		return;
	p = shoald_peer_add(m->d, key, mac);
	if (!p)
		return;
	/*
	 * A peer of the configuration's stays the configuration's: the
	 * mediator may say more about it, but a PEER_DOWN, the sweep or a
	 * logout must not take it away.
	 */
	p->from_mediator = !configured;
	p->stale = false;
	snprintf(p->nickname, sizeof(p->nickname), "%s", nick);
	snprintf(p->address, sizeof(p->address), "%s", v4);
	snprintf(p->address6, sizeof(p->address6), "%s", v6);
	/* New candidates (a port mapping): on a relay, try them now. */
	if (p->next_direct_try && (p->n_candidates != n ||
	    memcmp(p->candidates, cand, n * sizeof(cand[0]))))
		p->next_direct_try = now;
	memcpy(p->candidates, cand, n * sizeof(cand[0]));
	p->n_candidates = n;
	p->public_ep = public_ep;
	p->nat = nat;
	set_neighbours(m, p, v4b, v6b);
	set_allowed_ips(m, p, v4b, v6b);
	punch = !p->online && peer_up_may_punch(m, p, now);
	p->up_since = now;
	if (punch)
		p->knock_until = now + PUNCH_TIME;
	p->relay_asked = 0;
	/* After an outage the relay may have gone with the mediator. */
	if (p->has_relay) {
		p->next_relay_bind = 0;
		p->relay_check = now + 3.0;
	}
	if (punch) {
		/* The start signal: the peer is punching towards us now too. */
		p->failures = 0;
		p->next_attempt = now;
		shoald_initiate(m->d, p, now, SHOALD_TO_ALL);
	} else if (!p->online && !p->hs_active && p->next_attempt > now + 1.0) {
		p->next_attempt = now + 1.0;
	}
	if (m->d->verbose)
		fprintf(stderr, "shoald: peer %s is up, %u candidates\n",
			nick, n);
	/* With punching, not instead: what the NATs say is only likely. */
	if (punch)
		mc_nat_plan(m, p, now);
	/* A new member, or a new nickname: the names follow. */
	mc_names_peer(m, key, nick, v4b, v6b);
}

/* A peer's netcheck finished after it was announced. */
static void on_peer_nat(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoal_tlv_attr a;
	struct shoald_peer *p;
	struct shoal_nat nat;

	if (!shoal_tlv_find(msg, MED_A_PUBLIC_KEY, &a) || a.len != 32)
		return;
	p = shoald_peer_find(m->d, a.value);
	if (!p || !p->from_mediator || !shoal_tlv_find(msg, MED_A_NAT, &a) ||
	    shoal_med_nat_get(a.value, a.len, &nat) < 0)
		return;
	p->nat = nat;
	mc_nat_plan(m, p, shoald_now());
}

static void on_peer_down(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoal_tlv_attr a;
	struct shoald_peer *p;
	uint8_t reason = MED_DOWN_NONE;

	if (!shoal_tlv_find(msg, MED_A_PUBLIC_KEY, &a) || a.len != 32)
		return;
	p = shoald_peer_find(m->d, a.value);
	if (!p || !p->from_mediator)
		return;
	if (shoal_tlv_find(msg, MED_A_REASON, &a))
		shoal_tlv_get_u8(&a, &reason);
	/* Lost its connection: the tunnel may well be fine; liveness says. */
	if (reason == MED_DOWN_LOST)
		return;
	if (m->d->verbose)
		fprintf(stderr, "shoald: peer %s is down (%u)\n", p->nickname,
			reason);
	mc_forget_peer(m, p);
	/* Out of a network: NICK.NETWORK.shoal may be gone. */
	if (reason == MED_DOWN_UNSHARED)
		mc_names_refresh(m);
}

static void on_relay(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	struct shoal_tlv_attr a;
	struct shoal_endpoint ep;
	struct shoald_peer *p;
	uint32_t id;

	if (!shoal_tlv_find(msg, MED_A_PUBLIC_KEY, &a) || a.len != 32)
		return;
	p = shoald_peer_find(m->d, a.value);
	if (!p || !p->from_mediator)
		return;
	if (!shoal_tlv_find(msg, MED_A_ENDPOINT, &a) ||
	    mc_ep_from_attr(&ep, a.value, a.len) < 0 ||
	    !mediator_ep_ok(m, &ep) ||
	    !shoal_tlv_find(msg, MED_A_RELAY_ID, &a) ||
	    !shoal_tlv_get_u32(&a, &id) ||
	    !shoal_tlv_find(msg, MED_A_RELAY_KEY, &a) ||
	    a.len != SHOAL_CTL_RELAY_KEY_LEN)
		return;
	p->relay_switch = !p->online ||
			  (p->has_relay && shoal_endpoint_equal(&p->endpoint, &p->relay));
	p->has_relay = true;
	p->relay_bound = false;
	p->relay_check = 0;
	p->relay = ep;
	/* UDP blocked here: p->relay becomes our end of a TCP stream. */
	if (mc_udp_blocked(m, shoald_now()))
		mc_tcp_relay(m, p, &ep);
	p->relay_id = id;
	memcpy(p->relay_key, a.value, SHOAL_CTL_RELAY_KEY_LEN);
	p->next_relay_bind = 0;
	if (m->d->verbose)
		fprintf(stderr, "shoald: relay offered for %s\n", p->nickname);
}

static struct pending *pending_find(struct mclient *m, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < MAX_PENDING; i++)
		if (m->pending[i].used && m->pending[i].id == id)
			return &m->pending[i];
	return NULL;
}

static const char *member_state(uint8_t state)
{
	return state == 1 ? "pending" : "member";
}

static void networks_json(struct mclient *m, const struct shoal_tlv_msg *msg,
			  FILE *f)
{
	struct shoal_tlv_attr net, a, mem, b;
	struct shoal_tlv_iter it, in;
	char text[128], key[SHOAL_KEY_B64_LEN + 1];
	bool first_net = true, first_mem, approval;
	uint8_t u8;

	fprintf(f, "{\"logged_in\": true, \"mediator\": ");
	shoal_json_string(f, m->address);
	fprintf(f, ", \"nickname\": ");
	shoal_json_string(f, m->my_nick);
	fprintf(f, ", \"networks\": [");
	shoal_tlv_iter_msg(&it, msg);
	while (shoal_tlv_next(&it, &net)) {
		if (net.type != MED_A_NETWORK_INFO)
			continue;
		if (!shoal_tlv_find_nested(&net, MED_A_NETWORK, &a) ||
		    !shoal_tlv_get_str(&a, text, sizeof(text)))
			continue;
		approval = shoal_tlv_find_nested(&net, MED_A_APPROVAL, &a);
		fprintf(f, "%s{\"name\": ", first_net ? "" : ", ");
		first_net = false;
		shoal_json_string(f, text);
		fprintf(f, ", \"approval\": %s, \"members\": [",
			approval ? "true" : "false");
		first_mem = true;
		shoal_tlv_iter_nested(&in, &net);
		while (shoal_tlv_next(&in, &mem)) {
			if (mem.type != MED_A_MEMBER)
				continue;
			fprintf(f, "%s{\"nickname\": ", first_mem ? "" : ", ");
			first_mem = false;
			text[0] = '\0';
			if (shoal_tlv_find_nested(&mem, MED_A_NICKNAME, &b))
				shoal_tlv_get_str(&b, text, sizeof(text));
			shoal_json_string(f, text);
			fprintf(f, ", \"public_key\": ");
			if (shoal_tlv_find_nested(&mem, MED_A_PUBLIC_KEY, &b) &&
			    b.len == 32) {
				shoal_key_to_base64(key, b.value);
				shoal_json_string(f, key);
			} else {
				fputs("null", f);
			}
			fprintf(f, ", \"ipv4\": ");
			if (shoal_tlv_find_nested(&mem, MED_A_IPV4, &b) &&
			    b.len == 5) {
				inet_ntop(AF_INET, b.value, text, sizeof(text));
				shoal_json_string(f, text);
			} else {
				fputs("null", f);
			}
			fprintf(f, ", \"ipv6\": ");
			if (shoal_tlv_find_nested(&mem, MED_A_IPV6, &b) &&
			    b.len == 17) {
				inet_ntop(AF_INET6, b.value, text,
					  sizeof(text));
				shoal_json_string(f, text);
			} else {
				fputs("null", f);
			}
			u8 = 0;
			if (shoal_tlv_find_nested(&mem, MED_A_ONLINE, &b))
				shoal_tlv_get_u8(&b, &u8);
			fprintf(f, ", \"online\": %s", u8 ? "true" : "false");
			u8 = 2;
			if (shoal_tlv_find_nested(&mem, MED_A_STATE, &b))
				shoal_tlv_get_u8(&b, &u8);
			fprintf(f, ", \"state\": \"%s\", \"owner\": %s}",
				member_state(u8),
				shoal_tlv_find_nested(&mem, MED_A_OWNER, &b) ?
				"true" : "false");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "], \"truncated\": %s}\n",
		shoal_tlv_find(msg, MED_A_TRUNCATED, &a) ? "true" : "false");
}

/*
 * The NETWORKS reply of a PK_RESOLVE: the command goes out with the key
 * of the one member by that nickname, in the same slot.
 */
static void resolve_done(struct mclient *m, struct pending *p,
			 const struct shoal_tlv_msg *msg)
{
	struct shoal_tlv_writer w;
	uint8_t buf[256], key[32];
	unsigned int n;

	n = shoal_med_member_key(msg, p->network, p->nick, key);
	if (n != 1) {
		mc_answer(p->fd, n ? E_AMBIGUOUS : E_NO_MEMBER,
			  n ? "more than one member has that nickname: name "
			   "the member by its public key" :
			   "nobody by that nickname is in this network", NULL);
		p->used = false;
		return;
	}
	shoal_tlv_writer_init(&w, buf, sizeof(buf), p->verb, 0, ++m->next_id);
	shoal_tlv_put_str(&w, MED_A_NETWORK, p->network);
	shoal_tlv_put(&w, MED_A_PUBLIC_KEY, key, sizeof(key));
	if (!mc_send_msg(m, &w)) {
		/* Gone: mc_disconnect() answered the rest; this is ours. */
		if (p->used)
			mc_answer(p->fd, E_UNREACHABLE,
				  "the mediator cannot be reached now", NULL);
		p->used = false;
		return;
	}
	p->kind = PK_PLAIN;
	p->id = m->next_id;
	p->deadline = shoald_now() + REQUEST_TIMEOUT;
}

/* `shoal logout`: no mediator, no peers of its, no addresses of its. */
static void logged_out(struct mclient *m)
{
	struct shoald *d = m->d;
	size_t i = 0;

	fprintf(stderr, "shoald: logged out of %s\n", m->address);
	m->configured = false;
	unlink(m->state_path);
	mc_close(m, NULL);
	m->n_inst = m->n_configured;
	mc_save_learned(m);
	m->failures = 0;
	while (i < d->n_peers) {
		if (d->peers[i].from_mediator) {
			mc_forget_peer(m, &d->peers[i]);
			continue;
		}
		i++;
	}
	if (m->has_v4)
		shoal_link_del_addr(d->dp->ifindex, AF_INET, m->v4, m->v4_len);
	if (m->has_v6)
		shoal_link_del_addr(d->dp->ifindex, AF_INET6, m->v6,
				    m->v6_len);
	m->has_v4 = m->has_v6 = false;
	m->my_nick[0] = '\0';
	mc_names_self(m);
	mc_names_free(m);
	free(m->nc_result);
	m->nc_result = NULL;
}

static void on_reply(struct mclient *m, const struct shoal_tlv_msg *msg)
{
	char text[256], *body = NULL;
	size_t body_len = 0;
	struct pending *p;
	int32_t rc;
	FILE *f;

	if (msg->type == MED_LOGIN && msg->request_id == m->login_id) {
		on_login_reply(m, msg);
		return;
	}
	p = pending_find(m, msg->request_id);
	if (!p)
		return;
	rc = result_of(msg, text, sizeof(text));
	if (p->kind == PK_RESOLVE && rc >= 0) {
		resolve_done(m, p, msg);
		return;
	}
	p->used = false;
	/*
	 * Who is in which network, for chat: from any NETWORKS reply, the
	 * name server's included.
	 */
	if (rc >= 0 && (p->kind == PK_NETWORKS || p->kind == PK_CHATNET ||
			p->kind == PK_NAMES))
		shoald_chat_networks(m->d, msg);
	if (p->kind == PK_CHATNET)
		return;
	if (p->kind == PK_NAMES) {
		mc_names_reply(m, msg, rc);
		return;
	}
	if (p->kind == PK_INTERNAL) {
		if (rc < 0 && m->d->verbose)
			fprintf(stderr, "shoald: mediator: %s (%d)\n", text,
				(int)rc);
		return;
	}
	if (rc >= 0 && p->kind == PK_NETWORKS) {
		f = open_memstream(&body, &body_len);
		if (f) {
			networks_json(m, msg, f);
			fclose(f);
		}
	}
	mc_answer(p->fd, rc, text, body);
	free(body);
	/* A join, a leave, a kick ...: who is in which network changed. */
	if (rc >= 0 && p->kind == PK_PLAIN) {
		mc_names_refresh(m);
		shoald_chat_peers_changed(m->d);
	}
	if (rc >= 0 && p->kind == PK_NICK) {
		/* Kept, or the next login would ask for the old one back. */
		snprintf(m->nickname, sizeof(m->nickname), "%s", p->nick);
		snprintf(m->my_nick, sizeof(m->my_nick), "%s", p->nick);
		if (mc_save_state(m) < 0)
			fprintf(stderr, "shoald: cannot save the nickname in "
				"%s\n", m->state_path);
		mc_names_self(m);
		mc_names_refresh(m);
	}
	if (rc >= 0 && p->kind == PK_LOGOUT)
		logged_out(m);
}

void mc_on_message(struct mclient *m, const uint8_t *buf, size_t len)
{
	struct shoal_tlv_msg msg;

	if (shoal_tlv_parse(&msg, buf, len) < 0)
		return;
	if (msg.flags & SHOAL_TLV_F_REPLY) {
		on_reply(m, &msg);
		return;
	}
	if (!m->logged_in)
		return;
	switch (msg.type) {
	case MED_PEER_UP:
		on_peer_up(m, &msg);
		break;
	case MED_PEER_DOWN:
		on_peer_down(m, &msg);
		break;
	case MED_RELAY_EVENT:
		on_relay(m, &msg);
		break;
	case MED_PEER_NAT:
		on_peer_nat(m, &msg);
		break;
	case MED_INSTANCES:
		mc_learn(m, &msg);
		break;
	}
	if (msg.type == MED_PEER_UP || msg.type == MED_PEER_DOWN)
		shoald_chat_peers_changed(m->d);
}
