# SPDX-License-Identifier: GPL-2.0
"""Raw clients of shoald's control socket, for the tests that need more
than shoal gives: several connections at once, or ones held idle."""
import socket


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def send(s, line):
    """Writes LINE; a shoald too busy to read it may have closed already."""
    try:
        s.sendall(line)
    except OSError:
        pass


def read_answer(s):
    """Reads to the end; shoald's busy answer (-206) ends in a reset, as it
    closes the connection with the request unread.  Closes S."""
    out = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    s.close()
    return out.decode("utf-8", "replace")


def busy(answer):
    return answer.startswith("error -206 ")
