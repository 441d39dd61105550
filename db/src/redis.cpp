// spindle::redis: RESP written by hand (it is a few lines), replies (RESP2 and RESP3) read by
// resp.hpp's incremental reader, bytes moved by a spindle Stream.
#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/redis.hpp>
#include <spindle/task.hpp>
#include <spindle/timeout.hpp>

#include <sys/socket.h>

#include "resp.hpp"

#include <cerrno>

#include <charconv>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace spindle::redis {

// ---- Reply ----

using detail::RespNode;

Reply::Type Reply::type() const noexcept { return node_->type; }

namespace {
const char* type_name(Reply::Type t) {
  switch (t) {
    case Reply::Type::Nil: return "nil";
    case Reply::Type::String: return "a string";
    case Reply::Type::Integer: return "an integer";
    case Reply::Type::Array: return "an array";
    case Reply::Type::Status: return "a status";
    case Reply::Type::Error: return "an error";
    case Reply::Type::Map: return "a map";
    case Reply::Type::Set: return "a set";
    case Reply::Type::Double: return "a double";
    case Reply::Type::Boolean: return "a boolean";
    case Reply::Type::BigNumber: return "a big number";
    case Reply::Type::Verbatim: return "a verbatim string";
    case Reply::Type::Push: return "a push";
  }
  return "unknown";
}

[[noreturn]] void wrong_type(Reply::Type t, const char* wanted) {
  throw Error(std::string("redis: reply is ") + type_name(t) + ", not " + wanted);
}
}  // namespace

std::string_view Reply::view() const {
  switch (node_->type) {
    case Type::String: case Type::Status: case Type::Error: case Type::BigNumber:
    case Type::Verbatim: case Type::Double:
      return node_->str;
    default:
      wrong_type(node_->type, "a string");
  }
}

std::string Reply::str() const { return std::string(view()); }

long long Reply::integer() const {
  if (node_->type != Type::Integer) wrong_type(node_->type, "an integer");
  return node_->integer;
}

double Reply::number() const {
  if (node_->type == Type::Double) return node_->number;
  if (node_->type == Type::Integer) return static_cast<double>(node_->integer);
  wrong_type(node_->type, "a double");
}

bool Reply::boolean() const {
  if (node_->type == Type::Boolean) return node_->integer != 0;
  if (node_->type == Type::Integer && (node_->integer == 0 || node_->integer == 1)) return node_->integer;
  wrong_type(node_->type, "a boolean");
}

std::string Reply::format() const {
  if (node_->type != Type::Verbatim) wrong_type(node_->type, "a verbatim string");
  return node_->format;
}

std::vector<Reply> Reply::elements() const {
  switch (node_->type) {
    case Type::Nil: return {};
    case Type::Array: case Type::Set: case Type::Push: case Type::Map: break;
    default: wrong_type(node_->type, "an array");
  }
  std::vector<Reply> out;
  out.reserve(node_->elements.size());
  for (const RespNode& e : node_->elements) out.push_back(Reply(root_, &e));
  return out;
}

std::vector<std::pair<Reply, Reply>> Reply::pairs() const {
  if (node_->type != Type::Map && node_->type != Type::Array && node_->type != Type::Nil) {
    wrong_type(node_->type, "a map");
  }
  const auto& e = node_->elements;
  if (e.size() % 2 != 0) throw Error("redis: an array of odd length is not a map");
  std::vector<std::pair<Reply, Reply>> out;
  out.reserve(e.size() / 2);
  for (std::size_t i = 0; i < e.size(); i += 2) out.emplace_back(Reply(root_, &e[i]), Reply(root_, &e[i + 1]));
  return out;
}

void detail::append_command_list(std::string& out, const std::vector<std::string>& args) {
  if (args.empty()) throw std::invalid_argument("redis: a command needs at least its name");
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) append_bulk(out, a);
}

// ---- Connection ----

struct Connection::Impl {
  io::Stream stream;
  detail::RespReader reader;
  int protocol = 2;
  std::function<void(const Reply&)> push_handler;
  std::deque<Reply> pushes;     // pushes read with no handler set, for next_push()
  Lock lock;                    // one round trip at a time
  std::size_t owed = 0;         // replies to commands whose callers gave up: dropped first
  long long subscriptions = 0;  // channels and patterns subscribed to, as the server counts
  std::deque<Message> messages; // messages read while waiting for a confirmation
  bool awaiting_pong = false;   // unsubscribe() ends with a PING whose reply closes it
  bool open = true;
  db::detail::TaskHold held;    // by the task inside transaction()


