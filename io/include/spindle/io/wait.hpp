// Readiness waits for file descriptors spindle does not own.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <chrono>
#include <memory>

namespace spindle::io {

namespace detail {
struct FdWatch;
}

/// Parks the current task until `fd` (any non-blocking fd, e.g. from libpq, hiredis or curl)
/// is readable, or has an error or hang-up to report. The escape hatch that lets any
/// non-blocking C library run in a task. Each wait registers the fd with the loop's epoll
/// and unregisters it afterwards (two epoll_ctl calls); spindle's own sockets avoid that.
/// Cancellation: the wait ends, nothing else happens. Throws: CancelledError;
/// std::system_error (e.g. EBADF); std::logic_error outside a task.
/// asyncio: loop.add_reader()
SPINDLE_API void wait_readable(int fd, SourceLocation where = SourceLocation::current());
/// As wait_readable(fd) for writability.
SPINDLE_API void wait_writable(int fd, SourceLocation where = SourceLocation::current());

/// As wait_readable(fd), giving up after `timeout`: returns false then.
SPINDLE_API bool wait_readable(int fd, Clock::duration timeout,
                               SourceLocation where = SourceLocation::current());
/// As wait_writable(fd), giving up after `timeout`: returns false then.
SPINDLE_API bool wait_writable(int fd, Clock::duration timeout,
                               SourceLocation where = SourceLocation::current());

/// A lasting registration of an fd spindle does not own (a C library's socket), for a task
/// that waits on it again and again: a direction stays armed while waits on it follow one
/// another (disarmed only when it reports with nobody waiting), so a request-answer loop
/// costs no epoll_ctl per wait, where wait_readable(fd) costs two. Level-triggered like wait_readable(fd): a wait returns at once if the fd is
/// ready now. Registered with the running loop at the first wait. Destroy it (or close() it)
/// before the fd is closed. One task waits on it at a time. Cancellation: the wait ends,
/// nothing else happens. Throws: CancelledError; std::system_error (e.g. EBADF);
/// std::logic_error if another task waits on it, or it belongs to another loop.
class SPINDLE_API FdWaiter {
 public:
  /// A waiter for `fd` (not registered yet).
  explicit FdWaiter(int fd) noexcept;
  FdWaiter(FdWaiter&&) noexcept;
  FdWaiter& operator=(FdWaiter&&) noexcept;
  ~FdWaiter();
  /// Parks until the fd is readable (or has an error or hang-up to report).
  void wait_readable(SourceLocation where = SourceLocation::current());
  /// Parks until the fd is writable.
  void wait_writable(SourceLocation where = SourceLocation::current());
  /// As wait_readable(), giving up after `timeout`: returns false then.
  bool wait_readable(Clock::duration timeout, SourceLocation where = SourceLocation::current());
  /// As wait_writable(), giving up after `timeout`: returns false then.
  bool wait_writable(Clock::duration timeout, SourceLocation where = SourceLocation::current());
  /// Parks until the fd is readable or writable, whichever comes first (what libpq asks for
  /// while its output is blocked: read what the server sends, write when there is room).
  void wait_either(SourceLocation where = SourceLocation::current());
  /// As wait_either(), giving up after `timeout`: returns false then.
  bool wait_either(Clock::duration timeout, SourceLocation where = SourceLocation::current());
  /// Unregisters the fd (waking a parked task with std::system_error(ECANCELED)); the fd
  /// itself stays open. Idempotent.
  void close() noexcept;
  /// The fd waited on.
  int fd() const noexcept { return fd_; }

 private:
  bool wait(int interest, const Clock::time_point* deadline, const char* what,
            SourceLocation where);  // interest: 0 read, 1 write, 2 either
  int fd_;
  int dup_ = -1;  // our own dup of fd_ when a Socket of ours holds fd_'s registration
  std::unique_ptr<detail::FdWatch> watch_;
};

}  // namespace spindle::io
