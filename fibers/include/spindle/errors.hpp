// The exceptions spindle throws (asyncio's exception family).
#pragma once

#include <spindle/detail/config.hpp>

#include <stdexcept>
#include <string>

namespace spindle {

/// Thrown into a task at a blocking call when the task is cancelled.
/// Deliberately NOT derived from std::exception (like Python's BaseException), so that
/// `catch (const std::exception&)` cannot swallow a cancellation by accident.
/// asyncio: asyncio.CancelledError
class SPINDLE_API CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  /// The message passed to Task::cancel(msg), or empty.
  const std::string& message() const noexcept { return message_; }
  /// A human-readable description ("task cancelled" plus the message, if any).
  const char* what() const noexcept;

 private:
  std::string message_;
  mutable std::string what_;
};

/// A deadline expired (wait_for, with_timeout). asyncio: TimeoutError
class SPINDLE_API TimeoutError : public std::runtime_error {
 public:
  explicit TimeoutError(const std::string& what = "operation timed out") : std::runtime_error(what) {}
};

/// An operation was called in a state that does not allow it, e.g. Task::result() before the
/// task is done. asyncio: asyncio.InvalidStateError
class SPINDLE_API InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// run() found every task parked with nothing that could ever wake one (no timer, no I/O,
/// no cross-thread work). The message lists the parked tasks and where they wait.
class SPINDLE_API DeadlockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace spindle
