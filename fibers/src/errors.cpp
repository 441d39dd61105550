// Out-of-line parts of the exception types, and the assertion reporter.
#include <cstdio>
#include <cstdlib>
#include <spindle/errors.hpp>

namespace spindle {

const char* CancelledError::what() const noexcept {
  if (!what_.empty()) return what_.c_str();
  try {
    std::string w = "task cancelled";
    const std::string site =
        where_.line() ? std::string(where_.file_name()) + ":" + std::to_string(where_.line())
                      : std::string();
    const std::string by = requested_by_.empty() ? "" : " by " + requested_by_;
    switch (reason_) {
      case Reason::Requested:
        if (!by.empty() || !site.empty()) w += by + (site.empty() ? "" : " at " + site);
        break;
      case Reason::Timeout:
        w += ": timeout scope opened at " + site + " expired";
        break;
      case Reason::TaskGroup:
        w += ": " + requested_by_ + " failed in the same TaskGroup";
        break;
      case Reason::Forwarded:
        w += by + ", which was waiting on it" + (site.empty() ? "" : " at " + site) +
             ", was cancelled";
        break;
      case Reason::Shutdown:
      case Reason::Deadlock:
        break;
    }
    if (!message_.empty()) w += ": " + message_;
    what_ = std::move(w);
  } catch (...) {
    return "task cancelled";
  }
  return what_.c_str();
}

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : exceptions_(std::move(exceptions)), what_(std::move(message)) {
  what_ += " (" + std::to_string(exceptions_.size()) +
           (exceptions_.size() == 1 ? " sub-exception)" : " sub-exceptions)");
  for (const auto& e : exceptions_) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what_ += std::string("; ") + x.what();
    } catch (const CancelledError& x) {
      what_ += std::string("; ") + x.what();
    } catch (...) {
      what_ += "; unknown exception";
    }
  }
}

namespace detail {
void assert_fail(const char* cond, const char* msg, const char* file, int line) noexcept {
  std::fprintf(stderr, "spindle: internal assertion failed at %s:%d: %s (%s)\n", file, line, msg,
               cond);
  std::abort();
}
}  // namespace detail

}  // namespace spindle
