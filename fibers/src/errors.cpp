// Out-of-line parts of the exception types, and the assertion reporter.
#include <spindle/errors.hpp>

#include <cstdio>
#include <cstdlib>

namespace spindle {

const char* CancelledError::what() const noexcept {
  if (what_.empty()) {
    what_ = message_.empty() ? "task cancelled" : "task cancelled: " + message_;
  }
  return what_.c_str();
}

namespace detail {
void assert_fail(const char* cond, const char* msg, const char* file, int line) noexcept {
  std::fprintf(stderr, "spindle: internal assertion failed at %s:%d: %s (%s)\n", file, line, msg,
               cond);
  std::abort();
}
}  // namespace detail

}  // namespace spindle
