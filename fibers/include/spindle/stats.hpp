// Counting what a loop holds: stats(), for dashboards and leak hunting.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace spindle {

/// A snapshot of one loop, taken on its own thread. Counts are of this moment; `switches`,
/// `tasks_started` and `tasks_finished` count since the loop started.
struct LoopStats {
  unsigned loop_index = 0;             // the loop's index in its run_threads() group (0 under run())
  Backend backend = Backend::Auto;     // the loop's I/O backend (Epoll or IoUring)
  std::size_t tasks_alive = 0;         // started and not finished (the main task included)
  std::size_t tasks_ready = 0;         // queued to run (not yet started, or woken)
  std::size_t tasks_parked = 0;        // parked in a blocking call
  /// Parked tasks by the blocking call they are in ("sleep", "Lock::lock",
  /// "wait_readable", ...), sorted by name.
  std::vector<std::pair<std::string, std::size_t>> parked_by_call;
  std::uint64_t tasks_started = 0;
  std::uint64_t tasks_finished = 0;
  std::uint64_t switches = 0;          // context switches between tasks and the loop
  std::size_t timers = 0;              // pending timer entries (sleeps, timeouts, call_later)
  std::size_t io_waits = 0;            // tasks parked in the reactor for I/O
  std::size_t to_thread_jobs = 0;      // to_thread() calls in flight
  std::size_t pool_threads = 0;        // threads of the loop's to_thread pool (started lazily)
  std::size_t pool_threads_idle = 0;
  std::size_t stacks_in_use = 0;       // fiber stacks of this thread's pool held by tasks
  std::size_t stacks_cached = 0;       // returned stacks kept for reuse
  std::size_t stack_bytes_mapped = 0;  // address space mapped for stacks (reserved, not memory)
  std::size_t stack_bytes_touched = 0; // of it, resident pages: the memory stacks really cost
};

/// A snapshot of the running loop. Costs one mincore() per stack chunk (a few for thousands
/// of tasks) and a walk of the live tasks. Throws std::logic_error when no loop runs on this
/// thread. For every loop of a run_threads() group, call it on each with call_on().
SPINDLE_API LoopStats stats();

}  // namespace spindle
