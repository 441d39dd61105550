// spindle::pg against a real PostgreSQL server started by tests/db_servers.py (SPINDLE_PG):
// parameters and results, errors, prepared statements, pipelines, transactions, cancellation
// on the server, LISTEN/NOTIFY, the pool, a connection lost mid-query.
#include <spindle/io/socket.hpp>
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>
#include <spindle_test.hpp>

#include "pg_env.hpp"

#include <fcntl.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = spindle::pg;

namespace {

using pg_env::conninfo;

/// The SQLSTATE of the pg::Error fn throws; fails the test if it throws none.
template <class F>
std::string sqlstate_of(F fn) {
  try {
    fn();
  } catch (const pg::Error& e) {
    return e.sqlstate();
  }
  BOOST_FAIL("a pg::Error was expected");
  return {};
}

std::string value(const pg::Result& r, std::size_t row = 0, std::size_t col = 0) {
  auto v = r.get(row, col);
  BOOST_TEST_REQUIRE(v.has_value());
  return *v;
}

double seconds_since(spindle::Clock::time_point t0) {
  return std::chrono::duration<double>(spindle::Loop::current().time() - t0).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_client)

SPINDLE_REALTIME_TEST_CASE(typed_parameters_and_nulls_round_trip) {
  auto conn = pg::connect(conninfo());
  std::optional<int> none;
  auto r = conn.query("SELECT $1::int + 1 AS n, $2::text AS t, $3::text AS nothing, $4::float8 AS d, "
                      "$5::bool AS b, $6::int AS also_null, $7::bigint AS big",
                      41, std::string("it's \"quoted\""), std::nullopt, 2.5, true, none,
                      std::int64_t{1} << 40);
  BOOST_TEST(r.size() == 1u);
  BOOST_TEST(r.columns() == 7u);
  BOOST_TEST(value(r, 0, 0) == "42");
  BOOST_TEST(*r.get(0, "t") == "it's \"quoted\"");
  BOOST_TEST(!r.get(0, "nothing").has_value());
  BOOST_TEST(*r.get(0, "d") == "2.5");
  BOOST_TEST(*r.get(0, "b") == "t");
  BOOST_TEST(!r.get(0, "also_null").has_value());
  BOOST_TEST(*r.get(0, "big") == "1099511627776");
  BOOST_TEST(r.column_name(1) == "t");
  BOOST_TEST(r.column("b") == 4u);
  BOOST_CHECK_THROW(r.column("missing"), std::out_of_range);
  BOOST_CHECK_THROW(r.get(1, 0), std::out_of_range);
  BOOST_CHECK_THROW(r.get(0, 7), std::out_of_range);
  BOOST_TEST(r.command() == "SELECT 1");

  // Text parameters travel as they are: no quoting, no injection.
  auto evil = conn.query("SELECT $1::text", "'); DROP TABLE x; --");
  BOOST_TEST(value(evil) == "'); DROP TABLE x; --");
  // Without parameters, several statements: the last one's rows.
  BOOST_TEST(value(conn.query("SELECT 1; SELECT 2")) == "2");
}

SPINDLE_REALTIME_TEST_CASE(large_values_and_results_arrive_whole) {
  // Many socket reads per result: libpq's buffer fills and the task parks again in between.
  auto conn = pg::connect(conninfo());
  const std::string big(3 * 1024 * 1024, 'x');
  auto echo = conn.query("SELECT $1::text AS v, length($1::text) AS n", big);
  BOOST_TEST(*echo.get(0, "n") == std::to_string(big.size()));
  BOOST_TEST(*echo.get(0, "v") == big);
  auto rows = conn.query("SELECT i, md5(i::text) FROM generate_series(1, 200000) AS i");
  BOOST_TEST(rows.size() == 200000u);
  BOOST_TEST(*rows.get(199999, 0) == "200000");
  BOOST_TEST(rows.get(0, 1)->size() == 32u);
}

SPINDLE_REALTIME_TEST_CASE(affected_rows_and_command_tags) {
  auto conn = pg::connect(conninfo());
  conn.query("CREATE TEMP TABLE items (id int PRIMARY KEY, name text)");
  auto ins = conn.query("INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, NULL)");
  BOOST_TEST(ins.affected() == 3u);
  BOOST_TEST(ins.command() == "INSERT 0 3");
  BOOST_TEST(ins.empty());
  auto upd = conn.query("UPDATE items SET name = $1 WHERE id >= $2", "z", 2);
  BOOST_TEST(upd.affected() == 2u);
  auto sel = conn.query("SELECT id, name FROM items ORDER BY id");
  BOOST_TEST(sel.size() == 3u);
  BOOST_TEST(sel.affected() == 3u);
  BOOST_TEST(*sel.get(2, "name") == "z");
  BOOST_TEST(conn.query("DELETE FROM items WHERE id = 99").affected() == 0u);
}

SPINDLE_REALTIME_TEST_CASE(server_errors_carry_sqlstate_and_leave_the_connection_usable) {
  auto conn = pg::connect(conninfo());
  BOOST_TEST(sqlstate_of([&] { conn.query("SELEC 1"); }) == "42601");
  BOOST_TEST(sqlstate_of([&] { conn.query("SELECT 1/0"); }) == "22012");
  BOOST_TEST(sqlstate_of([&] { conn.query("SELECT $1::int", "not a number"); }) == "22P02");
  BOOST_TEST(sqlstate_of([&] { conn.query("SELECT $1::int", 1, 2); }) == "08P01");
  conn.query("CREATE TEMP TABLE u (k int PRIMARY KEY)");
  conn.query("INSERT INTO u VALUES (1)");
  try {
    conn.query("INSERT INTO u VALUES ($1)", 1);
    BOOST_FAIL("duplicate key accepted");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "23505");
    BOOST_TEST(std::string(e.what()).find("duplicate key") != std::string::npos, e.what());
  }
  BOOST_TEST(conn.is_idle());
  BOOST_TEST(value(conn.query("SELECT count(*) FROM u")) == "1");
}

