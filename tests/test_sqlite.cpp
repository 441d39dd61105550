// spindle::sqlite: typed parameters, results, errors with SQLite's codes, transactions, files,
// statements interrupted by cancellation, and the loop running on while a statement works.
#include <spindle/spindle.hpp>
#include <spindle/sqlite.hpp>
#include <spindle_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace sqlite = spindle::sqlite;

namespace {

/// The code of the sqlite::Error fn throws; fails the test if it throws none.
template <class F>
int code_of(F fn) {
  try {
    fn();
  } catch (const sqlite::Error& e) {
    return e.code();
  }
  BOOST_FAIL("a sqlite::Error was expected");
  return 0;
}

double seconds_since(spindle::Clock::time_point t0) {
  return std::chrono::duration<double>(spindle::Loop::current().time() - t0).count();
}

// A statement that runs for minutes unless interrupted.
constexpr const char* kForever =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) "
    "SELECT count(*) FROM c";

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_client)

SPINDLE_REALTIME_TEST_CASE(typed_parameters_rows_and_changes) {
  auto db = sqlite::open(":memory:");
  db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, d REAL, s TEXT, b INTEGER)");
  auto ins = db.query("INSERT INTO t (n, d, s, b) VALUES (?, ?, ?, ?)", 42, 2.5, "it's", true);
  BOOST_TEST(ins.affected() == 1u);
  BOOST_TEST(ins.last_insert_rowid() == 1);
  db.query("INSERT INTO t (n, d, s, b) VALUES (?1, ?2, ?3, ?4)", std::nullopt, -0.125,
           std::string("x\0y", 3), false);
  auto r = db.query("SELECT id, n, d, s, b FROM t ORDER BY id");
  BOOST_TEST(r.size() == 2u);
  BOOST_TEST(r.columns() == 5u);
  BOOST_TEST(r.column_name(3) == "s");
  BOOST_TEST(*r.get(0, "n") == "42");
  BOOST_TEST(*r.get(0, "d") == "2.5");
  BOOST_TEST(*r.get(0, "s") == "it's");
  BOOST_TEST(*r.get(0, "b") == "1");
  BOOST_TEST(!r.get(1, "n").has_value());
  BOOST_TEST(*r.get(1, "d") == "-0.125");
  BOOST_TEST(*r.get(1, "s") == std::string("x\0y", 3));
  BOOST_TEST(*r.get(1, "b") == "0");
  BOOST_TEST(r.affected() == 0u);
  BOOST_CHECK_THROW(r.get(2, 0), std::out_of_range);
  BOOST_CHECK_THROW(r.column("nope"), std::out_of_range);
  BOOST_TEST(db.query("UPDATE t SET n = :n WHERE id >= :id", 7, 1).affected() == 2u);
  // Several statements without parameters: the last one's rows.
  auto last = db.query("CREATE TABLE u (v); INSERT INTO u VALUES (1), (2); SELECT sum(v) AS s FROM u");
  BOOST_TEST(*last.get(0, "s") == "3");
}

SPINDLE_REALTIME_TEST_CASE(errors_carry_sqlites_codes) {
  auto db = sqlite::open(":memory:");
  BOOST_TEST(code_of([&] { db.query("SELEC 1"); }) == SQLITE_ERROR);
  db.query("CREATE TABLE k (v INTEGER UNIQUE)");
  db.query("INSERT INTO k VALUES (?)", 1);
  BOOST_TEST(code_of([&] { db.query("INSERT INTO k VALUES (?)", 1); }) == SQLITE_CONSTRAINT_UNIQUE);
  BOOST_TEST(code_of([&] { db.query("SELECT ?, ?", 1); }) == SQLITE_RANGE);
  BOOST_TEST(code_of([&] { db.query("SELECT ?; SELECT 2", 1); }) == SQLITE_MISUSE);
  BOOST_TEST(code_of([] { sqlite::open("/nonexistent-dir/x.db"); }) == SQLITE_CANTOPEN);
  try {
    sqlite::open("/nonexistent-dir/x.db");
  } catch (const sqlite::Error& e) {
    BOOST_TEST(std::string(e.what()).find("/nonexistent-dir/x.db") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(db.query("SELECT ?", ~std::uint64_t{0}), std::out_of_range);
  BOOST_TEST(*db.query("SELECT ?", std::uint64_t{INT64_MAX}).get(0, 0) == "9223372036854775807");
  sqlite::Database closed;
  BOOST_CHECK_THROW(closed.query("SELECT 1"), std::logic_error);
  BOOST_TEST(*db.query("SELECT count(*) FROM k").get(0, 0) == "1");
}

SPINDLE_REALTIME_TEST_CASE(transactions_and_files) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("spindle-sqlite-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto db = sqlite::open(path.string());
    db.query("CREATE TABLE t (v)");
    const int got = db.transaction([](sqlite::Database& d) {
      d.query("INSERT INTO t VALUES (1)");
      return 5;
    });
    BOOST_TEST(got == 5);
    BOOST_CHECK_THROW(db.transaction([](sqlite::Database& d) {
      d.query("INSERT INTO t VALUES (2)");
      throw std::runtime_error("no");
    }),
                      std::runtime_error);
    // Cancelled inside the transaction: rolled back.
    auto t = spindle::spawn([&] {
      db.transaction([](sqlite::Database& d) {
        d.query("INSERT INTO t VALUES (3)");
        spindle::sleep(10s);
      });
    });
    spindle::sleep(100ms);
    t.cancel();
    BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  }
  auto again = sqlite::open(path.string());
  BOOST_TEST(*again.query("SELECT group_concat(v) FROM t").get(0, 0) == "1");
  again.close();
  std::filesystem::remove(path);
}

SPINDLE_REALTIME_TEST_CASE(cancellation_interrupts_a_running_statement) {
  auto db = sqlite::open(":memory:");
  const auto t0 = spindle::Loop::current().time();
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { db.query(kForever); }), spindle::TimeoutError);
  // The next statement waits for the interrupted one: it would wait minutes if the
  // interrupt had not stopped it.
  BOOST_TEST(*db.query("SELECT 6 * 7").get(0, 0) == "42");
  BOOST_TEST(seconds_since(t0) < 5.0);
}

SPINDLE_REALTIME_TEST_CASE(the_loop_runs_while_statements_work) {
  auto db = sqlite::open(":memory:");
  int ticks = 0;
  auto ticker = spindle::spawn([&] {
    for (;;) {
      spindle::sleep(5ms);
      ++ticks;
    }
  });
  db.query(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
      "SELECT count(*) FROM c");
  ticker.cancel();
  BOOST_CHECK_THROW(ticker.join(), spindle::CancelledError);
  BOOST_TEST(ticks > 0);
  // Tasks sharing the database take turns; every insert lands.
  db.query("CREATE TABLE n (v)");
  std::vector<spindle::Task<void>> tasks;
  for (int i = 0; i < 20; ++i) {
    tasks.push_back(spindle::spawn([&, i] { db.query("INSERT INTO n VALUES (?)", i); }));
  }
  for (auto& t : tasks) t.join();
  BOOST_TEST(*db.query("SELECT count(*), sum(v) FROM n").get(0, 1) == "190");
}

BOOST_AUTO_TEST_SUITE_END()
