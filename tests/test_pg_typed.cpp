// spindle::pg's typed values against a real PostgreSQL server (SPINDLE_PG, from
// tests/db_servers.py): every type both ways at its limits, NULL, arrays, conversion errors
// that name column and types, rows as a range, structs and tuples, the query_* shortcuts.
#include <spindle/db/json.hpp>
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>
#include <spindle_test.hpp>

#include "pg_env.hpp"

#include <boost/describe.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
namespace pg = spindle::pg;
namespace db = spindle::db;
using std::chrono::system_clock;

namespace {

using pg_env::conninfo;

/// $1 sent as `cast`, read back as T.
template <class T, class P>
T round_trip(pg::Connection& c, const std::string& cast, const P& value) {
  return c.query_value<T>("SELECT $1::" + cast, value);
}

/// The ConversionError fn throws; fails the test if it throws none.
template <class F>
db::ConversionError conversion_error(F fn) {
  try {
    fn();
  } catch (const db::ConversionError& e) {
    return e;
  }
  BOOST_FAIL("a db::ConversionError was expected");
  throw std::logic_error("unreachable");
}

db::Bytes bytes(std::initializer_list<int> v) {
  db::Bytes out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

using spindle_test::resident_bytes;

}  // namespace

namespace shop {
struct Item {
  int id = 0;
  std::string name;
  std::optional<double> price;
  std::vector<std::string> tags;
  system_clock::time_point added;
};
BOOST_DESCRIBE_STRUCT(Item, (), (id, name, price, tags, added))

struct Event {
  int id = 0;
  boost::json::value payload;
  std::optional<boost::json::value> extra;
};
BOOST_DESCRIBE_STRUCT(Event, (), (id, payload, extra))

struct Wide {  // every type that has a binary form, and one (numeric) that has not
  std::int16_t small = 0;
  std::int64_t big = 0;
  std::uint32_t object = 0;
  float f4 = 0;
  double f8 = 0;
  bool yes = false;
  std::string label;
  std::string padded;
  std::string uuid;
  std::string count_text;
  db::Bytes blob;
  system_clock::time_point at;
  system_clock::time_point local;
  std::chrono::sys_days day;
  boost::json::value doc;
  std::string doc_text;
  std::vector<std::optional<int>> holes;
  std::vector<std::vector<std::int64_t>> grid;
  std::vector<std::string> words;
  std::optional<int> none;
};
BOOST_DESCRIBE_STRUCT(Wide, (), (small, big, object, f4, f8, yes, label, padded, uuid, count_text,
                                 blob, at, local, day, doc, doc_text, holes, grid, words, none))

struct Thin {
  int id = 0;
  std::string missing_column;
};
BOOST_DESCRIBE_STRUCT(Thin, (), (id, missing_column))
}  // namespace shop

BOOST_AUTO_TEST_SUITE(pg_typed)

SPINDLE_REALTIME_TEST_CASE(integers_at_their_limits_and_range_checked) {
  auto c = pg::connect(conninfo());
  using L16 = std::numeric_limits<std::int16_t>;
  using L32 = std::numeric_limits<std::int32_t>;
  using L64 = std::numeric_limits<std::int64_t>;
  BOOST_TEST(round_trip<std::int16_t>(c, "int2", L16::min()) == L16::min());
  BOOST_TEST(round_trip<std::int16_t>(c, "int2", L16::max()) == L16::max());
  BOOST_TEST(round_trip<std::int32_t>(c, "int4", L32::min()) == L32::min());
  BOOST_TEST(round_trip<std::int32_t>(c, "int4", L32::max()) == L32::max());
  BOOST_TEST(round_trip<std::int64_t>(c, "int8", L64::min()) == L64::min());
  BOOST_TEST(round_trip<std::int64_t>(c, "int8", L64::max()) == L64::max());
  BOOST_TEST(round_trip<std::uint32_t>(c, "int8", std::uint32_t{4'000'000'000}) == 4'000'000'000u);
  // Wider than the C++ type: an error naming column and both types, never a wrapped value.
  auto e = conversion_error([&] { c.query("SELECT 70000::int4 AS n").get<std::int16_t>(0, "n"); });
  BOOST_TEST(e.column() == "n");
  BOOST_TEST(e.db_type() == "int4");
  BOOST_TEST(e.cpp_type() == "int16");
  BOOST_TEST(std::string(e.what()).find("\"70000\" is out of its range") != std::string::npos);
  BOOST_CHECK_THROW(c.query_value<unsigned>("SELECT -1"), db::ConversionError);
  BOOST_CHECK_THROW(c.query_value<int>("SELECT 'twelve'::text"), db::ConversionError);
  BOOST_CHECK_THROW(c.query_value<int>("SELECT 1.5::numeric"), db::ConversionError);
  BOOST_CHECK_THROW(db::to_value(std::uint64_t{1} << 63), std::out_of_range);
}

SPINDLE_REALTIME_TEST_CASE(floating_point_booleans_and_text) {
  auto c = pg::connect(conninfo());
  using L = std::numeric_limits<double>;
  for (double d : {0.0, -0.0, 1.5, -2.25e-300, L::max(), L::lowest(), L::denorm_min(), 0.1}) {
    BOOST_TEST(round_trip<double>(c, "float8", d) == d);
  }
  BOOST_TEST(round_trip<double>(c, "float8", L::infinity()) == L::infinity());
  BOOST_TEST(round_trip<double>(c, "float8", -L::infinity()) == -L::infinity());
  BOOST_TEST(std::isnan(round_trip<double>(c, "float8", L::quiet_NaN())));
  BOOST_TEST(round_trip<float>(c, "float4", 3.25f) == 3.25f);
  BOOST_TEST(round_trip<bool>(c, "bool", true) == true);
  BOOST_TEST(round_trip<bool>(c, "bool", false) == false);
  const std::string unicode = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac";
  BOOST_TEST(round_trip<std::string>(c, "text", unicode) == unicode);
  BOOST_TEST(round_trip<std::string>(c, "text", std::string()).empty());
  BOOST_TEST(c.query_value<double>("SELECT 2.5::numeric") == 2.5);
  BOOST_TEST(c.query_value<std::int64_t>("SELECT 12345678901234::numeric") == 12345678901234);
  auto e = conversion_error([&] { c.query_value<bool>("SELECT 'yes'::text AS answer"); });
  BOOST_TEST(e.db_type() == "text");
  BOOST_TEST(e.cpp_type() == "bool");
}

SPINDLE_REALTIME_TEST_CASE(json_and_jsonb_columns_as_boost_json_values) {
  auto c = pg::connect(conninfo());
  const boost::json::value doc = {{"name", "caf\xc3\xa9"}, {"n", 3}, {"tags", {"a", "b"}},
                                  {"nested", {{"ok", true}, {"none", nullptr}}}};
  // Both ways, as json (text kept as sent) and jsonb (normalized): equal as values.
  BOOST_TEST(round_trip<boost::json::value>(c, "json", doc) == doc);
  BOOST_TEST(round_trip<boost::json::value>(c, "jsonb", doc) == doc);
  BOOST_TEST(round_trip<boost::json::value>(c, "jsonb", boost::json::value(nullptr)).is_null());
  BOOST_TEST(c.query_value<boost::json::value>("SELECT '[1, 2.5, \"x\"]'::jsonb") ==
             boost::json::parse("[1, 2.5, \"x\"]"));
  // jsonb operators see the parameter as JSON, not as a string.
  BOOST_TEST(c.query_value<std::string>("SELECT ($1::jsonb)->>'name'", doc) == "caf\xc3\xa9");
  c.query("CREATE TEMP TABLE events (id int, payload jsonb NOT NULL, extra json)");
  c.query("INSERT INTO events VALUES (1, $1, NULL), (2, '{}', '[true]')", doc);
  const auto events = c.query_as<shop::Event>("SELECT * FROM events ORDER BY id");
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[0].payload == doc);
  BOOST_TEST(!events[0].extra.has_value());  // SQL NULL, not JSON null
  BOOST_TEST(events[1].payload.as_object().empty());
  BOOST_TEST((*events[1].extra == boost::json::value{true}));
  const auto arr = c.query_value<std::vector<boost::json::value>>(
      "SELECT ARRAY['{\"a\": 1}'::jsonb, '2'::jsonb]");
  BOOST_TEST_REQUIRE(arr.size() == 2u);
  BOOST_TEST(arr[0].at("a") == 1);
  BOOST_TEST(arr[1] == 2);
  // Text that is not JSON: the one conversion error, naming both types.
  auto e = conversion_error([&] { c.query_value<boost::json::value>("SELECT '{oops'::text AS j"); });
  BOOST_TEST(e.column() == "j");
  BOOST_TEST(e.db_type() == "text");
  BOOST_TEST(e.cpp_type() == "boost::json::value");
  BOOST_TEST(std::string(e.what()).find("is not JSON") != std::string::npos);
}

SPINDLE_REALTIME_TEST_CASE(bytea_both_ways_with_every_byte_and_a_megabyte) {
  auto c = pg::connect(conninfo());
  db::Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  BOOST_TEST((round_trip<db::Bytes>(c, "bytea", all) == all));
  BOOST_TEST(round_trip<db::Bytes>(c, "bytea", db::Bytes{}).empty());
  BOOST_TEST((c.query_value<db::Bytes>("SELECT '\\x00ff10'::bytea") == bytes({0, 255, 16})));
  db::Bytes big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7 + i / 251);
  BOOST_TEST(c.query_value<int>("SELECT length($1::bytea)", big) == 1 << 20);
  BOOST_TEST((round_trip<db::Bytes>(c, "bytea", big) == big));
  // The server reads the parameter as the same bytes: its own digest agrees.
  BOOST_TEST(c.query_value<std::string>("SELECT md5($1::bytea)", all) ==
             c.query_value<std::string>("SELECT md5(decode(string_agg(lpad(to_hex(i), 2, '0'), '' "
                                        "ORDER BY i), 'hex')) FROM generate_series(0, 255) i"));
  BOOST_CHECK_THROW(c.query_value<db::Bytes>("SELECT 'x'::text"), db::ConversionError);
  // Bytes go in binary, typed bytea: no hex form, and an untyped parameter is bytea.
  BOOST_TEST(c.query_value<std::string>("SELECT pg_typeof($1)::text", all) == "bytea");
  BOOST_TEST(!c.query_value<bool>("SELECT $1::bytea IS NULL", db::Bytes{}));  // empty, not NULL
  BOOST_TEST(c.query_value<bool>("SELECT $1::bytea IS NULL", std::optional<db::Bytes>{}));
  // The same text with bytes and with text in a place: two cached statements, each right.
  const auto cached_before = c.statements_cached();
  BOOST_TEST(c.query_value<std::string>("SELECT $1::text, $2::int", bytes({0, 255}), 1) == "\\x00ff");
  BOOST_TEST(c.query_value<std::string>("SELECT $1::text, $2::int", "plain", 1) == "plain");
  BOOST_TEST(c.query_value<std::string>("SELECT $1::text, $2::int", bytes({1}), 1) == "\\x01");
  BOOST_TEST(c.statements_cached() == cached_before + 2);
  // Statements prepared without types (prepare/execute), pipelines and streams take bytes too.
  c.prepare("blen", "SELECT length($1::bytea)");
  BOOST_TEST(c.execute("blen", big).get<int>(0, 0) == 1 << 20);
  const auto results = c.pipeline([&](pg::Pipeline& p) {
    p.query("SELECT length($1::bytea)", all);
    p.execute("blen", all);
  });
  BOOST_TEST(results.at(0).get<int>(0, 0) == 256);
  BOOST_TEST(results.at(1).get<int>(0, 0) == 256);
  for (auto row : c.stream("SELECT $1::bytea AS b", all)) BOOST_TEST((row.get<db::Bytes>("b") == all));
}

SPINDLE_REALTIME_TEST_CASE(timestamps_and_dates_in_any_session_time_zone) {
  auto c = pg::connect(conninfo());
  using namespace std::chrono;
  const system_clock::time_point t =
      sys_days(2024y / February / 29) + 12h + 34min + 56s + 789012us;
  for (const char* zone : {"UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"}) {
    c.query(std::string("SET TimeZone = '") + zone + "'");
    BOOST_TEST_CONTEXT("TimeZone " << zone) {
      BOOST_TEST((round_trip<system_clock::time_point>(c, "timestamptz", t) == t));
      BOOST_TEST(c.query_value<bool>("SELECT $1::timestamptz = '2024-02-29 12:34:56.789012+00'", t));
      BOOST_TEST((c.query_value<system_clock::time_point>(
                      "SELECT '2024-02-29 18:04:56.789012+05:30'::timestamptz") == t));
    }
  }
  c.query("SET TimeZone = 'UTC'");
  // Before 1970, with a fraction; microseconds are what PostgreSQL keeps.
  const system_clock::time_point old = sys_days(1960y / January / 1) - 500ms;
  BOOST_TEST((round_trip<system_clock::time_point>(c, "timestamptz", old) == old));
  BOOST_TEST((round_trip<system_clock::time_point>(c, "timestamptz", t + 999ns) == t));
  // timestamp without time zone reads as UTC.
  BOOST_TEST((c.query_value<system_clock::time_point>("SELECT '2024-02-29 12:34:56.789012'::timestamp") == t));
  // infinity is the clock's max(), -infinity its min(), both ways.
  BOOST_TEST((c.query_value<system_clock::time_point>("SELECT 'infinity'::timestamptz") ==
              system_clock::time_point::max()));
  BOOST_TEST(c.query_value<std::string>("SELECT $1::timestamptz::text", system_clock::time_point::min()) ==
             "-infinity");
  // Outside the clock's nanosecond range (1678 to 2261): an error, not a wrapped time.
  auto e = conversion_error([&] { c.query_value<system_clock::time_point>("SELECT '3000-01-01'::timestamptz AS at"); });
  BOOST_TEST(e.db_type() == "timestamptz");
  BOOST_TEST(e.cpp_type() == "std::chrono::system_clock::time_point");

  for (const sys_days d : {sys_days(2024y / February / 29), sys_days(1970y / January / 1),
                           sys_days(1066y / October / 14), sys_days(year(-43) / March / 15),
                           sys_days(9999y / December / 31)}) {
    BOOST_TEST((round_trip<sys_days>(c, "date", d) == d));
  }
  BOOST_TEST(c.query_value<std::string>("SELECT $1::date::text", sys_days(year(-43) / March / 15)) ==
             "0044-03-15 BC");
  BOOST_TEST((c.query_value<sys_days>("SELECT '-infinity'::date") == sys_days::min()));
  BOOST_CHECK_THROW(c.query_value<sys_days>("SELECT 'soon'::text"), db::ConversionError);
}

SPINDLE_REALTIME_TEST_CASE(arrays_of_every_type_nested_empty_and_with_nulls) {
  auto c = pg::connect(conninfo());
  const std::vector<int> ints{1, -2, 2147483647};
  BOOST_TEST((round_trip<std::vector<int>>(c, "int4[]", ints) == ints));
  BOOST_TEST(round_trip<std::vector<int>>(c, "int4[]", std::vector<int>{}).empty());
  BOOST_TEST(c.query_value<int>("SELECT cardinality($1::int4[])", ints) == 3);
  const std::vector<std::string> awkward{"a b", "quote\"d", "back\\slash", "{braces}", "comma,",
                                         "NULL", "", " padded ", "\xc3\xa9"};
  BOOST_TEST((round_trip<std::vector<std::string>>(c, "text[]", awkward) == awkward));
  const std::vector<std::optional<std::string>> holes{"x", std::nullopt, "NULL"};
  BOOST_TEST((round_trip<std::vector<std::optional<std::string>>>(c, "text[]", holes) == holes));
  BOOST_TEST(c.query_value<bool>("SELECT ($1::text[])[2] IS NULL AND ($1::text[])[3] = 'NULL'", holes));
  const std::vector<std::vector<std::int64_t>> grid{{1, 2, 3}, {4, 5, 6}};
  BOOST_TEST((round_trip<std::vector<std::vector<std::int64_t>>>(c, "int8[]", grid) == grid));
  BOOST_TEST(c.query_value<int>("SELECT ($1::int8[])[2][3]", grid) == 6);
  const std::vector<double> doubles{0.5, -1e300};
  BOOST_TEST((round_trip<std::vector<double>>(c, "float8[]", doubles) == doubles));
  const std::vector<bool> flags{true, false};
  BOOST_TEST((round_trip<std::vector<bool>>(c, "bool[]", flags) == flags));
  const std::vector<db::Bytes> blobs{bytes({0, 1}), bytes({}), bytes({255})};
  BOOST_TEST((round_trip<std::vector<db::Bytes>>(c, "bytea[]", blobs) == blobs));
  using namespace std::chrono;
  const std::vector<system_clock::time_point> times{sys_days(2020y / 1 / 1) + 1us, sys_days(1999y / 12 / 31)};
  BOOST_TEST((round_trip<std::vector<system_clock::time_point>>(c, "timestamptz[]", times) == times));
  // Other lower bounds print as "[0:1]={...}".
  BOOST_TEST((c.query_value<std::vector<int>>("SELECT '[0:1]={7,8}'::int[]") == std::vector<int>{7, 8}));
  // A NULL element needs std::optional elements.
  auto e = conversion_error([&] { c.query_value<std::vector<int>>("SELECT ARRAY[1, NULL] AS a"); });
  BOOST_TEST(e.db_type() == "int4[]");
  BOOST_TEST(e.cpp_type() == "std::vector<int32>");
  BOOST_TEST(std::string(e.what()).find("NULL") != std::string::npos);
}

SPINDLE_REALTIME_TEST_CASE(null_needs_an_optional) {
  auto c = pg::connect(conninfo());
  BOOST_TEST(!c.query_value<std::optional<int>>("SELECT NULL::int").has_value());
  BOOST_TEST(*c.query_value<std::optional<int>>("SELECT 5") == 5);
  BOOST_TEST(!round_trip<std::optional<std::string>>(c, "text", std::optional<std::string>()).has_value());
  auto e = conversion_error([&] { c.query("SELECT NULL::int8 AS gone").get<std::int64_t>(0, 0); });
  BOOST_TEST(e.column() == "gone");
  BOOST_TEST(e.db_type() == "int8");
  BOOST_TEST(std::string(e.what()) ==
             "pg: column \"gone\" (int8) as int64: it is NULL (read it as std::optional)");
}

SPINDLE_REALTIME_TEST_CASE(rows_as_a_range_structs_and_tuples) {
  auto c = pg::connect(conninfo());
  c.query("CREATE TEMP TABLE items (id int PRIMARY KEY, name text NOT NULL, price float8, "
          "tags text[] NOT NULL DEFAULT '{}', added timestamptz NOT NULL, extra int)");
  using namespace std::chrono;
  const system_clock::time_point when = sys_days(2025y / June / 1) + 8h;
  for (int i = 1; i <= 3; ++i) {
    c.query("INSERT INTO items VALUES ($1, $2, $3, $4, $5, 0)", i, "item " + std::to_string(i),
            i == 2 ? std::optional<double>() : std::optional<double>(i * 1.25),
            std::vector<std::string>(static_cast<std::size_t>(i), "t"), when + hours(i));
  }
  const pg::Result r = c.query("SELECT * FROM items ORDER BY id");
  int seen = 0;
  for (auto row : r) {
    BOOST_TEST(row.index() == static_cast<std::size_t>(seen));
    BOOST_TEST(row.get<int>("id") == seen + 1);
    BOOST_TEST(row.get<int>(0) == seen + 1);
    BOOST_TEST(*row.view(1) == "item " + std::to_string(seen + 1));
    ++seen;
  }
  BOOST_TEST(seen == 3);
  BOOST_TEST(r[1].size() == 6u);

  const std::vector<shop::Item> items = r.as<shop::Item>();  // (extra: no member, ignored)
  BOOST_TEST_REQUIRE(items.size() == 3u);
  BOOST_TEST(items[0].name == "item 1");
  BOOST_TEST(*items[0].price == 1.25);
  BOOST_TEST(!items[1].price.has_value());
  BOOST_TEST(items[2].tags.size() == 3u);
  BOOST_TEST((items[2].added == when + 3h));

  const auto one = c.query_one<shop::Item>("SELECT * FROM items WHERE id = $1", 2);
  BOOST_TEST(one.name == "item 2");
  BOOST_CHECK_THROW(c.query_one<shop::Item>("SELECT * FROM items WHERE id = $1", 9), db::NoRowsError);
  BOOST_TEST(!c.query_optional<shop::Item>("SELECT * FROM items WHERE id = $1", 9).has_value());
  BOOST_TEST(c.query_optional<shop::Item>("SELECT * FROM items WHERE id = $1", 3)->tags.size() == 3u);
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM items") == 3);
  BOOST_CHECK_THROW(c.query_value<int>("SELECT id FROM items WHERE false"), db::NoRowsError);
  BOOST_TEST(!c.query_value<std::optional<int>>("SELECT id FROM items WHERE false").has_value());
  BOOST_TEST((c.query_as<int>("SELECT id FROM items ORDER BY id DESC") == std::vector<int>{3, 2, 1}));

  const auto pairs = c.query_as<std::tuple<int, std::string>>("SELECT id, name FROM items ORDER BY id");
  BOOST_TEST_REQUIRE(pairs.size() == 3u);
  BOOST_TEST(std::get<1>(pairs[2]) == "item 3");
  BOOST_CHECK_THROW((c.query_as<std::tuple<int, std::string>>("SELECT id FROM items")), db::ConversionError);

  // A member with no column of its name.
  auto e = conversion_error([&] { c.query_as<shop::Thin>("SELECT id FROM items"); });
  BOOST_TEST(e.column() == "missing_column");
  BOOST_TEST(e.cpp_type() == "shop::Thin::missing_column");
  // A member of the wrong type names the column.
  auto wrong = conversion_error([&] { c.query_as<shop::Item>("SELECT id, name, 'cheap' AS price, "
                                                             "tags, added FROM items"); });
  BOOST_TEST(wrong.column() == "price");
  BOOST_TEST(wrong.cpp_type() == "std::optional<double>");
}

SPINDLE_REALTIME_TEST_CASE(the_pool_and_pipelines_give_typed_results_too) {
  pg::Pool pool(conninfo(), 2);
  BOOST_TEST(pool.query_value<int>("SELECT $1::int * 2", 21) == 42);
  BOOST_TEST((pool.query_as<int>("SELECT generate_series(1, 3)") == std::vector<int>{1, 2, 3}));
  auto conn = pool.acquire();
  const auto results = conn->pipeline([](pg::Pipeline& p) {
    for (int i = 0; i < 3; ++i) p.query("SELECT $1::int4[]", std::vector<int>(static_cast<std::size_t>(i), i));
  });
  BOOST_TEST_REQUIRE(results.size() == 3u);
  BOOST_TEST((results[2].get<std::vector<int>>(0, 0) == std::vector<int>{2, 2}));
}

SPINDLE_REALTIME_TEST_CASE(executemany_runs_every_row_in_one_round_trip_or_none) {
  auto c = pg::connect(conninfo());
  c.query("CREATE TEMP TABLE stock (id int PRIMARY KEY, name text NOT NULL, price float8, "
          "tags text[] NOT NULL DEFAULT '{}', added timestamptz NOT NULL)");
  using namespace std::chrono;
  const system_clock::time_point when = sys_days(2025y / May / 5);
  std::vector<std::tuple<int, std::string, std::optional<double>>> rows;
  for (int i = 1; i <= 500; ++i) rows.emplace_back(i, "n" + std::to_string(i), i % 2 ? std::optional(i * 0.5) : std::nullopt);
  BOOST_TEST(c.executemany("INSERT INTO stock (id, name, price, added) VALUES ($1, $2, $3, now())", rows) == 500u);
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM stock") == 500);
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM stock WHERE price IS NULL") == 250);
  // Structs give their members in order.
  const std::vector<shop::Item> items{{1001, "a", 1.0, {"x", "y"}, when}, {1002, "b", std::nullopt, {}, when}};
  BOOST_TEST(c.executemany("INSERT INTO stock VALUES ($1, $2, $3, $4, $5)", items) == 2u);
  BOOST_TEST((c.query_one<shop::Item>("SELECT * FROM stock WHERE id = 1001").tags ==
              std::vector<std::string>{"x", "y"}));
  // Single values; an UPDATE counts the rows it changed.
  BOOST_TEST(c.executemany("UPDATE stock SET price = 0 WHERE id = $1", std::vector<int>{1, 2, 3, 99999}) == 3u);
  // A failing row (the duplicate key, row 3) undoes every row and is named.
  const std::vector<std::pair<int, std::string>> clash{{2000, "ok"}, {2001, "ok"}, {1, "dup"}, {2002, "ok"}};
  try {
    c.executemany("INSERT INTO stock (id, name, added) VALUES ($1, $2, now())", clash);
    BOOST_FAIL("a duplicate key went in");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "23505");
    BOOST_TEST(std::string(e.what()).find("pipeline statement 3 of 4") != std::string::npos);
  }
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM stock WHERE id >= 2000") == 0);
  BOOST_TEST(c.executemany("DELETE FROM stock WHERE id = $1", std::vector<int>{}) == 0u);
  BOOST_TEST(c.query_value<int>("SELECT 1") == 1);  // the connection is as before
}

