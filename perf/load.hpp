// Shared by the load benchmarks (bench_https, bench_http, bench_db): a certificate, nginx
// started on a config of ours, wrk and other programs run pinned, client loops on a thread of
// their own, and CPU accounting for processes and threads. Servers go on CPU 0,
// load generators on CPU 1.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <spindle/spindle.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace spindle_bench {

inline bool have(const char* program) {
  return std::system(("command -v " + std::string(program) + " > /dev/null 2>&1").c_str()) == 0;
}

/// A python3 that imports `modules` (Debian's packages are the system interpreter's, which
/// may not be the first python3 on the PATH); empty if none does.
inline std::string python_with(const std::string& modules) {
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    if (std::system((std::string(candidate) + " -c 'import " + modules + "' > /dev/null 2>&1").c_str()) == 0) {
      return candidate;
    }
  }
  return {};
}

/// Seconds per load run: $SPINDLE_LOAD_SECONDS, default 5 (the smoke run uses 1).
inline int load_seconds() {
  const char* s = std::getenv("SPINDLE_LOAD_SECONDS");
  return s ? std::max(1, std::atoi(s)) : 5;
}

inline void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

inline void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

/// A temporary directory (removed at exit) holding cert.pem and key.pem for localhost.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    static char tmpl[] = "/tmp/spindle-load-XXXXXX";
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

inline std::uint16_t free_port() {
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

/// Waits (up to `seconds`) until something accepts connections on port.
inline void wait_listening(std::uint16_t port, int seconds = 4) {
  for (int i = 0; i < seconds * 50; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

/// The CPUs this process may run on (sched_getaffinity), in order; {0} if unknown.
inline std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

/// Every CPU this process may use, as a taskset list ("0,1" on a 2-CPU machine).
inline std::string all_cpus() {
  std::string out;
  for (int c : usable_cpus()) {
    if (!out.empty()) out += ',';
    out += std::to_string(c);
  }
  return out;
}

/// Starts argv pinned to `cpus` (a taskset CPU list such as "0" or "0-1"; taskset execs it:
/// the pid is the program's).
inline pid_t spawn_pinned(const std::string& cpus, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"taskset", "-c", cpus});
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, "taskset", nullptr, nullptr, args.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + argv[3]);
  }
  return pid;
}
inline pid_t spawn_pinned(int cpu, std::vector<std::string> argv) {
  return spawn_pinned(std::to_string(cpu), std::move(argv));
}

/// CPU seconds of a process and of its child processes still running (nginx's workers).
inline double process_tree_cpu_s(pid_t pid);

