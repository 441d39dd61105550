# asyncio twin of create_tasks.cpp: the tutorial's "Tasks" section. Both tasks are created
# first, so both fetches run while main awaits the first one: about 1 s in all, not 2.
import asyncio


async def fetch(url):
    await asyncio.sleep(1)
    return f"Result from {url}"


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    task1 = asyncio.create_task(fetch("url1"))
    task2 = asyncio.create_task(fetch("url2"))
    result1 = await task1
    result2 = await task2
    print(result1)
    print(result2)
    print(f"Took {loop.time() - start:.2f}s")


asyncio.run(main())
