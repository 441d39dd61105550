#!/usr/bin/env python3
"""Runs a command with throwaway database servers of its own, then stops them.

    db_servers.py [--pg] [--pg-sql FILE] [--redis] [--tls] -- command args...

--pg: a PostgreSQL cluster made with initdb in a temporary directory (run by the
'postgres' user when we are root: PostgreSQL refuses root), listening on a Unix socket in
that directory and on a free loopback port. Exports SPINDLE_PG (a libpq connection string
for the socket), SPINDLE_PG_TCP (the same over TCP), SPINDLE_PG_PORT, SPINDLE_PG_BIN (the
directory of pgbench and the other server programs).
--pg-sql FILE: with --pg, runs FILE through psql once the server is up (a schema and its
data, e.g. examples/techempower.sql).
--redis: redis-server on a free loopback port and a Unix socket, persistence off. Exports
SPINDLE_REDIS_PORT and SPINDLE_REDIS_SOCKET.
--tls: a test CA and a certificate it signed for localhost and 127.0.0.1 (made with the
openssl command); PostgreSQL then takes TLS on its port (ssl=on) and redis-server listens
for TLS on a port of its own. Exports SPINDLE_TLS_CA (the CA's PEM file) and, with --redis,
SPINDLE_REDIS_TLS_PORT. (Off by default: libpq's default sslmode=prefer would otherwise put
TLS under every TCP benchmark.)

With SPINDLE_DB_SERVER_CPU=n in the environment the servers are pinned to CPU n (taskset),
as the benchmarks in perf/ want. Exits with the command's status; with 77 (Meson's "skipped") and a message naming the
package to install when a server program is missing.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what, proc, limit=60.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"db_servers: {what} exited with status {proc.returncode} while starting")
        if check():
            return
        time.sleep(0.05)
    sys.exit(f"db_servers: {what} did not start within {limit:.0f} s")


def pinned(argv):
    cpu = os.environ.get("SPINDLE_DB_SERVER_CPU")
    return ["taskset", "-c", cpu] + argv if cpu else argv


def pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def make_certs(tmp, env):
    """A CA and a server certificate it signed for localhost and 127.0.0.1, in tmp/tls."""
    if not shutil.which("openssl"):
        print("db_servers: skipped: --tls needs the openssl command (apt-get install openssl)")
        sys.exit(SKIP)
    d = os.path.join(tmp, "tls")
    os.mkdir(d)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(d, "server.ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for argv in (["req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                  "-subj", "/CN=spindle db test CA"],
                 ["req", *key, "-keyout", "server.key", "-out", "server.csr",
                  "-subj", "/CN=localhost"],
                 ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "server.crt", "-days", "2",
                  "-extfile", "server.ext"]):
        subprocess.run(["openssl", *argv], cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    os.chmod(os.path.join(d, "server.key"), 0o600)
    env["SPINDLE_TLS_CA"] = os.path.join(d, "ca.crt")
    return d


def start_pg(tmp, env, procs, tls_dir=None):
    bindir = pg_bindir()
    if not bindir:
        print("db_servers: skipped: PostgreSQL is not installed (apt-get install postgresql)")
        sys.exit(SKIP)
    # As root, the server programs run as 'postgres', switched to in the child itself, so
    # the process we signal to stop is the server (not a runuser in between).
    as_user = {}
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            sys.exit("db_servers: running as root needs the 'postgres' user to run the server")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        if tls_dir:  # (PostgreSQL wants its key owned by itself, mode 0600)
            for name in os.listdir(tls_dir):
                os.chown(os.path.join(tls_dir, name), pw.pw_uid, pw.pw_gid)
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data = os.path.join(tmp, "data")
    subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust",
                    "-U", "spindle", "-E", "UTF8", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL, cwd=tmp, **as_user)
    port = free_port()
    tls = []
    if tls_dir:
        tls = ["-c", "ssl=on", "-c", "ssl_cert_file=" + os.path.join(tls_dir, "server.crt"),
               "-c", "ssl_key_file=" + os.path.join(tls_dir, "server.key")]
    log = open(os.path.join(tmp, "postgres.log"), "w")
    proc = subprocess.Popen(
        pinned([os.path.join(bindir, "postgres"), "-D", data, "-k", tmp, "-p", str(port),
                "-h", "127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=300", *tls]),
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp, **as_user)
    procs.append((proc, signal.SIGINT))  # SIGINT: PostgreSQL's fast shutdown

    def ready():
        return subprocess.run([os.path.join(bindir, "pg_isready"), "-q", "-h", tmp, "-p",
                               str(port)]).returncode == 0
    wait_until(ready, "postgres", proc)
    env["SPINDLE_PG"] = f"host={tmp} port={port} user=spindle dbname=postgres"
    env["SPINDLE_PG_TCP"] = f"host=127.0.0.1 port={port} user=spindle dbname=postgres"
    env["SPINDLE_PG_PORT"] = str(port)
    env["SPINDLE_PG_BIN"] = bindir


def load_sql(env, path):
    psql = os.path.join(env["SPINDLE_PG_BIN"], "psql")
    if not os.path.exists(psql):
        psql = shutil.which("psql") or psql
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", path, env["SPINDLE_PG"]],
                   check=True, stdout=subprocess.DEVNULL)


def start_redis(tmp, env, procs, tls_dir=None):
    server = shutil.which("redis-server")
    if not server:
        print("db_servers: skipped: redis-server is not installed (apt-get install redis-server)")
        sys.exit(SKIP)
    port = free_port()
    sock = os.path.join(tmp, "redis.sock")
    tls = []
    if tls_dir:
        tls_port = free_port()
        tls = ["--tls-port", str(tls_port),
               "--tls-cert-file", os.path.join(tls_dir, "server.crt"),
               "--tls-key-file", os.path.join(tls_dir, "server.key"),
               "--tls-ca-cert-file", os.path.join(tls_dir, "ca.crt"),
               "--tls-auth-clients", "no"]
        env["SPINDLE_REDIS_TLS_PORT"] = str(tls_port)
    proc = subprocess.Popen(pinned([server, "--port", str(port), "--bind", "127.0.0.1",
                                    "--unixsocket", sock, "--unixsocketperm", "777",
                                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                                    "--dir", tmp, "--maxclients", "1000",
                                    # (DEBUG PROTOCOL sends each RESP3 type, for the tests)
                                    "--enable-debug-command", "local", *tls]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    procs.append((proc, signal.SIGTERM))

    def ready():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    wait_until(ready, "redis-server", proc)
    env["SPINDLE_REDIS_PORT"] = str(port)
    env["SPINDLE_REDIS_SOCKET"] = sock


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit("usage: db_servers.py [--pg] [--pg-sql FILE] [--redis] [--tls] -- command args...")
    split = args.index("--")
    opts, command = args[:split], args[split + 1:]
    sql = None
    if "--pg-sql" in opts:
        at = opts.index("--pg-sql")
        if at + 1 >= len(opts):
            sys.exit("db_servers: --pg-sql needs a file")
        sql = opts[at + 1]
        del opts[at:at + 2]
        opts.append("--pg")
    unknown = set(opts) - {"--pg", "--redis", "--tls"}
    if unknown or not command:
        sys.exit(f"db_servers: unknown options {sorted(unknown)} or no command")
    env = dict(os.environ)
    procs = []
    tmp = tempfile.mkdtemp(prefix="spindle-db-")
    os.chmod(tmp, 0o755)
    try:
        tls_dir = make_certs(tmp, env) if "--tls" in opts else None
        if "--pg" in opts:
            start_pg(tmp, env, procs, tls_dir)
            if sql:
                load_sql(env, sql)
        if "--redis" in opts:
            start_redis(tmp, env, procs, tls_dir)
        return subprocess.run(command, env=env).returncode
    finally:
        for proc, sig in procs:
            if proc.poll() is None:
                proc.send_signal(sig)
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
