# asyncio twin of sequential_vs_concurrent.cpp: the tutorial's exercise 2 solution. Ten
# 100 ms jobs one after another (about 1 s), then gathered (about 0.1 s).
import asyncio
import time


async def process_item(item):
    await asyncio.sleep(0.1)
    return item * 2


async def main():
    items = list(range(10))

    start = time.monotonic()
    results = [await process_item(i) for i in items]
    sequential = time.monotonic() - start
    print(f"Sequential: {sequential:.2f}s, results={results}")

    start = time.monotonic()
    results = await asyncio.gather(*(process_item(i) for i in items))
    concurrent = time.monotonic() - start
    print(f"Concurrent: {concurrent:.2f}s, results={results}")

    print(f"Speedup: {sequential / concurrent:.1f}x")


asyncio.run(main())
