// Between loops: call_on round trips and Channel throughput, each against the plain-threads
// baseline in the same run: a std::mutex + std::condition_variable queue between two threads
// pinned like the loops (loop i / thread i on the i-th usable CPU).
//
//   vs_condvar (call_on): call_on round trip / condvar ping-pong round trip (lower is better)
//   vs_condvar (Channel): channel items per second / condvar queue items per second
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <spindle/spindle.hpp>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "load.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void pin(std::thread& t, int slot) {
  static const std::vector<int> cpus = spindle_bench::usable_cpus();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus[static_cast<std::size_t>(slot) % cpus.size()], &set);
  ::pthread_setaffinity_np(t.native_handle(), sizeof set, &set);
}

spindle::ThreadsOptions pinned() {
  spindle::ThreadsOptions o;
  o.pin = true;
  return o;
}

/// A bounded queue the textbook way: one mutex, two condition variables.
template <class T>
class CondvarQueue {
 public:
  explicit CondvarQueue(std::size_t cap) : cap_(cap) {}
  void put(T v) {
    std::unique_lock<std::mutex> lk(m_);
    not_full_.wait(lk, [&] { return q_.size() < cap_; });
    q_.push_back(std::move(v));
    lk.unlock();
    not_empty_.notify_one();
  }
  T get() {
    std::unique_lock<std::mutex> lk(m_);
    not_empty_.wait(lk, [&] { return !q_.empty(); });
    T v = std::move(q_.front());
    q_.pop_front();
    lk.unlock();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  std::size_t cap_;
};

/// Nanoseconds per round trip: thread A puts into one queue, thread B answers on another.
double condvar_ping_pong(long rounds) {
  CondvarQueue<long> there(1), back(1);
  std::thread b([&] {
    for (long i = 0; i < rounds; ++i) back.put(there.get() + 1);
  });
  pin(b, 1);
  std::thread a([&] {
    for (long i = 0; i < rounds; ++i) {
      there.put(i);
      benchmark::DoNotOptimize(back.get());
    }
  });
  pin(a, 0);
  const auto start = Clock::now();
  a.join();
  const double ns = spindle_bench::ns_since(start);
  b.join();
  return ns / static_cast<double>(rounds);
}

/// Items per second through a condvar queue: `pairs` producer threads on the first CPU,
/// as many consumers on the second.
double condvar_throughput(int pairs, long items, std::size_t capacity) {
  CondvarQueue<long> q(capacity);
  std::vector<std::thread> threads;
  const long per = items / pairs;
  const auto start = Clock::now();
  for (int p = 0; p < pairs; ++p) {
    threads.emplace_back([&] {
      for (long i = 0; i < per; ++i) q.put(i);
    });
    pin(threads.back(), 0);
    threads.emplace_back([&] {
      for (long i = 0; i < per; ++i) benchmark::DoNotOptimize(q.get());
    });
    pin(threads.back(), 1);
  }
  for (auto& t : threads) t.join();
  return static_cast<double>(per * pairs) / (spindle_bench::ns_since(start) / 1e9);
}

// call_on from a task of loop 0 to loop 1 and back, one at a time.
void BM_CallOn_RoundTrip(benchmark::State& state) {
  double ns = 0;
  long rounds = 0;
  spindle::run_threads(
      2,
      [&](unsigned i) {
        if (i != 0) return;
        spindle::Loop& other = spindle::loops()[1];
        for (int w = 0; w < 1000; ++w) spindle::call_on(other, [] { return 1; });  // warm up
        const auto start = Clock::now();
        for (auto _ : state) benchmark::DoNotOptimize(spindle::call_on(other, [] { return 1; }));
        ns = spindle_bench::ns_since(start);
        rounds = static_cast<long>(state.iterations());
      },
      pinned());
  // The baseline right after, over as many round trips (between 1,000 and 200,000).
  const double base = condvar_ping_pong(std::min<long>(std::max<long>(rounds, 1000), 200000));
  const double per = ns / static_cast<double>(std::max<long>(rounds, 1));
  state.counters["ns_per_call"] = per;
  state.counters["condvar_ns"] = base;
  state.counters["vs_condvar"] = per / base;
}
BENCHMARK(BM_CallOn_RoundTrip)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Items through a Channel<long> of capacity 1,024: `pairs` producer tasks on loop 0, as many
// consumer tasks on loop 1. One iteration moves 100,000 items.
void BM_Channel_Throughput(benchmark::State& state) {
  const int pairs = static_cast<int>(state.range(0));
  constexpr long kItems = 100000;
  constexpr std::size_t kCapacity = 1024;
  const long per = kItems / pairs;
  double ns = 0;
  for (auto _ : state) {
    spindle::Channel<long> ch(kCapacity);
    std::atomic<int> started{0};
    Clock::time_point start, end;
    spindle::run_threads(
        2,
        [&](unsigned i) {
          // Both loops are up before the clock starts.
          ++started;
          while (started.load() < 2) spindle::sleep(std::chrono::microseconds(50));
          if (i == 0) start = Clock::now();
          spindle::task_group([&](spindle::TaskGroup& g) {
            for (int p = 0; p < pairs; ++p) {
              if (i == 0) {
                g.spawn([&] {
                  for (long x = 0; x < per; ++x) ch.put(x);
                });
              } else {
                g.spawn([&] {
                  for (long x = 0; x < per; ++x) benchmark::DoNotOptimize(ch.get());
                });
              }
            }
          });
          if (i == 1) end = Clock::now();
        },
        pinned());
    const double took = std::chrono::duration<double, std::nano>(end - start).count();
    state.SetIterationTime(took / 1e9);
    ns += took;
  }
  const double rate =
      static_cast<double>(per * pairs) * static_cast<double>(state.iterations()) / (ns / 1e9);
  const double base = condvar_throughput(pairs, kItems, kCapacity);
  state.counters["items_per_s"] = rate;
  state.counters["condvar_items_per_s"] = base;
  state.counters["vs_condvar"] = rate / base;
}
BENCHMARK(BM_Channel_Throughput)->Arg(1)->Arg(4)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
