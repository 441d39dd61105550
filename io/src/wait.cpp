// wait_readable / wait_writable for fds spindle does not own: each wait registers the fd
// (a dup of it if one of our sockets already holds its registration; epoll keys on the fd
// number and the open file) and unregisters it afterwards.
#include <spindle/io/wait.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>
#include <system_error>
#include <utility>

#include <spindle/detail/wait_list.hpp>

#include "../../fibers/src/loop_core.hpp"
#include "backend.hpp"
#include "syscall.hpp"

namespace spindle::io {
namespace {

bool wait_fd(int fd, bool for_write, const Clock::time_point* deadline, const char* what,
             SourceLocation where) {
  auto& reactor = detail::IoBackend::current();
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
    detail::IoBackend& r;
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

namespace spindle::io {

FdWaiter::FdWaiter(int fd) noexcept : fd_(fd) {}

FdWaiter::FdWaiter(FdWaiter&& o) noexcept
    : fd_(o.fd_), dup_(std::exchange(o.dup_, -1)), watch_(std::move(o.watch_)) {}

FdWaiter& FdWaiter::operator=(FdWaiter&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    dup_ = std::exchange(o.dup_, -1);
    watch_ = std::move(o.watch_);
  }
  return *this;
}

FdWaiter::~FdWaiter() { close(); }

void FdWaiter::close() noexcept {
  if (watch_ && watch_->reactor) watch_->reactor->remove(*watch_);  // wakes a parked task
  watch_.reset();
  if (dup_ >= 0) ::close(dup_);
  dup_ = -1;
}

bool FdWaiter::wait(int interest, const Clock::time_point* deadline, const char* what,
                    SourceLocation where) {
  using Interest = detail::IoBackend::Interest;
  const Interest which = interest == 0 ? Interest::read : interest == 1 ? Interest::write : Interest::either;
  auto& reactor = detail::IoBackend::current();
  auto& self = spindle::detail::LoopCore::require().require_task(what);
  spindle::detail::LoopCore::deliver_pending(self);
  if (watch_ && watch_->reactor && watch_->reactor != &reactor) {
    throw std::logic_error(std::string("FdWaiter::") + what + ": registered with another loop");
  }
  if (watch_ && (watch_->reader || watch_->writer)) {
    throw std::logic_error(std::string("FdWaiter::") + what + ": another task already waits on fd " +
                           std::to_string(fd_));
  }
  if (!watch_ || !watch_->reactor) {
    // First wait (or the loop that had it ended): register, level-triggered, armed for it. If one of
    // our sockets holds fd_'s registration, register a dup of it instead.
    watch_ = std::make_unique<detail::FdWatch>();
    watch_->fd = dup_ >= 0 ? dup_ : fd_;
    try {
      reactor.add_level(*watch_, which);
    } catch (const std::system_error& e) {
      if (e.code().value() != EEXIST || dup_ >= 0) throw;
      dup_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
      if (dup_ < 0) detail::throw_errno(what);
      watch_->fd = dup_;
      reactor.add_level(*watch_, which);
    }
  }
  if (which != Interest::write) reactor.arm(*watch_, false);
  if (which != Interest::read) reactor.arm(*watch_, true);
  const auto r = reactor.wait(*watch_, which, deadline, what, where);
  if (r == spindle::detail::WakeReason::Cancelled ||
      spindle::detail::LoopCore::running_cancel_wins()) {
    spindle::detail::throw_cancelled();
  }
  if (r == spindle::detail::WakeReason::Error) {
    throw std::system_error(ECANCELED, std::generic_category(),
                            std::string("FdWaiter::") + what + ": closed while waiting");
  }
  return r != spindle::detail::WakeReason::Timeout;
}

void FdWaiter::wait_readable(SourceLocation where) { wait(0, nullptr, "wait_readable", where); }
void FdWaiter::wait_writable(SourceLocation where) { wait(1, nullptr, "wait_writable", where); }
void FdWaiter::wait_either(SourceLocation where) { wait(2, nullptr, "wait_either", where); }

bool FdWaiter::wait_either(Clock::duration timeout, SourceLocation where) {
  const auto deadline = spindle::Loop::current().time() + timeout;
  return wait(2, &deadline, "wait_either", where);
}

bool FdWaiter::wait_readable(Clock::duration timeout, SourceLocation where) {
  const auto deadline = spindle::Loop::current().time() + timeout;
  return wait(0, &deadline, "wait_readable", where);
}

bool FdWaiter::wait_writable(Clock::duration timeout, SourceLocation where) {
  const auto deadline = spindle::Loop::current().time() + timeout;
  return wait(1, &deadline, "wait_writable", where);
}

}  // namespace spindle::io
