// Lock and Event. The lock is handed directly from unlock() to the first waiter (it never
// becomes free in between), which is what makes it fair: no newcomer can take it first.
#include <spindle/event.hpp>
#include <spindle/lock.hpp>

#include <stdexcept>
#include <string>

namespace spindle {

void Lock::lock(SourceLocation where) {
  thread_.check("spindle::Lock");
  detail::TaskBase* self = detail::running_task();
  if (!self) throw std::logic_error("Lock::lock: not inside a task");
  if (!owner_ && waiters_.empty()) {
    owner_ = AnyTask(self);
    return;
  }
  if (owner_.state() == self) {
    throw std::logic_error("Lock::lock: " + self->name() +
                           " already holds this lock (spindle::Lock is not recursive)");
  }
  detail::QueuedWaiter w;
  const auto r = waiters_.park(w, "Lock::lock", where);
  if (r == detail::WakeReason::Error) {
    throw std::logic_error("Lock::lock: the lock was destroyed while this task waited");
  }
  if (r == detail::WakeReason::Cancelled) detail::throw_cancelled();
  // unlock() made us the owner. If a cancellation arrived since, it wins: pass the lock on.
  if (detail::cancel_wins()) {
    unlock();
    detail::throw_cancelled();
  }
}

bool Lock::try_lock() {
  thread_.check("spindle::Lock");
  if (owner_ || !waiters_.empty()) return false;
  detail::TaskBase* self = detail::running_task();
  if (!self) throw std::logic_error("Lock::try_lock: not inside a task");
  owner_ = AnyTask(self);
  return true;
}

void Lock::unlock() {
  thread_.check("spindle::Lock");
  detail::TaskBase* self = detail::running_task();
  if (!owner_) throw std::logic_error("Lock::unlock: the lock is not locked");
  if (owner_.state() != self) {
    throw std::logic_error("Lock::unlock: the lock is held by " + owner_.name() + ", not by " +
                           (self ? self->name() : std::string("a loop callback")));
  }
  if (detail::QueuedWaiter* next = waiters_.wake_one()) {
    owner_ = AnyTask(next->task);
  } else {
    owner_ = AnyTask();
  }
}

void Event::set() {
  thread_.check("spindle::Event");
  set_ = true;
  waiters_.wake_all(detail::WakeReason::Granted);
}

void Event::wait(SourceLocation where) {
  thread_.check("spindle::Event");
  if (set_) return;
  detail::QueuedWaiter w;
  const auto r = waiters_.park(w, "Event::wait", where);
  if (r == detail::WakeReason::Error) {
    throw std::logic_error("Event::wait: the event was destroyed while this task waited");
  }
  if (r == detail::WakeReason::Cancelled || detail::cancel_wins()) detail::throw_cancelled();
}

}  // namespace spindle
