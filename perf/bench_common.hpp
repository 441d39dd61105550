// Helpers shared by the perf suites: run a benchmark body inside spindle::run and a
// stopwatch whose result feeds the ratio counters.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <spindle/spindle.hpp>

namespace spindle_bench {

/// Nanoseconds elapsed since `start` on the steady clock.
inline double ns_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace spindle_bench
