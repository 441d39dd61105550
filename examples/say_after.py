# asyncio twin of say_after.cpp: the tutorial's minimal working example. Two coroutines
# gathered, sleeping 1 s and 2 s, finish together after 2 s, not 3.
import asyncio
import time

start = time.monotonic()  # the loop's clock (loop.time() is time.monotonic())


async def say_after(delay, message):
    await asyncio.sleep(delay)
    print(message)


async def main():
    loop = asyncio.get_running_loop()
    print(f"Started at {loop.time() - start:.2f}")
    await asyncio.gather(say_after(1, "Hello"), say_after(2, "World"))
    print(f"Finished at {loop.time() - start:.2f}")


asyncio.run(main())
