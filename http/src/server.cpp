// http::serve(): HTTP/1.1 over io::start_server, parsed and serialized by Boost.Beast through
// BeastStream. One task per connection runs the request loop: wait for the next request
// (idle timeout, kept by a lazy timer: no timer per request), read its header (header
// timeout, size limit: 431), answer 100-continue or refuse a too-large body at once (413),
// read the body (body timeout), call the handler, write the response. Any protocol failure
// gets its status and closes the connection; the server goes on. Pipelined requests are
// simply the next ones in Beast's buffer.
//
// With a Router, the route is looked up once the header is in when some route streams its
// body or has a body limit of its own; a streamed body is read by the handler through the
// parser, converted to a buffer_body parser. A streamed response (http::stream) is written
// after the handler returns, by send_stream (stream_writer.cpp).
//
// Graceful shutdown: close() stops accepting and cancels the connections waiting for a
// request; a connection in the middle of a request finishes it (Connection: close) and ends.
// The server's state is co-owned by its running connections, so the handle may go first.
#include <spindle/cancel.hpp>
#include <spindle/context_var.hpp>
#include <spindle/errors.hpp>
#include <spindle/http/beast_stream.hpp>
#include <spindle/http/router.hpp>
#include <spindle/http/server.hpp>
#include <spindle/io/server.hpp>
#include <spindle/task.hpp>
#include <spindle/timeout.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
// GCC 12 with -fsanitize=address sees boost::optional's storage in Beast's
// content_length_unchecked() as maybe-uninitialized (a false positive; the sanitizer's
// instrumentation hides the initialisation from the warning's flow analysis).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/parser.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <strings.h>

#include <unordered_set>

#include "coarse_clock.hpp"
#include "connection.hpp"
#include "exchange.hpp"
#include "framing.hpp"

namespace spindle::http {
namespace detail {

ContextVar<Connection*>& current_connection() {
  static ContextVar<Connection*> var("spindle.http.connection", nullptr);
  return var;
}

struct ServerState {
  Handler handler;
  std::optional<Router> router;  // set when serving a Router (route-aware body reading)
  ServeOptions options;
  std::optional<io::Server> io;
  bool closing = false;
  std::size_t idle_closed = 0;  // connections the idle timer cancelled
  std::unordered_set<Connection*> connections;

  void serve_connection(io::Stream& stream);
  void watch_idle(Connection& c, Clock::duration in);
};

// A lazy idle timer: rather than a timer per request, one per connection that looks how long
// the connection has been waiting when it fires, closes it if that is the idle timeout, and
// otherwise comes back when it could be.
void ServerState::watch_idle(Connection& c, Clock::duration in) {
  c.idle_timer = spindle::Loop::current().call_later(in, [this, &c] {
    // Less one tick: two coarse readings may overstate a wait by a tick, and an idle
    // connection is never closed early.
    const Clock::duration waited =
        c.waiting ? coarse_now() - c.idle_since - coarse_tick() : Clock::duration{};
    if (waited >= options.idle_timeout) {
      ++idle_closed;
      c.task.cancel("idle for " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                      options.idle_timeout).count()) + " s");
    } else {
      watch_idle(c, options.idle_timeout - std::max(waited, Clock::duration{}));
    }
  });
}

