// A report built from 1,000 PostgreSQL queries run concurrently by 1,000 tasks sharing a
// pool of 10 connections. Each query takes the server about 5 ms; run one after another they
// would take the sum of their times (printed), through the pool about a tenth of it.
// Usage: pg_report [conninfo]   (default: $SPINDLE_PG, else libpq's defaults)
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

using Seconds = std::chrono::duration<double>;

int main(int argc, char** argv) {
  const char* env = std::getenv("SPINDLE_PG");
  const std::string conninfo = argc > 1 ? argv[1] : env ? env : "";
  constexpr int kQueries = 1000, kRegions = 10;
  try {
    spindle::run([&] {
      spindle::pg::Pool pool(conninfo, 10);
      std::array<long, kRegions> rows{}, totals{};
      std::set<int> backends;  // server processes, one per pooled connection
      double sum = 0;
      const auto t0 = spindle::Loop::current().time();
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < kQueries; ++i) {
          g.spawn([&, i] {
            auto conn = pool.acquire();
            const auto start = spindle::Loop::current().time();
            auto r = conn->query(
                "SELECT $1::int % 10 AS region, $1::int AS amount, pg_backend_pid() AS backend "
                "FROM pg_sleep(0.005)",
                i);
            const auto region = r.get<std::size_t>(0, "region");
            rows[region] += 1;
            totals[region] += r.get<long>(0, "amount");
            backends.insert(r.get<int>(0, "backend"));
            sum += Seconds(spindle::Loop::current().time() - start).count();
          });
        }
      });
      const double wall = Seconds(spindle::Loop::current().time() - t0).count();
      std::printf("%d queries over a pool of %zu connections\n", kQueries, pool.size());
      for (int r = 0; r < kRegions; ++r) {
        std::printf("region %d: %ld rows, total %ld\n", r, rows[static_cast<std::size_t>(r)],
                    totals[static_cast<std::size_t>(r)]);
      }
      std::printf("server connections used: %zu\n", backends.size());
      std::printf("sum of query times: %.2f s\n", sum);
      std::printf("wall time: %.2f s\n", wall);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_report: %s\n", e.what());
    return 1;
  }
}
