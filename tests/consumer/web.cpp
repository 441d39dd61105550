// Built against spindle-http as a subproject and against the installed spindle-http.pc:
// serves one page with a plain handler and one through a Router (a typed path parameter and
// a described struct answered as JSON, which uses Boost.JSON from the consumer's own code),
// and fetches both.
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <boost/describe.hpp>

#include <iostream>

namespace web {
struct Greeting {
  std::string name;
  int times = 0;
};
BOOST_DESCRIBE_STRUCT(Greeting, (), (name, times))
}  // namespace web

int main() {
  namespace http = spindle::http;
  const auto [plain, routed] = spindle::run([] {
    auto server = http::serve([](http::Request&) { return http::text("Hello"); }, "127.0.0.1", 0);
    http::Router app;
    app.get("/hello/{name}/{times}", [](std::string name, int times) {
      return web::Greeting{name, times};
    });
    auto router_server = http::serve(app, "127.0.0.1", 0);
    return std::pair(
        http::fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
        http::fetch("http://127.0.0.1:" + std::to_string(router_server.port()) + "/hello/web/3"));
  });
  std::cout << "web consumer: " << plain.status << " " << plain.body << "\n";
  std::cout << "router consumer: " << routed.status << " " << routed.body << "\n";
  return plain.status == 200 && plain.body == "Hello" && routed.status == 200 &&
                 routed.body == R"({"name":"web","times":3})"
             ? 0
             : 1;
}
