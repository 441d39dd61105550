// Many fibers at once: memory per fiber, spawn/join and timers at scale, and whether the
// switch cost stays flat as the number of live fibers grows.
//
// BM_MillionSleepers/N: N tasks (1,000,000 in the full run) each sleep(10 s). Counters:
//   rss_per_fiber (bytes of resident memory per parked task, measured while all sleep; target
//   at most 4.5 KiB), pte_per_fiber (page-table bytes, which RSS does not count),
//   maps (/proc/self/maps entries: every stack is guarded without one mapping per stack),
//   wake_lateness_ms (last task done after the 10 s deadline), spawn_ns_per_fiber and
//   first_run_ns_per_fiber (on fresh stacks: the first write to each stack page happens at
//   the first run), start_ns_per_fiber (their sum; the target is <= 6 us).
// BM_SpawnJoin_Alive/N: spawn N tasks that each yield once, keep all N alive, then join
//   them all: ns_per_task (target under 1,200 ns at N = 100,000), with the stack pool warm
//   (Google Benchmark's first sizing run leaves it so). The cold cost, every stack touched
//   for the first time, is BM_MillionSleepers' start_ns_per_fiber.
// BM_RandomSleepers/N: N tasks sleeping uniformly random 0-1,000 ms. Counters: lateness_ms
//   (last task done after the last deadline; target 300 ms at N = 100,000) and cpu_s (CPU
//   time of the whole run; target 0.3 s).
// BM_ColdSleepers/N: N tasks sleeping uniformly random 0-1,000 ms, all spawned before the
//   first runs, in a fresh process (this binary runs itself with --cold-sleepers N): nothing
//   is warm. Counters: late_ms (the last task done after the last deadline, counted from
//   before the first spawn) and cpu_s (the child's CPU time). With SPINDLE_GO_SLEEPERS set
//   to the Go twin's binary (perf/go/sleepers.go), runs it too, GOMAXPROCS=1, in the same run:
//   go_late_ms, go_cpu_s, late_vs_go and cpu_vs_go (targets: <= 0.5).
// BM_Switch_LiveFibers/N: two tasks ping-pong with yield_now while N others stay parked on
//   an Event: ns_per_switch should not depend on N (target: within 2x from 10 to 1,000,000).
// BM_Switch_RoundRobin/N: N tasks all yield in turn, so every switch goes to a different
//   stack: what a loop with N busy fibers pays per switch (cache and TLB misses grow with N).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"

using namespace std::chrono_literals;

namespace {

// A field of /proc/self/status in KiB (VmRSS, VmPTE).
long status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  const std::string key = std::string(field) + ":";
  for (std::string line; std::getline(f, line);) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return 0;
}

