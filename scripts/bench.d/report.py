#!/usr/bin/python3
"""scripts/bench's report: medians of the guest's raw results, the table,
the targets of issue 6, --json and the gnuplot chart.

report.py RAW [--json FILE] [--png FILE] [--title TEXT]

RAW holds the guest's lines "R SYSTEM METRIC RUN VALUE".  The table goes
to stdout as Markdown, each figure the median over the runs and its ratio
to WireGuard's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SYSTEMS = ["underlay", "wireguard", "xfrm", "shoal", "shoal_tap"]
NAMES = {"underlay": "underlay", "wireguard": "WireGuard", "xfrm": "xfrm ESP",
         "shoal": "shoal (kernel)", "shoal_tap": "shoal (TAP)"}
# metric, label, better (+1 higher, -1 lower), decimals, in --json
METRICS = [
    ("tcp_1", "TCP, 1 stream (Mbit/s)", +1, 1, True),
    ("tcp_4", "TCP, 4 streams (Mbit/s)", +1, 1, True),
    ("udp64_pps", "UDP 64 B received (packets/s)", +1, 0, True),
    ("rtt_p50_us", "ping RTT p50, idle (µs)", -1, 0, True),
    ("rtt_p99_us", "ping RTT p99, idle (µs)", -1, 0, True),
    ("rtt_load_p50_us", "ping RTT p50, TCP load (µs)", -1, 0, False),
    ("rtt_load_p99_us", "ping RTT p99, TCP load (µs)", -1, 0, False),
    ("setup_ms", "set-up to first ping (ms)", -1, 0, True),
    ("tcp_1_ns_pkt", "CPU per packet, TCP 1 stream (ns)", -1, 0, True),
    ("udp64_ns_pkt", "CPU per packet, UDP 64 B (ns)", -1, 0, True),
]
# The kernel datapath with many peers (guest.sh's shoal_1k, shoal_b64),
# against itself with one.
SCALE = ["shoal", "shoal_1k", "shoal_b64"]
SCALE_NAMES = {"shoal": "1 peer", "shoal_1k": "1,000 peers",
               "shoal_b64": "64 peers"}
SCALE_METRICS = [
    ("tcp_1", "TCP, 1 stream (Mbit/s)", 1),
    ("tcp_4", "TCP, 4 streams (Mbit/s)", 1),
    ("udp64_pps", "UDP 64 B received (packets/s)", 0),
    ("bcast_pps", "64 B broadcasts received by one peer (packets/s)", 0),
]


def load(path):
    runs = {}
    for line in open(path, errors="replace"):
        f = line.split()
        if len(f) != 5 or f[0] != "R":
            continue
        try:
            runs.setdefault((f[1], f[2]), []).append(float(f[4]))
        except ValueError:
            pass
    return runs


def fmt(v, dec):
    if v is None:
        return "–"
    if dec == 0 or abs(v) >= 1000:
        return "{:,.0f}".format(v).replace(",", " ")
    return "{:.{}f}".format(v, dec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--json")
    ap.add_argument("--png")
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    runs = load(a.raw)
    med = {}
    count = {}
    for (s, m), v in runs.items():
        med[(s, m)] = statistics.median(v)
        count[(s, m)] = len(v)

    # The table.
    head = ["metric"] + [NAMES[s] for s in SYSTEMS]
    rows = []
    for m, label, better, dec, _ in METRICS:
        wg = med.get(("wireguard", m))
        row = [label + (" ↑" if better > 0 else " ↓")]
        for s in SYSTEMS:
            v = med.get((s, m))
            cell = fmt(v, dec)
            if v is not None and wg and s != "wireguard":
                cell += " ({:.2f}×)".format(v / wg)
            row.append(cell)
        rows.append(row)
    n = sorted(set(count.values()))
    print("| " + " | ".join(head) + " |")
    print("|---" + "|---:" * len(SYSTEMS) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("Medians of %s run(s) each; (×) is the ratio to WireGuard; "
          "↑ higher is better, ↓ lower." % ("/".join(str(x) for x in n) or "0"))

    def get(s, m):
        return med.get((s, m))

    scale = [s for s in SCALE[1:] if any((s, m) in med for m, _, _ in SCALE_METRICS)]
    if scale:
        print()
        print("| shoal (kernel) with | " + " | ".join(SCALE_NAMES[s] for s in SCALE) + " |")
        print("|---" + "|---:" * len(SCALE) + "|")
        for m, label, dec in SCALE_METRICS:
            one = get("shoal", m)
            row = [label]
            for s in SCALE:
                v = get(s, m)
                cell = fmt(v, dec)
                if v is not None and one and s != "shoal":
                    cell += " ({:.2f}×)".format(v / one)
                row.append(cell)
            print("| " + " | ".join(row) + " |")
        print()
        print("(×) is the ratio to the same datapath with one peer.")

    print()
    print("Targets (issues 6 and 14), same run:")
    # text, system, metric, better, factor, against which system
    checks = [
        ("shoal tcp_1 >= 1.2 x WireGuard", "shoal", "tcp_1", +1, 1.2, "wireguard"),
        ("shoal tcp_4 >= 1.2 x WireGuard", "shoal", "tcp_4", +1, 1.2, "wireguard"),
        ("shoal udp64_pps >= 1.2 x WireGuard", "shoal", "udp64_pps", +1, 1.2, "wireguard"),
        ("shoal rtt_p99_us (idle) <= WireGuard", "shoal", "rtt_p99_us", -1, 1.0, "wireguard"),
        ("shoal rtt_p99_us (TCP load) <= WireGuard", "shoal", "rtt_load_p99_us", -1, 1.0, "wireguard"),
        ("shoal_tap tcp_1 >= 0.5 x WireGuard", "shoal_tap", "tcp_1", +1, 0.5, "wireguard"),
        ("shoal_tap tcp_4 >= 0.5 x WireGuard", "shoal_tap", "tcp_4", +1, 0.5, "wireguard"),
        ("shoal_tap udp64_pps >= 0.5 x WireGuard", "shoal_tap", "udp64_pps", +1, 0.5, "wireguard"),
        ("shoal setup_ms <= WireGuard", "shoal", "setup_ms", -1, 1.0, "wireguard"),
    ]
    for m in ("tcp_1", "tcp_4", "udp64_pps"):
        checks.append(("shoal_1k %s >= 0.95 x shoal" % m, "shoal_1k", m, +1, 0.95, "shoal"))
    for text, s, m, better, k, against in checks:
        v, ref = get(s, m), get(against, m)
        if v is None or not ref:
            print("  %-44s no figure" % text)
            continue
        goal = ref * k
        ok = v >= goal if better > 0 else v <= goal
        if ok:
            verdict = "met"
        elif better > 0:
            verdict = "MISSED by %.0f%%" % (100 * (goal - v) / goal)
        else:
            verdict = "MISSED: %.2f× the goal" % (v / goal)
        print("  %-44s %s vs goal %s: %s" % (text, fmt(v, 1), fmt(goal, 1), verdict))

    if a.json:
        out = {}
        for m, _, _, dec, in_json in METRICS:
            if not in_json:
                continue
            out[m] = {}
            for s in SYSTEMS:
                v = get(s, m)
                out[m][s] = None if v is None else (round(v, dec) if dec else int(round(v)))
        out["scale"] = {m: {s: get(s, m) for s in SCALE} for m, _, _ in SCALE_METRICS}
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")

    if a.png:
        chart(a.png, get, a.title)


def chart(png, get, title):
    short = {"underlay": "underlay", "wireguard": "WireGuard", "xfrm": "xfrm",
             "shoal": "shoal", "shoal_tap": "shoal TAP"}

    def val(s, m, scale=1.0):
        v = get(s, m)
        return "NaN" if v is None else "%g" % (v * scale)

    def under(m, scale=1.0, dec=0):
        v = get("underlay", m)
        return "–" if v is None else "{:.{}f}".format(v * scale, dec)

    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        with open(data, "w") as f:
            for s in SYSTEMS:
                f.write('"%s" %s %s %s %s %s %s %s\n' % (
                    short[s], val(s, "tcp_1"), val(s, "tcp_4"),
                    val(s, "udp64_pps", 1e-3),
                    val(s, "rtt_p50_us"), val(s, "rtt_p99_us"),
                    val(s, "rtt_load_p50_us"), val(s, "rtt_load_p99_us")))
        # The underlay dwarfs every tunnel: its throughput is in the
        # panels' titles, not drawn (rows 2.. of the data are the tunnels).
        script = r'''
set terminal pngcairo size 1500,540 font "sans,10"
set output "%(png)s"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set xtics scale 0
set key top right
set multiplot layout 1,3 title "%(title)s"
set title "TCP throughput (Mbit/s, higher is better)\nunderlay, not drawn: %(u1)s (1 stream), %(u4)s (4 streams)"
set yrange [0:*]
plot "%(data)s" every ::1 using 2:xtic(1) title "1 stream", "" every ::1 using 3 title "4 streams"
set title "UDP, 64-byte payloads (thousand packets/s received)\nunderlay, not drawn: %(uu)s"
plot "%(data)s" every ::1 using 4:xtic(1) title "received" lc rgb "#4d9221"
set title "ping round trip (µs, log scale, lower is better)\nidle, and under a one-stream TCP load"
set logscale y
set yrange [*:*]
set key below
plot "%(data)s" using 5:xtic(1) title "p50 idle", "" using 6 title "p99 idle", "" using 7 title "p50 under TCP", "" using 8 title "p99 under TCP"
unset multiplot
''' % {"png": png, "data": data, "title": title.replace('"', "'"),
       "u1": under("tcp_1"), "u4": under("tcp_4"),
       "uu": under("udp64_pps", 1e-3, 1)}
        r = subprocess.run(["gnuplot"], input=script, text=True,
                           capture_output=True)
        if r.returncode != 0:
            sys.stderr.write("report: gnuplot failed:\n" + r.stderr)
            sys.exit(1)

main()
