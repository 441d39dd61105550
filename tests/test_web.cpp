// The web framework over real sockets, driven by the clients people use: Python's
// http.client and urllib, curl, python3-websockets. The same requests through TestClient and
// through a socket give the same responses; every 4xx path, traversal attempts sent verbatim,
// gzip decompressed by the client, the OpenAPI document parsed by Python, a WebSocket route,
// Server-Sent Events whose client leaves (the handler is cancelled, no task left) or stays
// quiet (heartbeats), chunked uploads into a streamed body, big files and ranges.
#include <spindle/http.hpp>
#include <spindle_test.hpp>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace http = spindle::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using spindle_test::run;

namespace web {

struct Todo {
  int id = 0;
  std::string title;
  bool done = false;
  std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(Todo, (), (id, title, done, note))

struct NewTodo {
  std::string title;
  std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(NewTodo, (), (title, note))

struct Listing {
  int limit = 10;
  bool done = false;
};
BOOST_DESCRIBE_STRUCT(Listing, (), (limit, done))

}  // namespace web

namespace {

/// A directory to serve, removed afterwards.
struct Site {
  std::string top;
  Site() {
    char tmpl[] = "/tmp/spindle-web-XXXXXX";
    top = ::mkdtemp(tmpl);
    ::mkdir((top + "/site").c_str(), 0755);
    std::ofstream(top + "/site/index.html") << "<!doctype html><h1>todos</h1>";
    std::ofstream(top + "/site/big.bin", std::ios::binary) << std::string(2 * 1024 * 1024, 'q');
    std::ofstream(top + "/secret.txt") << "top secret";
  }
  ~Site() { std::system(("rm -rf " + top).c_str()); }
  std::string dir() const { return top + "/site"; }
};

/// An application with something of everything.
http::Router make_app(const std::string& site) {
  http::Router app;
  auto todos = std::make_shared<std::vector<web::Todo>>();
  app.get("/todos", [todos](http::Query<web::Listing> q) {
    std::vector<web::Todo> out;
    for (const auto& t : *todos) {
      if (t.done == q.done && static_cast<int>(out.size()) < q.limit) out.push_back(t);
    }
    return out;
  });
  app.post("/todos", [todos](web::NewTodo n) {
    todos->push_back({static_cast<int>(todos->size()) + 1, n.title, false, n.note});
    return todos->back();
  }, {.status_code = http::status::created});
  app.get("/todos/{id}", [todos](int id) {
    if (id < 1 || id > static_cast<int>(todos->size())) {
      throw http::HttpError(http::status::not_found, "no todo " + std::to_string(id));
    }
    return (*todos)[static_cast<std::size_t>(id - 1)];
  });
  app.del("/todos/{id}", [](int) {});
  app.get("/big", [] { return std::string(4000, 'z'); });
  app.get("/chunks", [](http::Request& req) {
    return http::stream(req, [](http::BodyWriter& w) {
      for (int i = 0; i < 3; ++i) w.write("piece " + std::to_string(i) + "\n");
    }, {.content_type = "text/plain"});
  });
  app.post("/upload", [](http::Request& req) {
    std::size_t total = 0;
    char buf[16384];
    for (std::size_t n; (n = req.body_stream().read_some(buf)) > 0;) total += n;
    return std::to_string(total);
  }, {.stream_body = true, .body_limit = 64 * 1024 * 1024});
  app.post("/small", [](http::Request& req) { return std::to_string(req.body().size()); },
           {.body_limit = 10});
  app.static_files("/static", site);
  app.websocket("/ws", [](http::WebSocket& ws) { ws.write_text("hello"); });
  app.use(http::gzip(1000));
  app.use(http::cors({.allow_origins = {"https://ui.example"}}));
  app.openapi("/openapi.json", "Todos", "1.0");
  return app;
}

/// Python's http.client over one keep-alive connection (reconnecting after a response that
/// closed it): reads requests as JSON on stdin, prints the responses as JSON.
constexpr const char* kPythonClient = R"(
import base64, http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
out = []
for r in json.load(sys.stdin):
    body = base64.b64decode(r["body"]) if r["body"] else None
    conn.request(r["method"], r["target"], body=body, headers=r["headers"])
    res = conn.getresponse()
    data = res.read()
    out.append({"status": res.status,
                "headers": {k.lower(): v for k, v in res.getheaders()},
                "body": base64.b64encode(data).decode()})
    if res.getheader("Connection", "").lower() == "close":
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
print(json.dumps(out))
)";

struct Req {
  http::verb method;
  std::string target;
  http::Headers headers;
  std::string body;
};

std::string b64(const std::string& s) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(s[i]) << 16) |
                       (i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) << 8 : 0) |
                       (i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += i + 1 < s.size() ? t[(n >> 6) & 63] : '=';
    out += i + 2 < s.size() ? t[n & 63] : '=';
  }
  return out;
}

