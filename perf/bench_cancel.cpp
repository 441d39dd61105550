// The price of cancellation machinery when nothing is cancelled, and of cancelling.
//
// BM_Sleep_ZeroBaseline: sleep(0) with nothing else ready (the baseline, same binary).
// BM_Timeout_SleepZero: with_timeout(1 s) around that sleep(0), which never times out:
//   one clock read, a timer-heap insert and removal, a try block. Counter timeout_ratio =
//   this / the baseline measured in-process just before (DESIGN.md target: under 2).
// BM_Timeout_SleepZeroBusy: the same pair in a loaded loop (another task ready, so sleep(0)
//   switches; a far timer pending, as in any server): counter timeout_ratio against
//   sleep(0) measured in that same state.
// BM_Cancel_ParkedJoin: spawn a task, let it park in sleep, cancel it, join it (catching
//   the CancelledError): the whole life of a cancelled task, stack pool warm.
#include <algorithm>
#include <vector>

#include "bench_common.hpp"

namespace {

using namespace std::chrono_literals;

// Median ns of sleep(0), measured in batches inside the running loop.
double sleep_zero_ns() {
  std::vector<double> samples;
  for (int s = 0; s < 7; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200000; ++i) spindle::sleep(0ns);
    samples.push_back(spindle_bench::ns_since(t0) / 200000);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// Runs body() with or without a loaded loop: a partner task yielding in a loop and a timer
// an hour away.
template <class F>
void in_loop(bool busy, F body) {
  spindle::run([&] {
    bool stop = false;
    spindle::Task<void> partner;
    spindle::TimerHandle far;
    if (busy) {
      partner = spindle::spawn([&] {
        while (!stop) spindle::yield_now();
      });
      far = spindle::Loop::current().call_later(1h, [] {});
      spindle::yield_now();
    }
    body();
    stop = true;
    if (busy) {
      far.cancel();
      partner.join();
    }
  });
}

void timeout_benchmark(benchmark::State& state, bool busy) {
  double base = 0, ns = 0;
  std::int64_t n = 0;
  in_loop(busy, [&] {
    base = sleep_zero_ns();
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) spindle::with_timeout(1s, [] { spindle::sleep(0ns); });
    ns = spindle_bench::ns_since(t0);
    n = state.iterations();
  });
  state.counters["baseline_ns"] = base;
  state.counters["timeout_ratio"] = ns / static_cast<double>(n) / base;
}

void BM_Sleep_ZeroBaseline(benchmark::State& state) {
  spindle::run([&] {
    for (auto _ : state) spindle::sleep(0ns);
  });
}
BENCHMARK(BM_Sleep_ZeroBaseline);

void BM_Timeout_SleepZero(benchmark::State& state) { timeout_benchmark(state, false); }
BENCHMARK(BM_Timeout_SleepZero);

void BM_Timeout_SleepZeroBusy(benchmark::State& state) { timeout_benchmark(state, true); }
BENCHMARK(BM_Timeout_SleepZeroBusy);

void BM_Cancel_ParkedJoin(benchmark::State& state) {
  spindle::run([&] {
    for (auto _ : state) {
      auto t = spindle::spawn([] { spindle::sleep(1h); });
      spindle::yield_now();  // it starts and parks in sleep
      t.cancel();
      try {
        t.join();
      } catch (const spindle::CancelledError&) {
      }
    }
  });
}
BENCHMARK(BM_Cancel_ParkedJoin);

}  // namespace

BENCHMARK_MAIN();
