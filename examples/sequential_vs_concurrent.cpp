// Ten items that each take 100 ms: one after another (about 1 s), then all at once
// (about 0.1 s). Prints both times and the speedup.
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>
#include <vector>

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

int process(int item) {
  spindle::sleep(100ms);
  return item * item;
}

int main() {
  spindle::run([] {
    auto& loop = spindle::Loop::current();

    auto t0 = loop.time();
    int sequential_sum = 0;
    for (int i = 0; i < 10; ++i) sequential_sum += process(i);
    const Seconds sequential = loop.time() - t0;
    std::printf("sequential: %.2f s (sum %d)\n", sequential.count(), sequential_sum);

    t0 = loop.time();
    std::vector<spindle::Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(spindle::spawn(process, i));
    int concurrent_sum = 0;
    for (int r : spindle::gather(tasks)) concurrent_sum += r;
    const Seconds concurrent = loop.time() - t0;
    std::printf("concurrent: %.2f s (sum %d)\n", concurrent.count(), concurrent_sum);

    std::printf("speedup: %.1fx\n", sequential / concurrent);
  });
}
