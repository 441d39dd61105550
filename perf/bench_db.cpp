// The database clients against the servers' own benchmark clients, on the same server in the
// same run: 100 tasks on one loop running pgbench's select-only transaction against
// `pgbench -S -M prepared -c 100 -j 1`, and 100 tasks doing SET and GET against
// `redis-benchmark -c 100 --threads 1 -t set,get` (with pipelines of 16 against -P 16).
// Clients run on CPU 1, the servers on CPU 0. Run through tests/db_servers.py (see
// docs/PERFORMANCE.md); SPINDLE_LOAD_SECONDS sets the length of each run.
#include <benchmark/benchmark.h>
#include <spindle/pg.hpp>
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>

#include <atomic>
#include <random>
#include <regex>

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

constexpr int kPgScale = 1;  // pgbench_accounts holds 100,000 * scale rows

void BM_Pg_SelectOnly(benchmark::State& state) {
  const std::string conninfo = env("SPINDLE_PG");
  const std::string bin = env("SPINDLE_PG_BIN");
  if (conninfo.empty()) {
    state.SkipWithError("run through tests/db_servers.py --pg (SPINDLE_PG unset)");
    return;
  }
  const int clients = static_cast<int>(state.range(0));
  const std::string quoted = "'" + conninfo + "'";
  static bool initialised = false;
  if (!initialised) {
    run_pinned(bin + "/pgbench -i -q -s " + std::to_string(kPgScale) + " " + quoted);
    initialised = true;
  }
  // Transactions per client: pgbench -t, not -T, since making 100 connections takes seconds
  // here (a backend starts in ~40 ms) and -T counts that time. Rates leave connecting out on
  // both sides (pgbench's "without initial connection time"); CPU counts it on both.
  const long per_client = 100L * load_seconds();
  Rates them, us;
  for (auto _ : state) {
    const ProgramRun p = run_pinned(bin + "/pgbench -n -S -M prepared -c " +
                                    std::to_string(clients) + " -j 1 -t " +
                                    std::to_string(per_client) + " " + quoted);
    std::smatch done, tps;
    if (!std::regex_search(p.out, done, std::regex(R"(actually processed: (\d+))")) ||
        !std::regex_search(p.out, tps, std::regex(R"(tps = ([0-9.]+) \(without initial)"))) {
      state.SkipWithError(("pgbench said: " + p.out).c_str());
      return;
    }
    them = {std::stod(tps[1]), std::stod(done[1]) / p.cpu_s};
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
            for (const char* verb : {"SET", "GET"}) {
              for (long done = 0; done < per_task; done += pipeline) {
                if (pipeline == 1) {
                  if (verb[0] == 'S') {
                    conn.command("SET", "key:__rand_int__", "xxx");
                  } else if (conn.command("GET", "key:__rand_int__").str() != "xxx") {
                    throw std::runtime_error("wrong value");
                  }
                  continue;
                }
                auto pipe = conn.pipeline();
                for (int k = 0; k < pipeline; ++k) {
                  if (verb[0] == 'S') {
                    pipe.command("SET", "key:__rand_int__", "xxx");
                  } else {
                    pipe.command("GET", "key:__rand_int__");
                  }
                }
                pipe.execute();
              }
            }
          });
        }
      });
      return 2 * (n / clients) * clients;
    });
  }
  report(state, "redis_benchmark", them, us);
}
BENCHMARK(BM_Redis_SetGet)->Arg(1)->Arg(16)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
