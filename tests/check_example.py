#!/usr/bin/env python3
"""Runs one example program and checks its output.

Usage: check_example.py NAME EXECUTABLE EXAMPLES_SOURCE_DIR

Timing checks use generous bounds: lower bounds the program cannot beat (it sleeps that
long) and upper bounds that only fail if the work did not run concurrently.
"""
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile


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


# --- The asyncio introduction's programs, each against its asyncio twin (examples/NAME.py) ---
#
# The C++ program and its twin must print the same lines. The only differences allowed are in
# numbers read from a clock (elapsed times, and what is derived from them): each check lists
# those as (regex, tolerance) pairs, a regex matching the whole line with one group per clock
# number, and the two programs' numbers may differ by at most the tolerance in seconds (None:
# any value; such numbers are checked on the C++ side alone). CLOCK_TOLERANCE is generous
# because the tests run two at a time on a 2-core machine; it still tells 1 s from 2 s.
CLOCK_TOLERANCE = 0.25


def twin_interpreter():
    """The python3 that runs the twins, or None (then only the C++ program is checked)."""
    found = shutil.which("python3")
    if found is None:
        print("python3 is not installed: the asyncio twin is skipped, the C++ program is "
              "checked on its own")
    return found


def masked(line, clocks):
    """The line with its clock numbers replaced by '#', those numbers, and their tolerance."""
    for pattern, tolerance in clocks:
        m = re.fullmatch(pattern, line)
        if m:
            text, last, values = "", 0, []
            for g in range(1, len(m.groups()) + 1):
                text += line[last:m.start(g)] + "#"
                last = m.end(g)
                values.append(float(m.group(g)))
            return text + line[last:], values, tolerance
    return line, [], 0


def collapse(lines, repeated):
    """Replaces each run of lines matching `repeated` by one line '<K lines>' (K >= 1)."""
    out = []
    for line in lines:
        if repeated and re.fullmatch(repeated, line):
            if out and out[-1].startswith("<") and out[-1].endswith(" lines>"):
                out[-1] = f"<{int(out[-1][1:].split()[0]) + 1} lines>"
            else:
                out.append("<1 lines>")
        else:
            out.append(line)
    return out


def check_twin(name, src, out, args=(), clocks=(), repeated=None):
    """Runs examples/NAME.py under asyncio and requires the same lines as `out` (see above).
    A run of lines matching `repeated` may have another length in each output (at least 1)."""
    python = twin_interpreter()
    if python is None:
        return
    twin = run([python, f"{src}/{name}.py", *args])
    ours, theirs = collapse(out.splitlines(), repeated), collapse(twin.splitlines(), repeated)
    if len(ours) != len(theirs):
        fail(f"{len(ours)} lines against asyncio's {len(theirs)}:\n--- asyncio ---\n{twin}", out)
    for a, b in zip(ours, theirs):
        (text_a, values_a, tolerance), (text_b, values_b, _) = masked(a, clocks), masked(b, clocks)
        if re.fullmatch(r"<\d+ lines>", a) and re.fullmatch(r"<\d+ lines>", b):
            continue
        if text_a != text_b:
            fail(f"line {a!r} differs from asyncio's {b!r}\n--- asyncio ---\n{twin}", out)
        for x, y in zip(values_a, values_b):
            if tolerance is not None and abs(x - y) > tolerance:
                fail(f"line {a!r}: {x} is more than {tolerance} from asyncio's {y} ({b!r})", out)


def seconds(label):
    """A regex for the line 'LABEL: N.NNs' (LABEL a regex too)."""
    return (rf"{label}: (\d+\.\d\d)s", CLOCK_TOLERANCE)


def check_hello(exe, src):
    out = run([exe])
    if out.splitlines() != ["Hello", "World"]:
        fail("expected the lines Hello, World", out)
    check_twin("hello", src, out)