  explicit Impl(io::Stream s) : stream(std::move(s)) {}

  void require(const char* what) const {
    if (!open) throw std::logic_error(std::string("redis::Connection::") + what + ": the connection is closed");
  }

  /// Closes the connection and throws what ended it.
  [[noreturn]] void fail(const std::string& why) {
    open = false;
    stream.close();
    throw Error("redis: " + why);
  }

  /// The next reply, parking until it has arrived. Cancellation loses nothing: received
  /// bytes are in the reader before anything parks.
  Reply next(SourceLocation where) {
    for (;;) {
      std::unique_ptr<RespNode> r;
      try {
        r = reader.get();
      } catch (const detail::ProtocolError& e) {
        fail(std::string("protocol error: ") + e.what());
      }
      if (r) {
        std::shared_ptr<const RespNode> root(std::move(r));
        const RespNode* node = root.get();
        return Reply(std::move(root), node);
      }
      // Received through the loop's shared buffer: no receive buffer on this task's stack
      // or in the connection (an idle connection holds none).
      std::string got;
      try {
        got = stream.read(64 * 1024, where);
      } catch (const std::system_error&) {
        open = false;
        stream.close();
        throw;
      }
      if (got.empty()) fail("the server closed the connection");
      reader.feed(got);
    }
  }

  /// Reads and drops the replies owed to callers that gave up, and what an interrupted
  /// unsubscribe() left unread.
  void settle(SourceLocation where) {
    while (owed > 0) {
      const Kind k = note(next(where));
      if (k == Kind::Confirmation || k == Kind::Other) --owed;
    }
    while (awaiting_pong) {
      Reply r = next(where);
      if (is_pong(r)) {
        awaiting_pong = false;
      } else {
        note(r);
      }
    }
  }

  /// PING's reply, inside pub/sub or out of it.
  static bool is_pong(const Reply& r) {
    const RespNode* n = r.node_;
    if (n->type == Reply::Type::Status) return n->str == "PONG";
    return (n->type == Reply::Type::Array || n->type == Reply::Type::Push) && !n->elements.empty() &&
           n->elements[0].type == Reply::Type::String && n->elements[0].str == "pong";
  }

  /// Sends `out` whole. A write cut short by cancellation or an error leaves a partial
  /// command on the wire: the connection is closed then.
  void send(const std::string& out, SourceLocation where) {
    try {
      stream.write(out, where);
    } catch (...) {
      open = false;
      stream.close();
      throw;
    }
  }

  enum class Kind { Confirmation, Message, Push, Other };
  /// Keeps track of a pub/sub reply (confirmations update the subscription count, messages
  /// are queued) and hands other pushes to the handler or the push queue. Only Other and
  /// Confirmation answer a command.
  Kind note(const Reply& r) {
    const RespNode* n = r.node_;
    const bool push = n->type == Reply::Type::Push;
    if ((n->type != Reply::Type::Array && !push) || n->elements.empty() ||
        n->elements[0].type != Reply::Type::String) {
      return push ? deliver(r) : Kind::Other;
    }
    const std::string& kind = n->elements[0].str;
    const auto& e = n->elements;
    if (e.size() >= 3 && (kind == "subscribe" || kind == "unsubscribe" || kind == "psubscribe" ||
                          kind == "punsubscribe")) {
      if (e[2].type == Reply::Type::Integer) subscriptions = e[2].integer;
      return Kind::Confirmation;
    }
    if (kind == "message" && e.size() >= 3) {
      messages.push_back({"message", "", e[1].str, e[2].str});
      return Kind::Message;
    }
    if (kind == "pmessage" && e.size() >= 4) {
      messages.push_back({"pmessage", e[1].str, e[2].str, e[3].str});
      return Kind::Message;
    }
    return push ? deliver(r) : Kind::Other;
  }

  /// A push that is not pub/sub: to the handler, or queued.
  Kind deliver(const Reply& r) {
    if (push_handler) {
      push_handler(r);
    } else {
      pushes.push_back(r);
    }
    return Kind::Push;
  }

