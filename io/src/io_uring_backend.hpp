// The io_uring backend: operations are submitted to the loop's ring with the parked task's
// UringOp as user_data and complete in poll(). Submission is batched: SQEs wait in the
// submission queue until the loop polls (when no task is ready, or every 32 rounds of a busy
// loop), so a round of tasks costs one io_uring_enter. Readiness waits (FdWatch) are one-shot
// IORING_OP_POLL_ADDs. Invariant: a UringOp lives on its task's stack until its completion
// has arrived; a wait that ends early (cancellation, timeout, close) submits ASYNC_CANCEL and
// parks, not interruptible, until the kernel's completion for the operation comes.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "backend.hpp"

namespace spindle::io::detail {

/// One operation in flight: the task parks on it; poll() fills res and flags from the CQE.
/// A socket's operation occupies its FdWatch's reader (or writer) slot while in flight, as a
/// readiness wait does, so that close() finds it.
struct UringOp : spindle::detail::Waiter {
  int res = 0;               // the CQE's result: >= 0, or -errno
  std::uint32_t flags = 0;   // the CQE's flags
  bool done = false;         // the completion has arrived
  bool poll = false;         // a readiness wait: res is the poll's events
  bool closed = false;       // its fd was closed meanwhile (remove()): the op was cancelled
  bool submit_now = false;   // submit at once instead of with the loop's next batch
  FdWatch* watch = nullptr;  // the watch whose slots hold this op (null once removed)
  spindle::detail::TimerEntry deadline;
  /// An op no task waits for (a Stream's send behind): called with the completion instead
  /// of waking a task.
  void (*on_complete)(UringOp&) noexcept = nullptr;
};

class IoUringBackend final : public IoBackend {
 public:
  /// Sets up the ring. Throws std::system_error with the errno io_uring_setup gave (EPERM
  /// when io_uring is disabled or filtered, ENOSYS without it), or ENOTSUP naming the
  /// feature the kernel lacks.
  IoUringBackend();
  ~IoUringBackend() override;

  void poll(std::optional<Clock::time_point> deadline) override;
  void wake() noexcept override;
  Backend backend() const noexcept override { return Backend::IoUring; }

  void add(FdWatch& w) override;
  void add_level(FdWatch& w, Interest interest) override;
  void arm(FdWatch&, bool) override {}  // each wait submits its own poll
  void remove(FdWatch& w) noexcept override;
  using IoBackend::wait;
  spindle::detail::WakeReason wait(FdWatch& w, Interest interest, const Clock::time_point* deadline,
                                   const char* what, SourceLocation where) override;

  /// Runs op, already prepared in an SQE (user_data = &op) and placed in its watch's slot,
  /// as run() does.
  spindle::detail::WakeReason await(UringOp& op, bool interruptible,
                                    const Clock::time_point* deadline, const char* what,
                                    SourceLocation where);

  // --- provided buffers: receives into the loop's buffers pick one when data arrives ------
  /// The buffer group for IOSQE_BUFFER_SELECT, set up on first use; false if the kernel has
  /// no buffer rings (Linux 5.19) or could not map them: receive into your own buffer then.
  bool buffers();
  static constexpr unsigned kBufGroup = 0;
  static constexpr unsigned kBufCount = 1024;
  static constexpr std::size_t kBufSize = 16 * 1024;
  /// The data of a receive whose completion had IORING_CQE_F_BUFFER set, and lends that
  /// buffer out until the next give_back(): the caller copies what it keeps before it can
  /// park, as with IoBackend::scratch().
  std::span<const char> lend(const UringOp& op);
  /// Returns every lent buffer to the kernel (no system call).
  void give_back() noexcept;

  /// Gives up on an op whose fd is about to be closed: submits what is queued (so its fd
  /// number is looked up while it is still this file's), cancels op, and has the kernel
  /// process the cancellation now, so that close(2) really closes the file.
  void abandon(UringOp& op) noexcept;
  /// Ops no task owns any more (a closed Stream's send behind, a closed listener's
  /// multishot accept), freed by their completion; the backend's end waits for them.
  std::size_t orphans = 0;
  /// Sends behind in the kernel (orphans among them); the backend's end lets those that go
  /// out at once finish, as epoll's write would have sent them.
  std::size_t sends_in_flight = 0;
  /// Submits an ASYNC_CANCEL for op (its own completion is ignored); op's completion comes
  /// when the kernel has let go of it.
  void cancel(UringOp& op) noexcept;

  /// A free submission queue entry (submitting the queue first if it is full). Throws
  /// std::system_error if the kernel takes none.
  io_uring_sqe* sqe();
  /// Runs one operation: `prep` fills the SQE; the task parks until its completion, which
  /// is returned (res: bytes or -errno). With `interruptible`, cancellation (and `deadline`)
  /// end the wait early: the operation is cancelled in the kernel and its completion awaited
  /// before this returns (it may have completed anyway: look at res); `reason` says why the
  /// wait ended (Granted, Cancelled, Timeout). The caller turns Cancelled into
  /// CancelledError. Throws std::logic_error outside a task.
  template <class Prep>
  UringOp& run(UringOp& op, Prep prep, bool interruptible, const Clock::time_point* deadline,
               const char* what, SourceLocation where, spindle::detail::WakeReason& reason) {
    spindle::detail::LoopCore::require().require_task(what);
    io_uring_sqe* s = sqe();
    prep(s);
    io_uring_sqe_set_data(s, &op);
    reason = await(op, interruptible, deadline, what, where);
    return op;
  }

 private:
  /// Hands one completion to its operation.
  void complete(const io_uring_cqe& cqe) noexcept;
  /// Queues the multishot poll on the eventfd that wake() writes.
  void arm_wakeup();

  io_uring ring_{};
  int eventfd_ = -1;
  // Provided buffers: the ring of free buffer ids the kernel picks from, the buffers, and
  // the ids lent out now. buffers_state_: 0 not tried, 1 ready, -1 unavailable.
  int buffers_state_ = 0;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buf_base_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  std::vector<std::uint16_t> lent_;
  std::atomic<bool> woken_{false};
};

}  // namespace spindle::io::detail
