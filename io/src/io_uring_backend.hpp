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

#include "backend.hpp"

namespace spindle::io::detail {

/// One operation in flight: the task parks on it; poll() fills res and flags from the CQE.
struct UringOp : spindle::detail::Waiter {
  int res = 0;               // the CQE's result: >= 0, or -errno
  std::uint32_t flags = 0;   // the CQE's flags
  bool done = false;         // the completion has arrived
  FdWatch* watch = nullptr;  // a readiness wait: the watch whose slots hold this op
  spindle::detail::TimerEntry deadline;
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
  /// Parks on op (submitted) until its completion; see run().
  spindle::detail::WakeReason await(UringOp& op, bool interruptible,
                                    const Clock::time_point* deadline, const char* what,
                                    SourceLocation where);
  /// Submits an ASYNC_CANCEL for op (its own completion is ignored).
  void cancel(UringOp& op) noexcept;
  /// Hands one completion to its operation.
  void complete(const io_uring_cqe& cqe) noexcept;
  /// Queues the multishot poll on the eventfd that wake() writes.
  void arm_wakeup();

  io_uring ring_{};
  int eventfd_ = -1;
  std::atomic<bool> woken_{false};
};

}  // namespace spindle::io::detail
