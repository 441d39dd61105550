// asyncio tutorial, exercise 1 solution (twin: fetch_simulated.py): five simulated downloads
// of 0.2-1.0 s each, gathered: the wall time is about the longest one, not the sum. Given the
// same seed, both programs draw the same delays (PyRandom is CPython's random.uniform).
// Usage: fetch_simulated [seed]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <spindle/spindle.hpp>
#include <string>
#include <utility>
#include <vector>

#include "py_random.hpp"

using Seconds = std::chrono::duration<double>;

std::pair<std::string, double> fetch(PyRandom& random, const std::string& url) {
  const double delay = random.uniform(0.2, 1.0);
  spindle::sleep(Seconds(delay));
  return {url, delay};
}

int main(int argc, char** argv) {
  PyRandom random(argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::random_device{}());
  spindle::run([&] {
    auto& loop = spindle::Loop::current();
    const auto start = loop.time();
    std::vector<spindle::Task<std::pair<std::string, double>>> fetches;
    for (int i = 0; i < 5; ++i) {
      fetches.push_back(
          spindle::spawn(fetch, std::ref(random), "https://example.com/page" + std::to_string(i)));
    }
    const auto results = spindle::gather(fetches);
    const Seconds elapsed = loop.time() - start;
    double total = 0;
    for (const auto& [url, delay] : results) {
      std::printf("%s: %.2fs\n", url.c_str(), delay);
      total += delay;
    }
    std::printf("\nTotal wall-clock time: %.2fs\n", elapsed.count());
    std::printf("Sum of individual times: %.2fs\n", total);
    std::printf("Concurrency saved: %.2fs\n", total - elapsed.count());
  });
}