  /// The next reply that answers a command: pushes on the way are noted.
  Reply answer(SourceLocation where) {
    for (;;) {
      Reply r = next(where);
      if (r.type() != Reply::Type::Push || note(r) == Kind::Confirmation) return r;
    }
  }
};

Connection::Connection() noexcept = default;
Connection::Connection(io::Stream stream) : impl_(std::make_unique<Impl>(std::move(stream))) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

std::vector<Reply> Connection::round_trip(const std::string& out, std::size_t n, bool throw_errors,
                                          SourceLocation where) {
  if (!impl_) throw std::logic_error("redis::Connection: the connection is closed");
  Impl& c = *impl_;
  c.held.wait_turn(where);  // (after another task's transaction)
  std::lock_guard guard(c.lock);
  c.require("command");
  c.settle(where);
  if (c.subscriptions > 0) {
    throw std::logic_error(
        "redis::Connection: the connection is subscribed; only subscribe, unsubscribe and "
        "next_message work");
  }
  c.send(out, where);
  c.owed += n;
  std::vector<Reply> replies;
  replies.reserve(n);
  while (replies.size() < n) {
    replies.push_back(c.answer(where));
    --c.owed;
  }
  if (throw_errors) {
    for (const auto& r : replies) {
      if (r.type() == Reply::Type::Error) throw Error(r.str());
    }
  }
  return replies;
}

Reply Connection::command_list(const std::vector<std::string>& args, SourceLocation where) {
  std::string out;
  detail::append_command_list(out, args);
  return std::move(round_trip(out, 1, true, where).front());
}

Pipeline Connection::pipeline() { return Pipeline(*this); }

// ---- transactions and scripts ----

Connection::Hold::Hold(Connection& c) : c_(c) {
  if (!c_.impl_) throw std::logic_error("redis::Connection::transaction: the connection is closed");
  Impl& i = *c_.impl_;
  if (i.held.mine()) {
    throw std::logic_error("redis::Connection::transaction: already inside a transaction");
  }
  i.held.take();
  held_ = true;
}

Connection::Hold::~Hold() {
  if (!held_ || !c_.impl_) return;
  c_.impl_->held.give_back();
}

std::optional<std::vector<Reply>> Connection::exec(Transaction& tx, SourceLocation where) {
  std::string out = "*1\r\n$5\r\nMULTI\r\n";
  out += tx.out_;
  out += "*1\r\n$4\r\nEXEC\r\n";
  std::vector<Reply> replies = round_trip(out, tx.count_ + 2, false, where);
  if (replies.front().type() == Reply::Type::Error) throw Error(replies.front().str());
  const Reply& result = replies.back();
  if (result.type() == Reply::Type::Error) throw Error(result.str());  // EXECABORT ...
  if (result.is_nil()) return std::nullopt;  // a watched key changed
  return result.elements();
}

void Connection::unwatch() noexcept {
  CancelShield shield;
  try {
    if (impl_ && impl_->open) command("UNWATCH");
  } catch (...) {  // (a broken connection has no watches left)
  }
}

namespace {

/// SHA-1 (FIPS 180-4) of data, as 40 lowercase hex digits: the name Redis gives a script.
std::string sha1_hex(std::string_view data) {
  std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string m(data);
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  m += static_cast<char>(0x80);
  while (m.size() % 64 != 56) m += '\0';
  for (int i = 7; i >= 0; --i) m += static_cast<char>((bits >> (i * 8)) & 0xFF);
  auto rotl = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (std::size_t block = 0; block < m.size(); block += 64) {
    std::uint32_t w[80];
    for (int t = 0; t < 16; ++t) {
      w[t] = 0;
      for (int k = 0; k < 4; ++k) w[t] = (w[t] << 8) | static_cast<unsigned char>(m[block + 4 * t + k]);
    }
    for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; ++t) {
      std::uint32_t f, k;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const std::uint32_t next = rotl(a, 5) + f + e + k + w[t];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = next;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint32_t v : h) {
    for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xF];
  }
  return out;
}

}  // namespace

Script Connection::script(std::string lua) { return Script(*this, std::move(lua)); }

Script::Script(Connection& conn, std::string lua)
    : conn_(&conn), lua_(std::move(lua)), sha1_(sha1_hex(lua_)) {}

