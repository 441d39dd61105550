// asyncio tutorial, "Tasks" (twin: create_tasks.py): both tasks are created first, so both
// fetches run while main waits for the first one: about 1 s in all, not 2.
//   task1 = asyncio.create_task(fetch("url1")); task2 = asyncio.create_task(fetch("url2"))
//   result1 = await task1; result2 = await task2
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>
#include <string>

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

std::string fetch(const std::string& url) {
  spindle::sleep(1s);
  return "Result from " + url;
}

int main() {
  spindle::run([] {
    auto& loop = spindle::Loop::current();
    const auto start = loop.time();
    auto task1 = spindle::spawn(fetch, "url1");
    auto task2 = spindle::spawn(fetch, "url2");
    const std::string result1 = task1.join();
    const std::string result2 = task2.join();
    std::printf("%s\n%s\n", result1.c_str(), result2.c_str());
    std::printf("Took %.2fs\n", Seconds(loop.time() - start).count());
  });
}
