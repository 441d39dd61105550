#!/usr/bin/env python3
"""Runs a command whose name lookups go to a DNS server of our own that answers slowly.

    slow_dns.py DELAY -- command args...

Serves *.spindle.test (A: 127.0.0.1; AAAA: no address) on 127.53.0.1:53 after DELAY seconds
per query, and runs the command in a mount namespace of its own (unshare -m) where
/etc/resolv.conf names only that server, so getaddrinfo() for those names blocks for DELAY
seconds while nothing else on the machine is touched. Exports SPINDLE_SLOW_DNS=DELAY.
Needs root (port 53, unshare, mount); exits 77 (Meson's "skipped") saying why otherwise.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
ADDRESS = "127.53.0.1"


def answer(query, delay):
    """The response to one DNS query (a single question), after `delay` seconds."""
    time.sleep(delay)
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    at = 12
    labels = []
    while query[at] != 0:
        labels.append(query[at + 1:at + 1 + query[at]].decode("ascii", "replace"))
        at += 1 + query[at]
    qtype, _ = struct.unpack("!HH", query[at + 1:at + 5])
    question = query[12:at + 5]
    name = ".".join(labels).lower()
    ours = name.endswith("spindle.test")
    rcode = 0 if ours else 3  # NXDOMAIN for other names
    answers = b""
    if ours and qtype == 1:  # A
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode | (flags & 0x0100), 1,
                         1 if answers else 0, 0, 0)
    return header + question + answers


def serve(sock, delay):
    while True:
        try:
            query, peer = sock.recvfrom(512)
        except OSError:
            return
        threading.Thread(target=lambda q=query, p=peer: sock.sendto(answer(q, delay), p),
                         daemon=True).start()


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: slow_dns.py DELAY -- command args...")
    delay = float(args[0])
    command = args[2:]
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("slow_dns: skipped: needs root and unshare (util-linux) for a private resolv.conf")
        return SKIP
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((ADDRESS, 53))
    except OSError as e:
        print(f"slow_dns: skipped: cannot serve DNS on {ADDRESS}:53 ({e})")
        return SKIP
    threading.Thread(target=serve, args=(sock, delay), daemon=True).start()
    with tempfile.NamedTemporaryFile("w", prefix="spindle-resolv-", suffix=".conf") as conf:
        conf.write(f"nameserver {ADDRESS}\noptions timeout:30 attempts:1\n")
        conf.flush()
        os.chmod(conf.name, 0o644)
        env = dict(os.environ, SPINDLE_SLOW_DNS=str(delay))
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                               conf.name] + command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
