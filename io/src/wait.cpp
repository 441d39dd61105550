// wait_readable / wait_writable for fds spindle does not own: each wait registers the fd
// (a dup of it if one of our sockets already holds its registration; epoll keys on the fd
// number and the open file) and unregisters it afterwards.
#include <spindle/io/wait.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <spindle/detail/wait_list.hpp>

#include "../../fibers/src/loop_core.hpp"
#include "epoll_reactor.hpp"
#include "syscall.hpp"

namespace spindle::io {
namespace {

bool wait_fd(int fd, bool for_write, const Clock::time_point* deadline, const char* what,
             SourceLocation where) {
  auto& reactor = detail::EpollReactor::current();
  auto& self = spindle::detail::LoopCore::require().require_task(what);
  // A cancellation point delivers a pending cancellation first, before touching the fd:
  // whoever cancelled this task may have closed it already (curl does).
  spindle::detail::LoopCore::deliver_pending(self);
  detail::FdWatch w;
  w.fd = fd;
  int dup_fd = -1;
  try {
    reactor.add(w);
  } catch (const std::system_error& e) {
    if (e.code().value() != EEXIST) throw;
    dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) detail::throw_errno(what);
    w.fd = dup_fd;
    reactor.add(w);
  }
  struct Cleanup {
    detail::EpollReactor& r;
    detail::FdWatch& w;
    int dup_fd;
    ~Cleanup() {
      if (w.reactor) r.remove(w);
      if (dup_fd >= 0) ::close(dup_fd);
    }
  } cleanup{reactor, w, dup_fd};
  // Registration reports current readiness at once (the first edge), so no event is lost.
  const auto r = reactor.wait(w, for_write, deadline, what, where);
  if (r == spindle::detail::WakeReason::Cancelled ||
      spindle::detail::LoopCore::running_cancel_wins()) {
    spindle::detail::throw_cancelled();
  }
  return r != spindle::detail::WakeReason::Timeout;
}

}  // namespace

void wait_readable(int fd, SourceLocation where) { wait_fd(fd, false, nullptr, "wait_readable", where); }
void wait_writable(int fd, SourceLocation where) { wait_fd(fd, true, nullptr, "wait_writable", where); }

bool wait_readable(int fd, Clock::duration timeout, SourceLocation where) {
  const auto deadline = spindle::Loop::current().time() + timeout;
  return wait_fd(fd, false, &deadline, "wait_readable", where);
}

bool wait_writable(int fd, Clock::duration timeout, SourceLocation where) {
  const auto deadline = spindle::Loop::current().time() + timeout;
  return wait_fd(fd, true, &deadline, "wait_writable", where);
}

}  // namespace spindle::io
