// The six TechEmpower Framework Benchmarks tests, as their specification defines them, on
// spindle-http's Router and spindle-pg:
//   /plaintext           "Hello, World!" (text/plain)
//   /json                {"message":"Hello, World!"}, serialized per request
//   /db                  one random row of World as {"id":..,"randomNumber":..}
//   /queries?queries=N   N random rows, one query each (N clamped to 1..500; not a number: 1),
//                        sent together in pipeline mode (--sequential: one at a time)
//   /fortunes            every Fortune plus one added now, sorted by message, as an HTML table
//                        (messages escaped)
//   /updates?queries=N   N random rows read one by one, each given a new random number, then
//                        written back in one statement
// Every response has Server and Date fields. Each loop has its own pool of connections, made
// in the loop's startup hook. Tables: examples/techempower.sql.
// Usage: techempower [--host H] [--port N] [--threads N] --pg CONNINFO [--sequential]
//        (SIGINT/SIGTERM stops it)
#include <spindle/http.hpp>
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>

#include <boost/describe.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server_args.hpp"

namespace http = spindle::http;
namespace pg = spindle::pg;

namespace bench {

struct Message {
  std::string message;
};
BOOST_DESCRIBE_STRUCT(Message, (), (message))

struct World {
  int id = 0;
  int randomNumber = 0;
};
BOOST_DESCRIBE_STRUCT(World, (), (id, randomNumber))

}  // namespace bench

namespace {

using bench::World;

// Each loop is a thread of its own: its pool and its random numbers live in thread_local.
thread_local std::unique_ptr<pg::Pool> pool;
thread_local std::minstd_rand rng{std::random_device{}()};

int random_id() { return std::uniform_int_distribution<int>(1, 10000)(rng); }

/// Runs a statement prepared on this connection under `name`, preparing it first where the
/// connection has not seen it yet (the server says 26000).
template <class... P>
pg::Result prepared(pg::Connection& c, const char* name, const char* sql, const P&... params) {
  try {
    return c.execute(name, params...);
  } catch (const pg::Error& e) {
    if (e.sqlstate() != "26000") throw;
    c.prepare(name, sql);
    return c.execute(name, params...);
  }
}

constexpr const char* kSelectWorld = "SELECT id, randomnumber FROM world WHERE id = $1";

World world_of(const pg::Result& r) { return {std::stoi(*r.get(0, 0)), std::stoi(*r.get(0, 1))}; }

World select_world(pg::Connection& c, int id) {
  return world_of(prepared(c, "world", kSelectWorld, id));
}

// --sequential: one round trip per query, as the FastAPI, aiohttp and Go servers of
// perf/bench_web do (their drivers have no pipelining); by default a request's queries go
// to the server together (libpq's pipeline mode, which TechEmpower's rules allow).
bool sequential = false;

/// n random rows, each read by a query of its own.
std::vector<World> select_worlds(pg::Connection& c, int n) {
  std::vector<World> worlds;
  worlds.reserve(static_cast<std::size_t>(n));
  if (sequential) {
    for (int i = 0; i < n; ++i) worlds.push_back(select_world(c, random_id()));
    return worlds;
  }
  std::vector<int> ids(static_cast<std::size_t>(n));
  for (int& id : ids) id = random_id();
  const auto run = [&] {
    return c.pipeline([&](pg::Pipeline& p) {
      for (int id : ids) p.execute("world", id);
    });
  };
  std::vector<pg::Result> results;
  try {
    results = run();
  } catch (const pg::Error& e) {  // the connection's first pipeline: prepare, then again
    if (e.sqlstate() != "26000") throw;
    c.prepare("world", kSelectWorld);
    results = run();
  }
  for (const pg::Result& r : results) worlds.push_back(world_of(r));
  return worlds;
}

/// The `queries` parameter as the specification reads it: 1 to 500, 1 when not a number.
int queries(const http::Request& req) {
  const auto values = req.query_values("queries");
  int n = 1;
  if (!values.empty()) {
    const std::string& v = values.front();
    if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc{}) n = 1;
  }
  return std::clamp(n, 1, 500);
}

void escape_html(std::string& out, const std::string& s) {
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#x27;"; break;
      default: out += c;
    }
  }
}

http::Response fortunes() {
  std::vector<std::pair<int, std::string>> rows;
  {
    auto c = pool->acquire();
    pg::Result r = prepared(*c, "fortune", "SELECT id, message FROM fortune");
    rows.reserve(r.size() + 1);
    for (std::size_t i = 0; i < r.size(); ++i) rows.emplace_back(std::stoi(*r.get(i, 0)), *r.get(i, 1));
  }
  rows.emplace_back(0, "Additional fortune added at request time.");
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  std::string html =
      "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
      "<tr><th>id</th><th>message</th></tr>";
  for (const auto& [id, message] : rows) {
    html += "<tr><td>" + std::to_string(id) + "</td><td>";
    escape_html(html, message);
    html += "</td></tr>";
  }
  html += "</table></body></html>";
  return http::response(http::status::ok, std::move(html), "text/html; charset=utf-8");
}

std::vector<World> updates(int n) {
  auto c = pool->acquire();
  std::vector<World> worlds = select_worlds(*c, n);
  for (World& w : worlds) w.randomNumber = random_id();
  // Written back in id order in one statement (rows locked in one order: no deadlocks
  // between concurrent requests).
  std::vector<World> sorted = worlds;
  std::sort(sorted.begin(), sorted.end(), [](const World& a, const World& b) { return a.id < b.id; });
  std::string ids = "{", numbers = "{";
  for (const World& w : sorted) {
    if (ids.size() > 1) {
      ids += ',';
      numbers += ',';
    }
    ids += std::to_string(w.id);
    numbers += std::to_string(w.randomNumber);
  }
  prepared(*c, "update",
           "UPDATE world SET randomnumber = v.r FROM "
           "(SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS r) AS v WHERE world.id = v.id",
           ids + "}", numbers + "}");
  return worlds;
}

http::Router app(const std::string& conninfo) {
  http::Router app;
  app.get("/plaintext", [] { return http::response(http::status::ok, "Hello, World!", "text/plain"); });
  app.get("/json", [] { return bench::Message{"Hello, World!"}; });
  app.get("/db", [] {
    auto c = pool->acquire();
    return select_world(*c, random_id());
  });
  app.get("/queries", [](http::Request& req) {
    const int n = queries(req);
    auto c = pool->acquire();
    return select_worlds(*c, n);
  });
  app.get("/fortunes", [] { return fortunes(); });
  app.get("/updates", [](http::Request& req) { return updates(queries(req)); });
  app.on_startup([conninfo] { pool = std::make_unique<pg::Pool>(conninfo, 32); });
  app.on_shutdown([] { pool.reset(); });
  return app;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[argc - 1]) == "--sequential") {
    sequential = true;
    --argc;
  }
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  if (args.pg.empty()) {
    std::fprintf(stderr, "usage: %s [--host H] [--port N] [--threads N] --pg CONNINFO [--sequential]\n",
                 argv[0]);
    return 2;
  }
  try {
    http::AppOptions options;
    options.serve.backlog = 4096;
    options.serve.server_header = "spindle";
    options.on_listening = [](const spindle::io::Address& a, unsigned) {
      std::printf("listening on %s\n", a.to_string().c_str());
      std::fflush(stdout);
    };
    http::run_app(app(args.pg), args.host, args.port, args.threads, options);
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