SPINDLE_REALTIME_TEST_CASE(copy_in_a_million_rows_and_out_again) {
  auto c = pg::connect(conninfo());
  c.query("CREATE TEMP TABLE copied (id int8 NOT NULL, name text, score float8, tags int4[])");
  constexpr std::int64_t kRows = 1'000'000;
  struct Counting {  // a range that makes its rows as it goes: nothing held in memory
    struct iterator {
      std::int64_t i;
      std::tuple<std::int64_t, std::string, std::optional<double>, std::vector<int>> operator*() const {
        return {i, "row " + std::to_string(i), i % 10 ? std::optional(i / 4.0) : std::nullopt,
                std::vector<int>{static_cast<int>(i % 3)}};
      }
      iterator& operator++() { ++i; return *this; }
      bool operator==(const iterator&) const = default;
    };
    iterator begin() const { return {0}; }
    iterator end() const { return {kRows}; }
  };
  BOOST_TEST(c.copy_in("pg_temp.copied", {}, Counting{}) == static_cast<std::uint64_t>(kRows));
  BOOST_TEST(c.query_value<std::int64_t>("SELECT count(*) FROM copied") == kRows);
  BOOST_TEST(c.query_value<std::int64_t>("SELECT sum(id) FROM copied") == kRows * (kRows - 1) / 2);
  BOOST_TEST(c.query_value<std::int64_t>("SELECT count(*) FROM copied WHERE score IS NULL") == kRows / 10);
  BOOST_TEST(c.query_value<double>("SELECT score FROM copied WHERE id = 999999") == 999999 / 4.0);
  // Values that COPY's text format escapes come through as they were.
  const std::string awkward = "tab\there\nnewline \\N back\\slash \r";
  BOOST_TEST(c.copy_in("copied", {"name", "id"}, std::vector<std::tuple<std::string, int>>{{awkward, -1}}) == 1u);
  BOOST_TEST(c.query_value<std::string>("SELECT name FROM copied WHERE id = -1") == awkward);

  // Out again, row by row, as the server sends it.
  std::int64_t lines = 0;
  std::string row_7;
  const auto copied = c.copy_out("COPY (SELECT id, name, score, tags FROM copied WHERE id >= 0 ORDER BY id) TO STDOUT",
                                 [&](std::string_view row) {
                                   if (lines == 7) row_7 = std::string(row);
                                   ++lines;
                                 });
  BOOST_TEST(copied == static_cast<std::uint64_t>(kRows));
  BOOST_TEST(lines == kRows);
  BOOST_TEST(row_7 == "7\trow 7\t1.75\t{1}\n");
}

