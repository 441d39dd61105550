// HTTPS against nginx: the same "Hello, World!" over TLS 1.3, the same certificate (EC
// P-256), each server on one thread pinned to CPU 0, wrk (one thread, pinned to CPU 1) as the
// load, in one run.
//
// BM_Https_KeepAlive/C: wrk with C keep-alive connections. BM_Https_NewConnections/C: every
// request on a new connection (wrk sends Connection: close), so each is a full TLS handshake.
// Counters per server (nginx_, spindle_): req_per_s, and req_per_cpu_s = requests per second
// of server CPU (the fair figure on a 2-core machine, where wrk is as busy as the server);
// cpu_ratio = spindle's req_per_cpu_s / nginx's (targets: >= 0.9 for both benchmarks).
// Needs nginx (Debian's nginx-light), wrk and the openssl command; skipped without them.
// SPINDLE_HTTPS_SECONDS sets each wrk run's length (default 5).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <atomic>

#include "bench_common.hpp"

namespace {

bool have(const char* program) {
  return std::system(("command -v " + std::string(program) + " > /dev/null 2>&1").c_str()) == 0;
}

int seconds() {
  const char* s = std::getenv("SPINDLE_HTTPS_SECONDS");
  return s ? std::max(1, std::atoi(s)) : 5;
}

/// A temporary directory with cert.pem and key.pem for localhost, removed at exit.
const std::string& cert_dir() {
  static const std::string dir = [] {
    static char tmpl[] = "/tmp/spindle-https-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    std::atexit([] { std::filesystem::remove_all(tmpl); });
    const std::string d = tmpl;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
        "/key.pem -out " + d + "/cert.pem -days 2 -subj /CN=localhost > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
    return d;
  }();
  return dir;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

/// Runs wrk against port for the configured time; returns the number of requests done.
double run_wrk(std::uint16_t port, int conns, bool new_connections) {
  std::string cmd = "taskset -c 1 wrk -t1 -c" + std::to_string(conns) + " -d" +
                    std::to_string(seconds()) + "s";
  if (new_connections) cmd += " -H 'Connection: close'";
  cmd += " https://127.0.0.1:" + std::to_string(port) + "/ 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen wrk");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) {
    throw std::runtime_error("wrk said: " + out);
  }
  if (std::regex_search(out, std::regex("Non-2xx|Socket errors: connect [1-9]"))) {
    throw std::runtime_error("wrk saw errors: " + out);
  }
  return std::stod(m[1]);
}

double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Result {
  double req_per_s, req_per_cpu_s;
};

Result measure_nginx(int conns, bool new_connections) {
  const std::string d = cert_dir();
  const std::uint16_t port = free_port();
  std::ofstream(d + "/nginx.conf")
      << "daemon off; master_process off; worker_processes 1; pid " << d << "/nginx.pid;\n"
      << "error_log " << d << "/error.log;\n"
      << "events { worker_connections 4096; }\n"
      << "http {\n  access_log off; default_type text/plain; keepalive_requests 1000000;\n"
      << "  client_body_temp_path " << d << "/body; proxy_temp_path " << d << "/proxy;\n"
      << "  server {\n    listen 127.0.0.1:" << port << " ssl;\n"
      << "    ssl_certificate " << d << "/cert.pem; ssl_certificate_key " << d << "/key.pem;\n"
      << "    ssl_protocols TLSv1.2 TLSv1.3;\n"
      << "    location / { return 200 \"Hello, World!\"; }\n  }\n}\n";
  const std::string conf = d + "/nginx.conf";
  const char* argv[] = {"taskset", "-c", "0", "nginx", "-p", d.c_str(), "-c", conf.c_str(), nullptr};
  pid_t pid = -1;
  if (::posix_spawnp(&pid, "taskset", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    throw std::runtime_error("cannot start nginx");
  }
  // taskset execs nginx in the same process: pid is nginx's. Wait until it listens.
  for (int i = 0; i < 200; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double cpu0 = process_cpu_s(pid);
  const auto t0 = std::chrono::steady_clock::now();
  const double requests = run_wrk(port, conns, new_connections);
  const double wall = spindle_bench::ns_since(t0) / 1e9;
  const double cpu = process_cpu_s(pid) - cpu0;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  return {requests / wall, requests / cpu};
}

/// The http_hello example's handler: keep-alive unless asked to close.
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

double thread_cpu_s(std::thread& t) {
  clockid_t cid;
  timespec ts{};
  ::pthread_getcpuclockid(t.native_handle(), &cid);
  ::clock_gettime(cid, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Result measure_spindle(int conns, bool new_connections) {
  const std::string d = cert_dir();
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
    });
  });
  while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double cpu0 = thread_cpu_s(t);
  const auto t0 = std::chrono::steady_clock::now();
  const double requests = run_wrk(port.load(), conns, new_connections);
  const double wall = spindle_bench::ns_since(t0) / 1e9;
  const double cpu = thread_cpu_s(t) - cpu0;
  loop.load()->call_soon_threadsafe([&] { server->close(); });
  t.join();
  return {requests / wall, requests / cpu};
}

void https(benchmark::State& state, bool new_connections) {
  if (!have("nginx") || !have("wrk") || !have("openssl") || !have("taskset")) {
    state.SkipWithError("needs nginx (nginx-light), wrk, openssl and taskset");
    return;
  }
  const int conns = static_cast<int>(state.range(0));
  Result n{}, s{};
  for (auto _ : state) {
    n = measure_nginx(conns, new_connections);
    s = measure_spindle(conns, new_connections);
  }
  state.counters["nginx_req_per_s"] = n.req_per_s;
  state.counters["nginx_req_per_cpu_s"] = n.req_per_cpu_s;
  state.counters["spindle_req_per_s"] = s.req_per_s;
  state.counters["spindle_req_per_cpu_s"] = s.req_per_cpu_s;
  state.counters["cpu_ratio"] = s.req_per_cpu_s / n.req_per_cpu_s;
  state.counters["throughput_ratio"] = s.req_per_s / n.req_per_s;
}

void BM_Https_KeepAlive(benchmark::State& state) { https(state, false); }
BENCHMARK(BM_Https_KeepAlive)->Arg(50)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_Https_NewConnections(benchmark::State& state) { https(state, true); }
BENCHMARK(BM_Https_NewConnections)->Arg(50)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
