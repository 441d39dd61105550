// WebSocket over Beast's websocket::stream on a BeastStream. Beast reports failures as
// error codes; a CancelledError from the stream underneath is an exception that leaves Beast's
// state undefined, so it closes the connection before going on.
#include <spindle/http/beast_stream.hpp>
#include <spindle/http/router.hpp>
#include <spindle/http/websocket.hpp>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <cerrno>
#include <system_error>

#include "connection.hpp"

namespace spindle::http {

namespace websocket = boost::beast::websocket;

struct WebSocket::Impl {
  explicit Impl(io::Stream& s) : ws(s), stream(&s) {}
  websocket::stream<BeastStream> ws;
  io::Stream* stream;
  bool dropped = false;  // we closed the connection under Beast (it does not know)

  void drop() noexcept {
    dropped = true;
    stream->close();
  }

  /// Runs op(ec) (a Beast call); on an exception or an error closes the connection.
  template <class Op>
  void run(const char* what, Op op) {
    boost::system::error_code ec;
    try {
      op(ec);
    } catch (...) {  // CancelledError: Beast may be halfway through a frame
      drop();
      throw;
    }
    if (!ec) return;
    if (ec == websocket::error::closed) {
      const auto& r = ws.reason();
      throw WebSocketClosed(r.code, std::string(r.reason.data(), r.reason.size()));
    }
    drop();
    const bool os = ec.category() == boost::system::generic_category();
    throw std::system_error(os ? ec.value() : EPROTO, std::generic_category(),
                            std::string(what) + ": " + ec.message());
  }
};

WebSocketClosed::WebSocketClosed(std::uint16_t code, std::string reason)
    : std::runtime_error("WebSocket closed by the peer (code " + std::to_string(code) +
                         (reason.empty() ? ")" : ": " + reason + ")")),
      code_(code),
      reason_(std::move(reason)) {}

WebSocket::WebSocket(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
WebSocket::WebSocket(WebSocket&&) noexcept = default;
WebSocket& WebSocket::operator=(WebSocket&&) noexcept = default;
WebSocket::~WebSocket() = default;

Message WebSocket::read(SourceLocation) {
  boost::beast::flat_buffer buf;
  impl_->run("WebSocket read", [&](auto& ec) { impl_->ws.read(buf, ec); });
  return {boost::beast::buffers_to_string(buf.data()), impl_->ws.got_text()};
}

void WebSocket::write_text(std::string_view data, SourceLocation) {
  impl_->ws.text(true);
  impl_->run("WebSocket write", [&](auto& ec) { impl_->ws.write(boost::asio::buffer(data), ec); });
}

void WebSocket::write_binary(std::string_view data, SourceLocation) {
  impl_->ws.binary(true);
  impl_->run("WebSocket write", [&](auto& ec) { impl_->ws.write(boost::asio::buffer(data), ec); });
}

void WebSocket::ping(std::string_view payload, SourceLocation) {
  impl_->run("WebSocket ping", [&](auto& ec) {
    impl_->ws.ping(websocket::ping_data(payload.data(), payload.size()), ec);
  });
}

void WebSocket::close(std::uint16_t code, std::string_view reason, SourceLocation) noexcept {
  try {
    boost::system::error_code ec;
    impl_->ws.close(websocket::close_reason(static_cast<websocket::close_code>(code),
                                            boost::beast::string_view(reason.data(), reason.size())),
                    ec);
  } catch (...) {  // cancelled: the connection goes now
  }
  impl_->drop();
}

bool WebSocket::is_open() const noexcept { return !impl_->dropped && impl_->ws.is_open(); }

WebSocket accept_websocket(Request& request, WebSocketOptions options) {
  detail::Connection* c = detail::current_connection().get(nullptr);
  if (!c) throw std::logic_error("accept_websocket: not inside an http::serve() handler");
  if (c->upgraded) throw std::logic_error("accept_websocket: the connection is a WebSocket already");
  if (!websocket::is_upgrade(request)) {
    throw std::invalid_argument("accept_websocket: not a WebSocket upgrade request");
  }
  auto impl = std::make_unique<WebSocket::Impl>(*c->stream);
  impl->ws.read_message_max(options.max_message);
  c->upgraded = true;
  impl->run("WebSocket handshake", [&](auto& ec) { impl->ws.accept(request, ec); });
  return WebSocket(std::move(impl));
}

}  // namespace spindle::http

// Router::websocket(): a GET route that upgrades and hands the WebSocket to fn.
namespace spindle::http {

Router& Router::add_websocket(std::string_view pattern,
                              std::function<void(WebSocket&, Request&)> fn,
                              WebSocketOptions options) {
  RouteOptions o;
  o.include_in_schema = false;
  auto endpoint = detail::make_endpoint(
      [fn = std::move(fn), options](Request& req) -> Response {
        if (!websocket::is_upgrade(req)) {
          throw HttpError(status::upgrade_required, "this is a WebSocket endpoint",
                          {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}});
        }
        WebSocket ws = accept_websocket(req, options);
        try {
          fn(ws, req);
        } catch (const WebSocketClosed&) {  // the client closed: a normal end
        }
        return response(status::ok);  // not sent: the connection is a WebSocket's
      },
      std::nullopt);
  return add_route(verb::get, pattern, std::move(endpoint), std::move(o));
}

}  // namespace spindle::http
