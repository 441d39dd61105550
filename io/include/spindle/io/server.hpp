// start_server(): accept connections and serve each in its own task.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/unique_function.hpp>
#include <spindle/io/address.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/source_location.hpp>

#include <cstdint>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace spindle::io {

/// Options for start_server().
struct ServerOptions {
  int backlog = 511;
  bool reuse_address = true;
  /// SO_REUSEPORT: several servers (one per loop of run_threads) listen on the same port
  /// and the kernel spreads incoming connections over them.
  bool reuse_port = false;
  /// Passed to each connection's Stream.
  StreamOptions stream{};
  /// Serve TLS with this (server) context: each connection shakes hands before its handler
  /// runs. A client that fails the handshake (plain text, bad certificate, garbage, too slow)
  /// is disconnected; debug mode reports it. asyncio: start_server(ssl=)
  std::optional<TlsContext> tls{};
  /// How long a client may take over the TLS handshake. asyncio: ssl_handshake_timeout=
  Clock::duration tls_handshake_timeout = std::chrono::seconds(60);
};

namespace detail {
struct ServerState;
}

/// A listening server (asyncio.Server). Destroying the handle closes it (stops accepting);
/// connections being served run on.
class SPINDLE_API Server {
 public:
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;
  ~Server();

  /// The port of the first listening address (useful after binding port 0).
  std::uint16_t port() const;
  /// The addresses listened on.
  std::vector<Address> addresses() const;
  /// Parks until the server is closed (or the task cancelled).
  /// asyncio: await server.serve_forever()
  void serve_forever(SourceLocation where = SourceLocation::current());
  /// Stops accepting and closes the listening sockets; open connections continue.
  /// asyncio: server.close()
  void close() noexcept;
  /// Parks until the server is closed and every connection handler has finished.
  /// asyncio: await server.wait_closed()
  void wait_closed(SourceLocation where = SourceLocation::current());

  // Used by start_server().
  explicit Server(std::shared_ptr<detail::ServerState> s) noexcept;

 private:
  std::shared_ptr<detail::ServerState> s_;
};

/// Listens on host:port (port 0: any free port; host "" or "0.0.0.0": all IPv4 interfaces;
/// names are resolved) and serves each connection by calling handler(stream) in a task of
/// its own. When the handler returns or throws, the connection is closed; a handler's
/// exception goes to the loop's exception handler and never stops the server. Listening
/// and serving when it returns. If accept() fails for lack of fds (EMFILE/ENFILE), the
/// server pauses briefly and keeps serving. Throws std::system_error (bind/listen).
/// asyncio: asyncio.start_server(handler, host, port)
SPINDLE_API Server start_server(spindle::detail::UniqueFunction<void(Stream&)> handler,
                                std::string_view host, std::uint16_t port,
                                ServerOptions options = {});
/// As start_server, on a Unix-domain socket at `path` (an existing socket file is replaced).
/// asyncio: asyncio.start_unix_server
SPINDLE_API Server start_unix_server(spindle::detail::UniqueFunction<void(Stream&)> handler,
                                     std::string_view path, ServerOptions options = {});

}  // namespace spindle::io
