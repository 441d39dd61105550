// Test support: SPINDLE_TEST_CASE runs its body as the main task of spindle::run() and then
// checks that nothing leaked: no stack still handed out, no task state left alive.
#pragma once

#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <spindle/detail/introspect.hpp>
#include <spindle/spindle.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPINDLE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPINDLE_TEST_SANITIZED 1
#endif
#endif

namespace spindle_test {

/// True in AddressSanitizer and ThreadSanitizer builds: ten times slower, and freed memory
/// held in ASan's quarantine, so resident memory says nothing about a leak or a buffer.
#if defined(SPINDLE_TEST_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

/// This process's resident memory, in bytes (VmRSS).
inline std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6)) * 1024;
  }
  BOOST_FAIL("no VmRSS in /proc/self/status");
  return 0;
}

/// Runs body inside spindle::run with opts and checks the leak invariants afterwards.
template <class F>
void run_checked(F body, spindle::RunOptions opts = {}) {
  const auto states_before = spindle::detail::live_task_states();
  spindle::run(body, std::move(opts));
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
  BOOST_TEST(spindle::detail::live_task_states() == states_before);
}

/// Collects reports sent to the loop's exception handler.
struct Reports {
  std::vector<spindle::ExceptionContext> items;
  spindle::RunOptions options() {
    spindle::RunOptions o;
    o.exception_handler = [this](const spindle::ExceptionContext& c) { items.push_back(c); };
    return o;
  }
};

/// Reports with virtual time, for BOOST_AUTO_TEST_CASEs that check the exception handler.
inline spindle::RunOptions with_virtual_time(spindle::RunOptions o) {
  o.virtual_time = true;
  return o;
}

/// True when SPINDLE_DEBUG=1 (`meson test --setup debug`) switches debug mode on everywhere.
inline bool env_debug() {
  const char* v = std::getenv("SPINDLE_DEBUG");
  return v && *v && *v != '0';
}

/// How many fds this process has open (for leak checks).
inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

/// The what() text of an exception_ptr (std::exception or CancelledError).
inline std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const spindle::CancelledError& x) {
    return x.what();
  } catch (...) {
    return "?";
  }
}

/// A loopback port nobody listens on right now (for a child program to bind next).
/// Two connected Unix stream sockets as Streams (close-on-exec): a connection without a
/// listener. Throws std::system_error if socketpair fails.
inline std::pair<spindle::io::Stream, spindle::io::Stream> stream_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  return {spindle::io::Stream(spindle::io::Socket::adopt(fds[0])),
          spindle::io::Stream(spindle::io::Socket::adopt(fds[1]))};
}

/// A task reading up to 100 bytes from s, then lingering a second so that a cancellation
/// that came after its read had completed is delivered there (and swallowed): its result is
/// what the read returned. For races between data and cancellation.
inline spindle::Task<std::string> spawn_lingering_reader(spindle::io::Stream& s) {
  return spindle::spawn([&s] {
    std::string got = s.read(100);
    try {
      spindle::sleep(std::chrono::seconds(1));
    } catch (const spindle::CancelledError&) {
    }
    return got;
  });
}

inline std::uint16_t free_port() {
  auto s = spindle::io::Socket::tcp();
  s.bind(spindle::io::Address::ip("127.0.0.1", 0));
  return s.local_address().port();
}

/// Returns connect() once it stops failing with ECONNREFUSED (a child program still starting
/// up), retrying for up to 10 s; rethrows any other error, or the last refusal.
template <class Connect>
auto connect_when_listening(Connect connect) {
  using namespace std::chrono_literals;
  for (int i = 0;; ++i) {
    try {
      return connect();
    } catch (const std::system_error& e) {
      if (e.code().value() != ECONNREFUSED || i == 200) throw;
      spindle::sleep(50ms);
    }
  }
}

