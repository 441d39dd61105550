// The soak run: an HTTP server with PostgreSQL and Redis behind it, under mixed load for a
// while, sampled every second; it fails if anything that should stay level rises.
//
// Usage (the servers come from tests/db_servers.py):
//   python3 tests/db_servers.py --pg --redis -- build/perf/spindle_soak [SECONDS] [CSV]
//
// Load, all on loopback from this process's own tasks: keep-alive clients reading users
// (PostgreSQL, then a Redis cache), clients that connect, make one to three requests and
// close, slow clients that send their request a few bytes at a time (some slower than the
// server's header timeout), requests whose client gives up and closes before the answer,
// requests cancelled by a client-side timeout, and handlers whose PostgreSQL query runs
// past the handler's own timeout (504). Each second: resident memory, open fds, live tasks,
// pending timers, stack bytes resident, requests done and their 99th-percentile latency,
// one CSV line per second.
//
// The verdict (after a warm-up of a fifth of the run): the median of the last third of the
// samples against the median of the first third, for RSS, fds, tasks, timers and p99. A
// leak shows as a rise between them however noisy each second is; a final value alone
// would not tell a leak from a busy moment. SPINDLE_SOAK_LEAK=1 plants a leak, to show that
// the verdict catches one.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <spindle/http.hpp>
#include <spindle/pg.hpp>
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace http = spindle::http;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
  double t;
  double rss_mib;
  double fds;
  double tasks;
  double timers;
  double stack_mib;
  double requests;
  double p99_ms;
};

/// The value of `series` (name and labels as written) in a Prometheus text; -1 if absent.
double metric(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + series.size() + 2);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Latencies of the requests finished since the last sample.
struct Latencies {
  std::vector<double> ms;
  void add(Clock::duration d) { ms.push_back(std::chrono::duration<double, std::milli>(d).count()); }
  double p99() {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  }
};

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

