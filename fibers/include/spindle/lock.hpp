// Lock: mutual exclusion between tasks of one loop.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>

namespace spindle {

/// A non-recursive mutex for tasks, usable with std::lock_guard and std::unique_lock.
/// Fair: waiters get the lock strictly in arrival order, handed over directly by unlock(), so
/// a newcomer cannot barge past parked waiters. Not thread-safe: tasks of one loop only
/// (checked in debug builds). asyncio: asyncio.Lock
class SPINDLE_API Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  ~Lock();

  /// Takes the lock, parking while another task holds it or others wait before us.
  /// Cancellation: if cancelled while waiting, the lock is not taken; if the lock was
  /// already handed to us, it is passed to the next waiter. Throws: CancelledError;
  /// std::logic_error if this task already holds it, or outside a task.
  /// asyncio: `await lock.acquire()`
  void lock(SourceLocation where = SourceLocation::current());
  /// Takes the lock if it is free and nobody waits; never parks.
  bool try_lock();
  /// Releases the lock, handing it to the first waiter if any. Throws std::logic_error if
  /// the calling task does not hold it. asyncio: lock.release()
  void unlock();
  /// True while some task holds the lock. asyncio: lock.locked()
  bool locked() const noexcept { return owner_ != nullptr; }
  /// The task holding the lock (empty if none).
  AnyTask owner() const noexcept { return AnyTask(owner_); }

 private:
  void set_owner(detail::TaskBase* t) noexcept;
  detail::TaskBase* owner_ = nullptr;  // holds a reference while set
  detail::WaitList waiters_;
  detail::ThreadCheck thread_;
};

}  // namespace spindle
