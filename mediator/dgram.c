// SPDX-License-Identifier: MIT
/*
 * The datagram helpers of the mediator's UDP ports (udp.c) and of the
 * relay ports (relay_core.c), which shoal-relay runs too: addresses as
 * ENDPOINTs, and receiving and sending with the local address a datagram
 * reached, so that the answer leaves from it (IP_PKTINFO, IPV6_PKTINFO).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dgram.h"
#include "medmsg.h"

int udp_endpoint_from(struct med_endpoint *e, const struct sockaddr *sa)
{
	memset(e, 0, sizeof(*e));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		e->family = 4;
		memcpy(e->addr, &s4->sin_addr, 4);
		e->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			e->family = 4;
			memcpy(e->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			e->family = 6;
			memcpy(e->addr, &s6->sin6_addr, 16);
		}
		e->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

size_t udp_endpoint_put(uint8_t *out, const struct med_endpoint *e)
{
	return shoal_med_endpoint_put(out, e->family, e->addr, e->port);
}

int udp_prepare(int fd, int family, bool dual)
{
	int one = 1, zero = 0;

	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
				  sizeof(one));
	/* [::] serves IPv4 too, whatever net.ipv6.bindv6only says. */
	if (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			       sizeof(zero)) < 0)
		return -1;
	/* On a dual-stack socket this reports IPv4 too, v4-mapped. */
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			  sizeof(one));
}

ssize_t udp_recv(int fd, uint8_t *buf, size_t size,
		 struct sockaddr_storage *from, socklen_t *from_len,
		 struct med_local *local)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = {
		.msg_name = from,
		.msg_namelen = sizeof(*from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(local, 0, sizeof(*local));
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	*from_len = mh.msg_namelen;
	/* Cut short: bigger than anything we take, so not ours. */
	if (mh.msg_flags & MSG_TRUNC) {
		errno = EMSGSIZE;
		return -2;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->valid = true;
			local->family = AF_INET;
			local->v4 = pi.ipi_spec_dst;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO &&
			   cm->cmsg_len >=
			   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->valid = true;
			local->family = AF_INET6;
			local->v6 = pi.ipi6_addr;
		}
	}
	return n;
}

/*
 * to in the form a socket of family can send to: an AF_INET socket takes
 * IPv4 (and v4-mapped, unmapped); an AF_INET6 one IPv6, and IPv4 mapped
 * if it is dual-stack.  0, or -1 if it cannot reach to at all.
 */
int udp_dest_for(int family, bool dual,
		 const struct sockaddr_storage *to, socklen_t to_len,
		 struct sockaddr_storage *out, socklen_t *out_len)
{
	const struct sockaddr_in6 *s6 = (const void *)to;
	const struct sockaddr_in *s4 = (const void *)to;

	memset(out, 0, sizeof(*out));
	if (to->ss_family == AF_INET && to_len >= sizeof(*s4)) {
		if (family == AF_INET) {
			memcpy(out, s4, sizeof(*s4));
			*out_len = sizeof(*s4);
			return 0;
		}
		if (dual) {
			struct sockaddr_in6 *o6 = (void *)out;

			o6->sin6_family = AF_INET6;
			o6->sin6_port = s4->sin_port;
			o6->sin6_addr.s6_addr[10] = 0xff;
			o6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(o6->sin6_addr.s6_addr + 12, &s4->sin_addr, 4);
			*out_len = sizeof(*o6);
			return 0;
		}
		return -1;
	}
	if (to->ss_family != AF_INET6 || to_len < sizeof(*s6))
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		if (family == AF_INET) {
			struct sockaddr_in *o4 = (void *)out;

			o4->sin_family = AF_INET;
			o4->sin_port = s6->sin6_port;
			memcpy(&o4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
			*out_len = sizeof(*o4);
			return 0;
		}
		if (!dual)
			return -1;
	} else if (family != AF_INET6) {
		return -1;
	}
	memcpy(out, s6, sizeof(*s6));
	*out_len = sizeof(*s6);
	return 0;
}

int udp_send(int fd, int family, const uint8_t *buf, size_t len,
	     const struct sockaddr_storage *to, socklen_t to_len,
	     const struct med_local *local)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)to,
		.msg_namelen = to_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	/*
	 * The source address only; interface 0 lets the routing table pick
	 * the way out, which need not be the way in.
	 */
	if (local && local->valid && family == AF_INET &&
	    local->family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = local->v4 };

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else if (local && local->valid && family == AF_INET6 &&
		   local->family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = local->v6 };

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	do
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}
