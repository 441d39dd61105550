// Choosing a loop's backend: RunOptions::backend, else SPINDLE_BACKEND, else io_uring where
// the kernel allows it, else epoll.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "epoll_reactor.hpp"
#if defined(SPINDLE_HAVE_URING)
#include "io_uring_backend.hpp"
#endif
#if defined(SPINDLE_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

namespace spindle::detail {

namespace {

/// SPINDLE_BACKEND's choice: Auto when unset or empty. Throws std::invalid_argument naming
/// a value it does not know.
Backend from_environment() {
  const char* env = std::getenv("SPINDLE_BACKEND");
  if (!env || !*env || std::strcmp(env, "auto") == 0) return Backend::Auto;
  if (std::strcmp(env, "epoll") == 0) return Backend::Epoll;
  if (std::strcmp(env, "io_uring") == 0) return Backend::IoUring;
  throw std::invalid_argument(std::string("SPINDLE_BACKEND=") + env +
                              ": expected epoll, io_uring or auto");
}

std::unique_ptr<Reactor> make_uring() {
#if defined(SPINDLE_HAVE_URING)
  return std::make_unique<io::detail::IoUringBackend>();
#else
  throw std::system_error(ENOTSUP, std::generic_category(),
                          "io_uring: spindle was built without liburing");
#endif
}

}  // namespace

// io/ is linked in: this replaces the weak default that only sleeps.
std::unique_ptr<Reactor> make_reactor(Backend requested, bool debug) {
  Backend want = requested == Backend::Auto ? from_environment() : requested;
  if (want == Backend::Epoll) return std::make_unique<io::detail::EpollReactor>();
  if (want == Backend::IoUring) return make_uring();
#if defined(SPINDLE_HAVE_VALGRIND)
  // Valgrind does not see what the kernel writes through the ring: epoll keeps its checks
  // meaningful (an explicit io_uring still gets io_uring).
  if (RUNNING_ON_VALGRIND) return std::make_unique<io::detail::EpollReactor>();
#endif
  try {
    auto r = make_uring();
    if (debug) std::fprintf(stderr, "spindle: this loop runs on io_uring\n");
    return r;
  } catch (const std::system_error& e) {
    if (debug) std::fprintf(stderr, "spindle: %s; this loop runs on epoll\n", e.what());
    return std::make_unique<io::detail::EpollReactor>();
  }
}

}  // namespace spindle::detail
