"""TechEmpower's six tests on aiohttp with asyncpg and uvloop: bench_web's aiohttp peer, in
aiohttp's documented style (web.Application, a pool made in on_startup, access log off; the
database work in peer_common.py).

Run: python3 aiohttp_app.py PORT (one process pinned to one CPU, as bench_web does), with
SPINDLE_PG naming the database (libpq keywords).
"""
import sys

import asyncpg
import uvloop
from aiohttp import web

from peer_common import (connect_args, fortunes_page, one_world, queries_param, read_worlds,
                         update_worlds)


async def plaintext(request):
    return web.Response(body=b"Hello, World!", content_type="text/plain")


async def json_serialization(request):
    return web.json_response({"message": "Hello, World!"})


async def single_query(request):
    async with request.app["pool"].acquire() as conn:
        return web.json_response(await one_world(conn))


async def multiple_queries(request):
    async with request.app["pool"].acquire() as conn:
        return web.json_response(await read_worlds(conn, queries_param(request.query.get("queries"))))


async def fortunes(request):
    async with request.app["pool"].acquire() as conn:
        return web.Response(text=await fortunes_page(conn), content_type="text/html", charset="utf-8")


async def updates(request):
    async with request.app["pool"].acquire() as conn:
        return web.json_response(await update_worlds(conn, queries_param(request.query.get("queries"))))


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
