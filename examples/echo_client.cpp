// The asyncio TCP echo client: send a line, print the echo. Usage: echo_client [port] [host]
#include <spindle/spindle.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8888);
  const std::string host = argc > 2 ? argv[2] : "127.0.0.1";
  spindle::run([&] {
    auto stream = spindle::io::open_connection(host, port);
    const std::string message = "Hello World!";
    std::printf("Send: %s\n", message.c_str());
    stream.write(message + "\n");
    const std::string reply = stream.read_line();
    std::printf("Received: %s\n", reply.substr(0, reply.size() - 1).c_str());
    stream.close();
  });
}
