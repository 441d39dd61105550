// Task creation and the cheapest blocking calls.
//
// BM_Spawn_EmptyJoin: spawn an empty task and join it, stack pool warm (DESIGN.md target:
//   under 150 ns median). Includes the two switches (to the task and back).
// BM_Sleep_Zero: sleep(0) with no other task ready (a yield that finds itself next).
// BM_Gather_1000: spawn 1,000 empty tasks and gather them; counter ns_per_task.
#include <vector>

#include "bench_common.hpp"

namespace {

void BM_Spawn_EmptyJoin(benchmark::State& state) {
  spindle::run([&] {
    spindle::spawn([] {}).join();  // warm the stack pool
    for (auto _ : state) spindle::spawn([] {}).join();
  });
}
BENCHMARK(BM_Spawn_EmptyJoin);

void BM_Sleep_Zero(benchmark::State& state) {
  spindle::run([&] {
    for (auto _ : state) spindle::sleep(std::chrono::nanoseconds(0));
  });
}
BENCHMARK(BM_Sleep_Zero);

void BM_Gather_1000(benchmark::State& state) {
  spindle::run([&] {
    std::vector<spindle::Task<void>> tasks;
    tasks.reserve(1000);
    for (auto _ : state) {
      tasks.clear();
      for (int i = 0; i < 1000; ++i) tasks.push_back(spindle::spawn([] {}));
      spindle::gather(tasks);
    }
  });
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["ns_per_task"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 1000,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Gather_1000);

}  // namespace

BENCHMARK_MAIN();
