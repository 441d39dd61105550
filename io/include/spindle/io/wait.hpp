// Readiness waits for file descriptors spindle does not own.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <chrono>

namespace spindle::io {

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

}  // namespace spindle::io