long map_count() {
  std::ifstream f("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

double cpu_seconds() {
  rusage r;
  ::getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// Spawns n tasks that each yield once, all alive together, then joins them. `tasks` keeps
// its capacity between calls.
void spawn_yield_join(std::size_t n, std::vector<spindle::Task<void>>& tasks) {
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(spindle::spawn([] { spindle::yield_now(); }));
  for (auto& t : tasks) t.join();
  tasks.clear();
}

void BM_MillionSleepers(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    const long rss0 = status_kib("VmRSS");
    const long pte0 = status_kib("VmPTE");
    double rss_per = 0, pte_per = 0, lateness = 0, spawn_ns = 0, first_run_ns = 0;
    long maps = 0;
    spindle::run([&] {
      std::vector<spindle::Task<void>> tasks;
      tasks.reserve(n);
      const auto deadline = spindle::Loop::current().time() + 10s;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        tasks.push_back(spindle::spawn([deadline] { spindle::sleep_until(deadline); }));
      }
      spawn_ns = spindle_bench::ns_since(t0) / static_cast<double>(n);
      const auto t1 = std::chrono::steady_clock::now();
      spindle::yield_now();  // every task has started and parked
      first_run_ns = spindle_bench::ns_since(t1) / static_cast<double>(n);
      rss_per = static_cast<double>(status_kib("VmRSS") - rss0) * 1024 / static_cast<double>(n);
      pte_per = static_cast<double>(status_kib("VmPTE") - pte0) * 1024 / static_cast<double>(n);
      maps = map_count();
      for (auto& t : tasks) t.join();
      lateness = std::chrono::duration<double, std::milli>(spindle::Loop::current().time() -
                                                           deadline)
                     .count();
    });
    state.counters["rss_per_fiber"] = rss_per;
    state.counters["pte_per_fiber"] = pte_per;
    state.counters["maps"] = static_cast<double>(maps);
    state.counters["wake_lateness_ms"] = lateness;
    state.counters["spawn_ns_per_fiber"] = spawn_ns;
    state.counters["first_run_ns_per_fiber"] = first_run_ns;
    state.counters["start_ns_per_fiber"] = spawn_ns + first_run_ns;
  }
}
BENCHMARK(BM_MillionSleepers)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_SpawnJoin_Alive(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  double total_ns = 0;
  std::int64_t rounds = 0;
  spindle::run([&] {
    std::vector<spindle::Task<void>> tasks;
    tasks.reserve(n);
    for (auto _ : state) {
      const auto t0 = std::chrono::steady_clock::now();
      spawn_yield_join(n, tasks);
      total_ns += spindle_bench::ns_since(t0);
      ++rounds;
    }
  });
  state.counters["ns_per_task"] = total_ns / static_cast<double>(rounds) / static_cast<double>(n);
}
BENCHMARK(BM_SpawnJoin_Alive)->Arg(100'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// Runs n tasks sleeping uniformly random 0-1,000 ms (the same draws every time), all spawned
// before any runs, in a loop of its own; returns how long after the last deadline the last
// one finished, in ms.
double random_sleepers(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> ms(0, 1000);
  double late = 0;
  spindle::run([&] {
    std::vector<spindle::Task<void>> tasks;
    tasks.reserve(n);
    const auto start = spindle::Loop::current().time();
    auto last = start;
    for (std::size_t i = 0; i < n; ++i) {
      const auto d = std::chrono::milliseconds(ms(rng));
      last = std::max(last, start + d);
      tasks.push_back(spindle::spawn([d] { spindle::sleep(d); }));
    }
    for (auto& t : tasks) t.join();
    late = std::chrono::duration<double, std::milli>(spindle::Loop::current().time() - last).count();
  });
  return late;
}

void BM_RandomSleepers(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  // Warm the stack pool (as a long-running server's would be): the measured run then
  // reuses resident stacks.
  spindle::run([&] {
    std::vector<spindle::Task<void>> tasks;
    spawn_yield_join(n, tasks);
  });
  for (auto _ : state) {
    const double cpu0 = cpu_seconds();
    state.counters["lateness_ms"] = random_sleepers(n);
    state.counters["cpu_s"] = cpu_seconds() - cpu0;
  }
}
BENCHMARK(BM_RandomSleepers)->Arg(100'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The child's side of BM_ColdSleepers: prints "late_ms=X cpu_s=Y" as perf/go/sleepers.go does.
void cold_sleepers(std::size_t n) {
  const double late = random_sleepers(n);
  std::printf("late_ms=%.1f cpu_s=%.3f\n", late, cpu_seconds());
}

// Runs `command` and parses its "late_ms=X cpu_s=Y" line.
std::pair<double, double> run_sleepers(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen " + command);
  double late = -1, cpu = -1;
  const int got = std::fscanf(p, "late_ms=%lf cpu_s=%lf", &late, &cpu);
  if (::pclose(p) != 0 || got != 2) throw std::runtime_error(command + " failed");
  return {late, cpu};
}

void BM_ColdSleepers(benchmark::State& state) {
  const std::string n = std::to_string(state.range(0));
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const char* go = std::getenv("SPINDLE_GO_SLEEPERS");
  for (auto _ : state) {
    const auto [late, cpu] = run_sleepers(self + " --cold-sleepers " + n);
    state.counters["late_ms"] = late;
    state.counters["cpu_s"] = cpu;
    if (go && *go) {
      const auto [go_late, go_cpu] = run_sleepers(std::string("GOMAXPROCS=1 ") + go + " " + n);
      state.counters["go_late_ms"] = go_late;
      state.counters["go_cpu_s"] = go_cpu;
      state.counters["late_vs_go"] = late / go_late;
      state.counters["cpu_vs_go"] = cpu / go_cpu;
    }
  }
}
BENCHMARK(BM_ColdSleepers)->Arg(100'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_Switch_LiveFibers(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  double ns = 0;
  std::int64_t iters = 0;
  spindle::run([&] {
    spindle::Event release;
    std::vector<spindle::Task<void>> parked;
    parked.reserve(n);
    for (std::size_t i = 0; i < n; ++i) parked.push_back(spindle::spawn([&] { release.wait(); }));
    spindle::yield_now();  // all of them are parked now
    bool stop = false;
    auto partner = spindle::spawn([&] {
      while (!stop) spindle::yield_now();
    });
    spindle::yield_now();
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) spindle::yield_now();
    ns = spindle_bench::ns_since(t0);
    iters = state.iterations();
    stop = true;
    partner.join();
    release.set();
    for (auto& t : parked) t.join();
  });
  state.counters["ns_per_switch"] = ns / static_cast<double>(iters) / 2;
}
BENCHMARK(BM_Switch_LiveFibers)
    ->Arg(10)
    ->Arg(1000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

void BM_Switch_RoundRobin(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  double ns = 0;
  std::int64_t switches = 0;
  spindle::run([&] {
    bool stop = false;
    std::int64_t count = 0;
    std::vector<spindle::Task<void>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      tasks.push_back(spindle::spawn([&] {
        while (!stop) {
          ++count;
          spindle::yield_now();
        }
      }));
    }
    spindle::yield_now();  // everyone is in its loop
    count = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
      ++count;
      spindle::yield_now();  // one iteration: a full round of n switches
    }
    ns = spindle_bench::ns_since(t0);
    switches = count;
    stop = true;
    for (auto& t : tasks) t.join();
  });
  state.counters["ns_per_switch"] = ns / static_cast<double>(switches);
}
BENCHMARK(BM_Switch_RoundRobin)
    ->Arg(10)
    ->Arg(1000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--cold-sleepers") {
    cold_sleepers(std::stoul(argv[2]));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