SPINDLE_REALTIME_TEST_CASE(a_copy_that_stops_half_way_leaves_nothing_and_the_connection_usable) {
  auto c = pg::connect(conninfo());
  c.query("CREATE TEMP TABLE target (id int PRIMARY KEY)");
  // An exception from the rows' side: the COPY is ended with an error, nothing stays.
  int made = 0;
  auto fill = [&](std::string& buffer) {
    for (int k = 0; k < 1000; ++k) buffer += std::to_string(made++) + "\n";
    if (made >= 5000) throw std::runtime_error("the source dried up");
    return true;
  };
  BOOST_CHECK_EXCEPTION(c.copy_from_stdin("COPY target FROM STDIN", fill), std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()) == "the source dried up"; });
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM target") == 0);
  // A value the server refuses: Error with its SQLSTATE, nothing stays.
  try {
    c.copy_in("target", {}, std::vector<std::string>{"1", "2", "three"});
    BOOST_FAIL("'three' went into an int column");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "22P02");
  }
  BOOST_TEST(c.query_value<int>("SELECT count(*) FROM target") == 0);
  // Not a COPY at all.
  try {
    c.copy_out("SELECT 1", [](std::string_view) {});
    BOOST_FAIL("copy_out ran a SELECT");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "42601");
  }
  BOOST_CHECK_THROW(c.copy_from_stdin("COPY (SELECT 1) TO STDOUT", [](std::string&) { return false; }), pg::Error);
  BOOST_CHECK_THROW(c.copy_in("no_such_table", {}, std::vector<int>{1}), pg::Error);
  // The reader stops half-way through a long COPY TO STDOUT: cancelled on the server.
  int seen = 0;
  BOOST_CHECK_THROW(c.copy_out("COPY (SELECT generate_series(1, 50000000)) TO STDOUT",
                               [&](std::string_view) {
                                 if (++seen == 1000) throw std::runtime_error("enough");
                               }),
                    std::runtime_error);
  BOOST_TEST(c.query_value<int>("SELECT 41 + 1") == 42);
  // And a cancellation (a timeout) in the middle of one.
  BOOST_CHECK_THROW(spindle::with_timeout(200ms, [&] {
                      c.copy_out("COPY (SELECT generate_series(1, 50000000)) TO STDOUT",
                                 [](std::string_view) {});
                    }),
                    spindle::TimeoutError);
  BOOST_TEST(c.query_value<int>("SELECT 2") == 2);
  BOOST_TEST(c.copy_in("target", {"id"}, std::vector<int>{1, 2, 3}) == 3u);
  BOOST_TEST(c.query_value<int>("SELECT sum(id) FROM target") == 6);
}