std::string url(const http::Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

/// The Python interpreter with the websockets module, or empty.
std::string python_with_websockets() {
  spindle::io::SubprocessOptions o;
  o.out = spindle::io::Redirect::DevNull;
  o.err = spindle::io::Redirect::DevNull;
  if (spindle::io::create_subprocess_exec({"python3", "-c", "import websockets"}, o).wait() == 0) {
    return "python3";
  }
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web)

SPINDLE_REALTIME_TEST_CASE(test_client_and_a_real_socket_give_the_same_responses) {
  Site site;
  http::Router app = make_app(site.dir());
  const std::vector<Req> requests = {
      {http::verb::post, "/todos", {{"Content-Type", "application/json"}}, R"({"title":"milk"})"},
      {http::verb::post, "/todos", {{"Content-Type", "application/json"}}, R"({"title":"eggs","note":"6"})"},
      {http::verb::get, "/todos?limit=1", {}, ""},
      {http::verb::get, "/todos/2", {}, ""},
      {http::verb::get, "/todos/9", {}, ""},
      {http::verb::get, "/todos/x", {}, ""},
      {http::verb::get, "/todos?limit=many", {}, ""},
      {http::verb::post, "/todos", {{"Content-Type", "application/json"}}, R"({"note":1})"},
      {http::verb::post, "/todos", {{"Content-Type", "application/json"}}, "{oops"},
      {http::verb::post, "/todos", {{"Content-Type", "text/plain"}}, "milk"},
      {http::verb::put, "/todos", {}, "x"},
      {http::verb::get, "/nowhere", {}, ""},
      {http::verb::get, "/todos/", {}, ""},
      {http::verb::options, "/todos/1", {}, ""},
      {http::verb::head, "/todos/1", {}, ""},
      {http::verb::delete_, "/todos/1", {}, ""},
      {http::verb::get, "/big", {{"Accept-Encoding", "gzip"}}, ""},
      {http::verb::get, "/chunks", {}, ""},
      {http::verb::get, "/todos/1", {{"Origin", "https://ui.example"}}, ""},
      {http::verb::options, "/todos", {{"Origin", "https://ui.example"}, {"Access-Control-Request-Method", "POST"}}, ""},
      {http::verb::get, "/static/", {}, ""},
      {http::verb::get, "/static/big.bin", {{"Range", "bytes=10-19"}}, ""},
      {http::verb::get, "/static/nothing.txt", {}, ""},
      {http::verb::get, "/static/big.bin", {{"Range", "bytes=99999999-"}}, ""},
      {http::verb::get, "/ws", {}, ""},
      {http::verb::post, "/upload", {}, std::string(100000, 'u')},
      {http::verb::post, "/small", {}, "0123456789A"},
  };
  // Through a socket first (the todos made there are made again through TestClient below).
  auto srv = http::serve(app, "127.0.0.1", 0);
  json::array in;
  for (const auto& r : requests) {
    json::object h;
    for (const auto& [k, v] : r.headers) h[k] = v;
    in.push_back({{"method", std::string(http::beast_http::to_string(r.method))},
                  {"target", r.target},
                  {"headers", h},
                  {"body", b64(r.body)}});
  }
  auto [status, out] = run({"python3", "-c", kPythonClient, std::to_string(srv.port())},
                           json::serialize(in));
  BOOST_REQUIRE(status == 0);
  const json::array wire = json::parse(out).as_array();
  BOOST_REQUIRE(wire.size() == requests.size());
  srv.close();
  http::Router fresh = make_app(site.dir());
  http::TestClient client(fresh);
  const std::vector<http::field> compared = {
      http::field::content_type, http::field::content_length, http::field::allow,
      http::field::location, http::field::content_encoding, http::field::vary,
      http::field::content_range, http::field::transfer_encoding, http::field::etag};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Req& r = requests[i];
    http::Response mine = client.request(r.method, r.target, r.body, r.headers);
    const json::object& theirs = wire[i].as_object();
    const std::string what = std::string(http::beast_http::to_string(r.method)) + " " + r.target;
    BOOST_TEST(mine.result_int() == theirs.at("status").as_int64(), what);
    BOOST_TEST(b64(mine.body()) == std::string(theirs.at("body").as_string()), what);
    const json::object& h = theirs.at("headers").as_object();
    for (http::field f : compared) {
      std::string name(http::beast_http::to_string(f));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string expected = h.contains(name) ? std::string(h.at(name).as_string()) : "";
      BOOST_TEST(std::string(mine[f]) == expected, what << " " << name);
    }
    BOOST_TEST(std::string(mine["Access-Control-Allow-Origin"]) ==
               (h.contains("access-control-allow-origin")
                    ? std::string(h.at("access-control-allow-origin").as_string())
                    : std::string()),
               what);
  }
}

