// spindle::sqlite: typed parameters, results, errors with SQLite's codes, transactions, files,
// statements interrupted by cancellation, and the loop running on while a statement works.
#include <spindle/db/json.hpp>
#include <spindle/spindle.hpp>
#include <spindle/sqlite.hpp>
#include <spindle_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <boost/describe.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
namespace sqlite = spindle::sqlite;
namespace db = spindle::db;

namespace notes {
struct Note {
  std::int64_t id = 0;
  std::string text;
  std::optional<double> score;
  spindle::db::Bytes attachment;
  std::chrono::system_clock::time_point at;
  std::chrono::sys_days day;
};
BOOST_DESCRIBE_STRUCT(Note, (), (id, text, score, attachment, at, day))
}  // namespace notes

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

using spindle_test::resident_bytes;

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

SPINDLE_REALTIME_TEST_CASE(closing_runs_on_the_thread_pool_not_the_loop) {
  // A function's destroy callback runs inside sqlite3_close_v2: it says which thread closed.
  std::thread::id closed_on;
  auto record = [](void* p) { *static_cast<std::thread::id*>(p) = std::this_thread::get_id(); };
  auto noop = [](sqlite3_context* c, int, sqlite3_value**) { sqlite3_result_null(c); };
  for (const bool by_destructor : {false, true}) {
    closed_on = {};
    {
      auto db = sqlite::open(":memory:");
      BOOST_TEST_REQUIRE(sqlite3_create_function_v2(db.native_handle(), "noop", 0, SQLITE_UTF8,
                                                    &closed_on, noop, nullptr, nullptr,
                                                    record) == SQLITE_OK);
      BOOST_TEST(closed_on == std::thread::id());  // (not yet)
      if (!by_destructor) db.close();
    }
    BOOST_TEST(closed_on != std::thread::id());
    BOOST_TEST((closed_on != std::this_thread::get_id()), "closed on the loop's thread");
  }
}

SPINDLE_REALTIME_TEST_CASE(typed_values_structs_and_conversion_errors) {
  using namespace std::chrono;
  auto db = sqlite::open(":memory:");
  db.query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, score REAL, "
           "attachment BLOB NOT NULL, at TEXT NOT NULL, day TEXT NOT NULL)");
  db::Bytes blob;
  for (int i = 0; i < 256; ++i) blob.push_back(static_cast<std::byte>(i));  // zeros included
  const system_clock::time_point at = sys_days(2024y / March / 1) + 9h + 30min + 15s + 250us;
  const sys_days day = sys_days(1999y / December / 31);
  db.query("INSERT INTO notes (text, score, attachment, at, day) VALUES (?, ?, ?, ?, ?)",
           "first", 1.0 / 3, blob, at, day);
  db.query("INSERT INTO notes (text, score, attachment, at, day) VALUES (?, ?, ?, ?, ?)",
           "second", std::nullopt, db::Bytes{}, at + 1h, day + days(1));
  // SQLite's own functions read the time and date text.
  BOOST_TEST(db.query_value<std::string>("SELECT datetime(at) FROM notes WHERE id = 1") ==
             "2024-03-01 09:30:15");
  BOOST_TEST(db.query_value<int>("SELECT length(attachment) FROM notes WHERE id = 1") == 256);
  BOOST_TEST(db.query_value<std::string>("SELECT typeof(attachment) FROM notes WHERE id = 1") == "blob");

  const auto all = db.query_as<notes::Note>("SELECT * FROM notes ORDER BY id");
  BOOST_TEST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[0].id == 1);
  BOOST_TEST(*all[0].score == 1.0 / 3);  // every digit kept
  BOOST_TEST((all[0].attachment == blob));
  BOOST_TEST((all[0].at == at));
  BOOST_TEST((all[0].day == day));
  BOOST_TEST(!all[1].score.has_value());
  BOOST_TEST(all[1].attachment.empty());
  BOOST_TEST((all[1].day == day + days(1)));
  // CURRENT_TIMESTAMP's form (UTC, no offset) reads too.
  const auto now = db.query_value<system_clock::time_point>("SELECT CURRENT_TIMESTAMP");
  BOOST_TEST(std::chrono::abs(now - system_clock::now()) < 1h);

  using L = std::numeric_limits<std::int64_t>;
  BOOST_TEST(db.query_value<std::int64_t>("SELECT ?", L::min()) == L::min());
  BOOST_TEST(db.query_value<bool>("SELECT ?", true));
  BOOST_TEST(db.query_value<double>("SELECT ?", 0.1) == 0.1);
  for (auto row : db.query("SELECT id, text FROM notes ORDER BY id")) {
    BOOST_TEST(row.get<std::string>("text") == (row.index() == 0 ? "first" : "second"));
  }
  const auto [id, text] = db.query_one<std::tuple<int, std::string>>("SELECT id, text FROM notes WHERE id = 2");
  BOOST_TEST(id == 2);
  BOOST_TEST(text == "second");
  BOOST_CHECK_THROW(db.query_one<notes::Note>("SELECT * FROM notes WHERE id = 3"), db::NoRowsError);

  try {
    db.query("SELECT text FROM notes WHERE id = 1").get<int>(0, 0);
    BOOST_FAIL("text read as an integer");
  } catch (const db::ConversionError& e) {
    BOOST_TEST(e.column() == "text");
    BOOST_TEST(e.db_type() == "TEXT");
    BOOST_TEST(e.cpp_type() == "int32");
    BOOST_TEST(std::string(e.what()) == "sqlite: column \"text\" (TEXT) as int32: \"first\" is not an integer");
  }
  try {
    db.query_value<std::int8_t>("SELECT 300 AS big");
    BOOST_FAIL("300 read as an int8");
  } catch (const db::ConversionError& e) {
    BOOST_TEST(e.db_type() == "expression");
  }
}

