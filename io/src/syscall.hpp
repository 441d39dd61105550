// The one errno -> exception helper for io/ (STYLE.md): std::system_error with the
// generic category and the name of the call that failed.
#pragma once

#include <cerrno>
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

/// Retries f() while it fails with EINTR; returns its result.
template <class F>
auto retry_eintr(F f) {
  for (;;) {
    auto r = f();
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace spindle::io::detail
