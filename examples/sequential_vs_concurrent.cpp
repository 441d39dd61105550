// asyncio tutorial, exercise 2 solution (twin: sequential_vs_concurrent.py): ten 100 ms jobs
// one after another (about 1 s), then gathered (about 0.1 s).
#include <chrono>
#include <cstdio>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

int process_item(int item) {
  spindle::sleep(100ms);
  return item * 2;
}

// Python's str() of a list of ints: "[0, 2, 4]".
std::string to_list(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

int main() {
  spindle::run([] {
    auto& loop = spindle::Loop::current();

    auto start = loop.time();
    std::vector<int> results;
    for (int i = 0; i < 10; ++i) results.push_back(process_item(i));
    const Seconds sequential = loop.time() - start;
    std::printf("Sequential: %.2fs, results=%s\n", sequential.count(), to_list(results).c_str());

    start = loop.time();
    std::vector<spindle::Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(spindle::spawn(process_item, i));
    results = spindle::gather(tasks);
    const Seconds concurrent = loop.time() - start;
    std::printf("Concurrent: %.2fs, results=%s\n", concurrent.count(), to_list(results).c_str());

    std::printf("Speedup: %.1fx\n", sequential / concurrent);
  });
}
