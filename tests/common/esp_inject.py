#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends hand-made datagrams at a shoal socket, for the datapath tests.

  esp_inject.py HOST PORT esp SPI KEYHEX72 SEQ FRAMEHEX [--tamper] [--count N]
                              [--nexthdr N] [--sport N] [--saddr ADDR]
  esp_inject.py HOST PORT garbage MAXLEN     every length 0..MAXLEN of junk
  esp_inject.py HOST PORT raw HEX            one datagram as given

ESP packets are sealed by esp_decode.py's independent encoder (RFC 4303
with ESN, RFC 7634), never by the code under test.
"""
import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import esp_decode  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('mode', choices=['esp', 'garbage', 'raw'])
    ap.add_argument('args', nargs='*')
    ap.add_argument('--tamper', action='store_true')
    ap.add_argument('--count', type=int, default=1)
    ap.add_argument('--nexthdr', type=int, default=143)
    ap.add_argument('--sport', type=int, default=0)
    ap.add_argument('--saddr', default='')
    a = ap.parse_args(argv[1:])
    family = socket.AF_INET6 if ':' in a.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if a.sport or a.saddr:
        any_addr = '::' if family == socket.AF_INET6 else '0.0.0.0'
        s.bind((a.saddr or any_addr, a.sport))
    if a.mode == 'esp':
        spi, keyhex, seq = int(a.args[0], 0), a.args[1], int(a.args[2])
        key, salt = bytes.fromhex(keyhex[:64]), bytes.fromhex(keyhex[64:72])
        pkt = esp_decode.t_esp(key, salt, spi, seq, bytes.fromhex(a.args[3]),
                               nh=a.nexthdr)
        if a.tamper:
            pkt = pkt[:-20] + bytes([pkt[-20] ^ 1]) + pkt[-19:]
        dgrams = [pkt] * a.count
    elif a.mode == 'garbage':
        n = int(a.args[0])
        # Never the non-ESP marker or a keepalive: those are not garbage.
        junk = b'\x01' + os.urandom(n)
        dgrams = [junk[:i] for i in range(n + 1)]
    else:
        dgrams = [bytes.fromhex(a.args[0])]
    for d in dgrams:
        s.sendto(d, (a.host, a.port))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
