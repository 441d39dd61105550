"""bench_db's peer for typed rows: asyncpg (binary results, decoded into Records) fetching the
rows BM_Pg_TypedRows reads, one connection on uvloop, reading every field of every record.

Usage: asyncpg_rows.py CALLS ROWS   (SPINDLE_PG names the server)
Prints "done N seconds S cpu C": rows read, wall seconds once connected, and CPU seconds of
the whole run."""
import asyncio
import os
import sys
import time

import asyncpg
import uvloop

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web"))
from peer_common import connect_args  # noqa: E402

QUERY = ("SELECT i::int8 AS id, i * 0.5::float8 AS x, "
         "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS at, "
         "'name ' || i AS name, (i % 1000)::int4 AS n FROM generate_series(1, $1) i")


async def main(calls, rows):
    conn = await asyncpg.connect(**connect_args())
    start = time.perf_counter()
    total = 0
    for _ in range(calls):
        for r in await conn.fetch(QUERY, rows):
            total += r["n"]
            _ = (r["id"], r["x"], r["at"], r["name"])
    seconds = time.perf_counter() - start
    await conn.close()
    return seconds


if __name__ == "__main__":
    calls, rows = int(sys.argv[1]), int(sys.argv[2])
    cpu0 = time.process_time()
    uvloop.install()
    seconds = asyncio.run(main(calls, rows))
    print(f"done {calls * rows} seconds {seconds:.6f} cpu {time.process_time() - cpu0:.6f}")
