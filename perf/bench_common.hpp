// Helpers shared by the perf suites: run a benchmark body inside spindle::run and a
// stopwatch whose result feeds the ratio counters.
#pragma once

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <spindle/spindle.hpp>

namespace spindle_bench {

/// Nanoseconds elapsed since `start` on the steady clock.
inline double ns_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

/// Whether a loop can run on io_uring here (the kernel may refuse it: seccomp,
/// kernel.io_uring_disabled, a build without liburing). Benchmarks that compare the backends
/// skip with an error instead of failing.
inline bool io_uring_usable() {
  static const bool usable = [] {
    // On a thread of its own: the kernel tears a ring down asynchronously and interrupts the
    // thread that made it (a blocking call there returns EINTR), which must not be the
    // benchmark's load generator.
    bool ok = false;
    std::thread([&ok] {
      try {
        spindle::RunOptions o;
        o.backend = spindle::Backend::IoUring;
        spindle::run([] {}, o);
        ok = true;
      } catch (const std::exception&) {
      }
    }).join();
    return ok;
  }();
  return usable;
}

/// A non-blocking listening socket on 127.0.0.1 at a port of the kernel's choice (stored in
/// *port), for the C servers.
inline int listening_socket(std::uint16_t* port) {
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

}  // namespace spindle_bench