SPINDLE_REALTIME_TEST_CASE(copy_is_refused_and_the_connection_goes_on) {
  auto conn = pg::connect(conninfo());
  BOOST_TEST(sqlstate_of([&] { conn.query("COPY (SELECT i FROM generate_series(1, 50000) i) TO STDOUT"); }) ==
             "0A000");
  BOOST_TEST(conn.is_idle());
  conn.query("CREATE TEMP TABLE c (x int)");
  BOOST_TEST(sqlstate_of([&] { conn.query("COPY c FROM STDIN"); }) == "57014");
  BOOST_TEST(conn.is_idle());
  BOOST_TEST(value(conn.query("SELECT count(*) FROM c")) == "0");
}

SPINDLE_REALTIME_TEST_CASE(prepared_statements) {
  auto conn = pg::connect(conninfo());
  conn.prepare("add", "SELECT $1::int + $2::int");
  for (int i = 0; i < 10; ++i) BOOST_TEST(value(conn.execute("add", i, 100)) == std::to_string(i + 100));
  BOOST_TEST(sqlstate_of([&] { conn.execute("missing", 1); }) == "26000");
  BOOST_TEST(sqlstate_of([&] { conn.prepare("add", "SELECT 1"); }) == "42P05");  // already exists
  BOOST_TEST(value(conn.execute("add", 1, 1)) == "2");
}

SPINDLE_REALTIME_TEST_CASE(a_pipeline_sends_its_statements_together_and_returns_results_in_order) {
  auto conn = pg::connect(conninfo());
  conn.query("CREATE TEMP TABLE piped (n int)");
  conn.prepare("double_it", "SELECT $1::int * 2");
  const auto results = conn.pipeline([](pg::Pipeline& p) {
    p.query("SELECT $1::int + 1", 41).query("INSERT INTO piped VALUES ($1), ($2)", 1, 2);
    p.execute("double_it", 21).query("SELECT count(*) FROM piped");
  });
  BOOST_REQUIRE(results.size() == 4u);
  BOOST_TEST(value(results[0]) == "42");
  BOOST_TEST(results[1].affected() == 2u);
  BOOST_TEST(value(results[2]) == "42");
  BOOST_TEST(value(results[3]) == "2");
  BOOST_TEST(conn.pipeline([](pg::Pipeline&) {}).empty());
  BOOST_TEST(value(conn.query("SELECT 'after'")) == "after");  // out of pipeline mode again
}

