// Deadlines: with_timeout(), with_deadline(), wait_for().
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/timer_entry.hpp>
#include <spindle/errors.hpp>
#include <spindle/gather.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

namespace detail {
/// One deadline scope on the current task (asyncio.timeout's state machine). Not API.
/// On expiry its timer cancels the task (Reason::Timeout); on exit the scope takes its own
/// cancellation back (uncancel) and turns it into TimeoutError only if no other
/// cancellation was requested meanwhile, which makes nested scopes and external cancel()
/// behave exactly as in asyncio.
class SPINDLE_API DeadlineScope {
 public:
  /// Throws std::logic_error outside a task.
  DeadlineScope(Clock::time_point deadline, SourceLocation where);
  /// A scope expiring `timeout` from now.
  DeadlineScope(Clock::duration timeout, SourceLocation where);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

  /// The body returned, or threw something other than CancelledError.
  void exit() noexcept;
  /// The body threw CancelledError: true if it came from this scope's expiry (and nothing
  /// else asked to cancel the task), so the caller must throw timeout_error() instead.
  bool exit_cancelled() noexcept;
  /// The TimeoutError for this scope, naming where it was opened.
  [[noreturn]] void throw_timeout() const;

  // Used by the loop's timer.
  void expire() noexcept;

 private:
  TaskBase* task_;
  TimerEntry entry_;
  SourceLocation where_;
  std::uint32_t cancelling_at_entry_;
  bool expired_ = false;
  bool exited_ = false;
};
}  // namespace detail

namespace detail {
/// Runs f() inside `scope`, turning the scope's own expiry into TimeoutError.
template <class F>
auto run_in_scope(DeadlineScope& scope, F& f) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(f);
      scope.exit();
    } else {
      R r = std::invoke(f);
      scope.exit();
      return r;
    }
  } catch (const CancelledError&) {
    if (scope.exit_cancelled()) scope.throw_timeout();
    throw;
  } catch (...) {
    scope.exit();
    throw;
  }
}
}  // namespace detail

/// Runs f() in the current task with a deadline: if t passes before f returns, the blocking
/// call f is parked in throws CancelledError, and when it leaves f this scope turns it into
/// TimeoutError. Scopes nest: only the scope whose deadline fired converts; an outer scope's
/// expiry passes through inner scopes as CancelledError; an external cancel() during the
/// scope stays CancelledError. f's value is returned when it finishes in time.
/// Throws: TimeoutError; CancelledError; whatever f throws; std::logic_error outside a task.
/// asyncio: `async with asyncio.timeout_at(t): ...`
template <class F>
auto with_deadline(Clock::time_point t, F&& f, SourceLocation where = SourceLocation::current())
    -> std::invoke_result_t<F&> {
  detail::DeadlineScope scope(t, where);
  return detail::run_in_scope(scope, f);
}

/// with_deadline(now + d, f): see there. asyncio: `async with asyncio.timeout(d): ...`
template <class Rep, class Period, class F>
auto with_timeout(std::chrono::duration<Rep, Period> d, F&& f,
                  SourceLocation where = SourceLocation::current()) -> std::invoke_result_t<F&> {
  detail::DeadlineScope scope(std::chrono::ceil<Clock::duration>(d), where);
  return detail::run_in_scope(scope, f);
}

/// Waits for a task (or spawns a callable and waits for it) for at most d. On expiry the
/// task is cancelled and waited for until it has finished, then TimeoutError is thrown.
/// Cancelling the caller cancels the task too (as join does).
/// Throws: TimeoutError; the task's exception; CancelledError. asyncio: asyncio.wait_for
template <detail::Gatherable X, class Rep, class Period>
auto wait_for(X&& x, std::chrono::duration<Rep, Period> d,
              SourceLocation where = SourceLocation::current()) {
  auto task = detail::as_task(std::forward<X>(x));
  return with_timeout(
      d, [&] { return task.join(where); }, where);
}

}  // namespace spindle
