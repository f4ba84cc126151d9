/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_CONFIG_H
#define SHOAL_CONFIG_H

/*
 * shoald's static configuration file, in the spirit of wg(8)'s:
 *
 *	# Comments start with '#' or ';', on a line of their own or after
 *	# white space following a value ("ListenPort = 51820  # fixed").
 *	[Interface]
 *	Name = shoal0
 *	PrivateKey = <base64, 32 bytes; shoal genkey>
 *	ListenPort = 51820
 *	Address = 100.64.0.1/24, fd00::1/64
 *	MAC = 02:00:00:00:00:01
 *	RekeySeconds = 120
 *	KeepaliveSeconds = 10
 *
 *	[Peer]
 *	PublicKey = <base64, 32 bytes; shoal pubkey>
 *	Endpoint = 192.0.2.7:51820
 *	MAC = 02:00:00:00:00:02
 *	Address = 100.64.0.2/24
 *
 * The file is a sequence of lines ending in LF or CRLF, at most
 * SHOAL_CONFIG_MAX_LINE bytes each, and no NUL bytes anywhere.  Blank lines
 * are ignored; space and tab around a line, around '=' and around list
 * entries are trimmed.  Section names and keys are case-insensitive, as in
 * WireGuard; values are not.
 *
 * [Interface] must appear exactly once, anywhere in the file, and [Peer]
 * any number of times up to SHOAL_CONFIG_MAX_PEERS.  Every other line is
 * "Key = Value" inside a section, with a non-empty value.  Every key may
 * appear once per section except Address and AllowedIPs, which take a
 * comma-separated list and may be repeated to add more, up to
 * SHOAL_CONFIG_MAX_ADDRS and SHOAL_CONFIG_MAX_ALLOWED_IPS in all
 * (SHOAL_CONFIG_MAX_MEDIATORS for [Mediator] Address).
 *
 * [Interface] keys:
 *   Name              required; a Linux interface name: 1..15 bytes, none
 *                     of them '/', ':', white space or control characters,
 *                     and not "." or "..".
 *   PrivateKey        required; base64 of the 32-byte X25519 private key.
 *   ListenPort        UDP port, 1..65535; absent means a random port.
 *   Address           prefixes as shoal_prefix_parse reads them; host bits
 *                     may be set, since these are addresses of the
 *                     interface, not routes.
 *   MAC               the interface's unicast MAC address (aa:bb:cc:dd:ee:ff).
 *   RekeySeconds      1..86400, default 120.
 *   KeepaliveSeconds  1..3600, default 10.
 *   PortMapping       yes or no (true, false; any case), default yes:
 *                     ask the gateway to map ListenPort (UPnP IGD,
 *                     NAT-PMP, PCP) and announce the mapping.
 *   ForwardedPort     1..65535: the router forwards this port of its
 *                     public address to ListenPort; announced as that
 *                     public address (as the mediator sees it) and port.
 *   PublicEndpoint    numeric "IPv4:port" or "[IPv6]:port" that reaches
 *                     ListenPort, announced as is; shoal_candidate_usable
 *                     must take it (no loopback, multicast, link-local...).
 *   LanBroadcast      yes or no, default no: copy limited broadcasts
 *                     (255.255.255.255) that local programs send out of
 *                     another interface onto this device too
 *                     (daemon/lanbcast.c).
 *   LanBroadcastPorts the UDP ports of those broadcasts, as
 *                     lib/portlist.h parses them ("27015,7777-7779");
 *                     absent or "all": every port but DHCP's.
 *   Names             yes or no, default yes: serve NICK.shoal on the
 *                     device's overlay addresses (daemon/dns.c).
 *
 * [Peer] keys:
 *   PublicKey         required; base64 of the peer's X25519 public key.  It
 *                     may be neither the interface's own public key nor
 *                     another peer's.
 *   Endpoint          numeric "IPv4:port" or "[IPv6]:port", no DNS.
 *   MAC               the peer's unicast MAC address, unique among the
 *                     peers and different from the interface's.
 *   Address           as for [Interface].
 *   AllowedIPs        prefixes (a list, repeatable, up to
 *                     SHOAL_CONFIG_MAX_ALLOWED_IPS - 1, no host bits
 *                     set, no link-local prefix but a /128):
 *                     the only source addresses the peer's frames may
 *                     claim (IPv4 and IPv6 sources, ARP senders, neighbour
 *                     advertisements).  Absent: any.  shoald adds the
 *                     link-local address the peer's MAC makes.
 *
 * [Mediator] (at most once; with Address and PublicKey shoald logs in to
 * that shoal-mediator, without both the mediator comes from `shoal login`
 * and the other keys still count):
 *   Address           HOST:PORT or [IPv6]:PORT, HOST a name or an
 *                     address; with PublicKey.  A list (comma-separated,
 *                     repeatable, up to SHOAL_CONFIG_MAX_MEDIATORS, no
 *                     address twice): the instances of one cluster,
 *                     tried in turn (docs/protocol.md, "Failover").
 *   PublicKey         the mediator's public key (pinned; the one key of
 *                     all the cluster's instances); with Address.
 *   Nickname          the nickname to log in with the first time.
 *   AddressRanges     prefixes (a list, as Address of [Interface], no host
 *                     bits set) that the addresses a mediator assigns,
 *                     to this host and to its peers, must lie in, prefix
 *                     length included: no route wider than a range is
 *                     ever installed.  Default (none given): 100.64.0.0/10
 *                     and fc00::/7.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>
#include <netinet/in.h>

#include "endpoint.h"
#include "key.h"
#include "mac.h"
#include "portlist.h"

#define SHOAL_CONFIG_MAX_ADDRS 8
/* SHOAL_MAX_ALLOWED_IPS of uapi/linux/shoal.h. */
#define SHOAL_CONFIG_MAX_ALLOWED_IPS 32
#define SHOAL_CONFIG_MAX_PEERS 4096
/* Bytes in one line, without its LF or CRLF. */
#define SHOAL_CONFIG_MAX_LINE 4096
/* Bytes in the whole file. */
#define SHOAL_CONFIG_MAX_SIZE (1024 * 1024)

