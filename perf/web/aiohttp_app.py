"""TechEmpower's six tests on aiohttp with asyncpg and uvloop: bench_web's aiohttp peer, in
aiohttp's documented style (web.Application, a pool made in on_startup, access log off).

Run: python3 aiohttp_app.py PORT (one process pinned to one CPU, as bench_web does), with
SPINDLE_PG naming the database (libpq keywords).
"""
import random
import sys
from html import escape

import asyncpg
import uvloop
from aiohttp import web

from peer_common import connect_args, queries_param

READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $1 WHERE id = $2"
FORTUNES = "SELECT id, message FROM fortune"


async def plaintext(request):
    return web.Response(body=b"Hello, World!", content_type="text/plain")


async def json_serialization(request):
    return web.json_response({"message": "Hello, World!"})


async def single_query(request):
    async with request.app["pool"].acquire() as conn:
        row = await conn.fetchrow(READ, random.randint(1, 10000))
    return web.json_response({"id": row[0], "randomNumber": row[1]})


async def multiple_queries(request):
    n = queries_param(request.query.get("queries"))
    async with request.app["pool"].acquire() as conn:
        statement = await conn.prepare(READ)
        worlds = []
        for _ in range(n):
            row = await statement.fetchrow(random.randint(1, 10000))
            worlds.append({"id": row[0], "randomNumber": row[1]})
    return web.json_response(worlds)


async def fortunes(request):
    async with request.app["pool"].acquire() as conn:
        rows = [(r[0], r[1]) for r in await conn.fetch(FORTUNES)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    body = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" +
            "".join(f"<tr><td>{i}</td><td>{escape(m)}</td></tr>" for i, m in rows) +
            "</table></body></html>")
    return web.Response(text=body, content_type="text/html", charset="utf-8")


async def updates(request):
    n = queries_param(request.query.get("queries"))
    async with request.app["pool"].acquire() as conn:
        statement = await conn.prepare(READ)
        worlds = []
        for _ in range(n):
            row = await statement.fetchrow(random.randint(1, 10000))
            worlds.append({"id": row[0], "randomNumber": random.randint(1, 10000)})
        # In id order: concurrent requests lock rows in one order (no deadlocks).
        await conn.executemany(WRITE, sorted(((w["randomNumber"], w["id"]) for w in worlds),
                                             key=lambda row: row[1]))
    return web.json_response(worlds)


async def startup(app):
    app["pool"] = await asyncpg.create_pool(**connect_args(), min_size=32, max_size=32)


async def cleanup(app):
    await app["pool"].close()


def main():
    app = web.Application()
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get("/json", json_serialization)
    app.router.add_get("/db", single_query)
    app.router.add_get("/queries", multiple_queries)
    app.router.add_get("/fortunes", fortunes)
    app.router.add_get("/updates", updates)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
