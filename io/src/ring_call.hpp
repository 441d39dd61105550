// io/'s way to run one operation through the loop's io_uring ring, for code that also has an
// epoll (or thread pool) way: task_ring() says whether the ring is there.
#pragma once

#include "backend.hpp"

#if defined(SPINDLE_HAVE_URING)
#include "io_uring_backend.hpp"
#endif

namespace spindle::io::detail {

/// The io_uring backend of the running task's loop; null on epoll, outside a task, or in a
/// build without liburing.
inline IoUringBackend* task_ring() noexcept {
#if defined(SPINDLE_HAVE_URING)
  using spindle::detail::LoopCore;
  if (!LoopCore::running_task()) return nullptr;
  return static_cast<IoBackend&>(*LoopCore::current_or_null()->reactor_).uring();
#else
  return nullptr;
#endif
}

#if defined(SPINDLE_HAVE_URING)
/// How one operation through the ring ended: the kernel's result (>= 0, or -errno) and why
/// the task's wait ended (Granted; Cancelled or Timeout: the operation was cancelled, yet
/// may have completed: look at res).
struct RingResult {
  int res = 0;
  std::uint32_t flags = 0;
  spindle::detail::WakeReason why = spindle::detail::WakeReason::Granted;
  /// True if the task must now throw its cancellation.
  bool cancelled() const noexcept {
    return why == spindle::detail::WakeReason::Cancelled ||
           spindle::detail::LoopCore::running_cancel_wins();
  }
};

/// Submits the operation `prep` fills in and parks until it completes (see
/// IoUringBackend::run); with submit_now, the submission queue goes to the kernel at once
/// rather than with the loop's next batch. Throws std::logic_error outside a task,
/// std::system_error if the ring takes no submission.
template <class Prep>
RingResult ring_call(IoUringBackend& ring, Prep prep, bool interruptible,
                     const Clock::time_point* deadline, const char* what, SourceLocation where,
                     bool submit_now = false) {
  UringOp op;
  op.submit_now = submit_now;
  RingResult r;
  ring.run(op, prep, interruptible, deadline, what, where, r.why);
  r.res = op.res;
  r.flags = op.flags;
  return r;
}
#endif

}  // namespace spindle::io::detail