SPINDLE_REALTIME_TEST_CASE(stream_ten_million_rows_in_bounded_memory) {
  auto c = pg::connect(conninfo());
  // The same statement whole would be about 700 MB of PGresult; streamed, a row at a time.
  // (A million under the sanitizers, which make it ten times slower.)
  constexpr std::int64_t kRows = pg_env::kSanitized ? 1'000'000 : 10'000'000;
  const std::size_t before = resident_bytes();
  std::size_t most = before;
  std::int64_t n = 0, sum = 0;
  for (auto row : c.stream("SELECT g, 'row ' || g AS label, g % 7 = 0 AS lucky FROM generate_series(1, $1::int8) g", kRows)) {
    ++n;
    sum += row.get<std::int64_t>(0);
    if (n % 1'000'000 == 0) {
      BOOST_TEST(row.get<std::string>("label") == "row " + std::to_string(n));
      most = std::max(most, resident_bytes());
    }
  }
  BOOST_TEST(n == kRows);
  BOOST_TEST(sum == kRows * (kRows + 1) / 2);
  if (!pg_env::kSanitized) {
    BOOST_TEST(most - before < 64u << 20, "resident memory grew by " << (most - before) / 1024 << " KiB");
  }
  BOOST_TEST(c.query_value<int>("SELECT 1") == 1);
}

