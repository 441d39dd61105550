// QueueCore: the reservation protocol behind every queue (see queue.hpp). Invariants:
// items_reserved_ <= items in the store; a getter parks only when every stored item is
// reserved; a putter parks only when stored + reserved slots reach maxsize.
#include <spindle/queue.hpp>
#include <stdexcept>
#include <string>

#include "../loop_core.hpp"

namespace spindle::detail {

void QueueCore::wait_for_reservation(WaitList& list, std::size_t& reserved, bool for_put,
                                     SourceLocation where) {
  const char* what = for_put ? "Queue::put" : "Queue::get";
  QueuedWaiter w;
  const auto r = list.park(w, what, where);
  if (r == WakeReason::Error) throw std::logic_error(std::string(what) + ": the queue was destroyed");
  if (r == WakeReason::Shutdown) throw QueueShutDown();
  if (r == WakeReason::Cancelled) throw_cancelled();
  // Granted: a slot (put) or an item (get) was reserved for us. Zero only when
  // shutdown(true) emptied the queue after the grant.
  if (reserved > 0) --reserved;
  if (for_put && shutdown_) throw QueueShutDown();
  if (LoopCore::running_cancel_wins()) {  // the reservation goes to the next waiter
    if (!list.empty()) {
      ++reserved;
      list.wake_one();
    }
    throw_cancelled();
  }
}

void QueueCore::wait_for_slot(SourceLocation where) {
  wait_for_reservation(putters_, slots_reserved_, true, where);
}

void QueueCore::wait_for_item(SourceLocation where) {
  wait_for_reservation(getters_, items_reserved_, false, where);
}

void QueueCore::reserve_for_getter() noexcept {
  ++items_reserved_;
  getters_.wake_one();
}

void QueueCore::reserve_for_putter() noexcept {
  ++slots_reserved_;
  putters_.wake_one();
}

void QueueCore::shut(bool immediate, std::size_t cleared) noexcept {
  shutdown_ = true;
  if (immediate) {
    unfinished_ = cleared > unfinished_ ? 0 : unfinished_ - cleared;
    items_reserved_ = 0;
    if (unfinished_ == 0) joiners_.wake_all(WakeReason::Granted);
  }
  getters_.wake_all(WakeReason::Shutdown);
  putters_.wake_all(WakeReason::Shutdown);
}

void QueueCore::task_done() {
  thread_.check("spindle::Queue::task_done");
  if (unfinished_ == 0) {
    throw std::logic_error("Queue::task_done: called more times than items were put");
  }
  if (--unfinished_ == 0) joiners_.wake_all(WakeReason::Granted);
}

void QueueCore::join(SourceLocation where) {
  thread_.check("spindle::Queue::join");
  if (unfinished_ == 0) return;
  QueuedWaiter w;
  const auto r = joiners_.park(w, "Queue::join", where);
  if (r == WakeReason::Error) throw std::logic_error("Queue::join: the queue was destroyed");
  if (r == WakeReason::Cancelled || LoopCore::running_cancel_wins()) throw_cancelled();
}

}  // namespace spindle::detail