Reply Script::operator()(const std::vector<std::string>& keys, const std::vector<std::string>& args,
                         SourceLocation where) const {
  std::vector<std::string> call{"EVALSHA", sha1_, std::to_string(keys.size())};
  call.insert(call.end(), keys.begin(), keys.end());
  call.insert(call.end(), args.begin(), args.end());
  try {
    return conn_->command_list(call, where);
  } catch (const Error& e) {
    if (!std::string_view(e.what()).starts_with("NOSCRIPT")) throw;
  }
  call[0] = "EVAL";  // (which leaves it cached for the next EVALSHA)
  call[1] = lua_;
  return conn_->command_list(call, where);
}

std::vector<Reply> Pipeline::execute(SourceLocation where) {
  if (count_ == 0) return {};
  std::string out = std::move(out_);
  const std::size_t n = count_;
  out_.clear();
  count_ = 0;
  return conn_->round_trip(out, n, false, where);
}

void Connection::subscription(const char* verb, const std::vector<std::string>& names,
                              SourceLocation where) {
  if (!impl_) throw std::logic_error("redis::Connection: the connection is closed");
  if (names.empty()) throw std::invalid_argument(std::string("redis: ") + verb + " needs a name");
  Impl& c = *impl_;
  c.held.wait_turn(where);  // (after another task's transaction)
  std::lock_guard guard(c.lock);
  c.require(verb);
  c.settle(where);
  std::vector<std::string> args{verb};
  args.insert(args.end(), names.begin(), names.end());
  std::string out;
  detail::append_command_list(out, args);
  c.send(out, where);
  // One confirmation per name, owed until read (an interrupted wait leaves them to the next
  // call); messages in between are queued for next_message(). An error reply throws.
  c.owed += names.size();
  while (c.owed > 0) {
    Reply r = c.next(where);
    const auto k = c.note(r);
    if (k == Impl::Kind::Message || k == Impl::Kind::Push) continue;
    --c.owed;
    if (r.type() == Reply::Type::Error) throw Error(r.str());
  }
}

void Connection::subscribe(const std::vector<std::string>& channels, SourceLocation where) {
  subscription("SUBSCRIBE", channels, where);
}

void Connection::psubscribe(const std::vector<std::string>& patterns, SourceLocation where) {
  subscription("PSUBSCRIBE", patterns, where);
}

void Connection::unsubscribe(SourceLocation where) {
  if (!impl_) throw std::logic_error("redis::Connection: the connection is closed");
  Impl& c = *impl_;
  std::lock_guard guard(c.lock);
  c.require("unsubscribe");
  c.settle(where);
  if (c.subscriptions == 0) return;
  // Each verb confirms once per name it drops (or once with a nil name), so how many replies
  // come is not known in advance: a PING after them marks the end. Messages still arriving
  // meanwhile are dropped with the subscription, as asyncio's PubSub does.
  c.send("*1\r\n$11\r\nUNSUBSCRIBE\r\n*1\r\n$12\r\nPUNSUBSCRIBE\r\n*1\r\n$4\r\nPING\r\n",
         where);
  c.awaiting_pong = true;
  c.settle(where);
  c.messages.clear();
}

Message Connection::next_message(SourceLocation where) {
  if (!impl_) throw std::logic_error("redis::Connection: the connection is closed");
  Impl& c = *impl_;
  std::lock_guard guard(c.lock);
  c.require("next_message");
  for (;;) {
    if (!c.messages.empty()) {
      Message m = std::move(c.messages.front());
      c.messages.pop_front();
      return m;
    }
    if (c.subscriptions == 0 && c.owed == 0 && !c.awaiting_pong) {
      throw std::logic_error("redis::Connection::next_message: not subscribed to anything");
    }
    Reply r = c.next(where);
    if (c.awaiting_pong && Impl::is_pong(r)) {
      c.awaiting_pong = false;
      continue;
    }
    const auto k = c.note(r);
    if ((k == Impl::Kind::Confirmation || k == Impl::Kind::Other) && c.owed > 0) --c.owed;
    if (r.type() == Reply::Type::Error) throw Error(r.str());
  }
}

std::optional<Message> Connection::next_message(Clock::duration timeout, SourceLocation where) {
  try {
    return with_timeout(timeout, [&] { return next_message(where); });
  } catch (const TimeoutError&) {
    return std::nullopt;
  }
}

