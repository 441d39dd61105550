// Semaphore and BoundedSemaphore. A released permit goes straight to the first waiter (the
// count does not rise in between), so waiters are served in order and nobody barges.
#include <spindle/semaphore.hpp>
#include <stdexcept>

#include "../loop_core.hpp"

namespace spindle {

void Semaphore::acquire(SourceLocation where) {
  thread_.check("spindle::Semaphore");
  if (value_ > 0 && waiters_.empty()) {
    --value_;
    return;
  }
  detail::QueuedWaiter w;
  const auto r = waiters_.park(w, "Semaphore::acquire", where);
  if (r == detail::WakeReason::Error) {
    throw std::logic_error("Semaphore::acquire: the semaphore was destroyed while waiting");
  }
  if (r == detail::WakeReason::Cancelled) detail::throw_cancelled();
  if (detail::LoopCore::running_cancel_wins()) {  // we were handed a permit: pass it on
    release();
    detail::throw_cancelled();
  }
}

bool Semaphore::try_acquire() {
  thread_.check("spindle::Semaphore");
  if (value_ == 0 || !waiters_.empty()) return false;
  --value_;
  return true;
}

void Semaphore::release() {
  thread_.check("spindle::Semaphore");
  if (!waiters_.wake_one()) ++value_;
}

void Semaphore::release_checked(std::size_t bound) {
  thread_.check("spindle::BoundedSemaphore");
  if (waiters_.empty() && value_ >= bound) {
    throw std::logic_error("BoundedSemaphore::release: released more times than acquired");
  }
  release();
}

}  // namespace spindle
