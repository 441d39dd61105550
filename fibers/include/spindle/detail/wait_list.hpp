// The FIFO wait list every synchronization primitive is built on. Installed because the
// queue templates need it; not API.
#pragma once

#include <cstddef>
#include <spindle/detail/config.hpp>
#include <spindle/detail/intrusive.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/source_location.hpp>

namespace spindle::detail {

struct WaitListTag;
class WaitList;

/// A task parked on a WaitList. Lives on the parking task's stack; a primitive may hand it
/// something (a lock, a permit, an item) before waking it.
struct QueuedWaiter : Waiter, ListHook<WaitListTag> {
  WaitList* list = nullptr;
};

/// Parked tasks in arrival order. Waking removes the first; cancellation removes any in
/// O(1). Destroying a list that still has waiters wakes them with WakeReason::Error, so a
/// primitive that goes away (e.g. with its scope) never leaves a task parked on freed memory.
class SPINDLE_API WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList();

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  QueuedWaiter* front() noexcept { return empty() ? nullptr : &list_.front(); }

  /// Parks the current task at the back until woken and returns why. If it returns
  /// Cancelled, w is no longer on the list. Throws std::logic_error outside a task.
  WakeReason park(QueuedWaiter& w, const char* what, SourceLocation where);
  /// Removes the first waiter and queues it to run with reason r; returns it, or null.
  QueuedWaiter* wake_one(WakeReason r = WakeReason::Granted) noexcept;
  /// Wakes every waiter with reason r, in order.
  void wake_all(WakeReason r) noexcept;
  /// Visits the waiters in order.
  template <class Fn>
  void for_each(Fn&& fn) {
    list_.for_each(fn);
  }

 private:
  static void detach(Waiter& w) noexcept;
  IntrusiveList<QueuedWaiter, WaitListTag> list_;
  std::size_t size_ = 0;
};

/// Throws the current task's pending CancelledError.
[[noreturn]] SPINDLE_API void throw_cancelled();

/// Debug builds: remembers the first thread that uses a primitive and throws
/// std::logic_error (naming the primitive) if another thread uses it. Release builds: no-op.
class SPINDLE_API ThreadCheck {
 public:
  void check(const char* what);

 private:
  unsigned long thread_ = 0;
};

}  // namespace spindle::detail
