// Lock and Event. The lock is handed directly from unlock() to the first waiter (it never
// becomes free in between), which is what makes it fair: no newcomer can take it first.
#include <spindle/event.hpp>
#include <spindle/lock.hpp>
#include <stdexcept>
#include <string>

#include "../loop_core.hpp"

namespace spindle {

Lock::~Lock() { set_owner(nullptr); }

void Lock::set_owner(detail::TaskBase* t) noexcept {
  if (t) t->add_ref();
  if (owner_) owner_->release();
  owner_ = t;
}

void Lock::lock(SourceLocation where) {
  thread_.check("spindle::Lock");
  detail::TaskBase* self = detail::LoopCore::running_task();
  if (!self) [[unlikely]]
    throw std::logic_error("Lock::lock: not inside a task");
  if (!owner_ && waiters_.empty()) [[likely]] {
    set_owner(self);
    return;
  }
  if (owner_ == self) {
    throw std::logic_error("Lock::lock: " + self->name() +
                           " already holds this lock (spindle::Lock is not recursive)");
  }
  detail::QueuedWaiter w;
  w.held_by = &owner_;
  const auto r = waiters_.park(w, "Lock::lock", where);
  if (r == detail::WakeReason::Error) {
    throw std::logic_error("Lock::lock: the lock was destroyed while this task waited");
  }
  if (r == detail::WakeReason::Cancelled) detail::throw_cancelled();
  // unlock() made us the owner. If a cancellation arrived since, it wins: pass the lock on.
  if (detail::LoopCore::running_cancel_wins()) {
    unlock();
    detail::throw_cancelled();
  }
}

bool Lock::try_lock() {
  thread_.check("spindle::Lock");
  if (owner_ || !waiters_.empty()) return false;
  detail::TaskBase* self = detail::LoopCore::running_task();
  if (!self) throw std::logic_error("Lock::try_lock: not inside a task");
  set_owner(self);
  return true;
}

void Lock::unlock() {
  thread_.check("spindle::Lock");
  detail::TaskBase* self = detail::LoopCore::running_task();
  if (owner_ != self || !owner_) [[unlikely]] {
    if (!owner_) throw std::logic_error("Lock::unlock: the lock is not locked");
    throw std::logic_error("Lock::unlock: the lock is held by " + owner_->name() + ", not by " +
                           (self ? self->name() : std::string("a loop callback")));
  }
  detail::QueuedWaiter* next = waiters_.wake_one();
  set_owner(next ? next->task : nullptr);
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
  if (r == detail::WakeReason::Cancelled || detail::LoopCore::running_cancel_wins())
    detail::throw_cancelled();
}

}  // namespace spindle
