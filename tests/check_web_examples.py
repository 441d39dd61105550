#!/usr/bin/env python3
"""Runs one of the web framework's examples against a PostgreSQL server and checks it with
real clients (http.client, python3-websockets).

Usage (under tests/db_servers.py, which exports SPINDLE_PG):
    check_web_examples.py todo_api|techempower EXECUTABLE
"""
import html
import json
import os
import re
import socket
import subprocess
import sys
import threading
import http.client

from check_example import fail, python_with, start_server, stop_server


def call(port, method, path, body=None, headers=None):
    """One request on a fresh connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = json.dumps(body) if body is not None and not isinstance(body, str) else body
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, str):
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=payload, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def expect(got, want, what):
    if got != want:
        fail(f"{what}: expected {want}, got {got}")


def call_json(port, method, path, body=None):
    status, _, data = call(port, method, path, body)
    return status, (json.loads(data) if data else None)


class Follower(threading.Thread):
    """Reads /todos/events, collecting each change's data line, until told to stop."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.conn.request("GET", "/todos/events")
        self.res = self.conn.getresponse()
        if self.res.status != 200 or self.res.getheader("Content-Type") != "text/event-stream":
            fail(f"/todos/events answered {self.res.status} {self.res.getheader('Content-Type')}")
        self.changes = []
        self.seen = threading.Event()
        self.start()

    def run(self):
        try:
            while True:
                line = self.res.readline().decode()
                if not line:
                    return
                if line.startswith("data: "):
                    self.changes.append(json.loads(line[6:]))
                    self.seen.set()
        except (OSError, ValueError, http.client.HTTPException):  # closed under it
            return

    def wait_for(self, count):
        for _ in range(200):
            if len(self.changes) >= count:
                return self.changes
            self.seen.wait(0.05)
            self.seen.clear()
        fail(f"a follower saw {len(self.changes)} changes, expected {count}: {self.changes}")

    def close(self):
        # The reader sees the end and returns before the connection goes: closing it under
        # the reader would pull its buffer away mid-read.
        self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.join(10)
        if self.is_alive():
            fail("a follower still read after its connection was shut down")
        self.conn.close()


WS_CLIENT = r"""
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        await ws.send("eggs from ws")
        print(json.loads(await ws.recv())["todo"]["title"])
        await ws.send("   ")
        print(json.loads(await ws.recv())["detail"][0]["loc"])
asyncio.run(main())
"""


def check_todo_api(exe):
    pg = os.environ["SPINDLE_PG"]
    proc, port = start_server(exe, "--pg", pg)
    try:
        status, _, page = call(port, "GET", "/")
        if status != 200 or b"<title>Todos" not in page:
            fail(f"/ did not serve index.html ({status})", page.decode())
        follower = Follower(port)
        status, milk = call_json(port, "POST", "/todos", {"title": "milk"})
        expect((status, milk["title"], milk["done"]), (201, "milk", False), "POST milk")
        status, bread = call_json(port, "POST", "/todos", {"title": "bread", "done": True})
        expect((status, bread["title"], bread["done"]), (201, "bread", True), "POST bread")
        status, todos = call_json(port, "GET", "/todos")
        expect((status, [t["title"] for t in todos]), (200, ["milk", "bread"]), "GET /todos")
        expect(call_json(port, "GET", "/todos/999"), (404, {"detail": "no to-do 999"}), "GET 999")
        status, body = call_json(port, "GET", "/todos/abc")
        expect((status, body["detail"][0]["loc"]), (422, ["path", "id"]), "GET abc")
        expect(call_json(port, "GET", "/todos?limit=0")[0], 422, "limit=0")
        status, patched = call_json(port, "PATCH", f"/todos/{milk['id']}", {"done": True})
        expect((status, patched["title"], patched["done"]), (200, "milk", True), "PATCH")
        status, put = call_json(port, "PUT", f"/todos/{milk['id']}", {"title": "oat milk"})
        expect((status, put["title"], put["done"]), (200, "oat milk", False), "PUT")
        expect(call_json(port, "DELETE", f"/todos/{bread['id']}"), (204, None), "DELETE")
        expect(call_json(port, "DELETE", f"/todos/{bread['id']}")[0], 404, "DELETE again")
        status, body = call_json(port, "POST", "/todos", {"title": ""})
        expect((status, body["detail"][0]["loc"]), (422, ["body", "title"]), "an empty title")
        status, body = call_json(port, "POST", "/todos", {"done": "yes"})
        expect((status, [e["loc"] for e in body["detail"]]),
               (422, [["body", "title"], ["body", "done"]]), "a bad body")
        status, todos = call_json(port, "GET", "/todos?done=false&limit=10")
        expect([t["title"] for t in todos], ["oat milk"], "the filtered list")
        changes = follower.wait_for(5)
        kinds = [(c["type"], c["todo"]["title"]) for c in changes[:5]]
        if kinds != [("created", "milk"), ("created", "bread"), ("updated", "milk"),
                     ("updated", "oat milk"), ("deleted", "bread")]:
            fail(f"the event stream said {kinds}")
        python = python_with("websockets")
        ws = subprocess.run([python, "-c", WS_CLIENT, f"ws://127.0.0.1:{port}/ws"],
                            capture_output=True, text=True, timeout=30)
        if ws.returncode != 0 or ws.stdout != "eggs from ws\n['body', 'title']\n":
            fail(f"the WebSocket client got {ws.stdout!r} ({ws.stderr})")
        if follower.wait_for(6)[5]["todo"]["title"] != "eggs from ws":
            fail("the event stream did not see the WebSocket's to-do")
        status, doc = call_json(port, "GET", "/openapi.json")
        if sorted(doc["paths"]) != ["/todos", "/todos/events", "/todos/{id}"]:
            fail(f"the OpenAPI document lists {sorted(doc['paths'])}")
        if doc["paths"]["/todos"]["post"]["requestBody"]["content"]["application/json"]["schema"] != \
                {"$ref": "#/components/schemas/TodoIn"}:
            fail("POST /todos does not say it takes a TodoIn")
        follower.close()
    finally:
        log = stop_server(proc)
    for line in ['"POST /todos HTTP/1.1" 201 ', '"GET /todos/999 HTTP/1.1" 404 ',
                 '"DELETE /todos/2 HTTP/1.1" 204 ', '"GET /todos/events HTTP/1.1" 200 - ']:
        if line not in log:
            fail(f"no access log line with {line!r}", log)
    if not log.endswith("stopped\n"):
        fail("the server did not stop cleanly", log)
    check_todo_api_loops(exe, pg)


