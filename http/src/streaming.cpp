// Streamed responses. http::stream() only records the producer in the request's Exchange and
// returns the response's head; the server (send_stream) or a TestClient (collect) runs the
// producer once the handler and middleware have returned. The server writes the head, then
// the body as chunks (or raw, when the length is known or the client speaks HTTP/1.0), and
// runs a watcher task beside the producer: it waits for the client to send anything, and
// when the client ends the connection instead it cancels the producer; for event streams it
// also writes the heartbeat comment after each quiet interval. Writes from the two tasks are
// serialized by a Lock in the writer.
#include <spindle/cancel.hpp>
#include <spindle/http/beast_stream.hpp>
#include <spindle/http/streaming.hpp>
#include <spindle/lock.hpp>
#include <spindle/task.hpp>
#include <spindle/timeout.hpp>

#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "exchange.hpp"

namespace spindle::http {

Response stream(Request& req, spindle::detail::UniqueFunction<void(BodyWriter&)> fn,
                StreamOptions options) {
  detail::Exchange* ex = req.exchange();
  if (!ex) {
    throw std::logic_error(
        "http::stream: the request is not being served (serve(), run_app() or TestClient)");
  }
  ex->producer = std::move(fn);
  ex->stream_status = options.code;
  ex->stream_length = options.content_length;
  Response res{options.code, 11};
  res.set(field::content_type, options.content_type);
  for (const auto& [name, value] : options.headers) res.insert(name, value);
  if (options.content_length) {
    res.content_length(*options.content_length);
  } else {
    res.chunked(true);
  }
  return res;
}

namespace {

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

/// Appends `text` as fields named `name`, one per line ("data: a\ndata: b\n").
void add_lines(std::string& out, std::string_view name, std::string_view text) {
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find_first_of("\r\n", start);
    const std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    out.append(name).append(line).append("\n");
    if (end == std::string_view::npos) break;
    if (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ++end;
    start = end + 1;
  }
}

}  // namespace

void EventStream::send(std::string_view data, std::string_view event, std::string_view id) {
  if (has_line_break(event) || has_line_break(id)) {
    throw std::invalid_argument("EventStream::send: an event type or id holds a line break");
  }
  std::string text;
  if (!event.empty()) text.append("event: ").append(event).append("\n");
  if (!id.empty()) text.append("id: ").append(id).append("\n");
  add_lines(text, "data: ", data);
  text += "\n";
  out_->write(text);
}

void EventStream::comment(std::string_view text) {
  std::string out;
  add_lines(out, ": ", text);
  out += "\n";
  out_->write(out);
}

void EventStream::retry(std::chrono::milliseconds delay) {
  out_->write("retry: " + std::to_string(delay.count()) + "\n\n");
}

Response event_stream(Request& req, spindle::detail::UniqueFunction<void(EventStream&)> fn,
                      EventStreamOptions options) {
  StreamOptions so;
  so.content_type = "text/event-stream";
  so.headers = std::move(options.headers);
  so.headers.emplace_back("Cache-Control", "no-cache");
  so.headers.emplace_back("X-Accel-Buffering", "no");  // nginx in front: do not buffer
  Response res = stream(
      req,
      [fn = std::move(fn)](BodyWriter& w) mutable {
        EventStream es(w);
        fn(es);
      },
      std::move(so));
  req.exchange()->heartbeat = options.heartbeat;
  return res;
}

namespace detail {
namespace {

/// The body of a streamed response on a connection.
class SocketWriter final : public BodyWriter {
 public:
  enum class Framing { chunked, sized, raw };
  SocketWriter(io::Stream& s, Framing framing, std::uint64_t length)
      : s_(s), framing_(framing), length_(length) {}

  void write(std::string_view data) override {
    if (data.empty()) return;  // (an empty chunk would end the body)
    std::lock_guard<Lock> hold(lock_);
    if (framing_ == Framing::sized && data.size() > length_ - sent_) {
      throw std::length_error("http::stream: more written than the Content-Length announced (" +
                              std::to_string(length_) + " bytes)");
    }
    last_write_ = Loop::current().time();
    try {
      if (framing_ == Framing::chunked) {
        char head[24];
        const int n = std::snprintf(head, sizeof head, "%zx\r\n", data.size());
        std::string chunk;
        chunk.reserve(static_cast<std::size_t>(n) + data.size() + 2);
        chunk.append(head, static_cast<std::size_t>(n)).append(data).append("\r\n");
        s_.write(chunk);
      } else {
        s_.write(data);
      }
      s_.drain();
    } catch (const std::system_error&) {
      failed_ = true;  // the client is gone: not the producer's fault
      throw;
    }
    sent_ += data.size();
  }

