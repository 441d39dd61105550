// A minimal HTTP/1.1 server answering every request with "Hello, World!": keep-alive
// (HTTP/1.1 by default, HTTP/1.0 on request) and pipelining-safe (requests are read one
// after another from the connection's buffer), HTTPS with a certificate and key. The vehicle
// for wrk comparisons.
// Usage: http_hello [--host H] [--port N] [--tls-cert FILE --tls-key FILE]
//        (N = 0: any free port; SIGINT/SIGTERM stops it)
#include <spindle/spindle.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server_args.hpp"

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void serve_http(spindle::io::Stream& stream) {
  static const std::string body = "Hello, World!";
  for (;;) {
    const std::string request_line = stream.read_line();
    if (request_line.empty()) return;  // the client closed the connection
    bool keep_alive = request_line.find("HTTP/1.1") != std::string::npos;
    for (std::string h = stream.read_line(); h != "\r\n" && h != "\n"; h = stream.read_line()) {
      if (h.empty()) return;
      const std::string header = lower(h);
      if (header.rfind("connection:", 0) == 0) {
        keep_alive = header.find("close") == std::string::npos &&
                     (keep_alive || header.find("keep-alive") != std::string::npos);
      }
    }
    stream.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) +
                 (keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n") + body);
    if (!keep_alive) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  try {
    spindle::run([&args] {
      spindle::io::ServerOptions options;
      options.backlog = 4096;
      if (!args.tls_cert.empty()) {
        options.tls = spindle::io::TlsContext::server(args.tls_cert, args.tls_key);
      }
      auto server = spindle::io::start_server(serve_http, args.host, args.port, options);
      std::printf("listening on %s\n", server.addresses().at(0).to_string().c_str());
      std::fflush(stdout);
      spindle::io::wait_signal({SIGINT, SIGTERM});
      server.close();
    });
  } catch (const std::exception& e) {  // a bad address, certificate or key
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
