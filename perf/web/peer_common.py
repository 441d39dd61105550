"""What bench_web's Python peers share: the database's address, the queries parameter, and
the database work of the tests (the same asyncpg calls whichever framework serves them)."""
import os
import random
from html import escape

READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $1 WHERE id = $2"
FORTUNES = "SELECT id, message FROM fortune"


def connect_args():
    """asyncpg's keyword arguments for SPINDLE_PG ("host=... port=... user=... dbname=...")."""
    fields = dict(item.split("=", 1) for item in os.environ["SPINDLE_PG"].split())
    return {"host": fields.get("host"), "port": int(fields.get("port", 5432)),
            "user": fields.get("user"), "database": fields.get("dbname")}


def queries_param(value):
    """The specification's reading: 1 to 500, 1 when absent or not a number."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), 500)


async def one_world(conn):
    row = await conn.fetchrow(READ, random.randint(1, 10000))
    return {"id": row[0], "randomNumber": row[1]}


async def read_worlds(conn, n):
    """n random rows through a prepared statement, one query (and round trip) each."""
    statement = await conn.prepare(READ)
    worlds = []
    for _ in range(n):
        row = await statement.fetchrow(random.randint(1, 10000))
        worlds.append({"id": row[0], "randomNumber": row[1]})
    return worlds


async def update_worlds(conn, n):
    """n random rows read, given new numbers and written back with executemany (one round
    trip), in id order: concurrent requests lock rows in one order (no deadlocks)."""
    worlds = await read_worlds(conn, n)
    for w in worlds:
        w["randomNumber"] = random.randint(1, 10000)
    await conn.executemany(WRITE, sorted(((w["randomNumber"], w["id"]) for w in worlds),
                                         key=lambda row: row[1]))
    return worlds


async def fortunes_page(conn):
    """The fortunes table as the specification's HTML page."""
    rows = [(r[0], r[1]) for r in await conn.fetch(FORTUNES)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" +
            "".join(f"<tr><td>{i}</td><td>{escape(m)}</td></tr>" for i, m in rows) +
            "</table></body></html>")
