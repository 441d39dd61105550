// spindle-http under load, in one run against its baselines.
//
// BM_Http_KeepAlive/C: the http_hello example's server (http::serve on Boost.Beast, one
//   thread pinned to CPU 0) against nginx (one process, CPU 0), each driven by wrk (one
//   thread, CPU 1) with C keep-alive connections. Counters: nginx_ and spindle_ req_per_s and
//   req_per_cpu_s (requests per second of server CPU); cpu_ratio = spindle / nginx (target
//   >= 0.9 at 1,000 connections).
// BM_Http_Fetch/T: T tasks calling http::fetch in a loop (libcurl on spindle's reactor, one
//   thread on CPU 1) against wrk with T connections, both driving the same spindle server on
//   CPU 0. Counters: fetch_ and wrk_ req_per_s and req_per_client_cpu_s; client_cpu_ratio =
//   fetch / wrk (no target: wrk is a load generator written to the metal, fetch a full client).
// Needs nginx and wrk (skipped without them). SPINDLE_LOAD_SECONDS sets each run's length.
#include <spindle/http.hpp>

#include <atomic>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "load.hpp"

namespace {

using namespace spindle_bench;

/// The http_hello server on a thread pinned to CPU 0, until stop().
class HelloServer {
 public:
  HelloServer() {
    thread_ = std::thread([this] {
      pin_self(0);
      spindle::run([this] {
        spindle::http::ServeOptions o;
        o.backlog = 4096;
        auto s = spindle::http::serve(
            [](spindle::http::Request&) { return spindle::http::text("Hello, World!"); },
            "127.0.0.1", 0, o);
        server_ = &s;
        loop_ = &spindle::Loop::current();
        port_ = s.port();
        spindle::Event stopped;
        stopped_ = &stopped;
        stopped.wait();
        s.close();
      });
    });
    while (port_.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HelloServer() {
    loop_.load()->call_soon_threadsafe([this] { stopped_->set(); });
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_.load()) + "/"; }
  double cpu_s() { return thread_cpu_s(thread_); }

 private:
  std::thread thread_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<spindle::Loop*> loop_{nullptr};
  spindle::http::Server* server_ = nullptr;
  spindle::Event* stopped_ = nullptr;
};

bool tools(benchmark::State& state) {
  if (have("nginx") && have("wrk") && have("taskset")) return true;
  state.SkipWithError("needs nginx (nginx-light), wrk and taskset");
  return false;
}

void BM_Http_KeepAlive(benchmark::State& state) {
  if (!tools(state)) return;
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  double nginx_rps = 0, nginx_cpu = 0, spindle_rps = 0, spindle_cpu = 0;
  for (auto _ : state) {
    {
      const std::uint16_t port = free_port();
      Nginx nginx(port, false);
      const double cpu0 = process_cpu_s(nginx.pid());
      const WrkRun w = run_wrk("http://127.0.0.1:" + std::to_string(port) + "/", conns);
      nginx_cpu = w.requests / (process_cpu_s(nginx.pid()) - cpu0);
      nginx_rps = w.requests / w.seconds;
    }
    HelloServer server;
    const double cpu0 = server.cpu_s();
    const WrkRun w = run_wrk(server.url(), conns);
    spindle_cpu = w.requests / (server.cpu_s() - cpu0);
    spindle_rps = w.requests / w.seconds;
  }
  state.counters["nginx_req_per_s"] = nginx_rps;
  state.counters["nginx_req_per_cpu_s"] = nginx_cpu;
  state.counters["spindle_req_per_s"] = spindle_rps;
  state.counters["spindle_req_per_cpu_s"] = spindle_cpu;
  state.counters["cpu_ratio"] = spindle_cpu / nginx_cpu;
}
BENCHMARK(BM_Http_KeepAlive)->Arg(1000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_Http_Fetch(benchmark::State& state) {
  if (!tools(state)) return;
  raise_fd_limit();
  const int tasks = static_cast<int>(state.range(0));
  double wrk_rps = 0, wrk_cpu = 0, fetch_rps = 0, fetch_cpu = 0;
  for (auto _ : state) {
    HelloServer server;
    const WrkRun w = run_wrk(server.url(), tasks);
    wrk_rps = w.requests / w.seconds;
    wrk_cpu = w.requests / w.cpu_s;
    const Rates fetch = on_client_loop([&] {
      long done = 0;
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(load_seconds());
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int i = 0; i < tasks; ++i) {
          g.spawn([&] {
            while (std::chrono::steady_clock::now() < end) {
              if (spindle::http::fetch(server.url()).status == 200) ++done;
            }
          });
        }
      });
      return done;
    });
    fetch_rps = fetch.per_s;
    fetch_cpu = fetch.per_cpu_s;
  }
  state.counters["wrk_req_per_s"] = wrk_rps;
  state.counters["wrk_req_per_client_cpu_s"] = wrk_cpu;
  state.counters["fetch_req_per_s"] = fetch_rps;
  state.counters["fetch_req_per_client_cpu_s"] = fetch_cpu;
  state.counters["client_cpu_ratio"] = fetch_cpu / wrk_cpu;
}
BENCHMARK(BM_Http_Fetch)->Arg(100)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
