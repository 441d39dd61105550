// asyncio tutorial, "Poor use cases" done right (twin: compute_heavy.py): a CPU-bound sum runs
// on the loop's thread pool (to_thread) while a ticker task keeps printing every 100 ms, so
// the loop stays responsive. Computed in a task, the sum would hold the loop until it ended:
// tasks switch only where they block. The sum, 333333283333335000000, needs more than 64 bits,
// so it is added up in unsigned __int128 (Python's ints are unbounded). C++ finishes it about a
// hundred times sooner than CPython, so its ticker gets fewer ticks in; the test checks > 0.
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>
#include <string>

using namespace std::chrono_literals;

__extension__ typedef unsigned __int128 u128;  // a GNU extension: say so to -Wpedantic

u128 sum_of_squares(unsigned n) {
  u128 sum = 0;
  for (unsigned i = 0; i < n; ++i) sum += static_cast<u128>(i) * i;
  return sum;
}

std::string to_string(u128 v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return digits;
}

int main() {
  spindle::run([] {
    int ticks = 0;
    auto ticking = spindle::spawn([&] {
      for (;;) {
        std::printf("tick %d\n", ++ticks);
        spindle::sleep(100ms);
      }
    });
    const u128 total = spindle::to_thread(sum_of_squares, 10'000'000u);
    ticking.cancel();
    try {
      ticking.join();
    } catch (const spindle::CancelledError&) {
    }
    std::printf("sum(i*i for i in range(10_000_000)) = %s\n", to_string(total).c_str());
    std::printf("The loop ticked %d times meanwhile\n", ticks);
  });
}
