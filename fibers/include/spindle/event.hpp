// Event: a flag tasks can wait for.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/source_location.hpp>

namespace spindle {

/// A flag that tasks wait for until some task sets it. Not thread-safe: tasks of one loop
/// only (from another thread, use Loop::call_soon_threadsafe). asyncio: asyncio.Event
class SPINDLE_API Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Sets the flag and wakes every waiting task (in the order they started waiting).
  void set();
  /// Clears the flag; later wait() calls park again.
  void clear() noexcept { set_ = false; }
  /// True while the flag is set.
  bool is_set() const noexcept { return set_; }
  /// Returns at once if the flag is set, else parks until set() is called.
  /// Cancellation: nothing is consumed. Throws: CancelledError; std::logic_error if the
  /// Event is destroyed while waiting, or outside a task. asyncio: `await event.wait()`
  void wait(SourceLocation where = SourceLocation::current());
  /// Tasks waiting now.
  std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  bool set_ = false;
  detail::WaitList waiters_;
  detail::ThreadCheck thread_;
};

}  // namespace spindle