namespace {

using beast_http::error;

/// Runs f() under a timeout; false if it expired (the caller then closes the connection).
template <class F>
bool within(Clock::duration d, F f) {
  try {
    spindle::with_timeout(d, f);
    return true;
  } catch (const TimeoutError&) {
    return false;
  }
}

/// Answers `code` and ends the connection. A HEAD request (`head`, once its header is known)
/// gets the header alone, as every response to HEAD.
void refuse(BeastStream& s, status code, bool head = false) {
  server_counters().count_response(static_cast<unsigned>(code));
  Response r = text(std::string(beast_http::obsolete_reason(code)) + "\n", code);
  r.set(field::date, http_date_now());
  r.keep_alive(false);
  r.prepare_payload();
  if (head) r.body().clear();  // Content-Length stays: what a GET would have got
  boost::system::error_code ec;
  beast_http::write(s, r, ec);
  if (ec) return;  // the peer is gone already
  // A lingering close, as nginx's: the client may still be sending what was refused, and
  // closing with unread bytes would reset the connection, perhaps before the client read
  // the response. So: half-close, then read and drop its bytes for a while.
  try {
    io::Stream& stream = s.stream();
    stream.write_eof();
    spindle::with_timeout(std::chrono::seconds(1), [&] {
      char drop[4096];
      for (std::size_t total = 0; total < 1024 * 1024;) {
        const std::size_t n = stream.read_some(std::span<char>(drop));
        if (n == 0) break;
        total += n;
      }
    });
  } catch (const std::exception&) {  // TimeoutError, or the connection failed: close now
  }
}

/// The status a failed read gets: 431 and 413 for the limits, 400 for a bad request; none
/// (status::unknown) when the peer just went away.
status status_for(const boost::system::error_code& ec) {
  if (ec == error::header_limit) return status::request_header_fields_too_large;
  if (ec == error::body_limit) return status::payload_too_large;
  if (ec == error::end_of_stream || ec == error::partial_message ||
      ec.category() == boost::system::generic_category() || ec == boost::asio::error::eof) {
    return status::unknown;
  }
  return status::bad_request;
}

bool expects_continue(const Request::header_type& h) {
  const auto v = h[field::expect];
  return v.size() == 12 && ::strncasecmp(v.data(), "100-continue", 12) == 0;
}

void send_continue(io::Stream& stream) {
  stream.write("HTTP/1.1 100 Continue\r\n\r\n");
  stream.drain();
}

/// A streamed request body: the handler reads it through the parser, converted to a
/// buffer_body parser once the header was in.
class ParserBody final : public BodyReader {
 public:
  ParserBody(beast_http::request_parser<beast_http::string_body>&& header_done, BeastStream& bs,
             boost::beast::flat_buffer& buffer, std::uint64_t limit, Clock::duration timeout)
      : parser_(std::move(header_done)), bs_(bs), buffer_(buffer), timeout_(timeout) {
    parser_.body_limit(limit);
    continue_ = expects_continue(parser_.get().base());
  }

  bool done() const { return parser_.is_done(); }

  std::size_t read_some(std::span<char> buf) override {
    if (buf.empty()) return 0;
    if (continue_) {
      continue_ = false;
      send_continue(bs_.stream());
    }
    std::size_t got = 0;
    while (got == 0 && !parser_.is_done()) {
      parser_.get().body().data = buf.data();
      parser_.get().body().size = buf.size();
      boost::system::error_code ec;
      if (!within(timeout_, [&] { beast_http::read_some(bs_, buffer_, parser_, ec); })) {
        throw HttpError(status::request_timeout, "the request body is too slow to arrive");
      }
      got = buf.size() - parser_.get().body().size;
      if (ec == error::need_buffer) ec = {};
      if (ec == error::body_limit) throw HttpError(status::payload_too_large);
      if (ec && status_for(ec) == status::bad_request) {
        throw HttpError(status::bad_request, "malformed request body: " + ec.message());
      }
      if (ec) throw ClientDisconnected("reading the request body: " + ec.message());
    }
    return got;
  }

 private:
  beast_http::request_parser<beast_http::buffer_body> parser_;
  BeastStream& bs_;
  boost::beast::flat_buffer& buffer_;
  Clock::duration timeout_;
  bool continue_ = false;
};

}  // namespace

bool send_stream(BeastStream& bs, Request& req, Response& res, Exchange& ex, bool keep,
                 bool watch);
namespace {
bool send_response(io::Stream& stream, const Response& res, bool with_body);
}

ServerCounters& server_counters() noexcept {
  static constinit thread_local ServerCounters counters;
  return counters;
}