SPINDLE_REALTIME_TEST_CASE(executemany_prepares_once_and_undoes_a_failing_batch) {
  auto db = sqlite::open(":memory:");
  db.query("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, b BLOB)");
  std::vector<std::tuple<int, std::string, db::Bytes>> rows;
  for (int i = 0; i < 1000; ++i) rows.emplace_back(i, std::string("v").append(std::to_string(i)), db::Bytes(static_cast<std::size_t>(i % 7), std::byte{1}));
  BOOST_TEST(db.executemany("INSERT INTO kv VALUES (?, ?, ?) -- one statement, a comment", rows) == 1000u);
  BOOST_TEST(db.query_value<int>("SELECT count(*) FROM kv") == 1000);
  BOOST_TEST(db.query_value<int>("SELECT length(b) FROM kv WHERE k = 13") == 6);
  BOOST_TEST(db.executemany("UPDATE kv SET v = 'x' WHERE k = ?", std::vector<int>{1, 2, 5000}) == 2u);
  // Row 2 of 3 breaks the key: nothing of the batch stays, and the row is named.
  try {
    db.executemany("INSERT INTO kv (k, v) VALUES (?, ?)",
                   std::vector<std::pair<int, std::string>>{{2000, "a"}, {1, "dup"}, {2001, "b"}});
    BOOST_FAIL("a duplicate key went in");
  } catch (const sqlite::Error& e) {
    BOOST_TEST(e.code() == SQLITE_CONSTRAINT_PRIMARYKEY);
    BOOST_TEST(std::string(e.what()).find("executemany row 2 of 3") != std::string::npos);
  }
  BOOST_TEST(db.query_value<int>("SELECT count(*) FROM kv WHERE k >= 2000") == 0);
  // Inside a transaction the batch is part of it.
  db.transaction([](sqlite::Database& t) {
    t.executemany("DELETE FROM kv WHERE k = ?", std::vector<int>{0, 1});
    t.query("ROLLBACK");
    t.query("BEGIN");
  });
  BOOST_TEST(db.query_value<int>("SELECT count(*) FROM kv") == 1000);
  BOOST_TEST(code_of([&] { db.executemany("SELECT 1; SELECT 2", std::vector<int>{1}); }) == SQLITE_MISUSE);
  BOOST_TEST(code_of([&] { db.executemany("INSERT INTO kv (k) VALUES (?)",
                                          std::vector<std::pair<int, int>>{{1, 2}}); }) == SQLITE_RANGE);
}

