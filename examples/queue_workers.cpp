// The asyncio Queue example: three workers take sleep times from a queue; join() waits
// until every item was processed, then the workers are cancelled and collected.
#include <spindle/spindle.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

void worker(const std::string& name, spindle::Queue<int>& queue) {
  for (;;) {
    const int ms = queue.get();
    spindle::sleep(std::chrono::milliseconds(ms));
    queue.task_done();
    std::printf("%s has slept for %d ms\n", name.c_str(), ms);
  }
}

int main() {
  spindle::run([] {
    spindle::Queue<int> queue;
    int total_ms = 0;
    for (int ms : {50, 20, 70, 40, 10, 60, 30, 80, 90}) {
      queue.put_nowait(ms);
      total_ms += ms;
    }
    std::vector<spindle::Task<void>> workers;
    for (int i = 1; i <= 3; ++i) {
      workers.push_back(spindle::spawn(worker, "worker-" + std::to_string(i), std::ref(queue)));
    }
    auto& loop = spindle::Loop::current();
    const auto started = loop.time();
    queue.join();  // every item taken and marked done
    const std::chrono::duration<double> took = loop.time() - started;
    for (auto& w : workers) w.cancel();
    spindle::gather_settled(workers);
    std::printf("3 workers slept in parallel for %.2f s\n", took.count());
    std::printf("total expected sleep time: %.2f s\n", total_ms / 1000.0);
  });
}
