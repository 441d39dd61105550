// Exercise 1 of the asyncio tutorial, for real: fetch N URLs concurrently with http::fetch
// (libcurl on the loop's reactor). Tests have no internet, so a task of this program serves
// the pages with http::serve, page N after N * 100 ms. Prints each URL with its status and
// time, then the wall time against the sum of the times.
// Usage: fetch_urls [N] [base-url]   (default: 5 pages from our own server)
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using Seconds = std::chrono::duration<double>;

namespace {

// /pageN: waits N * 100 ms, then answers.
spindle::http::Response page(spindle::http::Request& req) {
  const std::string target(req.target());
  const int n = target.rfind("/page", 0) == 0 ? std::atoi(target.c_str() + 5) : 0;
  if (n <= 0) return spindle::http::text("no such page\n", spindle::http::status::not_found);
  spindle::sleep(std::chrono::milliseconds(100 * n));
  return spindle::http::text("This is page " + std::to_string(n) + "\n");
}

// Fetches url; prints its status and time; returns the time.
double timed_fetch(const std::string& url) {
  auto& loop = spindle::Loop::current();
  const auto start = loop.time();
  const auto response = spindle::http::fetch(url);
  const Seconds took = loop.time() - start;
  std::printf("fetched %s: %d in %.2f s\n", url.c_str(), response.status, took.count());
  return took.count();
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 5;
  spindle::run([&] {
    auto own = spindle::http::serve(page, "127.0.0.1", 0);
    const std::string base = argc > 2 ? argv[2] : "http://127.0.0.1:" + std::to_string(own.port());
    auto& loop = spindle::Loop::current();
    const auto start = loop.time();
    std::vector<spindle::Task<double>> fetches;
    for (int i = 1; i <= n; ++i) {
      fetches.push_back(spindle::spawn(timed_fetch, base + "/page" + std::to_string(i)));
    }
    double sum = 0;
    for (double t : spindle::gather(fetches)) sum += t;
    const Seconds wall = loop.time() - start;
    std::printf("wall time: %.2f s\n", wall.count());
    std::printf("sum of fetch times: %.2f s\n", sum);
  });
}
