// Suspending the current task for a while: sleep(), sleep_until(), yield_now().
#pragma once

#include <chrono>
#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

namespace spindle {

/// Lets every other ready task run once, then continues (the task goes to the back of the
/// ready queue). Throws CancelledError if the task is cancelled; std::logic_error outside a
/// task. asyncio: asyncio.sleep(0)
SPINDLE_API void yield_now(SourceLocation where = SourceLocation::current());

/// Parks the current task until the loop's clock reaches t. A deadline already passed
/// behaves like yield_now().
/// Cancellation: throws CancelledError; nothing else is affected.
/// Throws: CancelledError; std::logic_error outside a task. asyncio: asyncio.sleep (absolute)
SPINDLE_API void sleep_until(Clock::time_point t, SourceLocation where = SourceLocation::current());

/// Parks the current task for d (any std::chrono duration, rounded up to the clock's tick).
/// sleep(0) or a negative d behaves like yield_now(). Throws as sleep_until().
/// asyncio: asyncio.sleep(d)
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d, SourceLocation where = SourceLocation::current()) {
  if (d <= d.zero()) {
    yield_now(where);
    return;
  }
  sleep_until(Loop::current().time() + std::chrono::ceil<Clock::duration>(d), where);
}

}  // namespace spindle
