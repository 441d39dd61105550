// asyncio tutorial, the minimal working example (twin: say_after.py): two functions gathered,
// sleeping 1 s and 2 s, finish together after 2 s, not 3.
//   await asyncio.gather(say_after(1, "Hello"), say_after(2, "World"))
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

const auto start = spindle::Clock::now();  // the loop's clock: Loop::time() reads it too

void say_after(std::chrono::seconds delay, const char* message) {
  spindle::sleep(delay);
  std::printf("%s\n", message);
}

int main() {
  spindle::run([] {
    auto& loop = spindle::Loop::current();
    std::printf("Started at %.2f\n", Seconds(loop.time() - start).count());
    spindle::gather([] { say_after(1s, "Hello"); }, [] { say_after(2s, "World"); });
    std::printf("Finished at %.2f\n", Seconds(loop.time() - start).count());
  });
}