SPINDLE_REALTIME_TEST_CASE(curl_gets_each_4xx_and_the_traversal_attempts_get_404) {
  Site site;
  auto srv = http::serve(make_app(site.dir()), "127.0.0.1", 0);
  const auto code = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto [status, out] = run(argv);
    BOOST_TEST(status == 0);
    return out;
  };
  BOOST_TEST(code({url(srv, "/nowhere")}) == "404");
  BOOST_TEST(code({"-X", "PATCH", url(srv, "/todos")}) == "405");
  BOOST_TEST(code({"-d", "title=x", url(srv, "/todos")}) == "415");  // curl sends a form
  BOOST_TEST(code({"-H", "Content-Type: application/json", "-d", "{}", url(srv, "/todos")}) == "422");
  BOOST_TEST(code({url(srv, "/todos/abc")}) == "422");
  BOOST_TEST(code({"-d", "0123456789ABC", url(srv, "/small")}) == "413");
  BOOST_TEST(code({url(srv, "/todos/%zz")}) == "400");
  BOOST_TEST(code({"-r", "99999999-", url(srv, "/static/big.bin")}) == "416");
  BOOST_TEST(code({url(srv, "/ws")}) == "426");
  for (const char* path : {"/static/../secret.txt", "/static/%2e%2e/secret.txt",
                           "/static/..%2fsecret.txt", "/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                           "/static/big.bin%00", "/static/./../secret.txt"}) {
    auto [status, out] = run({"curl", "-s", "--path-as-is", "-w", " %{http_code}", url(srv, path)});
    BOOST_TEST(status == 0);
    BOOST_TEST(out.ends_with(" 404"), path << ": " << out);
    BOOST_TEST(out.find("secret") == std::string::npos, path);
  }
  // A raw request line curl would not send: backslashes are no valid target at all.
  auto s = spindle::io::open_connection("127.0.0.1", srv.port());
  s.write("GET /static/..\\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all;
  for (std::string part = s.read(); !part.empty(); part = s.read()) all += part;
  BOOST_TEST(all.starts_with("HTTP/1.1 400 "), all);
  BOOST_TEST(all.find("secret") == std::string::npos, all);
}

SPINDLE_REALTIME_TEST_CASE(curl_decompresses_gzip_and_fetches_big_files_and_ranges) {
  Site site;
  auto srv = http::serve(make_app(site.dir()), "127.0.0.1", 0);
  auto [s1, zipped] = run({"curl", "-s", "--compressed", "-D", "/dev/stderr", url(srv, "/big")});
  BOOST_TEST(s1 == 0);
  BOOST_TEST(zipped == std::string(4000, 'z'));
  auto [s2, headers] = run({"curl", "-s", "-o", "/dev/null", "-D", "-", "-H", "Accept-Encoding: gzip",
                            url(srv, "/big")});
  BOOST_TEST(headers.find("Content-Encoding: gzip\r\n") != std::string::npos, headers);
  auto [s3, big] = run({"curl", "-s", url(srv, "/static/big.bin")});
  BOOST_TEST(big == std::string(2 * 1024 * 1024, 'q'));
  auto [s4, part] = run({"curl", "-s", "-r", "100-199", url(srv, "/static/big.bin")});
  BOOST_TEST(part == std::string(100, 'q'));
  auto [s5, chunked] = run({"curl", "-s", "--http1.0", "-D", "-", url(srv, "/chunks")});
  // HTTP/1.0 has no chunks: the body ends with the connection.
  BOOST_TEST(chunked.find("Transfer-Encoding") == std::string::npos, chunked);
  BOOST_TEST(chunked.ends_with("\r\n\r\npiece 0\npiece 1\npiece 2\n"), chunked);
}

SPINDLE_REALTIME_TEST_CASE(chunked_and_100_continue_uploads_reach_a_streamed_body_route) {
  Site site;
  auto srv = http::serve(make_app(site.dir()), "127.0.0.1", 0);
  const std::string body(3 * 1024 * 1024 + 5, 'c');
  auto [s1, chunked] = run({"curl", "-s", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                            url(srv, "/upload")}, body);
  BOOST_TEST(s1 == 0);
  BOOST_TEST(chunked == std::to_string(body.size()));
  auto [s2, cont] = run({"curl", "-s", "-H", "Expect: 100-continue", "--data-binary", "@-",
                         url(srv, "/upload")}, body);
  BOOST_TEST(cont == std::to_string(body.size()));
  // Two uploads on one connection: the second request starts where the first body ended.
  auto [s3, both] = run({"curl", "-s", "--data-binary", "12345", url(srv, "/upload"), "--next",
                         "--data-binary", "123", url(srv, "/upload")});
  BOOST_TEST(both == "53");
}

SPINDLE_REALTIME_TEST_CASE(python_reads_the_openapi_document_of_every_route) {
  Site site;
  auto srv = http::serve(make_app(site.dir()), "127.0.0.1", 0);
  const char* script = R"(
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(sys.argv[1]))
assert doc["openapi"] == "3.1.0", doc["openapi"]
assert doc["info"] == {"title": "Todos", "version": "1.0"}
paths = doc["paths"]
print(" ".join(sorted(m.upper() + " " + p for p in paths for m in paths[p])))
schemas = doc["components"]["schemas"]
todo = schemas["Todo"]
assert todo["required"] == ["id", "title", "done"], todo
assert todo["properties"]["note"] == {"type": "string"}
post = paths["/todos"]["post"]
assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NewTodo"}
assert "201" in post["responses"] and "422" in post["responses"]
params = paths["/todos"]["get"]["parameters"]
assert [(p["name"], p["in"], p["schema"].get("default")) for p in params] == [("limit", "query", 10), ("done", "query", False)], params
for ref in ("NewTodo", "HTTPValidationError", "ValidationError"):
    assert ref in schemas, ref
)";
  auto [status, out] = run({"python3", "-c", script, url(srv, "/openapi.json")});
  BOOST_TEST(status == 0);
  BOOST_TEST(out == "DELETE /todos/{id} GET /big GET /chunks GET /todos GET /todos/{id} "
                    "POST /small POST /todos POST /upload\n");
}

