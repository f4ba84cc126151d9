#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
# A LAN game's discovery, for the lan-broadcast tests:
#   bcast.py send PORT COUNT TEXT
#       COUNT datagrams of TEXT to 255.255.255.255:PORT, 0.1 s apart, from
#       a socket bound to no interface and no address: the route (the
#       default one) picks the interface, as a game's does.
#   bcast.py listen DEV PORT SECONDS [READY-FILE]
#       every datagram to PORT that arrives on DEV for SECONDS, one line
#       each: "SOURCE TEXT"; READY-FILE is created once it listens.
import socket
import sys
import time

if sys.argv[1] == "send":
    port, count, text = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    for _ in range(count):
        s.sendto(text.encode(), ("255.255.255.255", port))
        time.sleep(0.1)
elif sys.argv[1] == "listen":
    dev, port, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind(("0.0.0.0", port))
    if len(sys.argv) > 5:
        open(sys.argv[5], "w").close()
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            break
        print(src[0], data.decode(errors="replace"), flush=True)
else:
    sys.exit("usage: bcast.py send PORT COUNT TEXT | listen DEV PORT SECONDS [READY]")
