// WebSocket connections accepted from an http::serve() handler (Boost.Beast's protocol).
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/server.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace spindle::http {

/// Thrown by WebSocket::read() once the peer has closed the connection (the close
/// handshake is done): its close code (1000: normal) and reason.
class SPINDLE_API WebSocketClosed : public std::runtime_error {
 public:
  WebSocketClosed(std::uint16_t code, std::string reason);
  std::uint16_t code() const noexcept { return code_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::uint16_t code_;
  std::string reason_;
};

struct WebSocketOptions {
  /// A message larger than this closes the connection with code 1009 (message too big)
  /// and makes read() throw.
  std::size_t max_message = 1024 * 1024;
};

/// One received message.
struct Message {
  std::string data;
  bool text = true;  ///< false for a binary message
};

/// A WebSocket connection: messages in both directions, ping/pong, the close handshake.
/// Pings from the peer are answered while reading. Not for two tasks at once in the same
/// direction (one reader and one writer may share it).
class SPINDLE_API WebSocket {
 public:
  WebSocket(WebSocket&&) noexcept;
  WebSocket& operator=(WebSocket&&) noexcept;
  ~WebSocket();

  /// The next message. Throws WebSocketClosed once the peer closed; std::system_error when
  /// the connection fails or the peer breaks the protocol (the connection is then closed).
  /// Cancellation: closes the connection (a frame may have been half read), then throws
  /// CancelledError.
  Message read(SourceLocation where = SourceLocation::current());
  /// Sends a text (UTF-8) message. Throws std::system_error; cancellation closes the
  /// connection.
  void write_text(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Sends a binary message. As write_text.
  void write_binary(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Sends a ping; the peer's pong arrives while reading.
  void ping(std::string_view payload = {}, SourceLocation where = SourceLocation::current());
  /// Starts the close handshake with `code` and `reason`; read() then throws
  /// WebSocketClosed once the peer answers. Errors are ignored (the connection is gone).
  void close(std::uint16_t code = 1000, std::string_view reason = {},
             SourceLocation where = SourceLocation::current()) noexcept;
  /// False once closed (either side) or failed.
  bool is_open() const noexcept;

  struct Impl;
  explicit WebSocket(std::unique_ptr<Impl> impl) noexcept;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Upgrades the connection serving `request` (inside an http::serve() handler, in its
/// task) to a WebSocket: answers the handshake and returns the connection. The handler
/// then talks over it; what it returns afterwards is not sent, and the connection closes
/// when it returns. Throws std::invalid_argument if `request` is not a WebSocket upgrade,
/// std::logic_error outside a handler or when called twice, std::system_error if the
/// handshake fails. (asyncio users: aiohttp's web.WebSocketResponse().prepare(request).)
SPINDLE_API WebSocket accept_websocket(Request& request, WebSocketOptions options = {});

}  // namespace spindle::http
