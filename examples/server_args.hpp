// The command line every example server shares, so load tools can drive them all alike:
//   --host H   (default 127.0.0.1)   --port N   (0 picks a free port)
//   --tls-cert FILE --tls-key FILE   (serve TLS, for the servers that support it)
//   --threads N   (N loops, one per thread, sharing the port; 0: one per CPU; default 1)
//   --pg CONNINFO   (a PostgreSQL connection string, for the servers that use one)
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

struct ServerArgs {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string tls_cert, tls_key;  // both set, or neither
  unsigned threads = 1;
  std::string pg;
};

/// Parses --host/--port/--threads/--tls-cert/--tls-key; prints usage and exits with status 2 on
/// anything else.
inline ServerArgs parse_server_args(int argc, char** argv, std::uint16_t default_port) {
  ServerArgs args;
  args.port = default_port;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--host" || a == "--port" || a == "--tls-cert" || a == "--tls-key" ||
         a == "--threads" || a == "--pg") &&
        i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--threads") {
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0 || n > 1024) {
          std::fprintf(stderr, "%s: bad thread count '%s'\n", argv[0], v.c_str());
          std::exit(2);
        }
        args.threads = static_cast<unsigned>(n);
      } else if (a == "--host") {
        args.host = v;
      } else if (a == "--pg") {
        args.pg = v;
      } else if (a == "--tls-cert") {
        args.tls_cert = v;
      } else if (a == "--tls-key") {
        args.tls_key = v;
      } else {
        char* end = nullptr;
        const long p = std::strtol(v.c_str(), &end, 10);
        if (*end != '\0' || p < 0 || p > 65535) {
          std::fprintf(stderr, "%s: bad port '%s'\n", argv[0], v.c_str());
          std::exit(2);
        }
        args.port = static_cast<std::uint16_t>(p);
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--host H] [--port N] [--threads N] [--tls-cert FILE --tls-key "
                   "FILE] [--pg CONNINFO]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    std::fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", argv[0]);
    std::exit(2);
  }
  return args;
}
