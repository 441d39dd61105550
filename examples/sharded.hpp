// Serving on several loops (--threads N): one server per loop on the same port
// (SO_REUSEPORT), the kernel spreading connections over them; SIGINT or SIGTERM stops all.
#pragma once

#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <spindle/spindle.hpp>
#include <vector>

/// Runs `threads` loops. Loop 0 calls start(port, reuse_port) on every loop (its own first:
/// with port 0 it picks the port the others then share), prints "listening on ADDRESS",
/// waits for SIGINT/SIGTERM, prints "Signal N: shutting down" and closes every loop's server
/// on its own loop, then calls on_stop() on loop 0. Connections still open are cancelled as
/// run_threads() returns.
/// Throws what start() throws (a bad address, certificate or key).
template <class Start, class OnStop = void (*)()>
void serve_on_loops(
    unsigned threads, std::uint16_t port, Start start, OnStop on_stop = [] {}) {
  using Server = decltype(start(port, false));
  // Blocked before the loops' threads start, so that every thread inherits the mask and the
  // signals reach wait_signal() only.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // servers[i] belongs to loop i: created, closed and destroyed there.
  std::vector<std::optional<Server>> servers;
  spindle::run_threads(threads, [&](unsigned i) {
    if (i != 0) return;  // the loop runs on, serving, until loop 0's main returns
    const auto n = static_cast<unsigned>(spindle::loops().size());  // (threads 0: one per CPU)
    servers.resize(n);
    servers[0].emplace(start(port, n > 1));
    const auto address = servers[0]->addresses().at(0);
    for (unsigned j = 1; j < n; ++j) {
      spindle::call_on(spindle::loops()[j],
                       [&, j] { servers[j].emplace(start(address.port(), true)); });
    }
    std::printf("listening on %s\n", address.to_string().c_str());
    std::fflush(stdout);
    const int sig = spindle::io::wait_signal({SIGINT, SIGTERM});
    std::printf("Signal %d: shutting down\n", sig);
    std::fflush(stdout);
    for (unsigned j = 1; j < n; ++j) {
      spindle::call_on(spindle::loops()[j], [&, j] { servers[j].reset(); });
    }
    servers[0].reset();
    on_stop();
  });
}