SPINDLE_REALTIME_TEST_CASE(a_transaction_holds_the_database_for_its_task) {
  auto db = sqlite::open(":memory:");
  db.query("CREATE TABLE t (v INTEGER)");
  spindle::Event inside, go;
  std::vector<std::string> order;
  auto a = spindle::spawn([&] {
    try {
      db.transaction([&](sqlite::Database& d) {
        d.query("INSERT INTO t VALUES (1)");
        inside.set();
        go.wait();  // parked inside the transaction; B asks meanwhile
        order.push_back("a rolls back");
        throw std::runtime_error("changed my mind");
      });
    } catch (const std::runtime_error&) {
    }
  });
  auto b = spindle::spawn([&] {
    inside.wait();
    db.query("INSERT INTO t VALUES (2)");  // waits for A's transaction to end
    order.push_back("b inserted");
    BOOST_TEST(db.query_value<int>("SELECT count(*) FROM t") == 1);
  });
  spindle::sleep(50ms);  // (B is parked by now, waiting)
  BOOST_TEST(order.empty());
  go.set();
  a.join();
  b.join();
  BOOST_TEST((order == std::vector<std::string>{"a rolls back", "b inserted"}));
  // B's row did not land inside A's transaction, which took only its own with it.
  BOOST_TEST((db.query_as<int>("SELECT v FROM t") == std::vector<int>{2}));
  // Transactions of two tasks take turns; one inside another of the same task is refused.
  std::vector<int> seen;
  auto one = spindle::spawn([&] { db.transaction([&](sqlite::Database& d) { d.query("INSERT INTO t VALUES (3)"); spindle::sleep(20ms); seen.push_back(d.query_value<int>("SELECT count(*) FROM t")); }); });
  auto two = spindle::spawn([&] { db.transaction([&](sqlite::Database& d) { d.query("INSERT INTO t VALUES (4)"); seen.push_back(d.query_value<int>("SELECT count(*) FROM t")); }); });
  one.join();
  two.join();
  BOOST_TEST((seen == std::vector<int>{2, 3}));
  BOOST_CHECK_THROW(db.transaction([](sqlite::Database& d) { d.transaction([](sqlite::Database&) {}); }),
                    sqlite::Error);
  BOOST_TEST(db.query_value<int>("SELECT count(*) FROM t") == 3);
}

