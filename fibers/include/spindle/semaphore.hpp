// Semaphore and BoundedSemaphore: a counter of permits.
#pragma once

#include <cstddef>
#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/source_location.hpp>

namespace spindle {

/// A counter of permits: acquire() takes one, parking while none is free; release() returns
/// one. Fair: permits go to waiters in arrival order, handed over directly, so a newcomer
/// cannot barge past parked waiters. Tasks of one loop only. asyncio: asyncio.Semaphore
class SPINDLE_API Semaphore {
 public:
  /// A semaphore with `value` free permits.
  explicit Semaphore(std::size_t value = 1) : value_(value) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  /// Takes a permit, parking until one is free. Cancellation: no permit is taken; one
  /// already handed over is passed to the next waiter (or returned). Throws: CancelledError;
  /// std::logic_error outside a task. asyncio: `await sem.acquire()`
  void acquire(SourceLocation where = SourceLocation::current());
  /// Takes a permit if one is free and nobody waits; never parks.
  bool try_acquire();
  /// Returns a permit, waking the first waiter if any. asyncio: sem.release()
  void release();
  /// True if acquire() would park. asyncio: sem.locked()
  bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
  /// Free permits.
  std::size_t value() const noexcept { return value_; }

 protected:
  void release_checked(std::size_t bound);

 private:
  std::size_t value_;
  detail::WaitList waiters_;
  detail::ThreadCheck thread_;
};

/// A Semaphore that refuses to hold more permits than it started with.
/// asyncio: asyncio.BoundedSemaphore
class SPINDLE_API BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t value = 1) : Semaphore(value), bound_(value) {}
  /// Returns a permit. Throws std::logic_error if that would exceed the initial count.
  void release() { release_checked(bound_); }

 private:
  std::size_t bound_;
};

}  // namespace spindle
