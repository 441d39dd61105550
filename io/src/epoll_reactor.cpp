// EpollReactor: see epoll_reactor.hpp. Invariants: a watch's reader/writer slot is set only
// while that task is parked on it; an event clears the slot as it wakes the task; removal
// (close) wakes parked tasks with WakeReason::Error so none stays parked on a closed fd.
#include "epoll_reactor.hpp"
#include <spindle/detail/introspect.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "../../fibers/src/loop_core.hpp"
#include "syscall.hpp"

namespace spindle {
namespace io::detail {

using spindle::detail::LoopCore;
using spindle::detail::TimerEntry;
using spindle::detail::Waiter;
using spindle::detail::WakeReason;

EpollReactor::EpollReactor() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno("epoll_create1");
  eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) {
    const int err = errno;
    ::close(epfd_);
    throw_errno(err, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // marks the eventfd
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) != 0) {
    const int err = errno;
    ::close(eventfd_);
    ::close(epfd_);
    throw_errno(err, "epoll_ctl(eventfd)");
  }
}

EpollReactor::~EpollReactor() {
  detach_all();
  ::close(eventfd_);
  ::close(epfd_);
}

void EpollReactor::add(FdWatch& w) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &w;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev) != 0) throw_errno("epoll_ctl(ADD)");
  w.reactor = this;
  watches_.push_back(w);
}

void EpollReactor::add_level(FdWatch& w, Interest interest) {
  std::uint32_t events = 0;
  if (interest != Interest::write) events |= EPOLLIN | EPOLLRDHUP;
  if (interest != Interest::read) events |= EPOLLOUT;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &w;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev) != 0) throw_errno("epoll_ctl(ADD)");
  w.reactor = this;
  w.level = true;
  w.armed = events;
  watches_.push_back(w);
}

void EpollReactor::set_armed(FdWatch& w, std::uint32_t events) {
  epoll_event ev{};
  // With nothing armed, one-shot: a hang-up nobody waits for is reported once, not forever.
  ev.events = events ? events : EPOLLONESHOT;
  ev.data.ptr = &w;
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, w.fd, &ev) != 0) throw_errno("epoll_ctl(MOD)");
  w.armed = events;
}

void EpollReactor::arm(FdWatch& w, bool for_write) {
  const std::uint32_t want = for_write ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
  if ((w.armed & want) != want) set_armed(w, w.armed | want);
}

void EpollReactor::remove(FdWatch& w) noexcept {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, w.fd, nullptr);
  w.reactor = nullptr;
  w.ListHook<WatchTag>::unlink();
  LoopCore* loop = LoopCore::current_or_null();
  Waiter* reader = std::exchange(w.reader, nullptr);
  Waiter* writer = std::exchange(w.writer, nullptr);
  if (writer == reader) writer = nullptr;  // (one task waiting for either direction)
  for (Waiter* parked : {reader, writer}) {
    if (parked && loop) loop->wake(*parked, WakeReason::Error);
  }
}

void EpollReactor::wake() noexcept {
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;  // a wake-up is pending
  spindle::detail::count_reactor_wakeup();
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(eventfd_, &one, sizeof one);
}

namespace {
// epoll_pwait2 (nanosecond timeouts) where the kernel has it; epoll_wait otherwise.
std::atomic<bool> g_have_epoll_pwait2{true};
}  // namespace

void EpollReactor::poll(std::optional<Clock::time_point> deadline) {
  timespec ts{};
  timespec* timeout = nullptr;
  if (deadline) {
    // Compare before subtracting: a "do not wait" deadline may be time_point::min().
    const auto now = Clock::now();
    if (*deadline > now) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now).count();
      ts.tv_sec = static_cast<time_t>(ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
    }
    timeout = &ts;
  }
  epoll_event events[128];
  int n = -1;
  if (g_have_epoll_pwait2.load(std::memory_order_relaxed)) {
    n = ::epoll_pwait2(epfd_, events, 128, timeout, nullptr);
    // Linux before 5.11, valgrind, some seccomp filters: fall back for good.
    if (n < 0 && errno == ENOSYS) g_have_epoll_pwait2.store(false);
  }
  if (!g_have_epoll_pwait2.load(std::memory_order_relaxed)) {
    // Whole milliseconds, rounded up: a timer must never fire early.
    int ms = -1;
    if (timeout) {
      const long long total =
          static_cast<long long>(ts.tv_sec) * 1000 + (ts.tv_nsec + 999999) / 1000000;
      ms = static_cast<int>(std::min<long long>(total, std::numeric_limits<int>::max()));
    }
    n = ::epoll_wait(epfd_, events, 128, ms);
  }
  if (n < 0) return;  // EINTR: the loop simply looks again
  LoopCore* loop = LoopCore::current_or_null();
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[i];
    if (!ev.data.ptr) {
      std::uint64_t count;
      [[maybe_unused]] auto r = ::read(eventfd_, &count, sizeof count);
      woken_.store(false, std::memory_order_release);
      continue;
    }
    auto& w = *static_cast<FdWatch*>(ev.data.ptr);
    if (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) w.hup = true;
    std::uint32_t idle = 0;  // (level watches) directions that reported with nobody waiting
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      w.readable = true;
      if (Waiter* r = w.reader) {
        w.reader = nullptr;
        if (w.writer == r) w.writer = nullptr;  // (a wait for either direction: woken once)
        loop->wake(*r, WakeReason::Granted);
      } else {
        idle |= EPOLLIN | EPOLLRDHUP;
      }
    }
    if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
      w.writable = true;
      if (Waiter* wr = w.writer) {
        w.writer = nullptr;
        if (w.reader == wr) w.reader = nullptr;
        loop->wake(*wr, WakeReason::Granted);
      } else {
        idle |= EPOLLOUT;
      }
    }
    // A level watch keeps reporting what nobody waits for: disarm it (the next wait arms it
    // again). A direction whose waiter was just woken stays armed for its next wait.
    if (w.level && (w.armed & idle)) {
      try {
        set_armed(w, w.armed & ~idle);
      } catch (const std::system_error&) {  // (the fd is gone: its owner will find out)
      }
    }
  }
}

namespace {
struct IoWaiter : Waiter {
  FdWatch* watch = nullptr;
  TimerEntry deadline;
};
}  // namespace

WakeReason EpollReactor::wait(FdWatch& w, Interest interest, const Clock::time_point* deadline,
                              const char* what, SourceLocation where) {
  check_can_wait(w, interest, what);
  LoopCore& loop = LoopCore::require();
  const bool reads = interest != Interest::write, writes = interest != Interest::read;
  IoWaiter iw;
  iw.watch = &w;
  iw.detach = [](Waiter& x) noexcept {  // cancellation, timeout: leave the slots and the timer
    auto& me = static_cast<IoWaiter&>(x);
    if (me.watch->reader == &me) me.watch->reader = nullptr;
    if (me.watch->writer == &me) me.watch->writer = nullptr;
    if (me.deadline.queued()) me.task->loop_->timers().remove(me.deadline);
  };
  if (reads) w.reader = &iw;
  if (writes) w.writer = &iw;
  if (deadline) loop.wake_at(iw.deadline, iw, *deadline);
  ++loop.io_waiters_;
  const WakeReason r = loop.park(iw, what, where);
  --loop.io_waiters_;
  // Every wake path left the slot already (event, timer, cancellation, close); only the
  // timer entry may remain, when an event or a close came first.
  if (iw.deadline.queued()) loop.timers().remove(iw.deadline);
  return r;
}

}  // namespace io::detail
}  // namespace spindle
