// A minimal HTTP/1.1 server answering every request with "Hello, World!", on http::serve
// (Boost.Beast's parser): keep-alive, pipelining, HTTP/1.0, HTTPS with a certificate and key.
// The vehicle for wrk comparisons. --threads N runs N loops (one per thread) on the port.
// Usage: http_hello [--host H] [--port N] [--threads N] [--tls-cert FILE --tls-key FILE]
//        (port 0: any free port; SIGINT/SIGTERM stops it)
#include <cstdio>
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include "server_args.hpp"
#include "sharded.hpp"

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  try {
    serve_on_loops(args.threads, args.port, [&args](std::uint16_t port, bool reuse_port) {
      spindle::http::ServeOptions options;
      options.backlog = 4096;
      options.reuse_port = reuse_port;
      if (!args.tls_cert.empty()) {
        options.tls = spindle::io::TlsContext::server(args.tls_cert, args.tls_key);
      }
      return spindle::http::serve(
          [](spindle::http::Request&) { return spindle::http::text("Hello, World!"); }, args.host,
          port, options);
    });
  } catch (const std::exception& e) {  // a bad address, certificate or key
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
