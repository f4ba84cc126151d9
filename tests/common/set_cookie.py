#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sets a shoal device's cookie secret and keys as shoald does
(SHOAL_CMD_SET_DEVICE with SHOAL_A_DEVICE_COOKIE_SECRET, _MAC1_KEY and
_COOKIE_KEY, random bytes), for the tests of who may.

    set_cookie.py IFNAME [PUBLIC-KEY]

With PUBLIC-KEY (base64), the MAC1 and cookie keys are those shoald
derives from it (docs/protocol.md), so that a test can forge INITs the
device checks and open the cookies it sends; random otherwise.

Prints "ok", or "errno N: EXTACK" and exits 1.  The numbers come from
uapi/linux/shoal.h, read at run time, so there is one definition of them.
"""
import os
import base64
import hashlib
import re
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK, NETLINK_EXT_ACK = 270, 11


def uapi():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "uapi",
                        "linux", "shoal.h")
    text = open(path).read()
    names = {}
    for enum in re.findall(r"enum\s+\w*\s*\{(.*?)\}", text, re.S):
        value = 0
        for line in enum.splitlines():
            m = re.match(r"\s*(SHOAL_\w+)\s*(?:=\s*(\w+))?\s*,", line)
            if m:
                if m.group(2):
                    value = int(m.group(2), 0)
                names[m.group(1)] = value
                value += 1
    return names


def attr(kind, data):
    pad = (4 - len(data) % 4) % 4
    return struct.pack("HH", 4 + len(data), kind) + data + b"\0" * pad


def talk(sk, kind, cmd, version, attrs):
    body = struct.pack("BBH", cmd, version, 0) + attrs
    sk.send(struct.pack("IHHII", 16 + len(body), kind,
                        NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
    out = {}
    # The answer (GETFAMILY), then the ack, each its own datagram.
    while True:
        reply = sk.recv(65536)
        while len(reply) >= 16:
            length, kind_r = struct.unpack_from("IH", reply)
            msg = reply[:length]
            if kind_r == NLMSG_ERROR:
                err = -struct.unpack_from("i", msg, 16)[0]
                text = ""
                off = 16 + 4 + struct.unpack_from("I", msg, 20)[0]
                while off + 4 <= len(msg):
                    alen, atype = struct.unpack_from("HH", msg, off)
                    if alen < 4:
                        break
                    if atype == NLMSGERR_ATTR_MSG:
                        text = msg[off + 4:off + alen].rstrip(b"\0").decode()
                    off += (alen + 3) & ~3
                return err, text, out
            off = 20
            while off + 4 <= len(msg):
                alen, atype = struct.unpack_from("HH", msg, off)
                if alen < 4:
                    break
                out[atype] = msg[off + 4:off + alen]
                off += (alen + 3) & ~3
            reply = reply[(length + 3) & ~3:]


def main():
    u = uapi()
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sk.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    # CAP_ACK off: the error echoes the request, which is skipped.
    err, text, out = talk(sk, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1,
                          attr(CTRL_ATTR_FAMILY_NAME, b"shoal\0"))
    if err or CTRL_ATTR_FAMILY_ID not in out:
        print("errno %d: no shoal family %s" % (err, text))
        return 1
    family = struct.unpack("H", out[CTRL_ATTR_FAMILY_ID][:2])[0]
    mac1_key, cookie_key = os.urandom(32), os.urandom(32)
    if len(sys.argv) > 2:
        pub = base64.b64decode(sys.argv[2])
        mac1_key = hashlib.blake2b(b"shoal mac1 v1" + pub,
                                   digest_size=32).digest()
        cookie_key = hashlib.blake2b(b"shoal cookie v2" + pub,
                                     digest_size=32).digest()
    attrs = (attr(u["SHOAL_A_DEVICE_IFNAME"], sys.argv[1].encode() + b"\0") +
             attr(u["SHOAL_A_DEVICE_COOKIE_SECRET"], os.urandom(32)) +
             attr(u["SHOAL_A_DEVICE_MAC1_KEY"], mac1_key) +
             attr(u["SHOAL_A_DEVICE_COOKIE_KEY"], cookie_key))
    err, text, _ = talk(sk, family, u["SHOAL_CMD_SET_DEVICE"], 1, attrs)
    if err:
        print("errno %d: %s" % (err, text))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
