// Work that may block on the disk (reading a CA bundle, walking PATH) without stalling the
// loop: on the thread pool when called from a task, inline otherwise (before run(), or on a
// thread of one's own, nothing else waits).
#pragma once

#include <spindle/task.hpp>
#include <spindle/thread.hpp>

#include <type_traits>
#include <utility>

namespace spindle::io::detail {

/// f() on the thread pool from a task (parking it; a cancellation leaves f to finish there,
/// so f must own what it uses), else f() here. Returns what f returns; rethrows what it throws.
template <class F>
std::invoke_result_t<F&> off_loop(F f) {
  if (spindle::current_task()) return spindle::to_thread(std::move(f));
  return f();
}

}  // namespace spindle::io::detail
