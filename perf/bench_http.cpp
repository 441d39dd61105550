// spindle-http under load, in one run against its baselines.
//
// BM_Http_KeepAlive/C: the http_hello example's server (http::serve on Boost.Beast, one
//   thread pinned to CPU 0) against nginx (one process, CPU 0), each driven by wrk (one
//   thread, CPU 1) with C keep-alive connections. Counters: nginx_ and spindle_ req_per_s and
//   req_per_cpu_s (requests per second of server CPU); cpu_ratio = spindle / nginx (target
//   >= 0.9 at 1,000 connections).
// BM_Http_KeepAlive_Loops/C: every core: the same server on 2 loops (run_threads, a server
//   per loop on one port with SO_REUSEPORT), nginx with 2 worker processes and, with
//   SPINDLE_GO_HELLO set, Go's net/http with GOMAXPROCS=2; wrk with 2 threads; nothing pinned
//   (on 2 cores wrk shares them). Counters as above plus go_ ones; cpu_ratio = spindle /
//   nginx per server CPU-second (target >= 0.9), cpu_vs_go = spindle / Go.
// BM_Http_Fetch/T: T tasks calling http::fetch in a loop (libcurl on spindle's reactor, one
//   thread on CPU 1) against wrk with T connections, both driving the same spindle server on
//   CPU 0. Counters: fetch_ and wrk_ req_per_s and req_per_client_cpu_s; client_cpu_ratio =
//   fetch / wrk (no target: wrk is a load generator written to the metal, fetch a full client).
// BM_Http_Backends/C: the same server on each backend against C hello servers on epoll and
//   on io_uring (built with liburing); see its comment.
// Needs nginx and wrk (skipped without them). SPINDLE_LOAD_SECONDS sets each run's length.
#include <atomic>
#include <cstdlib>
#include <spindle/http.hpp>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "load.hpp"
#if defined(SPINDLE_BENCH_C_SERVERS)
#include "echo/epoll_echo.h"
#include "echo/uring_echo.h"
#endif

