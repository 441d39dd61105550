// The database clients against the servers' own benchmark clients, on the same server in the
// same run: 100 tasks on one loop running pgbench's select-only transaction against
// `pgbench -S -M prepared -c 100 -j 1`, and 100 tasks doing SET and GET against
// `redis-benchmark -c 100 --threads 1 -t set,get` (with pipelines of 16 against -P 16), and
// the same through a redis::Pool against redis-py's asyncio client.
// Clients run on CPU 1, the servers on CPU 0. Run through tests/db_servers.py (see
// docs/PERFORMANCE.md); SPINDLE_LOAD_SECONDS sets the length of each run.
#include <benchmark/benchmark.h>
#include <boost/describe.hpp>
#include <spindle/pg.hpp>
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>

#include <atomic>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <tuple>

#include "load.hpp"

using namespace spindle_bench;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void report(benchmark::State& state, const char* theirs, Rates them, Rates us) {
  state.counters[std::string(theirs) + "_per_s"] = them.per_s;
  state.counters[std::string(theirs) + "_per_cpu_s"] = them.per_cpu_s;
  state.counters["spindle_per_s"] = us.per_s;
  state.counters["spindle_per_cpu_s"] = us.per_cpu_s;
  state.counters["rate_ratio"] = us.per_s / them.per_s;
  state.counters["cpu_ratio"] = us.per_cpu_s / them.per_cpu_s;
}

/// Runs `python` on the peer script perf/db/SCRIPT with `args`, which prints "done N seconds S
/// cpu C" (N operations in S seconds of wall time, C of CPU): its rates, or empty with what it
/// said in `said`.
std::optional<Rates> run_peer(const std::string& python, const std::string& script,
                              const std::string& args, std::string& said) {
  const ProgramRun p = run_pinned(python + " " + SPINDLE_PERF_DIR "/db/" + script + " " + args);
  std::smatch m;
  if (!std::regex_search(p.out, m, std::regex(R"(done (\d+) seconds ([0-9.]+) cpu ([0-9.]+))"))) {
    said = script + " said: " + p.out;
    return std::nullopt;
  }
  return Rates{std::stod(m[1]) / std::stod(m[2]), std::stod(m[1]) / std::stod(m[3])};
}

constexpr int kPgScale = 1;  // pgbench_accounts holds 100,000 * scale rows

/// pgbench's tables, once per run.
void init_pgbench(const std::string& conninfo) {
  static bool done = false;
  if (!done) {
    run_pinned(std::string(env("SPINDLE_PG_BIN")) + "/pgbench -i -q -s " + std::to_string(kPgScale) +
               " '" + conninfo + "'");
    done = true;
  }
}

/// pgbench's select-only run (`-S -M prepared`, one thread, `per_client` transactions each):
/// transactions per second once connected and per CPU-second; empty (what it said in `said`)
/// if its report does not parse. pgbench -t, not -T, since making 100 connections takes
/// seconds here (a backend starts in ~40 ms) and -T counts that time.
std::optional<Rates> run_pgbench(const std::string& conninfo, int clients, long per_client,
                                 std::string& said) {
  const ProgramRun p = run_pinned(std::string(env("SPINDLE_PG_BIN")) + "/pgbench -n -S -M prepared -c " +
                                  std::to_string(clients) + " -j 1 -t " + std::to_string(per_client) +
                                  " '" + conninfo + "'");
  std::smatch done, tps;
  if (!std::regex_search(p.out, done, std::regex(R"(actually processed: (\d+))")) ||
      !std::regex_search(p.out, tps, std::regex(R"(tps = ([0-9.]+) \(without initial)"))) {
    said = "pgbench said: " + p.out;
    return std::nullopt;
  }
  return Rates{std::stod(tps[1]), std::stod(done[1]) / p.cpu_s};
}

