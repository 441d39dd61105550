"""bench_db's peer: pgbench's select-only transaction through an asyncpg pool on uvloop, as an
asyncpg user writes it (pool.fetchval: acquire, the query, release with asyncpg's reset).

Usage: asyncpg_select.py CLIENTS PER_CLIENT   (SPINDLE_PG names the server)
Prints "done N seconds S cpu C": transactions, wall seconds once every connection is made,
and CPU seconds of the whole run, connecting included (as bench_db counts spindle's)."""
import asyncio
import os
import random
import sys
import time

import asyncpg
import uvloop

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web"))
from peer_common import connect_args  # noqa: E402

QUERY = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"


async def main(clients, per_client):
    pool = await asyncpg.create_pool(**connect_args(), min_size=clients, max_size=clients)

    async def client(i):
        rng = random.Random(i + 1)
        for _ in range(per_client):
            await pool.fetchval(QUERY, rng.randint(1, 100000))

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    seconds = time.perf_counter() - start
    await pool.close()
    return seconds


if __name__ == "__main__":
    clients, per_client = int(sys.argv[1]), int(sys.argv[2])
    cpu0 = time.process_time()
    uvloop.install()
    seconds = asyncio.run(main(clients, per_client))
    print(f"done {clients * per_client} seconds {seconds:.6f} cpu {time.process_time() - cpu0:.6f}")
