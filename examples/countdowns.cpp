// asyncio tutorial, exercise 3 solution (twin: countdowns.py): three countdowns gathered. The
// interleaving is asyncio's to the byte: timers fire in deadline order, ties in the order
// they were set, and each wake-up runs tasks in FIFO order.
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>

using namespace std::chrono_literals;

void countdown(const char* name, int n) {
  for (int i = n; i > 0; --i) {
    std::printf("%s: %d\n", name, i);
    spindle::sleep(100ms);
  }
  std::printf("%s: done!\n", name);
}

int main() {
  spindle::run([] {
    spindle::gather([] { countdown("A", 3); }, [] { countdown("B", 5); },
                    [] { countdown("C", 2); });
  });
}
