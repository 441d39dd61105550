#!/usr/bin/env python3
"""Runs one example program and checks its output.

Usage: check_example.py NAME EXECUTABLE EXAMPLES_SOURCE_DIR

Timing checks use generous bounds: lower bounds the program cannot beat (it sleeps that
long) and upper bounds that only fail if the work did not run concurrently.
"""
import re
import signal
import socket
import subprocess
import sys


def fail(msg, out=""):
    sys.exit(f"FAILED: {msg}\n--- output ---\n{out}")


def run(cmd):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=60)
    if res.returncode != 0:
        fail(f"{cmd} exited with {res.returncode}; stderr: {res.stderr}", res.stdout)
    if res.stderr:
        fail(f"{cmd} wrote to stderr: {res.stderr}", res.stdout)
    return res.stdout


def number(pattern, out):
    m = re.search(pattern, out, re.M)
    if not m:
        fail(f"no line matching {pattern!r}", out)
    return float(m.group(1))


def check_hello(exe, _):
    out = run([exe])
    if out.splitlines() != ["Hello", "World"]:
        fail("expected the lines Hello, World", out)


def check_say_after(exe, _):
    out = run([exe])
    lines = out.splitlines()
    if lines[:3] != ["started", "hello", "world"]:
        fail("expected started, hello, world in that order", out)
    took = number(r"^finished in ([\d.]+) s$", out)
    if not 2.0 <= took < 2.9:  # concurrent: about 2 s; sequential would be 3 s
        fail(f"took {took} s; expected about 2 s (concurrent), not 3", out)


def check_fetch_simulated(exe, _):
    out = run([exe, "12345"])
    fetched = re.findall(r"^fetched https://example\.com/page(\d) in ([\d.]+) s$", out, re.M)
    if sorted(p for p, _ in fetched) != ["1", "2", "3", "4", "5"]:
        fail("expected each of the 5 pages fetched once", out)
    delays = [float(d) for _, d in fetched]
    if delays != sorted(delays):
        fail("concurrent fetches must finish in order of their delays", out)
    if not all(0.2 <= d <= 1.0 for d in delays):
        fail("delays must lie in 0.2-1.0 s", out)
    wall = number(r"^wall time: ([\d.]+) s$", out)
    total = number(r"^sum of delays: ([\d.]+) s$", out)
    saved = number(r"^time saved: ([\d.]+) s$", out)
    if abs(total - sum(delays)) > 0.011:
        fail("sum of delays does not add up", out)
    if not max(delays) - 0.01 <= wall < total:
        fail(f"wall time {wall} must be at least the longest delay and below the sum", out)
    if abs(saved - (total - wall)) > 0.011:
        fail("time saved must be the sum minus the wall time", out)


def check_sequential_vs_concurrent(exe, _):
    out = run([exe])
    seq = number(r"^sequential: ([\d.]+) s \(sum 285\)$", out)
    conc = number(r"^concurrent: ([\d.]+) s \(sum 285\)$", out)
    speedup = number(r"^speedup: ([\d.]+)x$", out)
    if seq < 0.99:
        fail("ten sequential 100 ms sleeps take at least 1 s", out)
    if not 0.099 <= conc < 0.5:
        fail(f"concurrent run took {conc} s; expected about 0.1 s", out)
    if speedup < 2:
        fail("expected a clear speedup", out)


def check_countdowns(exe, src):
    out = run([exe])
    expected = run([sys.executable, f"{src}/countdowns.py"])
    if out != expected:
        fail(f"output differs from asyncio's:\n--- asyncio ---\n{expected}", out)
    if len(out.splitlines()) != 13:
        fail("expected 13 lines (10 T-minus, 3 liftoff)", out)


def check_timeouts(exe, _):
    out = run([exe])
    expected = [
        "with_timeout: gave up after 100 ms",
        "wait_for: got 42 in time",
        "uploader: task cancelled: writer failed in the same TaskGroup: disk full",
        "task_group: unhandled errors in a TaskGroup (1 sub-exception); disk full",
    ]
    if out.splitlines() != expected:
        fail("unexpected lines; expected:\n" + "\n".join(expected), out)


def check_queue_workers(exe, _):
    out = run([exe])
    slept = re.findall(r"^worker-([123]) has slept for (\d+) ms$", out, re.M)
    if sorted(int(ms) for _, ms in slept) != [10, 20, 30, 40, 50, 60, 70, 80, 90]:
        fail("expected each of the 9 items processed exactly once", out)
    if {w for w, _ in slept} != {"1", "2", "3"}:
        fail("expected all three workers to take part", out)
    took = number(r"^3 workers slept in parallel for ([\d.]+) s$", out)
    total = number(r"^total expected sleep time: ([\d.]+) s$", out)
    if total != 0.45 or not 0.15 <= took < total:
        fail(f"took {took} s: expected at least 0.15 s (450 ms over 3 workers) and below {total}", out)


