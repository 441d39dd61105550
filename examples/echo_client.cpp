// The asyncio TCP echo client: send a line, print the echo.
// Usage: echo_client [--host H] [--port N]
#include <spindle/spindle.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "server_args.hpp"

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8888);
  spindle::run([&] {
    auto stream = spindle::io::open_connection(args.host, args.port);
    const std::string message = "Hello World!";
    std::printf("Send: %s\n", message.c_str());
    stream.write(message + "\n");
    const std::string reply = stream.read_line();
    std::printf("Received: %s\n", reply.substr(0, reply.size() - 1).c_str());
    stream.close();
  });
}
