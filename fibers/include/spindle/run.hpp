// run(): the entry point that owns a loop for the duration of one main task.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/task.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

/// How fiber stacks are protected against overflow (README, "Stacks").
enum class StackGuard {
  /// A guard page per stack: MADV_GUARD_INSTALL where the kernel has it (no map-count
  /// cost), else mprotect while a quarter of vm.max_map_count lasts, then a canary.
  Auto,
  /// As Auto but without MADV_GUARD_INSTALL: mprotect guards, then canaries.
  Mprotect,
  /// No guard pages: a canary word at the bottom of each stack, checked at every switch.
  Canary,
};

/// Options for run().
struct RunOptions {
  /// Debug mode (also switched on by the environment variable SPINDLE_DEBUG=1): slow-callback
  /// warnings, stack use tracking, reports of swallowed cancellations.
  bool debug = false;
  /// In debug mode, a task or callback running longer than this without parking is reported
  /// (naming the task and where it last resumed). A task's report also carries its stack,
  /// sampled while it ran: a watchdog thread interrupts the loop's thread once with the
  /// signal SIGRTMIN+6 (SA_RESTART; a sleep or poll it interrupts may return EINTR), so the
  /// call that blocked is named. asyncio: loop.slow_callback_duration
  std::chrono::nanoseconds slow_callback = std::chrono::milliseconds(100);
  /// Measure each task's stack high-water mark exactly (AnyTask::stack_used(), dump_tasks()).
  /// Costs page faults: a reused stack's pages are given back to the kernel first. On in
  /// debug mode.
  bool track_stack_use = false;
  /// A signal (e.g. SIGQUIT or SIGUSR1) that makes the loop write dump_tasks() to stderr at
  /// its next switch; 0 (the default) installs no handler.
  int dump_signal = 0;
  /// How late an idle loop may wake for a timer, so that timers due close together fire in
  /// one wake-up instead of one each (timers never fire early; a busy loop checks them every
  /// round). asyncio's epoll loop rounds its waits up to whole milliseconds; 0 wakes as
  /// precisely as the kernel allows.
  std::chrono::nanoseconds timer_slack = std::chrono::microseconds(500);
  /// Default usable stack size of this loop's tasks, in bytes; 0 means 128 KiB.
  std::size_t stack_size = 0;
  /// Stack protection. Anything but Auto, or a nonzero max_map_count, gives the loop a
  /// stack pool of its own instead of the thread's shared one.
  StackGuard stack_guard = StackGuard::Auto;
  /// Replaces /proc/sys/vm/max_map_count when budgeting mprotect guards; 0 reads the system
  /// value. Lets a test reach the canary fallback quickly.
  std::size_t max_map_count = 0;
  /// Virtual time: the loop's clock stands still while tasks run and jumps straight to the
  /// next timer's deadline when every task is parked, so timeouts and sleeps take no real
  /// time and fire in a fully deterministic order (Tokio's time::pause). Use it in tests;
  /// with it, a task spinning on Loop::time() without parking never sees time pass.
  bool virtual_time = false;
  /// How long an idle loop keeps polling for messages from other loops (call_on requests
  /// and answers, Channel wake-ups) before it sleeps in the kernel, when one of its tasks
  /// waits for such a message or one arrived within this time. Spinning spends CPU to save
  /// the wake-up (a syscall on each side plus the scheduler's latency); 0 never spins. A
  /// loop that only serves its own connections never spins.
  std::chrono::nanoseconds cross_loop_spin = std::chrono::microseconds(50);
  /// The I/O backend. Auto takes io_uring where the kernel allows it, else epoll; the
  /// environment variable SPINDLE_BACKEND=epoll|io_uring overrides Auto (not an explicit
  /// choice). An explicit IoUring the kernel refuses makes run() throw std::system_error.
  Backend backend = Backend::Auto;
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
