# The asyncio program that countdowns.cpp reproduces; the test compares their outputs.
import asyncio


async def countdown(name, n):
    while n > 0:
        print(f"{name}: T-minus {n}")
        await asyncio.sleep(0.1)
        n -= 1
    print(f"{name}: liftoff!")


async def main():
    await asyncio.gather(countdown("A", 3), countdown("B", 5), countdown("C", 2))


asyncio.run(main())
