// The serving side of one request (serve()'s connection, or a TestClient), which a Request
// reaches through exchange(): who the client is, the streamed request body, and what
// http::stream() asked to send after the handler returns. Private to spindle-http.
#pragma once

#include <spindle/detail/unique_function.hpp>
#include <spindle/http/request.hpp>
#include <spindle/http/server.hpp>
#include <spindle/http/streaming.hpp>
#include <spindle/loop.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace spindle::http::detail {

class Exchange {
 public:
  /// The client's address (none for a TestClient).
  std::optional<io::Address> remote;
  /// The streamed request body, for routes with RouteOptions::stream_body.
  BodyReader* body = nullptr;

  /// Set by http::stream(): the body's producer, and the response it answered with.
  spindle::detail::UniqueFunction<void(BodyWriter&)> producer;
  status stream_status = status::ok;
  std::optional<std::uint64_t> stream_length;
  /// Set by http::event_stream(): after this long without a write, the server writes an
  /// SSE comment (": ping") while the producer runs; zero: never.
  Clock::duration heartbeat{};

  /// True if `res` is the response http::stream() made (middleware may have replaced it,
  /// with an error say: then the producer is dropped).
  bool streams(const Response& res) const {
    return producer && res.result() == stream_status && (stream_length || res.chunked());
  }
};

/// The 500 for a handler's exception, which goes to the loop's exception handler
/// ("http handler failed: what()").
Response internal_error(const std::exception& e);

/// The 400 for a request whose client went away in the middle of its body: not reported.
Response client_disconnected();

/// Calls handler(req); an exception becomes internal_error(), ClientDisconnected a quiet
/// client_disconnected(). CancelledError passes.
template <class H>
Response respond(H& handler, Request& req) {
  try {
    return handler(req);
  } catch (const ClientDisconnected&) {
    return client_disconnected();
  } catch (const std::exception& e) {
    return internal_error(e);
  }
}

/// Adds what serve() adds to every response: Date, and the Server field if configured.
void stamp(Response& res, const ServeOptions& options);

/// Runs a stream's producer into a string (a TestClient's whole body).
std::string collect(Exchange& ex);

}  // namespace spindle::http::detail