void ServerState::serve_connection(io::Stream& stream) {
  Connection conn(&stream, spindle::current_task());
  connections.insert(&conn);
  ServerCounters& counters = server_counters();
  ++counters.connections_total;
  ++counters.connections_open;
  struct Leave {
    ServerState* s;
    Connection* c;
    ServerCounters& counters;
    ~Leave() {
      if (c->idle_timer) c->idle_timer->cancel();
      s->connections.erase(c);
      --counters.connections_open;
    }
  } leave{this, &conn, counters};
  watch_idle(conn, options.idle_timeout);
  auto token = current_connection().set(&conn);
  BeastStream bs(stream);
  boost::beast::flat_buffer buffer;
  std::optional<io::Address> remote;
  try {
    remote = stream.peer_address();
  } catch (const std::system_error&) {  // a socket that is not a connected one (tests)
  }
  const bool route_bodies = router && router->has_body_options();
  for (std::size_t served = 0; !closing;) {
    conn.busy = false;
    if (buffer.size() == 0) {  // keep-alive: wait for the next request's first bytes
      boost::system::error_code ec;
      conn.waiting = true;
      conn.idle_since = coarse_now();
      // Too long a wait: the idle timer cancels this task (the connection closes).
      const std::size_t n = bs.read_some(buffer.prepare(16 * 1024), ec);
      conn.waiting = false;
      if (ec) return;  // the client went away
      buffer.commit(n);
    }
    conn.busy = true;
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    parser.eager(false);
    boost::system::error_code ec;
    // Usually the whole header came with the first bytes: parse what is here, and wait
    // (under the header timeout) only if more is needed.
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == beast_http::error::need_more) {
      ec = {};
      if (!within(options.header_timeout, [&] { beast_http::read_header(bs, buffer, parser, ec); })) {
        return refuse(bs, status::request_timeout);
      }
    }
    if (ec) {
      if (const status s = status_for(ec); s != status::unknown) refuse(bs, s);
      return;
    }
    // Framing Beast accepts but RFC 9112 does not: refused, and nothing after it is read.
    const bool head = parser.get().method() == verb::head;
    if (const status s = framing_problem(parser.get().base()); s != status::unknown) {
      return refuse(bs, s, head);
    }
    // The header is in. Does the route read its body as a stream, or limit it otherwise?
    Request req;
    bool stream_body = false;
    std::uint64_t body_limit = options.body_limit;
    if (route_bodies) {
      req.base() = parser.get().base();
      std::optional<std::uint64_t> route_limit;
      stream_body = router->streams_body(req, &route_limit);
      body_limit = route_limit.value_or(body_limit);
      parser.body_limit(body_limit);
    }
    if (!parser.is_done()) {
      if (const auto len = parser.content_length(); len && *len > body_limit) {
        return refuse(bs, status::payload_too_large, head);  // before the client sends it
      }
      if (!stream_body) {
        if (expects_continue(parser.get().base())) send_continue(stream);
        if (!within(options.body_timeout, [&] { beast_http::read(bs, buffer, parser, ec); })) {
          return refuse(bs, status::request_timeout, head);
        }
        if (ec) {
          if (const status s = status_for(ec); s != status::unknown) refuse(bs, s, head);
          return;
        }
      }
    }
    std::optional<ParserBody> body;
    Exchange ex;
    ex.remote = remote;
    if (stream_body) {
      body.emplace(std::move(parser), bs, buffer, body_limit, options.body_timeout);
      ex.body = &*body;
    } else {
      req = parser.release();
    }
    req.set_exchange(&ex);
    ++served;
    ++counters.requests_total;
    Response res = respond(handler, req);
    counters.count_response(res.result_int());
    if (conn.upgraded) return;  // a WebSocket's connection now: it closes as the handler ends
    bool keep = req.keep_alive() && !closing &&
                (options.max_requests_per_connection == 0 ||
                 served < options.max_requests_per_connection) &&
                (!body || body->done());  // an unread body: no telling where the next request starts
    stamp(res, options);
    if (ex.streams(res)) {
      if (!send_stream(bs, req, res, ex, keep, !body || body->done())) return;
      continue;
    }
    res.version(11);  // HTTP/1.1 whatever the client spoke (1.0 gets Connection: close), as nginx
    res.keep_alive(keep);
    res.prepare_payload();
    // HEAD: the header a GET would get, without the body.
    if (!send_response(stream, res, req.method() != verb::head) || !keep) return;
  }
}

namespace {
/// The status line, the fields and (with_body) the body, in one buffer this thread keeps,
/// sent in one write: what Beast's serializer would send, without its buffer-sequence
/// machinery. False if the connection failed.
bool send_response(io::Stream& stream, const Response& res, bool with_body) {
  thread_local std::string out;
  out.clear();
  const unsigned code = res.result_int();
  const auto reason = res.reason().empty() ? beast_http::obsolete_reason(res.result()) : res.reason();
  const char line[] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ',
                       static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                       static_cast<char>('0' + code % 10), ' '};
  out.append(line, sizeof line).append(reason.data(), reason.size()).append("\r\n");
  for (const auto& f : res) {
    out.append(f.name_string().data(), f.name_string().size()).append(": ");
    out.append(f.value().data(), f.value().size()).append("\r\n");
  }
  out.append("\r\n");
  if (with_body) out.append(res.body());
  try {
    stream.write(out);
    stream.drain();
    return true;
  } catch (const std::system_error&) {  // the peer is gone
    return false;
  }
}
}  // namespace