Reply Connection::hello(int protocol, SourceLocation where) {
  if (protocol != 2 && protocol != 3) {
    throw std::invalid_argument("redis::Connection::hello: protocol " + std::to_string(protocol) +
                                " (2 or 3)");
  }
  Reply r = command_list({"HELLO", std::to_string(protocol)}, where);
  impl_->protocol = protocol;
  return r;
}

int Connection::protocol() const noexcept { return impl_ ? impl_->protocol : 2; }

void Connection::on_push(std::function<void(const Reply&)> fn) {
  if (!impl_) throw std::logic_error("redis::Connection::on_push: the connection is closed");
  impl_->push_handler = std::move(fn);
  if (impl_->push_handler) {  // (what was queued goes to the handler first)
    while (!impl_->pushes.empty()) {
      const Reply r = std::move(impl_->pushes.front());
      impl_->pushes.pop_front();
      impl_->push_handler(r);
    }
  }
}

std::optional<Reply> Connection::next_push(Clock::duration timeout, SourceLocation where) {
  if (!impl_) throw std::logic_error("redis::Connection::next_push: the connection is closed");
  Impl& c = *impl_;
  c.held.wait_turn(where);  // (after another task's transaction)
  try {
    return with_timeout(timeout, [&]() -> Reply {
      std::lock_guard guard(c.lock);
      c.require("next_push");
      c.settle(where);
      while (c.pushes.empty()) {
        Reply r = c.next(where);
        const auto k = c.note(r);
        if (k == Impl::Kind::Confirmation || k == Impl::Kind::Other) {
          c.fail("a reply arrived that no command asked for");
        }
      }
      Reply r = std::move(c.pushes.front());
      c.pushes.pop_front();
      return r;
    });
  } catch (const TimeoutError&) {
    return std::nullopt;
  }
}

bool Connection::is_open() const noexcept { return impl_ && impl_->open; }

bool Connection::subscribed() const noexcept { return impl_ && impl_->subscriptions > 0; }

