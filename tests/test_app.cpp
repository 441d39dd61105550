// http::run_app(): an application served by several loops until SIGTERM. The hooks run on
// every loop, in order, the requests reach both loops' servers, the stop is graceful, a failing
// startup hook comes back as run_app's exception with nothing left running, and the signal
// mask is given back. (run_app owns its loops: these tests run outside spindle::run.)
#include <spindle/http.hpp>
#include <spindle_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace http = spindle::http;

namespace {

/// One GET over a plain blocking socket; the whole response ("" if the connection failed).
std::string get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// A thread that blocks the stop signals (so they stay for run_app's wait), runs fn, and is
/// joined when destroyed.
class Helper {
 public:
  template <class F>
  explicit Helper(F fn)
      : thread_([fn]() mutable {
          sigset_t stop;
          sigemptyset(&stop);
          sigaddset(&stop, SIGINT);
          sigaddset(&stop, SIGTERM);
          pthread_sigmask(SIG_BLOCK, &stop, nullptr);
          fn();
        }) {}
  ~Helper() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

bool sigterm_blocked() {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, SIGTERM) == 1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(app)

BOOST_AUTO_TEST_CASE(two_loops_serve_until_sigterm_with_hooks_on_each) {
  std::mutex m;
  std::vector<std::string> trace;
  std::set<unsigned> served_by;
  const auto note = [&](std::string what) {
    std::lock_guard<std::mutex> hold(m);
    trace.push_back(std::move(what));
  };
  http::Router app;
  app.get("/who", [&] {
    const unsigned loop = spindle::current_loop_index();
    std::lock_guard<std::mutex> hold(m);
    served_by.insert(loop);
    return std::to_string(loop);
  });
  app.on_startup([&] { note("up " + std::to_string(spindle::current_loop_index())); });
  app.on_shutdown([&] { note("down " + std::to_string(spindle::current_loop_index())); });
  std::atomic<std::uint16_t> port{0};
  std::atomic<unsigned> loops{0};
  http::AppOptions o;
  o.on_listening = [&](const spindle::io::Address& a, unsigned n) {
    loops = n;
    port = a.port();
  };
  std::vector<std::string> answers;
  Helper client([&] {
    while (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // Connections spread over both loops' servers (SO_REUSEPORT): all on one has odds 2^-63.
    for (int i = 0; i < 64; ++i) answers.push_back(get(port, "/who"));
    ::kill(::getpid(), SIGTERM);
  });
  BOOST_TEST(!sigterm_blocked());
  http::run_app(app, "127.0.0.1", 0, 2, o);
  client.join();
  BOOST_TEST(!sigterm_blocked());  // given back
  BOOST_TEST(loops.load() == 2u);
  for (const auto& a : answers) BOOST_TEST(a.starts_with("HTTP/1.1 200 OK\r\n"), a);
  BOOST_TEST(served_by == (std::set<unsigned>{0, 1}));
  BOOST_TEST(trace == (std::vector<std::string>{"up 0", "up 1", "down 0", "down 1"}));
}

BOOST_AUTO_TEST_CASE(a_failing_startup_hook_is_thrown_and_nothing_keeps_running) {
  http::Router app;
  std::atomic<int> ups{0};
  app.get("/", [] { return "x"; });
  app.on_startup([&] {
    if (ups++ == 1) throw std::runtime_error("no database on loop 1");
  });
  try {
    http::run_app(app, "127.0.0.1", 0, 2);
    BOOST_ERROR("run_app returned");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "no database on loop 1");
  }
  BOOST_TEST(ups.load() == 2);
  BOOST_TEST(!sigterm_blocked());
}

BOOST_AUTO_TEST_CASE(a_request_in_flight_finishes_before_the_stop) {
  http::Router app;
  std::atomic<bool> started{false};
  app.get("/slow", [&] {
    started = true;
    spindle::sleep(std::chrono::milliseconds(300));
    return "finished";
  });
  std::atomic<std::uint16_t> port{0};
  http::AppOptions o;
  o.on_listening = [&](const spindle::io::Address& a, unsigned) { port = a.port(); };
  std::string answer;
  Helper client([&] {
    while (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    Helper stopper([&] {
      while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ::kill(::getpid(), SIGTERM);  // while /slow is being handled
    });
    answer = get(port, "/slow");
  });
  http::run_app(app, "127.0.0.1", 0, 1, o);
  client.join();
  BOOST_TEST(answer.starts_with("HTTP/1.1 200 OK\r\n"), answer);
  BOOST_TEST(answer.find("Connection: close\r\n") != std::string::npos, answer);
  BOOST_TEST(answer.ends_with("finished"), answer);
}

BOOST_AUTO_TEST_CASE(run_app_inside_a_loop_is_refused) {
  spindle::run([] {
    BOOST_CHECK_THROW(http::run_app(http::Router(), "127.0.0.1", 0), std::logic_error);
  });
  BOOST_TEST(!sigterm_blocked());
}

BOOST_AUTO_TEST_SUITE_END()