def check_say_after(exe, src):
    out = run([exe])
    lines = out.splitlines()
    if lines[1:3] != ["Hello", "World"]:
        fail("expected Hello, then World", out)
    started = number(r"^Started at (\d+\.\d\d)$", out)
    finished = number(r"^Finished at (\d+\.\d\d)$", out)
    if started > 0.1 or not 2.0 <= finished < 2.9:  # concurrent: 2 s; one after the other: 3 s
        fail(f"started at {started}, finished at {finished}: expected 0.00 and about 2.00", out)
    check_twin("say_after", src, out,
               clocks=[(r"Started at (\d+\.\d\d)", CLOCK_TOLERANCE),
                       (r"Finished at (\d+\.\d\d)", CLOCK_TOLERANCE)])


def check_coroutine_result(exe, src):
    out = run([exe])
    if out != "Hello\n":
        fail("expected the line Hello", out)
    check_twin("coroutine_result", src, out)


def check_create_tasks(exe, src):
    out = run([exe])
    if out.splitlines()[:2] != ["Result from url1", "Result from url2"]:
        fail("expected both results, in order", out)
    took = number(r"^Took (\d+\.\d\d)s$", out)
    if not 1.0 <= took < 1.9:  # created first, so concurrent: 1 s, not 2
        fail(f"took {took} s; expected about 1 s", out)
    check_twin("create_tasks", src, out, clocks=[(r"Took (\d+\.\d\d)s", CLOCK_TOLERANCE)])


def check_threads_vs_tasks(exe, src):
    n = 200  # the scale part at a size a test can afford; README quotes 10,000
    out = run([exe, str(n)])
    results = str([f"Result from url{i}" for i in range(10)])
    for kind in ["Threads", "Tasks"]:
        took = number(rf"^{kind}: (\d+\.\d\d)s, results=" + re.escape(results) + "$", out)
        if not 1.0 <= took < 1.9:
            fail(f"{kind}: ten concurrent 1 s fetches took {took} s", out)
    report = r"  {}: (\d+\.\d\d)s wall, ([+-]\d+\.\d) MiB resident \(([+-]?\d+\.\d) KiB each\), " \
             r"(\d+\.\d) us to start each"
    if not re.search(rf"^{n} fetches at once:$", out, re.M):
        fail("expected the scale part's heading", out)
    for kind in ["threads", "tasks"]:
        m = re.search("^" + report.format(kind) + "$", out, re.M)
        if not m:
            fail(f"no report line for {kind}", out)
        wall, mib, each, start = map(float, m.groups())
        if wall < 1.0 or mib <= 0 or each <= 0 or start <= 0:
            fail(f"{kind}: implausible figures {m.groups()}", out)
    # The scale figures measure two different runtimes: only their shape is compared.
    scale = [(report.format(kind), None) for kind in ["threads", "tasks"]]
    check_twin("threads_vs_tasks", src, out, args=[str(n)],
               clocks=[(r"Threads: (\d+\.\d\d)s, results=.*", CLOCK_TOLERANCE),
                       (r"Tasks: (\d+\.\d\d)s, results=.*", CLOCK_TOLERANCE)] + scale)


def check_compute_heavy(exe, src):
    out = run([exe])
    ticks = re.findall(r"^tick (\d+)$", out, re.M)
    if "sum(i*i for i in range(10_000_000)) = 333333283333335000000\n" not in out:
        fail("wrong or missing sum", out)
    count = number(r"^The loop ticked (\d+) times meanwhile$", out)
    if count < 1 or ticks != [str(i) for i in range(1, int(count) + 1)]:
        fail("the ticker must have run (ticks 1..N printed, N > 0) while the sum was computed", out)
    # The tick count depends on how long the sum takes (CPython takes about 100 times longer).
    check_twin("compute_heavy", src, out, repeated=r"tick \d+",
               clocks=[(r"The loop ticked (\d+) times meanwhile", None)])


