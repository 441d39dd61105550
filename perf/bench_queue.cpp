// Queues.
//
// BM_Queue_PingPong: two tasks and two bounded queues (maxsize 1): A puts, B gets and puts
//   back, A gets. One iteration = a round trip of two hand-offs (each a put, a switch and a
//   get). Counters, against a yield_now() round trip (two switches) measured in-process just
//   before: handoff_ratio = one hand-off / a yield round trip (DESIGN.md target: at most
//   1.5); per_switch_ratio = the queue round trip / the yield round trip, i.e. what the queue
//   operations add to each switch (the stricter view).
// BM_Queue_Throughput/P/C: P producers and C consumers moving items through a Queue of
//   maxsize 64; items_per_second.
#include <algorithm>
#include <vector>

#include "bench_common.hpp"

namespace {

double yield_round_trip_ns() {
  double ns = 0;
  bool stop = false;
  auto partner = spindle::spawn([&] {
    while (!stop) spindle::yield_now();
  });
  spindle::yield_now();
  std::vector<double> samples;
  for (int s = 0; s < 7; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100000; ++i) spindle::yield_now();
    samples.push_back(spindle_bench::ns_since(t0) / 100000);
  }
  stop = true;
  partner.join();
  std::sort(samples.begin(), samples.end());
  ns = samples[samples.size() / 2];
  return ns;
}

void BM_Queue_PingPong(benchmark::State& state) {
  double base = 0, ns = 0;
  std::int64_t n = 0;
  spindle::run([&] {
    base = yield_round_trip_ns();
    spindle::Queue<int> there(1), back(1);
    auto echo = spindle::spawn([&] {
      for (;;) {
        const int v = there.get();
        if (v < 0) return;
        back.put(v);
      }
    });
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
      there.put(1);
      benchmark::DoNotOptimize(back.get());
    }
    ns = spindle_bench::ns_since(t0);
    n = state.iterations();
    there.put(-1);
    echo.join();
  });
  const double round_trip = ns / static_cast<double>(n);
  state.counters["yield_rt_ns"] = base;
  state.counters["handoff_ns"] = round_trip / 2;
  state.counters["handoff_ratio"] = round_trip / 2 / base;
  state.counters["per_switch_ratio"] = round_trip / base;
}
BENCHMARK(BM_Queue_PingPong);

void BM_Queue_Throughput(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  const int consumers = static_cast<int>(state.range(1));
  constexpr int kItems = 100000;
  spindle::run([&] {
    for (auto _ : state) {
      spindle::Queue<int> q(64);
      std::vector<spindle::Task<void>> ts;
      for (int p = 0; p < producers; ++p) {
        ts.push_back(spindle::spawn([&, p] {
          for (int i = p; i < kItems; i += producers) q.put(i);
        }));
      }
      for (int c = 0; c < consumers; ++c) {
        ts.push_back(spindle::spawn([&] {
          try {
            for (;;) benchmark::DoNotOptimize(q.get());
          } catch (const spindle::QueueShutDown&) {
          }
        }));
      }
      spindle::gather(std::vector<spindle::Task<void>>(ts.begin(), ts.begin() + producers));
      q.shutdown();
      spindle::gather(ts);
    }
  });
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_Queue_Throughput)->Args({1, 1})->Args({100, 100});

}  // namespace

BENCHMARK_MAIN();