SPINDLE_REALTIME_TEST_CASE(a_failing_pipeline_statement_skips_the_rest_and_undoes_the_pipeline) {
  auto conn = pg::connect(conninfo());
  conn.query("CREATE TEMP TABLE piped (n int PRIMARY KEY)");
  try {
    conn.pipeline([](pg::Pipeline& p) {
      p.query("INSERT INTO piped VALUES (1)").query("INSERT INTO piped VALUES (1)");
      p.query("INSERT INTO piped VALUES (2)").query("SELECT 1");
    });
    BOOST_ERROR("no error");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "23505");
    BOOST_TEST(std::string(e.what()).find("pipeline statement 2 of 4: duplicate key") !=
               std::string::npos, e.what());
  }
  // One implicit transaction: the first insert was undone, the third never ran.
  BOOST_TEST(value(conn.query("SELECT count(*) FROM piped")) == "0");
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_pipeline_is_drained_and_the_connection_goes_on) {
  auto conn = pg::connect(conninfo());
  const auto t0 = spindle::Loop::current().time();
  BOOST_CHECK_THROW(spindle::with_timeout(200ms, [&] {
                      conn.pipeline([](pg::Pipeline& p) {
                        p.query("SELECT 1").query("SELECT pg_sleep(30)").query("SELECT 3");
                      });
                    }),
                    spindle::TimeoutError);
  BOOST_TEST(seconds_since(t0) < 10.0);  // cancelled on the server, not waited out
  BOOST_TEST(conn.is_open());
  BOOST_TEST(value(conn.query("SELECT 'usable'")) == "usable");
  const auto again = conn.pipeline([](pg::Pipeline& p) { p.query("SELECT 5"); });
  BOOST_TEST(value(again.at(0)) == "5");
}

SPINDLE_REALTIME_TEST_CASE(transactions_commit_roll_back_and_nest) {
  auto conn = pg::connect(conninfo());
  conn.query("CREATE TEMP TABLE t (v int)");
  const int got = conn.transaction([](pg::Connection& c) {
    c.query("INSERT INTO t VALUES (1)");
    return 7;
  });
  BOOST_TEST(got == 7);
  BOOST_CHECK_THROW(conn.transaction([](pg::Connection& c) {
    c.query("INSERT INTO t VALUES (2)");
    throw std::runtime_error("changed my mind");
  }),
                    std::runtime_error);
  BOOST_TEST(conn.is_idle());
  // An inner failure rolls back to its savepoint only.
  conn.transaction([](pg::Connection& c) {
    c.query("INSERT INTO t VALUES (3)");
    try {
      c.transaction([](pg::Connection& c2) {
        c2.query("INSERT INTO t VALUES (4)");
        c2.query("SELECT 1/0");
      });
    } catch (const pg::Error& e) {
      BOOST_TEST(e.sqlstate() == "22012");
    }
    c.query("INSERT INTO t VALUES (5)");
  });
  BOOST_TEST(conn.is_idle());
  auto r = conn.query("SELECT string_agg(v::text, ',' ORDER BY v) FROM t");
  BOOST_TEST(value(r) == "1,3,5");
}

SPINDLE_REALTIME_TEST_CASE(a_timeout_cancels_the_statement_on_the_server) {
  auto conn = pg::connect(conninfo());
  const auto pid = value(conn.query("SELECT pg_backend_pid()"));
  const auto t0 = spindle::Loop::current().time();
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { conn.query("SELECT pg_sleep(10)"); }),
                    spindle::TimeoutError);
  // Cancelled on the server, drained, and ready at once: far sooner than the 10 s sleep.
  BOOST_TEST(seconds_since(t0) < 5.0);
  BOOST_TEST(conn.is_idle());
  BOOST_TEST(value(conn.query("SELECT 41 + 1")) == "42");
  BOOST_TEST(seconds_since(t0) < 5.0);
  // Same backend: the connection was kept, not replaced.
  BOOST_TEST(value(conn.query("SELECT pg_backend_pid()")) == pid);
  // Cancelled between the results of two statements: the first one's result is freed (the
  // sanitizer builds check), the connection goes on.
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { conn.query("SELECT 1; SELECT pg_sleep(10)"); }),
                    spindle::TimeoutError);
  BOOST_TEST(value(conn.query("SELECT 7")) == "7");
  BOOST_TEST(seconds_since(t0) < 8.0);
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_transaction_rolls_back) {
  auto conn = pg::connect(conninfo());
  conn.query("CREATE TABLE IF NOT EXISTS cancelled_tx (v int)");
  conn.query("TRUNCATE cancelled_tx");
  spindle::Event inside;
  auto t = spindle::spawn([&] {
    conn.transaction([&](pg::Connection& c) {
      c.query("INSERT INTO cancelled_tx VALUES (1)");
      inside.set();
      c.query("SELECT pg_sleep(10)");
    });
  });
  inside.wait();
  spindle::sleep(50ms);
  t.cancel();
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  BOOST_TEST(conn.is_idle());
  auto other = pg::connect(conninfo());
  BOOST_TEST(value(other.query("SELECT count(*) FROM cancelled_tx")) == "0");
  other.query("DROP TABLE cancelled_tx");
}

