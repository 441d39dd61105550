// Barrier: wait until a number of tasks have arrived.
#pragma once

#include <cstddef>
#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/source_location.hpp>

namespace spindle {

/// Parks arriving tasks until `parties` of them have arrived, then releases them all and
/// starts over. Tasks of one loop only. asyncio: asyncio.Barrier (3.11)
class SPINDLE_API Barrier {
 public:
  /// Throws std::invalid_argument if parties is 0.
  explicit Barrier(std::size_t parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /// Arrives and parks until the last party arrives; returns this task's arrival index,
  /// 0 to parties-1 (unique in each round). Cancellation: the arrival is withdrawn and the
  /// barrier does not break (asyncio 3.11+). Throws: BrokenBarrierError if the barrier is
  /// broken or is aborted/reset while waiting; CancelledError. asyncio: `await barrier.wait()`
  std::size_t wait(SourceLocation where = SourceLocation::current());
  /// Wakes every waiting task with BrokenBarrierError and starts an empty round.
  void reset();
  /// Breaks the barrier: waiting and future wait() calls throw BrokenBarrierError until
  /// reset().
  void abort();
  std::size_t parties() const noexcept { return parties_; }
  /// Tasks parked in wait() now.
  std::size_t n_waiting() const noexcept { return waiters_.size(); }
  bool broken() const noexcept { return broken_; }

 private:
  std::size_t parties_;
  bool broken_ = false;
  detail::WaitList waiters_;
  detail::ThreadCheck thread_;
};

}  // namespace spindle