def check_fetch_simulated(exe, src):
    out = run([exe, "12345"])
    fetched = re.findall(r"^https://example\.com/page(\d): (\d\.\d\d)s$", out, re.M)
    if [p for p, _ in fetched] != ["0", "1", "2", "3", "4"]:
        fail("expected the five pages in gather (argument) order", out)
    delays = [float(d) for _, d in fetched]
    if not all(0.2 <= d <= 1.0 for d in delays):
        fail("delays must lie in 0.2-1.0 s", out)
    wall = number(r"^Total wall-clock time: (\d+\.\d\d)s$", out)
    total = number(r"^Sum of individual times: (\d+\.\d\d)s$", out)
    saved = number(r"^Concurrency saved: (\d+\.\d\d)s$", out)
    if abs(total - sum(delays)) > 0.026:  # five numbers rounded to 0.01
        fail("the sum of individual times does not add up", out)
    if not max(delays) - 0.01 <= wall < total:
        fail(f"wall time {wall} must be at least the longest delay and below the sum", out)
    if abs(saved - (total - wall)) > 0.011:
        fail("the time saved must be the sum minus the wall time", out)
    check_twin("fetch_simulated", src, out, args=["12345"],
               clocks=[seconds("Total wall-clock time"), seconds("Concurrency saved")])


def check_sequential_vs_concurrent(exe, src):
    out = run([exe])
    results = r", results=\[0, 2, 4, 6, 8, 10, 12, 14, 16, 18\]$"
    sequential = number(r"^Sequential: (\d+\.\d\d)s" + results, out)
    concurrent = number(r"^Concurrent: (\d+\.\d\d)s" + results, out)
    speedup = number(r"^Speedup: (\d+\.\d)x$", out)
    if sequential < 1.0 or not 0.1 <= concurrent < 0.5 or speedup < 3:
        fail("expected about 1 s one after the other, about 0.1 s gathered", out)
    check_twin("sequential_vs_concurrent", src, out,
               clocks=[(r"Sequential: (\d+\.\d\d)s, results=.*", CLOCK_TOLERANCE),
                       (r"Concurrent: (\d+\.\d\d)s, results=.*", CLOCK_TOLERANCE),
                       (r"Speedup: (\d+\.\d)x", None)])


def check_countdowns(exe, src):
    out = run([exe])
    expected = ["A: 3", "B: 5", "C: 2", "A: 2", "B: 4", "C: 1", "A: 1", "B: 3", "C: done!",
                "A: done!", "B: 2", "B: 1", "B: done!"]
    if out.splitlines() != expected:
        fail("expected the tutorial's interleaving:\n" + "\n".join(expected), out)
    check_twin("countdowns", src, out)  # no clock numbers: byte for byte


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


def start_server(exe, *args):
    """Starts a server example on a free port; returns (process, port)."""
    proc = subprocess.Popen([exe, "--port", "0", *args], stdout=subprocess.PIPE,
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
    check_echo_threads(server_exe)


def check_echo_threads(server_exe):
    """echo_server --threads 2: two loops share the port; 64 connections, each echoed, are
    spread over both (all on one: odds 2^-63), and each loop reports its count."""
    proc, port = start_server(server_exe, "--threads", "2")
    try:
        for i in range(64):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"line {i}\n".encode())
                if s.makefile().readline() != f"line {i}\n":
                    fail(f"connection {i} was not echoed")
    finally:
        log = stop_server(proc)
    counts = [int(n) for n in re.findall(r"^loop \d served (\d+) connections$", log, re.M)]
    if len(counts) != 2 or sum(counts) != 64 or min(counts) == 0:
        fail("expected both loops to serve some of the 64 connections", log)


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
    check_https_hello(exe)
    # Two loops: every connection is answered, whichever loop the kernel gives it to.
    proc, port = start_server(exe, "--threads", "2")
    try:
        for i in range(16):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            if not data.endswith(b"Hello, World!"):
                fail(f"connection {i} to http_hello --threads 2 got no answer", data.decode())
    finally:
        stop_server(proc)