SPINDLE_REALTIME_TEST_CASE(listen_and_notify) {
  auto listener = pg::connect(conninfo());
  auto sender = pg::connect(conninfo());
  listener.query("LISTEN jobs");
  BOOST_TEST(!listener.wait_notification(50ms).has_value());
  const auto sender_pid = std::stoi(value(sender.query("SELECT pg_backend_pid()")));
  auto waiter = spindle::spawn([&] { return listener.wait_notification(); });
  spindle::sleep(20ms);
  sender.query("SELECT pg_notify($1, $2)", "jobs", "job 1");
  const auto n = waiter.join();
  BOOST_TEST(n.channel == "jobs");
  BOOST_TEST(n.payload == "job 1");
  BOOST_TEST(n.sender_pid == sender_pid);
  // Notifications that arrive during other statements are kept for later.
  sender.query("NOTIFY jobs, 'job 2'");
  sender.query("NOTIFY other, 'ignored'");
  listener.query("SELECT pg_sleep(0.1)");
  auto n2 = listener.wait_notification(5s);
  BOOST_TEST_REQUIRE(n2.has_value());
  BOOST_TEST(n2->payload == "job 2");
  BOOST_TEST(!listener.wait_notification(50ms).has_value());
}

SPINDLE_REALTIME_TEST_CASE(the_pool_lends_at_most_size_connections) {
  pg::Pool pool(conninfo(), 3);
  BOOST_TEST(pool.idle() == 0u);
  int in_flight = 0, most = 0;
  std::set<std::string> pids;
  std::vector<spindle::Task<void>> tasks;
  for (int i = 0; i < 20; ++i) {
    tasks.push_back(spindle::spawn([&] {
      auto conn = pool.acquire();
      most = std::max(most, ++in_flight);
      pids.insert(value(conn->query("SELECT pg_backend_pid() FROM pg_sleep(0.02)")));
      --in_flight;
    }));
  }
  for (auto& t : tasks) t.join();
  BOOST_TEST(most == 3);
  BOOST_TEST(pids.size() == 3u);
  BOOST_TEST(pool.idle() == 3u);
  BOOST_TEST(value(pool.query("SELECT $1::int * 2", 21)) == "42");
  BOOST_CHECK_THROW(pg::Pool("", 0), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(a_lost_connection_fails_its_query_and_the_pool_replaces_it) {
  pg::Pool pool(conninfo(), 1);
  auto admin = pg::connect(conninfo());
  std::string first_pid;
  {
    auto conn = pool.acquire();
    first_pid = value(conn->query("SELECT pg_backend_pid()"));
    auto killer = spindle::spawn([&] {
      spindle::sleep(100ms);
      admin.query("SELECT pg_terminate_backend($1::int)", first_pid);
    });
    BOOST_CHECK_THROW(conn->query("SELECT pg_sleep(10)"), pg::Error);
    killer.join();
    BOOST_TEST(!conn->is_open());
    BOOST_CHECK_THROW(conn->query("SELECT 1"), std::logic_error);
  }
  auto conn = pool.acquire();
  const auto second_pid = value(conn->query("SELECT pg_backend_pid()"));
  BOOST_TEST(second_pid != first_pid);
}

SPINDLE_REALTIME_TEST_CASE(connection_failures_are_errors) {
  BOOST_TEST(sqlstate_of([] { pg::connect("host=/nonexistent-dir port=1 dbname=x"); }) == "08001");
  BOOST_TEST(sqlstate_of([] { pg::connect("no_such_option=1"); }) == "08001");
  BOOST_TEST(sqlstate_of([] { pg::connect(conninfo() + " dbname=no_such_db"); }) == "08001");
  pg::Connection closed;
  BOOST_CHECK_THROW(closed.query("SELECT 1"), std::logic_error);
  auto conn = pg::connect(conninfo());
  // A second task on a busy connection is told so, and the first one's statement goes on.
  auto first = spindle::spawn([&] { return *conn.query("SELECT 'first' FROM pg_sleep(0.1)").get(0, 0); });
  spindle::sleep(20ms);
  BOOST_CHECK_THROW(conn.query("SELECT 2"), std::logic_error);
  BOOST_TEST(first.join() == "first");
  conn.close();
  BOOST_TEST(!conn.is_open());
  BOOST_CHECK_THROW(conn.query("SELECT 1"), std::logic_error);
}

SPINDLE_REALTIME_TEST_CASE(sockets_are_close_on_exec_and_closed_once) {
  const int before = spindle_test::open_fds();
  for (int i = 0; i < 20; ++i) {
    auto conn = pg::connect(conninfo());
    const int fd = PQsocket(conn.native_handle());
    BOOST_TEST((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    if (i % 2) BOOST_CHECK_THROW(spindle::with_timeout(5ms, [&] { conn.query("SELECT pg_sleep(1)"); }),
                                 spindle::TimeoutError);
  }
  BOOST_TEST(spindle_test::open_fds() == before);
}

SPINDLE_REALTIME_TEST_CASE(many_connections_run_concurrently) {
  // 40 connections each sleeping 0.2 s on the server: concurrent, so far less than 8 s.
  const auto t0 = spindle::Loop::current().time();
  std::vector<spindle::Task<std::string>> tasks;
  for (int i = 0; i < 40; ++i) {
    tasks.push_back(spindle::spawn([i] {
      auto conn = pg::connect(conninfo());
      return *conn.query("SELECT $1::int FROM pg_sleep(0.2)", i).get(0, 0);
    }));
  }
  for (int i = 0; i < 40; ++i) BOOST_TEST(tasks[static_cast<std::size_t>(i)].join() == std::to_string(i));
  BOOST_TEST(seconds_since(t0) < 4.0);
}

namespace {

/// SPINDLE_PG_TCP ("host=127.0.0.1 port=N user=... dbname=...") with host and port replaced.
std::string tcp_conninfo(const std::string& host, const std::string& port) {
  const char* c = std::getenv("SPINDLE_PG_TCP");
  if (!c) BOOST_FAIL("SPINDLE_PG_TCP is not set: run this test through tests/db_servers.py --pg");
  std::string out;
  std::istringstream in(c);
  for (std::string field; in >> field;) {
    if (field.starts_with("host=")) field = "host=" + host;
    if (field.starts_with("port=")) field = "port=" + port;
    out += field + " ";
  }
  return out;
}

std::string tcp_port() {
  const char* p = std::getenv("SPINDLE_PG_PORT");
  if (!p) BOOST_FAIL("SPINDLE_PG_PORT is not set: run this test through tests/db_servers.py --pg");
  return p;
}

/// A port on 127.0.0.1 where nothing listens.
std::string closed_port() {
  auto s = spindle::io::Socket::tcp();
  s.bind(spindle::io::Address::ip("127.0.0.1", 0));
  return std::to_string(s.local_address().port());  // (closed as s goes)
}

}  // namespace

SPINDLE_REALTIME_TEST_CASE(host_names_are_looked_up_off_the_loop_and_every_host_is_tried) {
  const std::string port = tcp_port();
  // A name: resolved here, each of its addresses tried (localhost may be ::1 first, where the
  // server does not listen).
  auto by_name = pg::connect(tcp_conninfo("localhost", port));
  BOOST_TEST(by_name.query_value<std::string>("SELECT host(inet_server_addr())") == "127.0.0.1");
  // A list: the first host refuses, the second serves.
  auto listed = pg::connect(tcp_conninfo("127.0.0.1,localhost", closed_port() + "," + port));
  BOOST_TEST(listed.query_value<int>("SELECT 1") == 1);
  // A name that does not resolve is skipped; when none resolves, the error names them.
  auto skipped = pg::connect(tcp_conninfo("no-such-host.invalid,localhost", port + "," + port));
  BOOST_TEST(skipped.query_value<int>("SELECT 1") == 1);
  try {
    pg::connect(tcp_conninfo("no-such-host.invalid", port));
    BOOST_FAIL("connected to a host that does not exist");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "08001");
    BOOST_TEST(std::string(e.what()).find("no-such-host.invalid") != std::string::npos);
  }
  // The URI form goes through the same way.
  auto uri = pg::connect("postgresql://spindle@localhost:" + port + "/postgres");
  BOOST_TEST(uri.query_value<int>("SELECT 2") == 2);
}

SPINDLE_REALTIME_TEST_CASE(connect_timeout_is_enforced_without_blocking_the_loop) {
  // A server that takes the connection and never answers the startup message.
  auto mute = spindle::io::Socket::tcp();
  mute.bind(spindle::io::Address::ip("127.0.0.1", 0));
  mute.listen();
  const std::string port = std::to_string(mute.local_address().port());
  int ticks = 0;
  auto ticker = spindle::spawn([&] {
    for (;;) {
      spindle::sleep(100ms);
      ++ticks;
    }
  });
  const auto t0 = spindle::Loop::current().time();
  try {
    pg::connect(tcp_conninfo("127.0.0.1", port) + " connect_timeout=1");  // (libpq: at least 2)
    BOOST_FAIL("connected to a server that never answers");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "08001");
    BOOST_TEST(std::string(e.what()).find("timeout expired") != std::string::npos);
  }
  const double waited = seconds_since(t0);
  BOOST_TEST(waited >= 1.9);
  BOOST_TEST(waited < 30.0);
  BOOST_TEST(ticks >= 5);  // the loop ran on meanwhile
  ticker.cancel();
}

SPINDLE_REALTIME_TEST_CASE(an_unanswered_cancel_request_does_not_hold_the_task_past_the_cleanup_bound) {
  // A proxy in front of the server: the first connection is forwarded, later ones (libpq's
  // cancel requests) are taken and held unanswered, so PQcancel blocks in its read.
  using spindle::io::Stream;
  const int port = std::stoi(tcp_port());
  int seen = 0;
  spindle::Event release;
  auto pump = [](Stream& from, Stream& to) {
    try {
      for (std::string b = from.read(); !b.empty(); b = from.read()) to.write(b);
      to.write_eof();
    } catch (const std::system_error&) {
    }
  };
  auto proxy = spindle::io::start_server([&](Stream& client) {
    if (++seen > 1) {
      release.wait();
      return;
    }
    Stream server = spindle::io::open_connection("127.0.0.1", static_cast<std::uint16_t>(port));
    spindle::task_group([&](spindle::TaskGroup& g) {
      g.spawn([&] { pump(client, server); });
      g.spawn([&] { pump(server, client); });
    });
  }, "127.0.0.1", 0);
  auto conn = pg::connect(tcp_conninfo("127.0.0.1", std::to_string(proxy.port())));
  const std::string pid = value(conn.query("SELECT pg_backend_pid()"));
  const auto t0 = spindle::Loop::current().time();
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { conn.query("SELECT pg_sleep(60)"); }),
                    spindle::TimeoutError);
  // The cancel never reached the server, so the statement could not be drained: past the
  // cleanup bound (10 s) the connection was given up, however long PQcancel blocks.
  const double waited = seconds_since(t0);
  BOOST_TEST(waited > 5.0);
  BOOST_TEST(waited < 30.0);
  BOOST_TEST(seen == 2);
  BOOST_TEST(!conn.is_open());
  release.set();  // PQcancel returns; its task ends
  auto other = pg::connect(conninfo());
  other.query("SELECT pg_terminate_backend($1::int)", pid);
  proxy.close();
}