/// Parks until something accepts connections on 127.0.0.1:port (the probe connection is
/// closed at once, so not for a peer that accepts only one).
inline void wait_listening(std::uint16_t port) {
  connect_when_listening([port] { return spindle::io::open_connection("127.0.0.1", port); });
}

/// Runs a command with `input` on its stdin (within 30 s); returns {exit status, stdout}. Its
/// stderr goes to the test log when it fails.
inline std::pair<int, std::string> run(std::vector<std::string> argv, std::string input = {}) {
  using namespace std::chrono_literals;
  spindle::io::SubprocessOptions o;
  o.in = spindle::io::Redirect::Pipe;
  o.out = spindle::io::Redirect::Pipe;
  o.err = spindle::io::Redirect::Pipe;
  spindle::io::Process p = spindle::io::create_subprocess_exec(std::move(argv), o);
  auto [out, err] = spindle::with_timeout(30s, [&] { return p.communicate(input); });
  const int status = p.wait();
  if (status != 0) BOOST_TEST_MESSAGE("stderr: " << err);
  return {status, out};
}

/// RunOptions with virtual time: sleeps and timeouts take no real time and fire in a fully
/// deterministic order.
inline spindle::RunOptions virtual_time() {
  spindle::RunOptions o;
  o.virtual_time = true;
  return o;
}

/// True if this kernel lets a loop run on io_uring (asked once).
inline bool have_io_uring() {
  static const bool yes = [] {
    spindle::RunOptions o;
    o.backend = spindle::Backend::IoUring;
    try {
      spindle::run([] {}, o);
      return true;
    } catch (const std::system_error&) {
      return false;
    }
  }();
  return yes;
}

/// RunOptions on the real clock and the given backend.
inline spindle::RunOptions on_backend(spindle::Backend b) {
  spindle::RunOptions o;
  o.backend = b;
  return o;
}

}  // namespace spindle_test

/// A Boost.Test case whose body runs inside spindle::run() on virtual time, with leak checks
/// afterwards.
#define SPINDLE_TEST_CASE(name)                                                \
  static void name##_body();                                                   \
  BOOST_AUTO_TEST_CASE(name) {                                                 \
    ::spindle_test::run_checked(&name##_body, ::spindle_test::virtual_time()); \
  }                                                                            \
  static void name##_body()

/// As SPINDLE_TEST_CASE, on the real clock (for behaviour that depends on real time passing).
#define SPINDLE_REALTIME_TEST_CASE(name)                                    \
  static void name##_body();                                                \
  BOOST_AUTO_TEST_CASE(name) { ::spindle_test::run_checked(&name##_body); } \
  static void name##_body()

/// As SPINDLE_REALTIME_TEST_CASE, on the epoll backend whatever SPINDLE_BACKEND says (for
/// behaviour only epoll has, such as file I/O on the thread pool).
#define SPINDLE_EPOLL_TEST_CASE(name)                                                  \
  static void name##_body();                                                           \
  BOOST_AUTO_TEST_CASE(name) {                                                         \
    ::spindle_test::run_checked(&name##_body,                                          \
                                ::spindle_test::on_backend(::spindle::Backend::Epoll)); \
  }                                                                                    \
  static void name##_body()

/// As SPINDLE_REALTIME_TEST_CASE, on the io_uring backend; passes with a message on a kernel
/// that refuses io_uring (nothing to test there).
#define SPINDLE_URING_TEST_CASE(name)                                                    \
  static void name##_body();                                                             \
  BOOST_AUTO_TEST_CASE(name) {                                                           \
    if (!::spindle_test::have_io_uring()) {                                              \
      BOOST_TEST_MESSAGE("skipped: this kernel refuses io_uring");                       \
      return;                                                                            \
    }                                                                                    \
    ::spindle_test::run_checked(&name##_body,                                            \
                                ::spindle_test::on_backend(::spindle::Backend::IoUring)); \
  }                                                                                      \
  static void name##_body()
