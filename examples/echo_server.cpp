// The asyncio TCP echo server: each connection's lines are sent back; SIGINT or SIGTERM shuts
// the server down cleanly. Usage: echo_server [--host H] [--port N]   (N = 0: any free port)
#include <spindle/spindle.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server_args.hpp"

void handle_echo(spindle::io::Stream& stream) {
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
  spindle::run([&args] {
    auto server = spindle::io::start_server(handle_echo, args.host, args.port);
    std::printf("listening on %s\n", server.addresses().at(0).to_string().c_str());
    std::fflush(stdout);
    const int sig = spindle::io::wait_signal({SIGINT, SIGTERM});
    std::printf("Signal %d: shutting down\n", sig);
    server.close();  // returning from run() then cancels and closes the open connections
  });
}
