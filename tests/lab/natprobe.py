#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A reference NAT classifier after RFC 4787 and RFC 5780, for the lab.

It speaks STUN (RFC 5389 Binding with RFC 5780's CHANGE-REQUEST,
RESPONSE-ORIGIN and OTHER-ADDRESS), so it can be checked against any
STUN tool, and it is independent of shoal's code.

  natprobe.py server [--addr A1 --addr A2] [--port 3478] [--alt-port 3479]
      Listens on UDP A1:port, A1:alt-port, A2:port, A2:alt-port.  A binding
      request is answered with the source address:port it came from
      (XOR-MAPPED-ADDRESS), from the socket it reached, or from the other
      address and/or port when CHANGE-REQUEST asks for it.  Also listens
      on TCP A1:port and writes to each connection the IP:PORT it came
      from, one line (for networks that block UDP).

  natprobe.py client [--port 51820] [--server 198.51.100.1:3478]
      From local UDP port PORT: first the filtering tests (the request is
      always sent to the primary server; the reply asked from the other
      address and port, then from the other port only), then the mapping
      tests (to the other address, then to the other port).  Filtering goes
      first because a request to the other port would open exactly the
      hole the address-dependent test looks for.  Prints one JSON object:
      {"public_endpoint": "IP:PORT", "mapping": M, "filtering": F, ...}
      with M and F each endpoint-independent, address-dependent or
      address-and-port-dependent.  Exit 2 if the server never answers.
      Conntrack entries live on (30 s and more): a second run from the same
      port within that time may see holes the first one opened.

  natprobe.py tcp [--server 198.51.100.1:3478]
      Connects to the server over TCP and prints the endpoint it was seen
      from: {"tcp_mapped": "IP:PORT"}.  Exit 2 if it cannot connect.

  natprobe.py punch --port P --me FILE --peer FILE [--server S]
      A hole punch by hand: learns its mapped endpoint from the server,
      writes it to FILE, reads the peer's from the peer's FILE and sends to
      it every 50 ms; a packet from the peer makes it answer to the address
      that packet came from (as ICE's peer-reflexive candidates and
      WireGuard's roaming do).  Exit 0 once both directions are proven,
      1 at --timeout.  Prints JSON.
"""

import argparse
import json
import os
import secrets
import select
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
MAPPED_ADDRESS = 0x0001
CHANGE_REQUEST = 0x0003
XOR_MAPPED_ADDRESS = 0x0020
RESPONSE_ORIGIN = 0x802B
OTHER_ADDRESS = 0x802C
CHANGE_IP = 0x04
CHANGE_PORT = 0x02

EIM = EIF = "endpoint-independent"
ADM = ADF = "address-dependent"
APDM = APDF = "address-and-port-dependent"


def attr(kind, value):
    pad = b"\0" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + pad


def addr_value(ip, port, xor):
    a = struct.unpack("!I", socket.inet_aton(ip))[0]
    if xor:
        port ^= MAGIC >> 16
        a ^= MAGIC
    return struct.pack("!BBHI", 0, 1, port, a)


def parse_addr(value, xor):
    _, family, port, a = struct.unpack("!BBHI", value[:8])
    if family != 1:
        return None
    if xor:
        port ^= MAGIC >> 16
        a ^= MAGIC
    return socket.inet_ntoa(struct.pack("!I", a)), port


def message(kind, txid, attrs=b""):
    return struct.pack("!HHI", kind, len(attrs), MAGIC) + txid + attrs


def parse(data):
    """(type, txid, {attr: value}) of a STUN message, or None."""
    if len(data) < 20:
        return None
    kind, length, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC or len(data) < 20 + length:
        return None
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        t, n = struct.unpack("!HH", data[off:off + 4])
        attrs.setdefault(t, data[off + 4:off + 4 + n])
        off += 4 + n + (-n % 4)
    return kind, data[8:20], attrs


def endpoint(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def show(ep):
    return "%s:%d" % ep if ep else None


# ---- server ----

def serve(args):
    addrs, ports = args.addr, [args.port, args.alt_port]
    socks = {}
    for i, a in enumerate(addrs):
        for j, p in enumerate(ports):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((a, p))
            socks[(i, j)] = s
    where = {s: key for key, s in socks.items()}
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addrs[0], ports[0]))
    tcp.listen(16)
    print("listening on %s, tcp %s:%d" % (" ".join(
        "%s:%d" % s.getsockname() for s in socks.values()),
        *tcp.getsockname()), flush=True)
    while True:
        ready, _, _ = select.select(list(where) + [tcp], [], [])
        for s in ready:
            if s is tcp:
                conn, src = tcp.accept()
                try:
                    conn.sendall(("%s\n" % show(src)).encode())
                except OSError:
                    pass
                conn.close()
                continue
            data, src = s.recvfrom(2048)
            m = parse(data)
            if not m or m[0] != BINDING_REQUEST:
                continue
            _, txid, attrs = m
            flags = 0
            if CHANGE_REQUEST in attrs and len(attrs[CHANGE_REQUEST]) >= 4:
                flags = struct.unpack("!I", attrs[CHANGE_REQUEST][:4])[0]
            i, j = where[s]
            if flags & CHANGE_IP:
                i ^= 1
            if flags & CHANGE_PORT:
                j ^= 1
            out = socks[(i, j)]
            origin = out.getsockname()
            other = (addrs[where[s][0] ^ 1], ports[where[s][1] ^ 1])
            reply = message(BINDING_SUCCESS, txid,
                            attr(XOR_MAPPED_ADDRESS, addr_value(*src, True)) +
                            attr(MAPPED_ADDRESS, addr_value(*src, False)) +
                            attr(RESPONSE_ORIGIN, addr_value(*origin, False)) +
                            attr(OTHER_ADDRESS, addr_value(*other, False)))
            if args.verbose:
                print("%s -> %s:%d flags %#x, reply from %s:%d" %
                      (show(src), *s.getsockname(), flags, *origin),
                      file=sys.stderr, flush=True)
            out.sendto(reply, src)


# ---- client ----

class Probe:
    def __init__(self, sock, timeout, tries):
        self.sock, self.timeout, self.tries = sock, timeout, tries

    def request(self, dest, flags=0):
        """Mapped endpoint, response source and OTHER-ADDRESS, or None."""
        txid = secrets.token_bytes(12)
        attrs = attr(CHANGE_REQUEST, struct.pack("!I", flags)) if flags else b""
        req = message(BINDING_REQUEST, txid, attrs)
        for _ in range(self.tries):
            self.sock.sendto(req, dest)
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([self.sock], [], [], left)
                if not ready:
                    break
                data, src = self.sock.recvfrom(2048)
                m = parse(data)
                if not m or m[0] != BINDING_SUCCESS or m[1] != txid:
                    continue	# a late answer to an earlier request
                a = m[2]
                mapped = (parse_addr(a[XOR_MAPPED_ADDRESS], True)
                          if XOR_MAPPED_ADDRESS in a else
                          parse_addr(a.get(MAPPED_ADDRESS, b""), False))
                other = (parse_addr(a[OTHER_ADDRESS], False)
                         if OTHER_ADDRESS in a else None)
                return mapped, src, other
        return None


def classify(probe, server, alt):
    """RFC 5780 sections 4.3 and 4.4, filtering first (see the top)."""
    first = probe.request(server)
    if not first:
        return {"error": "no answer from %s" % show(server)}
    mapped1, _, other = first
    other = other or alt
    if not other:
        return {"error": "the server gave no OTHER-ADDRESS"}
    both = (other[0], other[1])
    port_only = (server[0], other[1])
    addr_only = (other[0], server[1])

    r = probe.request(server, CHANGE_IP | CHANGE_PORT)
    if r and r[1] == both:
        filtering = EIF
    else:
        r = probe.request(server, CHANGE_PORT)
        filtering = ADF if r and r[1] == port_only else APDF

    r2 = probe.request(addr_only)
    r3 = probe.request(port_only)
    if not r2 or not r3:
        return {"error": "no answer from the other address or port"}
    mapped2, mapped3 = r2[0], r3[0]
    if mapped1 == mapped2 == mapped3:
        mapping = EIM
    elif mapped1 == mapped3:
        mapping = ADM
    else:
        mapping = APDM
    return {
        "public_endpoint": show(mapped1),
        "mapping": mapping,
        "filtering": filtering,
        "mapped": {show(server): show(mapped1), show(addr_only): show(mapped2),
                   show(port_only): show(mapped3)},
    }


def bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    return s


def client(args):
    alt = endpoint(args.alt) if args.alt else None
    probe = Probe(bound(args.port), args.timeout, args.tries)
    result = classify(probe, endpoint(args.server), alt)
    print(json.dumps(result))
    return 2 if "error" in result else 0


def tcp(args):
    try:
        with socket.create_connection(endpoint(args.server), timeout=3) as s:
            line = s.makefile().readline().strip()
    except OSError as e:
        print(json.dumps({"error": "tcp: %s" % e}))
        return 2
    print(json.dumps({"tcp_mapped": line}))
    return 0


# ---- punch ----

def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def wait_for(path, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                return f.read().split()
        except FileNotFoundError:
            time.sleep(0.02)
    return None


def punch(args):
    deadline = time.monotonic() + args.timeout
    sock = bound(args.port)
    r = Probe(sock, args.probe_timeout, args.tries).request(endpoint(args.server))
    if not r:
        print(json.dumps({"error": "no answer from the server"}))
        return 2
    mine, token = r[0], secrets.token_hex(8)
    write_atomically(args.me, "%s %s\n" % (show(mine), token))
    peer = wait_for(args.peer, deadline)
    if not peer:
        print(json.dumps({"error": "the peer never told its endpoint"}))
        return 2
    peer_mapped, peer_token = endpoint(peer[0]), peer[1].encode()
    target, heard, proven, done = peer_mapped, None, False, None
    next_send = 0.0
    while time.monotonic() < (done or deadline):
        now = time.monotonic()
        if now >= next_send:
            flag = b"1" if heard else b"0"
            try:
                sock.sendto(b"PUNCH " + token.encode() + b" " + flag, target)
            except OSError:
                pass	# an ICMP error reported on the socket: go on
            next_send = now + 0.05
        ready, _, _ = select.select([sock], [], [], max(0, next_send - now))
        if not ready:
            continue
        try:
            data, src = sock.recvfrom(2048)
        except OSError:
            continue
        words = data.split()
        if len(words) != 3 or words[0] != b"PUNCH" or words[1] != peer_token:
            continue
        heard, target = src, src
        if words[2] == b"1" and not proven:
            # Both ways work; linger so the peer hears that we heard it.
            proven, done = True, time.monotonic() + 0.3
    print(json.dumps({"mapped": show(mine), "peer_mapped": show(peer_mapped),
                      "peer_seen_from": show(heard), "direct": proven}))
    return 0 if proven else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--addr", action="append")
    s.add_argument("--port", type=int, default=3478)
    s.add_argument("--alt-port", type=int, default=3479)
    s.add_argument("--verbose", action="store_true")
    for name in ("client", "punch"):
        c = sub.add_parser(name)
        c.add_argument("--port", type=int, default=51820, help="local UDP port")
        c.add_argument("--server", default="198.51.100.1:3478")
        c.add_argument("--tries", type=int, default=3)
    sub.choices["client"].add_argument("--alt", help="other server IP:PORT "
                                       "if it sends no OTHER-ADDRESS")
    sub.choices["client"].add_argument("--timeout", type=float, default=0.5,
                                       help="seconds per try")
    t = sub.add_parser("tcp")
    t.add_argument("--server", default="198.51.100.1:3478")
    p = sub.choices["punch"]
    p.add_argument("--me", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--timeout", type=float, default=3.0, help="seconds in all")
    p.add_argument("--probe-timeout", type=float, default=0.5)
    args = ap.parse_args()
    if args.mode == "server":
        args.addr = args.addr or ["198.51.100.1", "198.51.100.2"]
        if len(args.addr) != 2:
            ap.error("server needs exactly two --addr")
        serve(args)
        return 0
    if args.mode == "tcp":
        return tcp(args)
    return client(args) if args.mode == "client" else punch(args)


if __name__ == "__main__":
    sys.exit(main())