def check_https_hello(exe):
    """http_hello --tls-cert/--tls-key serves HTTPS: curl, verifying the certificate, gets
    both of two requests over one kept-alive connection."""
    with tempfile.TemporaryDirectory() as d:
        cert, key = f"{d}/cert.pem", f"{d}/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       check=True, capture_output=True)
        proc, port = start_server(exe, "--tls-cert", cert, "--tls-key", key)
        try:
            url = f"https://localhost:{port}/"
            res = subprocess.run(["curl", "--silent", "--show-error", "--cacert", cert,
                                  "--resolve", f"localhost:{port}:127.0.0.1", "--write-out",
                                  " %{num_connects} %{http_version}", url, url],
                                 capture_output=True, text=True, timeout=30)
        finally:
            stop_server(proc)
    if res.returncode != 0:
        fail(f"curl failed: {res.stderr}", res.stdout)
    # Two bodies, the first on a new connection (1), the second reusing it (0).
    if res.stdout != "Hello, World! 1 1.1Hello, World! 0 1.1":
        fail("expected two HTTPS responses over one kept-alive connection", res.stdout)


def check_fetch_urls(exe, _):
    out = run([exe])
    fetched = re.findall(r"^fetched http://127\.0\.0\.1:\d+/page(\d): 200 in ([\d.]+) s$", out, re.M)
    if sorted(p for p, _ in fetched) != ["1", "2", "3", "4", "5"]:
        fail("expected the five pages fetched with status 200", out)
    times = {int(p): float(t) for p, t in fetched}
    if [p for p, _ in fetched] != ["1", "2", "3", "4", "5"]:
        fail("pages must finish in order of their serving time (concurrently)", out)
    if any(times[p] < p * 0.1 - 0.005 for p in times):
        fail("a page came back before the server's delay", out)
    wall = number(r"^wall time: ([\d.]+) s$", out)
    total = number(r"^sum of fetch times: ([\d.]+) s$", out)
    if not 0.49 <= wall < total:
        fail(f"wall time {wall} must be the slowest page (about 0.5 s) and below the sum {total}", out)


def check_http_api(exe, _):
    import http.client
    import json
    proc, port = start_server(exe)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # one kept-alive connection

        def call(method, path, body=None):
            conn.request(method, path, body=body)
            r = conn.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None)

        steps = [
            (call("PUT", "/kv/apple", "red"), (201, {"key": "apple", "value": "red"})),
            (call("PUT", "/kv/apple", 'green "granny"'), (200, {"key": "apple", "value": 'green "granny"'})),
            (call("PUT", "/kv/pear", "yellow"), (201, {"key": "pear", "value": "yellow"})),
            (call("GET", "/kv/apple"), (200, {"key": "apple", "value": 'green "granny"'})),
            (call("GET", "/kv"), (200, {"keys": ["apple", "pear"]})),
            (call("DELETE", "/kv/apple"), (204, None)),
            (call("GET", "/kv/apple"), (404, {"error": "no key apple"})),
            (call("POST", "/kv/pear"), (405, {"error": "use GET, PUT or DELETE"})),
        ]
        conn.close()
    finally:
        log = stop_server(proc)
    for got, want in steps:
        if got != want:
            fail(f"expected {want}, got {got}", log)
    for line in ["PUT /kv/apple 201 ", "GET /kv 200 ", "DELETE /kv/apple 204 0 bytes", "GET /kv/apple 404 "]:
        if line not in log:
            fail(f"no log line starting {line!r}", log)


def python_with(module):
    """A python3 that can import `module` (Debian's python3-websockets is installed for the
    system interpreter, which may not be the one running this script)."""
    for candidate in [sys.executable, "/usr/bin/python3", shutil.which("python3")]:
        if candidate and subprocess.run([candidate, "-c", f"import {module}"],
                                        capture_output=True).returncode == 0:
            return candidate
    fail(f"no python3 here can import {module} (.ci/deps.sh installs python3-{module})")