SPINDLE_REALTIME_TEST_CASE(a_stream_left_early_or_failing_leaves_the_connection_usable) {
  auto c = pg::connect(conninfo());
  {
    auto rows = c.stream("SELECT g FROM generate_series(1, 100000000) g");  // 100 million
    int seen = 0;
    for (auto row : rows) {
      if (row.get<int>(0) == 1000) break;
      ++seen;
    }
    BOOST_TEST(seen == 999);
    BOOST_TEST(rows.count() == 1000u);
    // (the connection is busy with it meanwhile)
    BOOST_CHECK_THROW(c.query("SELECT 1"), std::logic_error);
  }  // cancelled on the server, drained
  BOOST_TEST(c.query_value<int>("SELECT 2") == 2);
  // An error after some rows: they were delivered, then the error.
  std::vector<int> got;
  try {
    for (auto row : c.stream("SELECT 10 / (3 - g) FROM generate_series(1, 5) g")) got.push_back(row.get<int>(0));
    BOOST_FAIL("division by zero went unnoticed");
  } catch (const pg::Error& e) {
    BOOST_TEST(e.sqlstate() == "22012");
  }
  BOOST_TEST((got == std::vector<int>{5, 10}));
  BOOST_TEST(c.query_value<int>("SELECT 3") == 3);
  // A bad statement fails on reading, as asyncpg's cursor does on iteration.
  auto bad = c.stream("SELEC 1");
  BOOST_CHECK_THROW(bad.next(), pg::Error);
  BOOST_TEST(!bad.next());
  BOOST_TEST(c.query_value<int>("SELECT 4") == 4);
  // A cancellation while reading: the statement is cancelled on the server.
  BOOST_CHECK_THROW(spindle::with_timeout(200ms, [&] {
                      for (auto row : c.stream("SELECT pg_sleep(0.001), g FROM generate_series(1, 1000000) g")) (void)row;
                    }),
                    spindle::TimeoutError);
  BOOST_TEST(c.query_value<int>("SELECT 5") == 5);
  // Rows bind to structs as any row does.
  int total = 0;
  for (auto row : c.stream("SELECT 1 AS id, 'x' AS name, NULL::float8 AS price, '{}'::text[] AS tags, now() AS added")) {
    total += row.as<shop::Item>().id;
  }
  BOOST_TEST(total == 1);
}

