// TCP echo against the physical floor: a 64-byte request/response ping-pong over loopback
// with 1, 50, 300 and 1,000 connections, the server and the load generator each on one
// thread, pinned to different cores.
//
// BM_Echo/N: runs the same raw-epoll load, in one run, against the two C baselines, a plain
//   epoll echo server (perf/echo/epoll_echo.c, `c_`) and an io_uring one (perf/echo/
//   uring_echo.c, `uc_`), then against spindle::io::start_server with a task per connection
//   on each backend (epoll: `socket_`, `stream_`; io_uring: `usocket_`, `ustream_`), in two
//   styles: `socket` handlers call Socket::recv/send_all into a buffer of their own; `stream`
//   handlers are what an asyncio user writes (data = Stream::read(4096); write(data);
//   drain()). Counters per server: rt_per_s (round trips per second), p50_us/p99_us latency,
//   cpu_ns_per_rt (the server thread's CPU time per round trip). On a 2-core machine the load
//   generator is as busy as the server, so CPU per round trip is the fair comparison:
//   socket_vs_c and stream_vs_c are round trips per server CPU-second against epoll C's,
//   usocket_vs_uc and ustream_vs_uc against io_uring C's (targets: >= 0.97);
//   ustream_vs_stream and usocket_vs_socket are io_uring against epoll, per CPU-second
//   (targets: >= 1.0, >= 1.2 at 1,000); *_throughput_ratio are round trips per second.
// BM_Echo_Idle/N: N connections to a spindle server, each of which has made one round trip
//   (what a real server holds), then idle with their handlers parked in Stream::read;
//   bytes_per_connection_epoll and _io_uring = the process's resident memory growth / N on
//   each backend (target <= 6 KiB at 10,000).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "echo/epoll_echo.h"
#include "echo/uring_echo.h"

namespace {

constexpr int kMessage = 64;
constexpr int kTotalRoundTrips = 100000;

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

void pin(pthread_t t, int cpu) {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::pthread_setaffinity_np(t, sizeof set, &set);
}

std::vector<int> connect_all(std::uint16_t port, int n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fds(n);
  for (int i = 0; i < n; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[i] < 0 || ::connect(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("load: connect failed");
    }
    const int one = 1;
    ::setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fds[i], F_SETFL, O_NONBLOCK);
  }
  return fds;
}

struct LoadResult {
  double seconds, p50_us, p99_us;
};

// One 64-byte round trip on every connection, one at a time: afterwards the server has
// accepted each connection and its handler is serving it.
void warm_up(const std::vector<int>& fds) {
  char msg[kMessage] = {};
  for (int fd : fds) {
    if (::write(fd, msg, kMessage) != kMessage) throw std::runtime_error("load: write");
    for (int got = 0; got < kMessage;) {
      const ssize_t r = ::read(fd, msg, sizeof msg - static_cast<std::size_t>(got));
      if (r > 0) {
        got += static_cast<int>(r);
      } else if (r == 0 || errno != EAGAIN) {
        throw std::runtime_error("load: the server closed during warm-up");
      }
    }
  }
}

// `rounds` ping-pongs on each of `conns` connections, one raw-epoll thread. `ready` is
// called once every connection is open and has made one round trip: the measured part
// (the server's steady state, without its connection set-up) starts there.
template <class Ready>
LoadResult run_load(std::uint16_t port, int conns, int rounds, Ready ready) {
  std::vector<int> fds = connect_all(port, conns);
  warm_up(fds);
  ready();
  std::vector<int> left(conns, rounds), got(conns, 0);
  std::vector<std::chrono::steady_clock::time_point> sent(conns);
  std::vector<double> latency_ns;
  latency_ns.reserve(static_cast<std::size_t>(conns) * rounds);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < conns; ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  char msg[kMessage];
  std::memset(msg, 'x', sizeof msg);
  char buf[4096];
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < conns; ++i) {
    sent[i] = std::chrono::steady_clock::now();
    if (::write(fds[i], msg, kMessage) != kMessage) throw std::runtime_error("load: write");
  }
  int active = conns;
  epoll_event events[256];
  while (active > 0) {
    const int n = ::epoll_wait(ep, events, 256, 5000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("load: epoll_wait: ") + std::strerror(errno));
    if (n == 0) throw std::runtime_error("load: the server stopped answering");
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(events[k].data.u32);
      const ssize_t r = ::read(fds[i], buf, sizeof buf);
      if (r <= 0) continue;
      got[i] += static_cast<int>(r);
      while (got[i] >= kMessage) {
        got[i] -= kMessage;
        const auto now = std::chrono::steady_clock::now();
        latency_ns.push_back(std::chrono::duration<double, std::nano>(now - sent[i]).count());
        if (--left[i] == 0) {
          --active;
        } else {
          sent[i] = now;
          if (::write(fds[i], msg, kMessage) != kMessage) throw std::runtime_error("load: write");
        }
      }
    }
  }
  const double seconds = spindle_bench::ns_since(t0) / 1e9;
  for (int fd : fds) ::close(fd);
  ::close(ep);
  std::sort(latency_ns.begin(), latency_ns.end());
  auto pct = [&](double p) { return latency_ns[static_cast<std::size_t>(p * (latency_ns.size() - 1))] / 1e3; };
  return {seconds, pct(0.50), pct(0.99)};
}