SPINDLE_REALTIME_TEST_CASE(a_websocket_route_talks_with_python_websockets) {
  const std::string python = python_with_websockets();
  if (python.empty()) {
    BOOST_TEST_MESSAGE("python3-websockets is not installed: skipped");
    return;
  }
  http::Router app;
  app.websocket("/echo/{name}", [](http::WebSocket& ws, http::Request& req) {
    const std::string name = req.param("name");
    for (;;) ws.write_text(name + ": " + ws.read().data);  // ends with WebSocketClosed
  });
  auto srv = http::serve(app, "127.0.0.1", 0);
  const char* script = R"(
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        for word in ("one", "two"):
            await ws.send(word)
            print(await ws.recv())
asyncio.run(main())
)";
  auto [status, out] = run({python, "-c", script,
                            "ws://127.0.0.1:" + std::to_string(srv.port()) + "/echo/ann"});
  BOOST_TEST(status == 0);
  BOOST_TEST(out == "ann: one\nann: two\n");
}

SPINDLE_REALTIME_TEST_CASE(an_event_stream_client_that_leaves_cancels_the_handler) {
  std::vector<std::string> trace;
  spindle::Event left;
  http::Router app;
  app.get("/events", [&](http::Request& req) {
    return http::event_stream(req, [&](http::EventStream& es) {
      try {
        for (int i = 0;; ++i) {
          es.send("tick " + std::to_string(i), "tick", std::to_string(i));
          spindle::sleep(20ms);
        }
      } catch (const spindle::CancelledError& e) {
        trace.push_back(std::string("cancelled: ") + e.what());
        left.set();
        throw;
      }
    });
  });
  auto srv = http::serve(app, "127.0.0.1", 0);
  const char* script = R"(
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/events")
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
lines = []
while len(lines) < 8:
    lines.append(r.readline().decode())
print("".join(lines), end="")
c.sock.close()
)";
  auto [status, out] = run({"python3", "-c", script, std::to_string(srv.port())});
  BOOST_TEST(status == 0);
  BOOST_TEST(out.starts_with("200 text/event-stream\n"), out);
  BOOST_TEST(out.find("event: tick\nid: 0\ndata: tick 0\n\n") != std::string::npos, out);
  spindle::with_timeout(10s, [&] { left.wait(); });
  BOOST_REQUIRE(trace.size() == 1u);
  BOOST_TEST(trace[0].find("the client went away") != std::string::npos, trace[0]);
  srv.close();
  srv.wait_closed();
}