SPINDLE_REALTIME_TEST_CASE(tls_with_sslmode_verifies_the_server) {
  // db_servers.py --tls: the server takes TLS with a certificate for localhost signed by a
  // test CA (SPINDLE_TLS_CA).
  const char* ca = std::getenv("SPINDLE_TLS_CA");
  BOOST_TEST_REQUIRE(ca != nullptr, "run through tests/db_servers.py --pg --tls");
  const std::string port = tcp_port();
  const auto on_tls = [](pg::Connection& c) {
    return c.query_value<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  };
  // verify-full: the chain checked against the CA and the name against the certificate,
  // though the name was looked up by spindle and handed to libpq as hostaddr.
  int ticks = 0;
  auto ticker = spindle::spawn([&] {
    for (;;) {
      spindle::sleep(1ms);
      ++ticks;
    }
  });
  auto verified = pg::connect(tcp_conninfo("localhost", port) + " sslmode=verify-full sslrootcert=" + ca);
  ticker.cancel();
  BOOST_TEST(on_tls(verified));
  BOOST_TEST(verified.query_value<std::string>("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                 .starts_with("TLSv1."));
  BOOST_TEST(ticks >= 1);  // the handshake parked; the loop ran
  // require: encrypted, nothing verified; disable: in the clear.
  auto required = pg::connect(tcp_conninfo("127.0.0.1", port) + " sslmode=require");
  BOOST_TEST(on_tls(required));
  auto clear = pg::connect(tcp_conninfo("127.0.0.1", port) + " sslmode=disable");
  BOOST_TEST(!on_tls(clear));
  // A name the certificate does not carry, and a CA that did not sign it: refused, saying why.
  try {
    pg::connect("host=other.example hostaddr=127.0.0.1 port=" + port +
                " user=spindle dbname=postgres sslmode=verify-full sslrootcert=" + ca);
    BOOST_FAIL("a certificate for another name was accepted");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "08001");
    BOOST_TEST(std::string(e.what()).find("does not match host name") != std::string::npos);
  }
  const std::string certs = std::string(ca).substr(0, std::string(ca).rfind('/'));
  try {
    pg::connect(tcp_conninfo("localhost", port) + " sslmode=verify-ca sslrootcert=" + certs +
                "/server.crt");
    BOOST_FAIL("a server certificate was accepted as its own CA");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "08001");
    BOOST_TEST(std::string(e.what()).find("certificate verify failed") != std::string::npos);
  }
}

