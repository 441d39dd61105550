// Five simulated URL fetches, each a random 0.2-1.0 s sleep, run concurrently with gather().
// The wall time is about the longest delay, well below the sum of the delays.
// Usage: fetch_simulated [seed]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

using Seconds = std::chrono::duration<double>;

// Pretends to download `url`: waits `delay` and returns the delay.
double fetch(const std::string& url, Seconds delay) {
  spindle::sleep(delay);
  std::printf("fetched %s in %.2f s\n", url.c_str(), delay.count());
  return delay.count();
}

int main(int argc, char** argv) {
  const unsigned seed =
      argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> delay(0.2, 1.0);

  spindle::run([&] {
    std::vector<spindle::Task<double>> fetches;
    for (int i = 1; i <= 5; ++i) {
      const std::string url = "https://example.com/page" + std::to_string(i);
      fetches.push_back(spindle::spawn(fetch, url, Seconds(delay(rng))));
    }
    const auto start = spindle::Loop::current().time();
    double sum = 0;
    for (double d : spindle::gather(fetches)) sum += d;
    const Seconds wall = spindle::Loop::current().time() - start;
    std::printf("wall time: %.2f s\n", wall.count());
    std::printf("sum of delays: %.2f s\n", sum);
    std::printf("time saved: %.2f s\n", sum - wall.count());
  });
}
