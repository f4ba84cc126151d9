#!/usr/bin/env python3
# mdns.py respond|browse IFACE FAMILY(4|6) NAME [SECONDS]: the two ends of
# a DNS-SD browse over multicast DNS (224.0.0.251 / ff02::fb, port 5353),
# on one interface.  respond answers PTR queries for _shoal-lobby._udp.local
# with the instance NAME, multicast as RFC 6762 says; browse asks (from
# port 5353, so the answer is multicast back) and prints each instance
# answered, with the address it came from.  Exits 1 if browse heard none.
import socket, struct, sys, time

SERVICE = "_shoal-lobby._udp.local"
GROUP = {4: "224.0.0.251", 6: "ff02::fb"}


def name_bytes(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, off, depth=0):
    labels = []
    while True:
        if off >= len(msg) or depth > 10:
            raise ValueError("truncated name")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
            rest, _ = read_name(msg, ptr, depth + 1)
            labels.append(rest)
            return ".".join(l for l in labels if l), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode(errors="replace"))
        off += n


def parse(msg):
    """(flags, [(name, type)] questions, [(name, type, rdata)] answers)"""
    _, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    off, qs, ans = 12, [], []
    for _ in range(qd):
        name, off = read_name(msg, off)
        qt = struct.unpack("!H", msg[off:off + 2])[0]
        off += 4
        qs.append((name, qt))
    for _ in range(an):
        name, off = read_name(msg, off)
        rt, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rt == 12:
            rdata, _ = read_name(msg, off)
        ans.append((name, rt, rdata))
        off += rdlen
    return flags, qs, ans


def open_socket(iface, fam):
    idx = socket.if_nametoindex(iface)
    if fam == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 5353))
        # struct ip_mreqn: the group, no address, the interface's index.
        any4 = socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     socket.inet_aton(GROUP[4]) + any4 + struct.pack("=i", idx))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                     any4 + any4 + struct.pack("=i", idx))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        return s, (GROUP[4], 5353)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", 5353))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.inet_pton(socket.AF_INET6, GROUP[6]) + struct.pack("=I", idx))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    return s, (GROUP[6], 5353, 0, idx)


def respond(s, dest, instance, seconds):
    end = time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            msg, _ = s.recvfrom(9000)
            flags, qs, _ = parse(msg)
        except (socket.timeout, ValueError, struct.error):
            continue
        if flags & 0x8000 or not any(n.lower() == SERVICE.lower() and t in (12, 255)
                                     for n, t in qs):
            continue
        target = name_bytes(instance + "." + SERVICE)
        answer = (name_bytes(SERVICE) + struct.pack("!HHIH", 12, 1, 120, len(target))
                  + target)
        s.sendto(struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + answer, dest)


def browse(s, dest, seconds):
    query = (struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + name_bytes(SERVICE)
             + struct.pack("!HH", 12, 1))
    heard = set()
    end = time.time() + seconds
    next_ask = 0
    while time.time() < end:
        if time.time() >= next_ask:
            s.sendto(query, dest)
            next_ask = time.time() + 1
        s.settimeout(0.2)
        try:
            msg, src = s.recvfrom(9000)
            flags, _, ans = parse(msg)
        except (socket.timeout, ValueError, struct.error):
            continue
        if not flags & 0x8000:
            continue
        for name, rt, rdata in ans:
            if rt == 12 and name.lower() == SERVICE.lower() and (rdata, src[0]) not in heard:
                heard.add((rdata, src[0]))
                print("%s from %s" % (rdata, src[0].split("%")[0]), flush=True)
    return 0 if heard else 1


def main():
    role, iface, fam, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 10
    s, dest = open_socket(iface, fam)
    if role == "respond":
        respond(s, dest, name, seconds)
        return 0
    return browse(s, dest, seconds)


if __name__ == "__main__":
    sys.exit(main())