/// One request on an open connection; false if the connection ended.
bool request(spindle::io::Stream& s, const std::string& target, Latencies& lat, bool close = false) {
  const auto start = Clock::now();
  s.write("GET " + target + " HTTP/1.1\r\nHost: soak\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n");
  const std::string head = s.read_until("\r\n\r\n");
  const auto at = head.find("Content-Length: ");
  if (at == std::string::npos) return false;
  s.read_exactly(std::stoul(head.substr(at + 16)));
  lat.add(Clock::now() - start);
  return head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 504");
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : std::atof(env_or("SPINDLE_SOAK_SECONDS", "120"));
  const std::string csv_path = argc > 2 ? argv[2] : env_or("SPINDLE_SOAK_CSV", "");
  const char* pg_conninfo = std::getenv("SPINDLE_PG");
  const char* redis_port = std::getenv("SPINDLE_REDIS_PORT");
  if (!pg_conninfo || !redis_port) {
    std::fprintf(stderr, "spindle_soak: run through tests/db_servers.py --pg --redis (SPINDLE_PG, SPINDLE_REDIS_PORT)\n");
    return 2;
  }
  std::vector<Sample> samples;
  int failures = 0;
  spindle::run([&] {
    spindle::pg::Pool pg(pg_conninfo, 16);
    spindle::redis::Pool redis(std::string("redis://127.0.0.1:") + redis_port, 16);
    pg.query("CREATE TABLE IF NOT EXISTS soak_users (id int PRIMARY KEY, name text)");
    pg.query("INSERT INTO soak_users SELECT g, 'user ' || g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING");

    // SPINDLE_SOAK_LEAK=1: every 50th user request leaves a task asleep for an hour (a task,
    // a timer and a stack each): the run that proves the verdict sees a leak.
    const bool leak = std::getenv("SPINDLE_SOAK_LEAK") != nullptr;
    std::size_t served = 0;
    std::vector<spindle::Task<void>> leaked;
    http::Router app;
    app.get("/user/{id}", [&](int id) {
      if (leak && ++served % 50 == 0) leaked.push_back(spindle::spawn([] { spindle::sleep(1h); }));
      const std::string key = "soak:user:" + std::to_string(id % 1000 + 1);
      const spindle::redis::Reply cached = redis.command("GET", key);
      if (!cached.is_nil()) return cached.str();
      const auto name = pg.query_value<std::string>("SELECT name FROM soak_users WHERE id = $1", id % 1000 + 1);
      redis.command("SET", key, name, "EX", "2");
      return name;
    });
    app.get("/slow", [&]() -> std::string {
      try {
        spindle::with_timeout(20ms, [&] { pg.query("SELECT pg_sleep(0.05)"); });
        return "slept";
      } catch (const spindle::TimeoutError&) {
        throw http::HttpError(http::status::gateway_timeout, "the database took too long");
      }
    });
    app.get("/metrics", http::metrics());
    http::ServeOptions options;
    options.header_timeout = 1s;
    options.idle_timeout = 5s;
    auto server = http::serve(std::move(app), "127.0.0.1", 0, options);
    const std::uint16_t port = server.port();

    Latencies lat;
    std::size_t done = 0;
    bool stopping = false;
    std::vector<spindle::Task<void>> load;
    const auto add = [&](auto f) { load.push_back(spindle::spawn(std::move(f))); };
    const auto connect = [&] { return spindle::io::open_connection("127.0.0.1", port); };
    // n clients, each a loop of rounds until the end: a fresh connection per round, what
    // body(c, round, stream) does with it, failures (resets, timeouts, 408s) shrugged off.
    const auto clients = [&](int n, auto body) {
      for (int c = 0; c < n; ++c) {
        add([&, c, body] {
          for (int round = 0; !stopping; ++round) {
            try {
              auto s = connect();
              body(c, round, s);
            } catch (const std::exception&) {
            }
          }
        });
      }
    };
    // Keep-alive readers: 200 requests a connection.
    clients(32, [&](int c, int, spindle::io::Stream& s) {
      for (int i = 0; i < 200 && !stopping; ++i) done += request(s, "/user/" + std::to_string(c * 31 + i), lat);
    });
    // Churn: connect, one to three requests, close.
    clients(8, [&](int c, int round, spindle::io::Stream& s) {
      const int n = 1 + (round + c) % 3;
      for (int i = 0; i < n; ++i) done += request(s, "/user/" + std::to_string(round), lat, i == n - 1);
    });
    // Slow clients, a quarter slower than the header timeout (408, closed).
    clients(8, [&](int c, int round, spindle::io::Stream& s) {
      const std::string req = "GET /user/" + std::to_string(c) + " HTTP/1.1\r\nHost: soak\r\n\r\n";
      const auto pause = (round + c) % 4 == 0 ? 150ms : 20ms;  // 150 ms x 9 pieces: past 1 s
      for (std::size_t at = 0; at < req.size(); at += 4) {
        s.write(req.substr(at, 4));
        spindle::sleep(pause);
      }
      s.read_until("\r\n\r\n");
    });
    // Clients that give up: close before the answer, or time out and drop the connection.
    clients(8, [&](int c, int round, spindle::io::Stream& s) {
      if ((round + c) % 2 == 0) {
        s.write("GET /slow HTTP/1.1\r\nHost: soak\r\n\r\n");
        spindle::sleep(5ms);
        s.close();  // gone before the answer
      } else {
        try {
          spindle::with_timeout(10ms, [&] { request(s, "/slow", lat); });
        } catch (const spindle::TimeoutError&) {
        }
      }
      spindle::sleep(10ms);
    });
    // Handlers timing out against the database: answered 504.
    clients(1, [&](int, int, spindle::io::Stream& s) {
      for (int i = 0; i < 20 && !stopping; ++i) done += request(s, "/slow", lat);
    });

    std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (csv) std::fprintf(csv, "t,rss_mib,fds,tasks,timers,stack_mib,requests,p99_ms\n");
    const auto start = Clock::now();
    for (int second = 1; second <= static_cast<int>(seconds); ++second) {
      spindle::sleep_until(start + std::chrono::seconds(second));
      // What a scrape of /metrics reports: the soak watches what a dashboard would.
      const std::string m = http::metrics_text();
      const Sample s{static_cast<double>(second),
                     metric(m, "process_resident_memory_bytes") / (1024.0 * 1024.0),
                     metric(m, "process_open_fds"),
                     metric(m, "spindle_tasks{loop=\"0\"}"),
                     metric(m, "spindle_timers{loop=\"0\"}"),
                     metric(m, "spindle_stack_resident_bytes{loop=\"0\"}") / (1024.0 * 1024.0),
                     static_cast<double>(done), lat.p99()};
      samples.push_back(s);
      lat.ms.clear();
      done = 0;
      if (csv) {
        std::fprintf(csv, "%.0f,%.2f,%.0f,%.0f,%.0f,%.2f,%.0f,%.3f\n", s.t, s.rss_mib, s.fds, s.tasks,
                     s.timers, s.stack_mib, s.requests, s.p99_ms);
        std::fflush(csv);
      }
      std::printf("%4.0f s  rss %7.1f MiB  fds %4.0f  tasks %5.0f  timers %5.0f  stacks %6.1f MiB  %6.0f req/s  p99 %7.2f ms\n",
                  s.t, s.rss_mib, s.fds, s.tasks, s.timers, s.stack_mib, s.requests, s.p99_ms);
      std::fflush(stdout);
    }
    if (csv) std::fclose(csv);
    stopping = true;
    for (auto& t : load) t.cancel();
    for (auto& t : load) {
      try {
        t.join();
      } catch (const spindle::CancelledError&) {
      }
    }
    server.close();
    server.wait_closed();
    for (auto& t : leaked) t.cancel();
  });

  // The verdict: the last third against the first, after the warm-up.
  const std::size_t warm = samples.size() / 5;
  const std::size_t n = samples.size() - warm;
  if (n < 6) {
    std::fprintf(stderr, "spindle_soak: too short a run to judge a trend (%zu samples)\n", samples.size());
    return 2;
  }
  const auto third = [&](std::size_t k, double Sample::*field) {
    std::vector<double> v;
    for (std::size_t i = warm + k * n / 3; i < warm + (k + 1) * n / 3; ++i) v.push_back(samples[i].*field);
    return median(v);
  };
  struct Check {
    const char* name;
    double Sample::*field;
    double factor, slack;  // rising: last > first * factor + slack
  };
  const Check checks[] = {
      {"resident memory (MiB)", &Sample::rss_mib, 1.10, 8},
      {"open fds", &Sample::fds, 1.25, 16},
      {"live tasks", &Sample::tasks, 1.25, 16},
      {"pending timers", &Sample::timers, 1.25, 16},
      {"stack memory resident (MiB)", &Sample::stack_mib, 1.25, 2},
      {"p99 latency (ms)", &Sample::p99_ms, 3.0, 20},
  };
  std::printf("\ntrend (median of the first third -> the last third, after %zu s of warm-up):\n", warm);
  for (const Check& c : checks) {
    const double first = third(0, c.field), last = third(2, c.field);
    const bool rising = last > first * c.factor + c.slack;
    std::printf("  %-28s %10.2f -> %10.2f  %s\n", c.name, first, last, rising ? "RISING" : "level");
    failures += rising;
  }
  const double requests = third(0, &Sample::requests) + third(2, &Sample::requests);
  if (requests <= 0) {
    std::printf("  no requests were served\n");
    ++failures;
  }
  std::printf(failures ? "soak: FAILED\n" : "soak: ok\n");
  return failures ? 1 : 0;
}