bool Connection::peer_gone() const noexcept {
  if (!is_open()) return true;
  char byte;
  const ssize_t n = ::recv(impl_->stream.socket().fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void Connection::close() noexcept { impl_.reset(); }

Connection connect(std::string_view host, std::uint16_t port, SourceLocation where) {
  io::Stream s = io::open_connection(host, port, {}, where);
  s.socket().set_nodelay(true);
  return Connection(std::move(s));
}

Connection connect_unix(std::string_view path, SourceLocation where) {
  return Connection(io::open_unix_connection(path, {}, where));
}

namespace {

/// What a redis://, rediss:// or unix:// URL says.
struct Url {
  bool tls = false;
  std::string user, password, host, path;  // path: a Unix socket's
  std::uint16_t port = 6379;
  long db = 0;
  int protocol = 2;     // protocol=3: HELLO 3 once connected
  std::string ca_file;  // ssl_ca_certs: trusted besides the system's CAs
  bool verify = true;   // ssl_cert_reqs=none turns verification off
};

Url parse_url(std::string_view url) {
  auto bad = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("redis::connect: " + why + " in \"" + std::string(url) + "\"");
  };
  auto number = [&](std::string_view text, long max, const char* what) {
    long n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > max) {
      throw bad(std::string("\"") + std::string(text) + "\" is not a " + what);
    }
    return n;
  };
  auto decode = [&](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '%') {
        out += text[i];
        continue;
      }
      int v = 0;
      if (i + 2 >= text.size() || std::from_chars(text.data() + i + 1, text.data() + i + 3, v, 16).ptr !=
                                          text.data() + i + 3) {
        throw bad("a malformed percent-escape");
      }
      out += static_cast<char>(v);
      i += 2;
    }
    return out;
  };
  Url u;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) throw bad("no scheme (redis://, rediss://, unix://)");
  const std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const bool unix_socket = scheme == "unix";
  if (!unix_socket && scheme != "redis" && scheme != "rediss") {
    throw bad("the scheme \"" + std::string(scheme) + "\" (redis://, rediss:// or unix://)");
  }
  u.tls = scheme == "rediss";
  // [user[:password]@] before the host (or the socket's path)
  const auto slash = rest.find('/');
  const auto at = rest.substr(0, unix_socket ? rest.size() : slash).rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view info = rest.substr(0, at);
    const auto colon = info.find(':');
    u.user = decode(info.substr(0, colon));
    if (colon != std::string_view::npos) u.password = decode(info.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (unix_socket) {
    if (rest.empty() || rest[0] != '/') throw bad("no socket path");
    u.path = decode(rest);
  } else {
    const auto path_at = rest.find('/');
    std::string_view authority = rest.substr(0, path_at);
    if (path_at != std::string_view::npos) {
      const std::string_view db = rest.substr(path_at + 1);
      if (!db.empty()) u.db = number(db, INT32_MAX, "database number");
    }
    std::string_view port;
    if (!authority.empty() && authority[0] == '[') {  // [v6 address]:port
      const auto close = authority.find(']');
      if (close == std::string_view::npos) throw bad("an unclosed [");
      u.host = std::string(authority.substr(1, close - 1));
      if (close + 1 < authority.size()) {
        if (authority[close + 1] != ':') throw bad("text after ]");
        port = authority.substr(close + 2);
      }
    } else {
      const auto colon = authority.rfind(':');
      u.host = std::string(authority.substr(0, colon));
      if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) throw bad("no host");
    if (!port.empty()) u.port = static_cast<std::uint16_t>(number(port, 65535, "port"));
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string value = eq == std::string_view::npos ? std::string() : decode(item.substr(eq + 1));
    if (key == "db") {
      u.db = number(value, INT32_MAX, "database number");
    } else if (key == "protocol") {
      u.protocol = static_cast<int>(number(value, 3, "protocol"));
      if (u.protocol < 2) throw bad("protocol=" + value + " (2 or 3)");
    } else if (key == "ssl_ca_certs") {
      u.ca_file = value;
    } else if (key == "ssl_cert_reqs") {
      if (value != "none" && value != "required") {
        throw bad("ssl_cert_reqs=\"" + value + "\" (none or required)");
      }
      u.verify = value == "required";
    } else if (!key.empty()) {
      throw bad("the unknown parameter \"" + std::string(key) +
                "\" (db, protocol, ssl_ca_certs, ssl_cert_reqs)");
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return u;
}

}  // namespace

Connection connect(std::string_view url, SourceLocation where) {
  const Url u = parse_url(url);
  Connection c;
  if (!u.path.empty()) {
    c = connect_unix(u.path, where);
  } else {
    io::ConnectOptions options;
    if (u.tls) {
      io::TlsContext tls = io::TlsContext::client();
      if (!u.ca_file.empty()) tls.load_verify_file(u.ca_file);
      tls.set_verify(u.verify);
      options.tls = std::move(tls);
    }
    io::Stream s = io::open_connection(u.host, u.port, std::move(options), where);
    s.socket().set_nodelay(true);
    c = Connection(std::move(s));
  }
  if (!u.password.empty()) {
    if (u.user.empty()) {
      c.command("AUTH", u.password);
    } else {
      c.command("AUTH", u.user, u.password);
    }
  }
  if (u.protocol == 3) c.hello(3, where);
  if (u.db != 0) c.command("SELECT", u.db);
  return c;
}

// ---- Pool ----

Pool::Pool(std::string url, std::size_t size)
    : url_(std::move(url)), size_(size), gate_(size, "redis::Pool") {
  parse_url(url_);  // (a malformed URL says so now)
}

Pool::~Pool() = default;

Pool::Lease Pool::acquire(SourceLocation where) {
  gate_.enter(where);
  try {
    while (!idle_.empty()) {
      Connection c = std::move(idle_.back());
      idle_.pop_back();
      if (!c.peer_gone()) return Lease(this, std::move(c));  // (else closed as c goes)
    }
    return Lease(this, connect(url_, where));
  } catch (...) {
    gate_.leave();
    throw;
  }
}

void Pool::give_back(Connection conn) noexcept {
  // Broken, or still subscribed (its messages would reach the next borrower): closed.
  if (!gate_.closed() && conn.is_open() && !conn.subscribed()) idle_.push_back(std::move(conn));
  gate_.leave();
}

void Pool::close(SourceLocation where) {
  idle_.clear();
  gate_.close(where);
}

Pool::Lease::~Lease() {
  if (pool_) pool_->give_back(std::move(conn_));
}

}  // namespace spindle::redis
