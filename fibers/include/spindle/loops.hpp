// Several loops: run_threads() runs one loop per thread, call_on() runs a function as a
// task on another loop. Loops share nothing; tasks never migrate.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <spindle/detail/config.hpp>
#include <spindle/detail/remote.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/loop.hpp>
#include <spindle/run.hpp>
#include <spindle/source_location.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

/// Options for run_threads().
struct ThreadsOptions {
  /// Pin loop i's thread to the i-th CPU the process may run on (wrapping around when
  /// there are more loops than CPUs).
  bool pin = false;
  /// Each loop's options, as for run().
  RunOptions run{};
};

/// A handle to one loop of the running group: what loops() lists. Converts to Loop& for
/// call_on(); copyable; valid while run_threads() runs.
class LoopRef {
 public:
  LoopRef() noexcept = default;
  LoopRef(Loop& loop, unsigned index) noexcept : loop_(&loop), index_(index) {}
  /// The loop.
  Loop& loop() const noexcept { return *loop_; }
  /// Its index in the group (the argument its main received).
  unsigned index() const noexcept { return index_; }
  operator Loop&() const noexcept { return *loop_; }
  friend bool operator==(const LoopRef& a, const LoopRef& b) noexcept { return a.loop_ == b.loop_; }

 private:
  Loop* loop_ = nullptr;
  unsigned index_ = 0;
};

/// Runs n loops, each on its own thread (loop 0 on the calling thread), each running
/// main(index) as its first task; n = 0 means one loop per CPU the process may run on
/// (sched_getaffinity). main is called concurrently from every thread. A loop whose main
/// returned keeps running its other tasks and answering call_on() until every main has
/// returned; then every loop cancels its remaining tasks as run() does, and run_threads
/// returns. If a main throws, the other mains are cancelled, every loop finishes, and the
/// first exception is rethrown. Signals meant for wait_signal() must be blocked before the
/// call, so that the new threads inherit the mask.
/// Throws: the first main's exception; std::logic_error if a loop already runs on this
/// thread; std::system_error if a thread cannot be started; DeadlockError from a loop.
SPINDLE_API void run_threads(unsigned n, std::function<void(unsigned)> main,
                             ThreadsOptions opts = {});

/// The loops of the running group, by index (under plain run(): just the current loop).
/// Throws std::logic_error outside a loop.
SPINDLE_API std::span<const LoopRef> loops();

/// The current loop's index in its group (0 under plain run()). Throws std::logic_error
/// outside a loop.
SPINDLE_API unsigned current_loop_index();

namespace detail {
/// One call_on() in flight, shared by the calling loop and the target loop (reference
/// counted: the caller and each queued message hold a reference).
struct SPINDLE_API RemoteCall {
  RemoteCall() noexcept;
  virtual ~RemoteCall();
  RemoteCall(const RemoteCall&) = delete;
  RemoteCall& operator=(const RemoteCall&) = delete;
  /// Runs the function on the target loop (in the remote task), storing its result;
  /// exceptions propagate to the caller of invoke().
  virtual void invoke() = 0;
  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::exception_ptr error;  // the function's exception
  bool cancelled = false;    // the remote task ended by CancelledError
  bool completed = false;    // (caller's thread) the answer arrived
  std::atomic<int> refs{1};
  RemoteNode start, cancel, done;
  Loop* caller = nullptr;
  Loop* target = nullptr;
  Waiter* waiter = nullptr;    // (caller's thread) the parked caller
  TaskBase* remote = nullptr;  // (target's thread) the remote task while it runs
  struct Finished : DoneWaiter {
    RemoteCall* call = nullptr;
  } finished;                  // (target's thread) the remote task's done notification
  bool cancel_posted = false;  // (caller's thread)
};

/// Sends c to `target`, parks the calling task until it ran there, and handles cancellation
/// (forwarded, then waited for). Throws CancelledError; std::runtime_error if the target
/// loop has stopped; std::logic_error outside a task.
SPINDLE_API void call_remote(Loop& target, RemoteCall& c, SourceLocation where);

template <class R, class F>
struct RemoteCallImpl final : RemoteCall {
  explicit RemoteCallImpl(F&& f) : fn(std::move(f)) {}
  void invoke() override {
    struct Drop {  // the function (and its captures) dies on the target loop
      std::optional<F>& fn;
      ~Drop() { fn.reset(); }
    } drop{fn};
    if constexpr (std::is_void_v<R>) {
      (*fn)();
    } else {
      result.emplace((*fn)());
    }
  }
  std::optional<F> fn;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
};
}  // namespace detail

/// Runs f() as a task on `loop` (another loop of the group, or any running loop) and parks
/// the calling task, not its thread, until it finished; returns its result or rethrows its
/// exception. f and its captures are destroyed on the target loop; the result is moved to
/// the caller. Cancelling the caller cancels the remote task and waits for it to finish
/// (as Task::join does), then throws CancelledError. Throws: f's exception; CancelledError;
/// std::runtime_error if the target loop has stopped; std::logic_error outside a task.
/// Seastar: smp::submit_to
template <class F>
auto call_on(Loop& loop, F&& f, SourceLocation where = SourceLocation::current())
    -> std::invoke_result_t<std::decay_t<F>> {
  using R = std::invoke_result_t<std::decay_t<F>>;
  using Fn = std::decay_t<F>;
  auto* c = new detail::RemoteCallImpl<R, Fn>(Fn(std::forward<F>(f)));
  struct Ref {
    detail::RemoteCall* c;
    ~Ref() { c->release(); }
  } ref{c};
  detail::call_remote(loop, *c, where);
  if (c->error) std::rethrow_exception(c->error);
  if constexpr (!std::is_void_v<R>) return std::move(*c->result);
}

}  // namespace spindle