void stamp(Response& res, const ServeOptions& options) {
  if (res.find(field::date) == res.end()) res.set(field::date, http_date_now());
  if (!options.server_header.empty() && res.find(field::server) == res.end()) {
    res.set(field::server, options.server_header);
  }
}

Response client_disconnected() {
  Response r = text("the connection ended in the middle of the request body\n", status::bad_request);
  r.keep_alive(false);
  return r;
}

Response internal_error(const std::exception& e) {
  spindle::Loop::current().call_exception_handler(
      {std::string("http handler failed: ") + e.what(), std::current_exception(),
       spindle::current_task().name()});
  return text("Internal Server Error\n", status::internal_server_error);
}

Server start(std::shared_ptr<ServerState> st, std::string_view host, std::uint16_t port) {
  const ServeOptions& options = st->options;
  io::ServerOptions io_options;
  io_options.backlog = options.backlog;
  io_options.reuse_port = options.reuse_port;
  io_options.tls = options.tls;
  // Each connection co-owns the state while it runs; the io server holds only a weak
  // reference (the state owns the io server: no cycle).
  std::weak_ptr<ServerState> weak = st;
  st->io.emplace(io::start_server(
      [weak](io::Stream& s) {
        if (auto state = weak.lock()) state->serve_connection(s);
      },
      host, port, io_options));
  return Server(std::move(st));
}

}  // namespace detail

Response response(status code, std::string body, std::string_view content_type) {
  Response r{code, 11};
  r.set(field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  r.body() = std::move(body);
  return r;
}

Server::Server(std::shared_ptr<detail::ServerState> s) noexcept : s_(std::move(s)) {}
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;
Server::~Server() { close(); }

std::uint16_t Server::port() const { return s_->io->port(); }
std::vector<io::Address> Server::addresses() const { return s_->io->addresses(); }

void Server::close() noexcept {
  if (!s_ || s_->closing) return;
  s_->closing = true;
  s_->io->close();
  for (detail::Connection* c : s_->connections) {
    if (!c->busy && !c->upgraded) c->task.cancel("HTTP server closing");  // idle keep-alive
  }
}

void Server::wait_closed(SourceLocation where) { s_->io->wait_closed(where); }

Server serve(Handler handler, std::string_view host, std::uint16_t port, ServeOptions options) {
  auto st = std::make_shared<detail::ServerState>();
  st->handler = std::move(handler);
  st->options = std::move(options);
  return detail::start(std::move(st), host, port);
}

Server serve(Router app, std::string_view host, std::uint16_t port, ServeOptions options) {
  app.freeze();
  auto st = std::make_shared<detail::ServerState>();
  st->handler = [app](Request& req) { return app(req); };
  st->router = std::move(app);
  st->options = std::move(options);
  return detail::start(std::move(st), host, port);
}

namespace {
/// Serves the one connection in the calling task. The idle timer ends it by cancelling that
/// task, as it ends a server's connection task; that cancellation is the connection's end
/// here, not the caller's, so it is taken back.
void serve_one(detail::ServerState& st, io::Stream& stream) {
  try {
    st.serve_connection(stream);
  } catch (const CancelledError&) {
    if (st.idle_closed == 0) throw;
    spindle::current_task().uncancel();
  }
}
}  // namespace

void serve_connection(io::Stream& stream, Handler handler, ServeOptions options) {
  detail::ServerState st;
  st.handler = std::move(handler);
  st.options = std::move(options);
  serve_one(st, stream);
}

void serve_connection(io::Stream& stream, Router app, ServeOptions options) {
  app.freeze();
  detail::ServerState st;
  st.handler = [app](Request& req) { return app(req); };
  st.router = std::move(app);
  st.options = std::move(options);
  serve_one(st, stream);
}

}  // namespace spindle::http