def start_server(exe):
    """Starts a server example on a free port; returns (process, port)."""
    proc = subprocess.Popen([exe, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line.strip())
    if not m:
        proc.kill()
        fail("the server did not report its address", line)
    return proc, int(m.group(1))


def stop_server(proc):
    """Stops a server with SIGINT or SIGTERM (alternating by pid: both must work); it must
    exit cleanly (status 0) and quickly."""
    proc.send_signal(signal.SIGINT if proc.pid % 2 else signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the server did not stop on SIGINT/SIGTERM")
    if proc.returncode != 0 or err:
        fail(f"the server exited with {proc.returncode}; stderr: {err}", out)
    return out


def check_echo(server_exe, client_exe):
    proc, port = start_server(server_exe)
    try:
        out = run([client_exe, "--port", str(port)])
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    finally:
        log = stop_server(proc)  # with `idle` still connected
    if idle.recv(16) != b"":
        fail("the server did not close its open connection when it stopped", log)
    idle.close()
    if out.splitlines() != ["Send: Hello World!", "Received: Hello World!"]:
        fail("unexpected client output", out)
    if not re.search(r"^Received Hello World! from 127\.0\.0\.1:\d+$", log, re.M):
        fail("the server did not log the message", log)
    if "shutting down" not in log:
        fail("the server did not shut down cleanly", log)


def check_http_hello(exe, _):
    proc, port = start_server(exe)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            # Two pipelined keep-alive requests in one write, then an HTTP/1.0 one.
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /last HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break  # the server closed after the HTTP/1.0 response
                data += chunk
    finally:
        stop_server(proc)
    text = data.decode()
    if text.count("HTTP/1.1 200 OK\r\n") != 3 or text.count("Hello, World!") != 3:
        fail("expected three responses to three pipelined requests", text)
    if "Content-Length: 13\r\n" not in text or text.count("Connection: close") != 1:
        fail("expected Content-Length and one Connection: close", text)


def check_fetch_urls(exe, _):
    out = run([exe])
    fetched = re.findall(r"^fetched http://127\.0\.0\.1:\d+/page(\d) in ([\d.]+) s$", out, re.M)
    if sorted(p for p, _ in fetched) != ["1", "2", "3", "4", "5"]:
        fail("expected the five pages fetched, none failed", out)
    times = {int(p): float(t) for p, t in fetched}
    if [p for p, _ in fetched] != ["1", "2", "3", "4", "5"]:
        fail("pages must finish in order of their serving time (concurrently)", out)
    if any(times[p] < p * 0.1 - 0.005 for p in times):
        fail("a page came back before the server's delay", out)
    wall = number(r"^wall time: ([\d.]+) s$", out)
    total = number(r"^sum of fetch times: ([\d.]+) s$", out)
    if not 0.49 <= wall < total:
        fail(f"wall time {wall} must be the slowest page (about 0.5 s) and below the sum {total}", out)


def check_chat_server(exe, _):
    proc, port = start_server(exe)
    try:
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        files = [c.makefile("r") for c in clients]
        welcomes = [f.readline().strip() for f in files]
        if welcomes != ["welcome client-1", "welcome client-2", "welcome client-3"]:
            fail(f"unexpected welcomes {welcomes}")
        # client-1 saw the others join; client-2 saw client-3 join
        if [files[0].readline().strip() for _ in range(2)] != ["client-2 joined", "client-3 joined"]:
            fail("client-1 did not see the others join")
        if files[1].readline().strip() != "client-3 joined":
            fail("client-2 did not see client-3 join")
        clients[0].sendall(b"hello everyone\n")
        for f in files[1:]:
            if f.readline().strip() != "client-1: hello everyone":
                fail("a message was not broadcast to the other clients")
        files[2].close()  # makefile() keeps the fd open until it is closed too
        clients[2].close()
        for f in files[:2]:
            if f.readline().strip() != "client-3 left":
                fail("a departure was not announced")
        for f, c in zip(files[:2], clients[:2]):
            f.close()
            c.close()
    finally:
        stop_server(proc)


def check_port_scanner(exe, _):
    listeners = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        listeners.append(s)
    ports = sorted(s.getsockname()[1] for s in listeners)
    first, last = ports[0] - 5, ports[-1] + 5
    try:
        out = run([exe, "127.0.0.1", str(first), str(last)])
    finally:
        for s in listeners:
            s.close()
    found = [int(p) for p in re.findall(r"^open: (\d+)$", out, re.M)]
    if not set(ports) <= set(found):
        fail(f"ports {ports} are listening but were not reported open", out)
    if not re.search(rf"^{len(found)} of {last - first + 1} ports open$", out, re.M):
        fail("the summary line is wrong", out)


def main():
    name, exe, src = sys.argv[1:4]
    globals()["check_" + name](exe, src)
    print(f"example {name}: ok")


if __name__ == "__main__":
    main()