void BM_Pg_SelectOnly(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  if (conninfo.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg (SPINDLE_PG unset)");
    return;
  }
  const int clients = static_cast<int>(state.range(0));
  init_pgbench(conninfo);
  // Rates leave connecting out on both sides (pgbench's "without initial connection time");
  // CPU counts it on both.
  const long per_client = 100L * load_seconds();
  Rates them, us;
  for (auto _ : state) {
    std::string said;
    const auto pgbench = run_pgbench(conninfo, clients, per_client, said);
    if (!pgbench) {
      state.SkipWithError(said.c_str());
      return;
    }
    them = *pgbench;
    double seconds = 0;
    us = on_client_loop([&] {
      int connected = 0;
      spindle::Event all_connected;
      std::chrono::steady_clock::time_point t0;
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < clients; ++i) {
          g.spawn([&, i] {
            auto conn = spindle::pg::connect(conninfo);
            conn.prepare("select_only", "SELECT abalance FROM pgbench_accounts WHERE aid = $1");
            if (++connected == clients) {
              t0 = std::chrono::steady_clock::now();
              all_connected.set();
            }
            all_connected.wait();
            std::minstd_rand rng(static_cast<unsigned>(i) + 1);
            std::uniform_int_distribution<int> aid(1, 100000 * kPgScale);
            for (long n = 0; n < per_client; ++n) {
              if (conn.execute("select_only", aid(rng)).size() != 1) throw std::runtime_error("no row");
            }
          });
        }
      });
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return per_client * clients;
    });
    us.per_s = static_cast<double>(per_client * clients) / seconds;
  }
  report(state, "pgbench", them, us);
}
BENCHMARK(BM_Pg_SelectOnly)->Arg(100)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The select-only transaction the way a user writes it: 100 tasks, one pg::Pool of 100,
// pool.query_value() (the statement cache prepares it once per connection; a lease that only
// reads costs no reset), against asyncpg's pool of 100 on uvloop doing pool.fetchval(), and
// against pgbench -S -M prepared. Targets (issue 20): per client CPU-second at least 5x
// asyncpg's; rate at least pgbench's.
void BM_Pg_PoolSelectOnly(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  const std::string python = python_with("asyncpg, uvloop");
  if (conninfo.empty() || python.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg, with python3-asyncpg and python3-uvloop");
    return;
  }
  init_pgbench(conninfo);
  const int clients = static_cast<int>(state.range(0));
  const long per_client = 100L * load_seconds();
  Rates asyncpg, pgbench, us;
  for (auto _ : state) {
    std::string said;
    const auto a = run_peer(python, "asyncpg_select.py",
                            std::to_string(clients) + " " + std::to_string(per_client), said);
    if (!a) {
      state.SkipWithError(said.c_str());
      return;
    }
    asyncpg = *a;
    const auto p = run_pgbench(conninfo, clients, per_client, said);
    if (!p) {
      state.SkipWithError(said.c_str());
      return;
    }
    pgbench = *p;
    double seconds = 0;
    us = on_client_loop([&] {
      spindle::pg::Pool pool(conninfo, clients);
      int warm = 0;
      spindle::Event all_warm;
      std::chrono::steady_clock::time_point t0;
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < clients; ++i) {
          g.spawn([&, i] {
            std::minstd_rand rng(static_cast<unsigned>(i) + 1);
            std::uniform_int_distribution<int> aid(1, 100000 * kPgScale);
            // (every connection made before the clock starts, as asyncpg's min_size does)
            auto first = pool.acquire();
            if (++warm == clients) {
              t0 = std::chrono::steady_clock::now();
              all_warm.set();
            }
            all_warm.wait();
            { auto gone = std::move(first); }
            for (long n = 0; n < per_client; ++n) {
              pool.query_value<int>("SELECT abalance FROM pgbench_accounts WHERE aid = $1", aid(rng));
            }
          });
        }
      });
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return per_client * clients;
    });
    us.per_s = static_cast<double>(per_client * clients) / seconds;
  }
  state.counters["asyncpg_per_s"] = asyncpg.per_s;
  state.counters["asyncpg_per_cpu_s"] = asyncpg.per_cpu_s;
  state.counters["pgbench_per_s"] = pgbench.per_s;
  state.counters["spindle_per_s"] = us.per_s;
  state.counters["spindle_per_cpu_s"] = us.per_cpu_s;
  state.counters["cpu_vs_asyncpg"] = us.per_cpu_s / asyncpg.per_cpu_s;
  state.counters["rate_vs_pgbench"] = us.per_s / pgbench.per_s;
}
BENCHMARK(BM_Pg_PoolSelectOnly)->Arg(100)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// 100 tasks, each a request of 20 single-row reads, through a pg::Pool of 100: the 20 sent as
// one pipeline against one round trip each. Reported: requests per second and per client
// CPU-second, and their ratios.
void BM_Pg_Pipelined20(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  if (conninfo.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg");
    return;
  }
  init_pgbench(conninfo);
  constexpr int kClients = 100, kQueries = 20;
  const long per_client = 10L * load_seconds();
  const char* sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  auto run = [&](bool pipelined) {
    double seconds = 0;
    Rates r = on_client_loop([&] {
      spindle::pg::Pool pool(conninfo, kClients);
      const auto t0 = std::chrono::steady_clock::now();
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < kClients; ++i) {
          g.spawn([&, i] {
            std::minstd_rand rng(static_cast<unsigned>(i) + 1);
            std::uniform_int_distribution<int> aid(1, 100000 * kPgScale);
            for (long n = 0; n < per_client; ++n) {
              auto c = pool.acquire();
              if (pipelined) {
                const auto results = c->pipeline([&](spindle::pg::Pipeline& p) {
                  for (int q = 0; q < kQueries; ++q) p.query(sql, aid(rng));
                });
                if (results.size() != kQueries) throw std::runtime_error("short pipeline");
              } else {
                for (int q = 0; q < kQueries; ++q) c->query_value<int>(sql, aid(rng));
              }
            }
          });
        }
      });
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return per_client * kClients;
    });
    r.per_s = static_cast<double>(per_client * kClients) / seconds;
    return r;
  };
  Rates one_by_one, pipelined;
  for (auto _ : state) {
    one_by_one = run(false);
    pipelined = run(true);
  }
  state.counters["sequential_req_per_s"] = one_by_one.per_s;
  state.counters["pipelined_req_per_s"] = pipelined.per_s;
  state.counters["sequential_req_per_cpu_s"] = one_by_one.per_cpu_s;
  state.counters["pipelined_req_per_cpu_s"] = pipelined.per_cpu_s;
  state.counters["rate_ratio"] = pipelined.per_s / one_by_one.per_s;
  state.counters["cpu_ratio"] = pipelined.per_cpu_s / one_by_one.per_cpu_s;
}
BENCHMARK(BM_Pg_Pipelined20)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// COPY of 1,000,000 rows (an integer, a text, a float) into a fresh table: conn.copy_in()
// from rows made as they go, against psql's \copy of the same rows from a file. Rows per
// second; target at least 0.9x psql's.
void BM_Pg_Copy(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  if (conninfo.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg");
    return;
  }
  constexpr long kRows = 1'000'000;
  const std::string file = scratch_dir() + "/copy_rows.txt";
  {
    std::ofstream out(file);
    for (long i = 0; i < kRows; ++i) out << i << "\trow " << i << '\t' << i / 4.0 << '\n';
  }
  struct Rows {  // the same rows, made as they are copied
    struct iterator {
      long i;
      std::tuple<long, std::string, double> operator*() const { return {i, "row " + std::to_string(i), i / 4.0}; }
      iterator& operator++() { ++i; return *this; }
      bool operator==(const iterator&) const = default;
    };
    iterator begin() const { return {0}; }
    iterator end() const { return {kRows}; }
  };
  const std::string psql = std::string(env("SPINDLE_PG_BIN")) + "/psql -q '" + conninfo + "' -c ";
  double psql_rate = 0, our_rate = 0, our_cpu = 0;
  for (auto _ : state) {
    run_pinned(psql + "'DROP TABLE IF EXISTS copy_psql; CREATE TABLE copy_psql (id int8, name text, score float8)'");
    const ProgramRun p = run_pinned(psql + "\"\\copy copy_psql FROM '" + file + "'\"");
    psql_rate = static_cast<double>(kRows) / p.seconds;
    run_pinned(psql + "'DROP TABLE IF EXISTS copy_spindle; CREATE TABLE copy_spindle (id int8, name text, score float8)'");
    double seconds = 0;
    const Rates r = on_client_loop([&] {
      auto c = spindle::pg::connect(conninfo);
      const auto t0 = std::chrono::steady_clock::now();
      if (c.copy_in("copy_spindle", {}, Rows{}) != static_cast<std::uint64_t>(kRows)) {
        throw std::runtime_error("short COPY");
      }
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return kRows;
    });
    our_rate = static_cast<double>(kRows) / seconds;
    our_cpu = r.per_cpu_s;
  }
  state.counters["psql_rows_per_s"] = psql_rate;
  state.counters["spindle_rows_per_s"] = our_rate;
  state.counters["spindle_rows_per_cpu_s"] = our_cpu;
  state.counters["rate_ratio"] = our_rate / psql_rate;
}
BENCHMARK(BM_Pg_Copy)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// A 1 MiB bytea parameter, `SELECT length($1::bytea)`: db::Bytes as spindle sends it (binary,
// typed bytea) against the same bytes as bytea's hex text (what text-format drivers send, and
// spindle did before). Reported: round trips per second and per client CPU-second, and ratios.
void BM_Pg_ByteaParam(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  if (conninfo.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg");
    return;
  }
  const int calls = 100 * load_seconds();
  spindle::db::Bytes blob(1 << 20);
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::byte>(i * 131 + i / 7);
  const std::string hex = *spindle::db::to_text(spindle::db::Value(blob));
  Rates binary, text;
  for (auto _ : state) {
    for (int pass = 0; pass < 2; ++pass) {
      double seconds = 0;
      Rates r = on_client_loop([&] {
        auto c = spindle::pg::connect(conninfo);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < calls; ++i) {
          const int n = pass == 0 ? c.query_value<int>("SELECT length($1::bytea)", blob)
                                  : c.query_value<int>("SELECT length($1::bytea)", hex);
          if (n != 1 << 20) throw std::runtime_error("wrong length");
        }
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return calls;
      });
      r.per_s = calls / seconds;
      (pass == 0 ? binary : text) = r;
    }
  }
  state.counters["binary_per_s"] = binary.per_s;
  state.counters["hex_text_per_s"] = text.per_s;
  state.counters["binary_per_cpu_s"] = binary.per_cpu_s;
  state.counters["hex_text_per_cpu_s"] = text.per_cpu_s;
  state.counters["rate_ratio"] = binary.per_s / text.per_s;
  state.counters["cpu_ratio"] = binary.per_cpu_s / text.per_cpu_s;
}
BENCHMARK(BM_Pg_ByteaParam)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// Typed rows: query_as<struct> of 1,000 rows (int8, float8, timestamptz, text, int4) per call,
// read in binary (spindle's default for typed queries) against the same in text
// (set_binary_results(false)), and against asyncpg's fetch() of the same rows (binary, into
// Records) on uvloop. Reported: rows per second and per client CPU-second, and ratios.
struct TypedRow {
  std::int64_t id;
  double x;
  std::chrono::system_clock::time_point at;
  std::string name;
  int n;
};
BOOST_DESCRIBE_STRUCT(TypedRow, (), (id, x, at, name, n))