SPINDLE_REALTIME_TEST_CASE(streams_rows_in_bounded_memory_and_holds_the_database) {
  auto db = sqlite::open(":memory:");
  // 300,000 rows of 1 KiB (300 MiB in all) walked with resident memory growing far less.
  constexpr std::int64_t kRows = 300'000;
  const std::size_t before = resident_bytes();
  std::int64_t sum = 0, rows = 0;
  std::size_t peak = before;
  auto s = db.stream(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
      "SELECT x, printf('%.*c', 1024, 'x') AS pad FROM c",
      kRows);
  for (auto row : s) {
    sum += row.get<std::int64_t>("x");
    BOOST_TEST_REQUIRE(row.get<std::string>("pad").size() == 1024u);
    if (++rows % 10'000 == 0) peak = std::max(peak, resident_bytes());
  }
  BOOST_TEST(rows == kRows);
  BOOST_TEST(s.count() == static_cast<std::uint64_t>(kRows));
  BOOST_TEST(sum == kRows * (kRows + 1) / 2);
  if (!spindle_test::kSanitized) BOOST_TEST(peak - before < std::size_t{64} << 20);

  // While a stream is open, other tasks' statements wait; this task's own run between rows.
  db.query("CREATE TABLE t (v INTEGER)");
  db.executemany("INSERT INTO t VALUES (?)", std::vector<int>{1, 2, 3, 4, 5});
  std::vector<std::string> order;
  spindle::Task<void> other;
  {
    auto stream = db.stream("SELECT v FROM t ORDER BY v");
    other = spindle::spawn([&] {
      db.query("INSERT INTO t VALUES (6)");
      order.push_back("other inserted");
    });
    for (auto row : stream) {
      order.push_back("row " + std::to_string(row.get<int>(0)));
      BOOST_TEST(db.query_value<int>("SELECT count(*) FROM t") == 5);  // own statement
      spindle::sleep(1ms);  // (the other task gets its turns and still waits)
    }
  }
  other.join();
  BOOST_TEST((order == std::vector<std::string>{"row 1", "row 2", "row 3", "row 4", "row 5",
                                                "other inserted"}));

  // Leaving early lets the others in at once (the statement finalized).
  {
    auto early = db.stream("SELECT v FROM t ORDER BY v");
    auto it = early.begin();
    BOOST_TEST((*it).get<int>("v") == 1);
  }
  BOOST_TEST(db.query_value<int>("SELECT count(*) FROM t") == 6);

  // Rows as structs and tuples.
  std::vector<std::tuple<int, std::string>> pairs;
  for (auto row : db.stream("SELECT v, 'n' || v FROM t WHERE v <= 2 ORDER BY v")) {
    pairs.push_back(row.as<std::tuple<int, std::string>>());
  }
  BOOST_TEST((pairs == std::vector<std::tuple<int, std::string>>{{1, "n1"}, {2, "n2"}}));
}

SPINDLE_REALTIME_TEST_CASE(a_stream_reports_errors_after_its_rows_and_can_be_cancelled) {
  auto db = sqlite::open(":memory:");
  // Row 1000 overflows: the 999 before it arrive, then the error.
  auto s = db.stream(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
      "SELECT CASE WHEN x < 1000 THEN x ELSE abs(-9223372036854775807 - 1) END FROM c");
  std::int64_t seen = 0;
  try {
    for (auto row : s) {
      BOOST_TEST_REQUIRE(row.get<std::int64_t>(0) == seen + 1);
      ++seen;
    }
    BOOST_FAIL("the overflow was not reported");
  } catch (const sqlite::Error& e) {
    BOOST_TEST(std::string(e.what()).find("integer overflow") != std::string::npos);
  }
  BOOST_TEST(seen == 999);
  BOOST_TEST(!s.next());  // ended
  // More than one statement, or a bad one: refused before any row, the database free.
  BOOST_TEST(code_of([&] { db.stream("SELECT 1; SELECT 2"); }) == SQLITE_MISUSE);
  BOOST_TEST(code_of([&] { db.stream("SELECT nope FROM nowhere"); }) == SQLITE_ERROR);
  BOOST_TEST(code_of([&] { db.stream("SELECT ?", 1, 2); }) == SQLITE_RANGE);
  // A step that runs for minutes: cancelling the reader interrupts it.
  const auto t0 = spindle::Loop::current().time();
  auto reader = spindle::spawn([&] {
    auto forever = db.stream(kForever);
    BOOST_TEST(!forever.next());  // (never returns)
  });
  spindle::sleep(50ms);
  reader.cancel();
  BOOST_CHECK_THROW(reader.join(), spindle::CancelledError);
  BOOST_TEST(db.query_value<int>("SELECT 7") == 7);  // not held, not busy
  BOOST_TEST(seconds_since(t0) < 30.0);
  // JSON text reads as boost::json::value (include <spindle/db/json.hpp>).
  BOOST_TEST(db.query_value<boost::json::value>("SELECT json_object('a', 1, 'b', json_array(2))") ==
             boost::json::parse(R"({"a":1,"b":[2]})"));
  const boost::json::value doc = {{"k", "v"}};
  BOOST_TEST(db.query_value<std::string>("SELECT json_extract(?, '$.k')", doc) == "v");
}

BOOST_AUTO_TEST_SUITE_END()