namespace {

using namespace spindle_bench;

/// The http_hello server on a thread pinned to CPU 0 (on `backend`), until destroyed.
class HelloServer {
 public:
  explicit HelloServer(spindle::Backend backend = spindle::Backend::Auto) {
    thread_ = std::thread([this, backend] {
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
      }, spindle::RunOptions{.backend = backend});
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

#if defined(SPINDLE_BENCH_C_SERVERS)
/// What the C servers answer: the size of spindle's reply (status line, Date, Server,
/// Content-Type, Content-Length, body).
constexpr const char* kCReply =
    "HTTP/1.1 200 OK\r\nDate: Sat, 05 Dec 2026 21:00:00 GMT\r\nServer: spindle\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!";

/// requests per second of server CPU for a C hello server (epoll, or `uring`) on a thread
/// pinned to CPU 0, under wrk with `conns` connections.
double c_hello_per_cpu_s(int conns, bool uring) {
  volatile int stop = 0;
  std::atomic<std::uint16_t> port{0};
  std::thread t([&] {
    pin_self(0);
    std::uint16_t p = 0;
    const int lfd = listening_socket(&p);
    port = p;
    if (uring) {
      uring_reply_serve(lfd, kCReply, &stop);  // (io_uring_usable() said the kernel takes it)
    } else {
      epoll_reply_serve(lfd, kCReply, &stop);
    }
    ::close(lfd);
  });
  while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double cpu0 = thread_cpu_s(t);
  const WrkRun w = run_wrk("http://127.0.0.1:" + std::to_string(port.load()) + "/", conns);
  const double cpu = thread_cpu_s(t) - cpu0;
  stop = 1;
  t.join();
  return w.requests / cpu;
}

/// The same for the http_hello server on `backend`.
double spindle_hello_per_cpu_s(int conns, spindle::Backend backend) {
  HelloServer server(backend);
  const double cpu0 = server.cpu_s();
  const WrkRun w = run_wrk(server.url(), conns);
  return w.requests / (server.cpu_s() - cpu0);
}

// The http_hello server on each backend against the C hello servers on each (perf/echo/ in
// reply mode), all pinned to CPU 0 under wrk on CPU 1, in one run. Counters: req_per_cpu_s
// of c_epoll_, c_uring_, epoll_, uring_; uring_vs_epoll = spindle io_uring / spindle epoll
// (target >= 1.2 at 1,000 connections), epoll_vs_c and uring_vs_c against the matching C
// server (target >= 0.97), c_uring_vs_c_epoll (what io_uring gives C here).
void BM_Http_Backends(benchmark::State& state) {
  if (!tools(state)) return;
  if (!io_uring_usable()) return state.SkipWithError("io_uring is refused here");
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  double c_epoll = 0, c_uring = 0, epoll = 0, uring = 0;
  for (auto _ : state) {
    c_epoll = c_hello_per_cpu_s(conns, false);
    c_uring = c_hello_per_cpu_s(conns, true);
    epoll = spindle_hello_per_cpu_s(conns, spindle::Backend::Epoll);
    uring = spindle_hello_per_cpu_s(conns, spindle::Backend::IoUring);
  }
  state.counters["c_epoll_req_per_cpu_s"] = c_epoll;
  state.counters["c_uring_req_per_cpu_s"] = c_uring;
  state.counters["epoll_req_per_cpu_s"] = epoll;
  state.counters["uring_req_per_cpu_s"] = uring;
  state.counters["uring_vs_epoll"] = uring / epoll;
  state.counters["epoll_vs_c"] = epoll / c_epoll;
  state.counters["uring_vs_c"] = uring / c_uring;
  state.counters["c_uring_vs_c_epoll"] = c_uring / c_epoll;
}
BENCHMARK(BM_Http_Backends)->Arg(1000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);
#endif

/// http_hello with --threads 2's layout in this process: `loops` loops (run_threads,
/// unpinned), one server per loop sharing the port (SO_REUSEPORT), until destroyed.
class ShardedHelloServer {
 public:
  explicit ShardedHelloServer(unsigned loops) : stop_(loops) {
    thread_ = std::thread([this, loops] {
      spindle::run_threads(loops, [this](unsigned i) {
        spindle::http::ServeOptions o;
        o.backlog = 4096;
        o.reuse_port = true;
        if (i != 0) {
          while (port_.load() == 0) spindle::sleep(std::chrono::milliseconds(1));
        }
        auto s = spindle::http::serve(
            [](spindle::http::Request&) { return spindle::http::text("Hello, World!"); },
            "127.0.0.1", port_.load(), o);
        if (i == 0) port_ = s.port();
        ++listening_;
        (void)stop_.get();  // from the destructor
        s.close();
      });
    });
    while (listening_.load() < loops) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ShardedHelloServer() {
    for (std::size_t i = 0; i < stop_.capacity(); ++i) stop_.put(1);  // one per loop
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_.load()) + "/"; }

 private:
  spindle::Channel<int> stop_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<unsigned> listening_{0};
  std::thread thread_;
};

/// CPU seconds this process (the server's loops; the benchmark thread only waits) has used.
double own_cpu_s() { return process_cpu_s(::getpid()); }

// Every core: http_hello's layout with 2 loops, nginx with 2 worker processes, and Go's
// net/http with GOMAXPROCS=2 (when SPINDLE_GO_HELLO names the program built from
// perf/go/hello.go), each against wrk with 2 threads and C connections, nothing pinned: on a
// 2-core machine wrk shares the cores, so requests per server CPU-second is the figure.
void BM_Http_KeepAlive_Loops(benchmark::State& state) {
  if (!tools(state)) return;
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  const char* go = std::getenv("SPINDLE_GO_HELLO");
  double nginx_rps = 0, nginx_cpu = 0, spindle_rps = 0, spindle_cpu = 0, go_rps = 0, go_cpu = 0;
  for (auto _ : state) {
    {
      const std::uint16_t port = free_port();
      Nginx nginx(port, false, 2);
      const double cpu0 = process_tree_cpu_s(nginx.pid());
      const WrkRun w = run_wrk("http://127.0.0.1:" + std::to_string(port) + "/", conns, false, 2);
      nginx_cpu = w.requests / (process_tree_cpu_s(nginx.pid()) - cpu0);
      nginx_rps = w.requests / w.seconds;
    }
    {
      ShardedHelloServer server(2);
      const double cpu0 = own_cpu_s();
      const WrkRun w = run_wrk(server.url(), conns, false, 2);
      spindle_cpu = w.requests / (own_cpu_s() - cpu0);
      spindle_rps = w.requests / w.seconds;
    }
    if (go && *go) {
      const std::uint16_t port = free_port();
      ::setenv("GOMAXPROCS", "2", 1);
      const pid_t pid = spawn_pinned(all_cpus(), {go, std::to_string(port)});
      wait_listening(port);
      const double cpu0 = process_cpu_s(pid);
      const WrkRun w = run_wrk("http://127.0.0.1:" + std::to_string(port) + "/", conns, false, 2);
      go_cpu = w.requests / (process_cpu_s(pid) - cpu0);
      go_rps = w.requests / w.seconds;
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
  state.counters["nginx_req_per_s"] = nginx_rps;
  state.counters["nginx_req_per_cpu_s"] = nginx_cpu;
  state.counters["spindle_req_per_s"] = spindle_rps;
  state.counters["spindle_req_per_cpu_s"] = spindle_cpu;
  state.counters["cpu_ratio"] = spindle_cpu / nginx_cpu;
  if (go_cpu > 0) {
    state.counters["go_req_per_s"] = go_rps;
    state.counters["go_req_per_cpu_s"] = go_cpu;
    state.counters["cpu_vs_go"] = spindle_cpu / go_cpu;
  }
}
BENCHMARK(BM_Http_KeepAlive_Loops)
    ->Arg(1000)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

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
