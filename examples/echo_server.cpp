// The asyncio TCP echo server: each connection's lines are sent back; SIGINT or SIGTERM shuts
// the server down cleanly. With --threads N, N loops (one per thread) serve the same port
// and each reports how many connections it served.
// Usage: echo_server [--host H] [--port N] [--threads N]   (port 0: any free port)
#include <cstdio>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

#include "server_args.hpp"
#include "sharded.hpp"

// Connections served, per loop: served[i] is touched by loop i only (no lock, no atomic).
std::vector<long> served;

void handle_echo(spindle::io::Stream& stream) {
  ++served[spindle::current_loop_index()];
  const std::string peer = stream.peer_address().to_string();
  for (std::string line = stream.read_line(); !line.empty(); line = stream.read_line()) {
    std::printf("Received %s from %s\n", line.substr(0, line.size() - 1).c_str(), peer.c_str());
    std::fflush(stdout);
    stream.write(line);
  }
  // Returning closes the connection.
}

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8888);
  served.assign(args.threads == 0 ? 1024 : args.threads, 0);  // 0: a loop per CPU (<= 1024)
  serve_on_loops(
      args.threads, args.port,
      [&args](std::uint16_t port, bool reuse_port) {
        spindle::io::ServerOptions options;
        options.reuse_port = reuse_port;
        return spindle::io::start_server(handle_echo, args.host, port, options);
      },
      [] {
        // Each loop's count, read on that loop.
        const auto loops = spindle::loops();
        if (loops.size() == 1) return;
        for (const auto& loop : loops) {
          const long n = spindle::call_on(loop, [i = loop.index()] { return served[i]; });
          std::printf("loop %u served %ld connections\n", loop.index(), n);
        }
      });
}