void BM_Pg_TypedRows(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  const std::string python = python_with("asyncpg, uvloop");
  if (conninfo.empty() || python.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg, with python3-asyncpg and python3-uvloop");
    return;
  }
  constexpr int kRows = 1000;
  const int calls = 20 * load_seconds();
  const char* sql =
      "SELECT i::int8 AS id, i * 0.5::float8 AS x, "
      "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS at, "
      "'name ' || i AS name, (i % 1000)::int4 AS n FROM generate_series(1, $1) i";
  Rates binary, text, asyncpg;
  for (auto _ : state) {
    std::string said;
    const auto a = run_peer(python, "asyncpg_rows.py",
                            std::to_string(calls) + " " + std::to_string(kRows), said);
    if (!a) {
      state.SkipWithError(said.c_str());
      return;
    }
    asyncpg = *a;
    for (int pass = 0; pass < 2; ++pass) {
      double seconds = 0;
      Rates r = on_client_loop([&] {
        auto c = spindle::pg::connect(conninfo);
        c.set_binary_results(pass == 0);
        const auto t0 = std::chrono::steady_clock::now();
        long sum = 0;
        for (int i = 0; i < calls; ++i) {
          for (const TypedRow& row : c.query_as<TypedRow>(sql, kRows)) sum += row.n;
        }
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (sum != static_cast<long>(calls) * (kRows * (kRows - 1) / 2)) throw std::runtime_error("wrong rows");
        if ((c.binary_results() > 0) != (pass == 0)) throw std::runtime_error("wrong format");
        return static_cast<long>(calls) * kRows;
      });
      r.per_s = calls * kRows / seconds;
      (pass == 0 ? binary : text) = r;
    }
  }
  state.counters["binary_per_s"] = binary.per_s;
  state.counters["text_per_s"] = text.per_s;
  state.counters["asyncpg_per_s"] = asyncpg.per_s;
  state.counters["binary_per_cpu_s"] = binary.per_cpu_s;
  state.counters["text_per_cpu_s"] = text.per_cpu_s;
  state.counters["asyncpg_per_cpu_s"] = asyncpg.per_cpu_s;
  state.counters["cpu_binary_vs_text"] = binary.per_cpu_s / text.per_cpu_s;
  state.counters["cpu_binary_vs_asyncpg"] = binary.per_cpu_s / asyncpg.per_cpu_s;
}
BENCHMARK(BM_Pg_TypedRows)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