  /// Ends the body; false if it cannot be (short of the announced length, or failed).
  bool finish() {
    if (failed_) return false;
    if (framing_ == Framing::sized) return sent_ == length_;
    if (framing_ == Framing::chunked) {
      try {
        std::lock_guard<Lock> hold(lock_);
        s_.write("0\r\n\r\n");
        s_.drain();
      } catch (const std::system_error&) {
        return false;
      }
    }
    return true;
  }

  bool failed() const { return failed_; }
  Clock::time_point last_write() const { return last_write_; }

 private:
  io::Stream& s_;
  Framing framing_;
  std::uint64_t length_;
  std::uint64_t sent_ = 0;
  bool failed_ = false;
  Clock::time_point last_write_ = Loop::current().time();
  Lock lock_;
};

/// Runs beside the producer: cancels it when the client ends the connection; writes the
/// heartbeat of an event stream when the producer has been quiet that long.
void watch(io::Stream& s, SocketWriter& w, const Exchange& ex, AnyTask producer, bool& gone) {
  try {
    for (;;) {
      std::optional<bool> data;
      if (ex.heartbeat > Clock::duration{}) {
        const Clock::time_point due = w.last_write() + ex.heartbeat;
        try {
          data = spindle::with_deadline(due, [&] { return s.wait_data(); });
        } catch (const TimeoutError&) {
          if (Loop::current().time() - w.last_write() >= ex.heartbeat) w.write(": ping\n\n");
          continue;
        }
      } else {
        data = s.wait_data();
      }
      if (*data) return;  // the client sent more (a pipelined request): it is still there
      break;
    }
  } catch (const std::system_error&) {  // reset by the peer
  }
  gone = true;
  producer.cancel("the client went away");
}

}  // namespace

bool send_stream(BeastStream& bs, Request& req, Response& res, Exchange& ex, bool keep, bool watch_client) {
  using Framing = SocketWriter::Framing;
  Framing framing = ex.stream_length ? Framing::sized : Framing::chunked;
  if (framing == Framing::chunked && req.version() < 11) {  // HTTP/1.0: no chunks; the end
    res.chunked(false);                                      // of the body is the close
    framing = Framing::raw;
    keep = false;
  }
  res.version(11);
  res.keep_alive(keep);
  boost::system::error_code ec;
  beast_http::response_serializer<beast_http::string_body> sr{res};
  beast_http::write_header(bs, sr, ec);
  if (ec) return false;
  if (req.method() == verb::head) return keep;

  io::Stream& s = bs.stream();
  SocketWriter w(s, framing, ex.stream_length.value_or(0));
  bool gone = false;
  std::optional<Task<void>> watcher;
  if (watch_client) {
    watcher = spindle::spawn([&, self = spindle::current_task()] { watch(s, w, ex, self, gone); });
  }
  const auto stop_watching = [&] {
    if (!watcher) return;
    CancelShield shield;  // the watcher ends at once; its CancelledError is its own
    watcher->cancel();
    try {
      watcher->join();
    } catch (const CancelledError&) {
    }
  };
  try {
    ex.producer(w);
  } catch (const CancelledError&) {
    stop_watching();
    if (!gone) throw;  // cancelled from elsewhere (the server closing, a timeout)
    spindle::current_task().uncancel();
    return false;
  } catch (const std::exception& e) {
    stop_watching();
    if (!w.failed() && !gone) {
      Loop::current().call_exception_handler({std::string("http stream failed: ") + e.what(),
                                              std::current_exception(),
                                              spindle::current_task().name()});
    }
    return false;
  }
  stop_watching();
  return w.finish() && keep && !gone;
}

/// A TestClient's writer: the body collected whole.
std::string collect(Exchange& ex) {
  struct Collect final : BodyWriter {
    std::string body;
    void write(std::string_view data) override { body.append(data); }
  } out;
  ex.producer(out);
  return std::move(out.body);
}

}  // namespace detail
}  // namespace spindle::http
