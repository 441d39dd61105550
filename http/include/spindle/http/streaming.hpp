// Responses sent while they are produced: http::stream() (a chunked body written piece by
// piece) and http::event_stream() (Server-Sent Events).
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/unique_function.hpp>
#include <spindle/http/server.hpp>
#include <spindle/loop.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spindle::http {

/// Where a streamed response's body goes.
class SPINDLE_API BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  /// Sends data as the next piece of the body, now (parking while the client is slow to
  /// read). Throws std::system_error once the client is gone; CancelledError.
  virtual void write(std::string_view data) = 0;
};

/// How a streamed response starts.
struct StreamOptions {
  status code = status::ok;
  std::string content_type = "application/octet-stream";
  /// Added to the response's header.
  Headers headers{};
  /// The body's length when known in advance: sent as Content-Length instead of chunked.
  /// Writing more throws std::length_error; writing less ends the connection.
  std::optional<std::uint64_t> content_length{};
};

/// Answers req with a body that fn writes piece by piece, chunked (each write() one chunk):
/// return what this returns from the handler. fn runs after the handler (and middleware)
/// returned, in the connection's task; the response's header goes first. A client that goes
/// away cancels fn (CancelledError at its next blocking call). An exception from fn ends the
/// connection (the body is left incomplete) and goes to the loop's exception handler. HEAD
/// gets the header only and fn does not run. Throws std::logic_error if req is not being
/// served (serve(), run_app() or a TestClient, which collects the whole body).
/// asyncio users: Starlette's StreamingResponse, aiohttp's StreamResponse
SPINDLE_API Response stream(Request& req, spindle::detail::UniqueFunction<void(BodyWriter&)> fn,
                            StreamOptions options = {});

/// A Server-Sent Events stream (text/event-stream).
class SPINDLE_API EventStream {
 public:
  explicit EventStream(BodyWriter& out) noexcept : out_(&out) {}
  /// Sends one event: `data` (each line its own "data:" field), with an `event` type and an
  /// `id` when given. Throws as BodyWriter::write; std::invalid_argument if event or id holds
  /// a line break.
  void send(std::string_view data, std::string_view event = {}, std::string_view id = {});
  /// Sends a comment line (": text"), which clients ignore: keeps the connection in use.
  void comment(std::string_view text);
  /// Tells the client how long to wait before reconnecting ("retry:").
  void retry(std::chrono::milliseconds delay);

 private:
  BodyWriter* out_;
};

/// How an event stream behaves.
struct EventStreamOptions {
  /// After this long without an event, a comment is sent (": ping"), so that proxies and
  /// clients keep the connection; zero: never.
  Clock::duration heartbeat = std::chrono::seconds(15);
  /// Added to the response's header.
  Headers headers{};
};

/// Answers req with Server-Sent Events that fn sends, as stream() does (cancelled when the
/// client goes away, run after the handler returned), with heartbeat comments while fn is
/// quiet. Throws std::logic_error as stream(). asyncio users: sse-starlette's
/// EventSourceResponse, aiohttp-sse
SPINDLE_API Response event_stream(Request& req,
                                  spindle::detail::UniqueFunction<void(EventStream&)> fn,
                                  EventStreamOptions options = {});

}  // namespace spindle::http
