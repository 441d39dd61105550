// The event loop: ready queue, timers, loop callbacks, the exception handler.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/unique_function.hpp>
#include <string>

namespace spindle {

/// The loop's clock. Loop::time() and every deadline use it.
using Clock = std::chrono::steady_clock;

namespace detail {
struct CallbackNode;
class LoopCore;
}  // namespace detail

/// A callback scheduled with call_soon(); cancel() stops it from running.
/// asyncio: asyncio.Handle
class SPINDLE_API Handle {
 public:
  Handle() noexcept = default;
  explicit Handle(detail::CallbackNode* n) noexcept;
  Handle(const Handle& o) noexcept;
  Handle& operator=(Handle o) noexcept;
  ~Handle();

  /// Stops the callback from running if it has not run yet; harmless afterwards.
  void cancel() noexcept;
  /// True once cancel() was called.
  bool cancelled() const noexcept;

 protected:
  detail::CallbackNode* n_ = nullptr;
};

/// A callback scheduled with call_later()/call_at(). asyncio: asyncio.TimerHandle
class SPINDLE_API TimerHandle : public Handle {
 public:
  using Handle::Handle;
  /// The deadline the callback is scheduled for.
  Clock::time_point when() const noexcept;
};

class Loop;

/// The I/O backend a loop runs on (README, "Backends"). Chosen by RunOptions::backend or the
/// environment variable SPINDLE_BACKEND=epoll|io_uring.
enum class Backend {
  /// io_uring when the kernel allows it (io_uring_setup works and has what spindle needs),
  /// else epoll. As a loop's answer to Loop::backend(): no I/O backend (never in libspindle).
  Auto,
  /// Readiness: epoll, edge-triggered; every operation tries the syscall, then parks.
  Epoll,
  /// Completion: io_uring; operations are submitted to the ring, the task parked until done.
  IoUring,
};

/// "epoll", "io_uring" or "auto".
SPINDLE_API const char* to_string(Backend b) noexcept;

/// Keeps an idle loop waiting for other threads instead of reporting a deadlock; see
/// Loop::keep_alive(). Movable; thread-safe to create and destroy.
class SPINDLE_API KeepAlive {
 public:
  KeepAlive() noexcept = default;
  explicit KeepAlive(Loop* loop) noexcept;
  KeepAlive(KeepAlive&& o) noexcept : loop_(o.loop_) { o.loop_ = nullptr; }
  KeepAlive& operator=(KeepAlive&& o) noexcept;
  ~KeepAlive();

 private:
  Loop* loop_ = nullptr;
};

/// What the exception handler receives. asyncio: the handler's context dict.
struct ExceptionContext {
  std::string message;           // what happened, e.g. "Task exception was never retrieved"
  std::exception_ptr exception;  // may be null
  std::string task_name;         // the task concerned, or empty
};

/// The event loop of the current thread, created by run(). Loop callbacks (call_soon & co)
/// run on the loop between task switches and must not block: a blocking call from a callback
/// throws std::logic_error. Not thread-safe: use it from the loop's own thread only.
class SPINDLE_API Loop {
 public:
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// The loop running on this thread. Throws std::logic_error("no running loop") if none.
  /// asyncio: asyncio.get_running_loop()
  static Loop& current();

  /// The loop's notion of now. asyncio: loop.time()
  Clock::time_point time() const noexcept;

  /// Schedules f() to run soon, after what is already ready (FIFO). asyncio: loop.call_soon
  Handle call_soon(detail::UniqueFunction<void()> f);

  /// Schedules f() at deadline t; equal deadlines run in scheduling order. asyncio: loop.call_at
  TimerHandle call_at(Clock::time_point t, detail::UniqueFunction<void()> f);

  /// Schedules f() after delay d. asyncio: loop.call_later
  template <class Rep, class Period>
  TimerHandle call_later(std::chrono::duration<Rep, Period> d, detail::UniqueFunction<void()> f) {
    return call_at(time() + std::chrono::ceil<Clock::duration>(d), std::move(f));
  }

  /// Replaces the handler for errors nobody else can see (unretrieved task exceptions,
  /// exceptions thrown by callbacks). An empty function restores the default.
  /// asyncio: loop.set_exception_handler
  void set_exception_handler(std::function<void(const ExceptionContext&)> handler);

  /// Passes ctx to the handler; never throws (a throwing handler is reported to stderr).
  /// asyncio: loop.call_exception_handler
  void call_exception_handler(const ExceptionContext& ctx) noexcept;

  /// Writes one line describing ctx to stderr. asyncio: loop.default_exception_handler
  static void default_exception_handler(const ExceptionContext& ctx);

  /// Schedules f() to run on the loop soon; the one Loop member safe to call from any
  /// thread while the loop runs (once it has stopped, f is dropped unrun).
  /// asyncio: loop.call_soon_threadsafe
  void call_soon_threadsafe(detail::UniqueFunction<void()> f);

  /// While the returned token lives, an idle loop (every task parked, no timer) waits for
  /// work from other threads (call_soon_threadsafe, submit) instead of throwing
  /// DeadlockError. Hold one while your own threads may feed the loop.
  KeepAlive keep_alive() noexcept { return KeepAlive(this); }

  /// True in debug mode (RunOptions::debug or SPINDLE_DEBUG=1). asyncio: loop.get_debug()
  bool debug() const noexcept;

  /// The I/O backend this loop runs on: Backend::Epoll or Backend::IoUring.
  Backend backend() const noexcept;

 protected:
  Loop() = default;
  ~Loop() = default;
};

}  // namespace spindle
