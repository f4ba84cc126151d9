// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "config.h"

/* RFC 7748, section 6.1: Alice's key pair and Bob's public key. */
#define ALICE_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PUB "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
#define KEY1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define KEY2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="

#define IFACE "[Interface]\nName = shoal0\nPrivateKey = " ALICE_PRIV "\n"

static const char full[] =
	"# shoald configuration\n"			/* 1 */
	"[Interface]\n"					/* 2 */
	"Name = shoal0\n"				/* 3 */
	"PrivateKey = " ALICE_PRIV "\n"			/* 4 */
	"ListenPort = 51820\n"				/* 5 */
	"Address = 100.64.0.1/24, fd00::1/64\n"		/* 6 */
	"Address = 10.1.2.3\n"				/* 7 */
	"MAC = 02:00:00:00:00:01\n"			/* 8 */
	"RekeySeconds = 300\n"				/* 9 */
	"KeepaliveSeconds = 25\n"			/* 10 */
	"\n"						/* 11 */
	"; first peer\n"				/* 12 */
	"[Peer]\n"					/* 13 */
	"PublicKey = " BOB_PUB "\n"			/* 14 */
	"Endpoint = 192.0.2.7:51820\n"			/* 15 */
	"MAC = 02:00:00:00:00:02\n"			/* 16 */
	"Address = 100.64.0.2/24\n"			/* 17 */
	"\n"						/* 18 */
	"[Peer]\n"					/* 19 */
	"PublicKey = " KEY1 "\n"			/* 20 */
	"Endpoint = [2001:db8::1]:4500\n";		/* 21 */

static int parse(struct shoal_config *c, const char *text, char *err,
		 size_t err_size)
{
	return shoal_config_parse(c, text, strlen(text), "src", err, err_size);
}

static const char *prefix_text(char buf[SHOAL_PREFIX_STRLEN + 1],
			       const struct shoal_prefix *p)
{
	if (shoal_prefix_format(buf, SHOAL_PREFIX_STRLEN + 1, p) < 0)
		strcpy(buf, "(bad)");
	return buf;
}

static const char *endpoint_text(char buf[SHOAL_ENDPOINT_STRLEN + 1],
				 const struct shoal_endpoint *ep)
{
	if (shoal_endpoint_format(buf, SHOAL_ENDPOINT_STRLEN + 1, ep) < 0)
		strcpy(buf, "(bad)");
	return buf;
}

static const char *mac_text(char buf[SHOAL_MAC_STRLEN + 1],
			    const uint8_t mac[SHOAL_MAC_LEN])
{
	shoal_mac_format(buf, mac);
	return buf;
}

static const char *key_text(char buf[SHOAL_KEY_B64_LEN + 1],
			    const uint8_t key[SHOAL_KEY_LEN])
{
	shoal_key_to_base64(buf, key);
	return buf;
}

