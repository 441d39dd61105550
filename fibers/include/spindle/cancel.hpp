// Controlling cancellation: shield() and CancelShield.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>

namespace spindle {

/// Waits for `task` like join(), but does not pass the caller's cancellation on: if the
/// caller is cancelled while waiting, it gets CancelledError at once and `task` keeps
/// running. Throws: the task's exception; CancelledError. asyncio: `await asyncio.shield(t)`
template <class R>
R shield(const Task<R>& task, SourceLocation where = SourceLocation::current()) {
  detail::wait_task(*task.state(), where, false);
  return task.result();
}

/// An RAII scope in which the current task's cancellation is held back: blocking calls
/// inside it are not interrupted, and a cancellation requested meanwhile is delivered at the
/// first blocking call after the scope ends. Use it for cleanup that must block, above all
/// in destructors: a CancelledError escaping a destructor calls std::terminate (destructors
/// are noexcept), so a destructor that parks should open a CancelShield first.
/// Outside a task it does nothing. Nests. Not thread-safe (belongs to the task).
class SPINDLE_API CancelShield {
 public:
  CancelShield() noexcept;
  ~CancelShield();
  CancelShield(const CancelShield&) = delete;
  CancelShield& operator=(const CancelShield&) = delete;

 private:
  detail::TaskBase* task_;
};

}  // namespace spindle
