// HTTPS against nginx: the same "Hello, World!" over TLS 1.3, the same certificate (EC
// P-256), each server on one thread pinned to CPU 0, wrk (one thread, pinned to CPU 1) as the
// load, in one run.
//
// BM_Https_KeepAlive/C: wrk with C keep-alive connections. BM_Https_NewConnections/C: every
// request on a new connection (wrk sends Connection: close), so each is a full TLS handshake.
// Counters per server (nginx_, and spindle on each backend: epoll_, uring_): req_per_s, and
// req_per_cpu_s = requests per second of server CPU (the fair figure on a 2-core machine,
// where wrk is as busy as the server); epoll_cpu_ratio and uring_cpu_ratio = spindle's
// req_per_cpu_s / nginx's (targets: >= 0.9 for both benchmarks); uring_vs_epoll.
// The spindle server is a Stream handler with ServerOptions::tls. Needs nginx (Debian's
// nginx-light), wrk and the openssl command; skipped without them. SPINDLE_LOAD_SECONDS sets
// each wrk run's length (default 5).
#include <atomic>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "load.hpp"

namespace {

using namespace spindle_bench;

struct Result {
  double req_per_s, req_per_cpu_s;
};

Result measure_nginx(int conns, bool new_connections) {
  const std::uint16_t port = free_port();
  Nginx nginx(port, true);
  const double cpu0 = process_cpu_s(nginx.pid());
  const WrkRun w = run_wrk("https://127.0.0.1:" + std::to_string(port) + "/", conns, new_connections);
  const double cpu = process_cpu_s(nginx.pid()) - cpu0;
  return {w.requests / w.seconds, w.requests / cpu};
}

/// A hello handler on a Stream: keep-alive unless asked to close.
void serve_http(spindle::io::Stream& stream) {
  static const std::string body = "Hello, World!";
  for (;;) {
    const std::string request_line = stream.read_line();
    if (request_line.empty()) return;
    bool keep_alive = request_line.find("HTTP/1.1") != std::string::npos;
    for (std::string h = stream.read_line(); h != "\r\n" && h != "\n"; h = stream.read_line()) {
      if (h.empty()) return;
      if (h.rfind("Connection: close", 0) == 0 || h.rfind("connection: close", 0) == 0) {
        keep_alive = false;
      }
    }
    stream.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) +
                 (keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n") + body);
    if (!keep_alive) return;
  }
}

Result measure_spindle(int conns, bool new_connections, spindle::Backend backend) {
  const std::string d = scratch_dir();
  std::atomic<std::uint16_t> port{0};
  std::atomic<spindle::Loop*> loop{nullptr};
  spindle::io::Server* server = nullptr;
  std::thread t([&] {
    pin_self(0);
    spindle::run([&] {
      spindle::io::ServerOptions o;
      o.backlog = 4096;
      o.tls = spindle::io::TlsContext::server(d + "/cert.pem", d + "/key.pem");
      auto s = spindle::io::start_server(serve_http, "127.0.0.1", 0, o);
      server = &s;
      loop = &spindle::Loop::current();
      port = s.port();
      s.serve_forever();
    }, spindle::RunOptions{.backend = backend});
  });
  while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double cpu0 = thread_cpu_s(t);
  const WrkRun w =
      run_wrk("https://127.0.0.1:" + std::to_string(port.load()) + "/", conns, new_connections);
  const double cpu = thread_cpu_s(t) - cpu0;
  loop.load()->call_soon_threadsafe([&] { server->close(); });
  t.join();
  return {w.requests / w.seconds, w.requests / cpu};
}

void https(benchmark::State& state, bool new_connections) {
  if (!have("nginx") || !have("wrk") || !have("openssl") || !have("taskset")) {
    state.SkipWithError("needs nginx (nginx-light), wrk, openssl and taskset");
    return;
  }
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  Result n{}, e{}, u{};
  for (auto _ : state) {
    n = measure_nginx(conns, new_connections);
    e = measure_spindle(conns, new_connections, spindle::Backend::Epoll);
    if (io_uring_usable()) u = measure_spindle(conns, new_connections, spindle::Backend::IoUring);
  }
  state.counters["nginx_req_per_s"] = n.req_per_s;
  state.counters["nginx_req_per_cpu_s"] = n.req_per_cpu_s;
  state.counters["epoll_req_per_s"] = e.req_per_s;
  state.counters["epoll_req_per_cpu_s"] = e.req_per_cpu_s;
  state.counters["epoll_cpu_ratio"] = e.req_per_cpu_s / n.req_per_cpu_s;
  if (u.req_per_cpu_s > 0) {  // (io_uring refused: epoll and nginx only)
    state.counters["uring_req_per_s"] = u.req_per_s;
    state.counters["uring_req_per_cpu_s"] = u.req_per_cpu_s;
    state.counters["uring_cpu_ratio"] = u.req_per_cpu_s / n.req_per_cpu_s;
    state.counters["uring_vs_epoll"] = u.req_per_cpu_s / e.req_per_cpu_s;
  }
}

void BM_Https_KeepAlive(benchmark::State& state) { https(state, false); }
BENCHMARK(BM_Https_KeepAlive)->Arg(50)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_Https_NewConnections(benchmark::State& state) { https(state, true); }
BENCHMARK(BM_Https_NewConnections)->Arg(50)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
