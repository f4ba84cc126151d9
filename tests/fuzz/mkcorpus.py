#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the libFuzzer targets in tests/fuzz/.

    tests/fuzz/mkcorpus.py [DIR]      (default: tests/fuzz/corpus)

One directory per target, a few valid inputs each, built from
docs/protocol.md, lib/config.h and docs/architecture.md by hand: the
fuzzer mutates them, so what matters is that they reach deep (right
lengths, right MACs, a finished handshake), not that there are many.
The output is the same every time; the files are committed, and this
script says how they were made.  tlv/ has hand-made seeds of its own and
is left alone.
"""
import base64
import hashlib
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- ctlmsg: a selector byte (tests/fuzz/ctlmsg.c), then the packet ----

# The keys the target uses: the receiver's public key, the session's and
# relay's keys and the cookie it makes MAC2 with, as its C string literals
# spell them (31 bytes and a NUL; 15 and a NUL).  MAC1's key label is
# still the "v1" one in protocol version 2 (docs/protocol.md, lib/ctlmsg.c).
RECEIVER_PUB = bytes.fromhex(
    "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f")
SESSION_KEY = b"fuzz: the session's control key\0"
RELAY_KEY = b"fuzz: the relay key of one side\0"
FUZZ_COOKIE = b"fuzz: a cookie.\0"
MAC1_KEY = hashlib.blake2b(b"shoal mac1 v1" + RECEIVER_PUB,
                           digest_size=32).digest()
SEAL = 0x80
# The target's ops (the selector's low seven bits).
(OP_CTL, OP_BINDING, OP_BINDING_REPLY, OP_RELAY_BIND, OP_RELAY_BOUND,
 OP_PAYLOADS, OP_RELAY_CHALLENGE, OP_COOKIE_REPLY, OP_SOURCE_COOKIE) = range(9)


def mac(body, key):
    """Keyed BLAKE2b-128 of everything before it (docs/protocol.md)."""
    return body + hashlib.blake2b(body, digest_size=16, key=key).digest()


def hdr(t):
    return bytes([t, 2, 0, 0])


def pattern(n, seed):
    return bytes((seed + 7 * i) & 0xff for i in range(n))


def ctl(name, op, data):
    write("ctlmsg", name, bytes([op]) + data)


# INIT with MAC1 and no MAC2: the target's sent_init, whose answers its
# COOKIE_REPLYs are.
init = mac(hdr(1) + struct.pack(">I", 0x100) + pattern(112, 1),
           MAC1_KEY) + bytes(16)
init_mac2 = mac(init[:136], FUZZ_COOKIE)
response = mac(hdr(2) + struct.pack(">II", 0x2a7, 0x100) + pattern(52, 2),
               MAC1_KEY)
confirm = mac(hdr(3) + struct.pack(">II", 0x100, 0x2a7), SESSION_KEY)
ping = mac(hdr(4) + struct.pack(">IQ", 0x2a7, 1), SESSION_KEY)
pong = mac(hdr(5) + struct.pack(">IQ", 0x100, 1), SESSION_KEY)
# A COOKIE_REPLY to that INIT: header, its SPI, a nonce, then the cookie
# in the clear and room for the tag, which the target seals (SEAL): no
# XChaCha20-Poly1305 in Python's standard library.
cookie_reply = hdr(6) + struct.pack(">I", 0x100) + pattern(24, 8) + \
    pattern(16, 9) + bytes(16)
assert (len(init), len(response), len(confirm), len(ping),
        len(cookie_reply)) == (152, 80, 28, 32, 64)
ctl("init", OP_CTL, init)
ctl("init-mac2", OP_CTL, init_mac2)
ctl("init-sealed", SEAL | OP_CTL, init[:120] + bytes(32))
ctl("response", OP_CTL, response)
ctl("confirm", OP_CTL, confirm)
ctl("ping", OP_CTL, ping)
ctl("pong-sealed", SEAL | OP_CTL, pong[:-16] + bytes(16))
ctl("cookie-reply-sealed", SEAL | OP_CTL, cookie_reply)
# OP_COOKIE_REPLY: the INIT that was sent, then what came back.
ctl("cookie-reply-to-init-sealed", SEAL | OP_COOKIE_REPLY,
    init_mac2 + cookie_reply)

# BINDINGs: anonymous (zeros from the token on), and a login's, whose
# token key (X25519) the target puts in (SEAL).
txid = pattern(12, 3)
token = pattern(16, 4)
ctl("binding", OP_BINDING, hdr(16) + bytes([0, 0, 0, 0]) + txid + bytes(40))
ctl("binding-other-port", OP_BINDING, hdr(16) + bytes([1, 0, 0, 0]) + txid +
    bytes(40))
ctl("binding-token-sealed", SEAL | OP_BINDING, hdr(16) +
    bytes([2, 0, 0, 0]) + txid + token +
    struct.pack(">Q", 1733300000000000000) + bytes(16))
ctl("binding-reply-v4", OP_BINDING_REPLY, hdr(17) + bytes([4, 0x80]) +
    struct.pack(">H", 40000) + bytes([198, 51, 100, 7]) + bytes(12) + txid)
ctl("binding-reply-v6", OP_BINDING_REPLY, hdr(17) + bytes([6, 0x40]) +
    struct.pack(">H", 51820) +
    bytes.fromhex("20010db8000000000000000000000001") + txid)
ctl("binding-reply-v4mapped", OP_BINDING_REPLY, hdr(17) + bytes([6, 0]) +
    struct.pack(">H", 51820) +
    bytes.fromhex("00000000000000000000ffffc0000201") + txid)

# Relay messages: relay id, counter, the cookie of BIND and CHALLENGE.
relay_cookie = pattern(16, 10)
relay = struct.pack(">IQ", 7, 1733300000000000000)
ctl("relay-bind", OP_RELAY_BIND, mac(hdr(18) + relay + bytes(16), RELAY_KEY))
ctl("relay-bind-cookie", OP_RELAY_BIND,
    mac(hdr(18) + relay + relay_cookie, RELAY_KEY))
ctl("relay-challenge", OP_RELAY_CHALLENGE,
    mac(hdr(20) + relay + relay_cookie, RELAY_KEY))
ctl("relay-bound", OP_RELAY_BOUND, mac(hdr(19) + relay, RELAY_KEY))
# An INIT payload: the SPI and a TAI64N timestamp.
ctl("payloads", OP_PAYLOADS, struct.pack(">I", 0x100) +
    struct.pack(">QI", 0x400000000000000a + 1733300000, 123456789))
# Sources of INITs: family, 16 bytes of address, port.
ctl("source-cookie-v4", OP_SOURCE_COOKIE, bytes([4, 192, 0, 2, 7]) +
    bytes(12) + struct.pack(">H", 40000))
ctl("source-cookie-v6", OP_SOURCE_COOKIE, bytes([6]) +
    bytes.fromhex("20010db8000000000000000000000007") +
    struct.pack(">H", 51820))

# ---- medmsg: a selector byte (tests/fuzz/medmsg.c), then the input ----


def endpoint(family, addr, port):
    return bytes([family]) + addr + struct.pack(">H", port)


V4 = bytes([203, 0, 113, 5])
V6 = bytes.fromhex("20010db8000000000000000000000005")
write("medmsg", "get-v4", bytes([0]) + endpoint(4, V4, 51820))
write("medmsg", "get-v6", bytes([0]) + endpoint(6, V6, 51800))
write("medmsg", "get-port-0", bytes([0]) + endpoint(4, V4, 0))
write("medmsg", "put-v4", bytes([1, 4]) + V4 + bytes(12) +
      struct.pack(">H", 51820))
write("medmsg", "put-v6", bytes([1, 6]) + V6 + struct.pack(">H", 1))


def attr(t, v):
    return struct.pack(">HH", t, len(v)) + v


def msg(t, flags, rid, attrs):
    """The TLV header (docs/protocol.md): version, type, flags, id."""
    return struct.pack(">BBHI", 1, t, flags, rid) + b"".join(attrs)


KEY = pattern(32, 5)
login_reply = msg(1, 1, 1, [
    attr(1, struct.pack(">I", 0)), attr(3, b"alice"),
    attr(8, bytes([100, 64, 0, 5, 10])), attr(9, V6 + bytes([64])),
    attr(10, bytes.fromhex("1205156a3c98")), attr(17, pattern(16, 6)),
    attr(18, endpoint(4, bytes([203, 0, 113, 9]), 51800))])
peer_up = msg(64, 0, 0, [attr(0x8003, b"".join([
    attr(7, KEY), attr(3, b"bob"), attr(8, bytes([100, 64, 0, 6, 10])),
    attr(10, bytes.fromhex("1205156a3c99")),
    attr(15, endpoint(4, bytes([198, 51, 100, 9]), 51820)),
    attr(15, endpoint(6, V6, 51820)),
    attr(15, endpoint(4, bytes([192, 168, 1, 20]), 51820))]))])
relay = msg(66, 0, 0, [attr(7, KEY), attr(15, endpoint(4, V4, 51810)),
                       attr(19, struct.pack(">I", 7)),
                       attr(20, pattern(32, 7))])
login = msg(1, 0, 1, [attr(3, b"alice"), attr(14, struct.pack(">H", 51820)),
                      attr(15, endpoint(4, bytes([192, 168, 1, 10]), 51820)),
                      attr(15, endpoint(6, V6, 51820))])
write("medmsg", "login", bytes([2]) + login)
write("medmsg", "login-reply", bytes([2]) + login_reply)
write("medmsg", "peer-up", bytes([2]) + peer_up)
write("medmsg", "relay", bytes([2]) + relay)
# NAT (docs/protocol.md): in PEER, and PEER_NAT's.
write("medmsg", "peer-nat", bytes([2]) + msg(67, 0, 0, [
    attr(7, KEY), attr(22, bytes([3, 3, 1]))]))

# ---- instance: mediator messages with INSTANCE nests (a cluster) ----


def instance(name, adv, load=None):
    body = attr(32, name) + attr(34, adv)
    if load is not None:
        body += attr(35, load)
    return attr(0x8021, body)


write("instance", "login-reply", msg(1, 1, 1, [
    attr(1, struct.pack(">I", 0)), attr(32, b"med-a"),
    instance(b"med-a", b"198.51.100.1:51800", struct.pack(">I", 12)),
    instance(b"med-b", b"[2001:db8::2]:51800", struct.pack(">I", 3))]))
write("instance", "redirect", msg(1, 1, 1, [
    attr(1, struct.pack(">i", -108)),
    instance(b"med-b", b"med-b.example.org:51800", struct.pack(">I", 0))]))
write("instance", "event", msg(72, 0, 0, [
    instance(b"a", b"h:1"), instance(b"bad/name", b"h:2"),
    instance(b"c", b"", struct.pack(">H", 1))]))

# ---- config: shoald.conf(5) files (lib/config.h) ----


def b64(seed):
    return base64.b64encode(pattern(32, seed)).decode()


write("config", "static", f"""# shoald.conf(5), two peers
[Interface]
Name = shoal0
PrivateKey = {b64(10)}
ListenPort = 51820
Address = 100.64.0.1/24, fd00::1/64
MAC = 02:00:00:00:00:01
RekeySeconds = 120
KeepaliveSeconds = 10