def check_todo_api_loops(exe, pg):
    """Two loops: followers spread over both see a change made on either (LISTEN/NOTIFY)."""
    proc, port = start_server(exe, "--pg", pg, "--threads", "2")
    try:
        followers = [Follower(port) for _ in range(6)]
        for title in ("one", "two"):
            if call_json(port, "POST", "/todos", {"title": title})[0] != 201:
                fail("POST failed with two loops")
        for f in followers:
            titles = [c["todo"]["title"] for c in f.wait_for(2)[:2]]
            if titles != ["one", "two"]:
                fail(f"a follower saw {titles}")
            f.close()
    finally:
        stop_server(proc)


def check_techempower(exe):
    pg = os.environ["SPINDLE_PG"]
    proc, port = start_server(exe, "--pg", pg)
    try:
        status, h, body = call(port, "GET", "/plaintext")
        if (status, body, h.get("content-type"), h.get("server")) != \
                (200, b"Hello, World!", "text/plain", "spindle"):
            fail(f"/plaintext: {status} {h} {body}")
        if not re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", h.get("date", "")):
            fail(f"/plaintext has no proper Date field: {h}")
        status, h, body = call(port, "GET", "/json")
        if (status, json.loads(body), h.get("content-type")) != \
                (200, {"message": "Hello, World!"}, "application/json"):
            fail(f"/json: {status} {h} {body}")
        status, row = call_json(port, "GET", "/db")
        if status != 200 or sorted(row) != ["id", "randomNumber"] or \
                not (1 <= row["id"] <= 10000 and 1 <= row["randomNumber"] <= 10000):
            fail(f"/db: {status} {row}")
        for query, count in (("?queries=5", 5), ("?queries=0", 1), ("?queries=foo", 1),
                             ("", 1), ("?queries=501", 500), ("?queries=20", 20)):
            status, rows = call_json(port, "GET", "/queries" + query)
            if status != 200 or len(rows) != count or any(sorted(r) != ["id", "randomNumber"] for r in rows):
                fail(f"/queries{query}: expected {count} rows, got {status} {rows}")
        status, h, body = call(port, "GET", "/fortunes")
        fortunes = json.loads(subprocess.run(
            [os.path.join(os.environ["SPINDLE_PG_BIN"], "psql"), "-At", pg, "-c",
             "SELECT json_agg(json_build_array(id, message)) FROM fortune"],
            capture_output=True, text=True, check=True).stdout)
        fortunes.append([0, "Additional fortune added at request time."])
        fortunes.sort(key=lambda f: f[1])
        expected = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                    "<tr><th>id</th><th>message</th></tr>" +
                    "".join(f"<tr><td>{i}</td><td>{html.escape(m)}</td></tr>" for i, m in fortunes) +
                    "</table></body></html>")
        if status != 200 or h.get("content-type") != "text/html; charset=utf-8" or \
                body.decode() != expected:
            fail(f"/fortunes: {status} {h}\n{body.decode()}\nexpected:\n{expected}")
        status, rows = call_json(port, "GET", "/updates?queries=10")
        if status != 200 or len(rows) != 10:
            fail(f"/updates: {status} {rows}")
        stored = dict(json.loads(subprocess.run(
            [os.path.join(os.environ["SPINDLE_PG_BIN"], "psql"), "-At", pg, "-c",
             "SELECT json_agg(json_build_array(id, randomnumber)) FROM world WHERE id IN (" +
             ",".join(str(r["id"]) for r in rows) + ")"],
            capture_output=True, text=True, check=True).stdout))
        # (an id drawn twice keeps one of its new numbers)
        last = {r["id"]: r["randomNumber"] for r in rows}
        if any(stored[i] != n for i, n in last.items() if [r["id"] for r in rows].count(i) == 1):
            fail(f"/updates did not store its numbers: answered {rows}, stored {stored}")
    finally:
        log = stop_server(proc)
    if log != "stopped\n":
        fail("unexpected output", log)


def main():
    name, exe = sys.argv[1:3]
    globals()["check_" + name](exe)
    print(f"example {name}: ok")


if __name__ == "__main__":
    main()