// Run on its own (test_pg_slow_dns: tests/slow_dns.py answers *.spindle.test after a delay,
// in a mount namespace whose resolv.conf names only it); disabled in the plain run.
static void slow_lookup_body() {
  const char* delay_text = std::getenv("SPINDLE_SLOW_DNS");
  BOOST_TEST_REQUIRE(delay_text != nullptr, "run through tests/slow_dns.py");
  const double delay = std::stod(delay_text);
  auto busy = pg::connect(conninfo());
  // While one task waits for the name, the loop runs: a ticker and another task's queries.
  long ticks = 0, queries = 0;
  bool connected = false;
  auto ticker = spindle::spawn([&] {
    while (!connected) {
      spindle::sleep(5ms);
      ++ticks;
    }
  });
  auto querier = spindle::spawn([&] {
    while (!connected) {
      busy.query_value<int>("SELECT 1");
      ++queries;
    }
  });
  const auto t0 = spindle::Loop::current().time();
  auto slow = pg::connect(tcp_conninfo("db.spindle.test", tcp_port()));
  const double waited = seconds_since(t0);
  connected = true;
  ticker.join();
  querier.join();
  BOOST_TEST(slow.query_value<std::string>("SELECT host(inet_server_addr())") == "127.0.0.1");
  BOOST_TEST(waited >= delay * 0.9);  // the lookup did wait for the slow server
  BOOST_TEST(waited < delay + 30.0);
  // A stalled loop would tick at most a handful of times; it ticked throughout.
  BOOST_TEST(ticks >= static_cast<long>(delay / 0.005 / 4));
  BOOST_TEST(queries >= 20);
}

BOOST_AUTO_TEST_CASE(a_name_that_resolves_slowly_does_not_stall_other_tasks,
                     *boost::unit_test::disabled()) {
  spindle_test::run_checked(&slow_lookup_body);
}

BOOST_AUTO_TEST_SUITE_END()
