"""bench_db's Redis peer: redis-py's asyncio client on uvloop, as its users write it: one
Redis object over a connection pool of CLIENTS connections, CLIENTS tasks each doing its SETs
and then its GETs, one command per round trip or PIPELINE commands per pipeline
(r.pipeline(transaction=False)).

Usage: redispy_setget.py CLIENTS PER_CLIENT PIPELINE   (SPINDLE_REDIS_PORT names the server)
Prints "done N seconds S cpu C": commands, wall seconds, CPU seconds of the whole run."""
import asyncio
import os
import sys
import time

import redis.asyncio as redis
import uvloop


async def main(clients, per_client, pipeline):
    pool = redis.ConnectionPool(host="127.0.0.1", port=int(os.environ["SPINDLE_REDIS_PORT"]),
                                max_connections=clients)
    r = redis.Redis(connection_pool=pool)
    await asyncio.gather(*(r.ping() for _ in range(clients)))  # (connections made first)

    async def client():
        for verb in ("SET", "GET"):
            for _ in range(0, per_client, pipeline):
                if pipeline == 1:
                    if verb == "SET":
                        await r.set("key:__rand_int__", "xxx")
                    elif await r.get("key:__rand_int__") != b"xxx":
                        raise RuntimeError("wrong value")
                    continue
                p = r.pipeline(transaction=False)
                for _ in range(pipeline):
                    if verb == "SET":
                        p.set("key:__rand_int__", "xxx")
                    else:
                        p.get("key:__rand_int__")
                await p.execute()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    seconds = time.perf_counter() - start
    await pool.disconnect()
    return seconds


if __name__ == "__main__":
    clients, per_client, pipeline = (int(a) for a in sys.argv[1:4])
    cpu0 = time.process_time()
    uvloop.install()
    seconds = asyncio.run(main(clients, per_client, pipeline))
    print(f"done {2 * clients * per_client} seconds {seconds:.6f} cpu {time.process_time() - cpu0:.6f}")
