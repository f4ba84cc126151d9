#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Floods a shoald with forged handshake INITs, as docs/protocol.md lays
them out: a valid header and MAC1 (anyone can compute it from the public
key) around random Noise bytes, and no cookie (MAC2 zero), so each one
gets past the cheap check and is stopped only by the cookie under load,
the rate limits or the Diffie-Hellman.

forge_handshake.py --to HOST:PORT --pub BASE64 [--src ADDR]
                   [--spoof CIDR] [--rate N] [--seconds S]
forge_handshake.py --proven --to HOST:PORT --pub BASE64 --src ADDR:PORT
(HOST and ADDR may be [IPv6] there)

--spoof sends each INIT from a random address of CIDR (IPv4) and a random
port, through a raw socket: a flooder that never sees the answers.
Prints the number of packets sent.

--proven sends one forged INIT from ADDR:PORT, again and again, until a
COOKIE_REPLY answers it (shoal.ko sends one once the source is past its
share), opens the cookie with the responder's public key and prints the
INIT with that cookie's MAC2, in hex with the non-ESP marker: what a
flooder at a real address can send that proves its source.  The
XChaCha20-Poly1305 comes from libsodium through ctypes."""
import argparse
import base64
import hashlib
import ipaddress
import os
import random
import socket
import struct
import sys
import time

VERSION = 2
INIT_LEN = 4 + 4 + (32 + 32 + 16 + 16 + 16) + 16 + 16
MAC2_OFF = INIT_LEN - 16
MARKER = bytes(4)


def mac1_key(pub):
    return hashlib.blake2b(b"shoal mac1 v1" + pub, digest_size=32).digest()


def proven_init(dest, pub, src):
    import ctypes
    import ctypes.util
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or
                         "libsodium.so.23")
    if sodium.sodium_init() < 0:
        sys.exit("sodium_init failed")
    init = forged_init(mac1_key(pub))
    mac1 = init[MAC2_OFF - 16:MAC2_OFF]
    host, port = src.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    s.setblocking(False)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        for _ in range(64):
            s.sendto(MARKER + init, dest)
        time.sleep(0.005)
        try:
            reply = s.recv(2048)
        except BlockingIOError:
            continue
        # marker, type 6, version, 2 reserved, the INIT's SPI, a 24-byte
        # nonce, the sealed 16-byte cookie and its tag.
        if len(reply) != 4 + 8 + 24 + 32 or reply[4] != 6 or \
                reply[8:12] != init[4:8]:
            continue
        key = hashlib.blake2b(b"shoal cookie v2" + pub,
                              digest_size=32).digest()
        cookie = ctypes.create_string_buffer(16)
        n = ctypes.c_ulonglong(0)
        sealed = reply[36:]
        if sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                cookie, ctypes.byref(n), None, sealed,
                ctypes.c_ulonglong(len(sealed)), mac1,
                ctypes.c_ulonglong(16), reply[12:36], key) != 0:
            sys.exit("the COOKIE_REPLY does not open")
        mac2 = hashlib.blake2b(init[:MAC2_OFF], digest_size=16,
                               key=cookie.raw).digest()
        return (MARKER + init[:MAC2_OFF] + mac2).hex()
    sys.exit("no COOKIE_REPLY in 10 s")


def forged_init(key):
    body = bytes([1, VERSION, 0, 0]) + struct.pack(">I", 0x100 + (os.urandom(2)[0] << 8))
    body += os.urandom(INIT_LEN - len(body) - 32)
    return body + hashlib.blake2b(body, digest_size=16, key=key).digest() + bytes(16)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ipv4_udp(src, sport, dst, dport, payload):
    udp_len = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    return ip + udp[:6] + struct.pack("!H", csum) + udp[8:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--pub", required=True)
    ap.add_argument("--src", default="")
    ap.add_argument("--spoof", default="")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--proven", action="store_true")
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    host = host.strip("[]")
    if a.proven:
        print(proven_init((host, int(port)), base64.b64decode(a.pub), a.src))
        return
    key = mac1_key(base64.b64decode(a.pub))
    dest = (host, int(port))
    # A pool of distinct packets, sent in rotation: generating each one
    # would cost more than sending it.
    if a.spoof:
        net = ipaddress.ip_network(a.spoof)
        dst = socket.inet_aton(host)
        hosts = int(net.num_addresses)
        pool = []
        for _ in range(4096):
            src = (net.network_address + random.randrange(1, hosts - 1)).packed
            pool.append(ipv4_udp(src, random.randrange(1024, 65536), dst,
                                 int(port), b"\0\0\0\0" + forged_init(key)))
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    else:
        pool = [b"\0\0\0\0" + forged_init(key) for _ in range(1024)]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if a.src:
            s.bind((a.src, 0))
    sent = 0
    start = time.monotonic()
    end = start + a.seconds
    batch = max(1, a.rate // 100)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * a.rate)
        while sent < due:
            for _ in range(min(batch, due - sent)):
                try:
                    s.sendto(pool[sent % len(pool)], dest)
                except OSError:
                    pass
                sent += 1
        time.sleep(0.002)
    print(sent)


if __name__ == "__main__":
    main()
