#!/usr/bin/python3
"""One measurement's figure from a tool's output (scripts/bench, in the VM).

parse.py tcp FILE    iperf3 -J of a TCP test: Mbit/s received
parse.py udp FILE    iperf3 -J of a UDP test: datagrams received per second
parse.py ping FILE   ping's output: "P50 P99" of the round trips, in us

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


def main():
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
        # The server's count, which the client reports at the end.
        s = end["sum"]
        received = s["packets"] - s["lost_packets"]
        print("%.0f" % (received / s["seconds"]))
    else:
        sys.exit("parse: unknown kind " + kind)


main()
