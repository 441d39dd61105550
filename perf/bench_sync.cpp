// Locks and events.
//
// BM_Lock_Uncontended: lock() + unlock() with nobody else around (target: a few ns, no
//   switch).
// BM_Lock_Handoff: two tasks each doing lock(); yield_now(); unlock() in a loop, so every
//   acquisition parks and the lock is handed over directly; per iteration = one hand-off
//   per task.
// BM_Event_Wake1000: 1,000 tasks parked on an Event, set() wakes them all; each reports on a
//   Semaphore; counter ns_per_wake.
#include <vector>

#include "bench_common.hpp"

namespace {

void BM_Lock_Uncontended(benchmark::State& state) {
  spindle::run([&] {
    spindle::Lock l;
    for (auto _ : state) {
      l.lock();
      l.unlock();
    }
  });
}
BENCHMARK(BM_Lock_Uncontended);

void BM_Lock_Handoff(benchmark::State& state) {
  spindle::run([&] {
    spindle::Lock l;
    bool stop = false;
    auto other = spindle::spawn([&] {
      while (!stop) {
        l.lock();
        spindle::yield_now();
        l.unlock();
      }
    });
    for (auto _ : state) {
      l.lock();
      spindle::yield_now();
      l.unlock();
    }
    stop = true;
    other.join();
  });
}
BENCHMARK(BM_Lock_Handoff);

void BM_Event_Wake1000(benchmark::State& state) {
  constexpr int kWaiters = 1000;
  spindle::run([&] {
    spindle::Event events[2];
    spindle::Semaphore reported(0);
    bool stop = false;
    std::vector<spindle::Task<void>> waiters;
    for (int i = 0; i < kWaiters; ++i) {
      waiters.push_back(spindle::spawn([&] {
        for (unsigned gen = 0;; ++gen) {
          events[gen % 2].wait();
          reported.release();
          if (stop) return;
        }
      }));
    }
    spindle::yield_now();  // all parked on events[0]
    unsigned gen = 0;
    for (auto _ : state) {
      events[(gen + 1) % 2].clear();
      events[gen % 2].set();
      for (int i = 0; i < kWaiters; ++i) reported.acquire();
      ++gen;
    }
    stop = true;
    events[(gen + 1) % 2].clear();
    events[gen % 2].set();
    spindle::gather(waiters);
  });
  state.counters["ns_per_wake"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kWaiters,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Event_Wake1000);

}  // namespace

BENCHMARK_MAIN();