#define SHOAL_CONFIG_MAX_HOSTPORT 261	/* 253-byte name, ':', port */
#define SHOAL_CONFIG_MAX_NICK 32
/* [Mediator] Address: the instances of one cluster. */
#define SHOAL_CONFIG_MAX_MEDIATORS 16

/* [Mediator] AddressRanges when none is given. */
#define SHOAL_CONFIG_DEFAULT_RANGE4 "100.64.0.0/10"
#define SHOAL_CONFIG_DEFAULT_RANGE6 "fc00::/7"
#define SHOAL_CONFIG_DEFAULT_REKEY 120
#define SHOAL_CONFIG_MAX_REKEY 86400
#define SHOAL_CONFIG_DEFAULT_KEEPALIVE 10
#define SHOAL_CONFIG_MAX_KEEPALIVE 3600

/* An address with its prefix length, such as 100.64.0.1/24. */
struct shoal_prefix {
	int family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint8_t len;		/* prefix length: 0..32 or 0..128 */
};

/* "v6addr/128" at its longest, without the terminating NUL. */
#define SHOAL_PREFIX_STRLEN (INET6_ADDRSTRLEN - 1 + 4)

struct shoal_config_peer {
	uint8_t public_key[SHOAL_KEY_LEN];
	bool has_endpoint;
	struct shoal_endpoint endpoint;
	bool has_mac;
	uint8_t mac[SHOAL_MAC_LEN];
	unsigned int n_addrs;
	struct shoal_prefix addrs[SHOAL_CONFIG_MAX_ADDRS];
	/* AllowedIPs; none: its frames may claim any source address. */
	unsigned int n_allowed_ips;
	struct shoal_prefix allowed_ips[SHOAL_CONFIG_MAX_ALLOWED_IPS];
	unsigned int line;	/* line of its [Peer] header */
};

