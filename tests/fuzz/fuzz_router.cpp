// Fuzz target: routing and typed binding through TestClient: a fuzzer-chosen method, target
// (path parameters, query string) and JSON body against routes with int, double and string
// parameters, a Query struct and a JSON body struct with optionals, vectors and a nested
// struct. Bad input must come back as a 4xx, never a 500 (an exception the binding let
// escape); a body that binds echoes back as JSON that binds to the same value again.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <boost/describe.hpp>
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

namespace http = spindle::http;

namespace fuzz {
struct Point {
  double x = 0;
  double y = 0;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))
struct Shape {
  std::string name;
  std::int64_t sides = 0;
  std::optional<bool> filled;
  std::vector<Point> points;
  std::optional<std::vector<std::string>> labels;
};
BOOST_DESCRIBE_STRUCT(Shape, (), (name, sides, filled, points, labels))
struct Paging {
  int limit = 10;
  std::optional<std::string> after;
  bool desc = false;
};
BOOST_DESCRIBE_STRUCT(Paging, (), (limit, after, desc))
}  // namespace fuzz

namespace {

http::Router make_app() {
  http::Router app;
  app.get("/shapes", [](http::Query<fuzz::Paging> p) {
    return std::to_string(p.limit) + p.after.value_or("-") + (p.desc ? "d" : "a");
  });
  app.post("/shapes", [](fuzz::Shape s) { return s; });
  app.get("/shapes/{id}/scale/{factor}", [](std::int64_t id, double factor) {
    return std::to_string(id) + "x" + std::to_string(factor);
  });
  app.get("/files/{name}", [](std::string name) { return name; });
  app.put("/shapes/{id}", [](int id, fuzz::Shape s) { return s.name + std::to_string(id); });
  app.del("/shapes/{id}", [](int) {});
  return app;
}

void expect(bool ok, const char* what, const http::Response& res) {
  if (!ok) {
    std::fprintf(stderr, "%s: %u %s\n", what, res.result_int(), res.body().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  const std::string method = kMethods[in.ConsumeIntegralInRange<std::size_t>(0, 6)];
  std::string target = in.ConsumeRandomLengthString(200);
  if (target.empty() || target[0] != '/') target.insert(0, "/");
  const bool json = in.ConsumeBool();
  const std::string body = in.ConsumeRemainingBytesAsString();
  spindle::RunOptions options;
  options.virtual_time = true;
  spindle::run([&] {
    http::TestClient client(make_app());
    http::Request req;
    req.method_string(method);
    // Beast refuses targets with characters a request line cannot hold: so does any server.
    for (char c : target) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return;
    }
    req.target(target);
    req.version(11);
    if (json) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    const http::Response res = client.send(std::move(req));
    expect(res.result_int() != 500, "a 500", res);
    expect(res.result_int() >= 200 && res.result_int() < 500, "a status out of range", res);
    if (method == "POST" && res.result_int() == 200 && target.starts_with("/shapes") &&
        target.find_first_of("?#") == std::string::npos && target == "/shapes") {
      // What bound echoes back, and binds again to the same.
      http::Request again;
      again.method(http::verb::post);
      again.target("/shapes");
      again.version(11);
      again.set(http::field::content_type, "application/json");
      again.body() = res.body();
      again.prepare_payload();
      const http::Response echo = client.send(std::move(again));
      expect(echo.result_int() == 200, "the echo does not bind", echo);
      expect(echo.body() == res.body(), "the echo binds to something else", echo);
    }
  }, std::move(options));
  return 0;
}
