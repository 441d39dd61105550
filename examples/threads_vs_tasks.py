# asyncio twin of threads_vs_tasks.cpp: the tutorial's "Asyncio vs Threading". Ten 1 s
# fetches on ten threads (threading, time.sleep), then as ten tasks (gather): both about 1 s.
# Then N fetches at once both ways, with the wall time, the resident memory added while all
# N are alive, and the time to start each worker. Each of those two runs happens in a fresh
# process (the program runs itself with --scale), so neither reuses memory the other freed.
# Usage: threads_vs_tasks.py [N]   (default 10000)
import asyncio
import os
import subprocess
import sys
import threading
import time


def fetch_blocking(url):  # a thread's fetch: blocks its thread
    time.sleep(1)
    return f"Result from {url}"


async def fetch(url):  # a task's fetch: suspends the coroutine
    await asyncio.sleep(1)
    return f"Result from {url}"


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Outcome:
    def __init__(self):
        self.results, self.wall, self.to_start, self.resident, self.error = [], 0, 0, 0, ""


def with_threads(urls):
    out = Outcome()
    out.results = [None] * len(urls)

    def worker(i, url):
        out.results[i] = fetch_blocking(url)

    before = resident_bytes()
    start = time.monotonic()
    threads = []
    try:
        for i, url in enumerate(urls):
            t = threading.Thread(target=worker, args=(i, url))
            t.start()  # returns once the thread runs
            threads.append(t)
    except RuntimeError:  # "can't start new thread"
        out.error = f"could only start {len(threads)} threads"
    out.to_start = time.monotonic() - start
    out.resident = resident_bytes() - before
    for t in threads:
        t.join()
    out.wall = time.monotonic() - start
    return out


async def tasks_main(urls):
    out = Outcome()
    loop = asyncio.get_running_loop()
    before = resident_bytes()
    start = loop.time()
    tasks = [asyncio.create_task(fetch(url)) for url in urls]
    out.to_start = loop.time() - start
    await asyncio.sleep(0)  # every task runs up to its sleep
    out.resident = resident_bytes() - before
    out.results = await asyncio.gather(*tasks)
    out.wall = loop.time() - start
    return out


def with_tasks(urls):
    return asyncio.run(tasks_main(urls))


def report(label, o, n):
    if o.error:
        print(f"  {label}: {o.error}")
    print(f"  {label}: {o.wall:.2f}s wall, {o.resident / 1048576:+.1f} MiB resident "
          f"({o.resident / 1024 / n:.1f} KiB each), {o.to_start * 1e6 / n:.1f} us to start each")


def report_fresh(kind, n):
    """Runs `threads_vs_tasks.py --scale KIND N` and copies its report line to stdout."""
    command = [sys.executable, os.path.abspath(__file__), "--scale", kind, str(n)]
    print(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout, end="")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--scale":  # one measurement, in this process
        kind, n = sys.argv[2], int(sys.argv[3])
        urls = [f"url{i}" for i in range(n)]
        report(kind, with_threads(urls) if kind == "threads" else with_tasks(urls), n)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    if len(sys.argv) > 2 or n <= 0:
        sys.exit("usage: threads_vs_tasks.py [N > 0]")

    urls = [f"url{i}" for i in range(10)]
    threads = with_threads(urls)
    print(f"Threads: {threads.wall:.2f}s, results={threads.results}")
    tasks = with_tasks(urls)
    print(f"Tasks: {tasks.wall:.2f}s, results={tasks.results}")

    print(f"{n} fetches at once:", flush=True)
    report_fresh("threads", n)
    report_fresh("tasks", n)


main()
