// Built against spindle-http as a subproject and against the installed spindle-http.pc:
// serves one page and fetches it.
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <iostream>

int main() {
  namespace http = spindle::http;
  const auto got = spindle::run([] {
    auto server = http::serve([](http::Request&) { return http::text("Hello"); }, "127.0.0.1", 0);
    return http::fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  });
  std::cout << "web consumer: " << got.status << " " << got.body << "\n";
  return got.status == 200 && got.body == "Hello" ? 0 : 1;
}