[Peer]
PublicKey = {b64(11)}
Endpoint = 192.0.2.7:51820
MAC = 02:00:00:00:00:02
Address = 100.64.0.2/32

[Peer]
PublicKey = {b64(12)}
Endpoint = [2001:db8::7]:51820
Address = 100.64.0.3
Address = fd00::3/128
""")
write("config", "mediator", f"""[Interface]
Name = shoal0
PrivateKey = {b64(13)}
ListenPort = 51820

[Mediator]
Address = 203.0.113.5:51800
PublicKey = {b64(14)}
Nickname = alice
""")
write("config", "mediator-v6-name", f"""[Mediator]
Address = [2001:db8::5]:51800
PublicKey = {b64(15)}
[interface]
name=shoal1 ; a comment after a blank
privatekey={b64(16)}
[peer]
publickey = {b64(17)}
endpoint = [fe80::1%2]:51820
""")
write("config", "state-file", f"""# Written by shoald at `shoal login`.
[Mediator]
Address = mediator.example.net:51800
PublicKey = {b64(18)}
[Interface]
Name = x
PrivateKey = {b64(19)}
""")
write("config", "crlf", f"[Interface]\r\nName = shoal0\r\n"
      f"PrivateKey = {b64(20)}\r\n\r\n[Peer]\r\nPublicKey = {b64(21)}\r\n")
write("config", "error-peer-key", f"""[Interface]
Name = shoal0
PrivateKey = {b64(22)}
[Peer]
PublicKey = not a key
""")

# ---- jsonread: shoald's answers (man/shoald.8, CONTROL SOCKET) ----

write("jsonread", "status",
      '{"ifname": "shoal0", "datapath": "kernel", "public_key": '
      '"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", "mac": '
      '"12:05:15:6a:3c:98", "listen_port": 51820, "control_rejected": 0, '
      '"handshakes": 2, "mediator": {"address": "203.0.113.5:51800", '
      '"logged_in": true, "nickname": "alice", "ipv4": "100.64.0.5/10", '
      '"ipv6": "fd5b:7a1c:3e09::5/64", "udp_verified": true, '
      '"public_endpoint": null}, "peers": [{"public_key": '
      '"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", "nickname": "bob", '
      '"mac": "12:05:15:6a:3c:99", "address": "100.64.0.6", "address6": '
      'null, "online": true, "path": "relay", "endpoint": '
      '"198.51.100.9:51820", "rtt_ms": 1.310, "last_handshake": '
      '1795636899, "rx_bytes": 400, "tx_bytes": 400}]}\n')
write("jsonread", "networks",
      '{"logged_in": true, "mediator": "[2001:db8::5]:51800", "nickname": '
      '"al\\u00efce", "networks": [{"name": "lanparty", "approval": false, '
      '"members": [{"nickname": "bob", "public_key": "k", "ipv4": '
      '"100.64.0.6", "ipv6": null, "online": false, "state": "pending", '
      '"owner": false}]}]}')
write("jsonread", "netcheck",
      '{"public_endpoint": "198.51.100.7:40000", "mapping": '
      '"endpoint-independent", "filtering": "address-dependent", "udp": '
      'true, "probe": null}')
# ---- render: the same answers, as the renderers get them ----

for name in ("status", "networks", "netcheck"):
    with open(os.path.join(OUT, "jsonread", name), "rb") as src:
        write("render", name, src.read())
write("render", "login",
      '{"nickname": "alice", "ipv4": "100.64.0.5/10", "ipv6": null, '
      '"mac": "12:05:15:6a:3c:98", "udp_verified": false}')
write("render", "hostile",
      '{"ifname": "\\u001b]0;x\\u0007", "peers": [{"nickname": '
      '"\\u009b2J", "rx_bytes": 18446744073709551615, "rtt_ms": 1e999}], '
      '"networks": [{"name": "n", "members": [{"nickname": '
      '"\\u0085", "ipv4": "1/2/3"}]}], "truncated": true}')
write("jsonread", "escapes",
      '["\\"\\\\\\/\\b\\f\\n\\r\\t", "\\ud83d\\ude00 \\u20ac \u00e9", '
      '-0, 0.5, -1.25e+10, 3E-2, [], {}, [[[null]]]]')

# ---- channel: scripts of tests/fuzz/channel.c's ops ----

(SEND_C, SEND_S, DELIVER_C, DELIVER_S, ZC_C, ZC_S, FLIP_C, FLIP_S, INJECT_S,
 INJECT_C, DROP_C, DROP_S, DUP_C, DUP_S, DRAIN, LIMIT_S, EOF) = range(17)


def ops(*items):
    out = b""
    for it in items:
        if isinstance(it, bytes):
            out += it
        else:
            out += bytes(it) if isinstance(it, tuple) else bytes([it])
    return out


HANDSHAKE = ops((DELIVER_C, 0, 0), (DELIVER_S, 0, 0))
write("channel", "handshake", HANDSHAKE + ops(EOF))
write("channel", "both-ways", HANDSHAKE + ops(
    (SEND_C, 10), (SEND_S, 200), (SEND_C, 0), (SEND_S, 250),
    (DELIVER_C, 0, 0), (DELIVER_S, 0, 0), DRAIN, EOF))
write("channel", "byte-by-byte", ops(*[(ZC_C, 0, 1)] * 8, (DELIVER_C, 0, 0),
                                     *[(ZC_S, 0, 3)] * 4, (DELIVER_S, 0, 0),
                                     (SEND_C, 20), *[(ZC_C, 0, 5)] * 8, DRAIN))
write("channel", "big", HANDSHAKE + ops((SEND_C, 253), (SEND_C, 254),
                                        (SEND_C, 255), (DELIVER_C, 0, 0),
                                        DRAIN))
write("channel", "flip-msg1", ops((FLIP_C, 0, 40, 1), (DELIVER_C, 0, 0),
                                  (DELIVER_S, 0, 0)))
write("channel", "flip-transport", HANDSHAKE + ops(
    (SEND_S, 30), (FLIP_S, 0, 20, 0x80), (DELIVER_S, 0, 0), DRAIN))
write("channel", "inject", ops((INJECT_S, 7), b"\x00\x61hello", (DELIVER_C, 0, 0)))
write("channel", "limit", ops((LIMIT_S, 1)) + HANDSHAKE +
      ops((SEND_C, 100), (SEND_C, 250), (DELIVER_C, 0, 0), DRAIN))
write("channel", "replay", HANDSHAKE + ops((SEND_C, 5), (DUP_C, 0),
                                           (DELIVER_C, 0, 0), DRAIN))
write("channel", "drop", HANDSHAKE + ops((SEND_C, 5), (SEND_C, 6),
                                         (DROP_C, 3), (DELIVER_C, 0, 0),
                                         DRAIN, EOF))

# ---- mclient: a setup byte, then frames (tests/fuzz/mclient.c) ----
# The mediator's side of a session with shoald's mediator client: its
# messages' plaintext (the target runs the Noise channel), UDP at the
# tunnel port, `shoal` requests and ticks.  The control packets' version
# is lib/ctlmsg.h's SHOAL_CTL_VERSION.

MC_CTL_VERSION = 2
(MC_MSG, MC_EVENT, MC_REPLY, MC_UDP, MC_ANSWER, MC_REQUEST, MC_TICK, MC_EOF,
 MC_RECONNECT) = range(9)
# Setup: the target answers the LOGIN; the canned request (its index + 1,
# shifted left by 1) left pending; narrow AddressRanges; verbose.
MC_LOGIN, MC_NARROW, MC_VERBOSE = 0x01, 0x40, 0x80
(MC_NETWORKS, MC_NICK, MC_KICK_NICK, MC_LOGOUT, MC_NETCHECK) = (0, 1, 6, 11,
                                                                12)
# F_ANSWER's HOW bits.
MC_A_KNOWN, MC_A_CHALLENGE = 0x01, 0x20


def mc_pending(index):
    return (index + 1) << 1


def mc_bytes(b):
    return struct.pack(">H", len(b)) + b


def mc_event(t, attrs):
    return bytes([MC_EVENT, t]) + mc_bytes(b"".join(attrs))


def mc_reply(k, attrs):
    """The reply to the kth newest request shoald sent (0: the newest)."""
    return bytes([MC_REPLY, k]) + mc_bytes(b"".join(attrs))


def mc_answer(k, how, extra=bytes(8)):
    return bytes([MC_ANSWER, k, how]) + extra


def mc_tick(seconds):
    """A tick once about that many seconds have passed (V * V * 16 ms)."""
    return bytes([MC_TICK, min(255, round((seconds / 0.016) ** 0.5))])


MC_OK = attr(1, struct.pack(">I", 0))
MC_PEER_KEY = pattern(32, 40)
MC_MEMBER_KEY = pattern(32, 41)
MC_RELAY_KEY = pattern(32, 42)
MC_TOKEN = pattern(16, 43)
MC_MAPPED = bytes([198, 51, 100, 7]) + struct.pack(">H", 40000) + bytes(2)
mc_login_reply = [MC_OK, attr(3, b"alice"),
                  attr(8, bytes([100, 64, 0, 5, 16])),
                  attr(9, bytes.fromhex("fd000000000000000000000000000005") +
                       bytes([64])),
                  attr(10, bytes.fromhex("1205156a3c98")), attr(17, MC_TOKEN),
                  attr(18, endpoint(4, bytes([198, 51, 100, 2]), 51802))]
mc_peer_up = mc_event(64, [attr(0x8003, b"".join([
    attr(7, MC_PEER_KEY), attr(3, b"bob"),
    attr(8, bytes([100, 64, 0, 6, 16])),
    attr(9, bytes.fromhex("fd000000000000000000000000000006") + bytes([64])),
    attr(10, bytes.fromhex("1205156a3c99")),
    attr(15, endpoint(4, bytes([198, 51, 100, 9]), 51820)),
    attr(15, endpoint(6, V6, 51820)),
    attr(15, endpoint(4, bytes([192, 168, 1, 20]), 51820)),
    attr(15, endpoint(4, bytes([169, 254, 7, 7]), 51820)),
    attr(15, endpoint(4, bytes([127, 0, 0, 1]), 51820))]))])
mc_relay = mc_event(66, [attr(7, MC_PEER_KEY),
                         attr(15, endpoint(4, bytes([192, 0, 2, 1]), 51810)),
                         attr(19, struct.pack(">I", 7)),
                         attr(20, MC_RELAY_KEY)])
mc_member = attr(0x8001, b"".join([
    attr(3, b"carol"), attr(7, MC_MEMBER_KEY),
    attr(8, bytes([100, 64, 0, 7, 10])),
    attr(9, bytes.fromhex("fd000000000000000000000000000007") + bytes([64])),
    attr(10, bytes.fromhex("1205156a3c9a")), attr(11, bytes([1])),
    attr(12, bytes([2])), attr(13, b"")]))
mc_networks = [MC_OK, attr(0x8002, b"".join([
    attr(4, b"lan"), attr(6, b""), mc_member,
    attr(0x8001, attr(3, b"dave") + attr(12, bytes([1])))])),
    attr(0x8002, attr(4, b"caf\xc3\xa9")), attr(21, b"")]


def mc_ctl(t, body):
    return bytes([t, MC_CTL_VERSION, 0, 0]) + body


write("mclient", "login-reply", bytes([0]) + mc_reply(0, mc_login_reply) +
      mc_tick(1) + mc_answer(0, MC_A_KNOWN, MC_MAPPED) + mc_tick(1))
# Found by the fuzzer: a LOGIN reply whose MAC differs from the device's;
# shoald moves the link-local address the MAC makes (and only that one
# may be added outside AddressRanges).
write("mclient", "mac-change-link-local",
      bytes.fromhex("05020000080001000400000000"))
write("mclient", "login-refused", bytes([MC_VERBOSE]) + mc_reply(0, [
    attr(1, struct.pack(">i", -14)), attr(2, b"wrong password")]))
write("mclient", "peer-up", bytes([MC_LOGIN | MC_VERBOSE]) + mc_peer_up +
      mc_tick(0.6) + mc_tick(6))
write("mclient", "peer-down", bytes([MC_LOGIN]) + mc_peer_up +
      mc_event(65, [attr(7, MC_PEER_KEY), attr(16, bytes([2]))]) +
      mc_event(65, [attr(7, MC_PEER_KEY), attr(16, bytes([3]))]))
# PEER_UP, no way through for 5 s: RELAY asked for and answered, the
# relay's RELAY_CHALLENGE answered with the cookie, then RELAY_BOUND.
write("mclient", "relay", bytes([MC_LOGIN | MC_VERBOSE]) + mc_peer_up +
      mc_tick(6) + mc_reply(0, [MC_OK]) + mc_relay + mc_tick(0.1) +
      mc_answer(0, MC_A_CHALLENGE, pattern(8, 44)) + mc_answer(0, 0) +
      mc_tick(1))
# Our own netcheck at login finds UDP blocked (nothing answers); a peer
# with a NAT comes up: RELAY at once, not 5 s later; then PEER_NAT.
write("mclient", "nat-relay-now", bytes([MC_LOGIN | MC_VERBOSE]) +
      mc_tick(3.5) + mc_tick(3) + mc_event(64, [attr(0x8003, b"".join([
          attr(7, MC_PEER_KEY), attr(3, b"bob"),
          attr(15, endpoint(4, bytes([198, 51, 100, 9]), 51820)),
          attr(22, bytes([3, 3, 0]))]))]) + mc_tick(0.1) +
      mc_event(67, [attr(7, MC_PEER_KEY), attr(22, bytes([1, 3, 0]))]) +
      mc_tick(0.1))
write("mclient", "networks", bytes([MC_LOGIN | mc_pending(MC_NETWORKS)]) +
      mc_reply(0, mc_networks))
write("mclient", "kick-by-nickname", bytes([MC_LOGIN | MC_NARROW |
                                            mc_pending(MC_KICK_NICK)]) +
      mc_reply(0, mc_networks) + mc_reply(0, [MC_OK]))
write("mclient", "nick", bytes([MC_LOGIN | mc_pending(MC_NICK)]) +
      mc_reply(0, [MC_OK]))
write("mclient", "logout", bytes([MC_LOGIN]) + mc_peer_up +
      bytes([MC_REQUEST, MC_LOGOUT]) + mc_reply(0, [MC_OK]))
# netcheck: the three filtering BINDINGs answered, 1.2 s, the two mapping
# ones, 2.5 s: the result.
write("mclient", "netcheck", bytes([MC_LOGIN | mc_pending(MC_NETCHECK)]) +
      mc_answer(0, 0, MC_MAPPED) + mc_answer(1, 0, MC_MAPPED) +
      mc_answer(2, 0, MC_MAPPED) + mc_tick(1.3) +
      mc_answer(0, 0, MC_MAPPED) + mc_answer(1, 0, MC_MAPPED) +
      mc_tick(1.3))
# UDP as it comes: a BINDING_REPLY no BINDING asked for, from the
# mediator; a RELAY_BOUND from an address given as an ENDPOINT.
write("mclient", "udp", bytes([MC_LOGIN]) +
      bytes([MC_UDP, 0]) + mc_bytes(mc_ctl(17, bytes([4, 0x80]) +
                                           struct.pack(">H", 40000) +
                                           bytes([198, 51, 100, 7]) +
                                           bytes(12) + pattern(12, 45))) +
      bytes([MC_UDP, 3]) + endpoint(4, bytes([192, 0, 2, 1]), 51810) +
      mc_bytes(mc_ctl(19, struct.pack(">IQ", 7, 1) + bytes(16))))
write("mclient", "reconnect", bytes([MC_LOGIN]) + mc_peer_up +
      bytes([MC_EOF, MC_RECONNECT]) + mc_tick(16))
# What this target found, each fixed in shoald since.  A RESULT above 1
# taken for a success while the answer said "error" (with JSON after it):
write("mclient", "result-above-1",
      bytes([MC_LOGIN | mc_pending(MC_NETWORKS)]) +
      mc_reply(0, [attr(1, struct.pack(">I", 5))] + mc_networks[1:]) +
      bytes([MC_REQUEST, MC_NICK]) +
      mc_reply(0, [attr(1, struct.pack(">I", 2))]))
# A known peer's new MAC kept though the datapath refused it (multicast):
write("mclient", "mac-refused", bytes([MC_LOGIN]) + mc_peer_up +
      mc_event(64, [attr(0x8003, attr(7, MC_PEER_KEY) + attr(3, b"bob") +
                         attr(8, bytes([100, 64, 0, 6, 16])) +
                         attr(10, bytes.fromhex("1305156a3c99")))]))
# An earlier login's addresses left on the device:
mc_relogin = [MC_OK, attr(3, b"alice"), attr(8, bytes([100, 64, 0, 9, 16])),
              attr(9, bytes.fromhex("fd000000000000000000000000000009") +
                   bytes([64]))]
write("mclient", "relogin", bytes([0]) + mc_reply(0, mc_login_reply) +
      mc_reply(0, mc_relogin) + bytes([MC_EOF, MC_RECONNECT]) +
      mc_reply(0, mc_login_reply))
# A cluster (issue 17): the LOGIN reply names the instance and the
# instances, an INSTANCES event changes them; a REDIRECT, then the login
# at its target; the database away.
mc_instance = [attr(0x8021, attr(32, b"med-b") + attr(34, b"198.51.100.2:51800") +
                    attr(35, struct.pack(">I", 3))),
               attr(0x8021, attr(32, b"med-c") + attr(34, b"[2001:db8::3]:51800"))]
write("mclient", "cluster", bytes([0]) +
      mc_reply(0, mc_login_reply + [attr(32, b"med-a")] + mc_instance) +
      mc_event(72, mc_instance[1:]) + bytes([MC_EOF, MC_RECONNECT]) +
      mc_reply(0, mc_login_reply + [attr(32, b"med-c")]))
write("mclient", "redirect", bytes([0]) +
      mc_reply(0, [attr(1, struct.pack(">i", -108))] + mc_instance[:1]) +
      bytes([MC_RECONNECT]) + mc_reply(0, mc_login_reply))
write("mclient", "database", bytes([0]) +
      mc_reply(0, [attr(1, struct.pack(">i", -109)),
                   attr(2, b"the database is unavailable")]) +
      bytes([MC_RECONNECT]) + mc_reply(0, mc_login_reply))
# The configuration's peer (setup 0x20) removed by the mediator's
# PEER_DOWN:
MC_STATIC = 0x20
MC_STATIC_KEY = b"fuzz: a peer from the config...\0"
write("mclient", "configured-peer", bytes([MC_LOGIN | MC_STATIC]) +
      mc_event(64, [attr(0x8003, attr(7, MC_STATIC_KEY) + attr(3, b"eve") +
                         attr(8, bytes([100, 64, 0, 8, 16])))]) +
      mc_event(65, [attr(7, MC_STATIC_KEY), attr(16, bytes([1]))]) +
      bytes([MC_REQUEST, MC_LOGOUT]) + mc_reply(0, [MC_OK]))
# From the attack review of issue 12: the mediator giving the
# configuration's peer another MAC (a peer of its own could then take the
# old one, and the frames the neighbour entries send there) ...
write("mclient", "configured-peer-mac", bytes([MC_LOGIN | MC_STATIC]) +
      mc_event(64, [attr(0x8003, attr(7, MC_STATIC_KEY) + attr(3, b"eve") +
                         attr(10, bytes.fromhex("12111122334455")[:6]))]) +
      mc_peer_up)
# ... and a relay on loopback, which shoald would RELAY_BIND every second.
write("mclient", "relay-loopback", bytes([MC_LOGIN]) + mc_peer_up +
      mc_event(66, [attr(7, MC_PEER_KEY),
                    attr(15, endpoint(4, bytes([127, 0, 0, 1]), 53)),
                    attr(19, struct.pack(">I", 7)),
                    attr(20, MC_RELAY_KEY)]) + mc_tick(4))


# ---- srcguard: a byte for the prefix count, 18 bytes a prefix (family
# bit, length, 16 bytes of address), then an Ethernet frame ----

def sg_prefix(family, length, addr):
    return bytes([1 if family == 6 else 0, length]) + addr.ljust(16, b"\0")


SG_LIST = bytes([3]) + sg_prefix(4, 32, bytes([10, 95, 0, 2])) + \
    sg_prefix(6, 128, bytes.fromhex("fd95" + "00" * 13 + "02")) + \
    sg_prefix(6, 10, bytes([0xfe, 0x80]))
SG_ETH = bytes.fromhex("02000000950a" "02000000950b")


def sg_ip6(src, nh, payload):
    return SG_ETH + b"\x86\xdd" + struct.pack(
        ">IHBB", 6 << 28, len(payload), nh, 255) + src + \
        bytes.fromhex("fd95" + "00" * 13 + "01") + payload


FD95_2 = bytes.fromhex("fd95" + "00" * 13 + "02")
FD95_3 = bytes.fromhex("fd95" + "00" * 13 + "03")
write("srcguard", "ipv4", SG_LIST + SG_ETH + b"\x08\x00" +
      bytes([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 95, 0, 3,
             10, 95, 0, 1]) + bytes(8))
write("srcguard", "arp", SG_LIST + SG_ETH + b"\x08\x06" +
      struct.pack(">HHBBH", 1, 0x0800, 6, 4, 2) + SG_ETH[6:] +
      bytes([10, 95, 0, 2]) + SG_ETH[:6] + bytes([10, 95, 0, 1]))
write("srcguard", "na", SG_LIST + sg_ip6(
    bytes.fromhex("fe80" + "00" * 13 + "01"), 58,
    struct.pack(">BBHI", 136, 0, 0, 0x60000000) + FD95_3))
write("srcguard", "na-behind-extensions", SG_LIST + sg_ip6(
    FD95_2, 0, bytes([44, 0, 1, 4, 0, 0, 0, 0, 58, 0, 0, 1, 0, 0, 0, 1]) +
    struct.pack(">BBHI", 136, 0, 0, 0x60000000) + FD95_2))
write("srcguard", "vlan", bytes([0]) + SG_ETH + b"\x81\x00\x00\x07\x08\x00" +
      bytes(20))


# ---- vnet: a virtio_net_hdr (flags, gso_type, hdr_len, gso_size,
# csum_start, csum_offset; host order, little-endian here), then the
# Ethernet frame the local stack handed the TAP ----

def vn_hdr(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size,
                       csum_start, csum_offset)


def vn_tcp4(payload, flags=0x18):
    ip = bytes([0x45, 0, (40 + payload) >> 8, (40 + payload) & 255,
                0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    tcp = struct.pack(">HHIIBBHHH", 80, 81, 1, 0, 0x50, flags, 65535, 0, 0)
    return SG_ETH + b"\x08\x00" + ip + tcp + \
        bytes(i * 7 & 255 for i in range(payload))


def vn_tcp6(payload):
    ip = struct.pack(">IHBB", 6 << 28, 20 + payload, 6, 64) + \
        bytes.fromhex("fd95" + "00" * 13 + "01") + FD95_2
    tcp = struct.pack(">HHIIBBHHH", 80, 81, 1, 0, 0x50, 0x19, 65535, 0, 0)
    return SG_ETH + b"\x86\xdd" + ip + tcp + \
        bytes(i * 3 & 255 for i in range(payload))


write("vnet", "train4", vn_hdr(1, 1, 54, 500, 34, 16) + vn_tcp4(1700))
write("vnet", "train6", vn_hdr(1, 4, 74, 600, 54, 16) + vn_tcp6(1500))
write("vnet", "train4-ecn", vn_hdr(1, 0x81, 54, 536, 34, 16) +
      vn_tcp4(1072, 0x98))
write("vnet", "partial", vn_hdr(1, 0, 0, 0, 34, 16) + vn_tcp4(100))
write("vnet", "plain", vn_hdr(0, 0, 0, 0, 0, 0) + vn_tcp4(60))
# A train of 44 full segments: libFuzzer takes its longest seed as the
# longest input it tries, and the 16-bit lengths want to be reached.
write("vnet", "train4-64k", vn_hdr(1, 1, 54, 1448, 34, 16) + vn_tcp4(63712))
write("vnet", "train6-vlan-hbh", vn_hdr(1, 4, 86, 1200, 70, 16) +
      SG_ETH + b"\x81\x00\x00\x07\x86\xdd" +
      struct.pack(">IHBB", 6 << 28, 8 + 20 + 2400, 0, 64) +
      bytes.fromhex("fd95" + "00" * 13 + "01") + FD95_2 +
      bytes([6, 0, 1, 4, 0, 0, 0, 0]) +
      struct.pack(">HHIIBBHHH", 80, 81, 1, 0, 0x50, 0x18, 65535, 0, 0) +
      bytes(i & 255 for i in range(2400)))


# ---- gro: frames, each behind a 2-byte length, as received from peers:
# the segments of TCP trains (IPv4 and IPv6), a pure ACK between them ----

def inet_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def gro_seg4(seq, payload, flags=0x10, sport=80):
    tl = 20 + len(payload)
    ip = bytearray([0x45, 0, (20 + tl) >> 8, (20 + tl) & 255, 0x12, 0x34,
                    0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    ip[10:12] = struct.pack(">H", inet_csum(bytes(ip)))
    tcp = bytearray(struct.pack(">HHIIBBHHH", sport, 81, seq, 7, 0x50, flags,
                                65535, 0, 0)) + payload
    pseudo = bytes(ip[12:20]) + struct.pack(">BBH", 0, 6, tl)
    tcp[16:18] = struct.pack(">H", inet_csum(pseudo + bytes(tcp)))
    return SG_ETH + b"\x08\x00" + bytes(ip) + bytes(tcp)


def gro_seg6(seq, payload, flags=0x10):
    tl = 20 + len(payload)
    src, dst = bytes.fromhex("fd95" + "00" * 13 + "01"), FD95_2
    ip = struct.pack(">IHBB", 6 << 28, tl, 6, 64) + src + dst
    tcp = bytearray(struct.pack(">HHIIBBHHH", 80, 81, seq, 7, 0x50, flags,
                                65535, 0, 0)) + payload
    pseudo = src + dst + struct.pack(">IxxxB", tl, 6)
    tcp[16:18] = struct.pack(">H", inet_csum(pseudo + bytes(tcp)))
    return SG_ETH + b"\x86\xdd" + ip + bytes(tcp)


def gro_frames(*frames):
    return b"".join(struct.pack(">H", len(f)) + f for f in frames)


write("gro", "train4", gro_frames(
    *[gro_seg4(1 + 1000 * i, bytes([i]) * 1000) for i in range(4)],
    gro_seg4(4001, b"x" * 300, 0x18)))
write("gro", "train6", gro_frames(
    *[gro_seg6(1 + 1200 * i, bytes([i]) * 1200) for i in range(3)]))
write("gro", "interleaved", gro_frames(
    gro_seg4(1, b"a" * 500), gro_seg4(501, b"b" * 500),
    gro_seg4(1, b"", 0x10, 81), gro_seg4(1001, b"c" * 500),
    gro_seg4(5000, b"d" * 500)))
# 50 full segments: past 64 KiB, so two merged frames.
write("gro", "train4-long", gro_frames(
    *[gro_seg4(1 + 1448 * i, bytes([i]) * 1448) for i in range(50)]))


# ---- device: a generic netlink command byte, then the attributes, as ----
# shoal.ko writes them (uapi/linux/shoal.h, kmod/netlink.c's events).

def nla(t, v, nested=False):
    """A netlink attribute: host-order length and type, padded to 4."""
    h = struct.pack("=HH", 4 + len(v), t | (0x8000 if nested else 0))
    return h + v + bytes(-len(v) % 4)


def nl_sockaddr4(addr, port):
    return struct.pack("=H", 2) + struct.pack(">H", port) + addr + bytes(8)


def nl_sockaddr6(addr, port):
    return (struct.pack("=H", 10) + struct.pack(">HI", port, 0) + addr +
            struct.pack("=I", 0))


(EV_CONTROL, EV_ENDPOINT, EV_UNKNOWN_SPI, EV_SOFT_EXPIRE) = range(4, 8)
DEV = (nla(1, struct.pack("=I", 7)) + nla(2, b"shoal0\0"))
PEER_KEY = nla(1, bytes(range(32)))


def nl_peer(*attrs):
    return nla(5, nla(1, PEER_KEY + b"".join(attrs), True), True)


def nl_sa(spi):
    return nla(1, struct.pack("=I", spi))


write("device", "control-v4", bytes([EV_CONTROL]) + DEV +
      nla(7, nl_sockaddr4(V4, 51820)) + nla(13, bytes([10, 0, 0, 1])) +
      nla(8, bytes([1, 2, 0, 0]) + bytes(100)))
write("device", "control-v6", bytes([EV_CONTROL]) + DEV +
      nla(7, nl_sockaddr6(V6, 51820)) + nla(8, b"\x01" * 1400))
write("device", "endpoint", bytes([EV_ENDPOINT]) + DEV +
      nl_peer(nla(4, nl_sockaddr4(V4, 4500))))
write("device", "unknown-spi", bytes([EV_UNKNOWN_SPI]) + DEV +
      nla(9, struct.pack("=I", 4242)) + nla(7, nl_sockaddr6(V6, 1)) +
      nla(13, V6))
write("device", "soft-expire-out", bytes([EV_SOFT_EXPIRE]) + DEV +
      nl_peer(nla(7, nl_sa(1000), True)))
write("device", "soft-expire-in", bytes([EV_SOFT_EXPIRE]) + DEV +
      nl_peer(nla(8, nla(1, nl_sa(2000), True), True)))
# A GET_DEVICE reply: the other parser reads the same bytes.
write("device", "get-reply", bytes([1]) + DEV + nla(3, struct.pack("=H", 51820)) +
      nl_peer(nla(3, bytes([2, 0, 0, 0, 0, 1])),
              nla(4, nl_sockaddr4(V4, 4500)), nla(5, b"\x01"),
              nla(7, nl_sa(1000), True),
              nla(8, nla(1, nl_sa(2000), True) + nla(1, nl_sa(3000), True),
                  True),
              nla(17, nla(1, nla(1, bytes([10, 0, 0, 0])) +
                          nla(2, b"\x18"), True), True),
              nla(9, struct.pack("=Q", 12345)),
              nla(19, struct.pack("=H", 40000))))



# PCP (RFC 6887) MAP responses, after a byte that picks the request
# (tests/fuzz/pcp.c: bit 0 a deletion, bit 1 our nonce written in).
PCP_NONCE = b"\x5a" * 12
PCP_V4 = bytes(10) + b"\xff\xff" + bytes([198, 51, 100, 7])


def pcp_response(result=0, lifetime=7200, eport=40000, opts=b""):
    hdr_ = bytes([2, 0x81, 0, result]) + struct.pack(">II", lifetime, 1)
    body = PCP_NONCE + bytes([17, 0, 0, 0]) + struct.pack(">HH", 51820, eport)
    return hdr_ + bytes(12) + body + PCP_V4 + opts


write("pcp", "success", b"\x00" + pcp_response())
write("pcp", "options", b"\x00" + pcp_response(
    opts=bytes([1, 0, 0, 16]) + bytes(16) + bytes([0x80, 0, 0, 1, 9, 0, 0, 0])))
write("pcp", "delete", b"\x01" + pcp_response(lifetime=0, eport=0))
write("pcp", "refused", b"\x00" + pcp_response(result=8, lifetime=30))
write("pcp", "natpmp", b"\x02" + bytes([0, 0x80, 0, 1, 0, 0, 0, 0]))

# ---- tcpframe: a selector byte (low bit: a header first), then the stream ----

def tf_frame(b):
    return struct.pack(">H", len(b)) + b


TF_HEADER = b"SHOALTCP" + bytes([1]) + struct.pack(">H", 40000)
# A RELAY_BIND's size behind its 4 zero bytes, and an ESP packet's.
TF_FRAMES = tf_frame(bytes(4) + bytes([28, 2, 0, 0]) + bytes(60)) + \
    tf_frame(bytes(range(256)) * 5)
write("tcpframe", "header-frames", bytes([0x31]) + TF_HEADER + TF_FRAMES)
write("tcpframe", "frames", bytes([0x40]) + TF_FRAMES)
write("tcpframe", "oversize", bytes([0x20]) + struct.pack(">H", 65508) + b"x")

# ---- relayside: a mediator message with RELAY_SIDE nests ----

def relay_side(key, rid, rkey):
    return attr(0x801a, attr(7, key) + attr(19, struct.pack(">I", rid)) +
                attr(20, rkey))


write("relayside", "allocate", msg(70, 0, 0, [
    relay_side(pattern(32, 21), 0x01020304, pattern(32, 22)),
    relay_side(pattern(32, 23), 0x05060708, pattern(32, 24))]))
write("relayside", "holds", msg(23, 0, 9, [
    attr(24, struct.pack(">H", 51812)),
    relay_side(pattern(32, 25), 7, pattern(32, 26)),
    relay_side(pattern(32, 27), 8, pattern(32, 28))]))
write("relayside", "short-key", msg(70, 0, 0, [
    attr(0x801a, attr(7, pattern(31, 29)) + attr(19, struct.pack(">I", 1)) +
         attr(20, pattern(32, 30)))]))

# ---- metrics_http: a byte for the limit (64 + 4 * it), then a request ----

# 0xff: a limit of 1084 bytes, more than any of these.
write("metrics_http", "scrape", b"\xff" +
      b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n"
      b"User-Agent: Prometheus/2.45.0\r\nAccept: application/openmetrics-"
      b"text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
      b"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
      b"\r\n")
write("metrics_http", "lf-query", b"\xff" + b"GET /metrics?a=b HTTP/1.0\n\n")
write("metrics_http", "post", b"\xff" +
      b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
write("metrics_http", "not-found", b"\xff" + b"GET /\\\"x\" HTTP/1.1\r\n\r\n")
write("metrics_http", "short-limit", b"\x00" +
      b"GET /metrics HTTP/1.1\r\nHost: a\r\nX-Long: " + b"y" * 80 + b"\r\n\r\n")

# ---- clusterbus: NOTIFY payloads of the mediators' cluster bus ----

def bus(t, attrs):
    return base64.b64encode(msg(t, 0, 0, attrs)).decode().encode()


def inst(name):
    return attr(1, name)


write("clusterbus", "online", bus(1, [
    inst(b"m1"), attr(2, struct.pack(">Q", 7)), attr(3, pattern(32, 41)),
    attr(4, b"alice"), attr(5, bytes([100, 64, 0, 2])),
    attr(6, pattern(16, 42)), attr(7, pattern(6, 43)),
    attr(8, endpoint(4, bytes([203, 0, 113, 1]), 51820)),
    attr(9, endpoint(4, bytes([192, 168, 1, 2]), 51820)),
    attr(10, bytes([1, 3, 0])), attr(11, bytes([203, 0, 113, 1]))]))
write("clusterbus", "offline", bus(2, [
    inst(b"m2"), attr(2, struct.pack(">Q", 9)), attr(3, pattern(32, 44)),
    attr(12, bytes([2]))]))
write("clusterbus", "nat", bus(3, [
    inst(b"m2"), attr(2, struct.pack(">Q", 9)), attr(10, bytes([2, 2, 1]))]))
write("clusterbus", "beat", bus(4, [
    inst(b"m3"), attr(13, b"198.51.100.1:52000"),
    attr(14, struct.pack(">I", 3)), attr(15, struct.pack(">Q", 1700000000000))]))
write("clusterbus", "gone", bus(5, [
    inst(b"m3"), attr(15, struct.pack(">Q", 1700000000000))]))
write("clusterbus", "changed", bus(6, [
    inst(b"m1"), attr(2, struct.pack(">Q", 5)), attr(3, pattern(32, 45)),
    attr(16, b""), attr(17, struct.pack(">Q", 6)),
    attr(18, struct.pack(">Q", 8) + pattern(32, 46))]))
write("clusterbus", "deliver", bus(7, [
    inst(b"m2"), attr(2, struct.pack(">Q", 11)),
    attr(19, msg(66, 0, 0, [attr(7, pattern(32, 47)),
                            attr(15, endpoint(4, bytes([198, 51, 100, 1]), 51813)),
                            attr(19, struct.pack(">I", 5)),
                            attr(20, pattern(32, 48))]))]))
write("clusterbus", "bad-name", bus(5, [
    inst(b"m 3"), attr(15, struct.pack(">Q", 1))]))

# ---- portlist: LanBroadcastPorts and `shoal lan-broadcast --ports` ----

write("portlist", "ranges", "27015,7777-7779")
write("portlist", "blanks", " 80 , 1-65535 ")
write("portlist", "all", "all")
write("portlist", "overlap", "5,1-9")

# ---- chatmsg: a selector byte (tests/fuzz/chatmsg.c), then its input ----
# 0x80 (packet, sealed by the target): header, then the plaintext:
# message id, flags, network length, network, text.
def chat_plain(net, text, flags=0):
    return struct.pack(">QBB", 0x0102030405060708, flags, len(net)) + net + text


write("chatmsg", "sealed-chat", bytes([0x80]) +
      bytes([7, 2, 0, 0]) + struct.pack(">IQ", 0x12345678, 1) +
      chat_plain(b"lanparty", "hello, wörld".encode()))
write("chatmsg", "sealed-direct", bytes([0x80]) +
      bytes([7, 2, 0, 0]) + struct.pack(">IQ", 0x12345678, 9) +
      chat_plain(b"lan", b"psst", 1))
write("chatmsg", "sealed-ack", bytes([0x80]) +
      bytes([8, 2, 0, 0]) + struct.pack(">IQ", 0x12345678, 2) +
      struct.pack(">Q", 0x0102030405060708))
write("chatmsg", "plain", bytes([1]) + chat_plain(b"a.b-c_d", b"text"))
write("chatmsg", "replay", bytes([2]) + b"".join(
    struct.pack(">Q", c) for c in (1, 5, 3, 3, 100, 36, 37, 0)))
# ---- dnsmsg: a byte (low bit: over TCP), then a DNS query ----


def dns_query(name, qtype=1, opt=b"", flags=0x0100, qd=1):
    q = struct.pack(">HHHHHH", 0x1234, flags, qd, 0, 0, 1 if opt else 0)
    for label in name.split(".") if name else []:
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1) + opt


DNS_OPT = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
write("dnsmsg", "a", b"\x00" + dns_query("bob.shoal"))
write("dnsmsg", "network", b"\x00" + dns_query("bob.lanparty.shoal", 28))
write("dnsmsg", "ptr4", b"\x00" + dns_query("3.0.77.10.in-addr.arpa", 12))
write("dnsmsg", "ptr6", b"\x01" + dns_query(
    "2." + "0." * 19 + "a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa", 12))
write("dnsmsg", "edns", b"\x00" + dns_query("alice.shoal", 255, DNS_OPT))
write("dnsmsg", "refused", b"\x00" + dns_query("example.com"))
write("dnsmsg", "pointer", b"\x00" + struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0)
      + b"\xc0\x0c\x00\x01\x00\x01")
