// The seam between io/ and the I/O backends (epoll, io_uring): what every socket, stream,
// file, process and TLS operation in io/ calls. The loop itself (fibers/) only sees the
// Reactor part (poll, wake); io/ sees this.
#pragma once

#include <spindle/detail/intrusive.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/reactor.hpp>

#include "../../fibers/src/loop_core.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

namespace spindle::io::detail {

class IoBackend;
class IoUringBackend;
struct WatchTag;

/// A registered fd's readiness and the tasks waiting for it. `readable` and `writable`
/// record readiness seen since an operation last hit EAGAIN and cleared them (epoll: an
/// edge; io_uring: a poll completion).
struct FdWatch : spindle::detail::ListHook<WatchTag> {
  int fd = -1;
  IoBackend* reactor = nullptr;  // set while registered; cleared if the loop ends first
  bool readable = false;
  bool writable = false;
  bool hup = false;  // a hang-up, peer shutdown or error was seen: end of stream is pending
  bool level = false;  // registered by add_level(): level-triggered, armed per direction
  std::uint32_t armed = 0;  // (epoll, level) the epoll events asked for now
  spindle::detail::Waiter* reader = nullptr;
  spindle::detail::Waiter* writer = nullptr;
};

/// A loop's I/O backend. Readiness waits (add, wait, remove) work on both backends: epoll
/// natively, io_uring with one-shot IORING_OP_POLL_ADD. Operations that the io_uring
/// backend runs as completions are reached through uring(), null on epoll.
class IoBackend : public Reactor {
 public:
  /// Registers w.fd for edge-style waits until remove(). Throws std::system_error.
  virtual void add(FdWatch& w) = 0;
  /// What a wait is for: input, output, or whichever comes first.
  enum class Interest { read, write, either };
  /// Registers w.fd for level-triggered waits through arm() (fds whose reads spindle does
  /// not make: libpq's, curl's), armed at once for `interest`. Throws std::system_error
  /// (EEXIST if the fd is registered already, on epoll).
  virtual void add_level(FdWatch& w, Interest interest) = 0;
  /// Asks a level watch to report input (or output) at the next poll if the fd is ready.
  /// Throws std::system_error.
  virtual void arm(FdWatch& w, bool for_write) = 0;
  /// Unregisters w and wakes any parked task with WakeReason::Error.
  virtual void remove(FdWatch& w) noexcept = 0;
  /// Parks the current task until w is readable (or writable), or the deadline passes.
  /// Returns the wake reason (Granted, Timeout, Cancelled, Error when the fd was closed).
  spindle::detail::WakeReason wait(FdWatch& w, bool for_write, const Clock::time_point* deadline,
                                   const char* what, SourceLocation where) {
    return wait(w, for_write ? Interest::write : Interest::read, deadline, what, where);
  }
  /// As wait(w, for_write, ...), for `interest` (with `either`, the one task parks in both
  /// slots and the first event wakes it).
  virtual spindle::detail::WakeReason wait(FdWatch& w, Interest interest,
                                           const Clock::time_point* deadline, const char* what,
                                           SourceLocation where) = 0;

  /// The running loop's backend. Throws std::logic_error without a loop.
  static IoBackend& current() {
    // Inline: every socket wait asks. io/ makes every loop's reactor an IoBackend.
    return static_cast<IoBackend&>(*spindle::detail::LoopCore::require().reactor_);
  }

  /// The io_uring backend, or null on epoll.
  IoUringBackend* uring() const noexcept { return uring_; }

  /// A receive buffer shared by the loop's streams (allocated on first use). A stream
  /// receives into it and copies out what it keeps before anything can park, so one buffer
  /// serves every connection and no fiber stack holds one. Throws std::bad_alloc.
  std::span<char> scratch() {
    if (!scratch_) scratch_.reset(new char[kScratch]);  // not zeroed: recv overwrites it
    return {scratch_.get(), kScratch};
  }
  /// A second buffer like scratch(), for TLS: the plaintext decrypted from bytes received
  /// into scratch(). Throws std::bad_alloc.
  std::span<char> plain_scratch() {
    if (!plain_scratch_) plain_scratch_.reset(new char[kScratch]);
    return {plain_scratch_.get(), kScratch};
  }
  static constexpr std::size_t kScratch = 64 * 1024;

 protected:
  /// The start of every wait(): requires a task, and w's slots for `interest` free. Throws
  /// std::logic_error naming `what`.
  static void check_can_wait(FdWatch& w, Interest interest, const char* what) {
    spindle::detail::LoopCore::require().require_task(what);
    if ((interest != Interest::write && w.reader) || (interest != Interest::read && w.writer)) {
      throw std::logic_error(std::string(what) + ": another task already waits on this fd");
    }
  }

  IoUringBackend* uring_ = nullptr;
  /// Every registered watch, so the backend's end can detach sockets that outlive it.
  spindle::detail::IntrusiveList<FdWatch, WatchTag> watches_;
  /// Detaches every watch still registered (sockets may outlive the loop: they must not
  /// reach back into it when closed). For the destructors.
  void detach_all() noexcept {
    watches_.for_each([](FdWatch& w) {
      w.reactor = nullptr;
      w.ListHook<WatchTag>::unlink();
    });
  }

 private:
  std::unique_ptr<char[]> scratch_;
  std::unique_ptr<char[]> plain_scratch_;
};

}  // namespace spindle::io::detail
