// TCP echo against the physical floor: 1,000 connections doing a 64-byte ping-pong, one
// thread for the server and one for the clients (this machine has two cores).
//
// BM_Echo_EpollC: the baseline, a plain epoll echo server in C (perf/echo/epoll_echo.c).
// BM_Echo_Spindle: spindle::io::start_server with a task per connection doing recv/send_all
//   on its Socket. Counter echo_ratio = spindle's round trips per second / the C server's,
//   measured in the same process just before (DESIGN.md target: at least 0.9).
// The load generator is the same raw-epoll client for both.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "echo/epoll_echo.h"

namespace {

constexpr int kConnections = 1000;
constexpr int kMessage = 64;

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 8192) {
    r.rlim_cur = std::min<rlim_t>(r.rlim_max, 8192);
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Runs `rounds` ping-pongs on each of kConnections connections to 127.0.0.1:port; returns
// the seconds taken.
double run_load(std::uint16_t port, int rounds) {
  std::vector<int> fds(kConnections);
  std::vector<int> left(kConnections, rounds);
  std::vector<int> got(kConnections, 0);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < kConnections; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("load: connect failed");
    }
    const int one = 1;
    ::setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fds[i], F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  char msg[kMessage];
  std::memset(msg, 'x', sizeof msg);
  char buf[4096];
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    if (::write(fds[i], msg, kMessage) != kMessage) throw std::runtime_error("load: write");
  }
  int active = kConnections;
  epoll_event events[256];
  while (active > 0) {
    const int n = ::epoll_wait(ep, events, 256, 5000);
    if (n <= 0) throw std::runtime_error("load: the server stopped answering");
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(events[k].data.u32);
      const ssize_t r = ::read(fds[i], buf, sizeof buf);
      if (r <= 0) continue;
      got[i] += static_cast<int>(r);
      while (got[i] >= kMessage) {
        got[i] -= kMessage;
        if (--left[i] == 0) {
          --active;
        } else if (::write(fds[i], msg, kMessage) != kMessage) {
          throw std::runtime_error("load: write");
        }
      }
    }
  }
  const double seconds = spindle_bench::ns_since(t0) / 1e9;
  for (int fd : fds) ::close(fd);
  ::close(ep);
  return seconds;
}

int listening_socket(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 4096);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Round trips per second against the C server.
double c_rate(int rounds) {
  std::uint16_t port = 0;
  const int lfd = listening_socket(&port);
  volatile int stop = 0;
  std::thread server([&] { epoll_echo_serve(lfd, &stop); });
  const double s = run_load(port, rounds);
  stop = 1;
  server.join();
  ::close(lfd);
  return kConnections * static_cast<double>(rounds) / s;
}

// Round trips per second against a spindle server.
double spindle_rate(int rounds) {
  std::atomic<std::uint16_t> port{0};
  std::atomic<spindle::Loop*> loop{nullptr};
  spindle::io::Server* server_ptr = nullptr;
  std::thread server([&] {
    spindle::run([&] {
      spindle::io::ServerOptions opts;
      opts.backlog = 4096;
      auto server = spindle::io::start_server(
          [](spindle::io::Stream& s) {
            spindle::io::Socket& sock = s.socket();
            sock.set_nodelay(true);
            std::byte buf[4096];
            for (;;) {
              const std::size_t n = sock.recv(buf);
              if (n == 0) return;
              sock.send_all(std::string_view(reinterpret_cast<const char*>(buf), n));
            }
          },
          "127.0.0.1", 0, opts);
      server_ptr = &server;
      loop = &spindle::Loop::current();
      port = server.port();
      server.serve_forever();
    });
  });
  while (port.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double s = run_load(port.load(), rounds);
  loop.load()->call_soon_threadsafe([&] { server_ptr->close(); });
  server.join();
  return kConnections * static_cast<double>(rounds) / s;
}

void BM_Echo_EpollC(benchmark::State& state) {
  raise_fd_limit();
  double rate = 0;
  for (auto _ : state) rate = c_rate(static_cast<int>(state.range(0)));
  state.counters["round_trips_per_s"] = rate;
}
BENCHMARK(BM_Echo_EpollC)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Echo_Spindle(benchmark::State& state) {
  raise_fd_limit();
  const int rounds = static_cast<int>(state.range(0));
  const double base = c_rate(rounds);
  double rate = 0;
  for (auto _ : state) rate = spindle_rate(rounds);
  state.counters["round_trips_per_s"] = rate;
  state.counters["c_round_trips_per_s"] = base;
  state.counters["echo_ratio"] = rate / base;
}
BENCHMARK(BM_Echo_Spindle)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
