// Threads: to_thread() and submit().
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

namespace detail {
/// Work handed to the loop's thread pool; shared by the waiting task and the worker.
struct SPINDLE_API ThreadJob {
  virtual ~ThreadJob();
  /// Runs the work on a pool thread, storing its result or exception. Never throws.
  virtual void run() noexcept = 0;
  std::exception_ptr error;
  Waiter* waiter = nullptr;  // loop thread only: the parked task, if still waiting
};

/// Runs job on the current loop's thread pool and parks until it finished. Cancellation:
/// throws CancelledError at once; the work runs on and its result is dropped.
SPINDLE_API void run_in_thread(std::shared_ptr<ThreadJob> job, SourceLocation where);

template <class R, class Fn>
struct ThreadJobImpl final : ThreadJob {
  explicit ThreadJobImpl(Fn&& f) : fn(std::move(f)) {}
  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
      } else {
        result.emplace(fn());
      }
    } catch (...) {
      error = std::current_exception();
    }
  }
  Fn fn;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
};
}  // namespace detail

/// Runs f(args...) on the loop's thread pool (default size min(32, cores + 4), started on
/// first use and stopped by run()) and parks the current task until it returns; returns its
/// result or rethrows its exception. The work sees the caller's ContextVar values.
/// Cancellation: the task gets CancelledError at once; the thread finishes the call and its
/// result is dropped. Throws: f's exception; CancelledError; std::logic_error outside a task.
/// asyncio: asyncio.to_thread(f, *args)
template <class F, class... Args>
auto to_thread(F&& f, Args&&... args)
    -> std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...> {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto bound = [fn = std::forward<F>(f), ... as = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(as)...);
  };
  auto job = std::make_shared<detail::ThreadJobImpl<R, decltype(bound)>>(std::move(bound));
  detail::run_in_thread(job, SourceLocation::current());
  if (job->error) std::rethrow_exception(job->error);
  if constexpr (!std::is_void_v<R>) return std::move(*job->result);
}

/// Runs f() as a new task on `loop` (running on another thread) and returns a future for
/// its result; callable from any thread. If the loop ends before the task finishes, the
/// future holds CancelledError (or std::future_error if it never started). Do not wait on
/// the future from the loop's own thread: that blocks the loop.
/// asyncio: asyncio.run_coroutine_threadsafe
template <class F>
auto submit(Loop& loop, F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
  using R = std::invoke_result_t<std::decay_t<F>>;
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  loop.call_soon_threadsafe([promise, fn = std::forward<F>(f)]() mutable {
    auto task = spawn(std::move(fn));
    task.add_done_callback([promise](const Task<R>& t) {
      try {
        if constexpr (std::is_void_v<R>) {
          t.result();
          promise->set_value();
        } else {
          promise->set_value(t.result());
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
  });
  return future;
}

}  // namespace spindle
