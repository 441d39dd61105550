// Fuzz target: the Redis reply path. (1) The RESP reader gives the same replies, or the same
// protocol error, whether the bytes come whole or in fuzzer-chosen pieces. (2) A Connection to
// a fake server sends commands whose callers are cancelled while they wait (their replies are
// owed and must be dropped, not handed to the next caller); each caller that waits gets
// exactly the reply in its place in the server's stream, or redis::Error once the stream is
// bad or closed.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

#include "resp.hpp"

namespace redis = spindle::redis;
using redis::detail::RespNode;
using redis::detail::RespReader;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

bool same(const RespNode& a, const RespNode& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer || a.format != b.format ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  if (!(a.number == b.number || (a.number != a.number && b.number != b.number))) return false;  // NaN
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    if (!same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

/// Parses `bytes` fed in `pieces`; the replies, and whether a protocol error ended them.
std::vector<std::unique_ptr<RespNode>> parse(const std::string& bytes, const std::vector<std::size_t>& pieces,
                                             bool& error) {
  RespReader reader;
  std::vector<std::unique_ptr<RespNode>> out;
  error = false;
  std::size_t at = 0;
  try {
    for (std::size_t i = 0; at < bytes.size(); ++i) {
      const std::size_t n = pieces.empty() ? bytes.size() : std::max<std::size_t>(1, pieces[i % pieces.size()]);
      reader.feed(std::string_view(bytes).substr(at, n));
      at += std::min(n, bytes.size() - at);
      while (auto r = reader.get()) out.push_back(std::move(r));
    }
  } catch (const redis::detail::ProtocolError&) {
    error = true;
  }
  return out;
}

/// True if the connection would not count `r` as answering a command (a push, or what
/// looks like a pub/sub message): the model below does not follow those.
bool not_an_answer(const RespNode& r) {
  if (r.type == redis::Reply::Type::Push) return true;
  if (r.type != redis::Reply::Type::Array || r.elements.empty() ||
      r.elements[0].type != redis::Reply::Type::String) {
    return false;
  }
  const std::string& k = r.elements[0].str;
  return k == "message" || k == "pmessage" || k == "subscribe" || k == "unsubscribe" ||
         k == "psubscribe" || k == "punsubscribe";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<bool> cancel(in.ConsumeIntegralInRange<std::size_t>(1, 8));
  for (std::size_t i = 0; i < cancel.size(); ++i) cancel[i] = in.ConsumeBool();
  std::vector<std::size_t> pieces(in.ConsumeIntegralInRange<std::size_t>(1, 6));
  for (auto& p : pieces) p = in.ConsumeIntegralInRange<std::size_t>(1, 48);
  const std::string bytes = in.ConsumeRemainingBytesAsString();

  // (1) Whole or in pieces: the same replies, the same end.
  bool whole_error = false, split_error = false;
  const auto whole = parse(bytes, {}, whole_error);
  const auto split = parse(bytes, pieces, split_error);
  if (whole.size() != split.size() || whole_error != split_error) fail("pieces change the replies");
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (!same(*whole[i], *split[i])) fail("pieces change a reply");
  }
  bool modelled = true;
  for (const auto& r : whole) modelled = modelled && !not_an_answer(*r);

  // (2) Commands, some abandoned, against a server that sends `bytes`. What each caller got
  // is checked at the end against the order in which the server received the commands: the
  // n-th command received is answered by the n-th reply.
  struct Outcome {
    enum Kind { Answered, ErrorReply, Cancelled, Failed } kind;
    redis::Reply::Type type{};
    std::string text;
  };
  std::vector<Outcome> outcomes(cancel.size());
  std::string received;  // every byte the server read
  const std::string path = "/tmp/spindle-fuzz-redis-" + std::to_string(::getpid()) + ".sock";
  spindle::RunOptions options;
  options.virtual_time = true;
  spindle::run([&] {
    spindle::Event release;  // the server sends nothing before a caller waits that will not give up
    auto server = spindle::io::start_unix_server([&](spindle::io::Stream& s) {
      auto reader = spindle::spawn([&] {
        try {
          for (std::string part = s.read(); !part.empty(); part = s.read()) received += part;
        } catch (const std::system_error&) {  // reset: the client closed with replies unread
        }
      });
      try {
        release.wait();
        std::size_t at = 0;
        for (std::size_t i = 0; at < bytes.size(); ++i) {  // in pieces, each read on its own
          const std::size_t n = pieces[i % pieces.size()];
          s.write(std::string_view(bytes).substr(at, n));
          s.drain();
          at += std::min(n, bytes.size() - at);
          spindle::yield_now();
        }
        s.write_eof();
      } catch (const std::system_error&) {  // the client closed first
      }
      reader.join();  // everything the client sent, until it closes
    }, path);
    redis::Connection conn = redis::connect_unix(path);
    for (std::size_t i = 0; i < cancel.size(); ++i) {
      auto t = spindle::spawn([&conn, i] { return conn.command("ECHO", std::to_string(i)); });
      spindle::yield_now();  // it sends and parks for its reply (or for replies owed before it)
      if (cancel[i]) {
        t.cancel();
      } else {
        release.set();
      }
      Outcome& o = outcomes[i];
      try {
        const redis::Reply r = t.join();
        o = {Outcome::Answered, r.type(), r.type() == redis::Reply::Type::String || r.type() == redis::Reply::Type::Status ? r.str() : ""};
      } catch (const spindle::CancelledError&) {
        if (!cancel[i]) fail("cancelled though nobody cancelled it");
        o.kind = Outcome::Cancelled;
      } catch (const redis::Error& e) {
        o = {Outcome::ErrorReply, redis::Reply::Type::Error, e.what()};
      } catch (const std::logic_error&) {
        o.kind = Outcome::Failed;  // the connection had closed
      } catch (const std::system_error&) {
        o.kind = Outcome::Failed;
      }
    }
    release.set();
    conn = redis::Connection();
    server.close();
    server.wait_closed();
  }, std::move(options));
  // The order the commands arrived in ("*2\r\n$4\r\nECHO\r\n$<n>\r\n<i>\r\n" each).
  std::vector<std::size_t> order;
  for (std::size_t at = received.find("ECHO\r\n"); at != std::string::npos; at = received.find("ECHO\r\n", at + 1)) {
    const std::size_t digits = received.find("\r\n", at + 6) + 2;
    order.push_back(std::stoul(received.substr(digits, received.find("\r\n", digits) - digits)));
  }
  std::vector<bool> sent(cancel.size());
  for (std::size_t place = 0; place < order.size(); ++place) {
    const std::size_t i = order[place];
    sent[i] = true;
    const Outcome& o = outcomes[i];
    if (!modelled || o.kind == Outcome::Cancelled || o.kind == Outcome::Failed) continue;
    if (o.kind == Outcome::Answered) {
      if (place >= whole.size()) fail("a reply the server never sent");
      if (whole[place]->type != o.type) fail("a reply out of its place (type)");
      if (!o.text.empty() && whole[place]->str != o.text) fail("a reply out of its place (text)");
    } else if (place < whole.size() && whole[place]->type == redis::Reply::Type::Error) {
      // (what() is a C string: an error's text counts up to a NUL it may hold)
      const std::string& text = whole[place]->str;
      if (o.text.find(text.substr(0, text.find('\0'))) == std::string::npos) fail("an error reply out of its place");
    } else if (place < whole.size()) {
      // redis::Error without an error reply in its place: only once the stream has ended or
      // broken, never while a good reply is there.
      fail("redis::Error though a good reply was in its place");
    }
  }
  for (std::size_t i = 0; i < cancel.size(); ++i) {
    if (!sent[i] && outcomes[i].kind == Outcome::Answered) fail("an answer to a command never sent");
  }
  ::unlink(path.c_str());
  return 0;
}