SPINDLE_REALTIME_TEST_CASE(statements_are_prepared_once_and_recover_when_the_table_changes) {
  auto c = pg::connect(conninfo());
  c.query("CREATE TABLE cache_t (id int, a text)");  // (not temporary: DISCARD ALL drops those)
  c.query("INSERT INTO cache_t VALUES (1, 'x'), (2, 'y')");
  const std::string select = "SELECT * FROM cache_t WHERE id = $1";
  BOOST_TEST(c.query(select, 1).columns() == 2u);
  BOOST_TEST(c.statements_cached() == 1u);
  BOOST_TEST(c.statement_cache_hits() == 0u);
  for (int i = 0; i < 3; ++i) BOOST_TEST(c.query(select, 2).get<std::string>(0, "a") == "y");
  BOOST_TEST(c.statement_cache_hits() == 3u);
  // The server parsed it once and ran the one prepared statement four times.
  BOOST_TEST(c.query_value<int>("SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                                "WHERE statement = $1", select) == 4);
  // The table changes under the cached plan: prepared again, unseen by the caller.
  c.query("ALTER TABLE cache_t ADD COLUMN b int DEFAULT 7");
  const auto r = c.query(select, 1);
  BOOST_TEST(r.columns() == 3u);
  BOOST_TEST(r.get<int>(0, "b") == 7);
  // Inside a transaction the stale plan's error aborts it: thrown, and the next call works.
  c.query("ALTER TABLE cache_t ADD COLUMN d int DEFAULT 8");
  BOOST_CHECK_THROW(c.transaction([&](pg::Connection& t) { t.query(select, 1); }), pg::Error);
  BOOST_TEST(c.query(select, 1).get<int>(0, "d") == 8);
  // DISCARD ALL (a pool's reset) drops the server's statements: the cache follows.
  c.query("DISCARD ALL");
  BOOST_TEST(c.statements_cached() == 0u);
  BOOST_TEST(c.query(select, 2).get<std::string>(0, "a") == "y");
  // A DEALLOCATE ALL the cache cannot see coming inside a bigger text: recovered as well.
  c.query("SELECT 1; DEALLOCATE ALL; SELECT 2");
  BOOST_TEST(c.query(select, 2).get<std::string>(0, "a") == "y");
  c.query("DROP TABLE cache_t");
}

SPINDLE_REALTIME_TEST_CASE(typed_queries_read_binary_exactly_as_they_read_text) {
  auto c = pg::connect(conninfo());
  c.query("SET TimeZone = 'America/St_Johns'");  // (binary timestamps do not depend on it)
  const std::string wide =
      "SELECT $1::int2 AS small, -9223372036854775807 - 1 AS big, 4000000000::oid AS object, "
      "$2::float4 AS f4, $3::float8 AS f8, true AS yes, $4::text AS label, 'ab'::char(4) AS padded, "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uuid, 42::int8 AS count_text, "
      "'\\x00ff7f'::bytea AS blob, '1960-01-01 00:00:00.25+00'::timestamptz AS at, "
      "'2024-02-29 12:34:56.789012'::timestamp AS local, '0044-03-15 BC'::date AS day, "
      "'{\"k\": [1, null]}'::jsonb AS doc, '{\"b\": 1,   \"a\": 2}'::jsonb AS doc_text, "
      "ARRAY[1, NULL, -3] AS holes, '[0:1][5:7]={{1,2,3},{4,5,6}}'::int8[] AS grid, "
      "ARRAY['x y', '', 'quote\"d'] AS words, NULL::int AS none, 1.5::numeric AS unread";
  const float f4 = 1.1f;
  const double f8 = 0.1;
  const auto binary = c.query_one<shop::Wide>(wide, std::int16_t{-32768}, f4, f8, "h\xc3\xa9");
  BOOST_TEST(c.binary_results() == 1u);  // the numeric column is not read: still binary
  c.set_binary_results(false);
  const auto text = c.query_one<shop::Wide>(wide, std::int16_t{-32768}, f4, f8, "h\xc3\xa9");
  BOOST_TEST(c.binary_results() == 1u);
  c.set_binary_results(true);
  using namespace std::chrono;
  for (const shop::Wide* w : {&binary, &text}) {
    BOOST_TEST(w->small == -32768);
    BOOST_TEST(w->big == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(w->object == 4000000000u);
    BOOST_TEST(w->f4 == f4);
    BOOST_TEST(w->f8 == f8);
    BOOST_TEST(w->yes);
    BOOST_TEST(w->label == "h\xc3\xa9");
    BOOST_TEST(w->padded == "ab  ");
    BOOST_TEST(w->uuid == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BOOST_TEST(w->count_text == "42");
    BOOST_TEST((w->blob == bytes({0, 255, 127})));
    BOOST_TEST((w->at == sys_days(1960y / January / 1) + 250ms));
    BOOST_TEST((w->local == sys_days(2024y / February / 29) + 12h + 34min + 56s + 789012us));
    BOOST_TEST((w->day == sys_days(year(-43) / March / 15)));
    BOOST_TEST(w->doc == boost::json::parse("{\"k\": [1, null]}"));
    BOOST_TEST(w->doc_text == "{\"a\": 2, \"b\": 1}");  // jsonb's own normal form
    BOOST_TEST((w->holes == std::vector<std::optional<int>>{1, std::nullopt, -3}));
    BOOST_TEST((w->grid == std::vector<std::vector<std::int64_t>>{{1, 2, 3}, {4, 5, 6}}));
    BOOST_TEST((w->words == std::vector<std::string>{"x y", "", "quote\"d"}));
    BOOST_TEST(!w->none.has_value());
  }
  // What query() returns is text, whatever ran before.
  BOOST_TEST(!c.query(wide, std::int16_t{1}, f4, f8, "x").binary(0));
  BOOST_TEST(c.binary_results() == 1u);
}

SPINDLE_REALTIME_TEST_CASE(types_whose_text_binary_cannot_give_come_as_text) {
  auto c = pg::connect(conninfo());
  c.query("SET TimeZone = 'Asia/Kolkata'");
  using namespace std::chrono;
  const system_clock::time_point t = sys_days(2024y / February / 29) + 12h;
  // A timestamptz read as a string is the server's text in the session's zone.
  BOOST_TEST(c.query_value<std::string>("SELECT $1::timestamptz", t) == "2024-02-29 17:30:00+05:30");
  BOOST_TEST(c.query_value<double>("SELECT $1::numeric", 2.5) == 2.5);  // numeric: text only
  BOOST_TEST(c.query_value<double>("SELECT $1::float4", 0.1) == 0.1);  // (binary: 0.100000001...)
  BOOST_TEST(c.query_value<std::string>("SELECT $1::float8", 0.1) == "0.1");
  BOOST_TEST(c.binary_results() == 0u);
  // The same statement read as a type binary suits: binary from then on.
  BOOST_TEST((c.query_value<system_clock::time_point>("SELECT $1::timestamptz", t) == t));
  BOOST_TEST(c.binary_results() == 1u);
  BOOST_TEST(c.query_value<std::string>("SELECT $1::timestamptz", t) == "2024-02-29 17:30:00+05:30");
  BOOST_TEST(c.binary_results() == 1u);
  // A struct member with no column: the text path reports it, as always.
  BOOST_CHECK_THROW(c.query_one<shop::Thin>("SELECT $1::int AS id", 1), db::ConversionError);
  // Errors read from binary name the column and both types, as from text.
  auto e = conversion_error([&] { c.query_value<std::int16_t>("SELECT $1::int4 AS n", 70000); });
  BOOST_TEST(c.binary_results() == 2u);
  BOOST_TEST(e.column() == "n");
  BOOST_TEST(e.db_type() == "int4");
  BOOST_TEST(e.cpp_type() == "int16");
  BOOST_TEST(std::string(e.what()).find("\"70000\" is out of its range") != std::string::npos);
  e = conversion_error([&] { c.query_value<int>("SELECT $1::int AS gone", std::optional<int>()); });
  BOOST_TEST(std::string(e.what()) == "pg: column \"gone\" (int4) as int32: it is NULL (read it as std::optional)");
  e = conversion_error([&] { c.query_value<system_clock::time_point>("SELECT $1::timestamptz + interval '1000 years' AS at", t); });
  BOOST_TEST(std::string(e.what()).find("outside the clock's range") != std::string::npos);
  BOOST_CHECK_THROW(c.query_value<std::vector<int>>("SELECT ARRAY[[1], [$1::int]]", 2), db::ConversionError);
  BOOST_CHECK_THROW(c.query_value<std::vector<std::vector<int>>>("SELECT ARRAY[$1::int]", 2), db::ConversionError);
  // A table that changes type under a cached statement is described again.
  c.query("CREATE TEMP TABLE morph (v int)");
  c.query("INSERT INTO morph VALUES (7)");
  BOOST_TEST(c.query_value<int>("SELECT v FROM morph WHERE $1", true) == 7);
  c.query("ALTER TABLE morph ALTER COLUMN v TYPE text");
  BOOST_TEST(c.query_value<std::string>("SELECT v FROM morph WHERE $1", true) == "7");
  c.query("ALTER TABLE morph ALTER COLUMN v TYPE float8 USING v::float8 + 0.5");
  BOOST_TEST(c.query_value<double>("SELECT v FROM morph WHERE $1", true) == 7.5);
  // Through a pool as well.
  pg::Pool pool(conninfo(), 1);
  BOOST_TEST(pool.query_value<std::int64_t>("SELECT $1::int8 * 2", 21) == 42);
  BOOST_TEST(pool.acquire()->binary_results() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_binary_cells_are_conversion_errors_not_crashes) {
  using db::detail::BadCell;
  using db::detail::decode_binary;
  const auto cell = [](std::initializer_list<int> v) {
    std::string s;
    for (int b : v) s += static_cast<char>(b);
    return s;
  };
  BOOST_CHECK_THROW(decode_binary<int>(cell({0, 1}), 23), BadCell);  // short
  BOOST_CHECK_THROW(decode_binary<int>(cell({0, 0, 0, 0, 1}), 23), BadCell);  // long
  BOOST_TEST(decode_binary<int>(cell({0xff, 0xff, 0xff, 0xfe}), 23) == -2);
  BOOST_CHECK_THROW(decode_binary<std::string>(cell({2, '{', '}'}), 3802), BadCell);  // jsonb v2
  BOOST_CHECK_THROW(decode_binary<std::string>(cell({1, 2}), 2950), BadCell);  // uuid
  // int4[]: 1 dimension of 2 elements, the second cut short / a NULL / trailing bytes.
  const std::string head = cell({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1});
  const std::string one = cell({0, 0, 0, 4, 0, 0, 0, 9});
  BOOST_TEST((decode_binary<std::vector<int>>(head + one + one, 1007) == std::vector<int>{9, 9}));
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(head + one + cell({0, 0, 0, 4, 0}), 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(head + one + cell({0xff, 0xff, 0xff, 0xff}), 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(head + one + one + cell({0}), 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(cell({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}), 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(cell({0, 0, 0, 9}), 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(cell({0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23}), 1007), BadCell);
  // Found by tests/fuzz/fuzz_db_values (corpus/db_values/huge-dimensions): dimensions that
  // promise a billion elements were reserved before the data was read (gigabytes, then
  // std::bad_alloc); now they must fit in what the cell holds first.
  const std::string huge = cell({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0x40, 0, 0, 0, 0, 0, 0, 1});
  BOOST_CHECK_THROW(decode_binary<std::vector<int>>(huge + one, 1007), BadCell);
  const std::string wide = cell({0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 23, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  BOOST_CHECK_THROW(decode_binary<std::vector<std::vector<int>>>(wide + one, 1007), BadCell);
  BOOST_CHECK_THROW(decode_binary<std::vector<std::vector<int>>>(wide, 1007), BadCell);
  const std::string empty = cell({0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1});
  BOOST_TEST(decode_binary<std::vector<std::vector<int>>>(empty, 1007).empty());
}

SPINDLE_REALTIME_TEST_CASE(the_statement_cache_keeps_the_most_recently_used) {
  auto c = pg::connect(conninfo());
  c.set_statement_cache_size(3);
  auto ours = [&] {
    return c.query_value<int>("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '\\_\\_spindle\\_%'");
  };
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(c.query_value<int>("SELECT $1::int + " + std::to_string(i), 1) == 1 + i);
  }
  BOOST_TEST(c.statements_cached() == 3u);
  BOOST_TEST(ours() == 3);  // the two evicted were deallocated on the server
  BOOST_TEST(c.query_value<int>("SELECT $1::int + 4", 1) == 5);  // still there
  BOOST_TEST(c.statement_cache_hits() == 1u);
  c.set_statement_cache_size(0);  // off: statements go unnamed, as libpq sends them
  BOOST_TEST(c.statements_cached() == 0u);
  BOOST_TEST(c.query_value<int>("SELECT $1::int * 3", 3) == 9);
  BOOST_TEST(c.statements_cached() == 0u);
  // A statement that does not prepare is not cached, and says why.
  c.set_statement_cache_size(10);
  BOOST_CHECK_THROW(c.query("SELEC $1", 1), pg::Error);
  BOOST_TEST(c.statements_cached() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
