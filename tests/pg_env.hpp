// What the PostgreSQL suites share: the server tests/db_servers.py --pg started for them.
#pragma once

#include <spindle_test.hpp>

#include <cstdlib>
#include <string>

namespace pg_env {

using spindle_test::kSanitized;

/// SPINDLE_PG, the libpq connection string of the test server (its Unix socket).
inline std::string conninfo() {
  const char* c = std::getenv("SPINDLE_PG");
  if (!c) BOOST_FAIL("SPINDLE_PG is not set: run this test through tests/db_servers.py --pg");
  return c;
}

}  // namespace pg_env
