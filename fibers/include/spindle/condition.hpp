// Condition: wait for a notification while holding a Lock.
#pragma once

#include <cstddef>
#include <memory>
#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/lock.hpp>
#include <spindle/source_location.hpp>

namespace spindle {

/// A condition variable for tasks, over a Lock (its own, or one given). Like
/// asyncio.Condition, wait() and notify() are called while holding the lock:
/// `std::unique_lock lk(cond); cond.wait_for([&] { return ready; });`. Tasks of one loop only.
class SPINDLE_API Condition {
 public:
  /// A condition with its own lock (lock()/unlock() below).
  Condition();
  /// A condition over `lock`, which must outlive it.
  explicit Condition(Lock& lock);
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;
  ~Condition();

  /// Releases the lock, parks until notified, then takes the lock back (the lock is held
  /// again when wait() returns or throws). Cancellation: the lock is still re-taken before
  /// CancelledError propagates; a notification already received is passed to the next
  /// waiter. Throws: CancelledError; std::logic_error if the task does not hold the lock.
  /// asyncio: `await cond.wait()`
  void wait(SourceLocation where = SourceLocation::current());
  /// Waits until pred() is true (checked first, then after every notification) and returns
  /// it. asyncio: `await cond.wait_for(pred)`
  template <class Pred>
  auto wait_for(Pred pred, SourceLocation where = SourceLocation::current()) {
    auto ok = pred();
    while (!ok) {
      wait(where);
      ok = pred();
    }
    return ok;
  }
  /// Wakes up to n waiters, in order. Throws std::logic_error if the task does not hold the
  /// lock. asyncio: cond.notify(n)
  void notify(std::size_t n = 1);
  /// Wakes every waiter. asyncio: cond.notify_all()
  void notify_all();

  /// The lock's operations, so std::unique_lock<Condition> works.
  void lock(SourceLocation where = SourceLocation::current()) { lock_->lock(where); }
  void unlock() { lock_->unlock(); }
  bool try_lock() { return lock_->try_lock(); }
  bool locked() const noexcept { return lock_->locked(); }

 private:
  void require_held(const char* what) const;
  std::unique_ptr<Lock> own_;
  Lock* lock_;
  detail::WaitList waiters_;
};

}  // namespace spindle
