// WebSockets accepted from http::serve() handlers, driven by Python's websockets library:
// text and binary messages, ping/pong, the close handshake both ways, the message size
// limit, cancellation, and upgrades that are not.
#include <spindle/http.hpp>
#include <spindle_test.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace http = spindle::http;
using spindle::io::Process;
using spindle::io::Redirect;

namespace {

/// A python3 that has the websockets module (Debian installs it for /usr/bin/python3).
std::string python_with_websockets() {
  for (const char* p : {"python3", "/usr/bin/python3"}) {
    spindle::io::SubprocessOptions o;
    o.out = Redirect::DevNull;
    o.err = Redirect::DevNull;
    if (spindle::io::create_subprocess_exec({p, "-c", "import websockets"}, o).wait() == 0) return p;
  }
  BOOST_FAIL("no python3 with the websockets module (.ci/deps.sh installs python3-websockets)");
  return {};
}

/// Runs a Python websockets client (asyncio code using `url`); returns what it printed.
std::string client(const std::string& body, std::uint16_t port) {
  const std::string script = "import asyncio, sys, websockets\nasync def main(url):\n" + body +
                             "\nasyncio.run(asyncio.wait_for(main(sys.argv[1]), 20))\n";
  spindle::io::SubprocessOptions o;
  o.out = Redirect::Pipe;
  o.err = Redirect::Pipe;
  Process p = spindle::io::create_subprocess_exec(
      {python_with_websockets(), "-c", script, "ws://127.0.0.1:" + std::to_string(port) + "/ws"}, o);
  auto [out, err] = spindle::with_timeout(30s, [&] { return p.communicate(); });
  BOOST_TEST(p.wait() == 0, err);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(websocket)

SPINDLE_REALTIME_TEST_CASE(messages_ping_and_the_clients_close_handshake) {
  std::vector<std::string> seen;
  auto srv = http::serve(
      [&](http::Request& req) {
        http::WebSocket ws = http::accept_websocket(req);
        try {
          for (;;) {
            const http::Message m = ws.read();
            seen.push_back((m.text ? "text:" : "binary:") + m.data);
            if (m.text) {
              ws.write_text("echo " + m.data);
            } else {
              ws.write_binary(m.data + "!");
            }
          }
        } catch (const http::WebSocketClosed& e) {
          seen.push_back("closed " + std::to_string(e.code()) + " " + e.reason());
        }
        return http::Response{};
      },
      "127.0.0.1", 0);
  const std::string out = client(R"(
    async with websockets.connect(url) as ws:
        await ws.send("hello")
        print(await ws.recv())
        await ws.send(b"\x00\x01")
        print(repr(await ws.recv()))
        pong = await ws.ping(b"are you there")
        await pong
        print("pong")
        await ws.close(code=4000, reason="bye")
        print(ws.close_code)  # Beast echoes the code (the reason reached the server: `seen`)
)",
                                 srv.port());
  BOOST_TEST(out == "echo hello\nb'\\x00\\x01!'\npong\n4000\n");
  BOOST_TEST((seen == std::vector<std::string>{"text:hello", std::string("binary:\0\x01", 9),
                                               "closed 4000 bye"}));
}

SPINDLE_REALTIME_TEST_CASE(too_big_a_message_closes_with_1009_and_the_server_can_close_first) {
  std::string failure;
  auto srv = http::serve(
      [&](http::Request& req) {
        if (req.target() == "/ws?polite") {
          http::WebSocket ws = http::accept_websocket(req);
          ws.write_text("going away");
          ws.close(1001, "server restarting");
          return http::Response{};
        }
        http::WebSocket ws = http::accept_websocket(req, http::WebSocketOptions{.max_message = 100});
        try {
          ws.read();
        } catch (const std::system_error& e) {
          failure = e.what();
        }
        return http::Response{};
      },
      "127.0.0.1", 0);
  const std::string big = client(R"(
    async with websockets.connect(url) as ws:
        await ws.send("x" * 200)
        try:
            await ws.recv()
        except websockets.ConnectionClosed as e:
            print(e.rcvd.code if e.rcvd else None)
)",
                                 srv.port());
  BOOST_TEST(big == "1009\n");
  BOOST_TEST(failure.find("WebSocket read") != std::string::npos, failure);
  const std::string polite = client(R"(
    async with websockets.connect(url + "?polite") as ws:
        print(await ws.recv())
        try:
            await ws.recv()
        except websockets.ConnectionClosedOK as e:
            print(e.rcvd.code, e.rcvd.reason)
)",
                                    srv.port());
  BOOST_TEST(polite == "going away\n1001 server restarting\n");
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_read_closes_the_connection) {
  bool timed_out = false;
  auto srv = http::serve(
      [&](http::Request& req) {
        http::WebSocket ws = http::accept_websocket(req);
        try {
          spindle::with_timeout(100ms, [&] { return ws.read(); });
        } catch (const spindle::TimeoutError&) {
          timed_out = true;
        }
        BOOST_TEST(!ws.is_open());
        return http::Response{};
      },
      "127.0.0.1", 0);
  const std::string out = client(R"(
    async with websockets.connect(url) as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            print("closed")
)",
                                 srv.port());
  BOOST_TEST(out == "closed\n");
  BOOST_TEST(timed_out);
}

SPINDLE_REALTIME_TEST_CASE(an_upgrade_that_is_not_one_is_refused) {
  auto srv = http::serve(
      [](http::Request& req) -> http::Response {
        http::accept_websocket(req);  // a plain GET: std::invalid_argument, hence a 500
        return http::text("unreachable");
      },
      "127.0.0.1", 0);
  spindle::Loop::current().set_exception_handler([](const spindle::ExceptionContext&) {});
  auto s = spindle::io::open_connection("127.0.0.1", srv.port());
  s.write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(s.read_line() == "HTTP/1.1 500 Internal Server Error\r\n");
  http::Request outside;
  BOOST_CHECK_THROW(http::accept_websocket(outside), std::logic_error);  // not in a handler
}

BOOST_AUTO_TEST_SUITE_END()
