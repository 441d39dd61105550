# asyncio twin of compute_heavy.cpp: the tutorial's "Poor use cases" done right. The CPU-bound
# sum runs in a worker thread (asyncio.to_thread) while a ticker task keeps printing every
# 100 ms: the loop stays responsive. Computed in a coroutine, it would freeze the loop.
import asyncio

ticks = 0


def sum_of_squares(n):
    return sum(i * i for i in range(n))


async def ticker():
    global ticks
    while True:
        ticks += 1
        print(f"tick {ticks}")
        await asyncio.sleep(0.1)


async def main():
    ticking = asyncio.create_task(ticker())
    total = await asyncio.to_thread(sum_of_squares, 10_000_000)
    ticking.cancel()
    try:
        await ticking
    except asyncio.CancelledError:
        pass
    print(f"sum(i*i for i in range(10_000_000)) = {total}")
    print(f"The loop ticked {ticks} times meanwhile")


asyncio.run(main())
