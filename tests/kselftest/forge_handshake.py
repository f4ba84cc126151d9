#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Floods a shoald with forged handshake INITs, as docs/protocol.md lays
them out: a valid header and MAC (anyone can compute it from the public
key) around random Noise bytes, so each one gets past the cheap check and
is stopped only by the per-source rate limit or the Diffie-Hellman.

forge_handshake.py --to HOST:PORT --pub BASE64 [--src ADDR] [--rate N]
                   [--seconds S]
Prints the number of packets sent."""
import argparse
import base64
import hashlib
import os
import socket
import struct
import time

INIT_LEN = 4 + 4 + (32 + 32 + 16 + 16 + 16) + 16


def mac1_key(pub):
    return hashlib.blake2b(b"shoal mac1 v1" + pub, digest_size=32).digest()


def forged_init(key):
    body = bytes([1, 1, 0, 0]) + struct.pack(">I", 0x100 + (os.urandom(2)[0] << 8))
    body += os.urandom(INIT_LEN - len(body) - 16)
    return body + hashlib.blake2b(body, digest_size=16, key=key).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--pub", required=True)
    ap.add_argument("--src", default="")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    key = mac1_key(base64.b64decode(a.pub))
    # A pool of distinct packets, sent in rotation: generating each one
    # would cost more than sending it.
    pool = [b"\0\0\0\0" + forged_init(key) for _ in range(1024)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.src:
        s.bind((a.src, 0))
    dest = (host, int(port))
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
