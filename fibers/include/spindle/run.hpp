// run(): the entry point that owns a loop for the duration of one main task.
#pragma once

#include <cstddef>
#include <functional>
#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/task.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

/// Options for run().
struct RunOptions {
  /// Debug mode (also switched on by the environment variable SPINDLE_DEBUG=1).
  bool debug = false;
  /// Default usable stack size of this loop's tasks, in bytes; 0 means 128 KiB.
  std::size_t stack_size = 0;
  /// Virtual time: the loop's clock stands still while tasks run and jumps straight to the
  /// next timer's deadline when every task is parked, so timeouts and sleeps take no real
  /// time and fire in a fully deterministic order (Tokio's time::pause). Use it in tests;
  /// with it, a task spinning on Loop::time() without parking never sees time pass.
  bool virtual_time = false;
  /// The loop's exception handler; empty means Loop::default_exception_handler.
  std::function<void(const ExceptionContext&)> exception_handler{};
};

namespace detail {
/// Owns the loop of one run() call. Not API.
class SPINDLE_API RunScope {
 public:
  /// Creates the loop. Throws std::logic_error if a loop already runs on this thread.
  explicit RunScope(RunOptions opts);
  ~RunScope();
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;
  /// Runs the loop until `main` is done, then cancels the remaining tasks and runs until they
  /// have finished. Throws DeadlockError if every task parks with nothing left to wake one.
  void run_until_done(TaskBase& main);

 private:
  LoopCore* loop_;
};
}  // namespace detail

/// Runs main() as the first task of a new loop on this thread and returns its result (or
/// rethrows its exception). When main is done, the tasks still alive are cancelled and
/// awaited; their failures go to the exception handler. Then the loop is destroyed.
/// Throws: main's exception; std::logic_error if a loop already runs on this thread;
/// DeadlockError if every task parks with nothing left that could wake one.
/// asyncio: asyncio.run(main())
template <class F>
auto run(F&& main, RunOptions opts = {}) -> std::invoke_result_t<std::decay_t<F>> {
  detail::RunScope scope(std::move(opts));
  auto task = spawn(std::forward<F>(main));
  scope.run_until_done(*task.state());
  return task.result();
}

}  // namespace spindle
