// Barrier. Arrival indices stay dense (0..n-1): a task that withdraws (cancelled) gives its
// index to the latest arrival, which has not returned yet. asyncio 3.11's Barrier can hand
// out the same index twice in that case.
#include <spindle/barrier.hpp>
#include <stdexcept>

#include "../loop_core.hpp"

namespace spindle {
namespace {
struct BarrierWaiter : detail::QueuedWaiter {
  std::size_t index = 0;
};
}  // namespace

Barrier::Barrier(std::size_t parties) : parties_(parties) {
  if (parties == 0) throw std::invalid_argument("Barrier: parties must be at least 1");
}

std::size_t Barrier::wait(SourceLocation where) {
  thread_.check("spindle::Barrier");
  if (broken_) throw BrokenBarrierError();
  const std::size_t index = waiters_.size();
  if (index + 1 == parties_) {
    waiters_.wake_all(detail::WakeReason::Granted);
    return index;
  }
  BarrierWaiter w;
  w.index = index;
  const auto r = waiters_.park(w, "Barrier::wait", where);
  if (r == detail::WakeReason::Cancelled) {
    // Withdraw: the latest arrival takes over our index so indices stay 0..n-1.
    waiters_.for_each([&](detail::QueuedWaiter& q) {
      auto& b = static_cast<BarrierWaiter&>(q);
      if (b.index == waiters_.size()) b.index = w.index;
    });
    detail::throw_cancelled();
  }
  if (r == detail::WakeReason::Error) throw BrokenBarrierError();
  if (detail::LoopCore::running_cancel_wins())
    detail::throw_cancelled();  // released, but cancellation wins
  return w.index;
}

void Barrier::reset() {
  thread_.check("spindle::Barrier");
  waiters_.wake_all(detail::WakeReason::Error);
  broken_ = false;
}

void Barrier::abort() {
  thread_.check("spindle::Barrier");
  broken_ = true;
  waiters_.wake_all(detail::WakeReason::Error);
}

}  // namespace spindle
