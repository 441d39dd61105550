"""TechEmpower's six tests on FastAPI with asyncpg: bench_web's FastAPI peer, written as the
FastAPI documentation and TechEmpower's FastAPI entry write them (a pool made at startup,
prepared statements, executemany for the updates; the database work in peer_common.py).

Run: uvicorn fastapi_app:app --loop uvloop --http httptools --no-access-log (what bench_web
does, one process pinned to one CPU), with SPINDLE_PG naming the database (libpq keywords).
"""
import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from peer_common import (connect_args, fortunes_page, one_world, queries_param, read_worlds,
                         update_worlds)

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
        return JSONResponse(await one_world(conn))


@app.get("/queries")
async def multiple_queries(request: Request):
    async with pool.acquire() as conn:
        return JSONResponse(await read_worlds(conn, queries_param(request.query_params.get("queries"))))


@app.get("/fortunes")
async def fortunes():
    async with pool.acquire() as conn:
        return HTMLResponse(await fortunes_page(conn))


@app.get("/updates")
async def updates(request: Request):
    async with pool.acquire() as conn:
        return JSONResponse(await update_worlds(conn, queries_param(request.query_params.get("queries"))))
