#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP for the tests of --metrics (shoal-mediator, shoal-relay).

    promcheck.py get HOST PORT [PATH [METHOD]]
        prints the status code; for a 200 of /metrics, checks the body
        as Prometheus' text format 0.0.4 (exit 1 and why if it is not)
        and prints each sample as "NAME{LABELS} VALUE".
    promcheck.py raw HOST PORT HEX
        sends those bytes, prints the status code (or "closed").
    promcheck.py slow HOST PORT N
        opens N connections that send nothing, then scrapes: prints
        "answered SECONDS"; then waits for the server to close the N:
        prints "closed K SECONDS".
    promcheck.py --self-test
"""
import re
import socket
import sys
import time

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s=%s(?:,%s=%s)*)?\})? (\S+)( -?\d+)?$" %
                    (NAME, LABEL, VALUE, LABEL, VALUE))
TYPES = ("counter", "gauge", "summary", "histogram", "untyped")


class Bad(Exception):
    pass


def family_of(name, types):
    """The family a sample belongs to: itself, or a summary's _sum/_count."""
    for suffix in ("_sum", "_count", "_bucket"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("summary",
                                                          "histogram"):
            return base
    return name


def check(text):
    """The samples of an exposition (0.0.4), or Bad(why)."""
    if text and not text.endswith("\n"):
        raise Bad("no line feed at the end")
    helps, types, done, samples = set(), {}, set(), []
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise Bad(where)
                continue
            kind, name, rest = m.groups()
            if kind == "HELP":
                if name in helps:
                    raise Bad("HELP twice: " + where)
                if "\\" in re.sub(r"\\[\\n]", "", rest):
                    raise Bad("bad escape in HELP: " + where)
                helps.add(name)
            else:
                if name in types or rest not in TYPES:
                    raise Bad(where)
                if name in done or name == current:
                    raise Bad("TYPE after its samples: " + where)
                if rest == "counter" and not name.endswith("_total"):
                    raise Bad("a counter without _total: " + where)
                types[name] = rest
            continue
        if not line:
            raise Bad("empty line %d" % n)
        m = SAMPLE.match(line)
        if not m:
            raise Bad(where)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if value not in ("+Inf", "-Inf", "NaN"):
            try:
                float(value)
            except ValueError:
                raise Bad("bad value: " + where)
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                raise Bad("family %s not in one group: %s" % (fam, where))
            if current:
                done.add(current)
            current = fam
        if fam not in types:
            raise Bad("no TYPE before: " + where)
        names = re.findall(r"(%s)=" % LABEL, labels)
        if len(names) != len(set(names)):
            raise Bad("a label twice: " + where)
        key = name + labels
        if key in (s[0] for s in samples):
            raise Bad("a sample twice: " + where)
        samples.append((key, value))
    return samples


def request(host, port, data, timeout=5):
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.sendall(data)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    return got


def status_and_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0]) if lines else None
    if not m:
        raise Bad("no status line: %r" % raw[:80])
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    if int(headers.get("content-length", -1)) != len(body):
        raise Bad("Content-Length %s, %d bytes" %
                  (headers.get("content-length"), len(body)))
    if headers.get("connection") != "close":
        raise Bad("no Connection: close")
    return int(m.group(1)), headers, body


def get(host, port, path="/metrics", method="GET"):
    raw = request(host, port, ("%s %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" %
                               (method, path, host, port)).encode())
    code, headers, body = status_and_body(raw)
    print(code)
    if code == 200:
        if headers.get("content-type") != \
                "text/plain; version=0.0.4; charset=utf-8":
            raise Bad("Content-Type %r" % headers.get("content-type"))
        for key, value in check(body.decode("utf-8")):
            print(key, value)


def raw_request(host, port, hexbytes):
    got = request(host, port, bytes.fromhex(hexbytes))
    print(status_and_body(got)[0] if got else "closed")


def slow(host, port, n):
    idle = [socket.create_connection((host, int(port))) for _ in range(n)]
    time.sleep(0.5)
    t0 = time.monotonic()
    raw = request(host, port, b"GET /metrics HTTP/1.1\r\n\r\n", timeout=3)
    code = status_and_body(raw)[0]
    print("answered %.2f" % (time.monotonic() - t0) if code == 200
          else "status %d" % code)
    closed, end = 0, time.monotonic() + 10
    for s in idle:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            if s.recv(1) == b"":
                closed += 1
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    print("closed %d %.2f" % (closed, time.monotonic() - t0))


def self_test():
    """KTAP: the checker takes a good exposition and refuses each bad one."""
    good = ('# HELP a_total A \\\\ b\\n.\n# TYPE a_total counter\n'
            'a_total{x="q\\"\\\\\\n"} 1\n# TYPE s summary\ns_sum 0.5\n'
            's_count 2\n# TYPE g gauge\ng +Inf\ng{i="1"} -1e-05\n')
    bad = ("a 1", "# TYPE a gauge\na x\n", "# TYPE a counter\na 1\n",
           '# TYPE a gauge\na{x="\\t"} 1\n', "# TYPE a gauge\n\n",
           "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",
           "# TYPE a gauge\na 1\na 1\n", "a 1\n",
           '# TYPE a gauge\na{x="1",x="2"} 1\n',
           "# TYPE a gauge\na 1\n# TYPE a gauge\n",
           "# HELP a x \\y\n# TYPE a gauge\na 1\n")
    print("TAP version 13\n1..%d" % (1 + len(bad)))
    ok = check(good)[0] == ('a_total{x="q\\"\\\\\\n"}', "1")
    print("%s 1 a good exposition is taken" % ("ok" if ok else "not ok"))
    for n, text in enumerate(bad, 2):
        try:
            check(text)
            verdict = "not ok"
        except Bad:
            verdict = "ok"
        print("%s %d refused: %r" % (verdict, n, text))


def main(argv):
    try:
        if argv[1:] == ["--self-test"]:
            self_test()
        elif argv[1] == "get":
            get(*argv[2:])
        elif argv[1] == "raw":
            raw_request(*argv[2:])
        elif argv[1] == "slow":
            slow(argv[2], argv[3], int(argv[4]))
        else:
            sys.exit(__doc__)
    except (Bad, OSError) as e:
        print("promcheck: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