struct shoal_config {
	char name[IF_NAMESIZE];		/* Name; required */
	uint8_t private_key[SHOAL_KEY_LEN];	/* PrivateKey; required */
	uint16_t listen_port;		/* ListenPort; 0 (default) = random */
	bool has_mac;
	uint8_t mac[SHOAL_MAC_LEN];
	unsigned int n_addrs;
	struct shoal_prefix addrs[SHOAL_CONFIG_MAX_ADDRS];
	/* RekeySeconds, default 120, 1..86400 */
	unsigned int rekey_seconds;
	/* KeepaliveSeconds, default 10, 1..3600 */
	unsigned int keepalive_seconds;
	bool port_mapping;		/* PortMapping, default yes */
	uint16_t forwarded_port;	/* ForwardedPort; 0: none */
	bool has_public_endpoint;
	struct shoal_endpoint public_endpoint;	/* PublicEndpoint */
	bool lan_broadcast;		/* LanBroadcast, default no */
	struct shoal_portlist lan_broadcast_ports;	/* n 0: all */
	bool names;			/* Names, default yes */
	bool has_mediator;
	/* Address: a cluster's instances, in the order given; 1 or more. */
	unsigned int n_mediator_addresses;
	char mediator_addresses[SHOAL_CONFIG_MAX_MEDIATORS]
			       [SHOAL_CONFIG_MAX_HOSTPORT + 1];
	uint8_t mediator_key[SHOAL_KEY_LEN];
	char nickname[SHOAL_CONFIG_MAX_NICK + 1];	/* "": none */
	/* AddressRanges; none: SHOAL_CONFIG_DEFAULT_RANGE4 and 6. */
	unsigned int n_mediator_ranges;
	struct shoal_prefix mediator_ranges[SHOAL_CONFIG_MAX_ADDRS];
	unsigned int mediator_line;
	struct shoal_config_peer *peers;	/* in the order of the file */
	size_t n_peers;
	unsigned int line;	/* line of the [Interface] header */
};

/*
 * Parses text (len bytes, need not be NUL-terminated); source names it in
 * messages (the path, say).  Returns 0 with *c filled in, to be released
 * with shoal_config_free().  Returns -1 with *c left empty (freeing it is
 * harmless) and, if err_size > 0, a message in err: "SOURCE:LINE: reason",
 * or "SOURCE: reason" for problems of the whole file.  Values are quoted in
 * messages with unprintable bytes escaped, except the private key's, which
 * is never repeated.
 */
int shoal_config_parse(struct shoal_config *c, const char *text, size_t len,
		       const char *source, char *err, size_t err_size);

/*
 * Reads the file at path (at most SHOAL_CONFIG_MAX_SIZE bytes) and parses
 * it as shoal_config_parse() does, naming it by its path.  The copy read
 * is wiped before it is freed.
 */
int shoal_config_load(struct shoal_config *c, const char *path, char *err,
		      size_t err_size);

/*
 * True if group or others have any permission on the file at path: a
 * library cannot warn, but the daemon should, as the file holds a private
 * key.  False if path cannot be examined (loading it will then say why).
 */
bool shoal_config_file_too_open(const char *path);

/* Wipes the private key, frees the peers and leaves *c empty. */
void shoal_config_free(struct shoal_config *c);

/* The forms [Mediator] Address and Nickname take. */
bool shoal_config_valid_hostport(const char *s);
/*
 * A comma-separated list of HOST:PORT (`shoal login`'s), at most max, no
 * entry empty or twice (ignoring case): how many, or -1.
 */
int shoal_config_parse_hostports(const char *text,
				 char (*out)[SHOAL_CONFIG_MAX_HOSTPORT + 1],
				 unsigned int max);
bool shoal_config_valid_nickname(const char *s);
/*
 * The nickname a member without one is given (shoald, `shoal login`
 * without --nick): hostname's first label, lowercase, what the nickname
 * rules do not allow as '-', from the first letter or digit on, at most
 * SHOAL_CONFIG_MAX_NICK; "member" if nothing is left.
 */
void shoal_config_default_nickname(char *out, size_t size,
				   const char *hostname);

/*
 * Parses "100.64.0.1/24" or "fd00::1/64": a numeric address and an optional
 * decimal prefix length (no sign, no leading zeros) of at most 32 or 128; a
 * missing "/len" means /32 or /128.  Host bits may be set.  Returns 0, or
 * -1 with *p cleared.
 */
int shoal_prefix_parse(struct shoal_prefix *p, const char *text);

/*
 * Whether p (an address with its prefix length) lies inside one of the n
 * ranges of its family, with a prefix length at least the range's: the
 * route p makes is no wider than the range.
 */
bool shoal_prefix_within(const struct shoal_prefix *ranges, size_t n,
			 const struct shoal_prefix *p);

/* Whether p has no bits set past its prefix length: a network. */
bool shoal_prefix_is_network(const struct shoal_prefix *p);
/* Clears the bits of p past its prefix length. */
void shoal_prefix_mask(struct shoal_prefix *p);

/*
 * Writes "addr/len", always with the length.  Returns the length, or -1
 * (bad prefix, or buf too small).
 */
int shoal_prefix_format(char *buf, size_t size, const struct shoal_prefix *p);

#endif
