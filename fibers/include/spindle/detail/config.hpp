// Build configuration shared by every spindle header. Not API.
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20 (-std=c++20 or later)"
#endif

/// Marks declarations exported from the spindle shared library.
#define SPINDLE_API __attribute__((visibility("default")))

namespace spindle::detail {
/// Reports a broken internal invariant (message, task, site) and aborts. Never returns.
[[noreturn]] SPINDLE_API void assert_fail(const char* cond, const char* msg, const char* file,
                                          int line) noexcept;
}  // namespace spindle::detail

#if !defined(NDEBUG) || defined(SPINDLE_ENABLE_ASSERTS)
/// Checks an internal invariant in debug builds (or with -Dassertions=true).
#define SPINDLE_ASSERT(cond, msg)                                                \
  do {                                                                           \
    if (!(cond)) ::spindle::detail::assert_fail(#cond, msg, __FILE__, __LINE__); \
  } while (0)
#else
#define SPINDLE_ASSERT(cond, msg) \
  do {                            \
  } while (0)
#endif
