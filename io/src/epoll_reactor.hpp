// The epoll reactor: edge-triggered, each fd registered once for its lifetime, an eventfd for
// wake-ups from other threads. Tasks park on an FdWatch's reader/writer slot.
#pragma once

#include <cstdint>

#include <spindle/detail/intrusive.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/reactor.hpp>

#include "../../fibers/src/loop_core.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

namespace spindle::io::detail {

class EpollReactor;
struct WatchTag;

/// A registered fd's readiness and the tasks waiting for it. Edge-triggered: `readable` and
/// `writable` record an edge until an operation hits EAGAIN and clears them.
struct FdWatch : spindle::detail::ListHook<WatchTag> {
  int fd = -1;
  EpollReactor* reactor = nullptr;  // set while registered; cleared if the loop ends first
  bool readable = false;
  bool writable = false;
  bool hup = false;  // a hang-up, peer shutdown or error was seen: end of stream is pending
  bool level = false;  // registered by add_level(): level-triggered, armed per direction
  std::uint32_t armed = 0;  // (level) the epoll events asked for now
  spindle::detail::Waiter* reader = nullptr;
  spindle::detail::Waiter* writer = nullptr;
};

class EpollReactor final : public Reactor {
 public:
  /// Throws std::system_error if epoll or the eventfd cannot be created.
  EpollReactor();
  ~EpollReactor() override;

  void poll(std::optional<Clock::time_point> deadline) override;
  void wake() noexcept override;

  /// Registers w.fd once, edge-triggered for input and output. Throws std::system_error.
  void add(FdWatch& w);
  /// What a wait is for: input, output, or whichever comes first.
  enum class Interest { read, write, either };
  /// Registers w.fd for level-triggered waits through arm() (fds whose reads spindle does
  /// not make: libpq's, curl's), armed at once for `interest`, what the first wait wants (one
  /// epoll_ctl, not two). Throws std::system_error (EEXIST if the fd is registered already).
  void add_level(FdWatch& w, Interest interest);
  /// Asks a level watch to report input (or output), level-triggered: at the next poll if the
  /// fd is ready now. A direction stays armed while tasks keep waiting on it, so the usual
  /// request-answer loop costs no epoll_ctl; poll() disarms a direction that reports with
  /// nobody waiting. Throws std::system_error.
  void arm(FdWatch& w, bool for_write);
  /// Unregisters it and wakes any parked task with WakeReason::Error.
  void remove(FdWatch& w) noexcept;
  /// Parks the current task until w is readable (or writable), or the deadline passes.
  /// Returns the wake reason (Granted, Timeout, Cancelled, Error when the fd was closed).
  spindle::detail::WakeReason wait(FdWatch& w, bool for_write, const Clock::time_point* deadline,
                                   const char* what, SourceLocation where) {
    return wait(w, for_write ? Interest::write : Interest::read, deadline, what, where);
  }
  /// As wait(w, for_write, ...), for `interest` (with `either`, the one task parks in both
  /// slots and the first event wakes it).
  spindle::detail::WakeReason wait(FdWatch& w, Interest interest, const Clock::time_point* deadline,
                                   const char* what, SourceLocation where);

  /// The running loop's epoll reactor. Throws std::logic_error without a loop.
  static EpollReactor& current() {
    // Inline: every socket wait asks. io/ replaces the loop's reactor with this one.
    return static_cast<EpollReactor&>(*spindle::detail::LoopCore::require().reactor_);
  }

  /// A receive buffer shared by the loop's streams (allocated on first use). A stream
  /// receives into it and copies out what it keeps before anything can park, so one buffer
  /// serves every connection and no fiber stack holds one. Throws std::bad_alloc.
  std::span<char> scratch() {
    if (!scratch_) scratch_.reset(new char[kScratch]);  // not zeroed: recv overwrites it
    return {scratch_.get(), kScratch};
  }
  static constexpr std::size_t kScratch = 64 * 1024;

 private:
  /// Asks for exactly `events` on a level watch (one-shot nothing when 0).
  void set_armed(FdWatch& w, std::uint32_t events);
  int epfd_ = -1;
  int eventfd_ = -1;
  std::atomic<bool> woken_{false};
  spindle::detail::IntrusiveList<FdWatch, WatchTag> watches_;
  std::unique_ptr<char[]> scratch_;
};

}  // namespace spindle::io::detail
