# asyncio twin of coroutine_result.cpp: the tutorial's "Coroutines" section. asyncio.run()
# runs a coroutine and hands back its return value.
import asyncio


async def greet():
    return "Hello"


result = asyncio.run(greet())
print(result)
