/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * shoal: the kernel <-> userspace API of the shoal virtual Ethernet device.
 *
 * Generic netlink family SHOAL_GENL_NAME, version SHOAL_GENL_VERSION.
 * This header is the single source of truth for the API; a change that
 * breaks compatibility bumps SHOAL_GENL_VERSION.  Every command needs
 * CAP_NET_ADMIN in the device's user namespace.  SHOAL_CMD_SEND_CONTROL
 * and SHOAL_A_DEVICE_LISTEN_PORT act on the device's sockets, which stay
 * in the namespace it was created in: they need CAP_NET_ADMIN over that
 * namespace's user namespace too (-EPERM otherwise).
 *
 * SHOAL_CMD_GET_DEVICE
 *   doit: SHOAL_A_DEVICE_IFINDEX or SHOAL_A_DEVICE_IFNAME (exactly one).
 *   dumpit: the same selector; the reply spans several messages when the
 *   peers do not fit in one, each repeating the device attributes and
 *   carrying a part of SHOAL_A_DEVICE_PEERS.  Dumps are consistent: a
 *   change during a dump sets NLM_F_DUMP_INTR.
 *   Reply: the device attributes, then SHOAL_A_DEVICE_PEERS, a nest of
 *   SHOAL_A_PEER nests (SHOAL_A_PEER_* below; keys are never sent).
 *
 * SHOAL_CMD_SET_DEVICE
 *   The selector, optionally SHOAL_A_DEVICE_LISTEN_PORT (0 = random) and
 *   SHOAL_A_DEVICE_PEERS with one nest per peer to add, change or remove:
 *   SHOAL_A_PEER_PUBLIC_KEY (required), SHOAL_A_PEER_FLAGS (REMOVE),
 *   SHOAL_A_PEER_MAC, SHOAL_A_PEER_ENDPOINT, SHOAL_A_PEER_LAYER3,
 *   SHOAL_A_PEER_BRIDGE (u8 0/1), SHOAL_A_PEER_SA_OUT (one SA nest, replaces
 *   the outbound SA), SHOAL_A_PEER_SA_IN (a nest of up to
 *   SHOAL_MAX_SA_IN SA nests: the inbound SAs, replacing the old set),
 *   SHOAL_A_PEER_ALLOWED_IPS (a nest of up to SHOAL_MAX_ALLOWED_IPS
 *   SHOAL_A_ALLOWED_IP nests, each an address and a prefix length with no
 *   host bits set, replacing the old set; an empty nest lifts the
 *   restriction).  A peer with allowed IPs has its frames dropped and
 *   counted in SHOAL_A_DSTAT_SPOOFED_SRC when they claim an address
 *   outside them: an IPv4 or IPv6 source, an ARP sender, an IPv6
 *   neighbour advertisement's or DAD probe's target (the unspecified
 *   address, which claims nothing, passes), any IPv6 router advertisement
 *   or redirect (such a peer routes for nobody), and any VLAN-tagged
 *   frame, which would carry its addresses past the check; and when an
 *   ARP sender MAC or a neighbour or router solicitation's or neighbour
 *   advertisement's link-layer address option is not the frame's source
 *   MAC (it would send another's traffic elsewhere), and neighbour
 *   discovery in fragments (RFC 6980).  A link-local address is inside
 *   only a prefix within fe80::/10 (::/0 does not allow it).  Other
 *   EtherTypes pass.  Get
 *   replies carry the nest only when the set is not empty.
 *   SHOAL_A_PEER_SOCKET_FD: the peer's ESP leaves from this UDP socket of
 *   the caller's (a file descriptor in its table) instead of from the
 *   device's: after birthday probing, the socket whose NAT mapping the
 *   other side lets in.  The socket stays the caller's: ESP (a non-zero
 *   SPI of SHOAL_SPI_MIN or more, at least a header, IV and ICV long) and
 *   0xFF keepalives arriving on it take the device's receive path, and
 *   everything else (control packets behind the zero marker, anything
 *   unknown) is queued to it as usual, for the caller to read.  An IPv4
 *   socket carries the peer's IPv4 endpoints, an IPv6 one its IPv6
 *   endpoints, and IPv4 ones too when dual-stack and bound to no address
 *   or to a v4-mapped one; to an endpoint it cannot carry, the device's
 *   socket sends.  It must be bound, and in the namespace the device was
 *   created in (CAP_NET_ADMIN over it, as for the listen port).  Refused:
 *   -EBADF (no such fd), -ENOTSOCK, -EPROTONOSUPPORT (not UDP),
 *   -EINVAL (not bound, or of another namespace), -EBUSY (another peer's,
 *   another device's, or another encapsulation's).  The same socket again
 *   changes nothing; another replaces it; SHOAL_PEER_SOCKET_NONE puts the
 *   peer back on the device's socket.  Releasing it (so, too, removing
 *   the peer, deleting the device, its namespace going, rmmod) makes it
 *   a plain UDP socket again.  The module holds the socket, not the file:
 *   once the caller closes its last fd of it, the peer is back on the
 *   device's socket.  Get replies carry SHOAL_A_PEER_LOCAL_PORT while
 *   the peer sends from a socket of its own.
 *   An inbound SA nest with SHOAL_A_SA_SPI and no SHOAL_A_SA_KEY keeps the
 *   peer's existing inbound SA of that SPI (-ENOENT if it has none): how
 *   a restarted daemon, which cannot read keys back, keeps what the
 *   kernel holds.
 *   SHOAL_A_DEVICE_COOKIE_SECRET, SHOAL_A_DEVICE_MAC1_KEY and
 *   SHOAL_A_DEVICE_COOKIE_KEY: the daemon's current cookie secret and its
 *   MAC1 and cookie-sealing keys (docs/protocol.md, "INIT" and "Cookies";
 *   write only, all three together).  Once the control packets from
 *   addresses no peer is at exceed their budget, an INIT still passes if
 *   its MAC2 is keyed by its source's cookie, and one with a good MAC1
 *   and no such MAC2 is answered with a COOKIE_REPLY by the kernel.
 *
 * SHOAL_CMD_SEND_CONTROL
 *   The selector, SHOAL_A_CONTROL_ENDPOINT and SHOAL_A_CONTROL_PAYLOAD:
 *   sends the payload behind the four-byte non-ESP marker from the
 *   device's socket.  With SHOAL_A_CONTROL_LOCAL (of the endpoint's
 *   family), from that address while it is still one of the host's;
 *   otherwise the route picks the source.
 *
 * Events (multicast group SHOAL_GENL_MCGRP_EVENTS), each with the device's
 * SHOAL_A_DEVICE_IFINDEX and SHOAL_A_DEVICE_IFNAME.  What an event says
 * about a peer comes as in a get reply: SHOAL_A_DEVICE_PEERS holding one
 * SHOAL_A_PEER nest.
 *   SHOAL_CMD_EVENT_CONTROL: SHOAL_A_CONTROL_ENDPOINT (source),
 *     SHOAL_A_CONTROL_PAYLOAD (what followed the marker) and, unless it
 *     was sent to a group or broadcast address, SHOAL_A_CONTROL_LOCAL
 *     (the address it was sent to: answers leave from it, so that they
 *     match the sender's NAT mapping on a multihomed host); never for a
 *     device moved out of the namespace it was created in.
 *   SHOAL_CMD_EVENT_ENDPOINT: the peer's SHOAL_A_PEER_PUBLIC_KEY and new
 *     SHOAL_A_PEER_ENDPOINT.
 *   SHOAL_CMD_EVENT_UNKNOWN_SPI: SHOAL_A_UNKNOWN_SPI,
 *     SHOAL_A_CONTROL_ENDPOINT (the source) and SHOAL_A_CONTROL_LOCAL as
 *     for control packets.
 *   SHOAL_CMD_EVENT_SOFT_EXPIRE: the peer's SHOAL_A_PEER_PUBLIC_KEY and the
 *     SA (its SHOAL_A_SA_SPI) in SHOAL_A_PEER_SA_OUT, or as the one SA in
 *     SHOAL_A_PEER_SA_IN.
 *
 * Endpoints are a struct sockaddr_in or struct sockaddr_in6, as WireGuard
 * carries them.
 */
#ifndef _UAPI_LINUX_SHOAL_H
#define _UAPI_LINUX_SHOAL_H

#define SHOAL_GENL_NAME		"shoal"
#define SHOAL_GENL_VERSION	1
#define SHOAL_GENL_MCGRP_EVENTS	"events"

/* Link kind for `ip link add NAME type shoal`. */
#define SHOAL_LINK_KIND		"shoal"

/*
 * The API's limits, the one place they are defined: the kernel enforces
 * them, and userspace checks against these names.
 */
#define SHOAL_KEY_LEN		32	/* peer public key */
#define SHOAL_SA_KEY_LEN	36	/* ChaCha20 key (32) || salt (4) */
#define SHOAL_COOKIE_SECRET_LEN	32	/* cookie secret, MAC1 and cookie keys */
#define SHOAL_SPI_MIN		256	/* lower SPIs are reserved (RFC 4303) */
/* SA lifetimes up to a year: plenty for keys that rekey every minutes. */
#define SHOAL_SA_MAX_SECONDS	(365 * 24 * 3600)
#define SHOAL_MAX_SA_IN		3	/* previous, current, next */
#define SHOAL_REPLAY_WINDOW	2048	/* packets */
#define SHOAL_MAX_ALLOWED_IPS	32	/* prefixes per peer */
#define SHOAL_MAX_PEERS		65536	/* peers per device */
#define SHOAL_MAX_CONTROL	1400	/* control payload bytes */

/* ESP next-header values shoal sends and accepts. */
#define SHOAL_NEXTHDR_IPV4	4
#define SHOAL_NEXTHDR_IPV6	41
#define SHOAL_NEXTHDR_ETHERNET	143

enum shoal_cmd {
	SHOAL_CMD_UNSPEC,
	SHOAL_CMD_GET_DEVICE,
	SHOAL_CMD_SET_DEVICE,
	SHOAL_CMD_SEND_CONTROL,
	SHOAL_CMD_EVENT_CONTROL,
	SHOAL_CMD_EVENT_ENDPOINT,
	SHOAL_CMD_EVENT_UNKNOWN_SPI,
	SHOAL_CMD_EVENT_SOFT_EXPIRE,

	__SHOAL_CMD_MAX
};

#define SHOAL_CMD_MAX (__SHOAL_CMD_MAX - 1)

enum shoal_attr {
	SHOAL_A_UNSPEC,
	SHOAL_A_DEVICE_IFINDEX,		/* u32 */
	SHOAL_A_DEVICE_IFNAME,		/* NUL-terminated string, < IFNAMSIZ */
	SHOAL_A_DEVICE_LISTEN_PORT,	/* u16, host order; 0 = not bound */
	SHOAL_A_DEVICE_MAC,		/* 6 bytes (get only) */
	SHOAL_A_DEVICE_PEERS,		/* nest of SHOAL_A_PEER */
	SHOAL_A_DEVICE_STATS,		/* nest of SHOAL_A_DSTAT_* (get only) */
	SHOAL_A_CONTROL_ENDPOINT,	/* sockaddr_in or sockaddr_in6 */
	SHOAL_A_CONTROL_PAYLOAD,	/* 1..SHOAL_MAX_CONTROL bytes */
	SHOAL_A_UNKNOWN_SPI,		/* u32 (events only) */
	SHOAL_A_DEVICE_COOKIE_SECRET,	/* SHOAL_COOKIE_SECRET_LEN bytes (set only) */
	SHOAL_A_DEVICE_MAC1_KEY,	/* SHOAL_COOKIE_SECRET_LEN bytes (set only) */
	SHOAL_A_DEVICE_COOKIE_KEY,	/* SHOAL_COOKIE_SECRET_LEN bytes (set only) */
	SHOAL_A_CONTROL_LOCAL,		/* 4 or 16 bytes: a local address */

	__SHOAL_A_MAX
};

#define SHOAL_A_MAX (__SHOAL_A_MAX - 1)

/* The one attribute type inside SHOAL_A_DEVICE_PEERS and SA_IN lists. */
#define SHOAL_A_PEER		1
#define SHOAL_A_SA		1

enum shoal_peer_flag {
	SHOAL_PEER_F_REMOVE	= 1U << 0,
	__SHOAL_PEER_F_ALL	= SHOAL_PEER_F_REMOVE
};

enum shoal_peer_attr {
	SHOAL_A_PEER_UNSPEC,
	SHOAL_A_PEER_PUBLIC_KEY,	/* SHOAL_KEY_LEN bytes */
	SHOAL_A_PEER_FLAGS,		/* u32, enum shoal_peer_flag */
	SHOAL_A_PEER_MAC,		/* 6 bytes, unicast */
	SHOAL_A_PEER_ENDPOINT,		/* sockaddr_in or sockaddr_in6 */
	SHOAL_A_PEER_LAYER3,		/* u8 0/1: send IP, not Ethernet */
	SHOAL_A_PEER_BRIDGE,		/* u8 0/1: other source MACs allowed */
	SHOAL_A_PEER_SA_OUT,		/* nest of SHOAL_A_SA_* */
	SHOAL_A_PEER_SA_IN,		/* nest of up to SHOAL_MAX_SA_IN SHOAL_A_SA */
	SHOAL_A_PEER_RX_BYTES,		/* u64 (get only) */
	SHOAL_A_PEER_TX_BYTES,		/* u64 */
	SHOAL_A_PEER_RX_PACKETS,	/* u64 */
	SHOAL_A_PEER_TX_PACKETS,	/* u64 */
	SHOAL_A_PEER_AUTH_FAILURES,	/* u64 */
	SHOAL_A_PEER_REPLAYS,		/* u64 */
	SHOAL_A_PEER_LAST_RX,		/* u64, seconds since the epoch, 0 = never */
	SHOAL_A_PEER_PAD,
	SHOAL_A_PEER_ALLOWED_IPS,	/* nest of SHOAL_A_ALLOWED_IP */
	/* u32 (set only): a UDP socket fd, or SHOAL_PEER_SOCKET_NONE */
	SHOAL_A_PEER_SOCKET_FD,
	SHOAL_A_PEER_LOCAL_PORT,	/* u16 (get only): the peer's socket's */

	__SHOAL_A_PEER_MAX
};

#define SHOAL_A_PEER_MAX (__SHOAL_A_PEER_MAX - 1)

/* SHOAL_A_PEER_SOCKET_FD: back to the device's socket (the fd -1 as u32). */
#define SHOAL_PEER_SOCKET_NONE	0xffffffffU

/* The one attribute type inside SHOAL_A_PEER_ALLOWED_IPS. */
#define SHOAL_A_ALLOWED_IP	1

enum shoal_allowed_ip_attr {
	SHOAL_A_ALLOWED_IP_UNSPEC,
	SHOAL_A_ALLOWED_IP_ADDR,	/* 4 or 16 bytes, network order */
	SHOAL_A_ALLOWED_IP_PREFIX_LEN,	/* u8, 0..32 or 0..128 */

	__SHOAL_A_ALLOWED_IP_MAX
};

#define SHOAL_A_ALLOWED_IP_MAX (__SHOAL_A_ALLOWED_IP_MAX - 1)

enum shoal_sa_attr {
	SHOAL_A_SA_UNSPEC,
	SHOAL_A_SA_SPI,			/* u32, host order, >= SHOAL_SPI_MIN */
	SHOAL_A_SA_KEY,			/* SHOAL_SA_KEY_LEN bytes (set only) */
	SHOAL_A_SA_SOFT_PACKETS,	/* u64: soft_expire event after this many */
	SHOAL_A_SA_HARD_PACKETS,	/* u64: never used past this many */
	SHOAL_A_SA_PACKETS,		/* u64 (get only): packets it carried */
	SHOAL_A_SA_PAD,
	/* u32, 1..SHOAL_SA_MAX_SECONDS: soft_expire this long after set */
	SHOAL_A_SA_SOFT_SECONDS,
	/* u32, 1..SHOAL_SA_MAX_SECONDS: never used after this long */
	SHOAL_A_SA_HARD_SECONDS,

	__SHOAL_A_SA_MAX
};

#define SHOAL_A_SA_MAX (__SHOAL_A_SA_MAX - 1)

enum shoal_dstat_attr {
	SHOAL_A_DSTAT_UNSPEC,
	SHOAL_A_DSTAT_CONTROL_RX,	/* u64 each */
	SHOAL_A_DSTAT_KEEPALIVES_RX,
	SHOAL_A_DSTAT_UNKNOWN_SPI,
	SHOAL_A_DSTAT_MALFORMED,
	SHOAL_A_DSTAT_UNKNOWN_DEST,
	SHOAL_A_DSTAT_SPOOFED_SRC,
	SHOAL_A_DSTAT_CONTROL_DROPS,
	SHOAL_A_DSTAT_PAD,
	SHOAL_A_DSTAT_COOKIE_REPLIES,	/* sent by the kernel (SET_DEVICE) */
	SHOAL_A_DSTAT_ECN_DROPS,	/* not-ECT frames under an outer CE */

	__SHOAL_A_DSTAT_MAX
};

#define SHOAL_A_DSTAT_MAX (__SHOAL_A_DSTAT_MAX - 1)

#endif /* _UAPI_LINUX_SHOAL_H */
