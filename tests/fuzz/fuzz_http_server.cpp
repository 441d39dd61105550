// Fuzz target: the HTTP server, fed through a socketpair in packets whose boundaries the
// fuzzer chooses (as h2o's fuzz driver does), behind a Router with typed, streamed and
// size-limited routes. Whatever comes in, what goes out must be a sequence of well-formed
// HTTP/1.1 responses, none of them a 500 (a handler or the server failing), and the server
// must end when the client does.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <boost/describe.hpp>
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

namespace http = spindle::http;
namespace beast_http = boost::beast::http;

namespace fuzz {
struct Item {
  int id = 0;
  std::string name;
  std::vector<double> tags;
};
BOOST_DESCRIBE_STRUCT(Item, (), (id, name, tags))
}  // namespace fuzz

namespace {

http::Router make_app() {
  http::Router app;
  app.get("/", [] { return std::string("root"); });
  app.get("/items/{id}", [](int id, http::Request& req) { return std::to_string(id) + req.query("q"); });
  app.post("/items", [](fuzz::Item item) { return item; });
  app.post("/echo", [](http::Request& req) { return req.body(); }, {.body_limit = 4096});
  app.put("/stream", [](http::Request& req) {
    std::size_t total = 0;
    char buf[512];
    for (std::size_t n; (n = req.body_stream().read_some(buf)) > 0;) total += n;
    return std::to_string(total);
  }, {.stream_body = true, .body_limit = 8192});
  app.get("/chunks", [](http::Request& req) {
    return http::stream(req, [](http::BodyWriter& w) { w.write("a"); w.write("b"); });
  });
  return app;
}

void expect(bool ok, const char* what, const std::string& out) {
  if (!ok) {
    std::fprintf(stderr, "%s; the server sent:\n%s\n", what, out.c_str());
    std::abort();
  }
}

/// Which of the requests in `in` (as far as they parse) are HEAD: their responses have no body.
std::vector<bool> head_requests(const std::string& in) {
  std::vector<bool> head;
  boost::beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(in.size()), boost::asio::buffer(in)));
  while (buffer.size() > 0) {
    beast_http::request_parser<beast_http::string_body> parser;
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::system::error_code ec;
    buffer.consume(parser.put(buffer.data(), ec));
    // A request whose header parsed is answered as one (its method decides the response's
    // shape) even if its body is then refused.
    if (parser.is_header_done()) head.push_back(parser.get().method() == beast_http::verb::head);
    if (ec || !parser.is_done()) break;
  }
  return head;
}

/// Checks that `out` is a sequence of complete HTTP/1.1 responses, none a 500.
void check_responses(const std::string& out, const std::vector<bool>& head) {
  boost::beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(out.size()), boost::asio::buffer(out)));
  for (std::size_t index = 0; buffer.size() > 0; ++index) {
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(1 << 20);
    parser.eager(true);
    if (index < head.size() && head[index]) parser.skip(true);  // HEAD: no body
    boost::system::error_code ec;
    const std::size_t used = parser.put(buffer.data(), ec);
    expect(!ec || ec == beast_http::error::need_more, "a malformed response", out);
    buffer.consume(used);
    if (!parser.is_done()) {
      // A response whose length is "until the connection closes" ends here.
      parser.put_eof(ec);
      expect(!ec && parser.is_done(), "a truncated response", out);
    }
    const auto& res = parser.get();
    expect(res.version() == 11, "a response that is not HTTP/1.1", out);
    expect(res.result_int() != 500, "a 500: the server or a handler failed", out);
    if (used == 0) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<std::string> packets;
  while (in.remaining_bytes() > 0 && packets.size() < 64) {
    packets.push_back(in.ConsumeBytesAsString(in.ConsumeIntegralInRange<std::size_t>(1, 256)));
  }
  std::string out;
  spindle::RunOptions options;
  options.virtual_time = true;  // timeouts pass without waiting
  spindle::run([&] {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    spindle::io::Stream server_end(spindle::io::Socket::adopt(fds[0]));
    spindle::io::Stream client(spindle::io::Socket::adopt(fds[1]));
    http::ServeOptions serve;
    serve.header_limit = 2048;
    serve.body_limit = 16384;
    auto server = spindle::spawn([&] {
      http::serve_connection(server_end, make_app(), serve);
      server_end.close();
    });
    auto reader = spindle::spawn([&] {
      try {
        for (std::string part = client.read(); !part.empty(); part = client.read()) out += part;
      } catch (const std::system_error&) {  // reset: the server closed with bytes unread
      }
    });
    try {
      for (const std::string& p : packets) {
        client.write(p);
        client.drain();
        spindle::yield_now();
      }
      client.write_eof();
    } catch (const std::system_error&) {  // the server closed first
    }
    spindle::with_timeout(std::chrono::seconds(600), [&] { server.join(); });
    reader.join();
  }, std::move(options));
  if (!out.empty()) expect(out.starts_with("HTTP/1.1 "), "output that is not a response", out);
  std::string sent;
  for (const std::string& p : packets) sent += p;
  check_responses(out, head_requests(sent));
  return 0;
}
