// http::fetch against spindle's server, Python's http.server and nginx (plain and HTTPS), and
// against servers that stall, reset or refuse; cancellation; connection reuse; many at once.
#include <spindle/http.hpp>
#include <spindle_test.hpp>
#include <tls_certs.hpp>

#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace std::chrono_literals;
namespace http = spindle::http;
using spindle::io::Process;
using spindle_test::free_port;
using spindle_test::wait_listening;

namespace {

std::string base(std::uint16_t port, const char* scheme = "http") {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(port);
}

/// The FetchError a fetch fails with; fails the test if it succeeds.
http::FetchError fetch_error(const std::string& url, http::FetchOptions o = {}) {
  try {
    http::fetch(url, o);
  } catch (const http::FetchError& e) {
    return e;
  }
  BOOST_FAIL("the fetch was expected to fail: " + url);
  throw std::logic_error("unreachable");
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client)

SPINDLE_REALTIME_TEST_CASE(fetch_from_a_spindle_server_with_methods_bodies_and_headers) {
  auto srv = http::serve(
      [](http::Request& req) {
        if (req.target() == "/missing") return http::text("nope", http::status::not_found);
        http::Response r = http::text(std::string(req.method_string()) + " " + req.body() + " " +
                                      std::string(req["X-Token"]));
        r.set("X-Served-By", "spindle");
        return r;
      },
      "127.0.0.1", 0);
  const auto get = http::fetch(base(srv.port()) + "/");
  BOOST_TEST(get.status == 200);
  BOOST_TEST(get.body == "GET  ");
  BOOST_TEST(get.header("x-served-by") == "spindle");
  BOOST_TEST(get.header("Content-Type") == "text/plain; charset=utf-8");
  http::FetchOptions post;
  post.method = "POST";
  post.body = "payload";
  post.headers = {{"X-Token", "abc"}};
  BOOST_TEST(http::fetch(base(srv.port()) + "/", post).body == "POST payload abc");
  BOOST_TEST(http::fetch(base(srv.port()) + "/missing").status == 404);
  http::Client client(http::FetchOptions{.headers = {{"X-Token", "from-client"}}});
  BOOST_TEST(client.get(base(srv.port()) + "/").body == "GET  from-client");
  BOOST_TEST(client.request("PUT", base(srv.port()) + "/", "v").body == "PUT v from-client");
  http::FetchOptions head;
  head.method = "HEAD";
  const auto h = http::fetch(base(srv.port()) + "/", head);
  BOOST_TEST(h.status == 200);
  BOOST_TEST(h.body.empty());
}

SPINDLE_REALTIME_TEST_CASE(a_hundred_fetches_at_once) {
  auto srv = http::serve([](http::Request& req) { return http::text(std::string(req.target())); },
                         "127.0.0.1", 0);
  std::vector<spindle::Task<std::string>> many;
  for (int i = 0; i < 100; ++i) {
    many.push_back(spindle::spawn([&, i] {
      return http::fetch(base(srv.port()) + "/" + std::to_string(i)).body;
    }));
  }
  const std::vector<std::string> bodies = spindle::gather(many);
  for (int i = 0; i < 100; ++i) BOOST_TEST(bodies[i] == std::string("/").append(std::to_string(i)));
}

SPINDLE_REALTIME_TEST_CASE(sequential_fetches_share_one_connection) {
  int connections = 0;
  auto srv = spindle::io::start_server(
      [&](spindle::io::Stream& s) {
        ++connections;
        for (;;) {
          std::string line = s.read_line();
          if (line.empty()) return;
          while (s.read_line() != "\r\n") {
          }
          s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
      },
      "127.0.0.1", 0);
  for (int i = 0; i < 4; ++i) BOOST_TEST(http::fetch(base(srv.port()) + "/x").body == "ok");
  BOOST_TEST(connections == 1);
}

SPINDLE_REALTIME_TEST_CASE(fetch_from_python_http_server) {
  const std::string dir = spindle_test::tls_certs().dir;  // a scratch directory
  std::ofstream(dir + "/page.txt") << "served by python";
  const std::uint16_t port = free_port();
  spindle::io::SubprocessOptions o;
  o.out = spindle::io::Redirect::DevNull;
  o.err = spindle::io::Redirect::DevNull;
  Process py = spindle::io::create_subprocess_exec(
      {"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", dir}, o);
  wait_listening(port);
  const auto r = http::fetch(base(port) + "/page.txt");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "served by python");
  BOOST_TEST(http::fetch(base(port) + "/absent").status == 404);
  py.kill();
  py.wait();
}

SPINDLE_REALTIME_TEST_CASE(fetch_from_nginx_plain_and_https) {
  const auto& c = spindle_test::tls_certs();
  const std::uint16_t plain = free_port(), tls = free_port();
  const std::string d = c.dir + "/nginx";
  std::filesystem::create_directories(d);
  std::ofstream(d + "/nginx.conf")
      << "daemon off; master_process off; pid " << d << "/nginx.pid; error_log " << d << "/error.log;\n"
      << "events {}\nhttp { access_log off; client_body_temp_path " << d << "/body;\n"
      << "  server { listen 127.0.0.1:" << plain << "; listen 127.0.0.1:" << tls << " ssl;\n"
      << "    ssl_certificate " << c.server_cert << "; ssl_certificate_key " << c.server_key << ";\n"
      << "    location / { return 200 \"hello from nginx\"; } } }\n";
  spindle::io::SubprocessOptions o;
  o.err = spindle::io::Redirect::DevNull;
  Process nginx = spindle::io::create_subprocess_exec({"nginx", "-p", d, "-c", d + "/nginx.conf"}, o);
  wait_listening(plain);
  wait_listening(tls);
  BOOST_TEST(http::fetch(base(plain) + "/").body == "hello from nginx");
  http::FetchOptions verified;
  verified.ca_file = c.ca;
  BOOST_TEST(http::fetch("https://localhost:" + std::to_string(tls) + "/", verified).body ==
             "hello from nginx");
  // Not trusting the test CA: curl's reason comes through.
  const auto e = fetch_error("https://localhost:" + std::to_string(tls) + "/");
  BOOST_TEST(contains(e.what(), "SSL certificate problem"), e.what());
  nginx.terminate();
  nginx.wait();
}

SPINDLE_REALTIME_TEST_CASE(stalls_resets_and_refusals_are_fetch_errors) {
  // Accepts and reads, never answers.
  auto stall = spindle::io::start_server(
      [](spindle::io::Stream& s) {
        while (!s.read().empty()) {
        }
      },
      "127.0.0.1", 0);
  http::FetchOptions quick;
  quick.timeout = 200ms;
  const auto t = fetch_error(base(stall.port()) + "/", quick);
  BOOST_TEST(contains(t.what(), "Timeout was reached"), t.what());
  // Reads the request, then resets the connection.
  auto reset = spindle::io::start_server(
      [](spindle::io::Stream& s) {
        s.read_line();
        const linger l{1, 0};
        ::setsockopt(s.socket().fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      },
      "127.0.0.1", 0);
  const auto r = fetch_error(base(reset.port()) + "/");
  BOOST_TEST((contains(r.what(), "reset") || contains(r.what(), "Empty reply")), r.what());
  // Nobody listens.
  const auto refused = fetch_error(base(free_port()) + "/");
  BOOST_TEST(contains(refused.what(), "Couldn't connect to server"), refused.what());
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_fetch_is_aborted_and_the_next_one_works) {
  auto stall = spindle::io::start_server(
      [](spindle::io::Stream& s) {
        while (!s.read().empty()) {
        }
      },
      "127.0.0.1", 0);
  auto ok = http::serve([](http::Request&) { return http::text("fine"); }, "127.0.0.1", 0);
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { return http::fetch(base(stall.port()) + "/"); }),
                    spindle::TimeoutError);
  BOOST_TEST(http::fetch(base(ok.port()) + "/").body == "fine");
  BOOST_TEST(http::fetch_available());
}

BOOST_AUTO_TEST_SUITE_END()