def check_ws_chat(exe, _):
    python = python_with("websockets")
    proc, port = start_server(exe)
    script = """
import asyncio, sys, websockets
async def main(port):
    url = f"ws://127.0.0.1:{port}/chat"
    a = await websockets.connect(url); print(await a.recv())
    b = await websockets.connect(url); print(await b.recv()); print(await a.recv())
    c = await websockets.connect(url); print(await c.recv()); print(await a.recv()); print(await b.recv())
    await a.send("hello everyone")
    print(await b.recv()); print(await c.recv())
    await c.close()
    print(await a.recv()); print(await b.recv())
    await a.close(); await b.close()
asyncio.run(asyncio.wait_for(main(int(sys.argv[1])), 20))
"""
    try:
        out = run([python, "-c", script, str(port)])
    finally:
        stop_server(proc)
    expected = ["welcome client-1", "welcome client-2", "client-2 joined", "welcome client-3",
                "client-3 joined", "client-3 joined", "client-1: hello everyone",
                "client-1: hello everyone", "client-3 left", "client-3 left"]
    if out.splitlines() != expected:
        fail("unexpected chat:\n" + "\n".join(expected), out)


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


def check_pg_report(exe, _):
    out = run([exe])
    if not out.startswith("1000 queries over a pool of 10 connections\n"):
        fail("expected the header line first", out)
    for r in range(10):
        # Region r holds the amounts r, r + 10, ..., r + 990: 100 rows summing to 49500 + 100 r.
        if f"region {r}: 100 rows, total {49500 + 100 * r}\n" not in out:
            fail(f"region {r}'s line is wrong", out)
    if number(r"^server connections used: (\d+)$", out) != 10:
        fail("the pool must have used exactly its 10 connections", out)
    wall = number(r"^wall time: ([\d.]+) s$", out)
    total = number(r"^sum of query times: ([\d.]+) s$", out)
    # 1,000 server-side sleeps of 5 ms through 10 connections take at least 0.5 s; ten at a
    # time, the wall time is well below the sum of the query times (at least 5 s).
    if total < 5.0 or not 0.5 <= wall < total / 2:
        fail(f"wall time {wall} must be at least 0.5 s and well below the sum {total}", out)


def check_redis_counter(exe, _):
    out = run([exe])
    # Tasks 0..99 add 1, 2, 3, 1, 2, 3, ... views per round: 34 * 1 + 33 * 2 + 33 * 3 = 199,
    # over 20 rounds.
    for page in range(10):
        if f"page{page}: {199 * 20} views\n" not in out:
            fail(f"page{page}'s count is wrong", out)
    if not re.search(r"^2000 pipelines of 10 commands from 100 tasks in [\d.]+ s$", out, re.M):
        fail("expected the summary line", out)


def check_sharded_counter(exe, _):
    """Per-key totals counted on owner loops: each loop handles the same 1,200 simulated
    requests, so every total is the number of loops times the key's count in one list."""
    paths = ["/", "/about", "/api/users", "/api/orders", "/login"]
    once = {}
    for i in range(1200):
        p = paths[(i * i + i // 7) % len(paths)]
        once[p] = once.get(p, 0) + 1

    def owner(key, loops):  # FNV-1a, as the example
        h = 2166136261
        for c in key.encode():
            h = ((h ^ c) * 16777619) % 2**32
        return h % loops

    for loops, args in ((2, []), (3, ["--threads", "3"])):
        out = run([exe, *args])
        expected = "".join(f"{k:<12} {once[k] * loops:5}  (owner: loop {owner(k, loops)})\n"
                           for k in sorted(once))
        if out != expected:
            fail(f"wrong totals with {loops} loops; expected:\n{expected}", out)
    # The wrong version: the debug build's thread check catches the second loop; a release
    # build (which says so first) has no check: a deadlock report or a finished run.
    res = subprocess.run([exe, "--wrong"], capture_output=True, text=True, timeout=60)
    if res.stdout.startswith("no thread check in this build"):
        ok = (res.returncode == 0 and "finished" in res.stdout) or (
            res.returncode == 1 and "caught: deadlock" in res.stdout)
    else:
        ok = res.returncode == 1 and res.stdout.startswith(
            "caught: spindle::Lock: used from a thread other than its loop's")
    if not ok:
        fail(f"--wrong exited with {res.returncode}: expected the thread check's error "
             "(or, without one, a deadlock report or a finished run)", res.stdout + res.stderr)


def main():
    name, exe, src = sys.argv[1:4]
    globals()["check_" + name](exe, src)
    print(f"example {name}: ok")


if __name__ == "__main__":
    main()
