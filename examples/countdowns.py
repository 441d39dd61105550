# asyncio twin of countdowns.cpp: the tutorial's exercise 3 solution. Three countdowns
# gathered; the timers interleave them, and the test requires both programs' output to be
# byte for byte the same.
import asyncio


async def countdown(name, n):
    for i in range(n, 0, -1):
        print(f"{name}: {i}")
        await asyncio.sleep(0.1)
    print(f"{name}: done!")


async def main():
    await asyncio.gather(countdown("A", 3), countdown("B", 5), countdown("C", 2))


asyncio.run(main())