/// User + system CPU seconds of a process so far.
inline double process_cpu_s(pid_t pid) {
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

inline double process_tree_cpu_s(pid_t pid) {
  double total = process_cpu_s(pid);
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
  for (pid_t c; children >> c;) total += process_cpu_s(c);
  return total;
}

inline double thread_cpu_s(std::thread& t) {
  clockid_t cid;
  timespec ts{};
  ::pthread_getcpuclockid(t.native_handle(), &cid);
  ::clock_gettime(cid, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// nginx answering "Hello, World!" on 127.0.0.1:port (TLS with the scratch certificate if
/// `tls`): one process pinned to CPU 0, or with workers > 1 a master and that many worker
/// processes on every CPU. Stops it when destroyed.
class Nginx {
 public:
  Nginx(std::uint16_t port, bool tls, int workers = 1) {
    const std::string d = scratch_dir();
    std::ofstream(d + "/nginx.conf")
        << "daemon off; master_process " << (workers > 1 ? "on" : "off") << "; worker_processes "
        << workers << "; pid " << d << "/nginx.pid;\n"
        << "error_log " << d << "/error.log; worker_rlimit_nofile 65536;\n"
        << "events { worker_connections 8192; }\n"
        << "http {\n  access_log off; default_type text/plain; keepalive_requests 1000000;\n"
        << "  client_body_temp_path " << d << "/body; proxy_temp_path " << d << "/proxy;\n"
        << "  server {\n    listen 127.0.0.1:" << port << (tls ? " ssl" : "") << " backlog=4096;\n"
        << "    ssl_certificate " << d << "/cert.pem; ssl_certificate_key " << d << "/key.pem;\n"
        << "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        << "    location / { return 200 \"Hello, World!\"; }\n  }\n}\n";
    pid_ =
        spawn_pinned(workers > 1 ? all_cpus() : "0", {"nginx", "-p", d, "-c", d + "/nginx.conf"});
    wait_listening(port);
  }
  ~Nginx() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_;
};

/// What one program run by run_pinned() did: its output, wall seconds, its own CPU seconds.
struct ProgramRun {
  std::string out;
  double seconds, cpu_s;
};

/// Runs the shell command line `command` pinned to `cpus` (default CPU 1), output captured;
/// throws if it fails.
inline ProgramRun run_pinned(const std::string& command, const std::string& cpus = "1") {
  const std::string out_path = scratch_dir() + "/program.out";
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid =
      spawn_pinned(cpus, {"sh", "-c", "exec " + command + " > " + out_path + " 2>&1"});
  // Its CPU just before it exits: wait for it to finish without reaping it yet.
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
  const double cpu = process_cpu_s(pid);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream f(out_path);
  std::string out((std::istreambuf_iterator<char>(f)), {});
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(command + " failed: " + out);
  }
  return {std::move(out), seconds, cpu};
}

/// What one wrk run did: requests, wall seconds, and wrk's own CPU seconds.
struct WrkRun {
  double requests, seconds, cpu_s;
};

/// How run_wrk() loads a server.
struct WrkOptions {
  int conns = 100;
  /// wrk threads: one, pinned to CPU 1; more run on every CPU.
  int threads = 1;
  /// Every request asks for Connection: close.
  bool new_connections = false;
  /// Requests sent back to back on each connection before their responses are read (HTTP
  /// pipelining, through a Lua script of ours); 1: none.
  int pipeline = 1;
  /// How long; 0: load_seconds().
  int seconds = 0;
};

/// The Lua script that makes wrk pipeline `depth` requests per round trip.
inline std::string pipeline_script() {
  const std::string path = scratch_dir() + "/pipeline.lua";
  std::ofstream(path) << "init = function(args)\n"
                         "  local depth = tonumber(args[1]) or 1\n"
                         "  local batch = {}\n"
                         "  for i = 1, depth do batch[i] = wrk.format() end\n"
                         "  pipelined = table.concat(batch)\n"
                         "end\n"
                         "request = function() return pipelined end\n";
  return path;
}

/// wrk against url as `o` says. Throws if wrk saw errors or non-2xx answers.
inline WrkRun run_wrk(const std::string& url, const WrkOptions& o) {
  std::string command = "wrk -t" + std::to_string(o.threads) + " -c" + std::to_string(o.conns) +
                        " -d" + std::to_string(o.seconds > 0 ? o.seconds : load_seconds()) + "s" +
                        (o.new_connections ? " -H 'Connection: close'" : "");
  if (o.pipeline > 1) command += " -s " + pipeline_script();
  command += " " + url;
  if (o.pipeline > 1) command += " -- " + std::to_string(o.pipeline);
  const ProgramRun r = run_pinned(command, o.threads > 1 ? all_cpus() : "1");
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex(R"((\d+) requests in)"))) {
    throw std::runtime_error("wrk said: " + r.out);
  }
  if (std::regex_search(r.out, std::regex("Non-2xx|Socket errors: connect [1-9]"))) {
    throw std::runtime_error("wrk saw errors: " + r.out);
  }
  return {std::stod(m[1]), r.seconds, r.cpu_s};
}

/// wrk (one thread, pinned to CPU 1) against url with `conns` connections; with
/// new_connections every request asks for Connection: close. With `threads` > 1, wrk runs
/// that many threads on every CPU. Throws if wrk saw errors.
inline WrkRun run_wrk(const std::string& url, int conns, bool new_connections = false,
                      int threads = 1) {
  WrkOptions o;
  o.conns = conns;
  o.new_connections = new_connections;
  o.threads = threads;
  return run_wrk(url, o);
}

/// Throughput and CPU of one client: operations per wall second and per client CPU second.
struct Rates {
  double per_s = 0, per_cpu_s = 0;
};

/// Runs fn() as the main task of a loop on a thread pinned to CPU 1; fn returns how many
/// operations it did. Rates are per wall second of fn and per CPU second of the thread.
template <class F>
Rates on_client_loop(F fn) {
  long done = 0;
  double seconds = 0, cpu = 0;
  std::thread client([&] {
    pin_self(1);
    spindle::run([&] {
      const auto t0 = std::chrono::steady_clock::now();
      done = fn();
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    cpu = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  });
  client.join();
  return {static_cast<double>(done) / seconds, static_cast<double>(done) / cpu};
}

}  // namespace spindle_bench