TEST(full_file)
{
	char err[256], pfx[SHOAL_PREFIX_STRLEN + 1];
	char ep[SHOAL_ENDPOINT_STRLEN + 1], mac[SHOAL_MAC_STRLEN + 1];
	char key[SHOAL_KEY_B64_LEN + 1];
	struct shoal_config c;

	ASSERT_EQ(0, parse(&c, full, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("", err);
	EXPECT_STREQ("shoal0", c.name);
	EXPECT_STREQ(ALICE_PRIV, key_text(key, c.private_key));
	EXPECT_EQ(51820, c.listen_port);
	ASSERT_EQ(3U, c.n_addrs);
	EXPECT_EQ(AF_INET, c.addrs[0].family);
	EXPECT_STREQ("100.64.0.1/24", prefix_text(pfx, &c.addrs[0]));
	EXPECT_EQ(AF_INET6, c.addrs[1].family);
	EXPECT_STREQ("fd00::1/64", prefix_text(pfx, &c.addrs[1]));
	EXPECT_STREQ("10.1.2.3/32", prefix_text(pfx, &c.addrs[2]));
	EXPECT_TRUE(c.has_mac);
	EXPECT_STREQ("02:00:00:00:00:01", mac_text(mac, c.mac));
	EXPECT_EQ(300U, c.rekey_seconds);
	EXPECT_EQ(25U, c.keepalive_seconds);
	EXPECT_EQ(2U, c.line);
	ASSERT_EQ(2U, c.n_peers);

	EXPECT_STREQ(BOB_PUB, key_text(key, c.peers[0].public_key));
	EXPECT_TRUE(c.peers[0].has_endpoint);
	EXPECT_STREQ("192.0.2.7:51820",
		     endpoint_text(ep, &c.peers[0].endpoint));
	EXPECT_TRUE(c.peers[0].has_mac);
	EXPECT_STREQ("02:00:00:00:00:02", mac_text(mac, c.peers[0].mac));
	ASSERT_EQ(1U, c.peers[0].n_addrs);
	EXPECT_STREQ("100.64.0.2/24", prefix_text(pfx, &c.peers[0].addrs[0]));
	EXPECT_EQ(13U, c.peers[0].line);

	EXPECT_STREQ(KEY1, key_text(key, c.peers[1].public_key));
	EXPECT_TRUE(c.peers[1].has_endpoint);
	EXPECT_STREQ("[2001:db8::1]:4500",
		     endpoint_text(ep, &c.peers[1].endpoint));
	EXPECT_FALSE(c.peers[1].has_mac);
	EXPECT_EQ(0U, c.peers[1].n_addrs);
	EXPECT_EQ(19U, c.peers[1].line);

	shoal_config_free(&c);
	EXPECT_EQ(NULL, c.peers);
	EXPECT_EQ(0U, c.n_peers);
	EXPECT_EQ(0, c.private_key[0]);
	/* Twice is harmless. */
	shoal_config_free(&c);
}

TEST(defaults)
{
	static const uint8_t zero[SHOAL_KEY_LEN];
	char buf[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_config c;
	char err[256];

	ASSERT_EQ(0, parse(&c, IFACE, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("shoal0", c.name);
	EXPECT_NE(0, memcmp(zero, c.private_key, sizeof(zero)));
	EXPECT_EQ(0, c.listen_port);
	EXPECT_FALSE(c.has_mac);
	EXPECT_EQ(0U, c.n_addrs);
	EXPECT_EQ((unsigned int)SHOAL_CONFIG_DEFAULT_REKEY, c.rekey_seconds);
	EXPECT_EQ(120U, c.rekey_seconds);
	EXPECT_EQ((unsigned int)SHOAL_CONFIG_DEFAULT_KEEPALIVE,
		  c.keepalive_seconds);
	EXPECT_EQ(10U, c.keepalive_seconds);
	EXPECT_TRUE(c.port_mapping);
	EXPECT_TRUE(c.names);
	EXPECT_EQ(0, c.forwarded_port);
	EXPECT_FALSE(c.has_public_endpoint);
	EXPECT_EQ(0U, c.n_peers);
	EXPECT_EQ(NULL, c.peers);
	shoal_config_free(&c);

	/* A peer with nothing but its key; limits at both ends. */
	ASSERT_EQ(0, parse(&c, "[Peer]\nPublicKey = " BOB_PUB "\n"
			   "[Interface]\nPrivateKey = " ALICE_PRIV "\n"
			   "Name = abcdefghijklmno\nListenPort = 65535\n"
			   "RekeySeconds = 86400\nKeepaliveSeconds = 1\n",
			   err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("abcdefghijklmno", c.name);
	EXPECT_EQ(65535, c.listen_port);
	EXPECT_EQ(86400U, c.rekey_seconds);
	EXPECT_EQ(1U, c.keepalive_seconds);
	EXPECT_EQ(3U, c.line);
	shoal_config_free(&c);

	/* The port mapping keys. */
	ASSERT_EQ(0, parse(&c, IFACE "PortMapping = No\nForwardedPort = 4500\n"
			   "PublicEndpoint = [2001:db8::7]:4501\n",
			   err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_FALSE(c.port_mapping);
	EXPECT_EQ(4500, c.forwarded_port);
	EXPECT_TRUE(c.has_public_endpoint);
	EXPECT_STREQ("[2001:db8::7]:4501",
		     endpoint_text(buf, &c.public_endpoint));
	shoal_config_free(&c);
	ASSERT_EQ(0, parse(&c, IFACE "PortMapping = yes\n"
			   "PublicEndpoint = 198.51.100.7:4500\n",
			   err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(c.port_mapping);
	EXPECT_STREQ("198.51.100.7:4500",
		     endpoint_text(buf, &c.public_endpoint));
	shoal_config_free(&c);
	ASSERT_EQ(0, parse(&c, "[Peer]\nPublicKey = " BOB_PUB "\n"
			   "[Interface]\nPrivateKey = " ALICE_PRIV "\n"
			   "Name = abcdefghijklmno\nListenPort = 65535\n"
			   "RekeySeconds = 86400\nKeepaliveSeconds = 1\n",
			   err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(1U, c.n_peers);
	EXPECT_EQ(1U, c.peers[0].line);
	EXPECT_FALSE(c.peers[0].has_endpoint);
	EXPECT_FALSE(c.peers[0].has_mac);
	EXPECT_EQ(0U, c.peers[0].n_addrs);
	shoal_config_free(&c);
}

TEST(comments_whitespace_case)
{
	static const char text[] =
		"  ; leading comment\n"
		"\t\n"
		"  [interface]   # after a header\n"
		"\tNAME=a#b\n"
		"privatekey\t=\t" ALICE_PRIV "   ; secret\n"
		"listenPORT = 01000 #\n"
		"address = 10.0.0.1 , fd00::1/128 ,10.0.0.3/8  \n"
		"ADDRESS=10.0.0.4/0\n"
		"mac = 02:AB:cd:00:00:01\n"
		"rekeyseconds = 5\n"
		"KEEPALIVESECONDS = 3600\n"
		"[PEER]\n"
		"publickey=" BOB_PUB "\n"
		"endpoint =1.2.3.4:5#\n"
		"[pEeR] ;c\n"
		"PUBLICKEY = " KEY1 "\n"
		"# trailing comment without a newline";
	char err[256], pfx[SHOAL_PREFIX_STRLEN + 1], mac[SHOAL_MAC_STRLEN + 1];
	struct shoal_config c;
	char *fixed;

	/* '#' glued to a value is part of it; the endpoint shows it. */
	EXPECT_EQ(-1, parse(&c, text, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "src:14:")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "Endpoint: not a numeric"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "'1.2.3.4:5#'")) TH_LOG("%s", err);

	fixed = strdup(text);
	ASSERT_NE(NULL, fixed);
	memcpy(strstr(fixed, "1.2.3.4:5#"), "1.2.3.4:5 ", 10);
	ASSERT_EQ(0, parse(&c, fixed, err, sizeof(err))) TH_LOG("%s", err);
	free(fixed);
	EXPECT_STREQ("a#b", c.name);
	EXPECT_EQ(1000, c.listen_port);
	ASSERT_EQ(4U, c.n_addrs);
	EXPECT_STREQ("10.0.0.1/32", prefix_text(pfx, &c.addrs[0]));
	EXPECT_STREQ("fd00::1/128", prefix_text(pfx, &c.addrs[1]));
	EXPECT_STREQ("10.0.0.3/8", prefix_text(pfx, &c.addrs[2]));
	EXPECT_STREQ("10.0.0.4/0", prefix_text(pfx, &c.addrs[3]));
	EXPECT_STREQ("02:ab:cd:00:00:01", mac_text(mac, c.mac));
	EXPECT_EQ(5U, c.rekey_seconds);
	EXPECT_EQ(3600U, c.keepalive_seconds);
	EXPECT_EQ(3U, c.line);
	ASSERT_EQ(2U, c.n_peers);
	EXPECT_EQ(12U, c.peers[0].line);
	EXPECT_TRUE(c.peers[0].has_endpoint);
	EXPECT_EQ(15U, c.peers[1].line);
	shoal_config_free(&c);
}

TEST(crlf)
{
	char *text = malloc(2 * sizeof(full)), err[256];
	char ep[SHOAL_ENDPOINT_STRLEN + 1];
	struct shoal_config c;
	size_t i, n = 0;

	ASSERT_NE(NULL, text);
	for (i = 0; full[i]; i++) {
		if (full[i] == '\n')
			text[n++] = '\r';
		text[n++] = full[i];
	}
	/* No terminating NUL: the parser must keep to len. */
	ASSERT_EQ(0, shoal_config_parse(&c, text, n, "src", err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("shoal0", c.name);
	EXPECT_EQ(51820, c.listen_port);
	EXPECT_EQ(25U, c.keepalive_seconds);
	ASSERT_EQ(2U, c.n_peers);
	EXPECT_EQ(19U, c.peers[1].line);
	EXPECT_STREQ("[2001:db8::1]:4500",
		     endpoint_text(ep, &c.peers[1].endpoint));
	shoal_config_free(&c);

	/* A CR that ends no line is part of the value. */
	EXPECT_EQ(-1, parse(&c, "[Interface]\nName = sho\ral0\n", err,
			    sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "src:2: Name: not a valid interface name"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "'sho\\x0dal0'")) TH_LOG("%s", err);
	free(text);
}

static const struct {
	const char *text;
	const char *where;	/* "src:LINE:" or "src: " */
	const char *what;
} bad_files[] = {
	{ "", "src: ", "no [Interface] section" },
	{ "# nothing\n\n", "src: ", "no [Interface] section" },
	{ "[Peer]\nPublicKey = " BOB_PUB "\n", "src: ",
	  "no [Interface] section" },
	{ IFACE "Foo = 1\n", "src:4:", "unknown key 'Foo' in [Interface]" },
	{ IFACE "Endpoint = 1.2.3.4:5\n", "src:4:",
	  "unknown key 'Endpoint' in [Interface]" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nListenPort = 1\n", "src:6:",
	  "unknown key 'ListenPort' in [Peer]" },
	{ IFACE "[Peers]\n", "src:4:", "unknown section '[Peers]'" },
	{ IFACE "[Mediator]\nPublicKey = " KEY1 "\n", "src:4:",
	  "[Mediator] has no Address" },
	{ IFACE "[Mediator]\nAddress = m.example:51800\n", "src:4:",
	  "[Mediator] has no PublicKey" },
	{ IFACE "[Mediator]\nAddress = m.example\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = m.example:0\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = m.example:65536\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = 2001:db8::1:51800\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = [2001:db8::1:51800\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = a b:1\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = a:1, a:2,\n", "src:5:",
	  "Address: empty entry in the list" },
	{ IFACE "[Mediator]\nAddress = a:1, b:2\nAddress = A:1\n", "src:6:",
	  "Address: 'A:1' is given twice" },
	{ IFACE "[Mediator]\nAddress = a:1, b\n", "src:5:",
	  "Address: not HOST:PORT" },
	{ IFACE "[Mediator]\nAddress = a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,"
	  "a:10,a:11,a:12,a:13,a:14,a:15,a:16\nAddress = a:17\n", "src:6:",
	  "Address: more than 16 addresses" },
	{ IFACE "[Mediator]\nNickname = -x\n", "src:5:",
	  "Nickname: not a nickname" },
	{ IFACE "[Mediator]\nNickname = "
	  "abcdefghijabcdefghijabcdefghijabc\n", "src:5:",
	  "Nickname: not a nickname" },
	{ IFACE "[Mediator]\nEndpoint = x:1\n", "src:5:",
	  "unknown key 'Endpoint' in [Mediator]" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nAllowedIPs = 100.64.0.2/24\n",
	  "src:6:", "AllowedIPs: '100.64.0.2/24' has host bits set" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nAllowedIPs = 100.64.0.2/33\n",
	  "src:6:", "AllowedIPs: not an IP address" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nAllowedIPs = 10.0.0.0/8,\n",
	  "src:6:", "AllowedIPs: empty entry" },
	{ IFACE "AllowedIPs = 10.0.0.0/8\n", "src:4:",
	  "unknown key 'AllowedIPs' in [Interface]" },
	{ IFACE "[Mediator]\nAddressRanges = 100.64.0.1/10\n", "src:5:",
	  "AddressRanges: '100.64.0.1/10' has host bits set" },
	{ IFACE "[Mediator]\nAddressRanges = fd00::/7\n", "src:5:",
	  "AddressRanges: 'fd00::/7' has host bits set" },
	{ IFACE "[Mediator]\nAddressRanges = 100.64.0.0/10, x\n", "src:5:",
	  "AddressRanges: not an IP address" },
	{ IFACE "[Mediator]\nAddressRanges = 100.64.0.0/10,\n", "src:5:",
	  "AddressRanges: empty entry" },
	{ IFACE "[Mediator]\nAddressRanges = 100.64.0.0/10\n"
	  "AddressRanges = fc00::/7\n", "src:6:",
	  "duplicate key AddressRanges" },
	{ IFACE "[Mediator]\nAddress = a:1\nPublicKey = " KEY1
	  "\n[Mediator]\n", "src:7:", "second [Mediator] section" },
	{ IFACE "[ Peer ]\n", "src:4:", "unknown section '[ Peer ]'" },
	{ IFACE "[Peer\n", "src:4:", "malformed section header" },
	{ IFACE "[Peer] x\n", "src:4:", "malformed section header" },
	{ "Name = x\n" IFACE, "src:1:", "'Name' outside a section" },
	{ IFACE "Name = x\n", "src:4:",
	  "duplicate key Name (first set on line 2)" },
	{ IFACE "ListenPort = 1\nlistenport = 2\n", "src:5:",
	  "duplicate key ListenPort (first set on line 4)" },
	{ IFACE "PrivateKey = " ALICE_PRIV "\n", "src:4:",
	  "duplicate key PrivateKey" },
	{ IFACE "MAC = 02:00:00:00:00:01\nMac = 02:00:00:00:00:02\n",
	  "src:5:", "duplicate key MAC (first set on line 4)" },
	{ IFACE "RekeySeconds = 1\nRekeySeconds = 1\n", "src:5:",
	  "duplicate key RekeySeconds" },
	{ IFACE "KeepaliveSeconds = 1\nKeepaliveSeconds = 1\n", "src:5:",
	  "duplicate key KeepaliveSeconds" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nPublicKey = " KEY1 "\n",
	  "src:6:", "duplicate key PublicKey (first set on line 5)" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nEndpoint = 1.2.3.4:5\n"
	  "Endpoint = 1.2.3.4:6\n", "src:7:", "duplicate key Endpoint" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nMAC = 02:00:00:00:00:02\n"
	  "MAC = 02:00:00:00:00:02\n", "src:7:", "duplicate key MAC" },
	{ IFACE "[Interface]\n", "src:4:",
	  "second [Interface] section (the first is on line 1)" },
	{ IFACE "ListenPort 5\n", "src:4:", "missing '='" },
	{ IFACE "= 5\n", "src:4:", "missing key before '='" },
	{ IFACE "ListenPort =   # nothing\n", "src:4:",
	  "ListenPort: empty value" },
	{ IFACE "Address =\n", "src:4:", "Address: empty value" },
	{ IFACE "ListenPort = abc\n", "src:4:",
	  "ListenPort: not a port number (1..65535): 'abc'" },
	{ IFACE "ListenPort = 0\n", "src:4:", "ListenPort: not a port number" },
	{ IFACE "ListenPort = 65536\n", "src:4:",
	  "ListenPort: not a port number" },
	{ IFACE "ListenPort = +80\n", "src:4:", "ListenPort: not a port number" },
	{ IFACE "ListenPort = 8 0\n", "src:4:", "ListenPort: not a port number" },
	{ IFACE "ListenPort = 99999999999999999999999999\n", "src:4:",
	  "ListenPort: not a port number" },
	{ "[Interface]\nPrivateKey = " ALICE_PRIV "\nName = a/b\n", "src:3:",
	  "Name: not a valid interface name" },
	{ "[Interface]\nName = a:b\n", "src:2:", "Name: not a valid" },
	{ "[Interface]\nName = .\n", "src:2:", "Name: not a valid" },
	{ "[Interface]\nName = ..\n", "src:2:", "Name: not a valid" },
	{ "[Interface]\nName = a b\n", "src:2:", "Name: not a valid" },
	{ "[Interface]\nName = abcdefghijklmnop\n", "src:2:",
	  "Name: not a valid" },
	{ "[Interface]\nName = a\tb\n", "src:2:", "'a\\x09b'" },
	{ "[Interface]\nName = x\nPrivateKey = " ALICE_PUB "x\n", "src:3:",
	  "PrivateKey: not a base64-encoded 32-byte key" },
	{ "[Interface]\nName = x\nPrivateKey = AAAA\n", "src:3:",
	  "PrivateKey: not a base64" },
	{ IFACE "Address = 10.0.0.1/33\n", "src:4:",
	  "Address: not an IP address with an optional /prefix length: '10.0.0.1/33'" },
	{ IFACE "Address = 10.0.0.1/24, fd00::/129\n", "src:4:",
	  "Address: not an IP address with an optional /prefix length: 'fd00::/129'" },
	{ IFACE "Address = 10.0.0.1/024\n", "src:4:", "'10.0.0.1/024'" },
	{ IFACE "Address = 300.0.0.1\n", "src:4:", "'300.0.0.1'" },
	{ IFACE "Address = 10.0.0.1/\n", "src:4:", "'10.0.0.1/'" },
	{ IFACE "Address = host.example\n", "src:4:", "'host.example'" },
	{ IFACE "Address = 10.0.0.1,\n", "src:4:",
	  "Address: empty entry in the list" },
	{ IFACE "Address = 10.0.0.1,,10.0.0.2\n", "src:4:",
	  "Address: empty entry" },
	{ IFACE "Address = 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5\n"
	  "Address = 10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9\n", "src:5:",
	  "Address: more than 8 addresses" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nAddress = 1.1.1.1, 1.1.1.2,"
	  "1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9\n",
	  "src:6:", "Address: more than 8 addresses" },
	{ IFACE "MAC = zz\n", "src:4:",
	  "MAC: not a MAC address (aa:bb:cc:dd:ee:ff): 'zz'" },
	{ IFACE "MAC = 01:00:5e:00:00:01\n", "src:4:",
	  "MAC: not a unicast MAC address" },
	{ IFACE "MAC = 00:00:00:00:00:00\n", "src:4:", "MAC: not a unicast" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nMAC = ff:ff:ff:ff:ff:ff\n",
	  "src:6:", "MAC: not a unicast" },
	{ IFACE "RekeySeconds = 0\n", "src:4:",
	  "RekeySeconds: not a number of seconds (1..86400): '0'" },
	{ IFACE "RekeySeconds = 86401\n", "src:4:", "RekeySeconds: not a number" },
	{ IFACE "KeepaliveSeconds = 3601\n", "src:4:",
	  "KeepaliveSeconds: not a number of seconds (1..3600): '3601'" },
	{ IFACE "KeepaliveSeconds = -1\n", "src:4:", "KeepaliveSeconds: not" },
	{ IFACE "PortMapping = maybe\n", "src:4:",
	  "PortMapping: not yes or no: 'maybe'" },
	{ IFACE "PortMapping = no\nPortMapping = no\n", "src:5:",
	  "duplicate key PortMapping" },
	{ IFACE "Names = perhaps\n", "src:4:", "Names: not yes or no" },
	{ IFACE "ForwardedPort = 0\n", "src:4:",
	  "ForwardedPort: not a port number (1..65535): '0'" },
	{ IFACE "ForwardedPort = 65536\n", "src:4:", "ForwardedPort: not a port" },
	{ IFACE "PublicEndpoint = example.com:51820\n", "src:4:",
	  "PublicEndpoint: not a numeric IPv4:port or [IPv6]:port" },
	{ IFACE "PublicEndpoint = 198.51.100.7\n", "src:4:",
	  "PublicEndpoint: not a numeric" },
	{ IFACE "PublicEndpoint = 127.0.0.1:51820\n", "src:4:",
	  "PublicEndpoint: not an address peers could reach" },
	{ IFACE "PublicEndpoint = 224.0.0.1:51820\n", "src:4:",
	  "PublicEndpoint: not an address peers could reach" },
	{ IFACE "PublicEndpoint = [fe80::1]:51820\n", "src:4:",
	  "PublicEndpoint: not an address peers could reach" },
	{ IFACE "PublicEndpoint = 0.0.0.0:51820\n", "src:4:",
	  "PublicEndpoint: not an address peers could reach" },
	{ IFACE "[Peer]\nPublicKey = nope\n", "src:5:",
	  "PublicKey: not a base64-encoded 32-byte key: 'nope'" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nEndpoint = example.com:51820\n",
	  "src:6:", "Endpoint: not a numeric IPv4:port or [IPv6]:port" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nEndpoint = 1.2.3.4\n",
	  "src:6:", "Endpoint: not a numeric" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nEndpoint = [::1]:0\n",
	  "src:6:", "Endpoint: not a numeric" },
	{ IFACE "[Peer]\nEndpoint = 1.2.3.4:5\n", "src:4:",
	  "[Peer] has no PublicKey" },
	{ IFACE "[Peer]\n\n[Peer]\nPublicKey = " BOB_PUB "\n", "src:4:",
	  "[Peer] has no PublicKey" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\n[Peer]\n# none\n", "src:6:",
	  "[Peer] has no PublicKey" },
	{ "\n[Interface]\nPrivateKey = " ALICE_PRIV "\n[Peer]\nPublicKey = "
	  BOB_PUB "\n", "src:2:", "[Interface] has no Name" },
	{ "[Peer]\nPublicKey = " BOB_PUB "\n[Interface]\nName = x\n", "src:3:",
	  "[Interface] has no PrivateKey" },
	{ IFACE "[Peer]\nPublicKey = " ALICE_PUB "\n", "src:4:",
	  "[Peer] PublicKey is this interface's own public key" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\n[Peer]\nPublicKey = " KEY1
	  "\n[Peer]\nPublicKey = " BOB_PUB "\n", "src:8:",
	  "[Peer] has the same PublicKey as the [Peer] on line 4" },
	{ IFACE "[Peer]\nPublicKey = " BOB_PUB "\nMAC = 02:00:00:00:00:09\n"
	  "[Peer]\nPublicKey = " KEY1 "\n[Peer]\nPublicKey = " KEY2 "\n"
	  "MAC = 02:00:00:00:00:09\n", "src:9:",
	  "[Peer] has the same MAC as the [Peer] on line 4" },
	{ "[Interface]\nName = x\nMAC = 02:00:00:00:00:01\nPrivateKey = "
	  ALICE_PRIV "\n[Peer]\nPublicKey = " BOB_PUB "\n"
	  "MAC = 02:00:00:00:00:01\n", "src:5:",
	  "[Peer] has the same MAC as the [Interface] on line 1" },
	{ IFACE "LanBroadcast = on\n", "src:4:",
	  "LanBroadcast: not yes or no: 'on'" },
	{ IFACE "LanBroadcast = yes\nLanBroadcast = no\n", "src:5:",
	  "duplicate key LanBroadcast" },
	{ IFACE "LanBroadcastPorts = 0\n", "src:4:",
	  "LanBroadcastPorts: not a port (1..65535) or a range of ports "
	  "(LOW-HIGH): '0'" },
	{ IFACE "LanBroadcastPorts = 65536\n", "src:4:", "'65536'" },
	{ IFACE "LanBroadcastPorts = 027015\n", "src:4:", "'027015'" },
	{ IFACE "LanBroadcastPorts = +80\n", "src:4:", "'+80'" },
	{ IFACE "LanBroadcastPorts = 80-\n", "src:4:", "'80-'" },
	{ IFACE "LanBroadcastPorts = -80\n", "src:4:", "'-80'" },
	{ IFACE "LanBroadcastPorts = 1-2-3\n", "src:4:", "'1-2-3'" },
	{ IFACE "LanBroadcastPorts = 80 81\n", "src:4:", "'80 81'" },
	{ IFACE "LanBroadcastPorts = 7779-7777\n", "src:4:",
	  "a range must run from a lower port to a higher one: '7779-7777'" },
	{ IFACE "LanBroadcastPorts = 7777-7777\n", "src:4:", "a range must" },
	{ IFACE "LanBroadcastPorts = 27015,\n", "src:4:",
	  "LanBroadcastPorts: empty entry in the list of ports" },
	{ IFACE "LanBroadcastPorts = ,27015\n", "src:4:", "empty entry" },
	{ IFACE "LanBroadcastPorts = 27015,7000-8000,7777\n", "src:4:",
	  "port 7777 is listed more than once" },
	{ IFACE "LanBroadcastPorts = 5,5\n", "src:4:",
	  "port 5 is listed more than once" },
	{ IFACE "LanBroadcastPorts = all,80\n", "src:4:", "'all'" },
	{ IFACE "LanBroadcastPorts = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,"
	  "17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33\n", "src:4:",
	  "more than 32 entries in the list of ports" },
	{ IFACE "LanBroadcastPorts = 8\x01\n", "src:4:", "'8\\x01'" },
	{ IFACE "LanBroadcastPorts = 1\nLanBroadcastPorts = 2\n", "src:5:",
	  "duplicate key LanBroadcastPorts" },
};

TEST(hostport_list)
{
	char out[SHOAL_CONFIG_MAX_MEDIATORS][SHOAL_CONFIG_MAX_HOSTPORT + 1];
	char many[SHOAL_CONFIG_MAX_MEDIATORS * 8 + 16] = "";
	unsigned int i;

	EXPECT_EQ(1, shoal_config_parse_hostports("a.example:1", out, 16));
	EXPECT_STREQ("a.example:1", out[0]);
	EXPECT_EQ(3, shoal_config_parse_hostports("a:1,[2001:db8::1]:2,"
						   "192.0.2.3:3", out, 16));
	EXPECT_STREQ("[2001:db8::1]:2", out[1]);
	EXPECT_STREQ("192.0.2.3:3", out[2]);
	/* Refused: empty entries, a bad one, one twice, more than max. */
	EXPECT_EQ(-1, shoal_config_parse_hostports("", out, 16));
	EXPECT_EQ(-1, shoal_config_parse_hostports("a:1,", out, 16));
	EXPECT_EQ(-1, shoal_config_parse_hostports(",a:1", out, 16));
	EXPECT_EQ(-1, shoal_config_parse_hostports("a:1, b:2", out, 16));
	EXPECT_EQ(-1, shoal_config_parse_hostports("a:1,A:1", out, 16));
	EXPECT_EQ(-1, shoal_config_parse_hostports("a:1,b:2,c:3", out, 2));
	for (i = 0; i <= SHOAL_CONFIG_MAX_MEDIATORS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%sh%u:1", i ? "," : "", i);
	EXPECT_EQ(-1, shoal_config_parse_hostports(many, out,
						   SHOAL_CONFIG_MAX_MEDIATORS));
	*strrchr(many, ',') = '\0';
	EXPECT_EQ((int)SHOAL_CONFIG_MAX_MEDIATORS,
		  shoal_config_parse_hostports(many, out,
					       SHOAL_CONFIG_MAX_MEDIATORS));
}

TEST(mediator)
{
	struct shoal_config c;
	char err[256], key[SHOAL_KEY_B64_LEN + 1];

	ASSERT_EQ(0, parse(&c, IFACE "[Mediator]\nAddress = med.example.org:51800\n"
			   "PublicKey = " KEY1 "\nNickname = alice_1\n",
			   err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(c.has_mediator);
	EXPECT_EQ(1u, c.n_mediator_addresses);
	EXPECT_STREQ("med.example.org:51800", c.mediator_addresses[0]);
	EXPECT_STREQ(KEY1, key_text(key, c.mediator_key));
	EXPECT_STREQ("alice_1", c.nickname);
	shoal_config_free(&c);

	ASSERT_EQ(0, parse(&c, "[mediator]\naddress = [2001:db8::1]:1\n"
			   "publickey = " KEY2 "\n" IFACE, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_TRUE(c.has_mediator);
	EXPECT_STREQ("[2001:db8::1]:1", c.mediator_addresses[0]);
	EXPECT_STREQ("", c.nickname);
	shoal_config_free(&c);

	/* A cluster: a list, repeated to add more, in the order given. */
	ASSERT_EQ(0, parse(&c, IFACE "[Mediator]\nAddress = a.example:1, "
			   "[2001:db8::2]:2\nPublicKey = " KEY1 "\n"
			   "Address = 192.0.2.3:3\n", err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_TRUE(c.has_mediator);
	EXPECT_EQ(3u, c.n_mediator_addresses);
	EXPECT_STREQ("a.example:1", c.mediator_addresses[0]);
	EXPECT_STREQ("[2001:db8::2]:2", c.mediator_addresses[1]);
	EXPECT_STREQ("192.0.2.3:3", c.mediator_addresses[2]);
	shoal_config_free(&c);

	ASSERT_EQ(0, parse(&c, IFACE, err, sizeof(err)));
	EXPECT_FALSE(c.has_mediator);
	shoal_config_free(&c);

	/* Without Address and PublicKey: only the other keys count. */
	ASSERT_EQ(0, parse(&c, IFACE "[Mediator]\nAddressRanges = "
			   "100.64.0.0/16, fd00::/8\n", err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_FALSE(c.has_mediator);
	EXPECT_EQ(2u, c.n_mediator_ranges);
	EXPECT_EQ(16, c.mediator_ranges[0].len);
	EXPECT_EQ(AF_INET6, c.mediator_ranges[1].family);
	shoal_config_free(&c);

	EXPECT_TRUE(shoal_config_valid_hostport("127.0.0.1:51800"));
	EXPECT_TRUE(shoal_config_valid_hostport("[::1]:65535"));
	EXPECT_FALSE(shoal_config_valid_hostport(":1"));
	EXPECT_FALSE(shoal_config_valid_hostport("[]:1"));
	EXPECT_FALSE(shoal_config_valid_hostport("host:01"));
	EXPECT_FALSE(shoal_config_valid_hostport("host:1x"));
	EXPECT_TRUE(shoal_config_valid_nickname("a"));
	EXPECT_FALSE(shoal_config_valid_nickname(""));
	EXPECT_FALSE(shoal_config_valid_nickname("a b"));
}

TEST(errors)
{
	struct shoal_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		EXPECT_EQ(-1, parse(&c, bad_files[i].text, err, sizeof(err)))
			TH_LOG("accepted case %zu", i);
		EXPECT_EQ(0, strncmp(err, bad_files[i].where,
				     strlen(bad_files[i].where)))
			TH_LOG("case %zu: want '%s': %s", i,
			       bad_files[i].where, err);
		EXPECT_NE(NULL, strstr(err, bad_files[i].what))
			TH_LOG("case %zu: want '%s': %s", i,
			       bad_files[i].what, err);
		/* Left empty: nothing to free, no key left behind. */
		EXPECT_EQ(NULL, c.peers);
		EXPECT_EQ(0U, c.n_peers);
		EXPECT_EQ(0, c.private_key[0]);
		EXPECT_EQ(0, c.private_key[SHOAL_KEY_LEN - 1]);
		shoal_config_free(&c);
	}
}

TEST(private_key_never_in_messages)
{
	static const char *const texts[] = {
		"[Interface]\nName = x\nPrivateKey = " ALICE_PRIV "A\n",
		"[Interface]\nName = x\nPrivateKey " ALICE_PRIV "\n",
		"[Interface]\nName = x\nPrivateKey: " ALICE_PRIV "\n",
		"[Interface]\nName = x\nPrivate Key = " ALICE_PRIV "\n",
		"PrivateKey = " ALICE_PRIV "\n[Interface]\n",
		IFACE "PrivateKey = " ALICE_PRIV "\n",
	};
	struct shoal_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		EXPECT_EQ(-1, parse(&c, texts[i], err, sizeof(err)));
		EXPECT_NE(0, err[0]);
		/* Not even a good part of it. */
		EXPECT_EQ(NULL, strstr(err, "dwdtCnMYpX08"))
			TH_LOG("case %zu: %s", i, err);
	}
}

TEST(nul_and_long_lines)
{
	static const char nul[] = IFACE "ListenPort = 1\0 2\n";
	char *text, err[256];
	struct shoal_config c;
	size_t n;

	EXPECT_EQ(-1, shoal_config_parse(&c, nul, sizeof(nul) - 1, "src", err,
					 sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "src:4: NUL byte")) TH_LOG("%s", err);

	/* A comment of exactly the longest line, then one byte more. */
	text = malloc(sizeof(IFACE) + SHOAL_CONFIG_MAX_LINE + 8);
	ASSERT_NE(NULL, text);
	n = strlen(IFACE);
	memcpy(text, IFACE, n);
	text[n] = '#';
	memset(text + n + 1, 'x', SHOAL_CONFIG_MAX_LINE - 1);
	memcpy(text + n + SHOAL_CONFIG_MAX_LINE, "\r\n", 2);
	ASSERT_EQ(0, shoal_config_parse(&c, text, n + SHOAL_CONFIG_MAX_LINE + 2,
					"src", err, sizeof(err)))
		TH_LOG("%s", err);
	shoal_config_free(&c);
	text[n + SHOAL_CONFIG_MAX_LINE] = 'x';
	EXPECT_EQ(-1, shoal_config_parse(&c, text, n + SHOAL_CONFIG_MAX_LINE + 1,
					 "src", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "src:4: line too long")) TH_LOG("%s", err);
	free(text);

	text = calloc(1, SHOAL_CONFIG_MAX_SIZE + 1);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(-1, shoal_config_parse(&c, text, SHOAL_CONFIG_MAX_SIZE + 1,
					 "src", err, sizeof(err)));
	EXPECT_STREQ("src: too large (more than 1048576 bytes)", err);
	free(text);
}

TEST(small_error_buffers)
{
	struct shoal_config c;
	char err[8];

	memset(err, 'z', sizeof(err));
	EXPECT_EQ(-1, shoal_config_parse(&c, "x", 1, "a-long-source-name", err,
					 sizeof(err)));
	EXPECT_STREQ("a-long-", err);
	EXPECT_EQ(-1, shoal_config_parse(&c, "x", 1, "s", err, 1));
	EXPECT_STREQ("", err);
	EXPECT_EQ(-1, shoal_config_parse(&c, "x", 1, "s", NULL, 0));
	EXPECT_EQ(-1, shoal_config_parse(&c, "x", 1, NULL, err, sizeof(err)));
	EXPECT_EQ(0, strncmp(err, "config:", 7)) TH_LOG("%s", err);
}

/* Every peer's key differs in its first two bytes; dup_of repeats some. */
static char *peers_text(size_t n, size_t dup_a, size_t of_a, size_t dup_b,
			size_t of_b)
{
	size_t size = sizeof(IFACE) + n * (sizeof("[Peer]\nPublicKey = \n") +
					   SHOAL_KEY_B64_LEN);
	char *text = malloc(size), b64[SHOAL_KEY_B64_LEN + 1];
	uint8_t key[SHOAL_KEY_LEN] = { 0 };
	size_t i, len;

	if (!text)
		return NULL;
	len = (size_t)snprintf(text, size, "%s", IFACE);
	for (i = 0; i < n; i++) {
		size_t k = i == dup_a ? of_a : i == dup_b ? of_b : i;

		key[0] = (uint8_t)k;
		key[1] = (uint8_t)(k >> 8);
		key[2] = 0x77;
		shoal_key_to_base64(b64, key);
		len += (size_t)snprintf(text + len, size - len,
					"[Peer]\nPublicKey = %s\n", b64);
	}
	return text;
}

TEST(many_peers)
{
	struct shoal_config c;
	char err[256], want[128];
	char *text;

	text = peers_text(SHOAL_CONFIG_MAX_PEERS, SIZE_MAX, 0, SIZE_MAX, 0);
	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, parse(&c, text, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ((size_t)SHOAL_CONFIG_MAX_PEERS, c.n_peers);
	EXPECT_EQ(4U + 2U * (SHOAL_CONFIG_MAX_PEERS - 1),
		  c.peers[SHOAL_CONFIG_MAX_PEERS - 1].line);
	EXPECT_EQ(0x77, c.peers[SHOAL_CONFIG_MAX_PEERS - 1].public_key[2]);
	EXPECT_EQ(0x0f, c.peers[SHOAL_CONFIG_MAX_PEERS - 1].public_key[1]);
	shoal_config_free(&c);
	free(text);

	text = peers_text(SHOAL_CONFIG_MAX_PEERS + 1, SIZE_MAX, 0, SIZE_MAX,
			  0);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(-1, parse(&c, text, err, sizeof(err)));
	snprintf(want, sizeof(want), "src:%d: too many peers (at most 4096)",
		 4 + 2 * SHOAL_CONFIG_MAX_PEERS);
	EXPECT_STREQ(want, err);
	free(text);

	/*
	 * Peer 3000 repeats peer 5 and peer 1000 repeats peer 10: the first
	 * repetition in the file is reported, whatever the keys sort as.
	 */
	text = peers_text(SHOAL_CONFIG_MAX_PEERS, 3000, 5, 1000, 10);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(-1, parse(&c, text, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "src:%d: [Peer] has the same PublicKey as the [Peer] on line %d",
		 4 + 2 * 1000, 4 + 2 * 10);
	EXPECT_STREQ(want, err);
	free(text);
}

TEST(load_file)
{
	char path[] = "/tmp/shoal-config-XXXXXX", err[256];
	struct shoal_config c;
	size_t n = strlen(full);
	char *big;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)n, write(fd, full, n));
	ASSERT_EQ(0, fchmod(fd, 0600));
	EXPECT_FALSE(shoal_config_file_too_open(path));
	ASSERT_EQ(0, shoal_config_load(&c, path, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("shoal0", c.name);
	EXPECT_EQ(2U, c.n_peers);
	shoal_config_free(&c);
	ASSERT_EQ(0, fchmod(fd, 0640));
	EXPECT_TRUE(shoal_config_file_too_open(path));
	ASSERT_EQ(0, fchmod(fd, 0604));
	EXPECT_TRUE(shoal_config_file_too_open(path));
	ASSERT_EQ(0, fchmod(fd, 0400));
	EXPECT_FALSE(shoal_config_file_too_open(path));
	ASSERT_EQ(0, fchmod(fd, 0600));
	close(fd);

	/* Errors are named by the path. */
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs(IFACE "\nListenPort = x\n", f);
	fclose(f);
	EXPECT_EQ(-1, shoal_config_load(&c, path, err, sizeof(err)));
	EXPECT_EQ(0, strncmp(err, path, strlen(path))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, ":5: ListenPort")) TH_LOG("%s", err);

	/* Exactly the limit passes, one byte more does not. */
	big = malloc(SHOAL_CONFIG_MAX_SIZE + 1);
	ASSERT_NE(NULL, big);
	memset(big, '\n', SHOAL_CONFIG_MAX_SIZE + 1);
	memcpy(big, full, n);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1U, fwrite(big, SHOAL_CONFIG_MAX_SIZE, 1, f));
	fclose(f);
	ASSERT_EQ(0, shoal_config_load(&c, path, err, sizeof(err)))
		TH_LOG("%s", err);
	shoal_config_free(&c);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1U, fwrite(big, SHOAL_CONFIG_MAX_SIZE + 1, 1, f));
	fclose(f);
	EXPECT_EQ(-1, shoal_config_load(&c, path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, ": too large")) TH_LOG("%s", err);
	free(big);

	unlink(path);
	EXPECT_FALSE(shoal_config_file_too_open(path));
	EXPECT_EQ(-1, shoal_config_load(&c, path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, ": cannot open: ")) TH_LOG("%s", err);
	EXPECT_EQ(-1, shoal_config_load(&c, "/", err, sizeof(err)));
	EXPECT_STREQ("/: cannot read: Is a directory", err);
}

TEST(allowed_ips)
{
	char text[33 * 16 + 64], buf[SHOAL_PREFIX_STRLEN + 1], err[256];
	struct shoal_config c;
	size_t n;
	int i;

	ASSERT_EQ(0, parse(&c, IFACE "[Peer]\nPublicKey = " BOB_PUB "\n"
			   "AllowedIPs = 100.64.0.2/32, fd00::/64\n"
			   "AllowedIPs = fe80::1/128\n", err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(1U, c.n_peers);
	ASSERT_EQ(3U, c.peers[0].n_allowed_ips);
	EXPECT_STREQ("100.64.0.2/32", prefix_text(buf, &c.peers[0].allowed_ips[0]));
	EXPECT_STREQ("fd00::/64", prefix_text(buf, &c.peers[0].allowed_ips[1]));
	EXPECT_STREQ("fe80::1/128", prefix_text(buf, &c.peers[0].allowed_ips[2]));
	shoal_config_free(&c);

	/* A link-local prefix would speak for every peer's link-local. */
	EXPECT_EQ(-1, parse(&c, IFACE "[Peer]\nPublicKey = " BOB_PUB "\n"
			    "AllowedIPs = 100.64.0.2/32\nAllowedIPs = fe80::/10\n",
			    err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "src:7: AllowedIPs: 'fe80::/10' would let the peer answer for every link-local address"))
		TH_LOG("%s", err);
	shoal_config_free(&c);
	EXPECT_EQ(-1, parse(&c, IFACE "[Peer]\nPublicKey = " BOB_PUB "\n"
			    "AllowedIPs = fe80::/64\n", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "'fe80::/64' would let")) TH_LOG("%s", err);
	shoal_config_free(&c);

	/*
	 * 31 is the most, one slot being the MAC's link-local address; the
	 * 32nd is refused on its line.
	 */
	n = (size_t)snprintf(text, sizeof(text),
			     IFACE "[Peer]\nPublicKey = " BOB_PUB "\nAllowedIPs = ");
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.%d.0.0/16",
				      i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	EXPECT_EQ(-1, parse(&c, text, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "AllowedIPs: more than 31 addresses"))
		TH_LOG("%s", err);
	shoal_config_free(&c);
}

TEST(prefixes)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "100.64.0.1/24", "100.64.0.1/24" },
		{ "10.0.0.1", "10.0.0.1/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "fd00::1/64", "fd00::1/64" },
		{ "FD00:0::1", "fd00::1/128" },
		{ "::", "::/128" },
		{ "::ffff:1.2.3.4/96", "::ffff:1.2.3.4/96" },
		{ "2001:db8::/128", "2001:db8::/128" },
	};
	static const char *const bad[] = {
		"", "/24", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/024",
		"10.0.0.1/00", "10.0.0.1/+1", "10.0.0.1/ 1", " 10.0.0.1",
		"10.0.0.1 ", "fd00::1%1/64", "fd00::1/129", "10.0.0.1/24/1",
		"1.2.3", "01.2.3.4", "fd00::1/64x", "fd00::1::2",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
		"10.0.0.1/99999999999999999999",
	};
	char buf[SHOAL_PREFIX_STRLEN + 1];
	struct shoal_prefix p;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ(0, shoal_prefix_parse(&p, good[i].in))
			TH_LOG("%s", good[i].in);
		EXPECT_EQ((int)strlen(good[i].out),
			  shoal_prefix_format(buf, sizeof(buf), &p));
		EXPECT_STREQ(good[i].out, buf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0xa5, sizeof(p));
		EXPECT_EQ(-1, shoal_prefix_parse(&p, bad[i]))
			TH_LOG("accepted '%s'", bad[i]);
		EXPECT_EQ(0, p.family);
	}

	/* inet_ntop() never writes dotted quads into the longest form. */
	ASSERT_EQ(0, shoal_prefix_parse(&p, "1111:2222:3333:4444:5555:6666:"
					"7777:8888/128"));
	EXPECT_EQ(43, shoal_prefix_format(buf, sizeof(buf), &p));
	EXPECT_EQ(43, shoal_prefix_format(buf, 44, &p));
	EXPECT_EQ(-1, shoal_prefix_format(buf, 43, &p));
	p.len = 129;
	EXPECT_EQ(-1, shoal_prefix_format(buf, sizeof(buf), &p));
	p.family = AF_INET;
	p.len = 33;
	EXPECT_EQ(-1, shoal_prefix_format(buf, sizeof(buf), &p));
	p.family = AF_UNIX;
	p.len = 0;
	EXPECT_EQ(-1, shoal_prefix_format(buf, sizeof(buf), &p));
}

/* xorshift64: deterministic, so a failure can be replayed. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void mutate(char *buf, size_t *len, size_t size, uint64_t *s)
{
	static const char special[] = "\n\r\0 \t=[],#;/:.%0123456789abcdef";
	size_t at = *len ? next(s) % *len : 0, n, from;

	switch (next(s) % 6) {
	case 0:		/* overwrite a byte with anything */
		if (*len)
			buf[at] = (char)next(s);
		break;
	case 1:		/* overwrite a byte with something meaningful */
		if (*len)
			buf[at] = special[next(s) % (sizeof(special) - 1)];
		break;
	case 2:		/* delete a span */
		n = next(s) % 16;
		if (n > *len - at)
			n = *len - at;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 3:		/* insert a meaningful byte */
		if (*len < size) {
			memmove(buf + at + 1, buf + at, *len - at);
			buf[at] = special[next(s) % (sizeof(special) - 1)];
			(*len)++;
		}
		break;
	case 4:		/* copy a span from elsewhere over this place */
		from = *len ? next(s) % *len : 0;
		n = next(s) % 64;
		if (n > *len - from)
			n = *len - from;
		if (n > *len - at)
			n = *len - at;
		memmove(buf + at, buf + from, n);
		break;
	default:	/* cut the end off */
		*len = at;
		break;
	}
}

TEST(fuzz)
{
	char work[sizeof(full) + 256], err[256];
	uint64_t seed = 0x5eed5eed12345678ULL;
	unsigned int ok = 0, i, k, rounds;
	struct shoal_config c;
	size_t len;
	char *exact;

	for (i = 0; i < 20000; i++) {
		memcpy(work, full, sizeof(full) - 1);
		len = sizeof(full) - 1;
		rounds = 1 + (unsigned int)(next(&seed) % 4);
		for (k = 0; k < rounds; k++)
			mutate(work, &len, sizeof(work), &seed);
		/* Exactly len bytes on the heap: ASan catches reading past. */
		exact = malloc(len ? len : 1);
		ASSERT_NE(NULL, exact);
		memcpy(exact, work, len);
		err[0] = 'z';
		if (shoal_config_parse(&c, exact, len, "fuzz", err,
				       sizeof(err)) == 0) {
			ok++;
			EXPECT_STREQ("", err);
			EXPECT_NE(0, c.name[0]);
			EXPECT_GT((size_t)IF_NAMESIZE, strlen(c.name));
			EXPECT_GE(8U, c.n_addrs);
			EXPECT_GE(8U, c.n_peers);
			EXPECT_LE(1U, c.rekey_seconds);
			EXPECT_LE(1U, c.keepalive_seconds);
		} else {
			EXPECT_EQ(0, strncmp(err, "fuzz:", 5))
				TH_LOG("%s", err);
			EXPECT_EQ(NULL, c.peers);
		}
		shoal_config_free(&c);
		free(exact);
	}
	/* Both outcomes were exercised, not just the first error check. */
	TH_LOG("%u of 20000 mutations parsed", ok);
	EXPECT_LT(500U, ok);
	EXPECT_LT(1000U, 20000 - ok);
}

/* What a mediator may assign: inside a range, no wider than it. */
TEST(prefix_within)
{
	static const struct {
		const char *p;
		bool in;
	} cases[] = {
		{ "100.64.0.5/10", true },
		{ "100.127.255.254/32", true },
		{ "100.64.0.5/9", false },
		{ "8.8.8.8/1", false },
		{ "0.0.0.0/0", false },
		{ "100.128.0.1/10", false },
		{ "fd12:3456::1/64", true },
		{ "fc00::1/7", true },
		{ "fc00::1/6", false },
		{ "fe80::1/64", false },
		{ "2001:db8::1/128", false },
		{ "::/0", false },
	};
	struct shoal_prefix ranges[2], p;
	size_t i;

	ASSERT_EQ(0, shoal_prefix_parse(&ranges[0], "100.64.0.0/10"));
	ASSERT_EQ(0, shoal_prefix_parse(&ranges[1], "fc00::/7"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, shoal_prefix_parse(&p, cases[i].p));
		EXPECT_EQ(cases[i].in, shoal_prefix_within(ranges, 2, &p))
			TH_LOG("%s", cases[i].p);
	}
	/* Only the ranges given count. */
	ASSERT_EQ(0, shoal_prefix_parse(&p, "fd00::1/64"));
	EXPECT_FALSE(shoal_prefix_within(ranges, 1, &p));
	ASSERT_EQ(0, shoal_prefix_parse(&p, "100.64.0.1/10"));
	EXPECT_FALSE(shoal_prefix_within(ranges, 0, &p));
}


TEST(lan_broadcast)
{
	struct shoal_config c;
	char err[512], text[SHOAL_PORTLIST_STRLEN + 1];

	ASSERT_EQ(0, parse(&c, IFACE, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_FALSE(c.lan_broadcast);
	EXPECT_EQ(0U, c.lan_broadcast_ports.n);
	shoal_config_free(&c);

	ASSERT_EQ(0, parse(&c, IFACE "LanBroadcast = Yes\n"
			   "LanBroadcastPorts = 27015 , 7777-7779,80\n", err,
			   sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(c.lan_broadcast);
	ASSERT_EQ(3U, c.lan_broadcast_ports.n);
	/* Sorted. */
	EXPECT_EQ(80, c.lan_broadcast_ports.r[0].low);
	EXPECT_EQ(80, c.lan_broadcast_ports.r[0].high);
	EXPECT_EQ(7777, c.lan_broadcast_ports.r[1].low);
	EXPECT_EQ(7779, c.lan_broadcast_ports.r[1].high);
	EXPECT_EQ(27015, c.lan_broadcast_ports.r[2].low);
	EXPECT_LT(0, shoal_portlist_format(text, sizeof(text),
					   &c.lan_broadcast_ports));
	EXPECT_STREQ("80,7777-7779,27015", text);
	/* Too small a buffer is -1, never a cut list. */
	EXPECT_EQ(-1, shoal_portlist_format(text, 8, &c.lan_broadcast_ports));
	shoal_config_free(&c);

	ASSERT_EQ(0, parse(&c, IFACE "LanBroadcastPorts = all\n"
			   "LanBroadcast = no\n", err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_FALSE(c.lan_broadcast);
	EXPECT_EQ(0U, c.lan_broadcast_ports.n);
	EXPECT_EQ(3, shoal_portlist_format(text, sizeof(text),
					   &c.lan_broadcast_ports));
	EXPECT_STREQ("all", text);
	shoal_config_free(&c);

	/* The edges of the port numbers. */
	ASSERT_EQ(0, parse(&c, IFACE "LanBroadcastPorts = 1-65535\n", err,
			   sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, c.lan_broadcast_ports.r[0].low);
	EXPECT_EQ(65535, c.lan_broadcast_ports.r[0].high);
	shoal_config_free(&c);
}

TEST(portlist_refusals_leave_it_empty)
{
	static const char *const bad[] = {
		"", " ", "all all", "ALL", "1,,2", "1-", "-", "0-5", "5-0",
		"99999", "1x", "1.5", "1-2,2-3", "65536-65537", "\t,",
	};
	struct shoal_portlist l;
	char err[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&l, 0xa5, sizeof(l));
		err[0] = '\0';
		EXPECT_EQ(-1, shoal_portlist_parse(&l, bad[i], err,
						   sizeof(err)))
			TH_LOG("accepted '%s'", bad[i]);
		EXPECT_EQ(0U, l.n);
		EXPECT_NE('\0', err[0]);
	}
	/* No room for a message: still refused, nothing written. */
	EXPECT_EQ(-1, shoal_portlist_parse(&l, "x", NULL, 0));
	EXPECT_EQ(0, shoal_portlist_parse(&l, " 7777-7779 ,27015 ", NULL, 0));
	EXPECT_EQ(2U, l.n);
}

TEST(names_key)
{
	struct shoal_config c;
	char err[256];

	ASSERT_EQ(0, parse(&c, IFACE "Names = no\n", err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_FALSE(c.names);
	shoal_config_free(&c);
}

TEST(default_nickname)
{
	static const char *const cases[][2] = {
		{ "alice", "alice" },
		{ "Alice-PC.example.com", "alice-pc" },
		{ "--my host_1", "my-host_1" },
		{ "ÄBC", "bc" },	/* UTF-8 bytes are no letters here */
		{ "", "member" },
		{ "...", "member" },
		{ "-._", "member" },
		{ "abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz012345" },
	};
	char out[SHOAL_CONFIG_MAX_NICK + 1], small[4];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		shoal_config_default_nickname(out, sizeof(out), cases[i][0]);
		EXPECT_STREQ(cases[i][1], out);
		EXPECT_TRUE(shoal_config_valid_nickname(out));
	}
	shoal_config_default_nickname(small, sizeof(small), "abcdef");
	EXPECT_STREQ("abc", small);
}

TEST_HARNESS_MAIN
