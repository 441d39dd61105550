"""TechEmpower's six tests on FastAPI with asyncpg: bench_web's FastAPI peer, written as the
FastAPI documentation and TechEmpower's FastAPI entry write them (a pool made at startup,
prepared statements, executemany for the updates).

Run: uvicorn fastapi_app:app --loop uvloop --http httptools --no-access-log (what bench_web
does, one process pinned to one CPU), with SPINDLE_PG naming the database (libpq keywords).
"""
import random
from html import escape

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from peer_common import connect_args, queries_param

READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $1 WHERE id = $2"  # executemany: one round trip
FORTUNES = "SELECT id, message FROM fortune"

app = FastAPI()
pool = None


@app.on_event("startup")
async def startup():
    global pool
    pool = await asyncpg.create_pool(**connect_args(), min_size=32, max_size=32)


@app.on_event("shutdown")
async def shutdown():
    await pool.close()


@app.get("/plaintext")
async def plaintext():
    return PlainTextResponse(b"Hello, World!")


@app.get("/json")
async def json_serialization():
    return JSONResponse({"message": "Hello, World!"})


@app.get("/db")
async def single_query():
    async with pool.acquire() as conn:
        row = await conn.fetchrow(READ, random.randint(1, 10000))
    return JSONResponse({"id": row[0], "randomNumber": row[1]})


@app.get("/queries")
async def multiple_queries(request: Request):
    n = queries_param(request.query_params.get("queries"))
    async with pool.acquire() as conn:
        statement = await conn.prepare(READ)
        worlds = []
        for _ in range(n):
            row = await statement.fetchrow(random.randint(1, 10000))
            worlds.append({"id": row[0], "randomNumber": row[1]})
    return JSONResponse(worlds)


@app.get("/fortunes")
async def fortunes():
    async with pool.acquire() as conn:
        rows = await conn.fetch(FORTUNES)
    rows = [(r[0], r[1]) for r in rows]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    body = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" +
            "".join(f"<tr><td>{i}</td><td>{escape(m)}</td></tr>" for i, m in rows) +
            "</table></body></html>")
    return HTMLResponse(body)


@app.get("/updates")
async def updates(request: Request):
    n = queries_param(request.query_params.get("queries"))
    async with pool.acquire() as conn:
        statement = await conn.prepare(READ)
        worlds = []
        for _ in range(n):
            row = await statement.fetchrow(random.randint(1, 10000))
            worlds.append({"id": row[0], "randomNumber": random.randint(1, 10000)})
        # In id order: concurrent requests lock rows in one order (no deadlocks).
        await conn.executemany(WRITE, sorted(((w["randomNumber"], w["id"]) for w in worlds),
                                             key=lambda row: row[1]))
    return JSONResponse(worlds)
