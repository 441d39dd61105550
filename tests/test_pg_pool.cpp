// pg::Pool's options against a real PostgreSQL server (SPINDLE_PG, from tests/db_servers.py):
// the reset between leases, setup, transactions left open, lifetime, idle time, the health
// check, close().
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>
#include <spindle_test.hpp>

#include "pg_env.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = spindle::pg;

namespace {

using pg_env::conninfo;

/// The connection string with an application_name that tells this test's connections apart.
std::string tagged(const std::string& name) { return conninfo() + " application_name=" + name; }

int pid(pg::Pool::Lease& c) { return c->query_value<int>("SELECT pg_backend_pid()"); }

/// How many server processes serve connections named `name`.
int backends(pg::Connection& admin, const std::string& name) {
  return admin.query_value<int>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_pool)

SPINDLE_REALTIME_TEST_CASE(what_a_lease_does_to_the_session_does_not_reach_the_next) {
  pg::Pool pool(conninfo(), 1);
  int first = 0;
  {
    auto c = pool.acquire();
    first = pid(c);
    c->query("SET statement_timeout = '7s'");
    c->query("CREATE TEMP TABLE scratch (x int)");
    c->prepare("mine", "SELECT 1");
    c->query("LISTEN somewhere");
  }
  auto c = pool.acquire();
  BOOST_TEST(pid(c) == first);  // the same server process,
  BOOST_TEST(c->query_value<std::string>("SHOW statement_timeout") == "0");  // reset
  BOOST_TEST(!c->query_value<std::optional<std::string>>("SELECT to_regclass('pg_temp.scratch')::text"));
  BOOST_TEST(c->query_value<int>("SELECT count(*) FROM pg_prepared_statements") == 0);
  BOOST_TEST(c->query_value<int>("SELECT count(*) FROM pg_listening_channels()") == 0);
}

SPINDLE_REALTIME_TEST_CASE(a_setting_changed_through_a_function_needs_reset_always) {
  for (const bool always : {false, true}) {
    pg::Pool pool(conninfo(), pg::PoolOptions{.size = 1, .reset_always = always});
    {
      auto c = pool.acquire();
      c->query("SELECT set_config('statement_timeout', '7s', false)");  // a SELECT, by its tag
      BOOST_TEST(!c->session_changed());
    }
    auto c = pool.acquire();
    BOOST_TEST(c->query_value<std::string>("SHOW statement_timeout") == (always ? "0" : "7s"));
  }
}

SPINDLE_REALTIME_TEST_CASE(without_a_reset_the_session_carries_over) {
  pg::Pool pool(conninfo(), pg::PoolOptions{.size = 1, .reset = ""});
  {
    auto c = pool.acquire();
    c->query("SET statement_timeout = '7s'");
  }
  auto c = pool.acquire();
  BOOST_TEST(c->query_value<std::string>("SHOW statement_timeout") == "7s");
}

SPINDLE_REALTIME_TEST_CASE(setup_prepares_every_lease) {
  int calls = 0;
  pg::Pool pool(conninfo(), pg::PoolOptions{.size = 2, .setup = [&](pg::Connection& c) {
                                              ++calls;
                                              c.query("SET application_name = 'set-up'");
                                              c.prepare("double", "SELECT $1::int * 2");
                                            }});
  for (int i = 0; i < 3; ++i) {
    auto c = pool.acquire();
    BOOST_TEST(c->query_value<std::string>("SHOW application_name") == "set-up");
    BOOST_TEST(c->execute("double", 21).get<int>(0, 0) == 42);
    BOOST_TEST(c->query_value<int>("SELECT $1::int + 1", i) == i + 1);  // (reads leave it as it was)
  }
  BOOST_TEST(calls == 1);  // one connection, whose leases left the session as setup made it
  {
    auto c = pool.acquire();
    c->query("CREATE TEMP TABLE t (x int)");
    c->query("SET application_name = 'changed'");
  }
  auto c = pool.acquire();  // reset, then set up again
  BOOST_TEST(calls == 2);
  BOOST_TEST(c->query_value<std::string>("SHOW application_name") == "set-up");
  BOOST_TEST(c->execute("double", 4).get<int>(0, 0) == 8);
  BOOST_TEST(!c->query_value<std::optional<std::string>>("SELECT to_regclass('pg_temp.t')::text"));
  // A setup that throws fails the acquire, and lends nothing.
  pg::Pool failing(conninfo(), pg::PoolOptions{.size = 1, .setup = [](pg::Connection& c) {
                                                 c.query("SELECT no_such_function()");
                                               }});
  BOOST_CHECK_THROW(failing.acquire(), pg::Error);
  BOOST_TEST(failing.lent() == 0u);
  BOOST_CHECK_THROW(failing.acquire(), pg::Error);  // (the permit came back)
}

SPINDLE_REALTIME_TEST_CASE(a_transaction_left_open_is_closed_with_its_locks) {
  pg::Pool pool(conninfo(), 1);
  auto admin = pg::connect(conninfo());
  admin.query("CREATE TABLE IF NOT EXISTS pool_locks (id int PRIMARY KEY)");
  admin.query("INSERT INTO pool_locks VALUES (1) ON CONFLICT DO NOTHING");
  int first = 0;
  {
    auto c = pool.acquire();
    first = pid(c);
    c->query("BEGIN");
    c->query("SELECT * FROM pool_locks WHERE id = 1 FOR UPDATE");
  }  // back inside the transaction
  BOOST_TEST(pool.idle() == 0u);
  // The lock went with it: another connection takes it at once.
  admin.query("SET lock_timeout = '2s'");
  BOOST_TEST(admin.query("SELECT * FROM pool_locks WHERE id = 1 FOR UPDATE").size() == 1u);
  auto c = pool.acquire();
  BOOST_TEST(pid(c) != first);
  BOOST_TEST(c->is_idle());
  admin.query("DROP TABLE pool_locks");
}

SPINDLE_REALTIME_TEST_CASE(connections_retire_after_their_lifetime) {
  constexpr auto kLifetime = 500ms;
  pg::Pool pool(conninfo(), pg::PoolOptions{.size = 1, .max_lifetime = kLifetime});
  const auto t0 = spindle::Loop::current().time();
  int first = 0;
  {
    auto c = pool.acquire();
    first = pid(c);
  }
  {
    auto c = pool.acquire();
    const int again = pid(c);
    if (spindle::Loop::current().time() - t0 < kLifetime) BOOST_TEST(again == first);  // young
  }
  spindle::sleep(kLifetime + 100ms);
  auto c = pool.acquire();
  BOOST_TEST(pid(c) != first);
}

SPINDLE_REALTIME_TEST_CASE(idle_connections_close_on_a_timer) {
  const std::string name = "spindle-idle-test";
  pg::Pool pool(tagged(name), pg::PoolOptions{.size = 3, .max_idle = 300ms});
  auto admin = pg::connect(conninfo());
  {
    std::vector<spindle::Task<void>> users;
    for (int i = 0; i < 3; ++i) {
      users.push_back(spindle::spawn([&] {
        auto c = pool.acquire();
        c->query("SELECT pg_sleep(0.05)");
      }));
    }
    for (auto& t : users) t.join();
  }
  BOOST_TEST(pool.idle() == 3u);  // (no yield since they came back: the timer has not run)
  // Nobody uses the pool again; the timer closes them all, on the server too.
  for (int i = 0; i < 200 && backends(admin, name) > 0; ++i) spindle::sleep(50ms);
  BOOST_TEST(pool.idle() == 0u);
  BOOST_TEST(backends(admin, name) == 0);
  auto c = pool.acquire();  // and the pool makes new ones when needed
  BOOST_TEST(c->query_value<int>("SELECT 1") == 1);
  BOOST_TEST(backends(admin, name) == 1);
}

SPINDLE_REALTIME_TEST_CASE(a_connection_that_died_while_idle_is_replaced_unseen) {
  auto admin = pg::connect(conninfo());
  for (const std::string reset : {"DISCARD ALL", ""}) {
    BOOST_TEST_CONTEXT("reset \"" << reset << "\"") {
      pg::Pool pool(conninfo(), pg::PoolOptions{.size = 1, .reset = reset, .check_after = 0s});
      int first = 0;
      {
        auto c = pool.acquire();
        first = pid(c);
      }
      BOOST_TEST(admin.query_value<bool>("SELECT pg_terminate_backend($1)", first));
      for (int i = 0; i < 100 && admin.query_value<int>("SELECT count(*) FROM pg_stat_activity "
                                                        "WHERE pid = $1", first) > 0; ++i) {
        spindle::sleep(20ms);
      }
      auto c = pool.acquire();  // checked, found dead, replaced
      BOOST_TEST(pid(c) != first);
    }
  }
}

SPINDLE_REALTIME_TEST_CASE(close_waits_for_the_leases_and_turns_acquirers_away) {
  pg::Pool pool(conninfo(), 1);
  std::vector<std::string> order;
  spindle::Event lent, go;
  auto holder = spindle::spawn([&] {
    auto c = pool.acquire();
    lent.set();
    go.wait();
    c->query("SELECT 1");
    order.push_back("holder done");
  });
  lent.wait();
  auto waiter = spindle::spawn([&] {  // parks for the one connection
    try {
      pool.acquire();
      order.push_back("waiter got one");
    } catch (const std::logic_error&) {
      order.push_back("waiter turned away");
    }
  });
  auto closer = spindle::spawn([&] {  // parks until the lease comes back
    pool.close();
    order.push_back("closed");
  });
  spindle::sleep(10ms);  // (both have run up to where they park)
  BOOST_TEST(order.empty());
  BOOST_TEST(pool.lent() == 1u);
  BOOST_CHECK_THROW(pool.acquire(), std::logic_error);  // closing already
  go.set();
  for (auto* t : {&holder, &waiter, &closer}) t->join();
  // close() returned after the lease came back; the waiter, woken by that return, was turned
  // away (before or after close() returned: both wake at once).
  BOOST_TEST_REQUIRE(order.size() == 3u);
  BOOST_TEST(order[0] == "holder done");
  BOOST_TEST((std::count(order.begin(), order.end(), "closed") == 1));
  BOOST_TEST((std::count(order.begin(), order.end(), "waiter turned away") == 1));
  BOOST_TEST(pool.lent() == 0u);
  BOOST_TEST(pool.idle() == 0u);
  BOOST_CHECK_THROW(pool.acquire(), std::logic_error);
  pool.close();  // idempotent
}

BOOST_AUTO_TEST_SUITE_END()
