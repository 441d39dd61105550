// A minimal HTTP/1.1 server answering every request with "Hello, World!", on http::serve
// (Boost.Beast's parser): keep-alive, pipelining, HTTP/1.0, HTTPS with a certificate and key.
// The vehicle for wrk comparisons.
// Usage: http_hello [--host H] [--port N] [--tls-cert FILE --tls-key FILE]
//        (N = 0: any free port; SIGINT/SIGTERM stops it)
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <csignal>
#include <cstdio>

#include "server_args.hpp"

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  try {
    spindle::run([&args] {
      spindle::http::ServeOptions options;
      options.backlog = 4096;
      if (!args.tls_cert.empty()) {
        options.tls = spindle::io::TlsContext::server(args.tls_cert, args.tls_key);
      }
      auto server = spindle::http::serve(
          [](spindle::http::Request&) { return spindle::http::text("Hello, World!"); },
          args.host, args.port, options);
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
