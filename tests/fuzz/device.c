// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the parsers of what shoal.ko sends userspace
 * (lib/device.c): the event parser and the GET_DEVICE reply parser.  The
 * first input byte is the generic netlink command, the rest the
 * attributes, in a message of exactly that size (so that ASan sees any
 * read past it).  Besides ASan and UBSan's checks: what the event parser
 * hands out lies inside the message and keeps to the API's limits; an
 * event it accepts, written again as the kernel writes one, parses to
 * the same event; and the reply parser keeps to its arrays' bounds.
 */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <net/if.h>

#include "fuzz.h"
#include "device.h"

#define HDR_LEN (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
/* As large as a netlink message from the kernel is, as a rule. */
#define MAX_INPUT 8192

static const uint8_t *msg_lo, *msg_hi;

static bool inside(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= msg_lo && b <= msg_hi && len <= (size_t)(msg_hi - b);
}

static bool endpoint_ok(const struct shoal_endpoint *ep)
{
	return ep->len == 0 ||
	       (ep->len == sizeof(ep->in) && ep->sa.sa_family == AF_INET) ||
	       (ep->len == sizeof(ep->in6) && ep->sa.sa_family == AF_INET6);
}

static void check_event(const struct shoal_event *e, int ret)
{
	check(ret == 0 || ret == -EBADMSG || ret == -EOPNOTSUPP);
	check(!e->ifname || (inside(e->ifname, strlen(e->ifname) + 1) &&
			     strlen(e->ifname) < IF_NAMESIZE));
	check(!e->payload || inside(e->payload, e->payload_len));
	check(!e->public_key || inside(e->public_key, SHOAL_KEY_LEN));
	check(endpoint_ok(&e->source) && endpoint_ok(&e->endpoint));
	if (e->local) {
		check(inside(e->local, e->local_len) && e->source.len);
		check(e->local_len ==
		      (e->source.sa.sa_family == AF_INET ? 4u : 16u));
	}
	if (ret == 0) {
		check(e->ifindex && e->ifname);
		check(e->cmd != SHOAL_CMD_EVENT_CONTROL ||
		      (e->payload_len >= 1 &&
		       e->payload_len <= SHOAL_MAX_CONTROL));
	}
}

static void put_peer(struct nlmsghdr *nlh, const struct shoal_event *e)
{
	struct nlattr *peers, *peer, *list, *sa;

	peers = mnl_attr_nest_start(nlh, SHOAL_A_DEVICE_PEERS);
	peer = mnl_attr_nest_start(nlh, SHOAL_A_PEER);
	mnl_attr_put(nlh, SHOAL_A_PEER_PUBLIC_KEY, SHOAL_KEY_LEN,
		     e->public_key);
	if (e->endpoint.len)
		mnl_attr_put(nlh, SHOAL_A_PEER_ENDPOINT, e->endpoint.len,
			     &e->endpoint.sa);
	if (e->has_spi) {
		list = mnl_attr_nest_start(nlh, e->outbound ?
					   SHOAL_A_PEER_SA_OUT :
					   SHOAL_A_PEER_SA_IN);
		sa = e->outbound ? list : mnl_attr_nest_start(nlh, SHOAL_A_SA);
		mnl_attr_put_u32(nlh, SHOAL_A_SA_SPI, e->spi);
		if (!e->outbound)
			mnl_attr_nest_end(nlh, sa);
		mnl_attr_nest_end(nlh, list);
	}
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

/* The event as the kernel would send it (kmod/netlink.c, events). */
static struct nlmsghdr *rewrite(void *buf, const struct shoal_event *e)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = e->cmd;
	mnl_attr_put_u32(nlh, SHOAL_A_DEVICE_IFINDEX, e->ifindex);
	mnl_attr_put_strz(nlh, SHOAL_A_DEVICE_IFNAME, e->ifname);
	if (e->cmd == SHOAL_CMD_EVENT_UNKNOWN_SPI)
		mnl_attr_put_u32(nlh, SHOAL_A_UNKNOWN_SPI, e->spi);
	if (e->source.len)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_ENDPOINT, e->source.len,
			     &e->source.sa);
	if (e->local)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_LOCAL, e->local_len, e->local);
	if (e->payload)
		mnl_attr_put(nlh, SHOAL_A_CONTROL_PAYLOAD, e->payload_len,
			     e->payload);
	if (e->public_key)
		put_peer(nlh, e);
	return nlh;
}

static bool same_endpoint(const struct shoal_endpoint *a,
			  const struct shoal_endpoint *b)
{
	return a->len == b->len && !memcmp(&a->sa, &b->sa, a->len);
}

static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t len)
{
	return !a == !b && (!a || !memcmp(a, b, len));
}

static void check_round_trip(const struct shoal_event *e)
{
	static uint8_t buf[2 * MAX_INPUT];
	struct shoal_event again;
	bool sa_event = e->cmd == SHOAL_CMD_EVENT_SOFT_EXPIRE;
	/* Only these two say what the SPI is of (rewrite() writes it so). */
	bool spi_event = sa_event || e->cmd == SHOAL_CMD_EVENT_UNKNOWN_SPI;

	memset(buf, 0, sizeof(buf));
	check(shoal_event_parse(&again, rewrite(buf, e)) == 0);
	check(again.cmd == e->cmd && again.ifindex == e->ifindex);
	check(!strcmp(again.ifname, e->ifname));
	check(same_endpoint(&again.source, &e->source));
	check(same_endpoint(&again.endpoint, &e->endpoint));
	check(again.payload_len == e->payload_len &&
	      same_bytes(again.payload, e->payload, e->payload_len));
	check(again.local_len == e->local_len &&
	      same_bytes(again.local, e->local, e->local_len));
	check(same_bytes(again.public_key, e->public_key, SHOAL_KEY_LEN));
	check(!spi_event || (again.has_spi == e->has_spi &&
			     again.spi == e->spi));
	check(!sa_event || again.outbound == e->outbound);
}

static void check_reply(const struct nlmsghdr *nlh)
{
	struct shoal_device_list l = { 0 };
	size_t i;

	if (shoal_device_list_add(&l, nlh, NULL) < 0)
		return;
	check(l.n <= 1);
	for (i = 0; i < (l.n ? l.devs[0].n_peers : 0); i++) {
		check(l.devs[0].peers[i].n_sa_in <= SHOAL_MAX_SA_IN);
		check(l.devs[0].peers[i].n_allowed_ips <=
		      SHOAL_MAX_ALLOWED_IPS);
		check(endpoint_ok(&l.devs[0].peers[i].endpoint));
	}
	shoal_device_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct genlmsghdr *genl;
	struct shoal_event e;
	struct nlmsghdr *nlh;
	size_t len;
	int ret;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	len = HDR_LEN + size - 1;
	/*
	 * libmnl reads a message up to its length rounded up to 4, as the
	 * kernel pads its messages: the padding is there, and zero.
	 */
	nlh = calloc(1, MNL_ALIGN(len));
	if (!nlh)
		return 0;
	nlh->nlmsg_len = (uint32_t)len;
	genl = (struct genlmsghdr *)((uint8_t *)nlh + MNL_NLMSG_HDRLEN);
	genl->cmd = data[0];
	memcpy((uint8_t *)nlh + HDR_LEN, data + 1, size - 1);
	msg_lo = (const uint8_t *)nlh;
	msg_hi = msg_lo + MNL_ALIGN(len);

	ret = shoal_event_parse(&e, nlh);
	check_event(&e, ret);
	if (ret == 0)
		check_round_trip(&e);
	check_reply(nlh);
	free(nlh);
	return 0;
}