/// One redis-benchmark client's SETs, then its GETs: per_task of each, one per round trip
/// through one(args...), or `pipeline` at a time through batch(fill), which runs
/// fill(redis::Pipeline&) on a pipeline and executes it.
template <class One, class Batch>
void set_then_get(long per_task, int pipeline, One one, Batch batch) {
  for (const bool set : {true, false}) {
    for (long done = 0; done < per_task; done += pipeline) {
      if (pipeline == 1) {
        if (set) {
          one("SET", "key:__rand_int__", "xxx");
        } else if (one("GET", "key:__rand_int__").str() != "xxx") {
          throw std::runtime_error("wrong value");
        }
        continue;
      }
      batch([&](spindle::redis::Pipeline& p) {
        for (int k = 0; k < pipeline; ++k) {
          if (set) {
            p.command("SET", "key:__rand_int__", "xxx");
          } else {
            p.command("GET", "key:__rand_int__");
          }
        }
      });
    }
  }
}

void BM_Redis_SetGet(benchmark::State& state) {
  const std::string port = env("SPINDLE_REDIS_PORT");
  if (port.empty() || !have("redis-benchmark")) {
    state.SkipWithError("run through tests/db_servers.py --redis, with redis-tools installed");
    return;
  }
  const int clients = 100;
  const int pipeline = static_cast<int>(state.range(0));
  // Requests per command, so that each run takes about load_seconds() on this machine.
  const long n = (pipeline == 1 ? 40000L : 250000L) * load_seconds();
  Rates them, us;
  for (auto _ : state) {
    const ProgramRun p = run_pinned("redis-benchmark -h 127.0.0.1 -p " + port + " -c " +
                                    std::to_string(clients) + " --threads 1 -t set,get -P " +
                                    std::to_string(pipeline) + " -n " + std::to_string(n) + " -q");
    them = {2.0 * static_cast<double>(n) / p.seconds, 2.0 * static_cast<double>(n) / p.cpu_s};
    us = on_client_loop([&] {
      const long per_task = n / clients;
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < clients; ++i) {
          g.spawn([&] {
            auto conn = spindle::redis::connect("127.0.0.1", static_cast<std::uint16_t>(std::stoi(port)));
            set_then_get(
                per_task, pipeline, [&](const auto&... args) { return conn.command(args...); },
                [&](auto fill) {
                  auto pipe = conn.pipeline();
                  fill(pipe);
                  pipe.execute();
                });
          });
        }
      });
      return 2 * (n / clients) * clients;
    });
  }
  report(state, "redis_benchmark", them, us);
}
BENCHMARK(BM_Redis_SetGet)->Arg(1)->Arg(16)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The same SETs and GETs the way a user writes them: 100 tasks sharing one redis::Pool of 100
// (pool.command(), or a lent connection's pipeline of 16), against redis-py's asyncio client
// on uvloop with a pool of 100 (perf/db/redispy_setget.py) and against redis-benchmark.
// Target (issue 20): per client CPU-second at least redis-benchmark's, pipelined too.
void BM_Redis_PoolSetGet(benchmark::State& state) {
  const std::string port = env("SPINDLE_REDIS_PORT");
  const std::string python = python_with("redis.asyncio, uvloop");
  if (port.empty() || !have("redis-benchmark") || python.empty()) {
    state.SkipWithError("run through tests/db_servers.py --redis, with redis-tools, python3-redis "
                        "and python3-uvloop installed");
    return;
  }
  const int clients = 100;
  const int pipeline = static_cast<int>(state.range(0));
  const long n = (pipeline == 1 ? 40000L : 250000L) * load_seconds();
  Rates them, redispy, us;
  for (auto _ : state) {
    const ProgramRun p = run_pinned("redis-benchmark -h 127.0.0.1 -p " + port + " -c " +
                                    std::to_string(clients) + " --threads 1 -t set,get -P " +
                                    std::to_string(pipeline) + " -n " + std::to_string(n) + " -q");
    them = {2.0 * static_cast<double>(n) / p.seconds, 2.0 * static_cast<double>(n) / p.cpu_s};
    // (redis-py is slower: a tenth of the commands takes as long)
    const long py_per_client = std::max(1L, n / clients / 10 / pipeline * pipeline);
    std::string said;
    const auto py = run_peer(python, "redispy_setget.py",
                             std::to_string(clients) + " " + std::to_string(py_per_client) + " " +
                                 std::to_string(pipeline), said);
    if (!py) {
      state.SkipWithError(said.c_str());
      return;
    }
    redispy = *py;
    us = on_client_loop([&] {
      const long per_task = n / clients;
      spindle::redis::Pool pool("redis://127.0.0.1:" + port, clients);
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < clients; ++i) {
          g.spawn([&] {
            set_then_get(
                per_task, pipeline, [&](const auto&... args) { return pool.command(args...); },
                [&](auto fill) {
                  auto conn = pool.acquire();  // (a lent connection for the pipeline)
                  auto pipe = conn->pipeline();
                  fill(pipe);
                  pipe.execute();
                });
          });
        }
      });
      return 2 * (n / clients) * clients;
    });
  }
  report(state, "redis_benchmark", them, us);
  state.counters["redispy_per_s"] = redispy.per_s;
  state.counters["redispy_per_cpu_s"] = redispy.per_cpu_s;
  state.counters["cpu_vs_redispy"] = us.per_cpu_s / redispy.per_cpu_s;
}
BENCHMARK(BM_Redis_PoolSetGet)->Arg(1)->Arg(16)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