double thread_cpu_ns(std::thread& t) {
  clockid_t cid;
  timespec ts{};
  if (::pthread_getcpuclockid(t.native_handle(), &cid) != 0 || ::clock_gettime(cid, &ts) != 0) {
    return 0;
  }
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Run {
  double rate, p50_us, p99_us, cpu_ns_per_rt;
};

// Runs the load against a server started by start(port&) on its own thread, which must
// return once stop() was called.
template <class Start, class Stop>
Run measure(int conns, Start start, Stop stop) {
  std::atomic<std::uint16_t> port{0};
  std::thread server([&] { start(port); });
  pin(server.native_handle(), 0);
  pin(::pthread_self(), 1);
  while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int rounds = kTotalRoundTrips / conns;
  double cpu0 = 0;
  const LoadResult r = run_load(port.load(), conns, rounds, [&] { cpu0 = thread_cpu_ns(server); });
  const double cpu = thread_cpu_ns(server) - cpu0;
  stop();
  server.join();
  const double trips = static_cast<double>(conns) * rounds;
  return {trips / r.seconds, r.p50_us, r.p99_us, cpu / trips};
}

// One of the C servers: the epoll one, or (`uring`) the io_uring one.
Run measure_c(int conns, bool uring) {
  volatile int stop_flag = 0;
  return measure(
      conns,
      [&](std::atomic<std::uint16_t>& port) {
        std::uint16_t p = 0;
        const int lfd = spindle_bench::listening_socket(&p);
        port = p;
        if (!uring) {
          epoll_echo_serve(lfd, &stop_flag);
        } else if (uring_echo_serve(lfd, &stop_flag) < 0) {
          throw std::runtime_error("io_uring refused");
        }
        ::close(lfd);
      },
      [&] { stop_flag = 1; });
}

// The handler written against the Socket: recv into a buffer of its own, send it back.
void socket_echo(spindle::io::Stream& s) {
  spindle::io::Socket& sock = s.socket();
  std::byte buf[4096];
  for (;;) {
    const std::size_t n = sock.recv(buf);
    if (n == 0) return;
    sock.send_all(std::string_view(reinterpret_cast<const char*>(buf), n));
  }
}

// The handler an asyncio user writes: data = await reader.read(4096); writer.write(data);
// await writer.drain().
void stream_echo(spindle::io::Stream& s) {
  for (std::string data = s.read(4096); !data.empty(); data = s.read(4096)) {
    s.write(data);
    s.drain();
  }
}

using Handler = void (*)(spindle::io::Stream&);

/// Runs a spindle echo server on the calling thread until `stop` is called from another.
struct SpindleServer {
  Handler handler;
  spindle::Backend backend = spindle::Backend::Epoll;
  std::atomic<spindle::Loop*> loop{nullptr};
  spindle::io::Server* server = nullptr;
  void run(std::atomic<std::uint16_t>& port) {
    spindle::RunOptions ro;
    ro.backend = backend;
    spindle::run([&] {
      spindle::io::ServerOptions opts;
      opts.backlog = 4096;
      auto s = spindle::io::start_server(handler, "127.0.0.1", 0, opts);
      server = &s;
      loop = &spindle::Loop::current();
      port = s.port();
      s.serve_forever();
    }, ro);
  }
  void stop() {
    while (!loop.load()) std::this_thread::yield();
    loop.load()->call_soon_threadsafe([this] { server->close(); });
  }
};

Run measure_spindle(int conns, Handler handler, spindle::Backend backend) {
  SpindleServer srv{handler, backend};
  return measure(
      conns, [&](std::atomic<std::uint16_t>& port) { srv.run(port); }, [&] { srv.stop(); });
}

void BM_Echo(benchmark::State& state) {
  if (!spindle_bench::io_uring_usable()) return state.SkipWithError("io_uring is refused here");
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  using spindle::Backend;
  Run c{}, uc{}, sock{}, stream{}, usock{}, ustream{};
  for (auto _ : state) {
    c = measure_c(conns, false);
    uc = measure_c(conns, true);
    sock = measure_spindle(conns, socket_echo, Backend::Epoll);
    stream = measure_spindle(conns, stream_echo, Backend::Epoll);
    usock = measure_spindle(conns, socket_echo, Backend::IoUring);
    ustream = measure_spindle(conns, stream_echo, Backend::IoUring);
  }
  for (auto [name, r] : {std::pair{"c_", c}, {"uc_", uc}, {"socket_", sock}, {"stream_", stream},
                         {"usocket_", usock}, {"ustream_", ustream}}) {
    const std::string p = name;
    state.counters[p + "rt_per_s"] = r.rate;
    state.counters[p + "p50_us"] = r.p50_us;
    state.counters[p + "p99_us"] = r.p99_us;
    state.counters[p + "cpu_ns_per_rt"] = r.cpu_ns_per_rt;
  }
  state.counters["socket_vs_c"] = c.cpu_ns_per_rt / sock.cpu_ns_per_rt;
  state.counters["stream_vs_c"] = c.cpu_ns_per_rt / stream.cpu_ns_per_rt;
  state.counters["usocket_vs_uc"] = uc.cpu_ns_per_rt / usock.cpu_ns_per_rt;
  state.counters["ustream_vs_uc"] = uc.cpu_ns_per_rt / ustream.cpu_ns_per_rt;
  state.counters["usocket_vs_socket"] = sock.cpu_ns_per_rt / usock.cpu_ns_per_rt;
  state.counters["ustream_vs_stream"] = stream.cpu_ns_per_rt / ustream.cpu_ns_per_rt;
  state.counters["socket_throughput_ratio"] = sock.rate / c.rate;
  state.counters["stream_throughput_ratio"] = stream.rate / c.rate;
  state.counters["ustream_vs_stream_throughput"] = ustream.rate / stream.rate;
  state.counters["uc_vs_c_throughput"] = uc.rate / c.rate;
}
BENCHMARK(BM_Echo)->Arg(1)->Arg(50)->Arg(300)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

long resident_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

// Resident bytes per connection of a spindle server on `backend` holding `conns` connections
// that have each made one round trip and are now idle.
double idle_bytes_per_connection(int conns, spindle::Backend backend) {
  double per_conn = 0;
  {
    SpindleServer srv{stream_echo, backend};
    std::atomic<std::uint16_t> port{0};
    std::thread server([&] { srv.run(port); });
    while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const long before = resident_bytes();
    // The clients live in a child process: their fds do not count against this process's
    // limit, nor their memory against the server's.
    int ready[2], release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0) throw std::runtime_error("pipe");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port.load());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const pid_t child = ::fork();
    if (child == 0) {
      // Only raw syscalls here: another thread may have held the allocator's lock at fork.
      ::close(ready[0]);
      ::close(release[1]);
      char msg[kMessage] = {};
      for (int i = 0; i < conns; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(1);
        // One round trip, as a real client's first request.
        if (::write(fd, msg, kMessage) != kMessage) ::_exit(1);
        for (int got = 0; got < kMessage;) {
          const ssize_t r = ::read(fd, msg, sizeof msg);
          if (r <= 0) ::_exit(1);
          got += static_cast<int>(r);
        }
      }
      char c = 1;
      [[maybe_unused]] auto w = ::write(ready[1], &c, 1);
      [[maybe_unused]] auto r = ::read(release[0], &c, 1);  // until the parent is done
      ::_exit(0);
    }
    ::close(ready[1]);  // so a failing child means end of file here, not a hang
    ::close(release[0]);
    char c = 0;
    if (::read(ready[0], &c, 1) != 1) throw std::runtime_error("idle clients failed to connect");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all accepted and parked
    per_conn = static_cast<double>(resident_bytes() - before) / conns;
    ::close(release[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(ready[0]);
    srv.stop();
    server.join();
  }
  return per_conn;
}

void BM_Echo_Idle(benchmark::State& state) {
  if (!spindle_bench::io_uring_usable()) return state.SkipWithError("io_uring is refused here");
  raise_fd_limit();
  const int conns = static_cast<int>(state.range(0));
  double epoll = 0, uring = 0;
  for (auto _ : state) {
    epoll = idle_bytes_per_connection(conns, spindle::Backend::Epoll);
    uring = idle_bytes_per_connection(conns, spindle::Backend::IoUring);
  }
  state.counters["bytes_per_connection_epoll"] = epoll;
  state.counters["bytes_per_connection_io_uring"] = uring;
}
BENCHMARK(BM_Echo_Idle)->Arg(1000)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
