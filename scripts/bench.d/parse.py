#!/usr/bin/python3
"""One measurement's figure from a tool's output (scripts/bench, in the VM).

parse.py tcp FILE    iperf3 -J of a TCP test: Mbit/s received
parse.py udp FILE    iperf3 -J of a UDP test: datagrams received per second
parse.py ping FILE   ping's output: "P50 P99" of the round trips, in us
parse.py cost tcp|udp FILE STAT0 STAT1
                     CPU time (both CPUs, the whole guest: sender, receiver
                     and both datapaths) per packet received, in ns, from
                     the first lines of /proc/stat before and after the
                     test; a TCP packet is a 1448-byte segment.  The guest
                     has no PMU under TCG, so time stands in for cycles.

Exits 1, with the reason on stderr, when the output holds no result.
"""
import json
import re
import sys


def percentile(v, p):
    """Nearest rank: the smallest value with at least p% at or below it."""
    v = sorted(v)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


def udp_received(end):
    """Datagrams the server got: the client reports its count at the end."""
    return end["sum"]["packets"] - end["sum"]["lost_packets"]


def busy_seconds(stat0, stat1):
    """Non-idle CPU time between two /proc/stat "cpu" lines (USER_HZ 100)."""
    a = [int(x) for x in open(stat0).read().split()[1:9]]
    b = [int(x) for x in open(stat1).read().split()[1:9]]
    d = [y - x for x, y in zip(a, b)]
    return (sum(d) - d[3] - d[4]) / 100.0


def main():
    if sys.argv[1] == "cost":
        kind, path, stat0, stat1 = sys.argv[2:6]
        end = json.loads(open(path, errors="replace").read())["end"]
        if kind == "tcp":
            packets = end["sum_received"]["bytes"] / 1448
        else:
            packets = udp_received(end)
        if packets <= 0:
            sys.exit("parse: nothing received")
        print("%.0f" % (busy_seconds(stat0, stat1) * 1e9 / packets))
        return
    kind, path = sys.argv[1], sys.argv[2]
    text = open(path, errors="replace").read()
    if kind == "ping":
        rtt = [float(m) * 1000 for m in re.findall(r"time=([0-9.]+) ms", text)]
        if not rtt:
            sys.exit("parse: no ping answered: " + text[-300:])
        print("%.0f %.0f" % (percentile(rtt, 50), percentile(rtt, 99)))
        return
    try:
        d = json.loads(text)
    except ValueError:
        sys.exit("parse: iperf3 gave no JSON: " + text[-300:])
    if "error" in d:
        sys.exit("parse: iperf3: " + d["error"])
    end = d["end"]
    if kind == "tcp":
        print("%.1f" % (end["sum_received"]["bits_per_second"] / 1e6))
    elif kind == "udp":
        print("%.0f" % (udp_received(end) / end["sum"]["seconds"]))
    else:
        sys.exit("parse: unknown kind " + kind)


main()
