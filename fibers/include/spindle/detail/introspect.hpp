// Counters for leak checks in tests and benchmarks. Not API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <spindle/detail/config.hpp>

namespace spindle::detail {
/// Stacks of this thread's pool currently handed out to tasks.
SPINDLE_API std::size_t stacks_in_use() noexcept;
/// Stacks of this thread's pool waiting for reuse.
SPINDLE_API std::size_t stacks_cached() noexcept;
/// How many stacks the running loop's pool (this thread's pool outside a loop) carved with
/// each protection.
struct StackCounts {
  std::size_t guard_install = 0;  // MADV_GUARD_INSTALL guard page
  std::size_t mprotect = 0;       // mprotect guard page
  std::size_t canary = 0;         // canary word, no guard page
};
SPINDLE_API StackCounts stack_counts() noexcept;
/// Task states (Task<R> shared states) alive on this thread.
SPINDLE_API std::size_t live_task_states() noexcept;
/// Wake-ups that reached the kernel (an eventfd write, a condition variable signal) in this
/// process so far, all loops together: what cross-thread posts cost a sleeping loop.
SPINDLE_API std::size_t reactor_wakeups() noexcept;
/// Counts one such wake-up (called by reactors).
SPINDLE_API void count_reactor_wakeup() noexcept;
}  // namespace spindle::detail
