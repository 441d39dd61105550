// The exceptions spindle throws (asyncio's exception family).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace spindle {

/// Thrown into a task at a blocking call when the task is cancelled.
/// Deliberately NOT derived from std::exception (like Python's BaseException), so that
/// `catch (const std::exception&)` cannot swallow a cancellation by accident.
/// Every CancelledError says why it happened (provenance): reason(), requested_by(), where().
/// asyncio: asyncio.CancelledError
class SPINDLE_API CancelledError {
 public:
  /// Why the task was cancelled.
  enum class Reason : std::uint8_t {
    Requested,  ///< Task::cancel() was called (by requested_by(), at where())
    Timeout,    ///< a with_timeout/with_deadline/wait_for scope opened at where() expired
    TaskGroup,  ///< a task of the same TaskGroup (requested_by()) failed
    Forwarded,  ///< requested_by(), waiting on this task at where(), was cancelled itself
    Shutdown,   ///< spindle::run() is cancelling the tasks left when main finished
    Deadlock,   ///< spindle::run() is unwinding deadlocked tasks
  };

  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  CancelledError(Reason reason, std::string message, std::string requested_by, SourceLocation where)
      : message_(std::move(message)),
        requested_by_(std::move(requested_by)),
        where_(where),
        reason_(reason) {}

  /// The message passed to Task::cancel(msg) (or describing the timeout/failure), or empty.
  const std::string& message() const noexcept { return message_; }
  /// Why the task was cancelled.
  Reason reason() const noexcept { return reason_; }
  /// The name of the task that requested it; empty if it came from outside any task
  /// (a loop callback, a timer, run()).
  const std::string& requested_by() const noexcept { return requested_by_; }
  /// Where: the cancel() call, the opening of the expired timeout scope, or the waiting call.
  SourceLocation where() const noexcept { return where_; }
  /// A one-line description: reason, requester, site and message.
  const char* what() const noexcept;

 private:
  std::string message_;
  std::string requested_by_;
  SourceLocation where_;
  Reason reason_ = Reason::Requested;
  mutable std::string what_;
};

/// Several exceptions at once: the failures of a TaskGroup's tasks (and of its body), in the
/// order they happened. asyncio: ExceptionGroup / BaseExceptionGroup
class SPINDLE_API ExceptionGroup : public std::exception {
 public:
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);
  /// The exceptions, in order.
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }
  /// The message and every exception's text.
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::vector<std::exception_ptr> exceptions_;
  std::string what_;
};

/// A deadline expired (wait_for, with_timeout). asyncio: TimeoutError
class SPINDLE_API TimeoutError : public std::runtime_error {
 public:
  explicit TimeoutError(const std::string& what = "operation timed out")
      : std::runtime_error(what) {}
};

/// An operation was called in a state that does not allow it, e.g. Task::result() before the
/// task is done. asyncio: asyncio.InvalidStateError
class SPINDLE_API InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A Barrier was aborted or reset while (or before) a task waited on it.
/// asyncio: asyncio.BrokenBarrierError
class SPINDLE_API BrokenBarrierError : public std::runtime_error {
 public:
  BrokenBarrierError() : std::runtime_error("the barrier is broken") {}
};

/// get_nowait() on an empty queue. asyncio: asyncio.QueueEmpty
class SPINDLE_API QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("the queue is empty") {}
};

/// put_nowait() on a full queue. asyncio: asyncio.QueueFull
class SPINDLE_API QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("the queue is full") {}
};

/// put() or get() on a queue that was shut down (get: once it is empty).
/// asyncio: asyncio.QueueShutDown (Python 3.13)
class SPINDLE_API QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("the queue was shut down") {}
};

/// put() on a closed Channel, or get() on one that is closed and empty.
class SPINDLE_API ChannelClosed : public std::runtime_error {
 public:
  ChannelClosed() : std::runtime_error("the channel is closed") {}
};

/// The stream ended before the expected number of bytes (or the separator) arrived.
/// asyncio: asyncio.IncompleteReadError
class SPINDLE_API IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial, std::size_t expected)
      : std::runtime_error("stream ended after " + std::to_string(partial.size()) + " of " +
                           (expected ? std::to_string(expected) : std::string("?")) + " bytes"),
        partial_(std::move(partial)),
        expected_(expected) {}
  /// The bytes read before the end (they are consumed).
  const std::string& partial() const noexcept { return partial_; }
  /// How many bytes were expected (0 when reading up to a separator).
  std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

/// read_until() found no separator within the stream's limit.
/// asyncio: asyncio.LimitOverrunError
class SPINDLE_API LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& what, std::size_t consumed)
      : std::runtime_error(what), consumed_(consumed) {}
  /// How many bytes are buffered (none consumed: they stay for the next read).
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// run() found every task parked with nothing that could ever wake one (no timer, no I/O,
/// no cross-thread work). The message lists the parked tasks and where they wait.
class SPINDLE_API DeadlockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace spindle
