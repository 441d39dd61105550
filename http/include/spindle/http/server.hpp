// HTTP/1.1 servers on Boost.Beast: serve(), Request, Response and helpers to build responses.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/unique_function.hpp>
#include <spindle/http/request.hpp>
#include <spindle/io/address.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/io/tls.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::http {

/// A response as Beast serializes it; serve() sets Content-Length and keep-alive itself.
using Response = beast_http::response<beast_http::string_body>;

/// A response with `body` and `content_type`.
SPINDLE_API Response response(status code, std::string body = {},
                              std::string_view content_type = "text/plain; charset=utf-8");
/// A text/plain response.
inline Response text(std::string body, status code = status::ok) {
  return response(code, std::move(body));
}
/// An application/json response; `body` is JSON already.
inline Response json(std::string body, status code = status::ok) {
  return response(code, std::move(body), "application/json");
}

/// How serve() listens and what it tolerates from clients.
struct ServeOptions {
  int backlog = 511;
  /// SO_REUSEPORT: one server per loop of run_threads on the same port (docs/CORES.md).
  bool reuse_port = false;
  /// Serve HTTPS with this server context.
  std::optional<io::TlsContext> tls{};
  /// A request header larger than this is answered 431 and the connection closed.
  std::size_t header_limit = 16 * 1024;
  /// A request body larger than this is answered 413 (before it is sent, when the client
  /// announced its length or asked for 100-continue) and the connection closed.
  std::uint64_t body_limit = 8 * 1024 * 1024;
  /// After this many requests a connection is closed (Connection: close); 0: no limit.
  std::size_t max_requests_per_connection = 0;
  /// How long a kept-alive connection may wait for its next request.
  Clock::duration idle_timeout = std::chrono::seconds(60);
  /// Sent as the Server field of every response when not empty ("spindle", say).
  std::string server_header{};
  /// From a request's first byte to the end of its header; past it: 408, closed.
  Clock::duration header_timeout = std::chrono::seconds(30);
  /// How long receiving a request's body may take; past it: 408, closed.
  Clock::duration body_timeout = std::chrono::seconds(60);
};

namespace detail {
struct ServerState;
}

/// A running HTTP server. Destroying the handle closes it (as close()).
class SPINDLE_API Server {
 public:
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;
  ~Server();

  /// The port of the first listening address.
  std::uint16_t port() const;
  std::vector<io::Address> addresses() const;
  /// Graceful shutdown: stops accepting, closes connections waiting for a request, and lets
  /// every request being handled finish (its response says Connection: close).
  void close() noexcept;
  /// Parks until the server is closed and every connection has ended.
  void wait_closed(SourceLocation where = SourceLocation::current());

  explicit Server(std::shared_ptr<detail::ServerState> s) noexcept;

 private:
  std::shared_ptr<detail::ServerState> s_;
};

/// What serve() calls for each request: returns the response to send.
using Handler = spindle::detail::UniqueFunction<Response(Request&)>;

/// Listens on host:port (0: a free port) and serves HTTP/1.1 (HTTPS with options.tls), each
/// connection in a task of its own: keep-alive, pipelining, chunked request bodies,
/// `Expect: 100-continue`, HEAD. handler(request) runs in the connection's task and may
/// block; its response gets Content-Length, the request's keep-alive and a Date field (and
/// options.server_header) unless it has its own. A handler that
/// throws gets the client a 500 and the exception goes to the loop's exception handler.
/// Malformed requests get 400, oversized headers 431, oversized bodies 413, slow ones 408;
/// each closes its connection, and the server serves on. Throws std::system_error (bind,
/// listen), TlsError. (asyncio users reach for aiohttp's web.run_app or FastAPI.)
SPINDLE_API Server serve(Handler handler, std::string_view host, std::uint16_t port,
                         ServeOptions options = {});

/// Serves HTTP/1.1 on one connection that is already open (accepted elsewhere, one end of a
/// socketpair, a socket handed over by systemd or inetd), in the calling task, exactly as
/// serve() serves each of its connections, until the client closes it or a response ends it
/// (Connection: close, a framing error). The stream stays open; closing it is the caller's.
/// Throws CancelledError; std::logic_error outside a task. asyncio users:
/// loop.connect_accepted_socket()
SPINDLE_API void serve_connection(io::Stream& stream, Handler handler, ServeOptions options = {});

}  // namespace spindle::http
