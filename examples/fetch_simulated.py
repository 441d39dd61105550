# asyncio twin of fetch_simulated.cpp: the tutorial's exercise 1 solution. Five simulated
# downloads of 0.2-1.0 s each, gathered: the wall time is about the longest one.
# Usage: fetch_simulated.py [seed]
import asyncio
import random
import sys
import time


async def fetch(url):
    delay = random.uniform(0.2, 1.0)
    await asyncio.sleep(delay)
    return url, delay


async def main():
    urls = [f"https://example.com/page{i}" for i in range(5)]
    start = time.monotonic()
    results = await asyncio.gather(*(fetch(url) for url in urls))
    elapsed = time.monotonic() - start
    for url, delay in results:
        print(f"{url}: {delay:.2f}s")
    print()
    total = sum(delay for _, delay in results)
    print(f"Total wall-clock time: {elapsed:.2f}s")
    print(f"Sum of individual times: {total:.2f}s")
    print(f"Concurrency saved: {total - elapsed:.2f}s")


if len(sys.argv) > 1:
    random.seed(int(sys.argv[1]))
asyncio.run(main())
