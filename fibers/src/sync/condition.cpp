// Condition: wait() releases the lock, parks on the condition's own list, then re-takes the
// lock, even when cancelled (asyncio does the same), so the caller's unique_lock stays
// truthful. A notification received by a task that is then cancelled goes to the next
// waiter.
#include <spindle/cancel.hpp>
#include <spindle/condition.hpp>
#include <stdexcept>

#include "../loop_core.hpp"

namespace spindle {

Condition::Condition() : own_(std::make_unique<Lock>()), lock_(own_.get()) {}
Condition::Condition(Lock& lock) : lock_(&lock) {}
Condition::~Condition() = default;

void Condition::require_held(const char* what) const {
  if (!lock_->locked() || lock_->owner().state() != detail::LoopCore::running_task()) {  // not ours
    throw std::logic_error(std::string(what) + ": the task must hold the condition's lock");
  }
}

void Condition::wait(SourceLocation where) {
  require_held("Condition::wait");
  lock_->unlock();
  detail::QueuedWaiter w;
  const auto r = waiters_.park(w, "Condition::wait", where);
  if (r == detail::WakeReason::Error) {
    throw std::logic_error("Condition::wait: the condition was destroyed while waiting");
  }
  const bool cancelled =
      r == detail::WakeReason::Cancelled || detail::LoopCore::running_cancel_wins();
  {
    // Re-take the lock whatever happened; a cancellation must not leave it released.
    CancelShield shield;
    lock_->lock(where);
  }
  if (cancelled) {
    // A notification we received but cannot act on goes to the next waiter.
    if (r == detail::WakeReason::Granted) waiters_.wake_one();
    detail::throw_cancelled();
  }
}

void Condition::notify(std::size_t n) {
  require_held("Condition::notify");
  while (n-- > 0 && waiters_.wake_one()) {
  }
}

void Condition::notify_all() {
  require_held("Condition::notify_all");
  waiters_.wake_all(detail::WakeReason::Granted);
}

}  // namespace spindle
