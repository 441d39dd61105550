// Exercise 1 of the asyncio tutorial, for real: a small HTTP/1.0 server task in this program
// serves five pages (each takes its own time), and five concurrent fetches get them over TCP.
// Prints each URL with its time, the wall time and the sum of the times.
// Usage: fetch_urls [host:port]   (default: serve the pages ourselves on a free port)
#include <spindle/spindle.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using Seconds = std::chrono::duration<double>;

namespace {

// Serves /pageN after N * 100 ms, HTTP/1.0 (one request per connection).
void serve_page(spindle::io::Stream& s) {
  const std::string request = s.read_line();  // "GET /pageN HTTP/1.0"
  while (s.read_line().size() > 2) {
  }  // skip headers up to the blank line
  const auto at = request.find("/page");
  const int n = at == std::string::npos ? 0 : request[at + 5] - '0';
  spindle::sleep(std::chrono::milliseconds(100 * n));
  const std::string body = "This is page " + std::to_string(n) + "\n";
  s.write("HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

// Fetches one URL path and returns the seconds it took.
double fetch(const spindle::io::Address& server, const std::string& path) {
  auto& loop = spindle::Loop::current();
  const auto start = loop.time();
  auto s = spindle::io::open_connection(server);
  s.write("GET " + path + " HTTP/1.0\r\nHost: " + server.to_string() + "\r\n\r\n");
  std::string response;
  for (std::string part = s.read(); !part.empty(); part = s.read()) response += part;
  const Seconds took = loop.time() - start;
  const bool ok = response.rfind("HTTP/1.0 200", 0) == 0;
  std::printf("fetched http://%s%s in %.2f s%s\n", server.to_string().c_str(), path.c_str(),
              took.count(), ok ? "" : " (failed)");
  return took.count();
}

}  // namespace

int main(int argc, char** argv) {
  spindle::run([&] {
    spindle::io::Server own = spindle::io::start_server(serve_page, "127.0.0.1", 0);
    const spindle::io::Address server = argc > 1 ? spindle::io::Address::parse(argv[1])
                                                 : own.addresses().at(0);
    auto& loop = spindle::Loop::current();
    const auto start = loop.time();
    std::vector<spindle::Task<double>> fetches;
    for (int i = 1; i <= 5; ++i) {
      fetches.push_back(spindle::spawn(fetch, server, "/page" + std::to_string(i)));
    }
    double sum = 0;
    for (double t : spindle::gather(fetches)) sum += t;
    const Seconds wall = loop.time() - start;
    std::printf("wall time: %.2f s\n", wall.count());
    std::printf("sum of fetch times: %.2f s\n", sum);
  });
}
