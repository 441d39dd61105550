// The one errno -> exception helper for io/ (STYLE.md): std::system_error with the
// generic category and the name of the call that failed.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <system_error>

namespace spindle::io::detail {

/// Throws std::system_error(errno, generic_category(), what).
[[noreturn]] inline void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}
[[noreturn]] inline void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

/// One non-blocking send on fd: send() with MSG_NOSIGNAL on a socket, write() on anything
/// else (a pipe: SIGPIPE is ignored once pipe() has been used). Returns what the call did.
inline ssize_t send_some(int fd, bool is_socket, const void* data, std::size_t size) {
  return is_socket ? ::send(fd, data, size, MSG_NOSIGNAL) : ::write(fd, data, size);
}

/// Sets SIGPIPE to ignored if it still has its default action, so that writing to a pipe
/// whose reader has gone is EPIPE rather than the end of the process (sockets need not: they
/// send with MSG_NOSIGNAL). A handler someone installed stays.
inline void ignore_sigpipe() noexcept {
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
}

/// Retries f() while it fails with EINTR; returns its result.
template <class F>
auto retry_eintr(F f) {
  for (;;) {
    auto r = f();
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace spindle::io::detail