SPINDLE_REALTIME_TEST_CASE(a_quiet_event_stream_sends_heartbeats) {
  spindle::Event never;
  http::Router app;
  app.get("/quiet", [&](http::Request& req) {
    return http::event_stream(req, [&](http::EventStream& es) {
      es.send("hello");
      never.wait();  // nothing more to say; the client's leaving cancels this
    }, {.heartbeat = 100ms});
  });
  auto srv = http::serve(app, "127.0.0.1", 0);
  const char* script = R"(
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/quiet")
r = c.getresponse()
got = [r.readline().decode() for _ in range(6)]
print("".join(got), end="")
c.sock.close()
)";
  auto [status, out] = run({"python3", "-c", script, std::to_string(srv.port())});
  BOOST_TEST(status == 0);
  BOOST_TEST(out == "data: hello\n\n: ping\n\n: ping\n\n", out);
  srv.close();
  spindle::with_timeout(10s, [&] { srv.wait_closed(); });
}

SPINDLE_REALTIME_TEST_CASE(a_streaming_handler_that_fails_ends_the_connection_and_is_reported) {
  spindle_test::Reports reports;
  spindle::Loop::current().set_exception_handler(
      [&](const spindle::ExceptionContext& c) { reports.items.push_back(c); });
  http::Router app;
  app.get("/half", [](http::Request& req) {
    return http::stream(req, [](http::BodyWriter& w) {
      w.write("first half\n");
      throw std::runtime_error("producer broke");
    });
  });
  auto srv = http::serve(app, "127.0.0.1", 0);
  auto [status, out] = run({"curl", "-s", "-w", " %{http_code}", url(srv, "/half")});
  BOOST_TEST(status != 0);  // curl: the transfer ended without its last chunk
  BOOST_TEST(out.starts_with("first half\n"), out);
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].message == "http stream failed: producer broke");
}

BOOST_AUTO_TEST_SUITE_END()
