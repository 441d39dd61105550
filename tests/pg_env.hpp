// What the PostgreSQL suites share: the server tests/db_servers.py --pg started for them.
#pragma once

#include <spindle_test.hpp>

#include <cstdlib>
#include <string>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPINDLE_PG_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPINDLE_PG_TEST_SANITIZED 1
#endif
#endif

namespace pg_env {

/// True in AddressSanitizer and ThreadSanitizer builds: ten times slower, and freed memory
/// held in ASan's quarantine, so resident memory says nothing about a leak or a buffer.
#if defined(SPINDLE_PG_TEST_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

/// SPINDLE_PG, the libpq connection string of the test server (its Unix socket).
inline std::string conninfo() {
  const char* c = std::getenv("SPINDLE_PG");
  if (!c) BOOST_FAIL("SPINDLE_PG is not set: run this test through tests/db_servers.py --pg");
  return c;
}

}  // namespace pg_env
